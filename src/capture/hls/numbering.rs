//! Telling a packager restart from an ordinary reload.
//!
//! A restarted packager numbers its segments afresh, often from 0. When the new numbers are
//! below the old window that is plain to see; when they are not (a stream restarted while it
//! was young), the playlist still gives it away: a sequence number seen before now names
//! another segment (another URI, duration or discontinuity sequence), the
//! `EXT-X-DISCONTINUITY-SEQUENCE` goes back, or the playlist ends before segments already
//! scheduled. A CDN edge serving an older copy of the playlist goes back too, but every segment
//! it shares with the last load is unchanged; such a load is set aside. Only a window that
//! starts at 0 or 1 and shows the same picture on the next load counts as a restart (a
//! packager that names segments by number, restarted young, looks like that).

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::media::m3u8::MediaPlaylist;

/// Packagers number from 0 (ffmpeg) or 1.
const FIRST_NUMBERS: u64 = 1;
/// EXTINF values that differ by more than this name different segments.
const DURATION_SLACK: f64 = 0.0005;

/// What one load said about its segments, to compare with the next load.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Loaded {
    first: u64,
    discontinuity_sequence: u64,
    segments: Vec<Print>,
}

/// One segment as a load lists it. The URI's query is left out: CDNs sign it afresh at every
/// load.
#[derive(Debug, Clone, PartialEq)]
struct Print {
    /// Hash of the URI path and byte range.
    resource: u64,
    duration: f64,
    /// The segment's discontinuity sequence number (RFC 8216 §6.2.2).
    discontinuity: u64,
}

impl Print {
    fn same_segment(&self, other: &Print) -> Result<(), &'static str> {
        if self.resource != other.resource {
            Err("another URI")
        } else if self.discontinuity != other.discontinuity {
            Err("another discontinuity sequence")
        } else if (self.duration - other.duration).abs() > DURATION_SLACK {
            Err("another duration")
        } else {
            Ok(())
        }
    }
}

impl Loaded {
    pub(super) fn of(p: &MediaPlaylist) -> Self {
        let mut discontinuity = p.discontinuity_sequence;
        let segments = p
            .segments
            .iter()
            .map(|s| {
                if s.discontinuity {
                    discontinuity = discontinuity.saturating_add(1);
                }
                let mut h = DefaultHasher::new();
                s.uri.path().hash(&mut h);
                s.byterange.hash(&mut h);
                Print {
                    resource: h.finish(),
                    duration: s.duration,
                    discontinuity,
                }
            })
            .collect();
        Self {
            first: p.media_sequence,
            discontinuity_sequence: p.discontinuity_sequence,
            segments,
        }
    }

    fn last(&self) -> Option<u64> {
        let n = self.segments.len() as u64;
        (n > 0).then(|| self.first + n - 1)
    }

    fn get(&self, sequence: u64) -> Option<&Print> {
        let i = sequence.checked_sub(self.first)?;
        self.segments.get(usize::try_from(i).ok()?)
    }
}

/// How a load relates to the previous one.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// The same numbering (it may have moved on).
    Same,
    /// The packager restarted: a new numbering, for this reason.
    Restart(String),
    /// Older than what was already seen, with every segment unchanged: probably a stale copy
    /// from a CDN edge. Not used; the same on the next load is a restart.
    Stale(String),
}

/// Compares a new load with the previous one. `next` is the next sequence number to schedule;
/// `stale_before` says the previous load was set aside as stale.
pub(super) fn judge(
    prev: Option<&Loaded>,
    new: &Loaded,
    next: Option<u64>,
    stale_before: bool,
) -> Verdict {
    let Some(prev) = prev else {
        return Verdict::Same;
    };
    let mut overlap = 0;
    for (i, print) in new.segments.iter().enumerate() {
        let sequence = new.first + i as u64;
        if let Some(old) = prev.get(sequence) {
            if let Err(what) = old.same_segment(print) {
                return Verdict::Restart(format!("media sequence {sequence} now names {what}"));
            }
            overlap += 1;
        }
    }
    let behind = if new.first < prev.first {
        Some(format!(
            "media sequence went back from {} to {}",
            prev.first, new.first
        ))
    } else if new.discontinuity_sequence < prev.discontinuity_sequence {
        Some(format!(
            "EXT-X-DISCONTINUITY-SEQUENCE went back from {} to {}",
            prev.discontinuity_sequence, new.discontinuity_sequence
        ))
    } else {
        match (new.last(), next) {
            (Some(last), Some(next)) if last.saturating_add(1) < next => Some(format!(
                "playlist ends at media sequence {last}, before {} already scheduled",
                next - 1
            )),
            _ => None,
        }
    };
    match behind {
        None => Verdict::Same,
        // Going back with nothing in common with what was seen: a new numbering.
        Some(why) if overlap == 0 => Verdict::Restart(why),
        // Unchanged segments, twice in a row, in a window that starts where packagers start
        // numbering. Anything else stays a stale copy: taking a long window again would
        // record what is already recorded (if the playlist never moves on, the attempt ends
        // as stalled and the next one starts afresh).
        Some(why) if stale_before && new.first <= FIRST_NUMBERS => Verdict::Restart(why),
        Some(why) => Verdict::Stale(why),
    }
}
