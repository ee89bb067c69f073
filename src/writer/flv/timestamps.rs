//! Timestamp repair for the pipeline: each frame's source timestamp mapped onto one continuous
//! timeline ([`Timeline`]), with the repairs logged (a few per connection, then counted).

use crate::media::flv::Tag;
use crate::media::flv::tag::TagKind;
use crate::media::flv::timeline::{Fix, Timeline, Track};

/// Timestamp repairs logged per connection (then only counted).
const LOGGED_FIXES: u32 = 5;

#[derive(Default)]
pub(super) struct TimestampRepair {
    timeline: Timeline,
    /// Jumps repaired in this connection.
    fixes: u32,
}

impl TimestampRepair {
    /// The repaired timestamp of an audio or video frame.
    pub(super) fn map(&mut self, tag: &Tag) -> i64 {
        let track = if tag.kind == TagKind::Video {
            Track::Video
        } else {
            Track::Audio
        };
        let (ts, fix) = self.timeline.map(track, tag.timestamp);
        if let Fix::Jump(by) = fix {
            self.fixes += 1;
            if self.fixes <= LOGGED_FIXES {
                tracing::info!(
                    "timestamp jump of {by} ms in the source repaired (continuing at {ts} ms)"
                );
            }
        }
        ts
    }

    /// A spliced stream starts: it has its own clock, and starts a file of its own.
    pub(super) fn restart(&mut self) {
        self.timeline = Timeline::default();
    }

    /// The connection ended: the next one starts a clock of its own.
    pub(super) fn end_connection(&mut self) {
        if self.fixes > LOGGED_FIXES {
            tracing::info!("{} timestamp jumps repaired in this connection", self.fixes);
        }
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests;
