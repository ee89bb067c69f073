use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Queues `n` requests in `lane` at `now`.
fn queue(g: &mut Gate, lane: Lane, n: usize) -> Vec<Ticket> {
    (0..n).map(|_| g.enqueue(lane).0).collect()
}

/// Lets the queued `tickets` through in order, as the shell would (the head sleeps until its
/// token): when each went, after `t0`.
fn drain(g: &mut Gate, tickets: &[Ticket], t0: Instant) -> Vec<Duration> {
    let mut now = t0;
    let mut out = Vec::new();
    for t in tickets {
        loop {
            match g.turn(*t, now) {
                Turn::Go { probe: false } => break,
                Turn::At(at) => now = at,
                other => panic!("{other:?}"),
            }
        }
        out.push(now - t0);
    }
    out
}

/// The next request at `now`: enqueued and, when first in line with a token, let through.
fn admit(g: &mut Gate, now: Instant) -> Turn {
    let (t, _) = g.enqueue(Lane::Idle);
    let turn = g.turn(t, now);
    if !matches!(turn, Turn::Go { .. } | Turn::Paused { .. }) {
        g.leave(t);
    }
    turn
}

#[test]
fn the_budget_lets_a_burst_through_then_spaces_requests() {
    let mut g = Gate::new(Budget {
        per_second: 4.0,
        burst: 4,
    });
    let t0 = Instant::now();
    let tickets = queue(&mut g, Lane::Idle, 8);
    assert_eq!(
        drain(&mut g, &tickets, t0),
        [0, 0, 0, 0, 250, 500, 750, 1000].map(ms),
        "four at once, then one every 250 ms"
    );
    // After a quiet while the bucket is full again.
    let later = t0 + Duration::from_secs(10);
    let tickets = queue(&mut g, Lane::Idle, 5);
    assert_eq!(drain(&mut g, &tickets, later), [0, 0, 0, 0, 250].map(ms));
}

#[test]
fn only_the_head_of_the_queue_may_go() {
    let mut g = Gate::new(Budget::DEFAULT);
    let now = Instant::now();
    let (a, ahead_a) = g.enqueue(Lane::Idle);
    let (b, ahead_b) = g.enqueue(Lane::Idle);
    assert_eq!((ahead_a, ahead_b), (0, 1));
    // A token is there, but `a` is first in line.
    assert_eq!(g.turn(b, now), Turn::Behind);
    assert_eq!(g.turn(a, now), Turn::Go { probe: false });
    assert_eq!(g.turn(b, now), Turn::Go { probe: false });
    // A caller that gives up leaves its place to the next.
    let (c, _) = g.enqueue(Lane::Idle);
    let (d, _) = g.enqueue(Lane::Idle);
    g.leave(c);
    assert_eq!(g.head(), Some(d));
}

#[test]
fn a_live_rooms_request_goes_before_every_queued_idle_poll() {
    let mut g = Gate::new(Budget {
        per_second: 1.0,
        burst: 1,
    });
    let t0 = Instant::now();
    let idle = queue(&mut g, Lane::Idle, 50);
    let went = drain(&mut g, &idle[..3], t0);
    assert_eq!(went, [0, 1000, 2000].map(ms));
    // A live room asks while 47 polls wait: it is next, at the next token.
    let (live, ahead) = g.enqueue(Lane::Live);
    assert_eq!(ahead, 0);
    let now = t0 + ms(2100);
    assert_eq!(g.turn(idle[3], now), Turn::Behind);
    assert_eq!(g.turn(live, now), Turn::At(t0 + ms(3000)));
    assert_eq!(g.turn(live, t0 + ms(3000)), Turn::Go { probe: false });
    // Then the polls, in their order, one a second: the budget is never exceeded.
    let rest = drain(&mut g, &idle[3..], t0 + ms(3000));
    assert_eq!(rest[0], ms(1000));
    assert_eq!(rest[46], ms(47_000));
    assert_eq!(g.granted(), 51);
}

