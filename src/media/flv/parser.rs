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
mod tests {
    use super::super::tag::{encode_header, file_header};
    use super::*;

    fn tag(kind: TagKind, ts: i32, body: &[u8]) -> Vec<u8> {
        let mut v = encode_header(kind, body.len(), ts).to_vec();
        v.extend_from_slice(body);
        v.extend_from_slice(&((body.len() + TAG_HEADER) as u32).to_be_bytes());
        v
    }

    fn sample() -> Vec<u8> {
        let mut s = file_header(true, true).to_vec();
        s.extend(tag(TagKind::Script, 0, b"\x02\x00\x0aonMetaData\x05"));
        s.extend(tag(TagKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3]));
        s.extend(tag(TagKind::Audio, 0, &[0xaf, 0, 0x12, 0x10]));
        for i in 0..20 {
            s.extend(tag(
                TagKind::Video,
                i * 33,
                &[if i % 10 == 0 { 0x17 } else { 0x27 }, 1, 0, 0, 0, i as u8],
            ));
            s.extend(tag(TagKind::Audio, i * 23, &[0xaf, 1, i as u8, 7]));
        }
        s
    }

    fn parse_all(data: &[u8], chunk: usize) -> Vec<Item> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in data.chunks(chunk.max(1)) {
            p.push(c);
            out.extend(&mut p);
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn parses_a_stream_in_any_chunking() {
        let s = sample();
        let whole = parse_all(&s, s.len());
        assert_eq!(whole.len(), 1 + 3 + 40);
        assert_eq!(
            whole[0],
            Item::Header {
                has_audio: true,
                has_video: true
            }
        );
        for n in [1, 2, 3, 7, 11, 15, 64] {
            assert_eq!(parse_all(&s, n), whole, "chunk size {n}");
        }
    }

    #[test]
    fn a_torn_last_tag_is_reported_not_yielded() {
        let s = sample();
        let items = parse_all(&s[..s.len() - 3], 100);
        assert_eq!(
            items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
            42
        );
        // The last audio tag is 11 + 4 + 4 = 19 bytes; 16 of them arrived.
        assert!(
            matches!(items.last(), Some(Item::Skipped { bytes: 16, .. })),
            "{:?}",
            items.last()
        );
    }

    #[test]
    fn garbage_between_tags_is_skipped_and_reported() {
        let s = sample();
        // After the script tag and the video header.
        let cut = 13
            + tag(TagKind::Script, 0, b"\x02\x00\x0aonMetaData\x05").len()
            + tag(TagKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3]).len();
        let mut g = s[..cut].to_vec();
        g.extend_from_slice(b"\x09\x00\x00\x05garbage that looks a bit like a tag \xff\x00");
        g.extend_from_slice(&s[cut..]);
        let items = parse_all(&g, 5);
        let skipped: usize = items
            .iter()
            .map(|i| {
                if let Item::Skipped { bytes, .. } = i {
                    *bytes
                } else {
                    0
                }
            })
            .sum();
        assert_eq!(skipped, 42);
        assert_eq!(
            items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
            43,
            "no real tag is lost"
        );
    }

    #[test]
    fn a_second_header_mid_stream_is_reported() {
        let mut s = sample();
        s.extend(sample());
        let items = parse_all(&s, 9);
        let headers = items
            .iter()
            .filter(|i| matches!(i, Item::Header { .. }))
            .count();
        assert_eq!(headers, 2);
        assert_eq!(
            items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
            86
        );
    }

    #[test]
    fn giant_tag_sizes_are_garbage_not_allocations() {
        let mut s = file_header(true, true).to_vec();
        s.extend_from_slice(&[9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
        s.extend(tag(TagKind::Audio, 5, &[0xaf, 1, 1]));
        let mut p = Parser::new(1 << 20);
        p.push(&s);
        let items: Vec<_> = p.by_ref().collect();
        assert!(
            matches!(items[1], Item::Skipped { bytes: 11, .. }),
            "{items:?}"
        );
        assert!(matches!(&items[2], Item::Tag(t) if t.timestamp == 5));
        assert!(p.pending() == 0);
    }

    #[test]
    fn a_wrong_previous_tag_size_is_forgiven_when_a_tag_follows() {
        let mut s = file_header(false, true).to_vec();
        let mut t = tag(TagKind::Video, 0, &[0x17, 1, 0, 0, 0, 1]);
        let n = t.len();
        t[n - 4..].copy_from_slice(&[0, 0, 0, 0]);
        s.extend(t);
        s.extend(tag(TagKind::Video, 33, &[0x27, 1, 0, 0, 0, 2]));
        let items = parse_all(&s, 4);
        assert_eq!(
            items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
            2,
            "{items:?}"
        );
    }

    #[test]
    fn a_stream_without_header_still_parses() {
        let s = sample();
        let items = parse_all(&s[13..], 7);
        assert_eq!(
            items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
            43
        );
    }
}
