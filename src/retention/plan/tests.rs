use std::path::PathBuf;

use chrono::Duration as Span;

use super::*;
use crate::event::{RoomRef, SegmentRef};
use crate::hooks::ledger::LedgerDelivery;

fn room(name: &str) -> RoomRef {
    RoomRef {
        key: format!("direct:{name}"),
        name: name.into(),
        ..RoomRef::none()
    }
}

/// A segment of `alice` that ended `hours` ago, with deliveries `(target, outcome)`.
fn seg(n: u32, hours: i64, bytes: u64, deliveries: &[(&str, Outcome)]) -> LedgerSegment {
    let end = now() - Span::hours(hours);
    LedgerSegment {
        event: Uuid::from_u128(n as u128),
        room: Some(room("alice")),
        session: None,
        segment: SegmentRef {
            path: PathBuf::from(format!("/rec/{n}.flv")),
            index: n,
            bytes,
            duration_s: 60.0,
            start: end,
            end,
            recovered: false,
            danmaku: None,
        },
        file: Some(crate::hooks::ledger::FileId {
            dev: 1,
            ino: n as u64,
            len: bytes,
            mtime_ns: 0,
        }),
        deliveries: deliveries
            .iter()
            .enumerate()
            .map(|(i, (target, outcome))| LedgerDelivery {
                id: Uuid::from_u128(((n as u128) << 8) + i as u128),
                target: target.to_string(),
                outcome: *outcome,
            })
            .collect(),
        deleting: None,
        released: false,
    }
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-12-10T12:00:00+08:00").unwrap()
}

#[test]
fn only_a_segment_every_subscribed_hook_succeeded_with_may_go() {
    let upload = [("upload", &[][..])];
    let view = HookView::of(&[], &upload);
    let done = seg(1, 1, 10, &[("upload", Outcome::Done)]);
    assert_eq!(hooks_hold(&done, &view), None);
    let mut gave_up = seg(2, 1, 10, &[("upload", Outcome::GaveUp)]);
    assert_eq!(hooks_hold(&gave_up, &view).unwrap(), "upload gave up");
    // An operator released it: the given-up delivery no longer keeps it, a pending one would.
    gave_up.released = true;
    assert_eq!(hooks_hold(&gave_up, &view), None);
    let running = HookView::of(&[gave_up.deliveries[0].id], &upload);
    assert_eq!(hooks_hold(&gave_up, &running).unwrap(), "upload pending");
    let lost = seg(3, 1, 10, &[("upload", Outcome::Open)]);
    assert_eq!(hooks_hold(&lost, &view).unwrap(), "upload outcome unknown");
    // Done in the ledger, yet pending again (a crash between the ledger and the journal): it
    // runs again, so the file stays.
    let again = seg(4, 1, 10, &[("upload", Outcome::Done)]);
    let pending = HookView::of(&[again.deliveries[0].id], &upload);
    assert_eq!(hooks_hold(&again, &pending).unwrap(), "upload pending");
    // A hook configured after the segment never had it.
    let later = HookView::of(&[], &[("upload", &[][..]), ("archive", &["alice"][..])]);
    assert_eq!(
        hooks_hold(&done, &later).unwrap(),
        "archive never had it (configured later)"
    );
    // ... unless its rooms filter leaves this room out.
    let other = HookView::of(&[], &[("upload", &[][..]), ("archive", &["bob"][..])]);
    assert_eq!(hooks_hold(&done, &other), None);
    // No hook took it: nobody has finished with it.
    let none = seg(5, 1, 10, &[]);
    assert_eq!(
        hooks_hold(&none, &HookView::of(&[], &[])).unwrap(),
        "no hook took its segment_complete"
    );
}

fn ids(v: &[Entry]) -> Vec<(u32, Reason)> {
    v.iter().map(|e| (e.index, e.reason)).collect()
}

#[test]
fn keep_for_deletes_every_old_deletable_segment_and_lists_the_held_ones() {
    let segs = [
        seg(1, 200, 10, &[]),
        seg(2, 190, 10, &[]),
        seg(3, 100, 10, &[]),
        seg(4, 1, 10, &[]),
    ];
    let cands: Vec<Candidate<'_>> = segs
        .iter()
        .map(|s| Candidate {
            seg: s,
            held: (s.segment.index == 2).then(|| "upload pending".to_string()),
        })
        .collect();
    let rules = Rules {
        keep_for: Some(Duration::from_secs(7 * 86400)),
        target: None,
    };
    let (delete, held) = choose(&cands, rules, now(), 0);
    assert_eq!(ids(&delete), [(1, Reason::Age)]);
    assert_eq!(delete[0].age_s, 200 * 3600);
    assert_eq!(delete[0].name, "alice");
    assert_eq!(ids(&held), [(2, Reason::Age)]);
    assert_eq!(held[0].held.as_deref(), Some("upload pending"));
}

#[test]
fn the_space_target_takes_the_oldest_deletable_until_free_space_is_back() {
    let segs: Vec<LedgerSegment> = (1..=6).map(|n| seg(n, 100 - n as i64, 100, &[])).collect();
    let cands: Vec<Candidate<'_>> = segs
        .iter()
        .map(|s| Candidate {
            seg: s,
            held: (s.segment.index == 2).then(|| "upload gave up".to_string()),
        })
        .collect();
    // 1000 free, 1250 wanted: three files of 100 (the held one skipped).
    let rules = Rules {
        keep_for: None,
        target: Some(1250),
    };
    let (delete, held) = choose(&cands, rules, now(), 1000);
    assert_eq!(
        ids(&delete),
        [(1, Reason::Space), (3, Reason::Space), (4, Reason::Space)]
    );
    assert_eq!(ids(&held), [(2, Reason::Space)]);
    // Enough space: nothing goes for space.
    let (delete, held) = choose(&cands, rules, now(), 5000);
    assert!(delete.is_empty() && held.is_empty());
    // What keep_for frees counts: one old file covers the shortfall.
    let rules = Rules {
        keep_for: Some(Duration::from_secs(99 * 3600)),
        target: Some(1050),
    };
    let (delete, _) = choose(&cands, rules, now(), 1000);
    assert_eq!(ids(&delete), [(1, Reason::Age)]);
    // Nothing deletable at all: nothing goes, whatever the disk says.
    let stuck: Vec<Candidate<'_>> = segs
        .iter()
        .map(|s| Candidate {
            seg: s,
            held: Some("upload pending".into()),
        })
        .collect();
    let rules = Rules {
        keep_for: None,
        target: Some(u64::MAX),
    };
    let (delete, held) = choose(&stuck, rules, now(), 0);
    assert!(delete.is_empty());
    assert_eq!(held.len(), 6);
}