#[test]
fn a_thousand_rooms_at_once_all_get_a_turn() {
    let mut g = Gate::new(Budget::DEFAULT);
    let t0 = Instant::now();
    let tickets = queue(&mut g, Lane::Idle, 1000);
    let went = drain(&mut g, &tickets, t0);
    assert!(went.windows(2).all(|w| w[0] <= w[1]), "in their order");
    // Four at once, then four a second: the last one goes after ~4 minutes.
    assert_eq!(went[999], ms(249_000));
}

#[test]
fn a_block_pauses_everything_doubles_and_is_capped() {
    let mut g = Gate::new(Budget {
        per_second: 1000.0,
        burst: 1000,
    });
    let mut now = Instant::now();
    let mut pauses = Vec::new();
    for _ in 0..8 {
        let BlockOutcome::Paused { pause, until, .. } = g.block(now, "HTTP 412", None) else {
            panic!()
        };
        pauses.push(pause.as_secs());
        // Every call while paused fails without a request.
        assert!(matches!(admit(&mut g, now + ms(1)), Turn::Paused { .. }));
        assert!(matches!(admit(&mut g, until - ms(1)), Turn::Paused { .. }));
        now = until;
        // The pause is over: one probe goes, the others wait for its verdict.
        assert_eq!(admit(&mut g, now), Turn::Go { probe: true });
        assert_eq!(
            admit(&mut g, now),
            Turn::AwaitVerdict {
                until: now + VERDICT_WAIT
            }
        );
    }
    assert_eq!(pauses, [60, 120, 240, 480, 960, 1800, 1800, 1800]);
    // The probe is answered normally: the backoff lifts, everybody goes.
    assert!(g.success());
    assert!(!g.is_backing_off());
    assert_eq!(admit(&mut g, now), Turn::Go { probe: false });
    assert_eq!(admit(&mut g, now), Turn::Go { probe: false });
    // The next block starts from the base again.
    let BlockOutcome::Paused { pause, .. } = g.block(now, "HTTP 412", None) else {
        panic!()
    };
    assert_eq!(pause.as_secs(), 60);
}

#[test]
fn blocks_seen_by_requests_already_in_flight_do_not_double_the_pause() {
    let mut g = Gate::new(Budget::DEFAULT);
    let now = Instant::now();
    assert!(matches!(
        g.block(now, "HTTP 412", None),
        BlockOutcome::Paused { strikes: 1, .. }
    ));
    for _ in 0..5 {
        assert_eq!(
            g.block(now + ms(10), "HTTP 412", None),
            BlockOutcome::AlreadyPaused
        );
    }
    let BlockOutcome::Paused { pause, strikes, .. } =
        g.block(now + Duration::from_secs(61), "HTTP 412", None)
    else {
        panic!()
    };
    assert_eq!((pause.as_secs(), strikes), (120, 2));
}

#[test]
fn retry_after_sets_the_base_within_bounds() {
    let mut g = Gate::new(Budget::DEFAULT);
    let now = Instant::now();
    let p = |o: BlockOutcome| match o {
        BlockOutcome::Paused { pause, .. } => pause,
        o => panic!("{o:?}"),
    };
    assert_eq!(p(g.block(now, "x", Some(ms(2000)))), ms(2000));
    assert_eq!(p(g.block(now + ms(2000), "x", Some(ms(2000)))), ms(4000));
    g.success();
    assert_eq!(p(g.block(now, "x", Some(ms(1)))), BACKOFF_MIN);
    g.success();
    assert_eq!(
        p(g.block(now, "x", Some(Duration::from_secs(99_999)))),
        BACKOFF_CAP
    );
}

#[test]
fn an_inconclusive_probe_lets_the_next_one_try() {
    let mut g = Gate::new(Budget::DEFAULT);
    let now = Instant::now();
    let BlockOutcome::Paused { until, .. } = g.block(now, "x", None) else {
        panic!()
    };
    assert_eq!(admit(&mut g, until), Turn::Go { probe: true });
    let first = g.probe_ticket();
    assert!(matches!(admit(&mut g, until), Turn::AwaitVerdict { .. }));
    g.inconclusive(first);
    assert_eq!(admit(&mut g, until), Turn::Go { probe: true });
}

