//! One GOP of tags waiting to be written, and the fingerprints that spot a CDN replaying data.

use std::hash::Hasher;

use crate::media::flv::Tag;

/// A GOP buffer never holds more than this; a stream without (recognisable) keyframes is
/// flushed in pieces of this size instead of growing a buffer.
const MAX_GOP_TAGS: usize = 8192;
const MAX_GOP_BYTES: usize = 32 << 20;
/// Streams without keyframes to align to (audio-only, or keyframes never recognised) are
/// written in pieces of about this much media time.
const UNALIGNED_PIECE_MS: i64 = 1000;

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

    /// Whether the buffer must be written now, before its GOP ends: it is full, or, without a
    /// keyframe to align to (`aligned`: the stream has video and this GOP starts with a
    /// keyframe), it holds a piece of about a second, since there is nothing to wait for.
    pub(super) fn must_flush(&self, aligned: bool) -> bool {
        self.tags.len() >= MAX_GOP_TAGS
            || self.bytes >= MAX_GOP_BYTES
            || (!aligned && self.span_ms() >= UNALIGNED_PIECE_MS)
    }

    /// A cheap fingerprint of the whole GOP (see [`tag_fingerprint`]).
    pub(super) fn fingerprint(&self) -> u64 {
        let mut h = Mix(0);
        h.write_usize(self.tags.len());
        for (tag, _) in &self.tags {
            h.write_u64(tag_fingerprint(tag));
        }
        h.finish()
    }

    pub(super) fn tag_fingerprints(&self) -> Vec<u64> {
        self.tags.iter().map(|(t, _)| tag_fingerprint(t)).collect()
    }

    /// Whether this GOP is a beginning of the tags `whole` fingerprints.
    pub(super) fn is_prefix_of(&self, whole: &[u64]) -> bool {
        self.tags.len() <= whole.len()
            && self
                .tags
                .iter()
                .zip(whole)
                .all(|((t, _), fp)| tag_fingerprint(t) == *fp)
    }

    /// Whether this GOP starts with exactly the tags `prefix` fingerprints.
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
/// timestamps, and is not a replay. This runs for every tag, so it mixes 8 bytes at a time.
pub(super) fn tag_fingerprint(tag: &Tag) -> u64 {
    let b = &tag.body;
    let mut h =
        Mix(u64::from(tag.kind as u8) << 56 ^ (tag.timestamp as u32 as u64) << 24 ^ b.len() as u64);
    h.write(&b[..b.len().min(32)]);
    h.write(&b[b.len().saturating_sub(32)..]);
    h.finish()
}

/// A multiply-rotate mix (as in FxHash), fed 8 bytes at a time. Not for hostile collision
/// resistance: a collision only drops a GOP that looks replayed in timestamps, sizes and bytes.
pub(super) struct Mix(pub(super) u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for Mix {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests;
