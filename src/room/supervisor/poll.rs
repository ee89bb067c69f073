//! Asking the platform about the room: starting a status check, judging its answer for the
//! machine, noticing a new broadcast, and keeping the title and streamer current.

use std::time::Instant;

use tracing::Instrument;

use super::{Child, POLL_TIMEOUT, Supervisor, jitter};
use crate::cluster::Turn;
use crate::platform::limiter::meter::timeout_active;
use crate::platform::limiter::{Lane, RESUME_JITTER, in_lane};
use crate::platform::{Platform, PlatformError, RoomSpec, RoomStatus};
use crate::room::state::{Do, Probe};
use crate::writer::handle::Control;

impl Supervisor {
    pub(super) async fn on_poll(&mut self, res: Result<RoomStatus, PlatformError>) -> Vec<Do> {
        let now = super::now();
        let result = match &res {
            Ok(s) if s.live && s.unrecordable.is_some() => "unrecordable",
            Ok(s) if s.live => "live",
            Ok(_) => "offline",
            Err(PlatformError::NotFound(_)) => "not_found",
            Err(PlatformError::Blocked(_)) => "blocked",
            Err(PlatformError::Unsupported(_)) => "unrecordable",
            Err(_) => "error",
        };
        crate::metrics::count(
            "liverec_poll_requests_total",
            "Status checks of rooms, by platform and result.",
            &[("platform", self.key.platform.as_str()), ("result", result)],
            1,
        );
        let probe = match res {
            Ok(status) => {
                self.logged_error = None;
                self.update_meta(&status);
                match (&status.unrecordable, status.live) {
                    (Some(why), true) => Probe::Unrecordable(why.clone()),
                    (None, true) => {
                        if let Some(steps) = self.check_broadcast(&status, now) {
                            return steps;
                        }
                        match self.title_refusal() {
                            Some(why) => Probe::Skip(why),
                            None => Probe::Live,
                        }
                    }
                    (_, false) => Probe::Offline,
                }
            }
            // A fact about the live, reported once by the machine, not a failing poll.
            Err(PlatformError::Unsupported(why)) => {
                self.logged_error = None;
                Probe::Unrecordable(why)
            }
            Err(e) => {
                let text = e.to_string();
                if self.logged_error.as_deref() != Some(&text) {
                    tracing::warn!("status check failed: {text}");
                    self.logged_error = Some(text.clone());
                } else {
                    tracing::debug!("status check failed again: {text}");
                }
                self.snap.last_error = Some(text.clone());
                let resume = self.deps.platform.resume_at().filter(|t| *t > now);
                match (e, resume) {
                    // A fact about the room: keep watching it, but it is not live.
                    (PlatformError::NotFound(_), _) => Probe::Offline,
                    // Nothing can be asked before the backoff ends; ask right then.
                    (PlatformError::Blocked(_), Some(end)) => Probe::Paused {
                        reason: text,
                        until: end + jitter(RESUME_JITTER),
                    },
                    _ => Probe::Unknown(text),
                }
            }
        };
        self.machine.on_poll(probe, now)
    }

    /// A live answer naming another broadcast than the open session's ends that session and
    /// starts the next.
    pub(super) fn check_broadcast(&mut self, status: &RoomStatus, now: Instant) -> Option<Vec<Do>> {
        if !status.live {
            return None;
        }
        let new = status.session_hint.clone()?;
        if self.last_hint.as_ref() != Some(&new) {
            self.to_chat(crate::chat::ChatCmd::Broadcast(Some(new.clone())));
            if self.last_hint.is_some() && self.machine.limit_reached() {
                tracing::info!("a new broadcast began: the session limit applies to it afresh");
                self.machine.clear_limit();
            }
        }
        self.last_hint = Some(new.clone());
        self.session.as_ref()?;
        match &self.session_hint {
            None => {
                self.session_hint = Some(new);
                None
            }
            Some(old) if *old != new => {
                tracing::info!(
                    "a new broadcast began (session hint {old} -> {new}): closing this session and starting the next"
                );
                self.session_hint = None;
                Some(self.machine.on_new_broadcast(now))
            }
            Some(_) => None,
        }
    }

    pub(super) fn update_meta(&mut self, status: &RoomStatus) {
        let changed = (!status.title.is_empty() && status.title != self.snap.title)
            || (!status.streamer.is_empty() && status.streamer != self.snap.streamer);
        if !status.title.is_empty() {
            self.snap.title = status.title.clone();
        }
        if !status.streamer.is_empty() {
            self.snap.streamer = status.streamer.clone();
        }
        if status.cover.is_some() {
            self.cover_url.clone_from(&status.cover);
        }
        if changed {
            if let Some(writer) = self.session.as_ref().and_then(|s| s.writer.as_ref()) {
                writer.control(Control::Meta(self.room_ref()));
            }
        }
    }

    pub(super) fn start_poll(&mut self) {
        if self.poll.is_some() {
            return;
        }
        if !self.machine.in_session() {
            if let Err(turn) = self.deps.cluster.turn(&self.key.to_string()) {
                let recorded_by = match turn {
                    Turn::RecordedBy(i) => Some(format!("recorded by {i}")),
                    Turn::PolledBy(_) | Turn::Mine => None,
                };
                self.machine.on_not_ours(recorded_by, super::now());
                return;
            }
        }
        self.machine.on_poll_started();
        let platform = self.deps.platform.clone();
        let spec = self.spec();
        let unrecordable = self.machine.is_unrecordable();
        // A room with a session open is live: its checks go before idle rooms' polls.
        let lane = if self.machine.in_session() {
            Lane::Live
        } else {
            Lane::Idle
        };
        self.poll = Some(Child(tokio::spawn(
            in_lane(lane, async move {
                let check = check_status(platform.as_ref(), &spec, unrecordable);
                timeout_active(POLL_TIMEOUT, check)
                    .await
                    .unwrap_or_else(|o| Err(PlatformError::Network(format!("status check {o}"))))
            })
            .in_current_span(),
        )));
    }
}

/// The room's status. While the live was last found not recordable, the stream list is asked
/// for as well: some lives show it only there (a guard-only live offers an empty list), and a
/// session must not be opened (and `live_start` raised) only to find that out again.
async fn check_status(
    platform: &dyn Platform,
    spec: &RoomSpec,
    unrecordable: bool,
) -> Result<RoomStatus, PlatformError> {
    let status = platform.status(spec).await?;
    if !unrecordable || !status.live || status.unrecordable.is_some() {
        return Ok(status);
    }
    match platform.sources(spec).await {
        Err(PlatformError::Unsupported(why)) => Ok(RoomStatus {
            unrecordable: Some(why),
            ..status
        }),
        // Anything else is for a recording attempt to find out.
        _ => Ok(status),
    }
}
