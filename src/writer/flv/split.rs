//! When the FLV pipeline starts a new file: the split limits, and a reason the stream or the room
//! gave that waits for the next point where a file may start.

use super::gop::Gop;
use crate::segment::files::SegmentSpec;

/// When files are split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Milliseconds of media per file; 0 = no limit.
    pub duration_ms: i64,
    /// Bytes per file; 0 = no limit.
    pub size: u64,
}

impl Limits {
    pub(crate) fn from_spec(spec: &SegmentSpec) -> Self {
        Self {
            duration_ms: i64::try_from(spec.segment_duration.as_millis()).unwrap_or(i64::MAX),
            size: spec.segment_size,
        }
    }
}

pub(super) struct SplitPolicy {
    limits: Limits,
    /// Why the next file must start at the next GOP, whatever the limits say.
    pending: Option<String>,
}

impl SplitPolicy {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            pending: None,
        }
    }

    pub(super) fn limits(&self) -> Limits {
        self.limits
    }

    pub(super) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The stream changed in a way the current file cannot hold. The first reason is kept: it is
    /// the cause (a spliced stream brings new decoder headers too).
    pub(super) fn stream_changed(&mut self, reason: impl FnOnce() -> String) {
        self.pending.get_or_insert_with(reason);
    }

    /// The room asked for a new file.
    pub(super) fn request(&mut self) {
        self.pending = Some("a split was requested".into());
    }

    /// A file just opened: whatever was pending is done.
    pub(super) fn opened(&mut self) {
        self.pending = None;
    }

    /// Why `gop` must start a new file instead of going into the open one, which started at
    /// repaired timestamp `file_base` and holds `file_len` bytes. `aligned`: the GOP starts
    /// where a player can start (a keyframe, or any tag of an audio-only stream); an unaligned
    /// file is split only at twice the limits, since its cut is visible.
    pub(super) fn due(
        &mut self,
        gop: &Gop,
        aligned: bool,
        file_base: i64,
        file_len: u64,
    ) -> Option<String> {
        if let Some(reason) = self.pending.take() {
            return Some(reason);
        }
        let factor = if aligned { 1 } else { 2 };
        let elapsed = gop.first_ts() - file_base;
        let d = self.limits.duration_ms;
        if d > 0 && elapsed >= d.saturating_mul(factor) {
            return Some(format!(
                "segment_duration reached ({:.1}s)",
                elapsed as f64 / 1000.0
            ));
        }
        let s = self.limits.size;
        if s > 0 && file_len + gop.bytes as u64 > s.saturating_mul(factor as u64) {
            return Some(format!("segment_size reached ({file_len} bytes)"));
        }
        None
    }
}

#[cfg(test)]
mod tests;
