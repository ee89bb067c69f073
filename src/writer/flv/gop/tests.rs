use super::super::sample::{aac, frame, keyframe};
use super::*;

fn gop(tags: &[Tag]) -> Gop {
    let mut g = Gop::default();
    for t in tags {
        g.push(t.clone(), i64::from(t.timestamp));
    }
    g
}

#[test]
fn a_gop_knows_its_start_span_and_size() {
    let g = gop(&[keyframe(1000), aac(990), frame(1040), aac(1013)]);
    assert!(g.starts_with_keyframe);
    assert_eq!(g.first_ts(), 990);
    assert_eq!(g.span_ms(), 50);
    assert_eq!(
        g.bytes,
        g.tags.iter().map(|(t, _)| t.encoded_len()).sum::<usize>()
    );
    let mut g = g;
    g.clear();
    assert!(g.tags.is_empty() && g.bytes == 0 && !g.starts_with_keyframe);
}

#[test]
fn fingerprints_tell_a_replay_from_a_slate_encoded_again() {
    let a = gop(&[keyframe(0), frame(40)]);
    assert_eq!(
        a.fingerprint(),
        gop(&[keyframe(0), frame(40)]).fingerprint()
    );
    // Same bytes at later timestamps: new media, not a replay.
    let mut later = keyframe(0);
    later.timestamp = 2000;
    assert_ne!(a.fingerprint(), gop(&[later, frame(40)]).fingerprint());
    assert_ne!(a.fingerprint(), gop(&[keyframe(0)]).fingerprint());
}

#[test]
fn a_gop_can_extend_or_begin_another() {
    let whole = gop(&[keyframe(0), frame(40), frame(80)]).tag_fingerprints();
    assert!(gop(&[keyframe(0), frame(40), frame(80), frame(120)]).extends(&whole));
    assert!(!gop(&[keyframe(0), frame(40)]).extends(&whole));
    assert!(gop(&[keyframe(0), frame(40)]).is_prefix_of(&whole));
    assert!(!gop(&[keyframe(0), frame(80)]).is_prefix_of(&whole));
}

#[test]
fn an_aligned_gop_waits_for_its_end_and_an_unaligned_one_for_a_second() {
    let mut g = gop(&[keyframe(0)]);
    for i in 1..100 {
        g.push(frame(40 * i), i64::from(40 * i));
    }
    assert!(!g.must_flush(true));
    assert!(g.must_flush(false), "3.96 s of unaligned media");
    let short = gop(&[frame(0), frame(40)]);
    assert!(!short.must_flush(false));
}

#[test]
fn a_gop_never_grows_past_its_bounds() {
    let mut g = Gop::default();
    for _ in 0..MAX_GOP_TAGS - 1 {
        g.push(frame(0), 0);
    }
    assert!(!g.must_flush(true));
    g.push(frame(0), 0);
    assert!(g.must_flush(true));
}
