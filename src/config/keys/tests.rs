use super::*;
use crate::config::parse;
use std::path::Path;

const README: &str = include_str!("../../../README.md");
const EXAMPLE: &str = include_str!("../../../recorder.toml.example");
const HOOKS_DOC: &str = include_str!("../../../docs/hooks.md");

fn problems(text: &str) -> Vec<String> {
    match parse(text, Path::new("/etc/liverec/recorder.toml")) {
        Ok(_) => Vec::new(),
        Err(e) => e.lines().collect(),
    }
}

fn in_scope(scope: Scope) -> Vec<&'static str> {
    let mut v: Vec<_> = KEYS
        .iter()
        .filter(|k| k.scopes().contains(&scope))
        .map(|k| k.name())
        .collect();
    v.sort();
    v
}

/// The keys a section asks for, as its "unknown key" message lists them.
fn asked(text: &str) -> Vec<String> {
    let all = problems(text);
    let line = all
        .iter()
        .find(|l| l.contains("zzzzzzzzzzzz"))
        .unwrap_or_else(|| panic!("no unknown-key problem in {all:#?}"));
    let list = line
        .split_once("(known keys: ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no known keys in {line}"));
    let mut v: Vec<String> = list.split(", ").map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn every_section_reads_exactly_the_keys_of_the_table() {
    let bogus = "zzzzzzzzzzzz = 1\n";
    let sections = [
        "control",
        "cluster",
        "platforms",
        "rooms",
        "hooks",
        "webhooks",
        "notify",
        "retention",
    ];
    let top: Vec<String> = asked(bogus)
        .into_iter()
        .filter(|k| !sections.contains(&k.as_str()))
        .collect();
    assert_eq!(top, in_scope(Scope::Top), "top level");
    for (scope, text) in [
        (Scope::Control, format!("[control]\n{bogus}")),
        (Scope::Cluster, format!("[cluster]\n{bogus}")),
        (Scope::Platform, format!("[platforms.bilibili]\n{bogus}")),
        (Scope::Platform, format!("[platforms.douyin]\n{bogus}")),
        (Scope::Room, format!("[[rooms]]\n{bogus}")),
        (Scope::Hook, format!("[[hooks]]\n{bogus}")),
        (Scope::Webhook, format!("[[webhooks]]\n{bogus}")),
        (Scope::Notify, format!("[[notify]]\n{bogus}")),
        (
            Scope::Retention,
            format!("[retention]\nkeep_for = \"1d\"\n{bogus}"),
        ),
    ] {
        assert_eq!(asked(&text), in_scope(scope), "{scope:?}");
    }
}

#[test]
fn a_value_below_its_minimum_is_refused_in_the_same_words_as_before() {
    let room = "[[rooms]]\nurl = \"https://live.bilibili.com/1\"\n";
    for (text, want) in [
        (
            "poll_interval = \"0s\"",
            "poll_interval: must be at least 1s",
        ),
        (
            "shutdown_timeout = \"500ms\"",
            "shutdown_timeout: must be at least 1s",
        ),
        (
            "segment_duration = \"500ms\"",
            "segment_duration: must be \"0s\" (no time split) or at least 1s",
        ),
        (
            "segment_size = \"1KiB\"",
            "segment_size: must be \"0B\" (no size split) or at least 1MiB",
        ),
        (
            "max_recordings = 100001",
            "max_recordings: 100001 is out of range (0 to 100000)",
        ),
    ] {
        let all = problems(&format!("{text}\n{room}"));
        assert!(all.iter().any(|l| l.ends_with(want)), "{text}: {all:#?}");
    }
    let hook = "[[hooks]]\nname = \"h\"\nevents = [\"live_start\"]\ncommand = [\"/bin/true\"]\nconcurrency = 0\n";
    let all = problems(hook);
    assert!(
        all.iter()
            .any(|l| l.ends_with("hooks[0].concurrency: must be at least 1")),
        "{all:#?}"
    );
    // Zero turns a split off; a grace of zero is allowed.
    let off = "segment_duration = \"0s\"\nsegment_size = \"0B\"\noffline_grace = \"0s\"\n";
    assert_eq!(problems(&format!("{off}{room}")), Vec::<String>::new());
}

