//! Start-up recovery: leftovers of a crash become finished segments, each with its
//! `segment_complete`, about the right room.
//!
//! Two kinds of leftovers, both found before any room starts:
//! - segment intents whose file was renamed but whose event never reached the hook journal
//!   (a crash in that window): the event is raised now, with the id it would have had;
//! - `.part` files no live process is writing: repaired and renamed, with a
//!   `"recovered": true` event. Their room, session and index come from the segment's intent;
//!   for a `.part` written before intents existed (or whose intent was lost), from the room lock
//!   that names it, else from a file name template that names only one configured room, else
//!   the event has no room (and a hook limited by `rooms` does not get it).
//!
//! A recovered file gets an intent before its rename, like any segment, so a crash during
//! recovery loses nothing either (see `segment::intent`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Local};
use uuid::Uuid;

use super::leftovers::{self, Outcome};
use super::owner::room_of_part;
use crate::config::Config;
use crate::event::{Event, EventTx, EventType, SegmentRef};
use crate::segment::intent::{self, Intent, Intents, Leftover, Stage};

/// Raises the events of every leftover. `journaled` holds the ids of the events the hook
/// journal had at start-up: those are never raised again.
pub(crate) async fn recover_leftovers(
    config: &Config,
    events: &EventTx,
    intents: &Arc<Intents>,
    journaled: HashSet<Uuid>,
) {
    let config = config.clone();
    let store = intents.clone();
    let raised = tokio::task::spawn_blocking(move || recover(&config, &store, &journaled))
        .await
        .unwrap_or_default();
    for event in raised {
        events.emit(event);
    }
}

fn recover(config: &Config, store: &Intents, journaled: &HashSet<Uuid>) -> Vec<Event> {
    let mut raised = Vec::new();
    let mut by_part: HashMap<PathBuf, Leftover> = HashMap::new();
    for l in store.leftovers() {
        if l.intent.part.exists() {
            by_part.insert(l.intent.part.clone(), l);
        } else if let Some(event) = finished_before_the_crash(store, l, journaled) {
            raised.push(event);
        }
    }

    let mut prepared: HashMap<PathBuf, Intent> = HashMap::new();
    let outcomes = leftovers::recover_all(
        &config.output_dir,
        &config.state_dir,
        &config.lock_dir,
        &mut |part, lock_key, meta| {
            let leftover = by_part.remove(part);
            let intent = prepare(config, store, leftover, part, lock_key, meta);
            prepared.insert(part.to_path_buf(), intent);
        },
    );
    for outcome in outcomes {
        match outcome {
            Outcome::Recovered(r) => {
                let Some(intent) = prepared.remove(&r.part) else {
                    continue;
                };
                for (n, f) in r.files.into_iter().enumerate() {
                    tracing::info!(file = %f.path.display(), bytes = f.bytes, "recovered a segment left by a crash");
                    let mut event = intent.event.clone();
                    if n > 0 {
                        // A foreign file re-muxed into several: one event each.
                        event.id = Uuid::new_v4();
                    }
                    if let Some(s) = event.segment.as_mut() {
                        s.path = f.path;
                        s.bytes = f.bytes;
                    }
                    raised.push(event);
                }
            }
            Outcome::RemovedEmpty(p) => {
                if let Some(i) = prepared.remove(&p) {
                    store.settle(i.id());
                }
                tracing::info!(file = %p.display(), "removed an empty leftover file")
            }
            Outcome::InUse(p) => {
                tracing::info!(file = %p.display(), "left alone: another process is writing it")
            }
            Outcome::Failed(p, e) => {
                // Its intent stays, for the next start.
                tracing::error!(file = %p.display(), "cannot recover: {e}; try `liverec repair`")
            }
        }
    }
    // Intents of parts removed before repair (empty ones) need nothing more; those of parts in
    // use elsewhere are left for their owner.
    for (part, l) in by_part {
        if !part.exists() {
            store.discard(l);
        }
    }
    raised
}

/// An intent whose `.part` is gone: the rename happened (or the file never got a byte).
fn finished_before_the_crash(
    store: &Intents,
    l: Leftover,
    journaled: &HashSet<Uuid>,
) -> Option<Event> {
    if l.intent.stage == Stage::Open || journaled.contains(&l.intent.id()) {
        // Never renamed (an empty segment is removed, not renamed), or its event is safe.
        store.discard(l);
        return None;
    }
    let Some(path) = l.intent.find_final() else {
        tracing::warn!(
            part = %l.intent.part.display(),
            "a segment finished just before a crash is no longer under any of its names (moved or deleted?): no segment_complete for it"
        );
        store.discard(l);
        return None;
    };
    tracing::info!(
        file = %path.display(),
        "segment finished just before a crash; its segment_complete never reached the hook journal: raising it now"
    );
    let bytes = std::fs::metadata(&path).map(|m| m.len()).ok();
    let mut event = store.adopt(l).event;
    if let Some(s) = event.segment.as_mut() {
        s.path = path;
        s.bytes = bytes.unwrap_or(s.bytes);
    }
    Some(event)
}

