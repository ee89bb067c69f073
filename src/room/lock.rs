//! The per-room lock file: `<lock_dir>/<platform>-<id>.lock`, an exclusive OS lock (flock via
//! fs2) held for a whole session by the one process recording the room.
//!
//! The OS lock is the only truth. The text inside (host, pid, session, current file) is for
//! `status` and for matching leftover `.part` files to rooms; a dead process's text stays behind
//! but its lock is gone with it, so nothing can stay stuck.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fs2::FileExt;

use crate::platform::RoomKey;
use crate::util::fs::is_contended;

/// Who holds a lock, as written in its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) host: String,
    pub(crate) pid: String,
    pub(crate) session: String,
    pub(crate) part: Option<PathBuf>,
}

impl Holder {
    fn parse(text: &str) -> Self {
        let mut h = Holder::default();
        for line in text.lines() {
            match line.split_once('=') {
                Some(("host", v)) => h.host = v.to_string(),
                Some(("pid", v)) => h.pid = v.to_string(),
                Some(("session", v)) => h.session = v.to_string(),
                Some(("part", v)) if !v.is_empty() => h.part = Some(PathBuf::from(v)),
                _ => {}
            }
        }
        h
    }

    pub(crate) fn describe(&self) -> String {
        if self.host.is_empty() && self.pid.is_empty() {
            "another process (no owner recorded yet)".into()
        } else {
            format!("pid {} on {}", self.pid, self.host)
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("room lock {}: {source}", path.display())]
pub(crate) struct LockError {
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: io::Error,
}

/// A held room lock; dropping it releases the lock (and so does the process dying).
#[derive(Debug)]
pub(crate) struct RoomLock {
    file: File,
    path: PathBuf,
    session: String,
}

pub(crate) enum Acquire {
    Held(RoomLock),
    Busy(Holder),
}

pub(crate) fn lock_path(lock_dir: &Path, key: &RoomKey) -> PathBuf {
    lock_dir.join(file_name(key))
}

/// The one place that knows the lock file's name, both ways: `<platform>-<id>.lock`, with
/// anything unusual in the id replaced so it is one safe name; [`key_of_lock`] reads it back.
/// Dots stay (Douyin ids such as `a.b` and `a_b` are two rooms); after the prefix they cannot
/// make `.` or `..`.
fn file_name(key: &RoomKey) -> String {
    let id: String = key
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{id}.lock", key.platform)
}

impl RoomLock {
    /// Tries to take the room's lock without waiting.
    pub(crate) fn try_acquire(
        lock_dir: &Path,
        key: &RoomKey,
        session: &str,
    ) -> Result<Acquire, LockError> {
        let path = lock_path(lock_dir, key);
        let err = |source| LockError {
            path: lock_path(lock_dir, key),
            source,
        };
        std::fs::create_dir_all(lock_dir).map_err(err)?;
        // Never truncate on open: the file may belong to a live holder.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(err)?;
        match file.try_lock_exclusive() {
            Ok(()) => {}
            Err(e) if is_contended(&e) => {
                return Ok(Acquire::Busy(read_holder(&path).unwrap_or_default()));
            }
            Err(e) => return Err(err(e)),
        }
        let lock = RoomLock {
            file,
            path,
            session: session.to_string(),
        };
        lock.write_owner(None).map_err(err)?;
        Ok(Acquire::Held(lock))
    }

    /// [`RoomLock::try_acquire`] on a blocking thread: `lock_dir` may be on shared storage,
    /// and a slow one must not stall the runtime every room runs on.
    pub(crate) async fn acquire(
        lock_dir: PathBuf,
        key: RoomKey,
        session: String,
    ) -> Result<Acquire, LockError> {
        let path = lock_path(&lock_dir, &key);
        tokio::task::spawn_blocking(move || Self::try_acquire(&lock_dir, &key, &session))
            .await
            .unwrap_or_else(|e| {
                Err(LockError {
                    path,
                    source: io::Error::other(e),
                })
            })
    }

    /// Records the file being written, so a later start-up can tell whose `.part` it finds.
    pub(crate) fn set_part(&self, part: Option<&Path>) {
        if let Err(e) = self.write_owner(part) {
            tracing::warn!(path = %self.path.display(), "cannot update room lock text: {e}");
        }
    }

    /// [`RoomLock::set_part`] on a blocking thread (see [`RoomLock::acquire`]). Awaited, so
    /// that the lock's text follows the segments in their order.
    pub(crate) async fn note_part(self: &Arc<Self>, part: Option<PathBuf>) {
        let lock = self.clone();
        let _ = tokio::task::spawn_blocking(move || lock.set_part(part.as_deref())).await;
    }

    fn write_owner(&self, part: Option<&Path>) -> io::Result<()> {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        let text = format!(
            "host={host}\npid={}\nsession={}\npart={}\n",
            std::process::id(),
            self.session,
            part.map(|p| p.display().to_string()).unwrap_or_default()
        );
        let mut file = &self.file;
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())?;
        file.flush()
    }
}

impl Drop for RoomLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes it immediate even if a
        // duplicated descriptor is still open somewhere (a child process, for instance).
        let _ = FileExt::unlock(&self.file);
    }
}

/// Reads the owner text of a lock file (it may be stale: check the lock itself for the truth).
pub(crate) fn read_holder(path: &Path) -> io::Result<Holder> {
    let mut text = String::new();
    File::open(path)?.take(4096).read_to_string(&mut text)?;
    Ok(Holder::parse(&text))
}

/// Whether some live process holds this lock file right now.
pub(crate) fn is_held(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match FileExt::try_lock_shared(&file) {
        Ok(()) => {
            let _ = FileExt::unlock(&file);
            Ok(false)
        }
        Err(e) if is_contended(&e) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Room key from a lock file name (`bilibili-123.lock` -> `bilibili:123`), the reverse of
/// [`file_name`] (an id with characters it replaced comes back with them replaced).
pub(crate) fn key_of_lock(path: &Path) -> Option<String> {
    let name = path.file_stem()?.to_str()?;
    let (platform, id) = name.split_once('-')?;
    Some(format!("{platform}:{id}"))
}

/// Every `part=` path named by a lock file in `lock_dir`, with the room lock's file name.
pub(crate) fn parts_named_in(lock_dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(lock_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lock"))
        .filter_map(|p| {
            let part = read_holder(&p).ok()?.part?;
            Some((part, p))
        })
        .collect()
}

#[cfg(test)]
mod tests;
