//! The segment ledger: which finished segments liverec wrote, which hooks each `segment_complete`
//! went to and how each delivery ended, and the deletions retention has begun. Retention reads
//! it to know that a file is safe to delete; the hook journal cannot tell, because it forgets a
//! delivery once it is done.
//!
//! Append-only JSON lines beside the journal (`hooks.ledger` for `hooks.journal`):
//! ```text
//! {"op":"segment","event":"…","room":{…},"session":{…},"segment":{…},"file":[dev,ino],"deliveries":[{"id":"…","target":"upload"}]}
//! {"op":"done","delivery":"…"}          a delivery succeeded (written before the journal's `done`)
//! {"op":"gave_up","delivery":"…"}       a delivery ran out of retries (before the journal's)
//! {"op":"deleting","segment":"…","event":"…","reason":"age","at":"…"}   before the unlink
//! {"op":"deleted","event":"…"}          the `segment_deleted` event is journaled: the segment is gone
//! {"op":"forget","segment":"…"}         the file went away by other hands
//! {"op":"release","segment":"…"}        an operator lets it go although a delivery gave up
//! ```
//! An outcome is written before the journal's line, so a crash between the two leaves a delivery
//! the journal still holds as pending: it runs again, and the dispatcher (which knows what is
//! pending) keeps the segment from being deleted meanwhile. The other order could let a delivery
//! run again on a file already deleted.
//!
//! The whole ledger is held in memory (a few hundred bytes per file kept on disk); it is
//! compacted at start-up and when more than half of its lines are dead.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::journal::read_line;
use crate::event::{Event, RoomRef, SegmentRef, SessionRef};

/// Dead lines past which the ledger is compacted (when they are also more than the live ones).
const COMPACT_DEAD: usize = 1024;

/// How one delivery of a segment's `segment_complete` ended, as far as the ledger knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// Not finished (or its end was lost to a crash: the journal then still has it pending).
    #[default]
    Open,
    Done,
    GaveUp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LedgerDelivery {
    pub(crate) id: Uuid,
    pub(crate) target: String,
    #[serde(default, skip_serializing_if = "is_open")]
    pub(crate) outcome: Outcome,
}

fn is_open(o: &Outcome) -> bool {
    *o == Outcome::Open
}

/// A deletion begun: the `segment_deleted` event it raises has this id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Deleting {
    pub(crate) event: Uuid,
    pub(crate) reason: String,
    pub(crate) at: DateTime<FixedOffset>,
    /// The chat file that goes with the segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chat: Option<PathBuf>,
}

/// What tells a file apart from another of the same name: device and inode (which a new file
/// may reuse at once), size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) len: u64,
    pub(crate) mtime_ns: i64,
}

impl FileId {
    pub(crate) fn of(m: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(m.mtime_nsec()),
        }
    }
}

/// A finished segment liverec wrote and has not deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LedgerSegment {
    /// The id of its `segment_complete`.
    pub(crate) event: Uuid,
    pub(crate) room: Option<RoomRef>,
    pub(crate) session: Option<SessionRef>,
    pub(crate) segment: SegmentRef,
    /// The file as its event found it: a file by the same name that is not this one (or that
    /// was changed since) is never deleted.
    pub(crate) file: Option<FileId>,
    pub(crate) deliveries: Vec<LedgerDelivery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deleting: Option<Deleting>,
    /// An operator let it go although a delivery gave up (`liverec retention --release`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) released: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Segment(Box<LedgerSegment>),
    Done {
        delivery: Uuid,
    },
    GaveUp {
        delivery: Uuid,
    },
    Deleting {
        segment: Uuid,
        #[serde(flatten)]
        deleting: Deleting,
    },
    Deleted {
        event: Uuid,
    },
    Forget {
        segment: Uuid,
    },
    Release {
        segment: Uuid,
    },
}

#[derive(Debug, Default)]
struct State {
    segments: HashMap<Uuid, LedgerSegment>,
    /// Delivery id -> segment event id.
    deliveries: HashMap<Uuid, Uuid>,
    /// `segment_deleted` event id -> segment event id.
    deletions: HashMap<Uuid, Uuid>,
    /// Lines in the file that no longer describe anything.
    dead: usize,
}

impl State {
    fn apply(&mut self, r: Record) {
        match r {
            Record::Segment(s) => {
                // Raised again after a crash (same event id): the newer deliveries count.
                if let Some(old) = self.segments.remove(&s.event) {
                    self.dead += 1;
                    for d in old.deliveries {
                        self.deliveries.remove(&d.id);
                    }
                }
                for d in &s.deliveries {
                    self.deliveries.insert(d.id, s.event);
                }
                if let Some(del) = &s.deleting {
                    self.deletions.insert(del.event, s.event);
                }
                self.segments.insert(s.event, *s);
            }
            Record::Done { delivery } => self.outcome(delivery, Outcome::Done),
            Record::GaveUp { delivery } => self.outcome(delivery, Outcome::GaveUp),
            Record::Deleting { segment, deleting } => {
                self.dead += 1;
                if let Some(s) = self.segments.get_mut(&segment) {
                    self.deletions.insert(deleting.event, segment);
                    s.deleting = Some(deleting);
                }
            }
            Record::Deleted { event } => {
                self.dead += 1;
                if let Some(seg) = self.deletions.remove(&event) {
                    self.remove(seg);
                }
            }
            Record::Forget { segment } => {
                self.dead += 1;
                self.remove(segment);
            }
            Record::Release { segment } => {
                self.dead += 1;
                if let Some(s) = self.segments.get_mut(&segment) {
                    s.released = true;
                }
            }
        }
    }

