use super::*;
use crate::event::EventType;

fn segment_event(dir: &Path, name: &str) -> Event {
    let path = dir.join(name);
    std::fs::write(&path, b"video").unwrap();
    let now = crate::event::now();
    Event::new(EventType::SegmentComplete, Some(RoomRef::none())).with_segment(SegmentRef {
        path,
        index: 1,
        bytes: 5,
        duration_s: 1.0,
        start: now,
        end: now,
        recovered: false,
        danmaku: None,
    })
}

fn deleting(event: Uuid) -> Deleting {
    Deleting {
        event,
        reason: "age".into(),
        at: crate::event::now(),
        chat: Some(PathBuf::from("/x.xml")),
    }
}

#[test]
fn segments_outcomes_and_deletions_survive_a_reopen_and_compaction_drops_the_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hooks.ledger");
    let (a, b, c) = (
        segment_event(dir.path(), "a.flv"),
        segment_event(dir.path(), "b.flv"),
        segment_event(dir.path(), "c.flv"),
    );
    let (d1, d2, d3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let gone = Uuid::new_v4();
    {
        let l = Ledger::open(&path).unwrap();
        l.segment(&a, &[(d1, "upload".into()), (d2, "notify".into())])
            .unwrap();
        l.segment(&b, &[(d3, "upload".into())]).unwrap();
        l.segment(&c, &[]).unwrap();
        l.outcome(d1, true).unwrap();
        l.outcome(d3, false).unwrap();
        // Not a segment's delivery: ignored.
        l.outcome(Uuid::new_v4(), true).unwrap();
        l.deleting(c.id, deleting(gone)).unwrap();
        l.deleted(gone).unwrap();
        l.deleting(b.id, deleting(Uuid::new_v4())).unwrap();
        l.release(a.id).unwrap();
    }
    // A write torn by kill -9 at the end.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"op\":\"done\",\"deliv").unwrap();
    drop(f);
    let l = Ledger::open(&path).unwrap();
    let segs = l.segments();
    assert_eq!(segs.len(), 2, "{segs:#?}");
    let sa = segs.iter().find(|s| s.event == a.id).unwrap();
    assert_eq!(
        sa.deliveries
            .iter()
            .map(|d| (d.target.as_str(), d.outcome))
            .collect::<Vec<_>>(),
        [("upload", Outcome::Done), ("notify", Outcome::Open)]
    );
    assert_eq!(sa.segment.path, dir.path().join("a.flv"));
    assert!(sa.file.is_some(), "the file's identity is kept");
    assert!(sa.released);
    let sb = segs.iter().find(|s| s.event == b.id).unwrap();
    assert_eq!(sb.deliveries[0].outcome, Outcome::GaveUp);
    let del = sb.deleting.as_ref().unwrap();
    assert_eq!(del.chat.as_deref(), Some(Path::new("/x.xml")));
    // Compacted at open: one line per live segment.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    l.forget(a.id).unwrap();
    assert_eq!(l.segments().len(), 1);
}

#[test]
fn a_segment_raised_again_after_a_crash_keeps_its_newer_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join("hooks.ledger")).unwrap();
    let a = segment_event(dir.path(), "a.flv");
    let (old, new) = (Uuid::new_v4(), Uuid::new_v4());
    l.segment(&a, &[(old, "upload".into())]).unwrap();
    l.segment(&a, &[(new, "upload".into())]).unwrap();
    l.outcome(old, true).unwrap();
    let segs = l.segments();
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].deliveries[0].id, new);
    assert_eq!(
        segs[0].deliveries[0].outcome,
        Outcome::Open,
        "the old delivery's end does not count"
    );
}

#[test]
fn an_event_about_no_file_is_not_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join("hooks.ledger")).unwrap();
    l.segment(&Event::new(EventType::SegmentComplete, None), &[])
        .unwrap();
    assert!(l.segments().is_empty());
}
