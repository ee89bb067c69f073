use super::*;

#[test]
fn frames_wait_for_the_first_keyframe_of_the_connection() {
    let mut g = KeyframeGate::default();
    assert_eq!(g.video(false), Pass::Drop);
    assert_eq!(g.video(true), Pass::Keyframe);
    assert_eq!(g.video(false), Pass::Frame);
    assert_eq!(g.video(true), Pass::Keyframe, "every keyframe ends a GOP");
}

#[test]
fn unrecognisable_keyframes_are_given_up_on_after_a_bounded_wait() {
    let mut g = KeyframeGate::default();
    for _ in 1..MAX_WAIT_FOR_KEYFRAME {
        assert_eq!(g.video(false), Pass::Drop);
    }
    assert_eq!(g.video(false), Pass::Frame);
    assert_eq!(g.video(false), Pass::Frame);
}

#[test]
fn audio_waits_for_the_keyframe_of_video_it_expects() {
    let mut g = KeyframeGate::default();
    assert_eq!(g.audio(true, true), Pass::Drop);
    assert_eq!(g.video(true), Pass::Keyframe);
    assert_eq!(g.audio(true, true), Pass::Frame);
}

#[test]
fn announced_video_that_never_comes_leaves_the_audio_alone() {
    let mut g = KeyframeGate::default();
    for _ in 1..MAX_AUDIO_WITHOUT_VIDEO {
        assert_eq!(g.audio(true, true), Pass::Drop);
    }
    assert_eq!(g.audio(true, true), Pass::NoVideo);
    assert_eq!(g.audio(true, true), Pass::Frame);
}

#[test]
fn video_frames_without_a_keyframe_keep_the_audio_waiting() {
    let mut g = KeyframeGate::default();
    assert_eq!(g.video(false), Pass::Drop);
    for _ in 0..2 * MAX_AUDIO_WITHOUT_VIDEO {
        assert_eq!(g.audio(true, true), Pass::Drop);
    }
}

#[test]
fn audio_passes_at_once_without_video_to_wait_for() {
    let mut g = KeyframeGate::default();
    assert_eq!(g.audio(false, false), Pass::Frame);
    // Nothing is waited for any more: a video frame that shows up passes too.
    assert_eq!(g.video(false), Pass::Frame);
}

#[test]
fn undecodable_video_lets_the_audio_through_but_its_frames_still_wait() {
    let mut g = KeyframeGate::default();
    assert_eq!(g.audio(false, true), Pass::Frame);
    assert_eq!(g.video(false), Pass::Drop);
    assert_eq!(g.video(true), Pass::Keyframe);
}

#[test]
fn a_spliced_stream_and_a_new_connection_wait_again() {
    let mut g = KeyframeGate::default();
    g.video(true);
    g.rearm();
    assert_eq!(g.video(false), Pass::Drop);
    g.video(true);
    g.end_connection();
    assert_eq!(g.video(false), Pass::Drop);
    // The count of dropped frames starts again too.
    for _ in 2..MAX_WAIT_FOR_KEYFRAME {
        assert_eq!(g.video(false), Pass::Drop);
    }
    assert_eq!(g.video(false), Pass::Frame);
}
