//! Where a chat message goes on the video: the offset from its segment's start, on the media
//! timeline rather than the wall clock.
//!
//! The issue asks for chat times that follow the media timeline across a reconnect. liverec
//! repairs timestamps when a stream reconnects inside a segment, so the media time resumes where
//! it stopped while the wall clock has jumped by the outage; a plain "seconds since the file
//! opened" (BililiveRecorder, biliup) would then put every later message late by the outage
//! length. DANMAKU.md §C.4 proposes anchors published by the sink; this is that rule:
//!
//! - The segment's offset 0 is the media time of its first frame.
//! - An anchor pairs a media time with the wall-clock instant it was reached: the segment's
//!   start, and each point where the media resumes after a reconnect (or any progress report).
//! - A message received at wall time `w` sits at `anchor.media + (w - anchor.wall)` on the media
//!   timeline, using the latest anchor; a message received before that anchor's instant (it
//!   was queued while the anchor was set) sits at the anchor.
//! - While the stream is lost (between `stream_lost` and `stream_resumed`) the media does not
//!   advance, so messages are pinned where it stopped: the video has no picture for them, and
//!   placing them at the resume point keeps them next to what was shown last.
//! - The offset is that position minus the segment's start, never negative.
//!
//! Without `stream_lost`, messages during an outage keep extrapolating from the old anchor and
//! land up to the outage's length after the resume point; everything after `stream_resumed` is
//! exact again. Offsets are therefore not forced to be monotonic; readers sort by time.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    media: Duration,
    wall: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: Duration,
    anchor: Anchor,
    /// The media position messages are pinned to while the stream is lost.
    stalled_at: Option<Duration>,
    /// When the stream was lost: marks from before then are not a resumption.
    lost_at: Option<Instant>,
}

/// One room's mapping from arrival times to the open segment's offsets.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    segment: Option<Segment>,
}

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// A segment opened (also at a split): its first frame has media time `media`, written at
    /// `wall`.
    pub fn open_segment(&mut self, media: Duration, wall: Instant) {
        self.segment = Some(Segment {
            start: media,
            anchor: Anchor { media, wall },
            stalled_at: None,
            lost_at: None,
        });
    }

    /// The segment was closed; messages until the next one have no place.
    #[cfg(test)]
    pub fn close_segment(&mut self) {
        self.segment = None;
    }

    /// The stream stopped delivering at `wall`; `last_media` is the media time of the last frame
    /// written, when the caller knows it (otherwise it is extrapolated to `wall`).
    pub fn stream_lost(&mut self, last_media: Option<Duration>, wall: Instant) {
        if let Some(segment) = &mut self.segment {
            if segment.stalled_at.is_none() {
                segment.stalled_at = Some(last_media.unwrap_or_else(|| segment.position(wall)));
                segment.lost_at = Some(wall);
            }
        }
    }

    /// The media timeline continues at `media` from `wall` on: after a reconnect inside the
    /// segment, or as a progress report that corrects wall-clock drift.
    pub fn stream_resumed(&mut self, media: Duration, wall: Instant) {
        if let Some(segment) = &mut self.segment {
            segment.anchor = Anchor { media, wall };
            segment.stalled_at = None;
            segment.lost_at = None;
        }
    }

    /// The writer wrote media up to `media` at `wall` (a progress mark): the timeline follows
    /// it, and a mark made after the stream was lost means it flows again. A mark from before
    /// the loss (media the writer held and wrote late) is not a resumption.
    pub fn mark(&mut self, media: Duration, wall: Instant) {
        let Some(segment) = &self.segment else { return };
        if segment.lost_at.is_some_and(|lost| wall <= lost) {
            return;
        }
        self.stream_resumed(media, wall);
    }

    /// The offset from the open segment's start of a message received at `wall`; `None` while
    /// no segment is open (such messages are dropped, as BililiveRecorder drops them).
    pub fn offset_at(&self, wall: Instant) -> Option<Duration> {
        let segment = self.segment.as_ref()?;
        Some(segment.position(wall).saturating_sub(segment.start))
    }
}

impl Segment {
    fn position(&self, wall: Instant) -> Duration {
        match self.stalled_at {
            Some(media) => media,
            None => self
                .anchor
                .media
                .saturating_add(wall.saturating_duration_since(self.anchor.wall)),
        }
    }
}

#[cfg(test)]
mod tests;
