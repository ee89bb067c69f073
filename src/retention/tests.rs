use std::collections::HashSet;
use std::path::Path;

use uuid::Uuid;

use super::delete::{delete, finish_interrupted, still_ours};
use super::plan::{Entry, Reason};
use crate::event::{DanmakuRef, Event, EventType, RoomRef, SegmentRef};
use crate::hooks::ledger::{Deleting, Ledger, LedgerSegment};

/// A finished segment `name` (with a chat file) under `rec`, recorded in `ledger`.
fn recorded(ledger: &Ledger, rec: &Path, name: &str) -> LedgerSegment {
    let path = rec.join(name);
    std::fs::write(&path, b"video").unwrap();
    let chat = path.with_extension("xml");
    std::fs::write(&chat, b"<i/>").unwrap();
    let now = crate::event::now() - chrono::Duration::days(8);
    let e = Event::new(
        EventType::SegmentComplete,
        Some(RoomRef {
            key: "direct:abc".into(),
            name: "alice".into(),
            ..RoomRef::none()
        }),
    )
    .with_segment(SegmentRef {
        path,
        index: 3,
        bytes: 5,
        duration_s: 1.0,
        start: now,
        end: now,
        recovered: false,
        danmaku: Some(DanmakuRef {
            path: chat,
            messages: 1,
        }),
    });
    ledger
        .segment(&e, &[(Uuid::new_v4(), "upload".into())])
        .unwrap();
    ledger
        .segments()
        .into_iter()
        .find(|s| s.event == e.id)
        .unwrap()
}

fn entry(seg: &LedgerSegment) -> Entry {
    Entry {
        segment: seg.event,
        path: seg.segment.path.clone(),
        room: "direct:abc".into(),
        name: "alice".into(),
        index: 3,
        bytes: 5,
        age_s: 0,
        reason: Reason::Age,
        held: None,
    }
}

#[test]
fn a_deletion_cut_short_after_the_unlink_raises_its_event_once_at_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("hooks.ledger");
    let ledger = Ledger::open(&ledger_path).unwrap();
    let seg = recorded(&ledger, dir.path(), "a.flv");
    let event = delete(&ledger, &seg, &entry(&seg), dir.path(), true).unwrap();
    assert!(!seg.segment.path.exists() && !dir.path().join("a.xml").exists());
    assert_eq!(event.kind, EventType::SegmentDeleted);
    let d = event.deletion.as_ref().unwrap();
    assert_eq!(d.reason, "age");
    assert!(d.age_s >= 8 * 86400, "{d:?}");
    assert_eq!(
        d.danmaku_path.as_deref(),
        Some(dir.path().join("a.xml").as_path())
    );
    assert_eq!(event.segment().unwrap().index, 3);
    // The process dies before the event reached the journal: the restart raises it, same id.
    drop(ledger);
    let ledger = Ledger::open(&ledger_path).unwrap();
    let raised = finish_interrupted(&ledger, &HashSet::new());
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].id, event.id);
    assert_eq!(raised[0].deletion, event.deletion);
    // Once journaled (the dispatcher writes `deleted`), the segment is gone for good.
    ledger.deleted(event.id).unwrap();
    assert!(ledger.segments().is_empty());
    drop(ledger);
    let ledger = Ledger::open(&ledger_path).unwrap();
    assert!(finish_interrupted(&ledger, &HashSet::new()).is_empty());
}

#[test]
fn a_deletion_cut_short_before_the_unlink_is_finished_and_a_journaled_one_is_not_raised_again() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("hooks.ledger")).unwrap();
    let before = recorded(&ledger, dir.path(), "b.flv");
    let journaled = recorded(&ledger, dir.path(), "c.flv");
    let intent = |s: &LedgerSegment| Deleting {
        event: Uuid::new_v4(),
        reason: "space".into(),
        at: crate::event::now(),
        chat: s.segment.danmaku.as_ref().map(|d| d.path.clone()),
    };
    let (db, dc) = (intent(&before), intent(&journaled));
    ledger.deleting(before.event, db.clone()).unwrap();
    ledger.deleting(journaled.event, dc.clone()).unwrap();
    std::fs::remove_file(&journaled.segment.path).unwrap();
    let raised = finish_interrupted(&ledger, &HashSet::from([dc.event]));
    assert_eq!(raised.iter().map(|e| e.id).collect::<Vec<_>>(), [db.event]);
    assert!(!before.segment.path.exists(), "the unlink is finished");
    assert!(!dir.path().join("b.xml").exists());
    assert_eq!(ledger.segments().len(), 1, "the journaled one is settled");
}

#[test]
fn only_the_very_file_liverec_wrote_under_output_dir_is_considered() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    let ledger = Ledger::open(&dir.path().join("hooks.ledger")).unwrap();
    let seg = recorded(&ledger, &rec, "a.flv");
    assert_eq!(still_ours(&seg, &rec), Ok(true));
    assert_eq!(still_ours(&seg, &dir.path().join("elsewhere")), Ok(false));
    // Replaced by another file of the same name (a hook re-muxed it, say): not ours.
    std::fs::remove_file(&seg.segment.path).unwrap();
    std::fs::write(&seg.segment.path, b"someone else's").unwrap();
    assert_eq!(still_ours(&seg, &rec), Ok(false));
    assert!(delete(&ledger, &seg, &entry(&seg), &rec, true).is_err());
    assert!(seg.segment.path.exists(), "never deleted");
    std::fs::remove_file(&seg.segment.path).unwrap();
    assert_eq!(still_ours(&seg, &rec), Err(()));
    let mut part = seg.clone();
    part.segment.path = rec.join("x.flv.part");
    std::fs::write(&part.segment.path, b"x").unwrap();
    assert_eq!(still_ours(&part, &rec), Ok(false));
}
