//! The session's cover (`cover = true`): its fetch starts when the session's first segment
//! opens (the cover takes that segment's stem), in a task of its own, so that nothing the
//! recording does waits for it; its path goes into the session's later events.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::Instrument;

use super::Supervisor;

/// How long `live_end` waits for a cover still being fetched (its own limit is longer; it
/// lands all the same, without being named in the event).
const WAIT_AT_END: Duration = Duration::from_secs(5);

/// One session's cover: not asked yet, being fetched, saved, or none.
#[derive(Default)]
pub(super) struct SessionCover {
    asked: bool,
    task: Option<JoinHandle<Option<PathBuf>>>,
    saved: Option<PathBuf>,
}

impl SessionCover {
    /// The cover's path once it is saved (a finished fetch is collected here).
    async fn path(&mut self, wait: Duration) -> Option<PathBuf> {
        if let Some(task) = self.task.as_mut() {
            if task.is_finished() || !wait.is_zero() {
                if let Ok(done) = tokio::time::timeout(wait, &mut *task).await {
                    self.saved = done.ok().flatten();
                    self.task = None;
                }
            }
        }
        self.saved.clone()
    }
}

impl Supervisor {
    /// A segment opened (`part` is its `.part` path): the first of a session starts the cover.
    pub(super) fn start_cover(&mut self, part: &Path) {
        if !self.cfg.settings.cover {
            return;
        }
        let url = self.cover_url.clone();
        let client = self.deps.client.clone();
        let Some(cover) = self.session.as_mut().map(|s| &mut s.cover) else {
            return;
        };
        if std::mem::replace(&mut cover.asked, true) {
            return;
        }
        let Some(url) = url else {
            tracing::info!("cover: the platform names no cover image for this live");
            return;
        };
        let part = part.to_path_buf();
        let task = async move {
            match crate::room::cover::save(&client, &url, &part).await {
                Ok(path) => {
                    tracing::info!("cover saved: {}", path.display());
                    Some(path)
                }
                Err(e) => {
                    tracing::warn!("no cover for this session: {e}");
                    None
                }
            }
        };
        cover.task = Some(tokio::spawn(task.in_current_span()));
    }

    /// The session's cover, if it is saved by now.
    pub(super) async fn cover_now(&mut self) -> Option<PathBuf> {
        match self.session.as_mut() {
            Some(s) => s.cover.path(Duration::ZERO).await,
            None => None,
        }
    }

    /// The session's cover at its end: a fetch still running gets a few seconds.
    pub(super) async fn cover_at_end(&mut self) -> Option<PathBuf> {
        match self.session.as_mut() {
            Some(s) => s.cover.path(WAIT_AT_END).await,
            None => None,
        }
    }
}
