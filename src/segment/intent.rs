//! Segment intents: what makes every finished segment get its `segment_complete`, even across
//! `kill -9`, and what lets a `.part` left by a crash find its room.
//!
//! The writer renames a segment from `.part` to its final name; its event then travels through
//! the supervisor and the event queue to the hook journal. A crash in between used to leave a
//! finished file that no event would ever name (start-up recovery only looks at `.part` files).
//! An intent, `<state_dir>/segments/<event id>.json`, closes that gap:
//!
//! - when a segment opens, a line records the `segment_complete` event it will raise (room,
//!   session, index, start) and its `.part` path;
//! - before the rename, a line with the final metadata and the file's identity (device and
//!   inode, which a rename keeps) is appended and fsynced;
//! - once the dispatcher has journaled the event (or no hook wanted it), the file is removed.
//!
//! **Invariant**: from the rename until the event is in the hook journal, an intent naming the
//! file's inode is on disk. At start-up an intent whose `.part` is gone has its event raised
//! (with the same id) unless the journal already holds that id, in which case it is only
//! removed. So a crash anywhere costs at most one late event, and the normal path raises each
//! event exactly once.
//!
//! The process that wrote an intent holds an OS lock on it until it settles it, so another
//! instance sharing `state_dir` never mistakes a live process's intents for leftovers. Intents
//! are bounded by the segments open or closing right now (plus, after a crash, its leftovers
//! until the next start).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fs2::FileExt as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::part::{rename_candidates, split_part_name};
use crate::event::Event;
use crate::util::fs::{is_contended, sync_dir};

/// An intent file larger than this is not one of ours.
const MAX_FILE: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The `.part` is being written.
    Open,
    /// Written and fsynced; the rename to the final name may have happened.
    Closing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub stage: Stage,
    pub part: PathBuf,
    /// The file's identity: a rename keeps it, so the finished file can be found under whichever
    /// free name the rename took (`name.flv`, `name_1.flv`…).
    pub dev: u64,
    pub ino: u64,
    /// The `segment_complete` to raise; its segment path is the `.part` until the rename.
    pub event: Event,
}

impl Intent {
    pub(crate) fn id(&self) -> Uuid {
        self.event.id
    }

    /// Where the file went after its rename, found by its identity; `None` when no candidate
    /// name holds it (moved or deleted since).
    pub(crate) fn find_final(&self) -> Option<PathBuf> {
        let (stem, ext) = split_part_name(&self.part)?;
        rename_candidates(&stem, &ext).find(|p| {
            std::fs::symlink_metadata(p)
                .is_ok_and(|m| m.is_file() && m.dev() == self.dev && m.ino() == self.ino)
        })
    }
}

/// The identity of an open file, for [`Intent::dev`] and [`Intent::ino`].
pub fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// The intents of this process, and the folder they live in.
#[derive(Debug)]
pub struct Intents {
    dir: PathBuf,
    /// Open (and locked) intent files of this process, by event id.
    held: Mutex<HashMap<Uuid, File>>,
}

/// An intent left by a process that is gone, locked by this one.
#[derive(Debug)]
pub(crate) struct Leftover {
    pub(crate) intent: Intent,
    path: PathBuf,
    file: File,
}

fn line(intent: &Intent) -> io::Result<Vec<u8>> {
    let mut v = serde_json::to_vec(intent).map_err(io::Error::other)?;
    v.push(b'\n');
    Ok(v)
}

impl Intents {
    /// Uses (creating) `dir`.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            held: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, File>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new intent, synced to disk; this process holds it until [`Intents::settle`].
    pub fn begin(&self, intent: &Intent) -> io::Result<()> {
        let path = self.path_of(intent.id());
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        // A brand-new file cannot be contended; without lock support the intent still works
        // for this process, only other instances cannot tell it is live.
        let _ = file.try_lock_exclusive();
        let written = file
            .write_all(&line(intent)?)
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        sync_dir(&self.dir);
        self.held().insert(intent.id(), file);
        Ok(())
    }

    /// Records the intent's new state, synced to disk. An intent this process does not hold
    /// (its `begin` failed) is begun now.
    pub(crate) fn update(&self, intent: &Intent) -> io::Result<()> {
        // A clone of the descriptor, so one room's fsync does not hold up the others.
        let file = self.held().get(&intent.id()).map(File::try_clone);
        match file {
            Some(f) => {
                let mut f = f?;
                f.write_all(&line(intent)?)?;
                f.sync_data()
            }
            None => self.begin(intent),
        }
    }

    /// The event is in the hook journal (or no hook wanted it): the intent is done. Ids this
    /// process does not hold are ignored.
    pub(crate) fn settle(&self, id: Uuid) {
        let Some(file) = self.held().remove(&id) else {
            return;
        };
        let path = self.path_of(id);
        if let Err(e) = std::fs::remove_file(&path) {
            // Harmless but for one repeated event after the next start; say why.
            tracing::warn!("cannot remove {}: {e}", path.display());
        }
        drop(file);
    }

    /// Whether this process holds the intent.
    pub(crate) fn holds(&self, id: Uuid) -> bool {
        self.held().contains_key(&id)
    }

    /// Intents left by processes that are gone (their lock is free), each locked now. An
    /// unreadable one (a crash while it was first written) is removed with a warning.
    pub(crate) fn leftovers(&self) -> Vec<Leftover> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| Uuid::parse_str(n).ok())
            else {
                continue;
            };
            if self.holds(id) {
                continue;
            }
            let Ok(file) = OpenOptions::new().read(true).append(true).open(&path) else {
                continue;
            };
            match file.try_lock_exclusive() {
                Ok(()) => {}
                Err(e) if is_contended(&e) => {
                    continue;
                }
                Err(_) => {}
            }
            match read_last(&file) {
                Some(intent) if intent.id() == id => out.push(Leftover { intent, path, file }),
                _ => {
                    tracing::warn!(
                        "{} is not a readable segment record (cut short by a crash?); removed",
                        path.display()
                    );
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        out.sort_by_key(|l| l.intent.event.time);
        out
    }

    /// Takes over a leftover: it is settled like this process's own once its event is
    /// journaled. Returns the intent for updating.
    pub(crate) fn adopt(&self, l: Leftover) -> Intent {
        self.held().insert(l.intent.id(), l.file);
        l.intent
    }

    /// Removes a leftover that needs nothing more.
    pub(crate) fn discard(&self, l: Leftover) {
        if let Err(e) = std::fs::remove_file(&l.path) {
            tracing::warn!("cannot remove {}: {e}", l.path.display());
        }
    }
}

/// The last whole, valid line of an intent file: each update is appended, so a torn last line
/// leaves the one before it.
fn read_last(file: &File) -> Option<Intent> {
    let mut text = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut text).ok()?;
    text.split(|&b| b == b'\n')
        .rev()
        .find_map(|l| serde_json::from_slice::<Intent>(l).ok())
}

#[cfg(test)]
mod tests;
