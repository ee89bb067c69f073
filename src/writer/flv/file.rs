//! The file side of the FLV pipeline: opening a file with its header, the reserved `onMetaData`
//! and the sequence headers; writing tags with their timestamps made relative to the file and
//! the keyframes indexed; patching the metadata with the final numbers on close.

use super::{FlvPipeline, KEYFRAME_SPACING_MS};
use crate::media::flv::Tag;
use crate::media::flv::meta::Metadata;
use crate::media::flv::tag::{
    PREV_SIZE, TAG_HEADER, TagInfo, TagKind, VideoCodec, encode_header, file_header,
};
use crate::media::flv::timeline::Track;
use crate::segment::files::{SegmentFiles, WriteError};

/// The file being written.
pub(super) struct OpenFile {
    /// Repaired timestamp that becomes 0 in this file.
    pub(super) base: i64,
    pub(super) last_ts: i64,
    pub(super) meta: Metadata,
    pub(super) capacity: usize,
    pub(super) meta_body_at: u64,
    pub(super) meta_len: usize,
    pub(super) last_indexed: Option<i64>,
}

impl FlvPipeline {
    pub(super) fn open_file(
        &mut self,
        out: &mut SegmentFiles,
        base: i64,
    ) -> Result<(), WriteError> {
        out.open()?;
        let has_video = self.has_video || self.video_header.is_some();
        let has_audio = self.has_audio || self.audio_header.is_some();
        out.write_unit(&[&file_header(has_audio, has_video)])?;
        let mut meta = Metadata::default();
        if let Some(src) = &self.source_meta {
            meta.take_source(src);
        }
        meta.has_video = has_video;
        meta.has_audio = has_audio;
        if let Some(TagInfo::Video { codec, .. }) = self.video_header.as_ref().map(|t| t.info) {
            meta.videocodecid = match codec {
                VideoCodec::Avc => 7.0,
                VideoCodec::Hevc => 12.0,
                _ => meta.videocodecid,
            };
        }
        let capacity = self.limits.index_capacity();
        let body = meta.encode(capacity);
        let meta_body_at = out.len() + TAG_HEADER as u64;
        write_raw(out, TagKind::Script, &body, 0)?;
        for h in [&self.video_header, &self.audio_header]
            .into_iter()
            .flatten()
        {
            write_raw(out, h.kind, &h.body, 0)?;
        }
        self.file = Some(OpenFile {
            base,
            last_ts: base,
            meta,
            capacity,
            meta_body_at,
            meta_len: body.len(),
            last_indexed: None,
        });
        Ok(())
    }

    pub(super) fn write_tag(
        &mut self,
        out: &mut SegmentFiles,
        tag: &Tag,
        ts: i64,
    ) -> Result<(), WriteError> {
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let rel = (ts - f.base).clamp(0, i64::from(i32::MAX));
        if tag.is_keyframe()
            && f.last_indexed
                .is_none_or(|l| rel - l >= KEYFRAME_SPACING_MS)
            && f.meta.keyframes.len() < f.capacity
        {
            f.meta
                .keyframes
                .push((rel as f64 / 1000.0, out.len() as f64));
            f.meta.lastkeyframetimestamp = rel as f64 / 1000.0;
            f.meta.lastkeyframelocation = out.len() as f64;
            f.last_indexed = Some(rel);
        }
        f.last_ts = f.last_ts.max(ts);
        write_raw(out, tag.kind, &tag.body, rel as i32)
    }

    /// Patches the metadata with the final numbers and closes the file.
    pub(super) fn close_file(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        let Some(mut f) = self.file.take() else {
            return Ok(());
        };
        let track = if self.has_video {
            Track::Video
        } else {
            Track::Audio
        };
        let duration_ms = (f.last_ts - f.base).max(0) + self.timeline.interval(track);
        f.meta.duration = duration_ms as f64 / 1000.0;
        f.meta.lasttimestamp = (f.last_ts - f.base).max(0) as f64 / 1000.0;
        f.meta.filesize = out.len() as f64;
        let body = f.meta.encode(f.capacity);
        if body.len() == f.meta_len {
            if let Err(e) = out.patch(f.meta_body_at, &body) {
                // Unseekable mounts (rclone, some FUSE): the file stays valid, just unindexed.
                tracing::warn!(
                    "could not write the final metadata (the file plays, seeking may be slow): {e}"
                );
            }
        }
        out.close(Some(f.meta.duration)).map(|_| ())
    }
}

/// Writes one tag (header, body, PreviousTagSize) as a unit.
pub(super) fn write_raw(
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
