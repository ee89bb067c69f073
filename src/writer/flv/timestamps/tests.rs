use super::super::sample::{aac, frame, keyframe};
use super::*;

#[test]
fn a_clean_stream_keeps_its_timestamps() {
    let mut t = TimestampRepair::default();
    assert_eq!(t.map(&keyframe(5000)), 5000);
    assert_eq!(t.map(&aac(5010)), 5010);
    assert_eq!(t.map(&frame(5040)), 5040);
    assert_eq!(t.fixes, 0);
}

#[test]
fn a_jump_is_repaired_and_counted() {
    let mut t = TimestampRepair::default();
    for i in 0..10 {
        t.map(&frame(40 * i));
    }
    // The source clock restarts at 0: the stream continues one frame later.
    let next = t.map(&keyframe(0));
    assert!((361..=400).contains(&next), "{next}");
    assert_eq!(t.fixes, 1);
    t.end_connection();
    assert_eq!(t.fixes, 0);
    assert_eq!(
        t.map(&frame(0)),
        0,
        "a new connection starts a clock of its own"
    );
}

#[test]
fn a_spliced_stream_starts_a_clock_of_its_own() {
    let mut t = TimestampRepair::default();
    t.map(&frame(90_000));
    t.restart();
    assert_eq!(t.map(&keyframe(0)), 0);
    assert_eq!(t.fixes, 0);
}
