//! Chat files a crash left as `.xml.part`: closed after their last whole line (one record per
//! line makes that exact, see `chat::xml::plan_repair`), fsynced, and renamed after the video
//! they belong to when that was recovered too (its `_1` included), else under their own name.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use fs2::FileExt;

use crate::chat::file::XML_PART;
use crate::chat::xml::{FOOTER, Repair, plan_repair};
use crate::event::DanmakuRef;
use crate::segment::part::rename_no_replace;

/// Chat files above this are not read back into memory: no chat file of a segment gets
/// anywhere near it; such a file is left for a person to look at.
const MAX_LEN: u64 = 256 << 20;

/// Every `*.xml.part` below `dir`, not following symlinks, skipping `skip`.
pub(crate) fn find_chat_parts(dir: &Path, skip: &Path) -> Vec<PathBuf> {
    super::leftovers::files_below(dir, skip, |name| name.ends_with(XML_PART))
}

/// Records in a chat file's text: its record lines.
fn records(text: &[u8]) -> u64 {
    text.split(|&b| b == b'\n')
        .filter(|l| {
            [&b"  <d "[..], b"  <sc ", b"  <gift ", b"  <guard "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .count() as u64
}

/// Closes and renames one leftover chat file; `stem` is the name it takes (without `.xml`).
/// `None` when another process is writing it, or nothing in it was worth keeping.
pub(crate) fn finish_chat_part(part: &Path, stem: &Path) -> io::Result<Option<DanmakuRef>> {
    let mut file = OpenOptions::new().read(true).write(true).open(part)?;
    match file.try_lock_exclusive() {
        Ok(()) => {}
        Err(e) if crate::util::fs::is_contended(&e) => return Ok(None),
        Err(_) => {}
    }
    if file.metadata()?.len() > MAX_LEN {
        return Err(io::Error::other("too large for a chat file; left as it is"));
    }
    let mut content = Vec::new();
    file.read_to_end(&mut content)?;
    let messages = match plan_repair(&content) {
        Repair::Complete => records(&content),
        Repair::Truncate { keep } => {
            file.set_len(keep as u64)?;
            let mut file = OpenOptions::new().append(true).open(part)?;
            file.write_all(FOOTER.as_bytes())?;
            records(&content[..keep])
        }
        Repair::Unusable => {
            drop(file);
            std::fs::remove_file(part)?;
            return Ok(None);
        }
    };
    file.sync_all()?;
    let path = rename_no_replace(part, stem, "xml")?;
    if let Some(dir) = path.parent() {
        crate::util::fs::sync_dir(dir);
    }
    Ok(Some(DanmakuRef { path, messages }))
}

/// Finishes every leftover chat file below `dir`. `videos` maps a recovered video's `.part`
/// to its final path: a chat file beside it takes that name. Returns the chat file of each
/// such video.
pub(crate) fn recover_chat(
    dir: &Path,
    skip: &Path,
    videos: &HashMap<PathBuf, PathBuf>,
) -> HashMap<PathBuf, DanmakuRef> {
    let by_chat: HashMap<PathBuf, (&PathBuf, &PathBuf)> = videos
        .iter()
        .filter_map(|(part, done)| Some((crate::chat::file::part_for_video(part)?, (part, done))))
        .collect();
    let mut out = HashMap::new();
    for part in find_chat_parts(dir, skip) {
        let own = PathBuf::from(
            part.to_string_lossy()
                .trim_end_matches(XML_PART)
                .to_string(),
        );
        let (stem, video) = match by_chat.get(&part) {
            Some((video_part, done)) => (crate::chat::file::stem_of(done), Some(*video_part)),
            None => (own, None),
        };
        match finish_chat_part(&part, &stem) {
            Ok(Some(d)) => {
                tracing::info!(file = %d.path.display(), messages = d.messages, "recovered a chat file left by a crash");
                if let Some(v) = video {
                    out.insert(v.clone(), d);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(file = %part.display(), "cannot recover the chat file: {e}"),
        }
    }
    out
}
