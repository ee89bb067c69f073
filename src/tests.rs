//! The layout rules of the crate, checked on its own source so that they stay true: files stay
//! small, one module-file and one unit-test convention, and the top-level modules form a DAG.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest non-test source file, in lines.
const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, sorted.
fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![src()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn is_test_file(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "tests.rs")
}

fn rel(p: &Path) -> String {
    p.strip_prefix(src()).unwrap().display().to_string()
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = rust_files()
        .iter()
        .filter(|p| !is_test_file(p))
        .filter_map(|p| {
            let n = std::fs::read_to_string(p).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", rel(p)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these along a seam (at most {MAX_LINES} lines): {long:?}"
    );
}

#[test]
fn modules_are_foo_rs_beside_foo_and_unit_tests_are_foo_tests_rs() {
    let files = rust_files();
    let mod_rs: Vec<String> = files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "mod.rs"))
        .map(|p| rel(p))
        .collect();
    assert!(mod_rs.is_empty(), "use foo.rs beside foo/: {mod_rs:?}");
    let inline: Vec<String> = files
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("\nmod tests {")
        })
        .map(|p| rel(p))
        .collect();
    assert!(inline.is_empty(), "move to foo/tests.rs: {inline:?}");
}

/// The top-level module of a file (`capture/hls/live.rs` -> `capture`); `None` for the crate
/// root and the binary.
fn top_module(p: &Path) -> Option<String> {
    let first = rel(p)
        .split('/')
        .next()?
        .trim_end_matches(".rs")
        .to_string();
    (!matches!(first.as_str(), "lib" | "main" | "tests")).then_some(first)
}

/// The `crate::x` modules that `text` names (comments left out). Unit tests live in their own
/// `tests.rs` files, so what is left here is non-test code and a few `cfg(test)` accessors.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default();
        for (i, _) in line.match_indices("crate::") {
            let name: String = line[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn the_top_level_modules_form_a_dag() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in rust_files() {
        if is_test_file(&p) || p.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let Some(from) = top_module(&p) else { continue };
        let text = std::fs::read_to_string(&p).unwrap();
        for to in named_modules(&text) {
            if to != from {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|x| x == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        let cycle = visit(m, &edges, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "module cycle: {} (see the dependency order in lib.rs)",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}
