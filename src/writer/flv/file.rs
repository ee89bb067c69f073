//! One FLV file as liverec writes it: a header, an `onMetaData` of fixed size reserved at the
//! start, the decoder configurations, then tags with timestamps relative to the file. While tags
//! are written their keyframes are indexed and their timing noted; on close the final metadata
//! (duration, size, keyframe index) is written over the reserved one.
//!
//! `repair` computes a crashed file's metadata with the same type (see [`FlvFile::on_disk`]), so
//! a recorded file and a repaired file of the same tags carry the same metadata.

use super::headers::FileStart;
use crate::media::flv::Tag;
use crate::media::flv::meta::Metadata;
use crate::media::flv::tag::{
    PREV_SIZE, TAG_HEADER, TagInfo, TagKind, VideoCodec, encode_header, file_header,
};
use crate::media::flv::timeline::{Cadence, Track};
use crate::segment::files::{SegmentFiles, WriteError};

/// Where the metadata's body starts in every file liverec writes: after the 13-byte file header
/// and the script tag's header.
pub(crate) const META_BODY_AT: u64 = 13 + TAG_HEADER as u64;
/// Keyframe index entries are at least this far apart.
const KEYFRAME_SPACING_MS: i64 = 1000;
const MIN_INDEX: usize = 256;
const MAX_INDEX: usize = 20_000;

/// Keyframe index entries to reserve in each file's metadata, for files of up to
/// `duration_ms` of media (0: no limit).
pub(super) fn index_capacity(duration_ms: i64) -> usize {
    if duration_ms <= 0 {
        return MAX_INDEX;
    }
    let n = duration_ms.saturating_mul(6) / 5 / KEYFRAME_SPACING_MS + 16;
    usize::try_from(n)
        .unwrap_or(MAX_INDEX)
        .clamp(MIN_INDEX, MAX_INDEX)
}

pub(crate) struct FlvFile {
    /// Repaired timestamp that becomes 0 in this file.
    base: i64,
    meta: Metadata,
    capacity: usize,
    meta_at: u64,
    meta_len: usize,
    last_indexed: Option<i64>,
    /// Latest timestamp in the file.
    last_ts: i64,
    has_video: bool,
    has_audio: bool,
    /// The tracks' frame timing; the duration ends one frame after the last timestamp.
    video: Cadence,
    audio: Cadence,
}

impl FlvFile {
    fn new(meta: Metadata, capacity: usize, meta_at: u64, meta_len: usize, base: i64) -> Self {
        Self {
            base,
            meta,
            capacity,
            meta_at,
            meta_len,
            last_indexed: None,
            last_ts: 0,
            has_video: false,
            has_audio: false,
            video: Cadence::new(Track::Video),
            audio: Cadence::new(Track::Audio),
        }
    }

    /// Opens the next file of `out`, whose media starts at repaired timestamp `base`, with room
    /// for `capacity` keyframe index entries.
    pub(super) fn open(
        out: &mut SegmentFiles,
        start: &FileStart<'_>,
        capacity: usize,
        base: i64,
    ) -> Result<Self, WriteError> {
        out.open()?;
        out.write_unit(&[&file_header(start.has_audio, start.has_video)])?;
        let mut meta = Metadata::default();
        if let Some(src) = start.source {
            meta.take_source(src);
        }
        meta.has_video = start.has_video;
        meta.has_audio = start.has_audio;
        meta.audio_only = !start.has_video;
        if let Some(TagInfo::Video { codec, .. }) = start.video.map(|t| t.info) {
            meta.videocodecid = match codec {
                VideoCodec::Avc => 7.0,
                VideoCodec::Hevc => 12.0,
                _ => meta.videocodecid,
            };
        }
        let body = meta.encode(capacity);
        let meta_at = out.len() + TAG_HEADER as u64;
        let mut f = Self::new(meta, capacity, meta_at, body.len(), base);
        f.put(out, TagKind::Script, TagInfo::Script, &body, 0)?;
        for h in [start.video, start.audio].into_iter().flatten() {
            f.put(out, h.kind, h.info, &h.body, 0)?;
        }
        Ok(f)
    }

    /// One of liverec's files on disk, as its reserved metadata describes it: `meta` (the
    /// stream properties), `capacity` and the body's length `meta_len`. [`FlvFile::note`] each
    /// of its tags, then [`FlvFile::finish`] gives the metadata the file should have.
    pub(crate) fn on_disk(meta: Metadata, capacity: usize, meta_len: usize) -> Self {
        Self::new(meta, capacity, META_BODY_AT, meta_len, 0)
    }

