//! An incremental FLV parser: fed chunks of any size, it yields the file header, tags, and the
//! garbage it had to skip. It never allocates more than one tag (bounded by `max_tag`) plus the
//! chunk being fed, and never panics on any input.
//!
//! Framing rules: a tag header must name type 8, 9 or 18 and a size within `max_tag`. A tag is
//! accepted when the PreviousTagSize after it matches, or, if that field is wrong, when what
//! follows is a plausible tag header. Anything else starts a resync: bytes are skipped one at a
//! time until a candidate passes the strict test (stream id 0 and a matching PreviousTagSize).
//! A new `FLV` header mid-stream is reported as such (CDNs splice streams that way).

use bytes::{Buf, BytesMut};

use super::tag::{PREV_SIZE, TAG_HEADER, Tag, TagKind, decode_header};

/// Default largest tag body accepted (a 4K keyframe is a few MiB).
pub(crate) const DEFAULT_MAX_TAG: usize = 16 << 20;
const MAX_AUDIO_TAG: usize = 256 << 10;
const MAX_SCRIPT_TAG: usize = 1 << 20;
/// Data offsets larger than this in a file header are not believed.
const MAX_HEADER: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An FLV file header (at the start, or mid-stream).
    Header {
        has_audio: bool,
        has_video: bool,
    },
    Tag(Tag),
    /// Bytes that belonged to no tag, skipped while resynchronising.
    Skipped {
        bytes: usize,
        reason: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting an FLV header (start of a connection or a spliced stream).
    Start,
    Tags,
}

#[derive(Debug)]
pub struct Parser {
    buf: BytesMut,
    state: State,
    max_tag: usize,
    /// Bytes skipped since the last good tag.
    skipped: usize,
    skip_reason: &'static str,
    /// Set once anything valid was seen: a resync is then reported as garbage.
    resyncing: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_TAG)
    }
}

impl Parser {
    pub fn new(max_tag: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            state: State::Start,
            max_tag,
            skipped: 0,
            skip_reason: "",
            resyncing: false,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held that are not yet a whole item.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The stream ended: whatever is left is a torn tag (or garbage). Reports and drops it.
    pub fn finish(&mut self) -> Option<Item> {
        let bytes = self.buf.len() + std::mem::take(&mut self.skipped);
        self.buf.clear();
        self.state = State::Start;
        self.resyncing = false;
        (bytes > 0).then_some(Item::Skipped {
            bytes,
            reason: "an incomplete tag at the end of the stream",
        })
    }

    fn skip(&mut self, n: usize, reason: &'static str) {
        if self.skipped == 0 {
            self.skip_reason = reason;
        }
        self.skipped += n;
        self.buf.advance(n);
        self.resyncing = true;
    }

    fn take_skipped(&mut self) -> Option<Item> {
        (self.skipped > 0).then(|| Item::Skipped {
            bytes: std::mem::take(&mut self.skipped),
            reason: self.skip_reason,
        })
    }

    fn is_header_start(b: &[u8]) -> bool {
        b.len() >= 4 && &b[..3] == b"FLV" && b[3] == 1
    }

    /// The cheap test: a type we know and a size we accept for it. Audio frames and metadata
    /// are small; believing a garbage "audio tag" of 10 MiB would hold back the stream until
    /// 10 MiB had arrived.
    fn plausible(&self, h: &[u8]) -> bool {
        let (t, size, _, _) = decode_header(h);
        match TagKind::from_byte(t) {
            Some(TagKind::Video) => size <= self.max_tag,
            Some(TagKind::Audio) => size <= MAX_AUDIO_TAG.min(self.max_tag),
            Some(TagKind::Script) => size <= MAX_SCRIPT_TAG.min(self.max_tag),
            None => false,
        }
    }

    /// The next item, or `None` until more bytes arrive.
    pub fn next_item(&mut self) -> Option<Item> {
        loop {
            match self.state {
                State::Start => {
                    if self.buf.len() < 4 {
                        if self.buf.is_empty() || b"FLV\x01".starts_with(&self.buf) {
                            return None;
                        }
                        self.state = State::Tags;
                        continue;
                    }
                    if !Self::is_header_start(&self.buf) {
                        self.state = State::Tags;
                        continue;
                    }
                    if self.buf.len() < 9 {
                        return None;
                    }
                    let offset =
                        u32::from_be_bytes([self.buf[5], self.buf[6], self.buf[7], self.buf[8]])
                            as usize;
                    if !(9..=MAX_HEADER).contains(&offset) {
                        self.state = State::Tags;
                        self.skip(1, "a broken FLV header");
                        continue;
                    }
                    if self.buf.len() < offset + PREV_SIZE {
                        return None;
                    }
                    if let Some(s) = self.take_skipped() {
                        return Some(s);
                    }
                    let flags = self.buf[4];
                    self.buf.advance(offset + PREV_SIZE);
                    self.state = State::Tags;
                    self.resyncing = false;
                    return Some(Item::Header {
                        has_audio: flags & 4 != 0,
                        has_video: flags & 1 != 0,
                    });
                }
                State::Tags => {
                    if self.buf.len() >= 4 && Self::is_header_start(&self.buf) {
                        self.state = State::Start;
                        continue;
                    }
                    if self.buf.len() < TAG_HEADER {
                        return None;
                    }
                    let (t, size, ts, stream) = decode_header(&self.buf[..TAG_HEADER]);
                    // While resyncing, a candidate must also have the zero stream id before we
                    // wait for its body: otherwise random bytes claiming megabytes would hold
                    // the stream back.
                    if !self.plausible(&self.buf[..TAG_HEADER]) || (self.resyncing && stream != 0) {
                        self.skip(1, self.skip_reason_or("bytes that are not an FLV tag"));
                        continue;
                    }
                    let end = TAG_HEADER + size;
                    if self.buf.len() < end + PREV_SIZE {
                        return None;
                    }
                    let prev = u32::from_be_bytes([
                        self.buf[end],
                        self.buf[end + 1],
                        self.buf[end + 2],
                        self.buf[end + 3],
                    ]) as usize;
                    if prev != end {
                        // While resyncing only the strict test counts. Otherwise a wrong
                        // PreviousTagSize is forgiven when a plausible tag (or header) follows.
                        if self.resyncing {
                            self.skip(1, self.skip_reason_or("bytes that are not an FLV tag"));
                            continue;
                        }
                        let next = end + PREV_SIZE;
                        if self.buf.len() < next + TAG_HEADER {
                            return None;
                        }
                        let follow = &self.buf[next..next + TAG_HEADER];
                        if !(Self::is_header_start(follow) || self.plausible(follow)) {
                            self.skip(1, "a tag with a wrong size");
                            continue;
                        }
                    }
                    if let Some(s) = self.take_skipped() {
                        return Some(s);
                    }
                    self.resyncing = false;
                    let mut raw = self.buf.split_to(end + PREV_SIZE);
                    raw.advance(TAG_HEADER);
                    raw.truncate(size);
                    let kind = TagKind::from_byte(t)?;
                    return Some(Item::Tag(Tag::new(kind, ts, raw.freeze())));
                }
            }
        }
    }

    fn skip_reason_or(&self, r: &'static str) -> &'static str {
        if self.skipped > 0 {
            self.skip_reason
        } else {
            r
        }
    }
}

impl Iterator for Parser {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        self.next_item()
    }
}

#[cfg(test)]
mod tests;