    fn outcome(&mut self, delivery: Uuid, outcome: Outcome) {
        self.dead += 1;
        let Some(seg) = self.deliveries.get(&delivery) else {
            return;
        };
        if let Some(d) = self
            .segments
            .get_mut(seg)
            .and_then(|s| s.deliveries.iter_mut().find(|d| d.id == delivery))
        {
            d.outcome = outcome;
        }
    }

    fn remove(&mut self, seg: Uuid) {
        if let Some(s) = self.segments.remove(&seg) {
            self.dead += 1;
            for d in s.deliveries {
                self.deliveries.remove(&d.id);
            }
            if let Some(del) = s.deleting {
                self.deletions.remove(&del.event);
            }
        }
    }
}

struct Inner {
    file: File,
    state: State,
}

pub(crate) struct Ledger {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl Ledger {
    /// Opens (creating) the ledger at `path`, replays and compacts it. The caller holds the
    /// journal's lock, which covers this file too.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let mut state = State::default();
        match File::open(path) {
            Ok(f) => replay(path, f, &mut state)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let file = rewrite(path, &state)?;
        state.dead = 0;
        Ok(Self {
            path: path.to_path_buf(),
            inner: Mutex::new(Inner { file, state }),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, r: Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(&r).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let written = inner
            .file
            .write_all(&line)
            .and_then(|()| inner.file.sync_data());
        // The state follows the record even when the write failed (a full disk): this run
        // acts on what really happened, and what a crash then loses only keeps a file longer.
        inner.state.apply(r);
        written?;
        let s = &inner.state;
        if s.dead > COMPACT_DEAD && s.dead > s.segments.len() {
            match rewrite(&self.path, &inner.state) {
                Ok(f) => {
                    inner.file = f;
                    inner.state.dead = 0;
                }
                Err(e) => tracing::warn!("cannot compact {}: {e}", self.path.display()),
            }
        }
        Ok(())
    }

    /// Records a `segment_complete` about to be journaled with these deliveries (`(id,
    /// target)`). Events about no file are ignored.
    pub(crate) fn segment(&self, event: &Event, deliveries: &[(Uuid, String)]) -> io::Result<()> {
        let Some(segment) = event.segment.clone() else {
            return Ok(());
        };
        let file = std::fs::metadata(&segment.path)
            .ok()
            .map(|m| FileId::of(&m));
        self.write(Record::Segment(Box::new(LedgerSegment {
            event: event.id,
            room: event.room.clone(),
            session: event.session.clone(),
            segment,
            file,
            deliveries: deliveries
                .iter()
                .map(|(id, target)| LedgerDelivery {
                    id: *id,
                    target: target.clone(),
                    outcome: Outcome::Open,
                })
                .collect(),
            deleting: None,
            released: false,
        })))
    }

    /// Records how a delivery ended; deliveries of other events are not in the ledger and are
    /// ignored.
    pub(crate) fn outcome(&self, delivery: Uuid, done: bool) -> io::Result<()> {
        let known = {
            let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.state.deliveries.contains_key(&delivery)
        };
        if !known {
            return Ok(());
        }
        self.write(if done {
            Record::Done { delivery }
        } else {
            Record::GaveUp { delivery }
        })
    }

    /// Records that segment `segment` is about to be deleted; its `segment_deleted` has the id
    /// in `deleting`.
    pub(crate) fn deleting(&self, segment: Uuid, deleting: Deleting) -> io::Result<()> {
        self.write(Record::Deleting { segment, deleting })
    }

    /// The `segment_deleted` event `event` is safely journaled (or nothing wanted it): its
    /// segment is gone from the ledger. Other events are ignored.
    pub(crate) fn deleted(&self, event: Uuid) -> io::Result<()> {
        let known = {
            let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.state.deletions.contains_key(&event)
        };
        if !known {
            return Ok(());
        }
        self.write(Record::Deleted { event })
    }

    /// The segment's file went away by other hands (moved by a hook, deleted by hand).
    pub(crate) fn forget(&self, segment: Uuid) -> io::Result<()> {
        self.write(Record::Forget { segment })
    }

    /// An operator lets segment `segment` go although a delivery of it gave up.
    pub(crate) fn release(&self, segment: Uuid) -> io::Result<()> {
        self.write(Record::Release { segment })
    }

    /// Every segment the ledger holds, oldest end first.
    pub(crate) fn segments(&self) -> Vec<LedgerSegment> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<LedgerSegment> = inner.state.segments.values().cloned().collect();
        v.sort_by(|a, b| (a.segment.end, &a.segment.path).cmp(&(b.segment.end, &b.segment.path)));
        v
    }
}

fn replay(path: &Path, file: File, state: &mut State) -> io::Result<()> {
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut number = 0usize;
    loop {
        buf.clear();
        number += 1;
        let (read, whole) = read_line(&mut reader, &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        let text = buf.trim_ascii();
        if !whole || text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(r) => state.apply(r),
            Err(e) => tracing::warn!(
                "{}:{number}: skipped a line that is not a ledger record (a write cut short by a crash?): {e}",
                path.display()
            ),
        }
    }
}

/// Writes the live segments into a fresh file, renamed over `path`; returns it for appending.
fn rewrite(path: &Path, state: &State) -> io::Result<File> {
    let mut segs: Vec<&LedgerSegment> = state.segments.values().collect();
    segs.sort_by_key(|s| (s.segment.end, s.event));
    let mut body = Vec::new();
    for s in segs {
        let r = Record::Segment(Box::new(s.clone()));
        body.extend(serde_json::to_vec(&r).map_err(io::Error::other)?);
        body.push(b'\n');
    }
    let tmp = path.with_extension("ledger.tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        crate::util::fs::sync_dir(dir);
    }
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests;
