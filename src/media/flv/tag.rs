//! FLV tags and what their first bytes say: keyframe, sequence header, end of sequence, codec
//! (legacy AVC 7 / HEVC 12 and enhanced-RTMP FourCCs), AAC headers.

use bytes::Bytes;

pub(crate) const TAG_HEADER: usize = 11;
/// Bytes of the PreviousTagSize field after each tag.
pub(crate) const PREV_SIZE: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Audio = 8,
    Video = 9,
    Script = 18,
}

impl TagKind {
    /// The tag type from the first header byte: two reserved bits (must be 0), the filter
    /// (encryption) bit, then the type.
    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        if b & 0xc0 != 0 {
            return None;
        }
        match b & 0x1f {
            8 => Some(TagKind::Audio),
            9 => Some(TagKind::Video),
            18 => Some(TagKind::Script),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoCodec {
    Avc,
    Hevc,
    Av1,
    Vp9,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AudioCodec {
    Aac,
    Mp3,
    Opus,
    Other,
}

/// What a tag is, decoded from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagInfo {
    Video {
        codec: VideoCodec,
        keyframe: bool,
        /// Decoder configuration (AVCDecoderConfigurationRecord and the like).
        sequence_header: bool,
        end_of_sequence: bool,
        /// Command/info frames and enhanced-RTMP metadata packets: not pictures.
        side_data: bool,
    },
    Audio {
        codec: AudioCodec,
        sequence_header: bool,
    },
    Script,
}

/// One tag: its kind, its (signed) timestamp in ms, and its body (without the 11-byte header
/// or the trailing PreviousTagSize).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    pub timestamp: i32,
    pub body: Bytes,
    pub(crate) info: TagInfo,
}

fn fourcc_video(c: &[u8]) -> VideoCodec {
    match c {
        b"avc1" => VideoCodec::Avc,
        b"hvc1" | b"hev1" => VideoCodec::Hevc,
        b"av01" => VideoCodec::Av1,
        b"vp09" => VideoCodec::Vp9,
        _ => VideoCodec::Other,
    }
}

/// Decodes the flags of a tag body.
pub(crate) fn info(kind: TagKind, body: &[u8]) -> TagInfo {
    match kind {
        TagKind::Script => TagInfo::Script,
        TagKind::Video => video_info(body),
        TagKind::Audio => audio_info(body),
    }
}

fn video_info(body: &[u8]) -> TagInfo {
    let Some(&b0) = body.first() else {
        return TagInfo::Video {
            codec: VideoCodec::Other,
            keyframe: false,
            sequence_header: false,
            end_of_sequence: false,
            side_data: true,
        };
    };
    if b0 & 0x80 != 0 {
        // Enhanced RTMP: [1 bit ex-header][3 bits frame type][4 bits packet type][FourCC]...
        let frame_type = (b0 >> 4) & 0x07;
        let packet_type = b0 & 0x0f;
        let codec = body.get(1..5).map_or(VideoCodec::Other, fourcc_video);
        return TagInfo::Video {
            codec,
            keyframe: frame_type == 1 && matches!(packet_type, 1 | 3),
            sequence_header: packet_type == 0,
            end_of_sequence: packet_type == 2,
            side_data: frame_type == 5 || packet_type == 4 || !matches!(packet_type, 0..=3),
        };
    }
    let frame_type = b0 >> 4;
    let codec = match b0 & 0x0f {
        7 => VideoCodec::Avc,
        12 => VideoCodec::Hevc,
        _ => VideoCodec::Other,
    };
    let packet_type = match codec {
        VideoCodec::Avc | VideoCodec::Hevc => body.get(1).copied(),
        _ => None,
    };
    TagInfo::Video {
        codec,
        keyframe: frame_type == 1 && packet_type != Some(0) && packet_type != Some(2),
        sequence_header: packet_type == Some(0),
        end_of_sequence: packet_type == Some(2),
        side_data: frame_type == 5,
    }
}

fn audio_info(body: &[u8]) -> TagInfo {
    let Some(&b0) = body.first() else {
        return TagInfo::Audio {
            codec: AudioCodec::Other,
            sequence_header: false,
        };
    };
    let format = b0 >> 4;
    if format == 9 {
        // Enhanced RTMP audio: [4 bits 9][4 bits packet type][FourCC]...
        let codec = match body.get(1..5) {
            Some(b"mp4a") => AudioCodec::Aac,
            Some(b"Opus") => AudioCodec::Opus,
            Some(b".mp3") => AudioCodec::Mp3,
            _ => AudioCodec::Other,
        };
        return TagInfo::Audio {
            codec,
            sequence_header: b0 & 0x0f == 0,
        };
    }
    let codec = match format {
        10 => AudioCodec::Aac,
        2 | 14 => AudioCodec::Mp3,
        _ => AudioCodec::Other,
    };
    TagInfo::Audio {
        codec,
        sequence_header: codec == AudioCodec::Aac && body.get(1) == Some(&0),
    }
}

impl Tag {
    pub(crate) fn new(kind: TagKind, timestamp: i32, body: Bytes) -> Self {
        let info = info(kind, &body);
        Self {
            kind,
            timestamp,
            body,
            info,
        }
    }