/// The rows of README's configuration table: (key, where, default, applies) for rows that
/// name one key.
fn readme_rows() -> Vec<[String; 4]> {
    let section = README
        .split_once("\n## Configuration\n")
        .map(|(_, rest)| rest)
        .expect("README has a Configuration section");
    let lines = section
        .lines()
        .skip_while(|l| !l.starts_with("| key | where | default | a change applies |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    let mut rows = Vec::new();
    for line in lines {
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        assert_eq!(
            cells.len(),
            5,
            "README row with {} cells: {line}",
            cells.len()
        );
        let key = &cells[0];
        // `[[hooks]]`, `[[webhooks]]`: a pointer to the hooks' own documentation.
        if key.starts_with("`[") {
            continue;
        }
        let name = key
            .strip_prefix('`')
            .and_then(|k| k.strip_suffix('`'))
            .unwrap_or_else(|| panic!("README key cell {key:?} is not one `key`"));
        rows.push([
            name.to_string(),
            cells[1].clone(),
            cells[2].clone(),
            cells[3].clone(),
        ]);
    }
    assert!(!rows.is_empty(), "no rows found in README's config table");
    rows
}

fn where_doc(k: &dyn Row) -> String {
    let scopes: Vec<&str> = k.scopes().iter().map(|s| s.doc()).collect();
    scopes.join(", ")
}

fn is_hook(k: &dyn Row) -> bool {
    k.scopes()
        .iter()
        .any(|s| matches!(s, Scope::Hook | Scope::Webhook | Scope::Notify))
}

#[test]
fn the_readme_table_lists_every_key_with_the_tables_default() {
    let rows = readme_rows();
    for k in KEYS.iter().filter(|k| !is_hook(**k)) {
        let found: Vec<_> = rows
            .iter()
            .filter(|r| r[0] == k.name() && r[1] == where_doc(*k))
            .collect();
        let [row] = found.as_slice() else {
            panic!(
                "README's config table has {} row(s) for `{}` in {}",
                found.len(),
                k.path(),
                where_doc(*k)
            );
        };
        assert_eq!(
            row[2],
            k.default_doc(),
            "README's default of `{}`",
            k.path()
        );
        assert_eq!(
            row[3],
            k.applies().doc(),
            "README's \"a change applies\" of `{}`",
            k.path()
        );
    }
    for r in &rows {
        assert!(
            KEYS.iter()
                .any(|k| k.name() == r[0] && where_doc(*k) == r[1]),
            "README's config table lists `{}` in {}, which the key table does not know",
            r[0],
            r[1]
        );
    }
}

/// A `key = value` line of a TOML file or of a commented-out example in it.
struct Line {
    section: String,
    key: String,
    text: String,
    commented: bool,
    /// The words after `# default ` in a trailing comment.
    default_note: Option<String>,
}

/// Every key line of `text`, set or commented out, with its section (`""` for the top level,
/// `control`, `platforms.bilibili`, `rooms`, `hooks`...).
fn key_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut section = String::new();
    for raw in text.lines() {
        let commented = raw.trim_start().starts_with('#');
        let body = raw.trim_start().trim_start_matches('#').trim();
        if !commented || raw.trim_start().starts_with("# ") {
            if let Some(head) = body.strip_prefix('[') {
                section = head.trim_matches(|c| c == '[' || c == ']').to_string();
                continue;
            }
        }
        let Some((key, value)) = body.split_once(" = ") else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let default_note = value
            .split_once("# default ")
            .map(|(_, note)| note.trim().to_string());
        out.push(Line {
            section: section.clone(),
            key: key.to_string(),
            text: body.to_string(),
            commented,
            default_note,
        });
    }
    out
}

fn scope_of(section: &str) -> Option<Scope> {
    match section {
        "" => Some(Scope::Top),
        "control" => Some(Scope::Control),
        "cluster" => Some(Scope::Cluster),
        "platforms.bilibili" | "platforms.douyin" => Some(Scope::Platform),
        "rooms" => Some(Scope::Room),
        "hooks" => Some(Scope::Hook),
        "webhooks" => Some(Scope::Webhook),
        "notify" => Some(Scope::Notify),
        "retention" => Some(Scope::Retention),
        _ => None,
    }
}

fn find<'k>(scope: Scope, name: &str) -> Option<&'k dyn Row> {
    KEYS.iter()
        .copied()
        .find(|k| k.name() == name && k.scopes().contains(&scope))
}

/// Each line names a key of its section, every key of the table is there (in the first
/// section it may go in), and a `# default` note agrees with the table.
fn lists_every_key(doc: &str, lines: &[Line], keys: &[&dyn Row]) {
    for l in lines {
        let scope = scope_of(&l.section)
            .unwrap_or_else(|| panic!("{doc}: unknown section [{}] at `{}`", l.section, l.text));
        let k = find(scope, &l.key).unwrap_or_else(|| {
            panic!(
                "{doc}: `{}` in [{}] is no key of the table",
                l.key, l.section
            )
        });
        if let Some(note) = &l.default_note {
            let default = k.default_doc().replace('`', "");
            assert!(
                note.starts_with(&default),
                "{doc}: `{}` says \"default {note}\"; the table's default is {default}",
                k.path()
            );
        }
    }
    for k in keys {
        let home = k.scopes()[0];
        assert!(
            lines
                .iter()
                .any(|l| l.key == k.name() && scope_of(&l.section) == Some(home)),
            "{doc} does not list `{}` (in {})",
            k.path(),
            home.doc()
        );
    }
}

/// What `check` shows of key `k` for a config of `extra` (a section and one line) and one room
/// on each platform.
fn shown(k: &dyn Row, extra: &str) -> Vec<String> {
    let rooms = "[[rooms]]\nurl = \"https://live.bilibili.com/1\"\n\
                 [[rooms]]\nurl = \"https://live.douyin.com/2\"\n";
    let c = parse(&format!("{extra}{rooms}"), Path::new("/etc/liverec/x.toml"))
        .unwrap_or_else(|e| panic!("`{}`: {extra}: {e}", k.path()));
    let show = k.show();
    let mut out = Vec::new();
    if let Some(get) = show.daemon {
        out.push(format!("{:?}", get(&c)));
    }
    if let Some(get) = show.platform {
        for p in PLATFORMS {
            if let Some(cfg) = c.platforms.get(p) {
                out.push(format!("{p}: {:?}", get(p, cfg)));
            }
        }
    }
    if let Some(get) = show.room {
        for r in &c.rooms {
            out.push(format!("{}: {:?}", r.url(), get(&r.settings)));
        }
    }
    out
}

#[test]
fn the_example_config_lists_every_key_and_sets_only_defaults() {
    let lines = key_lines(EXAMPLE);
    let keys: Vec<&dyn Row> = KEYS.to_vec();
    lists_every_key("recorder.toml.example", &lines, &keys);
    // A value written out in a section (rooms are examples, not defaults) must change nothing.
    for l in lines.iter().filter(|l| !l.commented) {
        let Some(scope @ (Scope::Top | Scope::Control | Scope::Cluster | Scope::Platform)) =
            scope_of(&l.section)
        else {
            continue;
        };
        let Some(k) = find(scope, &l.key) else {
            continue;
        };
        let head = match scope {
            Scope::Top => String::new(),
            _ => format!("[{}]\n", l.section),
        };
        let written = shown(k, &format!("{head}{}\n", l.text));
        assert!(
            !written.is_empty(),
            "recorder.toml.example sets `{}`, which check cannot show",
            k.path()
        );
        assert_eq!(
            written,
            shown(k, &head),
            "recorder.toml.example: `{}` is not the default ({})",
            l.text,
            k.default_doc()
        );
    }
}

#[test]
fn docs_hooks_lists_every_hook_key_with_the_tables_default() {
    let blocks: String = HOOKS_DOC
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split_once("```").map(|(code, _)| code))
        .collect::<Vec<_>>()
        .join("");
    let lines = key_lines(&blocks);
    let keys: Vec<&dyn Row> = KEYS.iter().copied().filter(|k| is_hook(*k)).collect();
    lists_every_key("docs/hooks.md", &lines, &keys);
    assert!(
        lines.iter().any(|l| l.default_note.is_some()),
        "docs/hooks.md: no `# default` notes found"
    );
}

