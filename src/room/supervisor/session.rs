//! Opening and closing a session: the room lock, the `max_recordings` slot, the writer, and
//! the recording attempts that feed it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::{ATTEMPT_STOP, Child, Session, Supervisor};
use crate::cluster::Claim;
use crate::event::{EventType, SessionRef};
use crate::platform::limiter::{Lane, in_lane};
use crate::room::lock::{Acquire, RoomLock};
use crate::room::state::Do;
use crate::segment::files::{Progress, SegmentSpec, WriterEvent};
use crate::writer::handle::{Control, WriterHandle};

/// How long a stopped recording waits for the keyframe its file ends before: a few GOPs of
/// the platforms' streams (1-4 s each), after which waiting is worth less than stopping.
const STOP_AT_KEYFRAME_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How often that wait looks whether the stream still runs.
const STOP_CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl Supervisor {
    pub(super) async fn start_session(&mut self) -> Vec<Do> {
        if !self.cfg.record {
            return self.start_watching();
        }
        let now = super::now();
        let id = Uuid::new_v4();
        let acquired =
            RoomLock::acquire(self.deps.lock_dir.clone(), self.key.clone(), id.to_string()).await;
        let lock = match acquired {
            Ok(Acquire::Held(lock)) => Arc::new(lock),
            Ok(Acquire::Busy(holder)) => {
                let reason = format!("recorded by {}", holder.describe());
                tracing::info!("live, {reason}; waiting");
                self.machine.on_blocked(reason, true, now);
                return Vec::new();
            }
            Err(e) => {
                tracing::error!("live, but cannot take the room lock: {e}");
                self.snap.last_error = Some(e.to_string());
                self.machine.on_blocked(
                    format!("cannot take the room lock: {}", e.source),
                    false,
                    now,
                );
                return Vec::new();
            }
        };
        let slot = match &self.deps.slots {
            None => None,
            Some(sem) => match sem.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    drop(lock);
                    tracing::info!("live, but max_recordings is reached; waiting");
                    self.machine.on_blocked(
                        "max_recordings reached on this instance".into(),
                        false,
                        now,
                    );
                    return Vec::new();
                }
            },
        };
        let claimed = match self
            .deps
            .cluster
            .claim(&self.key.to_string(), self.last_hint.as_deref())
            .await
        {
            Claim::Won(claimed) => claimed,
            Claim::Busy { reason, elsewhere } => {
                drop(slot);
                drop(lock);
                tracing::info!("live, {reason}; waiting");
                self.machine.on_blocked(reason, elsewhere, now);
                return Vec::new();
            }
        };
        let (id, start, first_index) = match &claimed.resume {
            Some(r) => {
                tracing::info!(
                    session = %r.session,
                    "continuing the session {} recorded, from segment {}",
                    r.from,
                    r.next_index
                );
                (r.session, r.start, r.next_index)
            }
            None => (id, crate::event::now(), 1),
        };
        let session = SessionRef {
            id,
            start,
            owner: claimed.owner.clone(),
        };
        // A continued session's cover was taken by the instance that began it.
        let first_stem = match claimed.resume {
            Some(_) => None,
            None => self.first_stem(&session).await,
        };
        let spec = SegmentSpec {
            output_dir: self.deps.output_dir.clone(),
            template: self.cfg.settings.filename.clone(),
            first_stem: first_stem.clone(),
            min_free_space: self.deps.min_free_space.clone(),
            room: self.room_ref(),
            session,
            segment_duration: self.cfg.settings.segment_duration,
            segment_size: self.cfg.settings.segment_size,
            intents: self.deps.intents.clone(),
            first_index,
            audio_only: self.cfg.settings.rules.audio_only,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let progress = Arc::new(Progress::default());
        let writer = WriterHandle::spawn(spec, tx, progress.clone());
        self.session = Some(Session {
            id,
            start,
            lock: Some(lock),
            _slot: slot,
            writer: Some(writer),
            progress,
            events: Some(rx),
            connects: 0,
            owner: claimed.owner,
            handed_over: false,
            attempts: Default::default(),
            cover: Default::default(),
        });
        self.orders = claimed.orders;
        // A session continued after a takeover was announced by the instance that began it.
        if claimed.resume.is_some() {
            self.opened(now, "live: session continued", false)
        } else {
            self.start_cover(first_stem.as_deref());
            self.opened(now, "live: session started", true)
        }
    }

    /// A notify-only room went live: a session for its events, without lock, slot or writer.
    fn start_watching(&mut self) -> Vec<Do> {
        self.session = Some(Session {
            id: Uuid::new_v4(),
            start: crate::event::now(),
            lock: None,
            _slot: None,
            writer: None,
            progress: Arc::new(Progress::default()),
            events: None,
            connects: 0,
            owner: None,
            handed_over: false,
            attempts: Default::default(),
            cover: Default::default(),
        });
        self.opened(
            super::now(),
            "live: watching (record = false: nothing is recorded)",
            true,
        )
    }

    fn opened(&mut self, now: Instant, what: &str, announce: bool) -> Vec<Do> {
        self.snap.session = self.session.as_ref().map(Session::reference);
        self.session_hint = self.last_hint.clone();
        self.snap.segments = 0;
        self.snap.bytes = 0;
        self.snap.reconnects = 0;
        self.rate_sample = (super::now(), 0);
        self.to_chat(crate::chat::ChatCmd::Session(true));
        let id = self.session.as_ref().map(|s| s.id).unwrap_or_default();
        tracing::info!(session = %id, "{what}");
        if announce {
            self.live_start();
        }
        self.machine.on_session_started(now)
    }

    pub(super) fn connect(&mut self) {
        self.stop_attempt();
        let Some(session) = self.session.as_mut() else {
            return;
        };
        session.connects += 1;
        self.snap.reconnects = session.connects.saturating_sub(1);
        let Some(writer) = self.session.as_ref().and_then(|s| s.writer.as_ref()) else {
            return;
        };
        let cancel = CancellationToken::new();
        let task = crate::capture::attempt(
            self.deps.platform.clone(),
            self.spec(),
            self.deps.client.clone(),
            writer.sender(),
            self.cfg.settings.stall_timeout,
            self.session
                .as_ref()
                .map(|s| s.attempts.clone())
                .unwrap_or_default(),
            cancel.clone(),
        );
        tracing::debug!("connecting");
        // The stream lookup is a live room's own call: it goes before idle rooms' polls.
        let task = in_lane(Lane::Live, task);
        self.attempt = Some((Child(tokio::spawn(task.in_current_span())), cancel));
    }

    /// A rule or a handover stops a recording whose live goes on: the open file is closed at
    /// the stream's next keyframe, so that it ends where a split would, and nothing after it
    /// is written. A stream that brings no keyframe within [`STOP_AT_KEYFRAME_WAIT`], or that
    /// ends or is between connections, leaves its file to `end_session`, closed where it is.
    pub(super) async fn close_at_keyframe(&mut self) {
        // Only a stream that still flows brings the keyframe.
        let pulling = |me: &Self| me.attempt.as_ref().is_some_and(|(c, _)| !c.0.is_finished());
        if !pulling(self) || self.snap.file.is_none() {
            return;
        }
        let Some(writer) = self.session.as_ref().and_then(|s| s.writer.as_ref()) else {
            return;
        };
        writer.control(Control::Last);
        let deadline = tokio::time::Instant::now() + STOP_AT_KEYFRAME_WAIT;
        while pulling(self) && tokio::time::Instant::now() < deadline {
            let Some(rx) = self.session.as_mut().and_then(|s| s.events.as_mut()) else {
                return;
            };
            // In short slices: the stream may end meanwhile, and then no keyframe comes.
            let slice = (tokio::time::Instant::now() + STOP_CHECK_EVERY).min(deadline);
            match tokio::time::timeout_at(slice, rx.recv()).await {
                Ok(Some(WriterEvent::Closed(event))) => {
                    self.segment_complete(event).await;
                    return;
                }
                // Progress and the like: the session is ending, nothing more follows from them.
                Ok(Some(_)) | Err(_) => {}
                Ok(None) => return,
            }
        }
        tracing::info!("no keyframe came: the file is closed where it is");
    }

    /// Closes the session: the attempt stops, the writer closes and renames the last file, the
    /// lock is released. `ended` raises `live_end` (not on daemon shutdown: the live goes on),
    /// with `reason` as its error when the live did not simply go offline.
    pub(super) async fn end_session(&mut self, ended: bool, reason: Option<String>) {
        if let Some((mut child, cancel)) = self.attempt.take() {
            cancel.cancel();
            if tokio::time::timeout(ATTEMPT_STOP, child.join())
                .await
                .is_err()
            {
                tracing::warn!("the stream did not stop in time; closing the file anyway");
            }
        }
        if self.session.is_none() {
            return;
        }
        // Even a session that ends (or a daemon that stops) before its cover has begun.
        self.release_live_start();
        if let Some(writer) = self.session.as_mut().and_then(|s| s.writer.take()) {
            writer.close().await;
            // The writer's last events (the final segment) arrive after it closed.
            let mut tail = Vec::new();
            if let Some(rx) = self.session.as_mut().and_then(|s| s.events.as_mut()) {
                while let Ok(ev) = rx.try_recv() {
                    tail.push(ev);
                }
            }
            for ev in tail {
                if let WriterEvent::Closed(event) = ev {
                    self.segment_complete(event).await;
                }
            }
        }
        if ended {
            let cover = self.cover_at_end().await;
            let with_cover = |mut e: crate::event::Event| {
                e.cover_path = cover;
                e
            };
            match reason {
                None => {
                    tracing::info!("offline: session ended");
                    self.emit(EventType::LiveEnd, with_cover);
                }
                Some(why) => {
                    tracing::warn!("session ended: {why}");
                    self.emit(EventType::LiveEnd, |e| with_cover(e.with_error(why)));
                }
            }
        }
        // The session's quality is no state of the room once it ended (`live_end` says so).
        self.degrade.reset();
        self.snap.degraded = None;
        if let Some(s) = self.session.take() {
            self.deps
                .cluster
                .released(&self.key.to_string(), ended && !s.handed_over);
            self.totals.0 += s.progress.session_bytes.load(Ordering::Relaxed);
            self.totals.1 += s.progress.gaps.load(Ordering::Relaxed);
        }
        self.orders = None;
        self.to_chat(crate::chat::ChatCmd::Session(false));
        self.chat_after_session().await;
        self.session_hint = None;
        self.snap.session = None;
        self.snap.file = None;
        self.snap.bitrate_kbps = 0.0;
    }
}
