use super::*;
use crate::event::{RoomRef, SegmentRef};

fn webhook(events: &[EventType], rooms: &[&str]) -> TargetCfg {
    TargetCfg::from_webhook(WebhookConfig {
        name: "w".into(),
        url: "http://127.0.0.1:1/".into(),
        events: events.to_vec(),
        secret: None,
        timeout: std::time::Duration::from_secs(1),
        retries: 0,
        window: None,
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
    })
}

fn event(kind: EventType, key: &str, name: &str) -> Event {
    Event::new(
        kind,
        Some(RoomRef {
            key: key.into(),
            platform: "bilibili".into(),
            id: "1".into(),
            name: name.into(),
            url: String::new(),
            streamer: String::new(),
            title: String::new(),
        }),
    )
}

#[test]
fn the_rooms_filter_matches_a_name_or_a_key() {
    let t = webhook(&[EventType::LiveStart], &["alice", "douyin:42"]);
    assert!(t.wants(&event(EventType::LiveStart, "bilibili:1", "alice")));
    assert!(t.wants(&event(EventType::LiveStart, "douyin:42", "bob")));
    assert!(!t.wants(&event(EventType::LiveStart, "bilibili:2", "carol")));
    assert!(!t.wants(&event(EventType::LiveEnd, "bilibili:1", "alice")));
    // An event about no room (a daemon-wide disk_low) passes every filter.
    let t = webhook(&[EventType::DiskLow], &["alice"]);
    assert!(t.wants(&Event::new(EventType::DiskLow, None)));
    // A segment of unknown room (a leftover nothing names) passes no filter, only hooks
    // that take every room.
    let now = crate::event::now();
    let orphan = Event::new(EventType::SegmentComplete, None).with_segment(SegmentRef {
        path: "/rec/x.flv".into(),
        index: 1,
        bytes: 1,
        duration_s: 0.0,
        start: now,
        end: now,
        recovered: true,
        danmaku: None,
    });
    let alice = webhook(&[EventType::SegmentComplete], &["alice"]);
    assert!(!alice.wants(&orphan));
    let every = webhook(&[EventType::SegmentComplete], &[]);
    assert!(every.wants(&orphan));
    // No filter: every room.
    let t = webhook(&[EventType::LiveStart], &[]);
    assert!(t.wants(&event(EventType::LiveStart, "bilibili:2", "carol")));
}
