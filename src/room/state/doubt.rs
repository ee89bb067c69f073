//! Answers that are neither "live" nor "offline": the platform did not say (an error, a
//! backoff) or said the live cannot be recorded. Neither may end a recording that flows, and
//! neither may keep a session open forever.

use std::time::Instant;

use super::{Do, Machine, Phase};

impl Machine {
    /// An answer that says nothing about the room. `until`: the platform is backing off until
    /// then, so the next poll or reconnect waits for that instant (and no longer).
    pub(super) fn on_unknown(
        &mut self,
        err: String,
        until: Option<Instant>,
        now: Instant,
    ) -> Vec<Do> {
        self.last_error = Some(err);
        let mut out = Vec::new();
        match self.phase {
            // A live room stays "live" until the platform says otherwise, and a reconnect is
            // the only way to find out.
            Phase::Deciding => match until {
                Some(at) => {
                    // Waiting out a backoff is not a failed attempt.
                    self.failures = 0;
                    self.phase = Phase::Backoff { at: at.max(now) };
                }
                None => self.schedule_reconnect(now),
            },
            // The last real answer was "offline"; not knowing more does not extend the grace.
            Phase::Grace { .. } => {
                self.next_poll = Some(now + self.grace_poll());
                out.extend(self.check_grace(now));
            }
            _ => {}
        }
        if let Some(at) = until {
            self.next_poll = Some(at.max(now));
        }
        let waiting_for_stream = matches!(
            self.phase,
            Phase::Deciding | Phase::Backoff { .. } | Phase::Attempt { flowing: false, .. }
        );
        if self.in_session && waiting_for_stream {
            self.unknown_since.get_or_insert(now);
            out.extend(self.check_unknown(now));
        }
        out
    }

    /// Ends a session that has had neither a stream nor a real answer for `offline_grace`.
    pub(super) fn check_unknown(&mut self, now: Instant) -> Vec<Do> {
        match self.unknown_deadline() {
            Some(deadline) if now >= deadline => {
                let reason = format!(
                    "no stream, and the live status stayed unknown for {}: {}",
                    crate::util::units::format_duration(self.timing.offline_grace),
                    self.last_error.as_deref().unwrap_or("no answer")
                );
                self.end_session(now);
                self.live_since = None;
                self.alerted_at = None;
                vec![Do::EndSession(Some(reason))]
            }
            _ => Vec::new(),
        }
    }

    /// Live, but not recordable: an open session ends, no new one starts, and the reason is
    /// reported once. Polls go on at `poll_interval`.
    pub(super) fn on_unrecordable(&mut self, reason: String, now: Instant) -> Vec<Do> {
        if matches!(self.phase, Phase::Attempt { .. } | Phase::Disabled) {
            // A late answer while an attempt runs: the attempt finds out for itself.
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.in_session {
            self.end_session(now);
            out.push(Do::EndSession(Some(format!("not recordable: {reason}"))));
        }
        self.live_since = None;
        self.alerted_at = None;
        self.unknown_since = None;
        self.next_poll = Some(self.routine_poll(now));
        if self.unrecordable_reported.as_deref() != Some(reason.as_str()) {
            self.unrecordable_reported = Some(reason.clone());
            out.push(Do::NotRecordable(reason.clone()));
        }
        self.phase = Phase::Unrecordable { reason };
        out
    }

    /// The attempt ended because the platform will not hand out a stream that can be recorded.
    pub(crate) fn on_attempt_unrecordable(&mut self, reason: String, now: Instant) -> Vec<Do> {
        if matches!(self.phase, Phase::Attempt { .. }) {
            self.phase = Phase::Deciding;
        }
        self.on_unrecordable(reason, now)
    }

    pub(crate) fn is_unrecordable(&self) -> bool {
        matches!(self.phase, Phase::Unrecordable { .. })
    }
}
