//! Stamps the binary with the commit it was built from, for `--version`, `/metrics` and
//! `status`. A build outside a git checkout (a source tarball, a vendored copy) says `unknown`
//! instead of failing; packagers who know the commit can set `LIVEREC_COMMIT` (and
//! `LIVEREC_COMMIT_DATE`, `YYYY-MM-DD`).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=LIVEREC_COMMIT");
    println!("cargo::rerun-if-env-changed=LIVEREC_COMMIT_DATE");

    let from_env = std::env::var("LIVEREC_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let date = std::env::var("LIVEREC_COMMIT_DATE").unwrap_or_default();
            (c.trim().to_string(), date.trim().to_string())
        });
    let (commit, date) = from_env
        .or_else(from_git)
        .unwrap_or_else(|| ("unknown".to_string(), String::new()));

    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let long = if date.is_empty() {
        format!("{version} ({commit})")
    } else {
        format!("{version} ({commit} {date})")
    };
    println!("cargo::rustc-env=LIVEREC_COMMIT={commit}");
    println!("cargo::rustc-env=LIVEREC_COMMIT_DATE={date}");
    println!("cargo::rustc-env=LIVEREC_LONG_VERSION={long}");
}

/// The short commit id and its date, when the crate is the top of a git work tree (a tarball
/// unpacked inside some other repository must not take that repository's commit).
fn from_git() -> Option<(String, String)> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let same = |a: &str, b: &str| match (Path::new(a).canonicalize(), Path::new(b).canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(&top, &manifest) {
        return None;
    }
    watch_git_state();
    let commit = git(&["rev-parse", "--short=7", "HEAD"])?;
    let date = git(&["log", "-1", "--format=%cd", "--date=short", "HEAD"]).unwrap_or_default();
    Some((commit, date))
}

/// Rebuild when HEAD moves: a commit, a checkout, a ref packed or unpacked. Only paths that
/// exist are named, since cargo treats a missing one as always changed (a rebuild every time);
/// the branch's own ref rather than all of refs/heads, so commits on other branches of a shared
/// repository (worktrees) rebuild nothing.
fn watch_git_state() {
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]) {
        if branch.starts_with("refs/") {
            watch.push(branch);
        }
    }
    let mut packed_branch = false;
    for (i, name) in watch.iter().enumerate() {
        let Some(path) = git(&["rev-parse", "--git-path", name]) else {
            continue;
        };
        if Path::new(&path).exists() {
            println!("cargo::rerun-if-changed={path}");
        } else if i == 2 {
            packed_branch = true;
        }
    }
    // A branch that lives only in packed-refs gets a loose ref at its next commit: watch the
    // folder it will appear in.
    if packed_branch {
        if let Some(path) = git(&["rev-parse", "--git-path", "refs/heads"]) {
            println!("cargo::rerun-if-changed={path}");
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}
