//! When a recording is "degraded": bytes flow, but from a source below the quality the room
//! wants (a capped Bilibili answer, a lower Douyin quality tried after the wanted one failed).
//! A pure rule on injected times: below the wanted quality for `after` while recording raises
//! it once; recording at the wanted quality again ends it. A gap in the recording (a
//! reconnect) restarts a pending minute but keeps a raised state: one event per change, not
//! per reconnect.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::event::QualityRef;

/// What the room records now, as the tracker sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen<'a> {
    /// Nothing flows (connecting, between attempts).
    NotRecording,
    /// Bytes flow from a source at the wanted quality.
    Wanted,
    /// Bytes flow from a source below it.
    Below(&'a QualityRef),
}

/// A change worth an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// `quality_degraded`: below the wanted quality for the whole of `after`.
    Degraded(QualityRef),
    /// `recording_recovered`: at the wanted quality again; what was recorded until now.
    Recovered(QualityRef),
}

/// A room's degraded state, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Degraded {
    /// When the room began recording below the wanted quality.
    pub(crate) since: DateTime<FixedOffset>,
    pub(crate) reason: String,
    pub(crate) wanted: String,
    pub(crate) recorded: String,
}

impl Degraded {
    pub(crate) fn reason(q: &QualityRef) -> String {
        format!(
            "recording {}, below the wanted quality {}",
            q.recorded, q.wanted
        )
    }
}

#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// Since when (monotonic and wall clock) bytes have flowed below the wanted quality.
    below_since: Option<(Instant, DateTime<FixedOffset>)>,
    raised: Option<Degraded>,
}

impl Tracker {
    /// Takes one observation at `now` (`wall` is the same instant on the wall clock); says
    /// what changed.
    pub(crate) fn observe(
        &mut self,
        seen: Seen<'_>,
        after: Duration,
        now: Instant,
        wall: DateTime<FixedOffset>,
    ) -> Option<Change> {
        match seen {
            Seen::NotRecording => {
                self.below_since = None;
                None
            }
            Seen::Wanted => {
                self.below_since = None;
                let was = self.raised.take()?;
                Some(Change::Recovered(QualityRef {
                    wanted: was.wanted,
                    recorded: was.recorded,
                }))
            }
            Seen::Below(q) => {
                let (since, since_wall) = *self.below_since.get_or_insert((now, wall));
                if let Some(r) = self.raised.as_mut() {
                    // Still degraded, maybe at another level: shown, not raised again.
                    r.recorded.clone_from(&q.recorded);
                    r.reason = Degraded::reason(q);
                    return None;
                }
                if now.saturating_duration_since(since) < after {
                    return None;
                }
                self.raised = Some(Degraded {
                    since: since_wall,
                    reason: Degraded::reason(q),
                    wanted: q.wanted.clone(),
                    recorded: q.recorded.clone(),
                });
                Some(Change::Degraded(q.clone()))
            }
        }
    }

    /// The raised state, for `status`.
    pub(crate) fn state(&self) -> Option<&Degraded> {
        self.raised.as_ref()
    }

    /// The session ended: its quality is no longer a state of the room (`live_end` says so).
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests;
