use super::*;
use crate::config::{HOOK_FIELDS, TIME_FIELDS};
use crate::event::{EventType, RoomRef, SegmentRef, SessionRef};

pub(crate) const HOSTILE: &str = "a $(touch x); b `id` 'q' \"dq\" \\ \n../../etc/passwd * ?";

fn event(title: &str) -> Event {
    let t = DateTime::parse_from_rfc3339("2026-11-21T21:04:05+08:00").unwrap();
    let mut e = Event::new(
        EventType::SegmentComplete,
        Some(RoomRef {
            key: "bilibili:1".into(),
            platform: "bilibili".into(),
            id: "1".into(),
            name: "alice".into(),
            url: "https://live.bilibili.com/1".into(),
            streamer: "A; rm -rf /".into(),
            title: title.into(),
        }),
    )
    .with_session(Some(SessionRef {
        id: uuid::Uuid::nil(),
        start: t,
        owner: Some(crate::event::OwnerRef {
            instance: "nas-2".into(),
            fence: 4711,
        }),
    }))
    .with_segment(SegmentRef {
        path: "/rec/alice/1 two.flv".into(),
        index: 3,
        bytes: 123456,
        duration_s: 3600.25,
        start: t + chrono::Duration::hours(1),
        end: t + chrono::Duration::hours(2),
        recovered: false,
        danmaku: Some(crate::event::DanmakuRef {
            path: "/rec/alice/1 two.xml".into(),
            messages: 7,
        }),
    });
    e.time = t;
    e.cover_path = Some("/rec/alice/1 two.jpg".into());
    e
}

fn templates(args: &[&str]) -> Vec<Template> {
    args.iter()
        .map(|a| Template::parse(a, HOOK_FIELDS, TIME_FIELDS).unwrap())
        .collect()
}

#[test]
fn hostile_values_stay_one_literal_argument_each() {
    let e = event(HOSTILE);
    let args = argv(
        &templates(&["prog", "{title}", "--name={name}", "{streamer}", "{path}"]),
        &e,
    );
    assert_eq!(
        args,
        [
            "prog",
            HOSTILE,
            "--name=alice",
            "A; rm -rf /",
            "/rec/alice/1 two.flv"
        ]
    );
}

#[test]
fn every_field_renders() {
    let e = event("T");
    let all: Vec<String> = HOOK_FIELDS.iter().map(|f| format!("{{{f}}}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let args = argv(&templates(&all), &e);
    assert_eq!(
        args,
        [
            "/rec/alice/1 two.flv",
            "3",
            "123456",
            "3600.250",
            "segment_complete",
            "bilibili:1",
            "alice",
            "A; rm -rf /",
            "T",
            "00000000-0000-0000-0000-000000000000",
            "bilibili",
            "1",
            "https://live.bilibili.com/1",
            "/rec/alice/1 two.xml",
            "/rec/alice/1 two.jpg",
            "nas-2",
            "4711",
        ]
    );
    let times = argv(
        &templates(&["{start:%Y-%m-%d %H:%M}", "{session_start:%H%M}", "{start}"]),
        &e,
    );
    assert_eq!(times, ["2026-11-21 22:04", "2104", "20261121-220405"]);
}

#[test]
fn missing_fields_are_empty_and_nul_is_dropped() {
    let mut e = Event::new(EventType::DiskLow, None);
    e.error = Some("x".into());
    let args = argv(
        &templates(&["{path}", "{title}", "{type}", "{index}", "{cover_path}"]),
        &e,
    );
    assert_eq!(args, ["", "", "disk_low", "", ""]);
    let e = event("a\0b");
    assert_eq!(argv(&templates(&["{title}"]), &e), ["ab"]);
}

#[test]
fn environment_names_the_event() {
    let e = event("T");
    let env = env(&e, "upload", uuid::Uuid::nil(), 2);
    let get = |k: &str| env.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    assert_eq!(get("LIVEREC_EVENT_TYPE"), "segment_complete");
    assert_eq!(get("LIVEREC_PATH"), "/rec/alice/1 two.flv");
    assert_eq!(get("LIVEREC_ROOM"), "bilibili:1");
    assert_eq!(get("LIVEREC_ATTEMPT"), "2");
}

#[test]
fn a_login_event_names_its_platform_without_a_room() {
    let mut e = Event::new(EventType::LoginLost, None);
    e.platform = Some("bilibili".into());
    let args = argv(&templates(&["{type}", "{platform}", "{key}"]), &e);
    assert_eq!(args, ["login_lost", "bilibili", ""]);
}

#[test]
fn a_session_without_a_cluster_owner_leaves_owner_and_fence_empty() {
    let mut e = event("t");
    assert_eq!(value(&e, "fence", None), "4711");
    if let Some(s) = e.session.as_mut() {
        s.owner = None;
    }
    assert_eq!(value(&e, "owner_instance", None), "");
    assert_eq!(value(&e, "fence", None), "");
}
