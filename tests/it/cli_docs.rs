//! Help, man page and shell completions come from the same definitions and must agree: every
//! command and option that `--help` shows is in the man page and completes in every shell.
//! `--version`, `/metrics` and `status` name the same build.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::support::daemon::{Daemon, config, control_get, wait_until};

fn liverec(args: &[&str]) -> String {
    let out = Command::new(crate::support::daemon::bin())
        .args(args)
        .output()
        .expect("run liverec");
    assert!(
        out.status.success(),
        "liverec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The lines of a `--help` section (`Commands:`, `Options:`), up to the next blank line.
fn help_section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// Every command and its long options, as the user reads them in `--help` (not `help`, not
/// `--help`, which every command has).
fn commands_from_help() -> BTreeMap<String, Vec<String>> {
    let top = liverec(&["--help"]);
    let mut out = BTreeMap::new();
    for line in help_section(&top, "Commands:") {
        let name = line.split_whitespace().next().unwrap().to_string();
        if name == "help" {
            continue;
        }
        let help = liverec(&[&name, "--help"]);
        let longs: Vec<String> = help_section(&help, "Options:")
            .iter()
            .flat_map(|l| l.split_whitespace())
            .map(|w| w.trim_end_matches(','))
            .filter(|w| w.starts_with("--") && *w != "--help")
            .map(str::to_string)
            .collect();
        out.insert(name, longs);
    }
    for expected in [
        "run",
        "check",
        "status",
        "repair",
        "probe",
        "completions",
        "man",
    ] {
        assert!(
            out.contains_key(expected),
            "--help lists no {expected}: {top}"
        );
    }
    assert!(out["status"].contains(&"--json".to_string()), "{out:?}");
    out
}

/// What bash offers after `liverec WORDS... <TAB>`, by running the generated completion.
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let cur = words[cword];
    let prev = words[cword - 1];
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _liverec liverec '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" ")
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_offers_every_command_and_option() {
    let commands = commands_from_help();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("liverec.bash");
    std::fs::write(&script, liverec(&["completions", "bash"])).unwrap();

    let offered = bash_completes(&script, &["liverec", ""]);
    for name in commands.keys() {
        assert!(offered.contains(name), "{name} not offered: {offered:?}");
    }
    for (name, longs) in &commands {
        let offered = bash_completes(&script, &["liverec", name, "--"]);
        for long in longs {
            assert!(
                offered.contains(long),
                "liverec {name} {long} not offered: {offered:?}"
            );
        }
    }
    // Values complete too: the shells `completions` knows.
    let offered = bash_completes(&script, &["liverec", "completions", "z"]);
    assert_eq!(offered, vec!["zsh".to_string()]);
}

#[test]
fn zsh_and_fish_completions_name_every_command_and_option() {
    let commands = commands_from_help();
    let zsh = liverec(&["completions", "zsh"]);
    let fish = liverec(&["completions", "fish"]);
    assert!(zsh.starts_with("#compdef liverec"), "{zsh}");
    for (name, longs) in &commands {
        assert!(zsh.contains(&format!("'{name}:")), "zsh lacks {name}");
        assert!(
            fish.contains(&format!("__fish_liverec_needs_command\" -f -a \"{name}\"")),
            "fish lacks {name}"
        );
        for long in longs {
            assert!(
                zsh.contains(&format!("'{long}[")) || zsh.contains(&format!("'{long}=[")),
                "zsh lacks {name} {long}"
            );
            let flag = long.trim_start_matches("--");
            assert!(
                fish.lines().any(|l| l
                    .contains(&format!("__fish_liverec_using_subcommand {name}\""))
                    && l.contains(&format!(" -l {flag} "))),
                "fish lacks {name} {long}"
            );
        }
    }
}

/// The page as `man` shows it: rendered by groff with warnings on, which must be silent.
fn rendered_man_page() -> String {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("liverec.1");
    std::fs::write(&page, liverec(&["man"])).unwrap();
    // -k: UTF-8 input (as man-db's preconv); no hyphenation and long lines, so option names
    // are never split; -cbou: plain text without overstrikes.
    let out = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-rHY=0", "-rLL=200n"])
        .args(["-P", "-cbou"])
        .arg(&page)
        .output()
        .expect("groff (Debian: groff-base, which man-db needs) renders man pages");
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && warnings.is_empty(),
        "groff: {warnings}"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_man_page_documents_every_command_and_option() {
    let commands = commands_from_help();
    let text = rendered_man_page();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "FILES",
        "EXIT STATUS",
    ] {
        assert!(text.lines().any(|l| l == section), "no {section}: {text}");
    }
    // Each command's subsection: from its heading to the next heading.
    let lines: Vec<&str> = text.lines().collect();
    let heading = |l: &str| l.starts_with("   ") && !l.starts_with("    ");
    for (name, longs) in &commands {
        let start = lines
            .iter()
            .position(|l| heading(l) && l.trim() == name)
            .unwrap_or_else(|| panic!("no section for {name}: {text}"));
        let end = lines[start + 1..]
            .iter()
            .position(|l| heading(l) || (!l.is_empty() && !l.starts_with(' ')))
            .map_or(lines.len(), |n| start + 1 + n);
        let body = lines[start..end].join("\n");
        assert!(
            body.contains(&format!("liverec {name}")),
            "no synopsis for {name}: {body}"
        );
        for long in longs {
            assert!(
                body.contains(long.as_str()),
                "{name} {long} missing: {body}"
            );
        }
    }
    assert!(text.contains("/etc/liverec/recorder.toml"), "{text}");
}

/// `liverec 0.1.0 (abc1234 2026-12-02)` -> `abc1234`.
fn commit_of_version() -> String {
    let version = liverec(&["--version"]);
    let line = version.trim_end();
    let rest = line
        .strip_prefix(&format!("liverec {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version: {line:?}"));
    let mut parts = rest.split(' ');
    let commit = parts.next().unwrap().to_string();
    if let Some(date) = parts.next() {
        assert!(
            date.len() == 10 && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
            "not a date in {line:?}"
        );
    }
    assert_eq!(parts.next(), None, "{line:?}");
    commit
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let commit = commit_of_version();
    let git = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    match git {
        Ok(out) if out.status.success() && std::env::var_os("LIVEREC_COMMIT").is_none() => {
            let head = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert_eq!(commit, head, "--version names another commit than HEAD");
        }
        _ => {
            eprintln!("not in a git checkout: --version says {commit:?}");
            assert!(!commit.is_empty());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_status_name_the_same_build_as_version() {
    let commit = commit_of_version();
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), "build", &config(dir.path(), "", ""));
    let metrics = control_get(dir.path(), "/metrics").await;
    let expected = format!(
        "liverec_build_info{{version=\"{}\",commit=\"{commit}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        metrics.lines().any(|l| l == expected),
        "no {expected} in {metrics}"
    );
    let mut table = String::new();
    let answered = wait_until(Duration::from_secs(10), || {
        let out = Command::new(crate::support::daemon::bin())
            .args(["status", "-c"])
            .arg(&d.config)
            .output()
            .unwrap();
        table = String::from_utf8_lossy(&out.stdout).into_owned();
        out.status.success()
    })
    .await;
    assert!(answered, "{}", d.log_text());
    let footer = format!(
        "liverec {} ({commit}), pid {}",
        env!("CARGO_PKG_VERSION"),
        d.pid()
    );
    assert!(table.contains(&footer), "no {footer:?} in {table}");
}
