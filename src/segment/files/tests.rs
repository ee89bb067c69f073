use super::*;

fn alice() -> RoomRef {
    RoomRef {
        key: "direct:1".into(),
        platform: "direct".into(),
        id: "1".into(),
        name: "alice".into(),
        url: String::new(),
        streamer: String::new(),
        title: "before".into(),
    }
}

fn output(
    dir: &std::path::Path,
) -> (
    SegmentFiles,
    Arc<Intents>,
    tokio::sync::mpsc::UnboundedReceiver<WriterEvent>,
) {
    let store = Arc::new(Intents::open(&dir.join("segments")).unwrap());
    let spec = SegmentSpec {
        room: alice(),
        session: SessionRef {
            id: uuid::Uuid::new_v4(),
            start: crate::event::now(),
            owner: None,
        },
        intents: Some(store.clone()),
        ..SegmentSpec::plain(
            dir.join("rec"),
            crate::config::filename_template("{name}/{index}").unwrap(),
        )
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (
        SegmentFiles::new(spec, tx, Arc::new(Progress::default())),
        store,
        rx,
    )
}

/// The events the writer sent so far.
fn sent(rx: &mut tokio::sync::mpsc::UnboundedReceiver<WriterEvent>) -> Vec<WriterEvent> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// What another process would find in the intents folder now (ours are locked, so this
/// opens them read-only instead).
fn on_disk(store: &Intents) -> Vec<Intent> {
    std::fs::read_dir(store.dir())
        .unwrap()
        .flatten()
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            serde_json::from_str(text.lines().last().unwrap()).unwrap()
        })
        .collect()
}

#[test]
fn a_segment_records_its_intent_before_the_rename_and_an_empty_one_leaves_none() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, store, _rx) = output(dir.path());
    out.write(b"0123456789").unwrap();
    let open = on_disk(&store);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].stage, Stage::Open);
    assert_eq!(open[0].part, dir.path().join("rec/alice/1.flv.part"));
    let seg = open[0].event.segment.as_ref().unwrap();
    assert_eq!((seg.index, seg.bytes), (1, 0));
    assert_eq!(open[0].event.room.as_ref().unwrap().name, "alice");

    let done = out.close(Some(2.5)).unwrap().unwrap();
    let closing = on_disk(&store);
    assert_eq!(closing.len(), 1, "kept until the event is journaled");
    let i = &closing[0];
    assert_eq!(i.stage, Stage::Closing);
    let seg = i.event.segment.as_ref().unwrap();
    assert_eq!((seg.bytes, seg.duration_s), (10, 2.5));
    assert_eq!(i.id(), open[0].id());
    // The identity recorded before the rename finds the renamed file.
    assert_eq!(i.find_final(), Some(done.path.clone()));
    store.settle(i.id());
    assert!(on_disk(&store).is_empty());

    // A segment that never got a byte leaves neither a file nor an intent.
    out.open().unwrap();
    assert_eq!(on_disk(&store).len(), 1);
    assert_eq!(out.close(None).unwrap(), None);
    assert!(on_disk(&store).is_empty());
}

#[test]
fn the_room_gets_the_very_event_the_intent_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, store, mut rx) = output(dir.path());
    out.write(b"0123456789").unwrap();
    let [WriterEvent::Opened(start), WriterEvent::Flowing] = &sent(&mut rx)[..] else {
        panic!("an Opened, then Flowing");
    };
    assert_eq!(start.kind, EventType::SegmentStart);
    let open = &on_disk(&store)[0];
    assert_eq!(
        (&start.room, &start.session, &start.segment),
        (&open.event.room, &open.event.session, &open.event.segment),
        "segment_start names what the intent names"
    );

    let done = out.close(Some(2.5)).unwrap().unwrap();
    let [WriterEvent::Closed(complete)] = &sent(&mut rx)[..] else {
        panic!("one Closed");
    };
    let closing = &on_disk(&store)[0];
    // The intent keeps the `.part` path: start-up recovery finds the renamed file by identity.
    let mut recorded = closing.event.clone();
    recorded.segment.as_mut().unwrap().path = done.path.clone();
    assert_eq!(*complete, recorded);
    assert_eq!(
        complete.id,
        open.id(),
        "no second id: the dispatcher settles by it"
    );
    assert_eq!(complete.time, done.end);
    store.settle(complete.id);
}

