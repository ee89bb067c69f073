use super::super::sample::{frame, keyframe};
use super::*;

/// A GOP of `n` tags 40 ms apart from `start` ms, a keyframe first.
fn gop(start: i32, n: i32) -> Gop {
    let mut g = Gop::default();
    g.push(keyframe(start), i64::from(start));
    for i in 1..n {
        g.push(frame(start + 40 * i), i64::from(start + 40 * i));
    }
    g
}

#[test]
fn a_gop_written_before_is_a_replay() {
    let mut r = ReplayFilter::default();
    let fp = gop(0, 5).fingerprint();
    assert_eq!(r.judge(fp), Verdict::Fresh);
    r.remember(fp);
    assert_eq!(r.judge(fp), Verdict::Replayed);
    assert_eq!(r.judge(gop(200, 5).fingerprint()), Verdict::Fresh);
}

#[test]
fn a_cdn_replaying_more_than_ten_in_a_row_is_stuck() {
    let mut r = ReplayFilter::default();
    let fp = gop(0, 5).fingerprint();
    r.remember(fp);
    for _ in 0..MAX_REPLAYED_GOPS {
        assert_eq!(r.judge(fp), Verdict::Replayed);
    }
    assert!(matches!(r.judge(fp), Verdict::Stuck(why) if why.contains("already sent")));
    // The count starts again, and a fresh GOP resets it too.
    assert_eq!(r.judge(fp), Verdict::Replayed);
    assert_eq!(r.judge(gop(200, 5).fingerprint()), Verdict::Fresh);
    for _ in 0..MAX_REPLAYED_GOPS {
        assert_eq!(r.judge(fp), Verdict::Replayed);
    }
}

#[test]
fn only_the_recent_gops_are_remembered() {
    let mut r = ReplayFilter::default();
    let old = gop(0, 3).fingerprint();
    r.remember(old);
    for i in 0..RECENT_GOPS as i32 {
        r.remember(gop(1000 * (i + 1), 3).fingerprint());
    }
    assert_eq!(r.judge(old), Verdict::Fresh);
}

#[test]
fn a_connection_cut_in_a_gop_holds_it_when_the_stream_has_video() {
    let mut r = ReplayFilter::default();
    assert!(matches!(r.end_connection(gop(0, 5), true), Settle::Hold));
    assert_eq!(r.take_held().map(|g| g.tags.len()), Some(5));
    assert!(r.take_held().is_none());
    // Audio only, or no keyframe to start from: nothing to hold.
    assert!(matches!(
        r.end_connection(gop(0, 5), false),
        Settle::Flush(_)
    ));
    let mut unaligned = Gop::default();
    unaligned.push(frame(40), 40);
    assert!(matches!(
        r.end_connection(unaligned, true),
        Settle::Flush(_)
    ));
}

#[test]
fn a_held_gop_replayed_in_full_is_dropped_and_one_that_is_not_is_written() {
    let mut r = ReplayFilter::default();
    r.end_connection(gop(0, 5), true);
    // The CDN sends the whole GOP again, then more.
    assert!(matches!(r.settle_held(&gop(0, 8)), Some(Held::Replayed)));
    assert!(r.settle_held(&gop(0, 8)).is_none(), "settled once");
    r.end_connection(gop(0, 5), true);
    match r.settle_held(&gop(400, 8)) {
        Some(Held::Cut(g)) => assert_eq!(g.tags.len(), 5),
        _ => panic!("the cut GOP must be written"),
    }
}

#[test]
fn a_second_connection_ending_first_settles_the_held_gop() {
    let written = |s: Settle| match s {
        Settle::Write(a, b) => (a.tags.len(), b.map(|g| g.tags.len())),
        _ => panic!("the held GOP must be settled"),
    };
    let held =
        |r: &mut ReplayFilter| assert!(matches!(r.end_connection(gop(0, 5), true), Settle::Hold));
    let mut r = ReplayFilter::default();
    held(&mut r);
    assert_eq!(written(r.end_connection(Gop::default(), true)), (5, None));
    held(&mut r);
    assert_eq!(
        written(r.end_connection(gop(0, 7), true)),
        (7, None),
        "the fuller copy"
    );
    held(&mut r);
    assert_eq!(
        written(r.end_connection(gop(0, 3), true)),
        (5, None),
        "a shorter copy"
    );
    held(&mut r);
    assert_eq!(written(r.end_connection(gop(400, 3), true)), (5, Some(3)));
    held(&mut r);
    r.remember(gop(800, 4).fingerprint());
    assert_eq!(
        written(r.end_connection(gop(800, 4), true)),
        (5, None),
        "a replay"
    );
}
