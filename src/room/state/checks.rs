//! Asking sooner than the poll interval: a check on request (an operator, a media server's
//! hook, a pushed room event), a pushed live start and the answers that lag behind it. These
//! polls are off the room's slot of the platform's schedule (`room::schedule`).

use std::time::{Duration, Instant};

use super::{Do, Machine, Phase};

/// After a pushed live start, an answer that does not see the live yet is asked again this
/// often...
pub(super) const LIVE_HINT_EVERY: Duration = Duration::from_secs(5);
/// ...for this long.
pub(super) const LIVE_HINT_FOR: Duration = Duration::from_secs(60);

impl Machine {
    /// An "offline" answer while there is reason to think the room is live: ask again at once
    /// (the answer may predate the reason) or soon (a push the API has not caught up with).
    pub(super) fn follow_up(&mut self, recheck: bool, now: Instant) {
        self.live_hint_until = self.live_hint_until.filter(|until| *until > now);
        let soon = if recheck {
            now
        } else if self.live_hint_until.is_some() {
            now + LIVE_HINT_EVERY
        } else {
            return;
        };
        if self.next_poll.is_none_or(|t| t > soon) {
            self.next_poll = Some(soon);
        }
    }

    /// A poll now (an operator, a media server's hook, a pushed room event). With one in
    /// flight, its answer is followed by another if it says offline. Between reconnects too:
    /// an "offline" then starts the grace instead of the next attempt (a live that ended is
    /// not reconnected to for the rest of the backoff). A running attempt is not polled for:
    /// no answer would change it, and its end polls anyway.
    pub(crate) fn on_check_now(&mut self, now: Instant) -> Vec<Do> {
        if self.phase == Phase::Disabled {
            return Vec::new();
        }
        self.recheck = self.polling;
        self.next_poll = Some(now);
        let mut out = self.on_timer(now);
        if matches!(self.phase, Phase::Backoff { .. }) && !self.polling && !out.contains(&Do::Poll)
        {
            out.push(Do::Poll);
        }
        out
    }

    /// The platform pushed a live start: poll now, and keep asking every [`LIVE_HINT_EVERY`]
    /// for [`LIVE_HINT_FOR`] while the answers lag behind the push.
    pub(crate) fn on_live_pushed(&mut self, now: Instant) -> Vec<Do> {
        if self.phase == Phase::Disabled {
            return Vec::new();
        }
        self.live_hint_until = Some(now + LIVE_HINT_FOR);
        self.on_check_now(now)
    }
}
