use super::*;

const POLL: Duration = Duration::from_secs(30);

#[test]
fn a_profile_not_live_is_asked_again_at_the_poll_interval() {
    let now = std::time::Instant::now();
    let offline = PlatformError::NotLiveYet("the streamer is not live".into());
    let net = PlatformError::Network("timed out".into());
    let mut wait = RESOLVE_RETRY_MIN;
    // A real failure or two grows the pace...
    next_try(&net, None, now, POLL, &mut wait);
    next_try(&net, None, now, POLL, &mut wait);
    assert_eq!(wait, Duration::from_secs(60));
    // ...an answer saying "not live" does not, however many come, and resets it.
    for _ in 0..10 {
        assert_eq!(
            next_try(&offline, None, now, POLL, &mut wait),
            Retry::NotLiveYet(POLL)
        );
    }
    assert_eq!(wait, RESOLVE_RETRY_MIN);
    assert_eq!(
        next_try(&net, None, now, POLL, &mut wait),
        Retry::AfterFailure(RESOLVE_RETRY_MIN)
    );
}

#[test]
fn a_backoff_is_waited_out_without_doubling_the_retry_pace() {
    let now = std::time::Instant::now();
    let blocked = PlatformError::Blocked("HTTP 412; backing off until 21:04:05".into());
    let mut wait = RESOLVE_RETRY_MIN;
    for _ in 0..5 {
        let Retry::AfterBackoff(pause) = next_try(
            &blocked,
            Some(now + Duration::from_secs(3)),
            now,
            POLL,
            &mut wait,
        ) else {
            panic!("a backoff is waited out")
        };
        assert!(pause >= Duration::from_secs(3) && pause < Duration::from_millis(3500));
    }
    assert_eq!(wait, RESOLVE_RETRY_MIN, "the failure pace did not grow");
    // Failures double the pause, up to the cap; "not found" goes straight to the cap.
    let net = PlatformError::Network("timed out".into());
    let pauses: Vec<u64> = (0..8)
        .map(|_| next_try(&net, None, now, POLL, &mut wait).pause().as_secs())
        .collect();
    assert_eq!(pauses, [15, 30, 60, 120, 240, 480, 600, 600]);
    let mut wait = RESOLVE_RETRY_MIN;
    let gone = PlatformError::NotFound("x".into());
    assert_eq!(
        next_try(&gone, None, now, POLL, &mut wait),
        Retry::AfterFailure(RESOLVE_RETRY_MAX)
    );
    // A block whose pause is already over is retried like any failure.
    let mut wait = RESOLVE_RETRY_MIN;
    assert_eq!(
        next_try(&blocked, Some(now), now, POLL, &mut wait),
        Retry::AfterFailure(RESOLVE_RETRY_MIN)
    );
}
