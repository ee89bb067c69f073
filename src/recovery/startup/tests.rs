use super::*;
use crate::event::{RoomRef, SessionRef};
use crate::platform::{PlatformKind, RoomKey};
use crate::recovery::owner::room_ref_for;
use crate::room::lock::{Acquire, RoomLock};
use crate::segment::part::{rename_no_replace, split_part_name};

struct Rig {
    dir: tempfile::TempDir,
    config: Config,
}

impl Rig {
    /// alice and bob on Bilibili (numbers: maybe short ids; bob's file names carry his id);
    /// carol, a direct stream.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            r#"output_dir = "{0}/rec"
state_dir = "{0}/state"

[[rooms]]
name = "alice"
url = "https://live.bilibili.com/100"

[[rooms]]
name = "bob"
url = "https://live.bilibili.com/200"
filename = "{{platform}}/{{id}}/{{title}}"

[[rooms]]
name = "carol"
url = "http://127.0.0.1:9/live/c.flv"
filename = "{{name}}/{{title}}"
"#,
            dir.path().display()
        );
        let config = crate::config::parse(&text, &dir.path().join("c.toml")).unwrap();
        std::fs::create_dir_all(&config.output_dir).unwrap();
        Self { dir, config }
    }

    fn store(&self) -> Intents {
        Intents::open(&self.config.state_dir.join("segments")).unwrap()
    }

    fn part(&self, rel: &str) -> PathBuf {
        let p = self.config.output_dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // Under a `.bin` name recovery keeps the bytes as they are.
        std::fs::write(&p, b"some recorded bytes").unwrap();
        p
    }

    /// An intent as the writer records it at open, for `alice` (index 3 of a session).
    fn intent(&self, part: &Path) -> Intent {
        let (dev, ino) = intent::identity(&std::fs::metadata(part).unwrap());
        let start = crate::event::now() - chrono::Duration::seconds(90);
        let room = room_ref_for(&self.config, "bilibili:100");
        Intent {
            stage: Stage::Open,
            part: part.to_path_buf(),
            dev,
            ino,
            event: Event::new(EventType::SegmentComplete, Some(room))
                .with_session(Some(SessionRef {
                    id: Uuid::new_v4(),
                    start,
                    owner: None,
                }))
                .with_segment(SegmentRef::opened(part.to_path_buf(), 3, start)),
        }
    }

    fn recover(&self, journaled: &HashSet<Uuid>) -> (Intents, Vec<Event>) {
        let store = self.store();
        let events = recover(&self.config, &store, journaled);
        (store, events)
    }

    fn intent_files(&self) -> usize {
        std::fs::read_dir(self.config.state_dir.join("segments"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// The writer's close: the intent's end is synced, then the file is renamed; then the
/// process dies before the event reaches the journal.
fn crash_after_rename(rig: &Rig, rel: &str) -> (Intent, PathBuf) {
    let part = rig.part(rel);
    let store = rig.store();
    let mut i = rig.intent(&part);
    store.begin(&i).unwrap();
    i.stage = Stage::Closing;
    i.event.segment.as_mut().unwrap().duration_s = 90.0;
    store.update(&i).unwrap();
    let (stem, ext) = split_part_name(&part).unwrap();
    let done = rename_no_replace(&part, &stem, &ext).unwrap();
    drop(store);
    (i, done)
}

#[test]
fn a_segment_renamed_just_before_a_crash_gets_its_event_once() {
    let rig = Rig::new();
    let (i, done) = crash_after_rename(&rig, "a/seg.flv.part");
    let (store, events) = rig.recover(&HashSet::new());
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.id, i.id(), "the id it would have had");
    assert_eq!(e.kind, EventType::SegmentComplete);
    assert_eq!(e.room.as_ref().unwrap().name, "alice");
    assert_eq!(e.session, i.event.session);
    let s = e.segment.as_ref().unwrap();
    assert_eq!(s.path, done);
    assert_eq!(
        (s.index, s.bytes, s.duration_s, s.recovered),
        (3, 19, 90.0, false)
    );
    // Held until the dispatcher journals the event, then gone.
    assert!(store.holds(i.id()));
    store.settle(i.id());
    assert_eq!(rig.intent_files(), 0);
    drop(rig.dir);
}

#[test]
fn an_intent_whose_event_reached_the_journal_is_only_removed() {
    let rig = Rig::new();
    let (i, done) = crash_after_rename(&rig, "a/seg.flv.part");
    let (store, events) = rig.recover(&HashSet::from([i.id()]));
    assert!(events.is_empty(), "{events:?}");
    assert!(!store.holds(i.id()));
    assert_eq!(rig.intent_files(), 0);
    assert!(done.exists());
}

#[test]
fn a_part_takes_room_session_and_index_from_its_intent_and_survives_a_crash_in_recovery() {
    let rig = Rig::new();
    // Written under a name no template rule could trace to alice.
    let part = rig.part("x/whatever.bin.part");
    let i = rig.intent(&part);
    {
        let store = rig.store();
        store.begin(&i).unwrap();
    }
    let (store, events) = rig.recover(&HashSet::new());
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.id, i.id());
    assert_eq!(e.room.as_ref().unwrap().name, "alice");
    assert_eq!(e.session, i.event.session);
    let s = e.segment.as_ref().unwrap();
    assert_eq!(s.path, rig.config.output_dir.join("x/whatever.bin"));
    assert!(s.recovered && s.index == 3 && s.bytes == 19);
    // Ended at its last write, about 90 s after the intent says it began.
    assert!(
        s.end > s.start && (89.0..95.0).contains(&s.duration_s),
        "{s:?}"
    );
    // The recovery crashes before the dispatcher journals the event: the next start raises
    // it again, from the intent recovery wrote before the rename.
    drop(store);
    let (store, again) = rig.recover(&HashSet::new());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, i.id());
    assert_eq!(again[0].segment.as_ref().unwrap().path, s.path);
    assert!(again[0].segment.as_ref().unwrap().recovered);
    store.settle(i.id());
    assert_eq!(rig.intent_files(), 0);
}