    pub(crate) fn is_keyframe(&self) -> bool {
        matches!(self.info, TagInfo::Video { keyframe: true, .. })
    }

    pub fn is_sequence_header(&self) -> bool {
        matches!(
            self.info,
            TagInfo::Video {
                sequence_header: true,
                ..
            } | TagInfo::Audio {
                sequence_header: true,
                ..
            }
        )
    }

    pub(crate) fn is_end_of_sequence(&self) -> bool {
        matches!(
            self.info,
            TagInfo::Video {
                end_of_sequence: true,
                ..
            }
        )
    }

    /// The decoder-configuration bytes of a sequence header, for comparing two headers: the
    /// codec's config record, without the packet type or composition time in front of it.
    pub(crate) fn config_bytes(&self) -> &[u8] {
        let skip = match self.info {
            TagInfo::Video { .. } => 5,
            TagInfo::Audio {
                codec: AudioCodec::Aac,
                ..
            } if self.body.first().is_some_and(|b| b >> 4 == 10) => 2,
            TagInfo::Audio { .. } => 5,
            TagInfo::Script => 0,
        };
        self.body.get(skip..).unwrap_or_default()
    }

    /// Size of the tag on disk: header, body and PreviousTagSize.
    pub(crate) fn encoded_len(&self) -> usize {
        TAG_HEADER + self.body.len() + PREV_SIZE
    }
}

/// Writes an 11-byte tag header for a body of `len` bytes at `timestamp` (ms, signed).
pub fn encode_header(kind: TagKind, len: usize, timestamp: i32) -> [u8; TAG_HEADER] {
    let size = (len as u32).to_be_bytes();
    let ts = timestamp.to_be_bytes();
    [
        kind as u8, size[1], size[2], size[3], ts[1], ts[2], ts[3], ts[0], 0, 0, 0,
    ]
}

/// Reads the fields of an 11-byte tag header: (type byte, body size, timestamp, stream id).
pub(crate) fn decode_header(h: &[u8]) -> (u8, usize, i32, u32) {
    let size = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
    let ts = i32::from_be_bytes([h[7], h[4], h[5], h[6]]);
    let stream = u32::from_be_bytes([0, h[8], h[9], h[10]]);
    (h[0], size, ts, stream)
}

/// The 9-byte FLV file header plus PreviousTagSize0.
pub(crate) fn file_header(has_audio: bool, has_video: bool) -> [u8; 13] {
    let flags = (if has_audio { 4 } else { 0 }) | (if has_video { 1 } else { 0 });
    [b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests;
