use super::*;

fn output(dir: &std::path::Path) -> (SegmentFiles, Arc<Intents>) {
    let store = Arc::new(Intents::open(&dir.join("segments")).unwrap());
    let now = crate::event::now();
    let spec = SegmentSpec {
        intents: Some(IntentSpec {
            store: store.clone(),
            room: RoomRef {
                key: "direct:1".into(),
                platform: "direct".into(),
                id: "1".into(),
                name: "alice".into(),
                url: String::new(),
                streamer: String::new(),
                title: "before".into(),
            },
            session: SessionRef {
                id: uuid::Uuid::new_v4(),
                start: now,
            },
        }),
        ..SegmentSpec::plain(
            dir.join("rec"),
            crate::config::filename_template("{index}").unwrap(),
        )
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    (
        SegmentFiles::new(spec, tx, Arc::new(Progress::default())),
        store,
    )
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
    let (mut out, store) = output(dir.path());
    out.write(b"0123456789").unwrap();
    let open = on_disk(&store);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].stage, Stage::Open);
    assert_eq!(open[0].part, dir.path().join("rec/1.flv.part"));
    let seg = open[0].event.segment.as_ref().unwrap();
    assert_eq!((seg.index, seg.bytes), (1, 0));
    assert_eq!(open[0].event.room.as_ref().unwrap().name, "alice");

    out.set_meta("after".into(), "Alice".into());
    let done = out.close(Some(2.5)).unwrap().unwrap();
    assert_eq!(done.event_id, Some(open[0].id()));
    let closing = on_disk(&store);
    assert_eq!(closing.len(), 1, "kept until the event is journaled");
    let i = &closing[0];
    assert_eq!(i.stage, Stage::Closing);
    let seg = i.event.segment.as_ref().unwrap();
    assert_eq!((seg.bytes, seg.duration_s), (10, 2.5));
    assert_eq!(i.event.room.as_ref().unwrap().title, "after");
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
