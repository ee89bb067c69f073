//! The delivery journal: append-only JSON lines in `state_dir`, so that no delivery is lost to a
//! crash, a restart or `kill -9`.
//!
//! ```text
//! {"op":"add","id":"…","target":"upload","attempts":0,"event":{…}}   before the first attempt (fsynced)
//! {"op":"failed","id":"…","attempt":1,"error":"exit status 1"}     after a failed attempt
//! {"op":"done","id":"…"}                                           after success (fsynced)
//! {"op":"gave_up","id":"…","error":"…"}                            retries exhausted (fsynced)
//! {"op":"dropped","id":"…","reason":"…"}                           written by older versions only
//! ```
//! A delivery is pending from its `add` until its `done`, `gave_up` or `dropped`. Replaying the
//! file gives the pending deliveries in the order they were added. A line that is not a record (a
//! write torn by `kill -9` or a full disk) is skipped with a warning naming its line.
//!
//! Only the *index* of pending deliveries is kept in memory (id, hook, where its line is); the
//! events themselves are read back from the file when an attempt starts, so a long backlog (a
//! hook whose window is closed, an upload that takes hours) costs disk, not RAM.
//!
//! The file is compacted at start-up and whenever it has grown past [`COMPACT_AT`] and to more
//! than twice its live data: the pending records are written to a temporary file, which is
//! fsynced and renamed over the journal.
//!
//! One process writes a journal: it holds an OS lock on `<journal>.lock`. Instances sharing a
//! `state_dir` (on shared storage, with a shared `lock_dir`) each take the first free journal
//! (`hooks.journal`, `hooks.1.journal`, …), and a restarted instance finds its own again.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use fs2::FileExt as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{Event, EventType};

/// Size past which the journal is compacted (when at most half of it is live).
pub(crate) const COMPACT_AT: u64 = 1 << 20;
/// Journals tried in one `state_dir` before giving up (instances sharing it).
const SLOTS: usize = 16;
/// A line longer than this is not one of ours; it is skipped without being held in memory.
const MAX_LINE: usize = 8 << 20;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Add {
        id: Uuid,
        target: String,
        #[serde(default)]
        attempts: u32,
        event: Box<Event>,
    },
    Failed {
        id: Uuid,
        attempt: u32,
    },
    Done {
        id: Uuid,
    },
    GaveUp {
        id: Uuid,
    },
    Dropped {
        id: Uuid,
    },
}

#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Out<'a> {
    Add {
        id: Uuid,
        target: &'a str,
        attempts: u32,
        event: &'a Event,
    },
    Failed {
        id: Uuid,
        attempt: u32,
        error: &'a str,
    },
    Done {
        id: Uuid,
    },
    GaveUp {
        id: Uuid,
        error: &'a str,
    },
}

fn line(out: &Out<'_>) -> Vec<u8> {
    // Serialising our own types to JSON cannot fail (string keys, no non-finite floats: a NaN
    // duration would become null and fail to replay, so it is guarded where events are made).
    let mut v = serde_json::to_vec(out).unwrap_or_default();
    v.push(b'\n');
    v
}

/// A pending delivery as the journal knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: Uuid,
    pub(crate) target: String,
    /// The room key of its event ("" for events about no room).
    pub(crate) room: String,
    pub(crate) kind: EventType,
    /// Failed attempts so far.
    pub(crate) attempts: u32,
}

/// Where a pending delivery's event is.
#[derive(Debug)]
enum Stored {
    /// The `add` line at this offset.
    File { offset: u64, len: usize },
    /// The journal could not be written (full disk): held here until a compaction writes it.
    Memory(Box<Event>),
}

#[derive(Debug)]
struct Live {
    seq: u64,
    target: String,
    attempts: u32,
    stored: Stored,
}

/// One delivery to record.
pub struct NewDelivery<'a> {
    pub id: Uuid,
    pub target: &'a str,
    pub event: &'a Event,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    _lock: File,
    size: u64,
    live: HashMap<Uuid, Live>,
    next_seq: u64,
    /// Bytes of `live` entries' lines in the file.
    live_bytes: u64,
    /// The id of every event the file held when it was opened, done or not (until taken).
    replayed: HashSet<Uuid>,
}

