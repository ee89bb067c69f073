//! Tags for the unit tests of the pipeline's parts: AVC video and AAC or MP3 audio, each body
//! marked with its timestamp so that no two frames look alike.

use bytes::Bytes;

use crate::media::flv::Tag;
use crate::media::flv::amf0::{self, Value};
use crate::media::flv::tag::TagKind;

fn tag(kind: TagKind, ts: i32, head: &[u8], rest: &[u8]) -> Tag {
    let mut body = head.to_vec();
    body.extend_from_slice(rest);
    Tag::new(kind, ts, Bytes::from(body))
}

/// An AVC decoder configuration; `config` stands for the record.
pub(super) fn avc_header(config: &[u8]) -> Tag {
    tag(TagKind::Video, 0, &[0x17, 0, 0, 0, 0], config)
}

pub(super) fn keyframe(ts: i32) -> Tag {
    tag(TagKind::Video, ts, &[0x17, 1, 0, 0, 0], &ts.to_be_bytes())
}

pub(super) fn frame(ts: i32) -> Tag {
    tag(TagKind::Video, ts, &[0x27, 1, 0, 0, 0], &ts.to_be_bytes())
}

/// An AAC AudioSpecificConfig.
pub(super) fn aac_header(config: &[u8]) -> Tag {
    tag(TagKind::Audio, 0, &[0xaf, 0], config)
}

pub(super) fn aac(ts: i32) -> Tag {
    tag(TagKind::Audio, ts, &[0xaf, 1], &ts.to_be_bytes())
}

/// MP3 needs no decoder configuration.
pub(super) fn mp3(ts: i32) -> Tag {
    tag(TagKind::Audio, ts, &[0x2f], &ts.to_be_bytes())
}

/// A source `onMetaData` that gives the width.
pub(super) fn on_metadata(width: f64) -> Tag {
    let mut body = Vec::new();
    amf0::encode(&Value::String("onMetaData".into()), &mut body);
    amf0::encode(
        &Value::EcmaArray(vec![("width".into(), Value::Number(width))]),
        &mut body,
    );
    Tag::new(TagKind::Script, 0, Bytes::from(body))
}