    /// The repaired timestamp at which this file's media starts.
    pub(super) fn base(&self) -> i64 {
        self.base
    }

    /// The latest timestamp written, in milliseconds from the file's start.
    pub(super) fn media_end_ms(&self) -> u64 {
        u64::try_from(self.last_ts).unwrap_or(0)
    }

    /// Writes a tag at repaired timestamp `ts`.
    pub(super) fn write_tag(
        &mut self,
        out: &mut SegmentFiles,
        tag: &Tag,
        ts: i64,
    ) -> Result<(), WriteError> {
        let rel = (ts - self.base).clamp(0, i64::from(i32::MAX));
        self.put(out, tag.kind, tag.info, &tag.body, rel)
    }

    fn put(
        &mut self,
        out: &mut SegmentFiles,
        kind: TagKind,
        info: TagInfo,
        body: &[u8],
        rel: i64,
    ) -> Result<(), WriteError> {
        let at = out.len();
        write_raw(out, kind, body, rel as i32)?;
        self.note(info, rel, at);
        Ok(())
    }

    /// Takes note of a tag the file holds: `rel` is its timestamp in the file and `at` the
    /// offset of its tag header.
    pub(crate) fn note(&mut self, info: TagInfo, rel: i64, at: u64) {
        match info {
            TagInfo::Video {
                keyframe,
                sequence_header,
                ..
            } => {
                self.has_video = true;
                if keyframe {
                    self.index(rel, at);
                }
                if !sequence_header {
                    self.video.advance(rel, true);
                }
            }
            TagInfo::Audio {
                sequence_header, ..
            } => {
                self.has_audio = true;
                if !sequence_header {
                    self.audio.advance(rel, true);
                }
            }
            TagInfo::Script => return,
        }
        self.last_ts = self.last_ts.max(rel);
    }

    // Out of line: keyframes are a few in a hundred tags, and the index's growth path would
    // weigh on every tag's `note`.
    #[cold]
    #[inline(never)]
    fn index(&mut self, rel: i64, at: u64) {
        let spaced = self
            .last_indexed
            .is_none_or(|l| rel - l >= KEYFRAME_SPACING_MS);
        if !spaced || self.meta.keyframes.len() >= self.capacity {
            return;
        }
        let (t, p) = (rel as f64 / 1000.0, at as f64);
        self.meta.keyframes.push((t, p));
        self.meta.lastkeyframetimestamp = t;
        self.meta.lastkeyframelocation = p;
        self.last_indexed = Some(rel);
    }

    /// Fills in the final numbers for the file, now `len` bytes long, and returns the metadata
    /// body to write over the reserved one; `None` if it would not fit that space exactly.
    pub(crate) fn finish(&mut self, len: u64) -> Option<Vec<u8>> {
        // The main track's frames set the pace: video when there is any.
        let pace = if self.video.last().is_some() {
            Some(self.video)
        } else {
            self.audio.last().map(|_| self.audio)
        };
        let duration_ms = pace.map_or(0, |c| self.last_ts + c.interval());
        let m = &mut self.meta;
        m.duration = duration_ms as f64 / 1000.0;
        m.lasttimestamp = self.last_ts as f64 / 1000.0;
        m.filesize = len as f64;
        m.has_video = self.has_video;
        m.has_audio = self.has_audio;
        let body = m.encode(self.capacity);
        (body.len() == self.meta_len).then_some(body)
    }

    /// The media duration, once [`FlvFile::finish`]ed.
    fn duration_s(&self) -> f64 {
        self.meta.duration
    }

    /// Writes the final metadata and closes the file.
    pub(super) fn close(mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        if let Some(body) = self.finish(out.len()) {
            if let Err(e) = out.patch(self.meta_at, &body) {
                // Unseekable mounts (rclone, some FUSE): the file stays valid, just unindexed.
                tracing::warn!(
                    "could not write the final metadata (the file plays, seeking may be slow): {e}"
                );
            }
        }
        out.close(Some(self.duration_s())).map(|_| ())
    }
}

/// Writes one tag (header, body, PreviousTagSize) as a unit.
fn write_raw(
    out: &mut SegmentFiles,
    kind: TagKind,
    body: &[u8],
    ts: i32,
) -> Result<(), WriteError> {
    let header = encode_header(kind, body.len(), ts);
    let prev = ((body.len() + TAG_HEADER) as u32).to_be_bytes();
    debug_assert_eq!(prev.len(), PREV_SIZE);
    out.write_unit(&[&header, body, &prev])
}

#[cfg(test)]
mod tests;
