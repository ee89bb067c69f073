//! Start-up recovery: leftovers of a crash become finished segments, each with its
//! `segment_complete`, about the right room.
//!
//! Two kinds of leftovers, both found before any room starts:
//! - segment intents whose file was renamed but whose event never reached the hook journal
//!   (a crash in that window): the event is raised now, with the id it would have had;
//! - `.part` files no live process is writing: repaired and renamed, with a
//!   `"recovered": true` event. Their room, session and index come from the segment's intent;
//!   for a `.part` whose intent could not be written, the room from the room lock that names
//!   it, else the event has no room (and a hook limited by `rooms` does not get it).
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
    let videos: HashMap<PathBuf, PathBuf> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Recovered(r) => Some((r.part.clone(), r.files.first()?.path.clone())),
            _ => None,
        })
        .collect();
    let mut chats = super::chat::recover_chat(&config.output_dir, &config.state_dir, &videos);
    for outcome in outcomes {
        match outcome {
            Outcome::Recovered(r) => {
                let Some(intent) = prepared.remove(&r.part) else {
                    continue;
                };
                let chat = chats.remove(&r.part);
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
                        if n == 0 {
                            s.danmaku = chat.clone();
                        }
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
/// has one, else one made from what the lock file says.
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
                    danmaku: None,
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
mod tests;
