//! What the cluster tells a room's machine (`[cluster] backend = "etcd"`): an idle room that
//! another instance polls or records is not polled here, and a recorded room another instance
//! took over ends its session here.

use std::time::Instant;

use super::{Do, Machine, Phase};

impl Machine {
    /// The poll that was due is another instance's: none now, the next at the routine time.
    /// `recorded_by`: why the room waits, when another instance records it.
    pub(crate) fn on_not_ours(&mut self, recorded_by: Option<String>, now: Instant) {
        self.polling = false;
        self.next_poll = Some(self.routine_poll(now));
        if self.in_session || matches!(self.phase, Phase::Disabled) {
            return;
        }
        self.live_since = None;
        self.alerted_at = None;
        self.unrecordable_reported = None;
        self.phase = match recorded_by {
            Some(reason) => Phase::Waiting {
                reason,
                elsewhere: true,
            },
            None => Phase::Idle,
        };
    }

    /// Another instance owns the recorded room now: the session ends with `reason` (its file
    /// at the next keyframe, or `at_once` as `on_lease_loss = "stop"` asks), and the room
    /// waits while `to` records it.
    pub(crate) fn on_handed_over(
        &mut self,
        to: &str,
        reason: String,
        at_once: bool,
        now: Instant,
    ) -> Vec<Do> {
        if !self.in_session {
            return Vec::new();
        }
        self.end_session(now);
        self.live_since = None;
        self.alerted_at = None;
        self.phase = Phase::Waiting {
            reason: format!("recorded by {to}"),
            elsewhere: true,
        };
        if at_once {
            vec![Do::EndSession(Some(reason))]
        } else {
            vec![Do::StopSession(reason)]
        }
    }
}

#[cfg(test)]
mod tests;
