//! File-system primitives the crash-safety story rests on.

use std::fs::File;
use std::io;
use std::path::Path;

/// Makes a rename or a new entry in `dir` durable: without it, a power cut can undo a rename
/// whose file data is already on disk. Best effort: some filesystems cannot sync a folder.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Whether a failed `try_lock_exclusive` / `try_lock_shared` (fs2's) means another holder has
/// the lock (as opposed to a filesystem without lock support, or another I/O error). The one
/// such check: room locks, segment intents, the hook journal and recovery all ask it.
pub(crate) fn is_contended(e: &io::Error) -> bool {
    e.raw_os_error() == fs2::lock_contended_error().raw_os_error()
        || e.kind() == io::ErrorKind::WouldBlock
}

#[cfg(test)]
mod tests;
