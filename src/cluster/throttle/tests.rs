use super::*;

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[test]
fn keys() {
    assert_eq!(key("home", "bilibili"), "/liverec/home/throttle/bilibili");
    assert_eq!(
        platform_of("home", "/liverec/home/throttle/douyin"),
        Some("douyin")
    );
    assert_eq!(platform_of("home", "/liverec/other/throttle/douyin"), None);
    assert_eq!(platform_of("home", "/liverec/home/throttle/"), None);
    assert_eq!(platform_of("home", "/liverec/home/throttle/a/b"), None);
}

#[test]
fn value_round_trip_and_shape() {
    let t = Throttle {
        until: at(1_767_000_000_123),
        reason: "HTTP 412".into(),
        by: "nas-1".into(),
    };
    let bytes = encode(&t);
    assert_eq!(
        bytes,
        br#"{"until_ms":1767000000123,"reason":"HTTP 412","by":"nas-1"}"#
    );
    assert_eq!(decode(&bytes), Ok(t));
    // Written by a later release with more fields, or a minimal hand-written one.
    let minimal = decode(br#"{"until_ms":5,"extra":true}"#).unwrap();
    assert_eq!(minimal.until, at(5));
    assert_eq!(decode(b"garbage"), Err(ThrottleError::Malformed));
    assert_eq!(
        decode(br#"{"until_ms":"soon"}"#),
        Err(ThrottleError::Malformed)
    );
}

#[test]
fn lease_covers_the_whole_pause() {
    assert_eq!(
        lease_ttl(Duration::from_millis(30_001)),
        Some(Duration::from_secs(31))
    );
    assert_eq!(
        lease_ttl(Duration::from_secs(30)),
        Some(Duration::from_secs(30))
    );
    assert_eq!(lease_ttl(Duration::ZERO), None);
}

#[test]
fn merge_takes_the_later_pause() {
    let now = Instant::now();
    let wall = at(1_000_000);
    let max = Duration::from_secs(600);
    let remote = |ms| Throttle {
        until: at(ms),
        reason: "HTTP 412".into(),
        by: "nas-2".into(),
    };
    // Remote ends in 60 s, local in 10 s: remote wins.
    assert_eq!(
        merge(
            Some(now + Duration::from_secs(10)),
            Some(&remote(1_060_000)),
            now,
            wall,
            max
        ),
        Some(now + Duration::from_secs(60))
    );
    // Local ends later: local wins.
    assert_eq!(
        merge(
            Some(now + Duration::from_secs(90)),
            Some(&remote(1_060_000)),
            now,
            wall,
            max
        ),
        Some(now + Duration::from_secs(90))
    );
    // Only one side.
    assert_eq!(
        merge(None, Some(&remote(1_000_500)), now, wall, max),
        Some(now + Duration::from_millis(500))
    );
    assert_eq!(
        merge(Some(now + Duration::from_secs(3)), None, now, wall, max),
        Some(now + Duration::from_secs(3))
    );
}

#[test]
fn merge_ignores_what_is_over_and_caps_skewed_clocks() {
    let now = Instant::now();
    let wall = at(1_000_000);
    let max = Duration::from_secs(600);
    let remote = |ms| Throttle {
        until: at(ms),
        reason: String::new(),
        by: String::new(),
    };
    assert_eq!(merge(None, Some(&remote(999_000)), now, wall, max), None);
    assert_eq!(merge(None, Some(&remote(1_000_000)), now, wall, max), None);
    assert_eq!(merge(Some(now), None, now, wall, max), None);
    // A writer a day ahead pauses us for max_pause, not a day.
    assert_eq!(
        merge(None, Some(&remote(1_000_000 + 86_400_000)), now, wall, max),
        Some(now + max)
    );
}
