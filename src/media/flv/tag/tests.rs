use super::*;

fn v(body: &[u8]) -> Tag {
    Tag::new(TagKind::Video, 0, Bytes::copy_from_slice(body))
}

#[test]
fn legacy_avc_and_hevc_flags() {
    let seq = v(&[0x17, 0, 0, 0, 0, 1, 0x4d]);
    assert!(seq.is_sequence_header() && !seq.is_keyframe());
    assert_eq!(seq.config_bytes(), &[1, 0x4d]);
    assert!(v(&[0x17, 1, 0, 0, 0, 9]).is_keyframe());
    assert!(!v(&[0x27, 1, 0, 0, 0, 9]).is_keyframe());
    assert!(v(&[0x17, 2, 0, 0, 0]).is_end_of_sequence());
    let hevc = v(&[0x1c, 1, 0, 0, 0, 9]);
    assert!(hevc.is_keyframe());
    assert!(matches!(
        hevc.info,
        TagInfo::Video {
            codec: VideoCodec::Hevc,
            ..
        }
    ));
}

#[test]
fn enhanced_rtmp_fourccs() {
    let seq = v(&[0x90, b'h', b'v', b'c', b'1', 1, 2]);
    assert!(seq.is_sequence_header());
    assert!(matches!(
        seq.info,
        TagInfo::Video {
            codec: VideoCodec::Hevc,
            ..
        }
    ));
    assert_eq!(seq.config_bytes(), &[1, 2]);
    let key = v(&[0x93, b'a', b'v', b'0', b'1', 7]);
    assert!(key.is_keyframe() && !key.is_sequence_header());
    assert!(matches!(
        key.info,
        TagInfo::Video {
            codec: VideoCodec::Av1,
            ..
        }
    ));
    assert!(!v(&[0xa1, b'a', b'v', b'0', b'1', 7]).is_keyframe());
    assert!(matches!(
        v(&[0x94, b'h', b'v', b'c', b'1']).info,
        TagInfo::Video {
            side_data: true,
            ..
        }
    ));
}

#[test]
fn aac_headers() {
    let a = Tag::new(
        TagKind::Audio,
        0,
        Bytes::from_static(&[0xaf, 0, 0x12, 0x10]),
    );
    assert!(a.is_sequence_header());
    assert_eq!(a.config_bytes(), &[0x12, 0x10]);
    let a = Tag::new(TagKind::Audio, 0, Bytes::from_static(&[0xaf, 1, 0x21]));
    assert!(!a.is_sequence_header());
}

#[test]
fn headers_round_trip_signed_timestamps() {
    for ts in [0, 1, 0x00ff_ffff, 0x0100_0000, -1, i32::MIN, i32::MAX] {
        let h = encode_header(TagKind::Audio, 300, ts);
        assert_eq!(decode_header(&h), (8, 300, ts, 0));
    }
}
