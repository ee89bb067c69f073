//! Lives that are not recorded, and the recording rules' part of the machine. A live the
//! platform will not hand out is *unrecordable*; one a rule turns down is *skipped* (its title,
//! or a session that reached `max_session_duration`: no new session until the room is seen
//! offline or a new broadcast starts). Outside every `record_window` the room is *parked*: no
//! poll runs while no session is open, and answers already asked for are dropped; at the
//! window's start it polls at once. The supervisor owns the wall clock and says when a window
//! opens or closes ([`Machine::on_window`]).

use std::time::Instant;

use super::{Do, Machine, Phase};

/// What the recording rules keep between steps.
#[derive(Debug, Default)]
pub(crate) struct RuleState {
    /// Outside every window.
    outside: bool,
    /// Since when the open session has written (its recorded time counts from there).
    recording_since: Option<Instant>,
    /// A session reached its limit: this live is not recorded again.
    limit_reached: bool,
}

impl RuleState {
    pub(super) fn session_ended(&mut self) {
        self.recording_since = None;
    }

    pub(super) fn flowing(&mut self, now: Instant) {
        self.recording_since.get_or_insert(now);
    }

    /// The room was seen offline: the next live is a new one. (Also when a reload lifts the
    /// limit: the rest of the live may be recorded.)
    pub(super) fn live_ended(&mut self) {
        self.limit_reached = false;
    }
}

impl Machine {
    /// A rule turns this live down: no session starts (an open one is never cut by it).
    pub(super) fn on_skip(&mut self, reason: String) {
        if self.in_session || matches!(self.phase, Phase::Attempt { .. } | Phase::Disabled) {
            return;
        }
        self.live_since = None;
        self.alerted_at = None;
        self.phase = Phase::Skipped { reason };
    }

    pub(crate) fn is_skipped(&self) -> bool {
        matches!(self.phase, Phase::Skipped { .. })
    }

    /// Outside every window with no session open: nothing is asked.
    pub(super) fn parked(&self) -> bool {
        self.rules.outside && !self.in_session
    }

    pub(crate) fn is_outside(&self) -> bool {
        self.rules.outside
    }

    /// The session limit was reached for this live: it stays skipped (see `judge`).
    pub(super) fn limit_holds(&mut self) -> bool {
        if !self.rules.limit_reached || self.in_session {
            return false;
        }
        if !matches!(self.phase, Phase::Attempt { .. } | Phase::Disabled) {
            self.phase = Phase::Skipped {
                reason: LIMIT_REACHED.into(),
            };
        }
        true
    }

    pub(crate) fn limit_reached(&self) -> bool {
        self.rules.limit_reached
    }

    /// A new broadcast began after the limit was reached: it may be recorded.
    pub(crate) fn clear_limit(&mut self) {
        self.rules.limit_reached = false;
    }

    /// When the open session reaches `max_session_duration`.
    pub(super) fn limit_due(&self) -> Option<Instant> {
        let since = self.rules.recording_since?;
        let limit = self.timing.max_session;
        (self.in_session && !limit.is_zero()).then(|| since + limit)
    }

    /// Ends the session that reached its limit; the room then skips this live.
    pub(super) fn check_limit(&mut self, now: Instant) -> Vec<Do> {
        match self.limit_due() {
            Some(due) if now >= due => {
                self.end_session(now);
                self.rules.limit_reached = true;
                self.alerted_at = None;
                self.phase = Phase::Skipped {
                    reason: LIMIT_REACHED.into(),
                };
                vec![Do::StopSession(format!(
                    "max_session_duration ({}) reached",
                    crate::util::units::format_duration(self.timing.max_session)
                ))]
            }
            _ => Vec::new(),
        }
    }

    /// A window opened (`inside`) or closed. Closing parks an idle room at once; a session in
    /// progress goes on to its end, or ends now when `stop` (`at_window_end = "stop"`). Opening
    /// polls at once.
    pub(crate) fn on_window(&mut self, inside: bool, stop: bool, now: Instant) -> Vec<Do> {
        let was_outside = std::mem::replace(&mut self.rules.outside, !inside);
        // Nothing changed (a reload that kept the window, a recheck).
        if self.phase == Phase::Disabled || was_outside != inside {
            return Vec::new();
        }
        if inside {
            self.next_poll = Some(now);
            return self.on_timer(now);
        }
        let mut out = Vec::new();
        if self.in_session {
            if !stop {
                return out;
            }
            self.end_session(now);
            out.push(Do::StopSession(WINDOW_ENDED.into()));
        }
        // Nothing of the live before the window closed carries over to the next window.
        self.phase = Phase::Idle;
        self.live_since = None;
        self.alerted_at = None;
        self.unknown_since = None;
        self.unrecordable_reported = None;
        self.live_hint_until = None;
        self.rules.limit_reached = false;
        out
    }
}

/// What a room that reached its session limit shows.
pub(crate) const LIMIT_REACHED: &str = "session limit reached (max_session_duration)";
/// `live_end`'s error when `at_window_end = "stop"` ends a session.
pub(crate) const WINDOW_ENDED: &str = "record_window ended (at_window_end = \"stop\")";

#[cfg(test)]
mod tests;