#[test]
fn a_probe_that_never_answers_is_replaced_when_its_verdict_is_overdue() {
    let mut g = Gate::new(Budget::DEFAULT);
    let now = Instant::now();
    let BlockOutcome::Paused { until, .. } = g.block(now, "x", None) else {
        panic!()
    };
    assert_eq!(admit(&mut g, until), Turn::Go { probe: true });
    let lost = g.probe_ticket();
    let due = until + VERDICT_WAIT;
    assert_eq!(
        admit(&mut g, due - ms(1)),
        Turn::AwaitVerdict { until: due }
    );
    assert!(!g.probe_overdue(due - ms(1)));
    // Overdue: the next caller probes instead.
    assert!(g.probe_overdue(due));
    assert_eq!(admit(&mut g, due), Turn::Go { probe: true });
    let next = g.probe_ticket();
    assert_ne!(lost, next);
    // The lost one giving up late does not free the probe that took over.
    g.inconclusive(lost);
    assert!(matches!(admit(&mut g, due), Turn::AwaitVerdict { .. }));
    g.inconclusive(next);
    assert_eq!(admit(&mut g, due), Turn::Go { probe: true });
}

#[tokio::test]
async fn the_limiter_fails_fast_while_paused() {
    let l = Limiter::new("test", Budget::DEFAULT);
    let p = l.acquire().await.unwrap();
    let err = p.blocked("HTTP 412 from the API", None);
    let PlatformError::Blocked(text) = &err else {
        panic!("{err:?}")
    };
    assert!(
        text.contains("HTTP 412") && text.contains("backing off until"),
        "{text}"
    );
    let started = std::time::Instant::now();
    let again = l.acquire().await.unwrap_err();
    assert!(matches!(again, PlatformError::Blocked(_)));
    assert!(started.elapsed() < ms(50));
}

/// `n` callers of `l.acquire()` started at once, each reporting when it got its answer.
fn callers(
    l: &Limiter,
    n: usize,
) -> Vec<tokio::task::JoinHandle<(Instant, Result<Permit, PlatformError>)>> {
    (0..n)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move {
                let r = l.acquire().await;
                (Instant::now(), r)
            })
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_long_queue_waits_and_never_errors() {
    let l = Limiter::new(
        "test",
        Budget {
            per_second: 5.0,
            burst: 1,
        },
    );
    let t0 = Instant::now();
    let mut times = Vec::new();
    for h in callers(&l, 300) {
        let (at, r) = h.await.unwrap();
        r.expect("a queued call waits for its turn, it does not fail")
            .ok();
        times.push(at.duration_since(t0));
    }
    times.sort();
    assert_eq!(times[0], Duration::ZERO);
    // One every 200 ms: the last of 300 goes after ~60 s, and nobody went early.
    for (i, t) in times.iter().enumerate() {
        assert!(*t + ms(1) >= ms(200 * i as u64), "{i}: {t:?}");
    }
    assert!(times[299] <= ms(60_000), "{:?}", times[299]);
}

