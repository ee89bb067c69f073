use super::super::sample::{frame, keyframe};
use super::*;

/// A GOP of `n` tags 40 ms apart from `start` ms (a keyframe first).
fn gop(start: i32, n: i32) -> Gop {
    let mut g = Gop::default();
    g.push(keyframe(start), i64::from(start));
    for i in 1..n {
        g.push(frame(start + 40 * i), i64::from(start + 40 * i));
    }
    g
}

fn policy(duration_ms: i64, size: u64) -> SplitPolicy {
    SplitPolicy::new(Limits { duration_ms, size })
}

#[test]
fn without_limits_a_file_goes_on_forever() {
    let mut p = policy(0, 0);
    assert_eq!(p.due(&gop(86_400_000, 10), true, 0, u64::MAX / 2), None);
}

#[test]
fn the_duration_limit_splits_at_the_first_gop_that_reaches_it() {
    let mut p = policy(5000, 0);
    assert_eq!(p.due(&gop(4960, 50), true, 0, 1000), None);
    let r = p.due(&gop(5000, 50), true, 0, 1000).unwrap();
    assert!(r.contains("segment_duration reached (5.0s)"), "{r}");
    // Measured from the file's start, not from 0.
    assert_eq!(p.due(&gop(9000, 50), true, 5000, 1000), None);
}

#[test]
fn the_size_limit_splits_before_a_gop_that_would_pass_it() {
    let mut p = policy(0, 10_000);
    let g = gop(0, 10);
    assert_eq!(p.due(&g, true, 0, 10_000 - g.bytes as u64), None);
    let r = p.due(&g, true, 0, 10_001 - g.bytes as u64).unwrap();
    assert!(r.contains("segment_size reached"), "{r}");
}

#[test]
fn an_unaligned_piece_splits_only_at_twice_the_limits() {
    let mut p = policy(5000, 10_000);
    let g = gop(6000, 1);
    assert_eq!(p.due(&g, false, 0, 100), None);
    assert!(p.due(&gop(10_000, 1), false, 0, 100).is_some());
    assert_eq!(p.due(&g, false, 5900, 15_000), None);
    assert!(p.due(&g, false, 5900, 20_000).is_some());
}

#[test]
fn the_first_reason_the_stream_gives_is_kept_until_the_next_gop() {
    let mut p = policy(0, 0);
    p.stream_changed(|| "a new FLV header arrived mid-stream".into());
    p.stream_changed(|| "the video decoder configuration changed".into());
    let g = gop(0, 1);
    assert_eq!(
        p.due(&g, true, 0, 100).as_deref(),
        Some("a new FLV header arrived mid-stream")
    );
    assert_eq!(p.due(&g, true, 0, 100), None, "taken once");
}

#[test]
fn a_requested_split_wins_and_opening_a_file_settles_any() {
    let mut p = policy(0, 0);
    p.stream_changed(|| "the stream sent an end-of-sequence".into());
    p.request();
    let g = gop(0, 1);
    assert_eq!(
        p.due(&g, true, 0, 100).as_deref(),
        Some("a split was requested")
    );
    p.request();
    p.opened();
    assert_eq!(p.due(&g, true, 0, 100), None);
}

#[test]
fn a_reload_changes_the_limits() {
    let mut p = policy(0, 0);
    let g = gop(60_000, 1);
    assert_eq!(p.due(&g, true, 0, 100), None);
    p.set_limits(Limits {
        duration_ms: 30_000,
        size: 0,
    });
    assert_eq!(p.limits().duration_ms, 30_000);
    assert!(p.due(&g, true, 0, 100).is_some());
}
