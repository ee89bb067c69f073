use super::*;
use crate::config::filename_template;
use std::path::{Component, Path};

fn room(title: &str) -> RoomRef {
    RoomRef {
        platform: "bilibili".into(),
        id: "1".into(),
        key: "bilibili:1".into(),
        name: "alice".into(),
        url: "https://live.bilibili.com/1".into(),
        streamer: "Alice".into(),
        title: title.into(),
    }
}

fn session() -> SessionRef {
    SessionRef {
        id: uuid::Uuid::from_u128(0x5e55),
        start: chrono::DateTime::parse_from_rfc3339("2026-11-21T21:04:05+08:00").unwrap(),
        owner: None,
    }
}

#[test]
fn hostile_titles_stay_one_component() {
    let t = filename_template("{platform}/{name}/{title}_{start:%Y%m%d}").unwrap();
    let start = session().start;
    for title in [
        "../../etc/passwd",
        "$(touch x); rm -rf / `id`",
        "a\nb\0c",
        "...",
        "",
        "CON:*?\"<>|",
        "\\..\\x",
    ] {
        let p = render(&t, &room(title), &session(), 1, start);
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
        render(&t, &room("$(touch x); hi"), &session(), 1, start),
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
    let s = session();
    assert_eq!(
        render(&t, &room("x"), &s, 3, s.start),
        Path::new("alice_3_2104")
    );
}

#[test]
fn the_session_is_its_id_and_a_streamer_not_yet_known_is_the_rooms_name() {
    let t = filename_template("{streamer}/{session}").unwrap();
    let s = session();
    let unnamed = RoomRef {
        streamer: String::new(),
        ..room("x")
    };
    assert_eq!(
        render(&t, &unnamed, &s, 1, s.start),
        Path::new("alice/00000000-0000-0000-0000-000000005e55")
    );
    assert_eq!(
        render(&t, &room("x"), &s, 1, s.start),
        Path::new("Alice/00000000-0000-0000-0000-000000005e55")
    );
}
