//! What the room shows: its state and reason, byte counts and write rate, published on every
//! change (state changes are logged with their reason).

use std::sync::atomic::Ordering;

use super::Supervisor;
use crate::room::RoomState;
use crate::room::state::Phase;

impl Supervisor {
    pub(super) fn sample_rate(&mut self) {
        let Some(s) = &self.session else { return };
        let bytes = s.progress.session_bytes.load(Ordering::Relaxed);
        let now = super::now();
        let dt = now.duration_since(self.rate_sample.0).as_secs_f64();
        if dt > 0.5 {
            self.snap.bitrate_kbps =
                (bytes.saturating_sub(self.rate_sample.1)) as f64 * 8.0 / 1000.0 / dt;
            self.rate_sample = (now, bytes);
        }
    }

    /// Publishes the status, logging state changes with their reason.
    pub(super) fn publish(&mut self) {
        self.snap.chat = self.chat.as_ref().map(|c| c.state()).unwrap_or_default();
        let (state, detail) = self.state();
        if let Some(s) = &self.session {
            self.snap.bytes = s.progress.session_bytes.load(Ordering::Relaxed);
            self.snap.segment_bytes = s.progress.segment_bytes.load(Ordering::Relaxed);
            self.snap.bytes_total = self.totals.0 + self.snap.bytes;
            self.snap.gaps_total = self.totals.1 + s.progress.gaps.load(Ordering::Relaxed);
        }
        if state != self.snap.state || detail != self.snap.detail {
            if state != self.snap.state {
                let why = detail
                    .clone()
                    .or_else(|| self.snap.last_error.clone())
                    .unwrap_or_default();
                tracing::info!(
                    from = self.snap.state.as_str(),
                    to = state.as_str(),
                    "state changed{}{why}",
                    if why.is_empty() { "" } else { ": " }
                );
                self.snap.since = crate::event::now();
            }
            self.snap.state = state;
            self.snap.detail = detail;
        }
        if state == RoomState::Recording {
            self.snap.last_error = None;
        }
        let snap = self.snap.clone();
        self.status.send_replace(snap);
    }

    pub(super) fn state(&self) -> (RoomState, Option<String>) {
        let failing = self.machine.is_alerting();
        if self.machine.is_outside() && self.session.is_none() && self.cfg.enabled {
            return (RoomState::Outside, Some(self.window_detail()));
        }
        match self.machine.phase() {
            Phase::Disabled if self.cfg.enabled => (RoomState::Idle, Some("stopping".into())),
            Phase::Disabled => (RoomState::Disabled, None),
            Phase::Idle => (RoomState::Idle, None),
            Phase::Waiting { reason, elsewhere } => {
                if failing && !elsewhere {
                    (RoomState::Failing, Some(reason.clone()))
                } else {
                    (RoomState::Waiting, Some(reason.clone()))
                }
            }
            Phase::Attempt { flowing: true, .. } => (RoomState::Recording, None),
            Phase::Attempt { .. } | Phase::Deciding | Phase::Backoff { .. } => {
                if failing {
                    (
                        RoomState::Failing,
                        Some("live, but nothing is being written".into()),
                    )
                } else {
                    (RoomState::Live, Some("connecting".into()))
                }
            }
            Phase::Unrecordable { reason } => (RoomState::Unrecordable, Some(reason.clone())),
            Phase::Skipped { reason } => (RoomState::Skipped, Some(reason.clone())),
            Phase::Watching => (
                RoomState::Live,
                Some("live; not recorded (record = false)".into()),
            ),
            Phase::Grace { since } => {
                let left = self
                    .cfg
                    .settings
                    .offline_grace
                    .saturating_sub(super::now().saturating_duration_since(*since));
                (
                    RoomState::Idle,
                    Some(format!(
                        "offline; the session ends in {}s unless the live resumes",
                        left.as_secs()
                    )),
                )
            }
        }
    }
}
