//! Journal replay, torn lines, compaction and locking, on real files.

use super::*;
use crate::event::RoomRef;

fn event(room: &str, title: &str) -> Event {
    Event::new(
        EventType::SegmentComplete,
        Some(RoomRef {
            key: room.into(),
            platform: "direct".into(),
            id: "x".into(),
            name: "n".into(),
            url: "u".into(),
            streamer: "s".into(),
            title: title.into(),
        }),
    )
}

fn add(j: &mut Journal, target: &str, e: &Event) -> Uuid {
    let id = Uuid::new_v4();
    j.add(&[NewDelivery {
        id,
        target,
        event: e,
    }])
    .unwrap();
    id
}

fn ids(p: &[Pending]) -> Vec<Uuid> {
    p.iter().map(|p| p.id).collect()
}

#[test]
fn pending_deliveries_survive_a_reopen_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, p) = Journal::open(dir.path()).unwrap();
    assert!(p.is_empty());
    let e1 = event("a:1", "one");
    let e2 = event("a:2", "two\n\"quoted\"");
    let a = add(&mut j, "upload", &e1);
    let b = add(&mut j, "upload", &e2);
    let c = add(&mut j, "chat", &e1);
    j.failed(b, 1, "exit status 1").unwrap();
    j.failed(b, 2, "exit status 1").unwrap();
    j.done(a).unwrap();
    assert_eq!(j.event(b).unwrap(), e2);
    drop(j);
    let (j, p) = Journal::open(dir.path()).unwrap();
    assert_eq!(ids(&p), [b, c]);
    assert_eq!(p[0].attempts, 2);
    assert_eq!(p[0].room, "a:2");
    assert_eq!(p[0].target, "upload");
    assert_eq!(p[1].target, "chat");
    assert_eq!(j.event(b).unwrap(), e2);
    assert_eq!(j.event(c).unwrap(), e1);
    // The start-up compaction kept just the two pending records.
    let text = std::fs::read_to_string(j.path()).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.starts_with(r#"{"op":"add""#)));
}

#[test]
fn finished_deliveries_are_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let e = event("a:1", "t");
    let (a, b, c) = (
        add(&mut j, "h", &e),
        add(&mut j, "h", &e),
        add(&mut j, "h", &e),
    );
    j.done(a).unwrap();
    j.gave_up(b, "retries exhausted").unwrap();
    let path = j.path().to_path_buf();
    drop(j);
    // Versions before parked deliveries marked a removed hook's deliveries "dropped".
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let dropped = serde_json::json!({"op": "dropped", "id": c, "reason": "hook removed"});
    std::io::Write::write_all(&mut f, format!("{dropped}\n").as_bytes()).unwrap();
    drop(f);
    let (j, p) = Journal::open(dir.path()).unwrap();
    assert!(p.is_empty());
    assert_eq!(std::fs::metadata(j.path()).unwrap().len(), 0);
}

#[test]
fn a_torn_last_line_is_skipped_and_the_rest_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let e = event("a:1", "t");
    let a = add(&mut j, "h", &e);
    let b = add(&mut j, "h", &e);
    let path = j.path().to_path_buf();
    drop(j);
    // kill -9 in the middle of writing a third record, and garbage in the middle.
    let mut text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.insert(1, "not json at all".into());
    text = lines.join("\n") + "\n";
    let third = serde_json::to_string(&serde_json::json!({
        "op": "add", "id": Uuid::new_v4(), "target": "h", "event": e
    }))
    .unwrap();
    text.push_str(&third[..third.len() / 2]);
    std::fs::write(&path, text).unwrap();

    let (mut j, p) = Journal::open(dir.path()).unwrap();
    assert_eq!(ids(&p), [a, b]);
    // The torn tail is gone, so new records start on their own line.
    let c = add(&mut j, "h", &e);
    j.done(a).unwrap();
    drop(j);
    let (_, p) = Journal::open(dir.path()).unwrap();
    assert_eq!(ids(&p), [b, c]);
}

#[test]
fn compaction_bounds_the_file_and_keeps_pending_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let big = event("a:1", &"x".repeat(40_000));
    let keep = add(&mut j, "h", &big);
    j.failed(keep, 1, "no").unwrap();
    for _ in 0..80 {
        let id = add(&mut j, "h", &big);
        j.done(id).unwrap();
    }
    let size = std::fs::metadata(j.path()).unwrap().len();
    assert!(size <= 2 * COMPACT_AT, "journal grew to {size} bytes");
    assert_eq!(j.len(), 1);
    assert_eq!(j.event(keep).unwrap(), big);
    let last = add(&mut j, "h", &big);
    drop(j);
    let (_, p) = Journal::open(dir.path()).unwrap();
    assert_eq!(ids(&p), [keep, last]);
    assert_eq!(p[0].attempts, 1);
}

#[test]
fn a_second_process_gets_its_own_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (j1, _) = Journal::open(dir.path()).unwrap();
    let (j2, _) = Journal::open(dir.path()).unwrap();
    assert_ne!(j1.path(), j2.path());
    assert!(j1.path().ends_with("hooks.journal"));
    assert!(j2.path().ends_with("hooks.1.journal"));
    let first = j1.path().to_path_buf();
    drop(j1);
    let (j3, _) = Journal::open(dir.path()).unwrap();
    assert_eq!(j3.path(), first);
}

#[test]
fn a_huge_garbage_line_is_skipped_without_holding_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path()).unwrap();
    let e = event("a:1", "t");
    let a = add(&mut j, "h", &e);
    let path = j.path().to_path_buf();
    drop(j);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&vec![b'z'; MAX_LINE + 10]).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let (_, p) = Journal::open(dir.path()).unwrap();
    assert_eq!(ids(&p), [a]);
}
