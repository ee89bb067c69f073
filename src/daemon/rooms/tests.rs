use super::*;

const POLL: Duration = Duration::from_secs(30);

#[test]
fn a_profile_not_live_is_asked_again_at_the_poll_interval() {
    let now = std::time::Instant::now();
    let offline = PlatformError::NotLiveYet("the streamer is not live".into());
    let net = PlatformError::Network("timed out".into());
    let mut failures = 0;
    // A real failure or two grows the pace...
    next_try(&net, None, now, POLL, &mut failures);
    assert_eq!(
        next_try(&net, None, now, POLL, &mut failures),
        Retry::AfterFailure(Duration::from_secs(30))
    );
    // ...an answer saying "not live" does not, however many come, and resets it.
    for _ in 0..10 {
        assert_eq!(
            next_try(&offline, None, now, POLL, &mut failures),
            Retry::NotLiveYet(POLL)
        );
    }
    assert_eq!(
        next_try(&net, None, now, POLL, &mut failures),
        Retry::AfterFailure(Duration::from_secs(15))
    );
}

#[test]
fn a_backoff_is_waited_out_without_doubling_the_retry_pace() {
    let now = std::time::Instant::now();
    let blocked = PlatformError::Blocked("HTTP 412; backing off until 21:04:05".into());
    let mut failures = 0;
    for _ in 0..5 {
        let Retry::AfterBackoff(pause) = next_try(
            &blocked,
            Some(now + Duration::from_secs(3)),
            now,
            POLL,
            &mut failures,
        ) else {
            panic!("a backoff is waited out")
        };
        assert!(pause >= Duration::from_secs(3) && pause < Duration::from_millis(3500));
    }
    assert_eq!(failures, 0, "the failure pace did not grow");
    // Failures double the pause, up to the cap; "not found" goes straight to the cap.
    let net = PlatformError::Network("timed out".into());
    let pauses: Vec<u64> = (0..8)
        .map(|_| {
            next_try(&net, None, now, POLL, &mut failures)
                .pause()
                .as_secs()
        })
        .collect();
    assert_eq!(pauses, [15, 30, 60, 120, 240, 480, 600, 600]);
    let mut failures = 0;
    let gone = PlatformError::NotFound("x".into());
    assert_eq!(
        next_try(&gone, None, now, POLL, &mut failures),
        Retry::AfterFailure(Duration::from_secs(600))
    );
    // ...and stays there for the failures that follow.
    assert_eq!(
        next_try(&net, None, now, POLL, &mut failures),
        Retry::AfterFailure(Duration::from_secs(600))
    );
    // A block whose pause is already over is retried like any failure.
    let mut failures = 0;
    assert_eq!(
        next_try(&blocked, Some(now), now, POLL, &mut failures),
        Retry::AfterFailure(Duration::from_secs(15))
    );
}
