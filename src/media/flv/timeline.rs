//! Timestamp repair: maps source timestamps onto one continuous, per-track monotonic timeline.
//!
//! A jump is detected per track but corrected with one offset for both tracks, so audio and
//! video stay in sync: a CDN that restarts its clock, or skips hours ahead, moves both tracks
//! at once, and the first tag of the new clock re-anchors the whole stream at "last timestamp
//! of its track + one frame interval". A gap in one track while the other keeps going is not a
//! jump (the stream's clock did not move) and is kept as is.

/// A forward step larger than this beyond everything seen so far is a jump.
pub(crate) const JUMP_MS: i64 = 1_000;
/// A step back within a track larger than this is a jump too. A track's DTS never goes back
/// legitimately, so anything beyond a few ms of rounding is the clock moving; clamping it
/// instead would pile the frames up 1 ms apart, a visible stutter.
pub(crate) const BACK_JUMP_MS: i64 = 100;
const DEFAULT_VIDEO_MS: i64 = 33;
const DEFAULT_AUDIO_MS: i64 = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Track {
    Audio,
    Video,
}

/// A track's last timestamp and its frame interval, smoothed over the steps between frames.
/// The timeline continues a jumped clock with it; a file's metadata ends its duration with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cadence {
    last: Option<i64>,
    /// Smoothed frame interval in ms.
    interval: i64,
}

impl Cadence {
    pub(crate) fn new(track: Track) -> Self {
        let interval = match track {
            Track::Audio => DEFAULT_AUDIO_MS,
            Track::Video => DEFAULT_VIDEO_MS,
        };
        Self {
            last: None,
            interval,
        }
    }

    pub(crate) fn interval(&self) -> i64 {
        self.interval
    }

    pub(crate) fn last(&self) -> Option<i64> {
        self.last
    }

    /// The track's next timestamp. Only a step of a plausible frame length (1 to 200 ms)
    /// refines the interval, and only when `learn` (a repaired step says nothing about it).
    pub(crate) fn advance(&mut self, ts: i64, learn: bool) {
        if let Some(last) = self.last {
            let step = ts - last;
            if learn && (1..=200).contains(&step) {
                self.interval = ((self.interval * 7 + step) / 8).clamp(1, 200);
            }
        }
        self.last = Some(ts);
    }
}

/// What happened to a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fix {
    None,
    /// The stream's clock jumped by this much (ms); the offset was re-anchored.
    Jump(i64),
    /// A small step backwards within a track, clamped to keep the track monotonic.
    Clamped,
}

#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    offset: i64,
    audio: Cadence,
    video: Cadence,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            offset: 0,
            audio: Cadence::new(Track::Audio),
            video: Cadence::new(Track::Video),
        }
    }
}

impl Timeline {
    fn state(&mut self, t: Track) -> &mut Cadence {
        match t {
            Track::Audio => &mut self.audio,
            Track::Video => &mut self.video,
        }
    }

    /// The latest output timestamp of any track.
    pub(crate) fn last(&self) -> Option<i64> {
        match (self.audio.last, self.video.last) {
            (Some(a), Some(v)) => Some(a.max(v)),
            (a, v) => a.or(v),
        }
    }

    /// Maps a source timestamp of track `t` to the output timeline.
    pub(crate) fn map(&mut self, t: Track, ts: i32) -> (i64, Fix) {
        let global = self.last();
        let cand = i64::from(ts).saturating_add(self.offset);
        let st = *self.state(t);
        let Some(last) = st.last else {
            // First tag of this track. If the other track is far away, the clock jumped
            // between them (or one track starts late by hours): anchor next to it.
            if let Some(g) = global {
                if (cand - g).abs() > JUMP_MS {
                    let target = g.saturating_add(st.interval);
                    self.offset = self.offset.saturating_add(target - cand);
                    self.state(t).last = Some(target);
                    return (target, Fix::Jump(cand - target));
                }
            }
            self.state(t).last = Some(cand);
            return (cand, Fix::None);
        };
        let g = global.unwrap_or(last);
        let (out, fix) =
            if cand > g.saturating_add(JUMP_MS) || cand < last.saturating_sub(BACK_JUMP_MS) {
                let target = last.saturating_add(st.interval);
                self.offset = self.offset.saturating_add(target - cand);
                (target, Fix::Jump(cand - target))
            } else if cand < last {
                (last + 1, Fix::Clamped)
            } else {
                (cand, Fix::None)
            };
        self.state(t).advance(out, fix == Fix::None);
        (out, fix)
    }
}

#[cfg(test)]
mod tests;
