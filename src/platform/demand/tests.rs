use super::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn budget(per_second: f64) -> Budget {
    Budget {
        per_second,
        burst: 2,
    }
}

#[test]
fn douyin_rooms_beyond_the_budget_are_told_their_real_interval() {
    let rooms = vec![secs(30); 300];
    assert_eq!(need(&rooms, Checks::PerRoom), 10.0);
    assert_eq!(
        budget_warning(PlatformKind::Douyin, &rooms, Checks::PerRoom, budget(1.0)).as_deref(),
        Some(
            "300 douyin rooms at 30s need 10 requests/s; the douyin budget is 1/s: each room is checked about every 300s"
        )
    );
    // Within the budget: nothing to say.
    let few = vec![secs(30); 30];
    assert_eq!(
        budget_warning(PlatformKind::Douyin, &few, Checks::PerRoom, budget(1.0)),
        None
    );
    assert_eq!(
        budget_warning(PlatformKind::Douyin, &[], Checks::PerRoom, budget(1.0)),
        None
    );
}

#[test]
fn batched_rooms_count_one_request_per_hundred() {
    // 1,000 Bilibili rooms at 30 s: 10 batch requests every 30 s, far within 4/s.
    let rooms = vec![secs(30); 1000];
    let checks = Checks::of(PlatformKind::Bilibili);
    assert!((need(&rooms, checks) - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        budget_warning(PlatformKind::Bilibili, &rooms, checks, budget(4.0)),
        None
    );
    // 15,000 need 150 every 30 s: 5/s against 4/s.
    let many = vec![secs(30); 15_000];
    assert_eq!(
        budget_warning(PlatformKind::Bilibili, &many, checks, budget(4.0)).as_deref(),
        Some(
            "15000 bilibili rooms at 30s need 5 requests/s (150 requests of up to 100 rooms every 30s); the bilibili budget is 4/s: each room is checked about every 38s"
        )
    );
    // A partial batch is a whole request.
    assert_eq!(need(&[secs(10); 101], checks), 0.2);
}

#[test]
fn mixed_intervals_are_said_as_a_range_and_a_ratio() {
    let mut rooms = vec![secs(10); 20];
    rooms.extend(vec![secs(60); 60]);
    // 2/s + 1/s against 0.5/s: six times less often.
    assert_eq!(need(&rooms, Checks::PerRoom), 3.0);
    assert_eq!(
        budget_warning(PlatformKind::Douyin, &rooms, Checks::PerRoom, budget(0.5)).as_deref(),
        Some(
            "80 douyin rooms at 10s to 1m need 3 requests/s; the douyin budget is 0.5/s: each room is checked about 6 times less often than its poll_interval"
        )
    );
}