impl Journal {
    /// Opens (creating) the first free journal in `dir`, replays it, compacts it, and returns
    /// the pending deliveries in the order they were added.
    pub fn open(dir: &Path) -> io::Result<(Self, Vec<Pending>)> {
        for slot in 0..SLOTS {
            let name = match slot {
                0 => "hooks.journal".to_string(),
                n => format!("hooks.{n}.journal"),
            };
            let path = dir.join(name);
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path.with_extension("journal.lock"))?;
            match lock.try_lock_exclusive() {
                Ok(()) => return Self::open_locked(path, lock),
                Err(e) if crate::util::fs::is_contended(&e) => {
                    tracing::info!(
                        "{} is used by another liverec; trying the next journal",
                        path.display()
                    );
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "all {SLOTS} hook journals in {} are in use by other liverec processes",
            dir.display()
        )))
    }

    fn open_locked(path: PathBuf, lock: File) -> io::Result<(Self, Vec<Pending>)> {
        let tmp = tmp_path(&path);
        let _ = std::fs::remove_file(&tmp);
        let (entries, order, replayed) = match File::open(&path) {
            Ok(f) => replay(&path, f)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (HashMap::new(), Vec::new(), HashSet::new())
            }
            Err(e) => return Err(e),
        };
        // Write the pending records into a fresh file (this also drops any torn tail, so the
        // next append starts on a line of its own).
        let mut pending = Vec::new();
        let mut body = Vec::new();
        let mut live = HashMap::new();
        for (seq, id) in order.into_iter().enumerate() {
            let Some((target, attempts, event)) = entries.get(&id) else {
                continue;
            };
            let offset = body.len() as u64;
            body.extend(line(&Out::Add {
                id,
                target,
                attempts: *attempts,
                event,
            }));
            live.insert(
                id,
                Live {
                    seq: seq as u64,
                    target: target.clone(),
                    attempts: *attempts,
                    stored: Stored::File {
                        offset,
                        len: body.len() - offset as usize,
                    },
                },
            );
            pending.push(Pending {
                id,
                target: target.clone(),
                room: room_of(event),
                kind: event.kind,
                attempts: *attempts,
            });
        }
        let file = replace_file(&path, &body)?;
        let journal = Self {
            path,
            file,
            _lock: lock,
            size: body.len() as u64,
            next_seq: live.len() as u64,
            live_bytes: body.len() as u64,
            live,
            replayed,
        };
        Ok((journal, pending))
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The segment ledger that goes with this journal (`hooks.ledger` for `hooks.journal`),
    /// covered by the same lock.
    pub(crate) fn ledger_path(&self) -> PathBuf {
        self.path.with_extension("ledger")
    }

    /// The ids of every event the journal held when it was opened, whether its deliveries were
    /// pending or already done: the events a crash did not lose. Taken once (start-up recovery
    /// asks); empty afterwards.
    pub(crate) fn take_replayed_events(&mut self) -> HashSet<Uuid> {
        std::mem::take(&mut self.replayed)
    }

    /// Pending deliveries recorded.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// Records new deliveries and syncs them to disk before returning. On a write error they
    /// are kept in memory (and written by the next successful compaction), and the error is
    /// returned for the log: the deliveries still happen, but a crash before then loses them.
    pub fn add(&mut self, new: &[NewDelivery<'_>]) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut at = Vec::new();
        for d in new {
            let start = buf.len();
            buf.extend(line(&Out::Add {
                id: d.id,
                target: d.target,
                attempts: 0,
                event: d.event,
            }));
            at.push((start, buf.len() - start));
        }
        let result = self.append(&buf, true);
        for (d, (start, len)) in new.iter().zip(at) {
            let stored = match &result {
                Ok(offset) => Stored::File {
                    offset: offset + start as u64,
                    len,
                },
                Err(_) => Stored::Memory(Box::new(d.event.clone())),
            };
            let seq = self.next_seq;
            self.next_seq += 1;
            self.live.insert(
                d.id,
                Live {
                    seq,
                    target: d.target.to_string(),
                    attempts: 0,
                    stored,
                },
            );
        }
        if result.is_ok() {
            self.live_bytes += buf.len() as u64;
            self.maybe_compact();
        }
        result.map(|_| ())
    }

    /// Records a failed attempt (not synced: losing it costs one extra attempt after a crash).
    pub(crate) fn failed(&mut self, id: Uuid, attempt: u32, error: &str) -> io::Result<()> {
        let Some(live) = self.live.get_mut(&id) else {
            return Ok(());
        };
        live.attempts = live.attempts.max(attempt);
        if matches!(live.stored, Stored::Memory(_)) {
            return Ok(());
        }
        self.append(&line(&Out::Failed { id, attempt, error }), false)
            .map(|_| ())
    }

    /// The delivery succeeded.
    pub fn done(&mut self, id: Uuid) -> io::Result<()> {
        self.finish(id, &Out::Done { id })
    }

    /// The delivery ran out of retries.
    pub(crate) fn gave_up(&mut self, id: Uuid, error: &str) -> io::Result<()> {
        self.finish(id, &Out::GaveUp { id, error })
    }

    fn finish(&mut self, id: Uuid, record: &Out<'_>) -> io::Result<()> {
        let Some(live) = self.live.remove(&id) else {
            return Ok(());
        };
        match live.stored {
            Stored::File { len, .. } => self.live_bytes -= len as u64,
            // Never written: nothing to mark.
            Stored::Memory(_) => return Ok(()),
        }
        self.append(&line(record), true)?;
        self.maybe_compact();
        Ok(())
    }

    /// Syncs what was appended without a sync (failed attempts).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// The event of a pending delivery, read back from the file.
    pub(crate) fn event(&self, id: Uuid) -> io::Result<Event> {
        let live = self
            .live
            .get(&id)
            .ok_or_else(|| io::Error::other(format!("delivery {id} is not pending")))?;
        match &live.stored {
            Stored::Memory(e) => Ok((**e).clone()),
            Stored::File { offset, len } => {
                let mut buf = vec![0; *len];
                self.file.read_exact_at(&mut buf, *offset)?;
                match serde_json::from_slice::<Record>(&buf) {
                    Ok(Record::Add { event, .. }) => Ok(*event),
                    Ok(_) => Err(io::Error::other("the journal line is not an add record")),
                    Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
            }
        }
    }

    /// Appends `bytes` at the end; returns the offset they start at. A failed write is cut off
    /// again, so the next record starts on a line of its own.
    fn append(&mut self, bytes: &[u8], sync: bool) -> io::Result<u64> {
        let offset = self.size;
        let result = self
            .file
            .write_all(bytes)
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        match result {
            Ok(()) => {
                self.size += bytes.len() as u64;
                Ok(offset)
            }
            Err(e) => {
                if self.file.set_len(offset).is_err() {
                    // Cannot cut it: make sure the next record starts after a line break.
                    let _ = self.file.write_all(b"\n");
                    self.size = self.file.metadata().map(|m| m.len()).unwrap_or(offset);
                }
                Err(e)
            }
        }
    }

    fn maybe_compact(&mut self) {
        let memory = self
            .live
            .values()
            .any(|l| matches!(l.stored, Stored::Memory(_)));
        if memory || (self.size > COMPACT_AT && self.size > 2 * self.live_bytes) {
            if let Err(e) = self.compact() {
                tracing::warn!("cannot compact {}: {e}", self.path.display());
            }
        }
    }

    /// Rewrites the journal with only the pending deliveries, in order.
    pub(crate) fn compact(&mut self) -> io::Result<()> {
        let mut ids: Vec<(u64, Uuid)> = self.live.iter().map(|(id, l)| (l.seq, *id)).collect();
        ids.sort_unstable();
        let mut body = Vec::new();
        let mut placed = Vec::with_capacity(ids.len());
        for (_, id) in ids {
            let event = self.event(id)?;
            let live = &self.live[&id];
            let offset = body.len();
            body.extend(line(&Out::Add {
                id,
                target: &live.target,
                attempts: live.attempts,
                event: &event,
            }));
            placed.push((id, offset, body.len() - offset));
        }
        let before = self.size;
        self.file = replace_file(&self.path, &body)?;
        self.size = body.len() as u64;
        self.live_bytes = self.size;
        for (id, offset, len) in placed {
            if let Some(l) = self.live.get_mut(&id) {
                l.stored = Stored::File {
                    offset: offset as u64,
                    len,
                };
            }
        }
        tracing::debug!(
            "compacted {}: {before} -> {} bytes, {} pending",
            self.path.display(),
            self.size,
            self.live.len()
        );
        Ok(())
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    path.with_extension("journal.tmp")
}

fn room_of(event: &Event) -> String {
    event
        .room
        .as_ref()
        .map(|r| r.key.clone())
        .unwrap_or_default()
}

/// Writes `body` to a temporary file, syncs it, renames it over `path` and syncs the folder;
/// returns `path` opened for appending.
fn replace_file(path: &Path, body: &[u8]) -> io::Result<File> {
    let tmp = tmp_path(path);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().read(true).append(true).open(path)
}

type Replayed = (
    HashMap<Uuid, (String, u32, Box<Event>)>,
    Vec<Uuid>,
    HashSet<Uuid>,
);

/// Reads every record of a journal file: the pending deliveries, and their ids in order.
fn replay(path: &Path, file: File) -> io::Result<Replayed> {
    let mut reader = BufReader::new(file);
    let mut entries: HashMap<Uuid, (String, u32, Box<Event>)> = HashMap::new();
    let mut order = Vec::new();
    let mut events = HashSet::new();
    let mut buf = Vec::new();
    let mut number = 0usize;
    let mut skipped = 0usize;
    loop {
        buf.clear();
        number += 1;
        let (read, whole) = read_line(&mut reader, &mut buf)?;
        if read == 0 {
            break;
        }
        if !whole {
            tracing::warn!(
                "{}:{number}: skipped a line longer than {MAX_LINE} bytes (not a journal record)",
                path.display()
            );
            skipped += 1;
            continue;
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(Record::Add {
                id,
                target,
                attempts,
                event,
            }) => {
                events.insert(event.id);
                if entries.contains_key(&id) {
                    tracing::warn!(
                        "{}:{number}: delivery {id} is recorded twice; the first is kept",
                        path.display()
                    );
                    continue;
                }
                order.push(id);
                entries.insert(id, (target, attempts, event));
            }
            Ok(Record::Failed { id, attempt }) => {
                if let Some(e) = entries.get_mut(&id) {
                    e.1 = e.1.max(attempt);
                }
            }
            Ok(Record::Done { id } | Record::GaveUp { id } | Record::Dropped { id }) => {
                entries.remove(&id);
            }
            Err(e) => {
                skipped += 1;
                tracing::warn!(
                    "{}:{number}: skipped a line that is not a journal record (a write cut short by a crash?): {e}",
                    path.display()
                );
            }
        }
    }
    if skipped > 0 {
        tracing::warn!(
            "{}: {skipped} line(s) skipped; {} pending deliveries recovered",
            path.display(),
            entries.len()
        );
    }
    Ok((entries, order, events))
}

/// Reads one line (without holding more than [`MAX_LINE`] bytes of it). Returns the bytes
/// consumed and whether the line was kept whole.
pub(super) fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<(usize, bool)> {
    let mut read = 0;
    let mut whole = true;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((read, whole));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if whole && buf.len() + take <= MAX_LINE {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            whole = false;
            buf.clear();
        }
        reader.consume(take);
        read += take;
        if done {
            return Ok((read, whole));
        }
    }
}

#[cfg(test)]
mod tests;
