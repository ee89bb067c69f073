//! One chat file: `<video stem>.xml.part` beside the segment's video, written through a small
//! buffer (flushed every 20 records or every second), locked like the video's `.part` so that
//! another process's start-up scan leaves it alone, and finished as the video is: fsynced, then
//! renamed after the video's final name (`_1` included), never over an existing file. Disk calls
//! run on the blocking pool: a stuck disk never stalls the runtime.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fs2::FileExt as _;

use super::xml::FOOTER;
use crate::segment::part::{rename_no_replace, split_part_name};

/// Records buffered before they are written...
const FLUSH_RECORDS: u64 = 20;
/// ...or this long after the last write.
pub(crate) const FLUSH_AGE: Duration = Duration::from_secs(1);
/// A buffer this big is written out whatever the count (one long `raw` record, a burst).
const FLUSH_BYTES: usize = 64 * 1024;
/// Past this, records are dropped instead of buffered (a disk that stopped answering).
const MAX_PENDING: usize = 4 << 20;

pub(crate) const XML_PART: &str = ".xml.part";

/// The chat file of a video `.part`: `x/name.flv.part` -> `x/name.xml.part`.
pub(crate) fn part_for_video(video_part: &Path) -> Option<PathBuf> {
    let (stem, _) = split_part_name(video_part)?;
    let mut s = stem.into_os_string();
    s.push(XML_PART);
    Some(PathBuf::from(s))
}

/// The stem a finished video's chat file takes: `x/name_1.flv` -> `x/name_1`.
pub(crate) fn stem_of(video: &Path) -> PathBuf {
    video.with_extension("")
}

pub(crate) struct ChatFile {
    part: PathBuf,
    file: Arc<Mutex<File>>,
    pending: String,
    buffered: u64,
    /// Records written or buffered.
    pub(crate) records: u64,
    dropped: u64,
    last_write: Instant,
    /// The last write failed: later ones are tried, but not logged again.
    failing: bool,
}

fn on_blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> impl Future<Output = io::Result<T>> {
    let task = tokio::task::spawn_blocking(f);
    async move {
        task.await
            .unwrap_or_else(|e| Err(io::Error::other(format!("the disk task failed: {e}"))))
    }
}

impl ChatFile {
    /// Creates `part` (never over an existing file) with the header.
    pub(crate) async fn create(part: PathBuf, header: String) -> io::Result<Self> {
        let path = part.clone();
        let file = on_blocking(move || {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)?;
            let _ = f.try_lock_exclusive();
            f.write_all(header.as_bytes())?;
            Ok(f)
        })
        .await?;
        Ok(Self {
            part,
            file: Arc::new(Mutex::new(file)),
            pending: String::new(),
            buffered: 0,
            records: 0,
            dropped: 0,
            last_write: Instant::now(),
            failing: false,
        })
    }

    pub(crate) fn part(&self) -> &Path {
        &self.part
    }

    /// Adds one record (one line); says whether it is time to write.
    pub(crate) fn push(&mut self, line: &str) -> bool {
        if self.pending.len() + line.len() > MAX_PENDING {
            self.dropped += 1;
            return false;
        }
        self.pending.push_str(line);
        self.buffered += 1;
        self.records += 1;
        self.buffered >= FLUSH_RECORDS || self.pending.len() >= FLUSH_BYTES
    }

    /// Whether buffered records have waited long enough.
    pub(crate) fn due(&self) -> bool {
        !self.pending.is_empty() && self.last_write.elapsed() >= FLUSH_AGE
    }

    /// Writes the buffered records (to the OS, not to the disk: a crash loses at most what
    /// the OS had not written, and whole lines survive it).
    pub(crate) async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.pending);
        self.buffered = 0;
        self.last_write = Instant::now();
        let file = self.file.clone();
        let result = on_blocking(move || {
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            f.write_all(text.as_bytes())
        })
        .await;
        match result {
            Ok(()) => self.failing = false,
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(file = %self.part.display(), "cannot write chat records: {e}");
            }
            Err(_) => {}
        }
    }

    /// Writes the rest and the footer, fsyncs, and renames the file to `<stem>.xml` (or
    /// `<stem>_1.xml`... if that is taken). Returns the final path and the record count.
    pub(crate) async fn finish(mut self, stem: PathBuf) -> io::Result<(PathBuf, u64)> {
        self.flush().await;
        if self.dropped > 0 {
            tracing::warn!(
                file = %self.part.display(),
                "{} chat records were dropped: the disk did not keep up",
                self.dropped
            );
        }
        let file = self.file.clone();
        let part = self.part.clone();
        let path = on_blocking(move || {
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            f.write_all(FOOTER.as_bytes())?;
            f.sync_all()?;
            let path = rename_no_replace(&part, &stem, "xml")?;
            if let Some(dir) = path.parent() {
                crate::util::fs::sync_dir(dir);
            }
            Ok(path)
        })
        .await?;
        Ok((path, self.records))
    }
}
