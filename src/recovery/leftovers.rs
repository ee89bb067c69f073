//! The leftovers of a crash: every `.part` under `output_dir` that no live process is writing is
//! repaired and renamed, so a crash never leaves a half-named file behind.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fs2::FileExt;

use super::repair::{self, Repaired};
use crate::room::lock;
use crate::segment::part::PART_SUFFIX;

/// A `.part` younger than this with nothing in it may be a file another process has just
/// created and not locked yet; it is left alone.
const FRESH: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recovered {
    pub(crate) part: PathBuf,
    /// The finished file(s): one, unless a foreign file had to be re-muxed and split.
    pub(crate) files: Vec<Repaired>,
    /// The room key, when a lock file names this part.
    pub(crate) room: Option<String>,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    Recovered(Recovered),
    /// An empty leftover, deleted.
    RemovedEmpty(PathBuf),
    /// Another live process is writing it.
    InUse(PathBuf),
    Failed(PathBuf, io::Error),
}

/// Every `*.part` below `dir`, not following symlinks, skipping `skip` (the state folder).
/// Chat files (`*.xml.part`) are not among them: `chat` closes those once the videos are done;
/// nor are a cover's (`*.jpg.part`), which are no media to repair.
pub(crate) fn find_parts(dir: &Path, skip: &Path) -> Vec<PathBuf> {
    files_below(dir, skip, |name| {
        name.ends_with(PART_SUFFIX)
            && !name.ends_with(crate::chat::file::XML_PART)
            && !crate::room::cover::is_cover_part(name)
    })
}

/// Every file below `dir` whose path `keep` accepts, sorted, not following symlinks and
/// skipping the folder `skip`.
pub(crate) fn files_below(dir: &Path, skip: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && path != skip {
                stack.push(path);
            } else if ft.is_file() && keep(&path.to_string_lossy()) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Called with a leftover that is about to be repaired and renamed (with the room key its lock
/// file names, if any, and its metadata): the last moment to record what the rename will
/// finish (see `intent`).
pub(crate) type BeforeFinalize<'a> = dyn FnMut(&Path, Option<&str>, &std::fs::Metadata) + 'a;

/// Repairs and renames the leftovers, each while holding its lock.
pub(crate) fn recover_all(
    output_dir: &Path,
    state_dir: &Path,
    lock_dir: &Path,
    before: &mut BeforeFinalize<'_>,
) -> Vec<Outcome> {
    let owners: HashMap<PathBuf, PathBuf> = lock::parts_named_in(lock_dir).into_iter().collect();
    find_parts(output_dir, state_dir)
        .into_iter()
        .map(|part| {
            let owner = owners.get(&part);
            recover_one(&part, owner.map(PathBuf::as_path), before)
                .unwrap_or_else(|e| Outcome::Failed(part.clone(), e))
        })
        .collect()
}

fn recover_one(
    part: &Path,
    owner_lock: Option<&Path>,
    before: &mut BeforeFinalize<'_>,
) -> io::Result<Outcome> {
    if let Some(l) = owner_lock {
        if lock::is_held(l)? {
            return Ok(Outcome::InUse(part.to_path_buf()));
        }
    }
    let file = OpenOptions::new().read(true).write(true).open(part)?;
    match file.try_lock_exclusive() {
        Ok(()) => {}
        Err(e) if crate::util::fs::is_contended(&e) => {
            return Ok(Outcome::InUse(part.to_path_buf()));
        }
        // No lock support on this filesystem: the room lock check above is all we have.
        Err(_) => {}
    }
    let meta = file.metadata()?;
    if meta.len() == 0 {
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok());
        if age.is_some_and(|a| a < FRESH) {
            return Ok(Outcome::InUse(part.to_path_buf()));
        }
        std::fs::remove_file(part)?;
        return Ok(Outcome::RemovedEmpty(part.to_path_buf()));
    }
    let room = owner_lock.and_then(lock::key_of_lock);
    before(part, room.as_deref(), &meta);
    let files = repair::finalize_part(part)?;
    drop(file);
    if files.is_empty() {
        return Ok(Outcome::RemovedEmpty(part.to_path_buf()));
    }
    Ok(Outcome::Recovered(Recovered {
        part: part.to_path_buf(),
        files,
        room,
    }))
}

#[cfg(test)]
mod tests;
