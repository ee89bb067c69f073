//! The "live but nothing written" alert: when it becomes due, and what it says.

use std::time::Instant;

use super::{Machine, Phase, REALERT};

impl Machine {
    /// The next time an alert could become due, if the room is live and not writing.
    pub(super) fn alert_due(&self) -> Option<Instant> {
        let since = self.live_since?;
        let not_writing = match &self.phase {
            Phase::Attempt { flowing, .. } => !flowing,
            Phase::Waiting { elsewhere, .. } => !elsewhere,
            Phase::Deciding | Phase::Backoff { .. } => true,
            Phase::Idle
            | Phase::Disabled
            | Phase::Grace { .. }
            | Phase::Unrecordable { .. }
            | Phase::Skipped { .. } => false,
        };
        if !not_writing {
            return None;
        }
        let base = self.last_flow.map_or(since, |f| f.max(since));
        Some(match self.alerted_at {
            None => base + self.timing.alert_after,
            Some(at) => at + REALERT,
        })
    }

    pub(super) fn alert_reason(&self) -> String {
        let what = match &self.phase {
            Phase::Waiting { reason, .. } => format!("waiting: {reason}"),
            _ => self
                .last_error
                .clone()
                .unwrap_or_else(|| "no bytes from the stream".into()),
        };
        format!(
            "live but nothing written for {}: {what}",
            crate::util::units::format_duration(self.timing.alert_after)
        )
    }
}