#[test]
fn a_change_of_a_key_that_applies_on_reload_needs_no_restart() {
    let c = |t: &str| parse(t, Path::new("/etc/liverec/recorder.toml")).expect("valid");
    let old = c("");
    let new = c("min_free_space = \"1GiB\"\nshutdown_timeout = \"1m\"\n\
                 [control]\ntoken = \"t\"\n[platforms.bilibili]\nquality = \"10000\"\n");
    assert_eq!(restart_needed(&old, &new), Vec::<String>::new());
    let moved = c("[control]\nlisten = \"127.0.0.1:9999\"\n[platforms.bilibili]\nburst = 2\n");
    assert_eq!(
        restart_needed(&old, &moved),
        ["control.listen", "platforms.*.burst"]
    );
}

#[test]
fn a_url_shown_by_check_is_redacted_but_compared_whole() {
    let a = Shown::Url("https://mirror.example/api?token=1".into());
    let b = Shown::Url("https://mirror.example/api?token=2".into());
    assert_eq!(a.to_string(), b.to_string());
    assert!(!a.to_string().contains("token"), "{a}");
    assert_ne!(a, b);
    assert_eq!(Shown::Secret(Secret::new("SESSDATA=x")).to_string(), "set");
}

#[test]
fn every_restart_only_key_can_be_compared() {
    // A reload names a restart-only key by comparing its shown values: a row without a daemon
    // or platform getter would never be named.
    for k in KEYS.iter().filter(|k| k.applies() == Applies::Restart) {
        let show = k.show();
        assert!(
            show.daemon.is_some() || show.platform.is_some(),
            "`{}` applies at a restart but has no daemon or platform value to compare",
            k.path()
        );
    }
}
