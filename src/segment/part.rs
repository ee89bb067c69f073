//! The life of one output file: created as `<name>.<ext>.part` (never over an existing file),
//! written through a small buffer, flushed, fsynced and renamed to `<name>.<ext>` without ever
//! replacing a file that is already there.
//!
//! The writer also holds an OS lock on its `.part`, so the start-up scan of any process that
//! shares the output folder can tell a file being written from one left by a crash.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use fs2::FileExt as _;

use crate::util::fs::sync_dir;

/// Buffered bytes are written out at this size (or sooner, when the writer is idle).
const BUFFER: usize = 128 * 1024;

pub(crate) const PART_SUFFIX: &str = ".part";

#[derive(Debug)]
pub(crate) struct PartFile {
    file: File,
    buf: Vec<u8>,
    part: PathBuf,
    /// Final path without extension: `<output_dir>/<rendered name>`.
    stem: PathBuf,
    ext: &'static str,
    /// Bytes that reached the file (always a boundary between the caller's writes).
    flushed: u64,
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl PartFile {
    /// Creates `<stem>.<ext>.part`, or `<stem>_1.<ext>.part` and so on when the name (final or
    /// part) is taken.
    pub(crate) fn create(stem: &Path, ext: &'static str) -> io::Result<Self> {
        if let Some(dir) = stem.parent() {
            std::fs::create_dir_all(dir)?;
        }
        for candidate in stem_candidates(stem) {
            let final_path = with_suffix(&candidate, &format!(".{ext}"));
            if final_path.exists() {
                continue;
            }
            let part = with_suffix(&final_path, PART_SUFFIX);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&part)
            {
                Ok(file) => {
                    // A brand-new file cannot be contended; an error here means the filesystem
                    // has no locks, and the room lock still protects the room.
                    let _ = file.try_lock_exclusive();
                    return Ok(Self {
                        file,
                        buf: Vec::with_capacity(BUFFER),
                        part,
                        stem: candidate,
                        ext,
                        flushed: 0,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "10000 files with this name already exist",
        ))
    }

    pub(crate) fn part_path(&self) -> &Path {
        &self.part
    }

    /// Bytes waiting in the buffer.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes written so far, buffered ones included.
    pub(crate) fn len(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the parts as one unit (a tag: header, body, size). Units are never split between
    /// a successful and a failed write, so after a failure (disk full) the file can be cut back
    /// to the end of the last whole unit.
    pub(crate) fn write_unit(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if self.buf.len() + total > BUFFER {
            self.flush()?;
        }
        if total < BUFFER {
            for p in parts {
                self.buf.extend_from_slice(p);
            }
            return Ok(());
        }
        for p in parts {
            if let Err(e) = self.file.write_all(p) {
                self.cut_back();
                return Err(e);
            }
        }
        self.flushed += total as u64;
        Ok(())
    }

    fn write_through(&mut self, data: &[u8]) -> io::Result<()> {
        match self.file.write_all(data) {
            Ok(()) => {
                self.flushed += data.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.cut_back();
                Err(e)
            }
        }
    }

    /// Writes buffered bytes to the file (not to the disk: see [`PartFile::finish`]).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let result = self.write_through(&buf);
        self.buf = buf;
        self.buf.clear();
        result
    }

    /// After a failed write (disk full), drops the torn tail so the file ends on a boundary.
    fn cut_back(&mut self) {
        self.buf.clear();
        let _ = self.file.set_len(self.flushed);
        let _ = std::io::Seek::seek(&mut self.file, io::SeekFrom::Start(self.flushed));
    }

    /// Overwrites bytes at `offset` (metadata patched at close). Never grows the file.
    pub(crate) fn patch(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.flush()?;
        if offset + data.len() as u64 > self.flushed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "patch beyond end of file",
            ));
        }
        self.file.write_all_at(data, offset)
    }