#[test]
fn a_room_renamed_mid_segment_reaches_its_intent_at_once_and_names_the_next_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, store, mut rx) = output(dir.path());
    out.write(b"0123456789").unwrap();
    let renamed = RoomRef {
        name: "alicia".into(),
        title: "after".into(),
        streamer: "Alicia".into(),
        ..alice()
    };
    out.set_room(renamed.clone());
    // On disk before the segment ends: a crash now recovers it under the new name.
    let open = &on_disk(&store)[0];
    assert_eq!(open.stage, Stage::Open);
    assert_eq!(open.event.room.as_ref(), Some(&renamed));
    // The open file keeps its name; its event and the next file take the new one.
    out.close(None).unwrap();
    out.write(b"more").unwrap();
    out.close(None).unwrap();
    let events = sent(&mut rx);
    let completes: Vec<&Event> = events
        .iter()
        .filter_map(|e| match e {
            WriterEvent::Closed(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(completes.len(), 2);
    for e in &completes {
        assert_eq!(e.room.as_ref(), Some(&renamed));
        store.settle(e.id);
    }
    let paths: Vec<_> = completes
        .iter()
        .map(|e| e.segment.as_ref().unwrap().path.clone())
        .collect();
    assert_eq!(
        paths,
        [
            dir.path().join("rec/alice/1.flv"),
            dir.path().join("rec/alicia/2.flv")
        ]
    );
}

#[test]
fn a_title_that_keeps_changing_cannot_grow_an_intent_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, store, _rx) = output(dir.path());
    out.write(b"0123456789").unwrap();
    for n in 0..(MAX_ROOM_UPDATES + 50) {
        out.set_room(RoomRef {
            title: format!("title {n}"),
            ..alice()
        });
    }
    let file = std::fs::read_dir(store.dir())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let lines = std::fs::read_to_string(file.path())
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines as u32, 1 + MAX_ROOM_UPDATES);
    // The last title still reaches the event, at close.
    out.close(None).unwrap();
    let last = &on_disk(&store)[0];
    let title = &last.event.room.as_ref().unwrap().title;
    assert_eq!(*title, format!("title {}", MAX_ROOM_UPDATES + 49));
    store.settle(last.id());
}

#[test]
fn a_first_segment_named_at_the_sessions_start_takes_that_name_and_only_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, _store, _rx) = output(dir.path());
    out.spec.first_stem = Some(dir.path().join("rec/alice/decided"));
    out.write(b"first").unwrap();
    let first = out.close(None).unwrap().unwrap();
    assert_eq!(first.path, dir.path().join("rec/alice/decided.flv"));
    assert_eq!(first.index, 1);
    // Later segments are named from the template when they open, as always.
    out.write(b"second").unwrap();
    let second = out.close(None).unwrap().unwrap();
    assert_eq!(second.path, dir.path().join("rec/alice/2.flv"));

    // A decided name that is taken by the time the segment opens gets `_1`: nothing is
    // replaced.
    let (mut out, _store, _rx) = output(dir.path());
    out.spec.first_stem = Some(dir.path().join("rec/alice/decided"));
    out.write(b"again").unwrap();
    let again = out.close(None).unwrap().unwrap();
    assert_eq!(again.path, dir.path().join("rec/alice/decided_1.flv"));
    assert_eq!(std::fs::read(&first.path).unwrap(), b"first");
}

#[test]
fn after_the_last_file_closes_nothing_opens_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, _store, _rx) = output(dir.path());
    out.write(b"0123456789").unwrap();
    out.make_last();
    // Until its pipeline splits, the last file takes what comes.
    out.write(b"abc").unwrap();
    let closed = out.close(None).unwrap().unwrap();
    assert_eq!(std::fs::read(&closed.path).unwrap(), b"0123456789abc");
    // The split's next file does not open; its bytes go nowhere.
    out.write(b"after the keyframe").unwrap();
    assert!(!out.is_open());
    assert!(out.close(None).unwrap().is_none());
    let names: Vec<_> = std::fs::read_dir(dir.path().join("rec/alice"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [closed.path.file_name().unwrap()]);

    // Made last with no file open (between connections): nothing opens.
    let dir = tempfile::tempdir().unwrap();
    let (mut out, _store, _rx) = output(dir.path());
    out.make_last();
    out.write(b"late").unwrap();
    assert!(!out.is_open());
}
