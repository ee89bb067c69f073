use super::*;
use crate::event::{EventType, SegmentRef};

fn intent(part: &Path) -> Intent {
    let meta = std::fs::metadata(part).unwrap();
    let (dev, ino) = identity(&meta);
    let now = crate::event::now();
    Intent {
        stage: Stage::Open,
        part: part.to_path_buf(),
        dev,
        ino,
        event: Event::new(EventType::SegmentComplete, None).with_segment(SegmentRef::opened(
            part.to_path_buf(),
            1,
            now,
        )),
    }
}

#[test]
fn settled_intents_disappear_and_held_ones_are_no_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("a.flv.part");
    std::fs::write(&part, b"x").unwrap();
    let store = Intents::open(&dir.path().join("segments")).unwrap();
    let mut i = intent(&part);
    store.begin(&i).unwrap();
    i.stage = Stage::Closing;
    store.update(&i).unwrap();
    assert!(store.leftovers().is_empty(), "our own intent");
    // Another process (another store on the same folder) sees it locked, too.
    let other = Intents::open(store.dir()).unwrap();
    assert!(other.leftovers().is_empty(), "a live process's intent");
    store.settle(i.id());
    assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 0);
    // Unknown ids are ignored.
    store.settle(Uuid::new_v4());
}

#[test]
fn a_dead_process_leaves_its_last_state_and_the_file_is_found_by_inode() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("a.flv.part");
    std::fs::write(&part, b"data").unwrap();
    let segments = dir.path().join("segments");
    let id = {
        let store = Intents::open(&segments).unwrap();
        let mut i = intent(&part);
        store.begin(&i).unwrap();
        i.stage = Stage::Closing;
        i.event.segment.as_mut().unwrap().bytes = 4;
        store.update(&i).unwrap();
        // The process dies here: its descriptors (and locks) go with it.
        i.id()
    };
    // The rename found `a.flv` taken.
    std::fs::write(dir.path().join("a.flv"), b"other").unwrap();
    crate::segment::part::rename_no_replace(&part, &dir.path().join("a"), "flv").unwrap();
    // A torn last line (power cut) is ignored.
    let mut f = OpenOptions::new()
        .append(true)
        .open(segments.join(format!("{id}.json")))
        .unwrap();
    f.write_all(b"{\"stage\":\"clo").unwrap();
    // Junk in the folder is left alone, and an unreadable record is removed.
    std::fs::write(segments.join("notes.txt"), b"x").unwrap();
    let torn = Uuid::new_v4();
    std::fs::write(segments.join(format!("{torn}.json")), b"{\"st").unwrap();

    let store = Intents::open(&segments).unwrap();
    let left = store.leftovers();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].intent.stage, Stage::Closing);
    assert_eq!(left[0].intent.event.segment.as_ref().unwrap().bytes, 4);
    assert_eq!(
        left[0].intent.find_final(),
        Some(dir.path().join("a_1.flv"))
    );
    assert!(!segments.join(format!("{torn}.json")).exists());
    assert!(segments.join("notes.txt").exists());
    let i = store.adopt(left.into_iter().next().unwrap());
    assert!(store.holds(id));
    store.settle(i.id());
    assert!(!segments.join(format!("{id}.json")).exists());
    // A file that was moved away is not found (a changed inode number could be another
    // file's: tmpfs hands them out in sequence).
    std::fs::rename(dir.path().join("a_1.flv"), dir.path().join("moved.flv")).unwrap();
    assert_eq!(i.find_final(), None);
}
