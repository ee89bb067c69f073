use super::*;
use crate::config::filename_template;
use std::path::{Component, Path};

fn fields(title: &str) -> NameFields {
    NameFields {
        platform: "bilibili".into(),
        id: "1".into(),
        key: "bilibili:1".into(),
        name: "alice".into(),
        streamer: "Alice".into(),
        title: title.into(),
        session: "s".into(),
        session_start: chrono::DateTime::parse_from_rfc3339("2026-11-21T21:04:05+08:00").unwrap(),
    }
}

#[test]
fn hostile_titles_stay_one_component() {
    let t = filename_template("{platform}/{name}/{title}_{start:%Y%m%d}").unwrap();
    let start = fields("").session_start;
    for title in [
        "../../etc/passwd",
        "$(touch x); rm -rf / `id`",
        "a\nb\0c",
        "...",
        "",
        "CON:*?\"<>|",
        "\\..\\x",
    ] {
        let p = render(&t, &fields(title), 1, start);
        let comps: Vec<_> = p.components().collect();
        assert_eq!(comps.len(), 3, "{title:?} -> {p:?}");
        assert!(
            comps.iter().all(|c| matches!(c, Component::Normal(_))),
            "{p:?}"
        );
        let last = comps[2].as_os_str().to_string_lossy();
        assert!(!last.starts_with('.'), "{p:?}");
        assert!(!last.contains(['\n', '\0', '/']), "{p:?}");
    }
    assert_eq!(
        render(&t, &fields("$(touch x); hi"), 1, start),
        Path::new("bilibili/alice/$(touch x); hi_20261121")
    );
}

#[test]
fn long_values_are_cut_at_char_boundaries() {
    let long = "直播".repeat(100);
    let s = sanitize(&long);
    assert!(s.len() <= MAX_FIELD_BYTES);
    assert!(s.chars().all(|c| c == '直' || c == '播'));
}

#[test]
fn index_and_times_render() {
    let t = filename_template("{name}_{index}_{session_start:%H%M}").unwrap();
    let f = fields("x");
    assert_eq!(
        render(&t, &f, 3, f.session_start),
        Path::new("alice_3_2104")
    );
}