/// Records the intent of a `.part` about to be repaired and renamed: its leftover intent if it
/// has one, else one made from what the lock file or the file name say.
fn prepare(
    config: &Config,
    store: &Intents,
    leftover: Option<Leftover>,
    part: &Path,
    lock_key: Option<&str>,
    meta: &std::fs::Metadata,
) -> Intent {
    let (dev, ino) = intent::identity(meta);
    let written = meta.modified().ok().map(local_time);
    let mut intent = match leftover {
        Some(l) => store.adopt(l),
        None => {
            let room = room_of_part(config, part, lock_key);
            let start = meta
                .created()
                .ok()
                .map(local_time)
                .or(written)
                .unwrap_or_else(crate::event::now);
            Intent {
                stage: Stage::Open,
                part: part.to_path_buf(),
                dev,
                ino,
                event: Event::new(EventType::SegmentComplete, room).with_segment(SegmentRef {
                    path: part.to_path_buf(),
                    // Unknown: the index (from 1) of the files a session began.
                    index: 1,
                    bytes: meta.len(),
                    duration_s: 0.0,
                    start,
                    end: start,
                    recovered: true,
                }),
            }
        }
    };
    if let Some(s) = intent.event.segment.as_mut() {
        s.recovered = true;
        if intent.stage == Stage::Open {
            // The writer never closed it: it ended at its last write, and without the media
            // the wall-clock time is the best duration there is.
            s.end = written.unwrap_or(s.end);
            s.duration_s = ((s.end - s.start).num_milliseconds().max(0) as f64) / 1000.0;
        }
    }
    intent.stage = Stage::Closing;
    intent.dev = dev;
    intent.ino = ino;
    if let Err(e) = store.update(&intent) {
        tracing::warn!(
            file = %part.display(),
            "cannot record the recovery in {} ({e}): a crash now could lose its segment_complete",
            store.dir().display()
        );
    }
    intent
}

fn local_time(t: std::time::SystemTime) -> DateTime<FixedOffset> {
    DateTime::<Local>::from(t).fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SessionRef;
    use crate::platform::{PlatformKind, RoomKey};
    use crate::recovery::owner::room_ref_for;
    use crate::room::lock::{Acquire, RoomLock};
    use crate::segment::part::{rename_no_replace, split_part_name};

    struct Rig {
        dir: tempfile::TempDir,
        config: Config,
    }

    impl Rig {
        /// alice and bob on Bilibili (numbers: maybe short ids); carol, a direct stream with a
        /// `{name}`-based template.
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
    fn a_part_without_an_intent_is_routed_by_its_lock_or_template_or_not_at_all() {
        let rig = Rig::new();
        // Named by alice's lock file (a dead holder): alice, although her URL is a number that
        // might be a short id.
        let by_lock = rig.part("bilibili/Alice/a.bin.part");
        let key = RoomKey::new(PlatformKind::Bilibili, "100");
        let Acquire::Held(mut l) = RoomLock::try_acquire(&rig.config.lock_dir, &key, "s").unwrap()
        else {
            panic!()
        };
        l.set_part(Some(&by_lock));
        drop(l);
        // bob's template names his id; carol's her name.
        let by_id = rig.part("bilibili/200/title.bin.part");
        let by_name = rig.part("carol/title_2.bin.part");
        // The default template names only platform and streamer: nobody's for sure.
        let unknown = rig.part("bilibili/Someone/2026-01-01/Someone_x.bin.part");
        let (store, events) = rig.recover(&HashSet::new());
        assert_eq!(events.len(), 4, "{events:?}");
        let of = |p: &Path| {
            let done = split_part_name(p).unwrap().0.with_extension("bin");
            events
                .iter()
                .find(|e| e.segment.as_ref().unwrap().path == done)
                .unwrap_or_else(|| panic!("no event for {done:?}: {events:?}"))
        };
        let room = |p: &Path| of(p).room.as_ref().map(|r| (r.key.clone(), r.name.clone()));
        assert_eq!(
            room(&by_lock),
            Some(("bilibili:100".into(), "alice".into()))
        );
        assert_eq!(room(&by_id), Some(("bilibili:200".into(), "bob".into())));
        let carol = room(&by_name).unwrap();
        assert!(
            carol.0.starts_with("direct:") && carol.1 == "carol",
            "{carol:?}"
        );
        assert_eq!(room(&unknown), None);
        for p in [&by_lock, &by_id, &by_name, &unknown] {
            let s = of(p).segment.as_ref().unwrap();
            assert!(s.recovered && s.index == 1 && s.bytes == 19, "{s:?}");
            store.settle(of(p).id);
        }
        assert_eq!(rig.intent_files(), 0);
    }
}