#[tokio::test(start_paused = true)]
async fn callers_wait_for_the_probes_verdict() {
    let l = Limiter::new("test", Budget::DEFAULT);
    let p = l.acquire().await.unwrap();
    let t0 = Instant::now();
    p.blocked("HTTP 412", Some(Duration::from_secs(3)));
    let end = Instant::from_std(l.resume_at().expect("paused"));
    assert_eq!(end, t0 + Duration::from_secs(3));
    // While paused: fail at once, without a request.
    assert!(matches!(l.acquire().await, Err(PlatformError::Blocked(_))));
    tokio::time::sleep_until(t0 + Duration::from_secs(3)).await;
    assert_eq!(l.resume_at(), None);

    // The pause is over: the first caller probes, the others wait for its verdict.
    let probe = l.acquire().await.unwrap();
    let waiting = callers(&l, 5);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(waiting.iter().all(|h| !h.is_finished()), "they wait");
    // An answer without a verdict hands the probe to the next caller; the rest still wait.
    drop(probe);
    tokio::time::sleep(ms(10)).await;
    let done: Vec<_> = waiting.iter().filter(|h| h.is_finished()).collect();
    assert_eq!(done.len(), 1, "one of them probes next");
    let mut rest = Vec::new();
    for h in waiting {
        if h.is_finished() {
            let (_, r) = h.await.unwrap();
            // The normal answer lifts the backoff and lets the others through.
            r.unwrap().ok();
        } else {
            rest.push(h);
        }
    }
    for h in rest {
        let (_, r) = h.await.unwrap();
        r.expect("let through after the verdict").ok();
    }

    // A probe that meets the block again fails the waiting callers at once, with the new
    // pause, so that they can come back when it ends.
    l.acquire()
        .await
        .unwrap()
        .blocked("HTTP 412", Some(Duration::from_secs(3)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let probe = l.acquire().await.unwrap();
    let waiting = callers(&l, 3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(waiting.iter().all(|h| !h.is_finished()));
    probe.blocked("HTTP 412", Some(Duration::from_secs(3)));
    let at = Instant::now();
    for h in waiting {
        let (t, r) = h.await.unwrap();
        assert!(matches!(r, Err(PlatformError::Blocked(ref m)) if m.contains("backing off until")));
        assert_eq!(t, at, "at once");
    }
    // Doubled: 6 s this time.
    let left = Instant::from_std(l.resume_at().unwrap()) - Instant::now();
    assert!(
        left > Duration::from_secs(5) && left <= Duration::from_secs(6),
        "{left:?}"
    );
}

/// The Douyin hang: the probe's holder, told by its answer to ask a second endpoint, asks
/// for another permit. Given back first (the rule), the second request probes; kept, the
/// second waits only until the first one's verdict is overdue, never forever.
#[tokio::test(start_paused = true)]
async fn a_probes_holder_asking_again_is_never_left_waiting_forever() {
    let l = Limiter::new("test", Budget::DEFAULT);
    l.acquire()
        .await
        .unwrap()
        .blocked("HTTP 444", Some(Duration::from_secs(2)));
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Given back before asking again: the second request is the probe, at once.
    let first = l.acquire().await.unwrap();
    assert!(first.probe.is_some());
    drop(first);
    let t = Instant::now();
    let second = l.acquire().await.unwrap();
    assert!(second.probe.is_some());
    assert_eq!(Instant::now(), t, "no wait");
    // Its verdict lifts the backoff.
    second.ok();
    assert!(!l.lock().gate.is_backing_off());

    // Kept (a bug): the wait for its own verdict ends when that verdict is overdue, and
    // the surrounding timeout allows for that wait.
    l.acquire()
        .await
        .unwrap()
        .blocked("HTTP 444", Some(Duration::from_secs(2)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = Instant::now();
    let got = meter::timeout_active(Duration::from_secs(30), async {
        let held = l.acquire().await.unwrap();
        let again = l.acquire().await.unwrap();
        assert!(again.probe.is_some(), "it probes in place of the lost one");
        again.ok();
        drop(held);
    })
    .await;
    assert_eq!(got, Ok(()));
    assert_eq!(Instant::now() - t, VERDICT_WAIT);
    assert!(!l.lock().gate.is_backing_off());
}

#[tokio::test(start_paused = true)]
async fn a_turn_given_up_before_its_request_is_given_back() {
    let l = Limiter::new(
        "test",
        Budget {
            per_second: 1.0,
            burst: 1,
        },
    );
    let t0 = Instant::now();
    let first = l.acquire().await.unwrap();
    let mut queue = callers(&l, 2);
    tokio::time::sleep(ms(10)).await;
    // The last in the queue (its turn at 2 s) gives up: the next caller takes that turn,
    // not the one after it.
    let gave_up = queue.pop().unwrap();
    gave_up.abort();
    let _ = gave_up.await;
    let next = callers(&l, 1).remove(0);
    let (at, r) = next.await.unwrap();
    r.unwrap().ok();
    assert_eq!(at - t0, Duration::from_secs(2));
    let (at, r) = queue.remove(0).await.unwrap();
    r.unwrap().ok();
    assert_eq!(at - t0, Duration::from_secs(1));
    // A request that was sent keeps its turn, whatever its answer.
    drop(first);
    let t = Instant::now();
    let (at, _) = callers(&l, 1).remove(0).await.unwrap();
    assert_eq!(at - t, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_probe_given_up_while_queued_frees_the_next() {
    // One request every 100 s: the probe after the 60 s pause waits 40 s for its turn.
    let l = Limiter::new(
        "test",
        Budget {
            per_second: MIN_PER_SECOND,
            burst: 1,
        },
    );
    l.acquire().await.unwrap().blocked("HTTP 412", None);
    tokio::time::sleep(BACKOFF_BASE).await;
    // The probe has to wait for the budget, and its caller gives up meanwhile.
    let probe = callers(&l, 1).remove(0);
    tokio::time::sleep(ms(10)).await;
    let next = callers(&l, 1).remove(0);
    tokio::time::sleep(ms(10)).await;
    probe.abort();
    let (_, r) = next.await.unwrap();
    r.expect("the next caller probes").ok();
    assert!(!l.lock().gate.is_backing_off());
}

#[tokio::test(start_paused = true)]
async fn a_live_rooms_call_goes_before_queued_polls_and_the_budget_holds() {
    let l = Limiter::new(
        "test",
        Budget {
            per_second: 2.0,
            burst: 1,
        },
    );
    let t0 = Instant::now();
    let polls = callers(&l, 40);
    tokio::time::sleep(ms(5_100)).await;
    // 40 idle polls queued at t0, one every 500 ms; a live room asks at 5.1 s.
    let live = {
        let l = l.clone();
        tokio::spawn(in_lane(Lane::Live, async move {
            let r = l.acquire().await;
            (Instant::now(), r)
        }))
    };
    let (at, r) = live.await.unwrap();
    r.expect("a live room's call waits, it does not fail").ok();
    assert_eq!(
        at - t0,
        ms(5_500),
        "the next token, before the 29 polls still queued"
    );
    let mut times = Vec::new();
    for h in polls {
        let (at, r) = h.await.unwrap();
        r.unwrap().ok();
        times.push(at - t0);
    }
    times.sort();
    times.push(ms(5_500));
    times.sort();
    // 41 requests, never two within 500 ms: the live call took a turn, it added none.
    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= ms(500)),
        "{times:?}"
    );
    assert_eq!(*times.last().unwrap(), ms(20_000));
    // Outside a lane scope, requests are idle polls.
    assert_eq!(current_lane(), Lane::Idle);
    assert_eq!(
        in_lane(Lane::Live, async { current_lane() }).await,
        Lane::Live
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_poll_is_never_cut_by_its_timeout_however_long_the_queue() {
    // One request a second and 120 polls queued: the last waits two minutes, far beyond a
    // status check's 30 s limit, and still goes: waiting is not failing.
    let l = Limiter::new(
        "test",
        Budget {
            per_second: 1.0,
            burst: 1,
        },
    );
    let t0 = Instant::now();
    let handles: Vec<_> = (0..120)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move {
                meter::timeout_active(Duration::from_secs(30), async {
                    l.acquire().await.map(Permit::ok)
                })
                .await
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap(), Ok(Ok(())));
    }
    assert_eq!(Instant::now() - t0, Duration::from_secs(119));
}

#[test]
fn a_cluster_pause_only_lengthens_and_ends_with_a_probe() {
    let mut g = Gate::new(Budget::DEFAULT);
    let now = Instant::now();
    assert!(g.pause_until(now, now + ms(5000), "nas-2 met risk control"));
    assert_eq!(g.resume_at(now), Some(now + ms(5000)));
    // A shorter or past one changes nothing.
    assert!(!g.pause_until(now, now + ms(3000), "x"));
    assert!(!g.pause_until(now, now, "x"));
    assert_eq!(g.resume_at(now + ms(4999)), Some(now + ms(5000)));
    // Afterwards one request finds out whether the block has lifted.
    assert_eq!(admit(&mut g, now + ms(5000)), Turn::Go { probe: true });
}

#[test]
fn a_shared_budget_spaces_requests_by_this_instances_part() {
    let mut g = Gate::new(Budget {
        per_second: 4.0,
        burst: 1,
    });
    assert_eq!(g.interval(), ms(250));
    g.set_share(0.25);
    assert_eq!(g.interval(), ms(1000));
    // Nonsense shares keep a usable budget.
    g.set_share(f64::NAN);
    assert_eq!(g.interval(), ms(250));
    g.set_share(0.0);
    assert_eq!(g.interval(), ms(25_000));
}
