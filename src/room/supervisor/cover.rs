//! The session's cover (`cover = true`) and the `live_start` that names it. At the session's
//! start the first segment's name is decided (the cover takes its stem) and the fetch starts,
//! in a task of its own: nothing the recording does waits for it. `live_start` is held until
//! the cover is saved or [`LIVE_START_WAIT`] has passed, whichever is first, and is raised
//! before any other event of its session whatever happens first (see [`Supervisor::send`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::Supervisor;
use crate::event::{Event, EventType};

/// How long `live_start` waits for the cover, so that it can name it. A cover is one small CDN
/// fetch, usually done in well under a second; a hook or notification that a live began should
/// not hear of it much later than that. The recording itself does not wait at all.
pub(in crate::room) const LIVE_START_WAIT: Duration = Duration::from_secs(3);
/// How long `live_end` waits for a cover still being fetched (its own limit is longer; it
/// lands all the same, without being named in the event).
const WAIT_AT_END: Duration = Duration::from_secs(5);

type CoverTask = JoinHandle<Option<PathBuf>>;

/// One session's cover, once `live_start` is raised: being fetched, saved, or none.
#[derive(Default)]
pub(super) struct SessionCover {
    task: Option<CoverTask>,
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

/// A session's `live_start`, held for its cover: the fetch, and how long it may hold.
pub(super) struct HeldStart {
    task: CoverTask,
    until: tokio::time::Instant,
}

impl HeldStart {
    /// Waits for the cover or the deadline: the fetch's outcome (a path when it was saved), or
    /// None when the deadline came first.
    pub(super) async fn due(&mut self) -> Option<Option<PathBuf>> {
        tokio::select! {
            done = &mut self.task => Some(done.ok().flatten()),
            _ = tokio::time::sleep_until(self.until) => None,
        }
    }
}

impl Supervisor {
    /// The first segment's stem, decided at the session's start when its cover will be
    /// fetched (`cover = true` and the platform named an image): the template rendered for
    /// index 1 at `session`'s start, exactly as the writer would, moved to `_1`… when that
    /// name is taken by a segment or a cover. None: the writer names it when it opens.
    pub(super) async fn first_stem(&self, session: &crate::event::SessionRef) -> Option<PathBuf> {
        if !self.cfg.settings.cover || self.cover_url.is_none() {
            return None;
        }
        let rendered = self.deps.output_dir.join(crate::segment::naming::render(
            &self.cfg.settings.filename,
            &self.room_ref(),
            session,
            1,
            session.start,
        ));
        let ahead = rendered.clone();
        let stem = tokio::task::spawn_blocking(move || crate::room::cover::first_stem(&ahead))
            .await
            .unwrap_or(rendered);
        Some(stem)
    }

    /// A session began: with `cover = true` its cover is fetched now, to be saved as
    /// `<stem>.<ext>` (`stem` from [`Self::first_stem`]), and `live_start` is held for it.
    pub(super) fn start_cover(&mut self, stem: Option<&Path>) {
        if !self.cfg.settings.cover {
            return;
        }
        let (Some(url), Some(stem)) = (self.cover_url.clone(), stem) else {
            tracing::info!("cover: the platform names no cover image for this live");
            return;
        };
        let client = self.deps.client.clone();
        let stem = stem.to_path_buf();
        let task = async move {
            match crate::room::cover::save(&client, &url, &stem).await {
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
        self.held_start = Some(HeldStart {
            task: tokio::spawn(task.in_current_span()),
            until: tokio::time::Instant::now() + LIVE_START_WAIT,
        });
    }

    /// Raises the session's `live_start`, unless it is held for the cover.
    pub(super) fn live_start(&mut self) {
        if self.held_start.is_none() {
            self.raise_live_start(None);
        }
    }

    /// Raises a held `live_start` now: `done` is the cover fetch's outcome when it finished
    /// (None: it goes on, and later events name the cover once it is saved).
    pub(super) fn raise_live_start(&mut self, done: Option<Option<PathBuf>>) {
        if let (Some(held), Some(s)) = (self.held_start.take(), self.session.as_mut()) {
            match done {
                Some(saved) => s.cover.saved = saved,
                None => s.cover.task = Some(held.task),
            }
        }
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let cover = s.cover.saved.clone();
        // The live began when the session did, however long the event was held.
        let start = s.start;
        let event = self.event(EventType::LiveStart, |mut e| {
            e.time = start;
            e.cover_path = cover;
            e
        });
        self.deps.events.emit(event);
    }

    /// Hands an event of the room to the daemon. A `live_start` still held goes first, at
    /// once: a session's events stay in their order, whatever happens before its cover.
    pub(super) fn send(&mut self, event: Event) {
        self.release_live_start();
        self.deps.events.emit(event);
    }

    /// Raises a held `live_start` now, naming the cover if it is saved by now.
    pub(super) fn release_live_start(&mut self) {
        if let Some(held) = self.held_start.as_mut() {
            let done = (&mut held.task).now_or_never().map(|r| r.ok().flatten());
            self.raise_live_start(done);
        }
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
