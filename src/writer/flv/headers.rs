//! The header tracker: what the stream has said about itself. The current video and audio
//! decoder configurations (every file starts with them), whether a configuration changed (a
//! resolution or codec change: a new file), the source's `onMetaData`, which tracks the stream
//! has, and which frames cannot be decoded yet because their configuration has not arrived.

use crate::media::flv::Tag;
use crate::media::flv::amf0::{self, Value};
use crate::media::flv::tag::{AudioCodec, TagInfo, TagKind, VideoCodec};

/// A sequence header compared with the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Byte-identical decoder configuration: nothing to do.
    Same,
    /// The track's first configuration.
    First,
    /// A different configuration of this track ("video" or "audio"): a new file.
    Changed(&'static str),
}

/// What a new file starts with, besides its media.
pub(super) struct FileStart<'a> {
    pub(super) has_video: bool,
    pub(super) has_audio: bool,
    /// The source's `onMetaData` object (stream properties).
    pub(super) source: Option<&'a Value>,
    pub(super) video: Option<&'a Tag>,
    pub(super) audio: Option<&'a Tag>,
}

#[derive(Debug, Default)]
pub(super) struct HeaderTracker {
    video: Option<Tag>,
    audio: Option<Tag>,
    source_meta: Option<Value>,
    has_video: bool,
    has_audio: bool,
    /// Frames of this connection dropped for want of their configuration.
    video_without_header: usize,
    audio_without_header: usize,
}

impl HeaderTracker {
    /// An FLV header announced the tracks.
    pub(super) fn announced(&mut self, has_video: bool) {
        self.has_video |= has_video;
    }

    /// A script tag. Only the first `onMetaData` before any media counts; `saw_media`: media
    /// of this connection was already taken.
    pub(super) fn on_script(&mut self, tag: &Tag, saw_media: bool) {
        let values = match amf0::decode(&tag.body) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("ignored a script tag: {e}");
                return;
            }
        };
        if values.first().and_then(Value::as_str) != Some("onMetaData") {
            return;
        }
        if saw_media {
            // The edge reconnected to its upstream: the stream goes on, the file keeps its one
            // script tag (a second one confuses players and ffprobe).
            tracing::info!(
                "dropped a later onMetaData in the stream (the CDN may have reconnected upstream)"
            );
            return;
        }
        if let Some(obj) = values.into_iter().nth(1) {
            self.source_meta = Some(obj);
        }
    }

    /// Compares a sequence header with the track's current one; [`HeaderTracker::store`] then
    /// takes it (after the GOP that still belongs to the old one is written).
    pub(super) fn compare(&self, tag: &Tag) -> Change {
        let (slot, what) = if tag.kind == TagKind::Video {
            (&self.video, "video")
        } else {
            (&self.audio, "audio")
        };
        match slot {
            None => Change::First,
            Some(old) if old.config_bytes() == tag.config_bytes() => Change::Same,
            Some(_) => Change::Changed(what),
        }
    }

    pub(super) fn store(&mut self, tag: Tag) {
        if tag.kind == TagKind::Video {
            self.has_video = true;
            self.video = Some(tag);
        } else {
            self.has_audio = true;
            self.audio = Some(tag);
        }
    }

    /// Whether a video frame can be decoded: codecs with a decoder configuration are useless
    /// before it arrives (a file of such frames fails to play; audio records on its own).
    pub(super) fn video_frame(&mut self, tag: &Tag) -> bool {
        let needs_config = matches!(
            tag.info,
            TagInfo::Video {
                codec: VideoCodec::Avc | VideoCodec::Hevc | VideoCodec::Av1,
                ..
            }
        );
        if needs_config && self.video.is_none() {
            if self.video_without_header == 0 {
                tracing::warn!(
                    "video before its sequence header: dropping video until the header arrives"
                );
            }
            self.video_without_header += 1;
            return false;
        }
        self.has_video = true;
        true
    }

    /// Whether an audio frame can be decoded: AAC frames are useless without their
    /// AudioSpecificConfig.
    pub(super) fn audio_frame(&mut self, tag: &Tag) -> bool {
        self.has_audio = true;
        let aac = matches!(
            tag.info,
            TagInfo::Audio {
                codec: AudioCodec::Aac,
                ..
            }
        );
        if aac && self.audio.is_none() {
            if self.audio_without_header == 0 {
                tracing::warn!(
                    "AAC audio before its sequence header: dropping audio until the header arrives"
                );
            }
            self.audio_without_header += 1;
            return false;
        }
        true
    }

    /// The stream has or announced video, and none of it was undecodable in this connection:
    /// worth waiting for its keyframe.
    pub(super) fn video_expected(&self) -> bool {
        self.video_without_header == 0 && (self.has_video || self.video.is_some())
    }

    pub(super) fn has_video(&self) -> bool {
        self.has_video
    }

    /// The announced video never came: the stream is audio only.
    pub(super) fn no_video(&mut self) {
        self.has_video = false;
    }

    pub(super) fn file_start(&self) -> FileStart<'_> {
        FileStart {
            has_video: self.has_video || self.video.is_some(),
            has_audio: self.has_audio || self.audio.is_some(),
            source: self.source_meta.as_ref(),
            video: self.video.as_ref(),
            audio: self.audio.as_ref(),
        }
    }

    /// The connection ended; configurations carry over to the next one (a CDN need not repeat
    /// them), the counts of undecodable frames do not.
    pub(super) fn end_connection(&mut self) {
        self.video_without_header = 0;
        self.audio_without_header = 0;
    }
}

#[cfg(test)]
mod tests;