#[test]
fn a_part_without_an_intent_is_routed_by_its_lock_or_not_at_all() {
    let rig = Rig::new();
    let lock_for = |key: &RoomKey, part: &Path| {
        let Acquire::Held(l) = RoomLock::try_acquire(&rig.config.lock_dir, key, "s").unwrap()
        else {
            panic!()
        };
        l.set_part(Some(part));
        // Dropped: a dead holder's lock, its text left behind.
    };
    // Named by alice's lock file: alice, although her URL is a number that might be a short id.
    let alice = rig.part("bilibili/Alice/a.bin.part");
    lock_for(&RoomKey::new(PlatformKind::Bilibili, "100"), &alice);
    // Named by carol's: a direct room, named and with its URL as configured.
    let carol = rig.part("carol/title.bin.part");
    let carol_key = rig.config.rooms[2].target.known_key().unwrap();
    lock_for(&carol_key, &carol);
    // No lock names it: no room, even where the file name template could only have named
    // bob (file names are not read back through templates).
    let bobs_name = rig.part("bilibili/200/title.bin.part");
    let (store, events) = rig.recover(&HashSet::new());
    assert_eq!(events.len(), 3, "{events:?}");
    let of = |p: &Path| {
        let done = split_part_name(p).unwrap().0.with_extension("bin");
        events
            .iter()
            .find(|e| e.segment.as_ref().unwrap().path == done)
            .unwrap_or_else(|| panic!("no event for {done:?}: {events:?}"))
    };
    let room = |p: &Path| {
        of(p)
            .room
            .as_ref()
            .map(|r| (r.key.clone(), r.name.clone(), r.url.clone()))
    };
    assert_eq!(
        room(&alice),
        Some((
            "bilibili:100".into(),
            "alice".into(),
            "https://live.bilibili.com/100".into()
        ))
    );
    assert_eq!(
        room(&carol),
        Some((
            carol_key.to_string(),
            "carol".into(),
            "http://127.0.0.1:9/live/c.flv".into()
        ))
    );
    assert_eq!(room(&bobs_name), None);
    for p in [&alice, &carol, &bobs_name] {
        let s = of(p).segment.as_ref().unwrap();
        assert!(s.recovered && s.index == 1 && s.bytes == 19, "{s:?}");
        store.settle(of(p).id);
    }
    assert_eq!(rig.intent_files(), 0);
}

/// The bug the architecture review found: a reload renamed the room while a segment was open;
/// the segment's live `segment_complete` carried the new name, and the one recovered after a
/// crash the old name. Both now come from the one record the writer keeps.
#[test]
fn a_room_renamed_mid_segment_is_recovered_under_the_name_its_live_event_carries() {
    use crate::segment::files::{Progress, SegmentFiles, SegmentSpec, WriterEvent};
    let rig = Rig::new();
    let store = Arc::new(rig.store());
    let session = SessionRef {
        id: Uuid::new_v4(),
        start: crate::event::now(),
        owner: None,
    };
    let template = crate::config::filename_template("{name}/{index}").unwrap();
    // The same session twice, in two folders: one segment ends normally, the other is cut by
    // a crash; the room is renamed while both are open.
    let writer = |sub: &str| {
        let spec = SegmentSpec {
            room: room_ref_for(&rig.config, "bilibili:100"),
            session: session.clone(),
            intents: Some(store.clone()),
            ..SegmentSpec::plain(rig.config.output_dir.join(sub), template.clone())
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut files = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
        // Under a `.bin` name recovery keeps the bytes as they are.
        files.set_extension("bin");
        files.write(b"some recorded bytes").unwrap();
        (files, rx)
    };
    let (mut live, mut live_rx) = writer("live");
    let (mut cut, _cut_rx) = writer("cut");
    let renamed = RoomRef {
        name: "alicia".into(),
        ..room_ref_for(&rig.config, "bilibili:100")
    };
    live.set_room(renamed.clone());
    cut.set_room(renamed.clone());

    live.close(None).unwrap();
    let live_event = std::iter::from_fn(|| live_rx.try_recv().ok())
        .find_map(|e| match e {
            WriterEvent::Closed(e) => Some(e),
            _ => None,
        })
        .unwrap();
    store.settle(live_event.id);
    // The crash: what the writer handed to the OS stays, the segment is never closed, and
    // the process's intent locks go.
    cut.flush().unwrap();
    drop((cut, live, store));

    let (store, events) = rig.recover(&HashSet::new());
    assert_eq!(events.len(), 1, "{events:?}");
    let recovered = &events[0];
    assert_eq!(recovered.room.as_ref(), Some(&renamed));
    assert_eq!(recovered.room, live_event.room);
    assert_eq!(recovered.session, live_event.session);
    let (r, l) = (
        recovered.segment.as_ref().unwrap(),
        live_event.segment.as_ref().unwrap(),
    );
    assert_eq!((r.index, r.recovered, l.recovered), (1, true, false));
    assert_eq!(r.path, rig.config.output_dir.join("cut/alice/1.bin"));
    store.settle(recovered.id);
}