    /// The file's metadata (its identity survives the rename, see `intent`).
    pub(crate) fn metadata(&self) -> io::Result<std::fs::Metadata> {
        self.file.metadata()
    }

    /// Flushes, fsyncs and renames to the final name. Returns the final path.
    pub(crate) fn finish(mut self) -> io::Result<PathBuf> {
        self.flush()?;
        self.file.sync_all()?;
        let final_path = rename_no_replace(&self.part, &self.stem, self.ext)?;
        if let Some(dir) = final_path.parent() {
            sync_dir(dir);
        }
        Ok(final_path)
    }

    /// Removes a file that never received a byte.
    pub(crate) fn discard_if_empty(self) -> Option<Self> {
        if self.is_empty() {
            let _ = std::fs::remove_file(&self.part);
            None
        } else {
            Some(self)
        }
    }
}

/// The stems [`PartFile::create`] tries, in order: `<stem>`, `<stem>_1`…
fn stem_candidates(stem: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    (0..10_000u32).map(move |n| {
        if n == 0 {
            stem.to_path_buf()
        } else {
            with_suffix(stem, &format!("_{n}"))
        }
    })
}

/// The first of `<stem>`, `<stem>_1`… under which no `<candidate>.<ext>` and no
/// `<candidate>.<ext>.part` exists for any of `exts`: [`PartFile::create`]'s rule for a name
/// decided before its files are written, and shared by files of several extensions (a
/// session's first segment and its cover). `stem` itself when every candidate is taken (the
/// file's creation then says so).
pub(crate) fn free_stem(stem: &Path, exts: &[&str]) -> PathBuf {
    let taken = |candidate: &Path| {
        exts.iter().any(|ext| {
            let file = with_suffix(candidate, &format!(".{ext}"));
            file.symlink_metadata().is_ok()
                || with_suffix(&file, PART_SUFFIX).symlink_metadata().is_ok()
        })
    };
    stem_candidates(stem)
        .find(|c| !taken(c))
        .unwrap_or_else(|| stem.to_path_buf())
}

/// `x/name.flv.part` -> (`x/name`, `flv`).
pub(crate) fn split_part_name(part: &Path) -> Option<(PathBuf, String)> {
    let s = part.to_str()?.strip_suffix(PART_SUFFIX)?;
    let (stem, ext) = s.rsplit_once('.')?;
    (!ext.contains('/') && !ext.is_empty()).then(|| (PathBuf::from(stem), ext.to_string()))
}

/// Renames `from` to `<stem>.<ext>`, or `<stem>_1.<ext>`... whichever is free, atomically and
/// never replacing an existing file (even one created by another process a moment ago).
pub fn rename_no_replace(from: &Path, stem: &Path, ext: &str) -> io::Result<PathBuf> {
    for candidate in rename_candidates(stem, ext) {
        match rename_noreplace_once(from, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "10000 files with this name already exist",
    ))
}

/// The names [`rename_no_replace`] tries, in order: `<stem>.<ext>`, `<stem>_1.<ext>`…
pub(crate) fn rename_candidates<'a>(
    stem: &'a Path,
    ext: &'a str,
) -> impl Iterator<Item = PathBuf> + 'a {
    (0..10_000u32).map(move |n| {
        if n == 0 {
            with_suffix(stem, &format!(".{ext}"))
        } else {
            with_suffix(stem, &format!("_{n}.{ext}"))
        }
    })
}

#[cfg(target_os = "linux")]
fn rename_noreplace_once(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
    };
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // The filesystem cannot do it atomically (some FUSE and network mounts): check, then rename.
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            rename_checked(from, to)
        }
        _ => Err(err),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_noreplace_once(from: &Path, to: &Path) -> io::Result<()> {
    rename_checked(from, to)
}

fn rename_checked(from: &Path, to: &Path) -> io::Result<()> {
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    std::fs::rename(from, to)
}

#[cfg(test)]
mod tests;
