//! The file-system side of retention, run on the blocking pool: which ledger segments are
//! still the files liverec wrote, deleting one (intent first, so `kill -9` loses nothing), and
//! finishing the deletions a crash interrupted.
//!
//! One deletion: `deleting` (with the id of its `segment_deleted`) is fsynced into the ledger,
//! the file (and its chat file) is unlinked and the folder synced, the event is raised; the
//! dispatcher writes `deleted` once the event is journaled. A restart finds a `deleting`
//! without `deleted`: it unlinks what is left (only if it is still the same file) and raises
//! the event with the same id, unless the journal already holds it. Never lost, never doubled.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::plan::Entry;
use crate::event::{DeletionRef, Event, EventType};
use crate::hooks::ledger::{Deleting, FileId, Ledger, LedgerSegment};

/// Set only by tests: `<stage>:<marker file>` makes a deletion stop for good at `stage`
/// (`before_unlink`, `after_unlink`) after creating the marker, so a test can `kill -9` there.
const PAUSE_ENV: &str = "LIVEREC_TEST_RETENTION_PAUSE";

/// Whether `seg` may be considered at all: a finished file (never a `.part`) under
/// `output_dir`, still the very file liverec wrote (same inode, size and time). `Err` when the
/// file is gone (the caller forgets it).
pub(crate) fn still_ours(seg: &LedgerSegment, output_dir: &Path) -> Result<bool, ()> {
    let path = &seg.segment.path;
    let part = path.extension().is_some_and(|e| e == "part");
    if part || !path.starts_with(output_dir) {
        return Ok(false);
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(m.is_file() && seg.file == Some(FileId::of(&m))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(()),
        // Unreadable now (a stuck mount?): keep it, look again next pass.
        Err(_) => Ok(false),
    }
}

fn pause(stage: &str) {
    let Ok(v) = std::env::var(PAUSE_ENV) else {
        return;
    };
    let Some((at, marker)) = v.split_once(':') else {
        return;
    };
    if at == stage {
        let _ = std::fs::write(marker, stage);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

fn unlink(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The `segment_deleted` event of `seg`, with the id its `deleting` record named.
pub(crate) fn deleted_event(seg: &LedgerSegment, d: &Deleting) -> Event {
    let mut e = Event::new(EventType::SegmentDeleted, seg.room.clone())
        .with_session(seg.session.clone())
        .with_segment(seg.segment.clone());
    e.id = d.event;
    e.deletion = Some(DeletionRef {
        reason: d.reason.clone(),
        age_s: (d.at - seg.segment.end).num_seconds().max(0) as u64,
        danmaku_path: d.chat.clone(),
    });
    e
}

/// Deletes the segment of `entry` (and its chat file with `chat`); returns its event to raise.
pub(crate) fn delete(
    ledger: &Ledger,
    seg: &LedgerSegment,
    entry: &Entry,
    output_dir: &Path,
    chat: bool,
) -> Result<Event, String> {
    match still_ours(seg, output_dir) {
        Ok(true) => {}
        Ok(false) => return Err("it is no longer the file liverec wrote; kept".into()),
        Err(()) => {
            let _ = ledger.forget(seg.event);
            return Err("it is gone already (moved or deleted by other hands)".into());
        }
    }
    let deleting = Deleting {
        event: Uuid::new_v4(),
        reason: entry.reason.as_str().to_string(),
        at: crate::event::now(),
        chat: seg
            .segment
            .danmaku
            .as_ref()
            .map(|d| d.path.clone())
            .filter(|_| chat),
    };
    ledger.deleting(seg.event, deleting.clone()).map_err(|e| {
        format!(
            "cannot record the deletion in {}: {e}; kept",
            ledger.path().display()
        )
    })?;
    pause("before_unlink");
    remove_files(&seg.segment.path, deleting.chat.as_deref())?;
    pause("after_unlink");
    Ok(deleted_event(seg, &deleting))
}

fn remove_files(video: &Path, chat: Option<&Path>) -> Result<(), String> {
    unlink(video).map_err(|e| format!("cannot delete {}: {e}", video.display()))?;
    if let Some(c) = chat {
        if let Err(e) = unlink(c) {
            tracing::warn!("cannot delete the chat file {}: {e}", c.display());
        }
    }
    if let Some(dir) = video.parent() {
        crate::util::fs::sync_dir(dir);
    }
    Ok(())
}

/// Finishes the deletions a crash interrupted: the events to raise (those the journal did not
/// hold at start-up, `journaled`); those it held are marked deleted at once.
pub(crate) fn finish_interrupted(ledger: &Ledger, journaled: &HashSet<Uuid>) -> Vec<Event> {
    let mut raise = Vec::new();
    for seg in ledger.segments() {
        let Some(d) = seg.deleting.clone() else {
            continue;
        };
        let room = seg.room.as_ref().map(|r| r.key.as_str()).unwrap_or("-");
        if journaled.contains(&d.event) {
            if let Err(e) = ledger.deleted(d.event) {
                tracing::error!(room, "cannot write {}: {e}", ledger.path().display());
            }
            continue;
        }
        // Still there and still ours: the crash came before the unlink.
        let chat: Option<PathBuf> = d.chat.clone();
        let same = std::fs::symlink_metadata(&seg.segment.path)
            .is_ok_and(|m| seg.file == Some(FileId::of(&m)));
        if same {
            if let Err(e) = remove_files(&seg.segment.path, chat.as_deref()) {
                tracing::error!(room, "retention: {e}; the next start tries again");
                continue;
            }
        } else if let Some(c) = &chat {
            let _ = unlink(c);
        }
        tracing::info!(
            room,
            "retention: finished deleting {} (interrupted by a crash)",
            seg.segment.path.display()
        );
        raise.push(deleted_event(&seg, &d));
    }
    raise
}
