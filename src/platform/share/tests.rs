use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn turns_are_spaced_to_a_quarter_of_the_budget_in_the_order_asked() {
    let share = Share::of(Budget {
        per_second: 4.0,
        burst: 4,
    });
    let t0 = Instant::now();
    // A thousand rooms asking at once take a turn a second: the requests they add to the
    // budget's queue are one a second, a quarter of it, not a thousand at once.
    let turns: Vec<Instant> = (0..1000).map(|_| share.reserve(t0)).collect();
    assert_eq!(turns[0], t0);
    assert_eq!(turns[1], t0 + secs(1.0));
    assert_eq!(turns[999], t0 + secs(999.0));
    // After a quiet spell the next caller goes at once.
    let later = t0 + secs(5000.0);
    assert_eq!(share.reserve(later), later);
    assert_eq!(share.reserve(later), later + secs(1.0));
}

#[test]
fn the_share_follows_the_configured_budget() {
    let share = Share::of(Budget {
        per_second: 40.0,
        burst: 40,
    });
    let t0 = Instant::now();
    share.reserve(t0);
    assert_eq!(share.reserve(t0), t0 + secs(0.1));
    let tiny = Share::of(Budget {
        per_second: MIN_PER_SECOND,
        burst: 1,
    });
    tiny.reserve(t0);
    assert!(tiny.reserve(t0) > t0, "never a zero or infinite interval");
}
