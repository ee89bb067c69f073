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

#[derive(Debug, Clone, Copy)]
struct TrackState {
    last: Option<i64>,
    /// Smoothed frame interval in ms.
    interval: i64,
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
    audio: TrackState,
    video: TrackState,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            offset: 0,
            audio: TrackState {
                last: None,
                interval: DEFAULT_AUDIO_MS,
            },
            video: TrackState {
                last: None,
                interval: DEFAULT_VIDEO_MS,
            },
        }
    }
}

impl Timeline {
    fn state(&mut self, t: Track) -> &mut TrackState {
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

    pub(crate) fn interval(&self, t: Track) -> i64 {
        match t {
            Track::Audio => self.audio.interval,
            Track::Video => self.video.interval,
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
        let s = self.state(t);
        let step = out - last;
        if fix == Fix::None && (1..=200).contains(&step) {
            s.interval = ((s.interval * 7 + step) / 8).clamp(1, 200);
        }
        s.last = Some(out);
        (out, fix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[(Track, i32)]) -> Vec<i64> {
        let mut t = Timeline::default();
        input.iter().map(|&(k, ts)| t.map(k, ts).0).collect()
    }

    use Track::{Audio as A, Video as V};

    #[test]
    fn a_clean_stream_is_untouched() {
        let input: Vec<_> = (0..100).flat_map(|i| [(V, i * 33), (A, i * 23)]).collect();
        let out = run(&input);
        assert!(
            out.iter()
                .zip(&input)
                .all(|(o, (_, i))| *o == i64::from(*i))
        );
    }

    #[test]
    fn a_reset_to_zero_continues_from_the_last_timestamp() {
        let mut input: Vec<_> = (0..30)
            .flat_map(|i| [(V, 10_000 + i * 33), (A, 10_000 + i * 23)])
            .collect();
        input.extend((0..30).flat_map(|i| [(V, i * 33), (A, i * 23)]));
        let out = run(&input);
        // After the reset, video continues at last + 33 and audio stays next to it.
        let v_last = 10_000 + 29 * 33;
        assert_eq!(out[60], i64::from(v_last) + 33);
        assert!((out[61] - out[60]).abs() < 100, "{:?}", &out[58..64]);
        for w in out.iter().step_by(2).collect::<Vec<_>>().windows(2) {
            assert!(w[1] >= w[0]);
        }
    }

    #[test]
    fn an_hours_long_jump_ahead_is_removed() {
        let mut input: Vec<_> = (0..10).flat_map(|i| [(V, i * 33), (A, i * 23)]).collect();
        input.extend((0..10).flat_map(|i| [(V, 7_200_000 + i * 33), (A, 7_200_000 + i * 23)]));
        let out = run(&input);
        assert!(*out.iter().max().unwrap() < 1_000);
    }

    #[test]
    fn a_gap_in_one_track_is_not_a_jump() {
        let mut input: Vec<(Track, i32)> = (0..60).map(|i| (V, i * 33)).collect();
        input.insert(0, (A, 0));
        // Audio resumes after 1.5 s of silence, in step with video.
        input.push((A, 1_500));
        let out = run(&input);
        assert_eq!(*out.last().unwrap(), 1_500);
    }

    #[test]
    fn a_rewind_under_a_second_continues_at_the_frame_rate() {
        for back in [300, 800] {
            let mut input: Vec<_> = (0..30)
                .flat_map(|i| [(V, 5_000 + i * 33), (A, 5_000 + i * 23)])
                .collect();
            let v_last = 5_000 + 29 * 33;
            input.extend(
                (0..30).flat_map(|i| [(V, v_last - back + i * 33), (A, v_last - back + i * 23)]),
            );
            let out = run(&input);
            let video: Vec<i64> = out.iter().step_by(2).copied().collect();
            // No pile-up: every video step after the rewind is a frame interval again.
            for w in video[29..].windows(2) {
                assert!(
                    (20..=50).contains(&(w[1] - w[0])),
                    "-{back} ms: {:?}",
                    &video[27..35]
                );
            }
            assert!(
                (out[61] - out[60]).abs() < 100,
                "A/V stay together: {:?}",
                &out[58..64]
            );
        }
    }

    #[test]
    fn small_rebounds_are_clamped_and_wraps_saturate() {
        let out = run(&[(V, 100), (V, 90), (V, 133)]);
        assert_eq!(out, [100, 101, 133]);
        let out = run(&[(V, i32::MAX - 10), (V, i32::MIN), (V, i32::MIN + 33)]);
        assert!(out.windows(2).all(|w| w[1] > w[0]), "{out:?}");
    }
}
