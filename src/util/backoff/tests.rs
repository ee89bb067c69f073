use std::time::Duration;

use super::Backoff;

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn the_pause_doubles_from_the_base_up_to_the_cap() {
    let b = Backoff::new(S(10), S(3600));
    let secs: Vec<u64> = (1..=11).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(
        secs,
        [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    );
    let fast = Backoff::new(Duration::from_millis(100), S(3600));
    assert_eq!(fast.delay(1), Duration::from_millis(100));
    assert_eq!(fast.delay(3), Duration::from_millis(400));
}

#[test]
fn no_failure_no_pause() {
    assert_eq!(Backoff::new(S(10), S(60)).delay(0), Duration::ZERO);
}

#[test]
fn any_count_of_failures_is_at_most_the_cap_and_never_overflows() {
    for base in [Duration::from_nanos(1), S(1), S(60), S(u64::MAX / 4)] {
        let b = Backoff::new(base, S(1800));
        let mut last = Duration::ZERO;
        for n in (1..=70).chain([1000, u32::MAX - 1, u32::MAX]) {
            let d = b.delay(n);
            assert!(d <= S(1800), "{base:?} {n}: {d:?}");
            assert!(
                d >= last,
                "{base:?} {n}: never shorter than the pause before"
            );
            last = d;
        }
        assert_eq!(b.delay(u32::MAX), S(1800));
    }
}

#[test]
fn a_base_above_the_cap_is_cut_to_the_cap() {
    assert_eq!(Backoff::new(S(90), S(30)).delay(1), S(30));
}
