use super::super::sample::{aac, aac_header, avc_header, frame, keyframe, mp3, on_metadata};
use super::*;

#[test]
fn a_repeated_configuration_is_the_same_and_a_different_one_a_change() {
    let mut h = HeaderTracker::default();
    assert_eq!(h.compare(&avc_header(b"640x360")), Change::First);
    h.store(avc_header(b"640x360"));
    assert_eq!(h.compare(&avc_header(b"640x360")), Change::Same);
    assert_eq!(h.compare(&avc_header(b"854x480")), Change::Changed("video"));
    // Each track is compared with its own.
    assert_eq!(h.compare(&aac_header(&[0x12, 0x10])), Change::First);
    h.store(aac_header(&[0x12, 0x10]));
    assert_eq!(
        h.compare(&aac_header(&[0x11, 0x90])),
        Change::Changed("audio")
    );
}

#[test]
fn the_composition_time_of_a_header_is_not_its_configuration() {
    let mut h = HeaderTracker::default();
    h.store(avc_header(b"cfg"));
    let mut other = avc_header(b"cfg").body.to_vec();
    other[4] = 9;
    let other = Tag::new(TagKind::Video, 40, other.into());
    assert_eq!(h.compare(&other), Change::Same);
}

#[test]
fn avc_frames_wait_for_their_configuration() {
    let mut h = HeaderTracker::default();
    assert!(!h.video_frame(&keyframe(0)));
    assert!(!h.has_video());
    h.store(avc_header(b"cfg"));
    assert!(h.video_frame(&frame(40)));
    assert!(h.has_video());
}

#[test]
fn aac_frames_wait_for_their_configuration_and_mp3_needs_none() {
    let mut h = HeaderTracker::default();
    assert!(!h.audio_frame(&aac(0)));
    assert!(h.audio_frame(&mp3(0)));
    h.store(aac_header(&[0x12, 0x10]));
    assert!(h.audio_frame(&aac(23)));
}

#[test]
fn video_is_expected_unless_it_proved_undecodable_in_this_connection() {
    let mut h = HeaderTracker::default();
    assert!(!h.video_expected(), "nothing announced");
    h.announced(true);
    assert!(h.video_expected());
    h.video_frame(&keyframe(0));
    assert!(!h.video_expected(), "a frame without its configuration");
    h.end_connection();
    assert!(h.video_expected());
    h.no_video();
    assert!(!h.video_expected() && !h.has_video());
}

#[test]
fn only_the_first_onmetadata_before_media_is_taken() {
    let mut h = HeaderTracker::default();
    h.on_script(&on_metadata(640.0), false);
    h.on_script(&on_metadata(1920.0), true);
    let width = h
        .file_start()
        .source
        .and_then(|v| v.get("width")?.as_number());
    assert_eq!(width, Some(640.0));
    // A new connection's own metadata, before its media, replaces it.
    h.on_script(&on_metadata(854.0), false);
    let width = h
        .file_start()
        .source
        .and_then(|v| v.get("width")?.as_number());
    assert_eq!(width, Some(854.0));
}

#[test]
fn a_file_starts_with_the_current_configurations_and_the_tracks_they_imply() {
    let mut h = HeaderTracker::default();
    h.store(avc_header(b"a"));
    h.store(avc_header(b"b"));
    let s = h.file_start();
    assert!(s.has_video && !s.has_audio);
    assert_eq!(s.video.map(|t| &t.body[5..]), Some(&b"b"[..]));
    assert!(s.audio.is_none());
}
