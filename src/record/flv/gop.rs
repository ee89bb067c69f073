//! One GOP of tags waiting to be written, and the fingerprints that spot a CDN replaying data.

use std::hash::Hasher;

use crate::media::flv::Tag;

#[derive(Default)]
pub(super) struct Gop {
    /// Each tag with its repaired timestamp.
    pub(super) tags: Vec<(Tag, i64)>,
    pub(super) bytes: usize,
    pub(super) starts_with_keyframe: bool,
}

impl Gop {
    pub(super) fn clear(&mut self) {
        self.tags.clear();
        self.bytes = 0;
        self.starts_with_keyframe = false;
    }

    pub(super) fn push(&mut self, tag: Tag, ts: i64) {
        if self.tags.is_empty() {
            self.starts_with_keyframe = tag.is_keyframe();
        }
        self.bytes += tag.encoded_len();
        self.tags.push((tag, ts));
    }

    pub(super) fn first_ts(&self) -> i64 {
        self.tags.iter().map(|(_, ts)| *ts).min().unwrap_or(0)
    }

    pub(super) fn span_ms(&self) -> i64 {
        let max = self.tags.iter().map(|(_, ts)| *ts).max().unwrap_or(0);
        max - self.first_ts()
    }

    /// A cheap fingerprint of the whole GOP (see [`tag_fingerprint`]).
    pub(super) fn fingerprint(&self) -> u64 {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        h.write_usize(self.tags.len());
        for (tag, _) in &self.tags {
            h.write_u64(tag_fingerprint(tag));
        }
        h.finish()
    }

    pub(super) fn tag_fingerprints(&self) -> Vec<u64> {
        self.tags.iter().map(|(t, _)| tag_fingerprint(t)).collect()
    }

    /// Whether this GOP starts with exactly the tags `prefix` fingerprints.
    pub(super) fn is_prefix_of(short: &Gop, held: &Held) -> bool {
        short.tags.len() <= held.fingerprints.len()
            && short
                .tags
                .iter()
                .zip(&held.fingerprints)
                .all(|((t, _), fp)| tag_fingerprint(t) == *fp)
    }

    pub(super) fn extends(&self, prefix: &[u64]) -> bool {
        self.tags.len() >= prefix.len()
            && self
                .tags
                .iter()
                .zip(prefix)
                .all(|((t, _), fp)| tag_fingerprint(t) == *fp)
    }
}

/// Source timestamp, size and a sample of the body. A CDN replaying its GOP cache sends the same
/// tags with the same timestamps; a static slate encoded twice has the same bytes but later
/// timestamps, and is not a replay. (FNV-1a: this runs for every tag, and needs no key.)
pub(super) fn tag_fingerprint(tag: &Tag) -> u64 {
    let b = &tag.body;
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write_u8(tag.kind as u8);
    h.write_i32(tag.timestamp);
    h.write_usize(b.len());
    h.write(&b[..b.len().min(32)]);
    h.write(&b[b.len().saturating_sub(32)..]);
    h.finish()
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The GOP a connection was cut in the middle of, kept back until the next connection shows
/// whether the CDN replays it in full (then the full one is written, in the next file) or not
/// (then this part ends the current file). Either way nothing is lost and nothing written twice.
pub(super) struct Held {
    pub(super) gop: Gop,
    pub(super) fingerprints: Vec<u64>,
}
