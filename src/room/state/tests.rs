use super::*;

fn timing() -> Timing {
    Timing {
        poll_interval: Duration::from_secs(30),
        offline_grace: Duration::from_secs(60),
        alert_after: Duration::from_secs(90),
        max_session: Duration::ZERO,
    }
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn live_room_is_recorded_and_ends_after_grace() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    assert_eq!(m.on_timer(t0), [Do::Poll]);
    m.on_poll_started();
    assert_eq!(m.on_poll(Probe::Live, t0), [Do::StartSession]);
    assert_eq!(m.on_session_started(t0), [Do::Connect]);
    assert!(m.on_flowing(t0 + s(1)).is_empty());
    // Stream drops: poll at once, platform says still live, reconnect at once.
    assert_eq!(
        m.on_attempt_ended(Some("eof".into()), t0 + s(100)),
        [Do::Poll]
    );
    assert!(m.on_poll(Probe::Live, t0 + s(100)).is_empty());
    assert_eq!(m.on_timer(t0 + s(100)), [Do::Connect]);
    // Stream ends for real: grace starts, session ends after 60s offline, not before.
    assert_eq!(m.on_attempt_ended(None, t0 + s(200)), [Do::Poll]);
    assert!(m.on_poll(Probe::Offline, t0 + s(200)).is_empty());
    assert!(matches!(m.phase(), Phase::Grace { .. }));
    assert_eq!(m.on_timer(t0 + s(210)), [Do::Poll]);
    assert!(m.on_poll(Probe::Offline, t0 + s(210)).is_empty());
    assert_eq!(m.on_timer(t0 + s(260)), [Do::Poll]);
    assert_eq!(
        m.on_poll(Probe::Offline, t0 + s(260)),
        [Do::EndSession(None)]
    );
    assert!(!m.in_session());
    assert_eq!(m.phase(), &Phase::Idle);
}

#[test]
fn a_short_drop_stays_in_the_same_session() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_attempt_ended(None, t0 + s(10));
    m.on_poll(Probe::Offline, t0 + s(10));
    m.on_timer(t0 + s(20));
    assert_eq!(m.on_poll(Probe::Live, t0 + s(20)), [Do::Connect]);
    assert!(m.in_session());
}

#[test]
fn unknown_never_ends_a_session_while_bytes_flow() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_flowing(t0);
    for n in 1..50 {
        let now = t0 + s(n * 100);
        m.on_attempt_ended(Some("reset".into()), now);
        let out = m.on_poll(Probe::Unknown("HTTP 412".into()), now);
        assert!(out.iter().all(|d| !matches!(d, Do::EndSession(_))));
        assert!(matches!(m.phase(), Phase::Backoff { .. }));
        // The reconnect works: bytes flow again for a while.
        assert_eq!(m.on_timer(now + s(50)), [Do::Connect]);
        assert!(m.on_flowing(now + s(51)).is_empty());
    }
    assert!(m.in_session());
}

/// Starts a session whose stream flowed and then ended at `t0 + 10 s`.
fn session_whose_stream_ended(t0: Instant) -> Machine {
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_flowing(t0 + s(1));
    assert_eq!(m.on_attempt_ended(None, t0 + s(10)), [Do::Poll]);
    m
}

#[test]
fn a_status_unknown_for_offline_grace_without_stream_ends_the_session() {
    let t0 = Instant::now();
    let mut m = session_whose_stream_ended(t0);
    // Unknown answers, and reconnects that find no stream.
    let mut now = t0 + s(10);
    let mut ended = None;
    while now < t0 + s(200) {
        let mut out = m.on_poll(Probe::Unknown("empty answer".into()), now);
        if out.is_empty() {
            let Some(wake) = m.next_wakeup() else {
                panic!("nothing scheduled in {:?}", m.phase())
            };
            now = wake;
            out = m.on_timer(now);
        }
        if let Some(Do::EndSession(reason)) = out.first() {
            ended = Some((now, reason.clone()));
            break;
        }
        assert_eq!(out, [Do::Connect]);
        assert!(m.in_session());
        now += s(1);
        assert_eq!(m.on_attempt_ended(Some("refused".into()), now), [Do::Poll]);
    }
    let (at, reason) = ended.expect("the session ends");
    // offline_grace (60 s) after the first unknown answer, not at the next poll after it.
    assert_eq!(at, t0 + s(70));
    let reason = reason.expect("with a reason");
    assert!(
        reason.contains("unknown for 1m") && reason.contains("empty answer"),
        "{reason}"
    );
    assert!(!m.in_session());
    assert_eq!(m.phase(), &Phase::Idle);
    // A later live answer opens a new session.
    m.on_timer(at + s(30));
    assert_eq!(m.on_poll(Probe::Live, at + s(30)), [Do::StartSession]);
}

#[test]
fn a_real_answer_or_flowing_bytes_restart_the_unknown_clock() {
    let t0 = Instant::now();
    let mut m = session_whose_stream_ended(t0);
    m.on_poll(Probe::Unknown("x".into()), t0 + s(10));
    assert_eq!(m.next_wakeup(), Some(t0 + s(10)), "reconnect at once");
    assert_eq!(m.on_timer(t0 + s(10)), [Do::Connect]);
    // An attempt that connects but writes nothing: its clock still runs.
    assert_eq!(m.next_wakeup(), Some(t0 + s(70)));
    // It flows: no deadline while bytes flow.
    m.on_flowing(t0 + s(50));
    assert_eq!(m.next_wakeup(), None);
    m.on_attempt_ended(None, t0 + s(100));
    m.on_poll(Probe::Unknown("x".into()), t0 + s(100));
    m.on_timer(t0 + s(100));
    assert_eq!(m.next_wakeup(), Some(t0 + s(160)), "a new clock");
    m.on_attempt_ended(None, t0 + s(101));
    // A real "live" answer also says something: the clock starts again at the next unknown.
    m.on_poll(Probe::Live, t0 + s(101));
    assert_eq!(m.on_timer(t0 + s(102)), [Do::Connect]);
    m.on_attempt_ended(None, t0 + s(150));
    m.on_poll(Probe::Unknown("x".into()), t0 + s(150));
    m.on_timer(t0 + s(152));
    // (The alert for "live but not writing" is due by now; the session is not over.)
    assert!(
        m.on_timer(t0 + s(200))
            .iter()
            .all(|d| !matches!(d, Do::EndSession(_)))
    );
    assert!(m.in_session());
    assert!(matches!(
        m.on_timer(t0 + s(210)).as_slice(),
        [Do::EndSession(Some(_))]
    ));
}

#[test]
fn unknown_answers_during_grace_do_not_extend_it() {
    let t0 = Instant::now();
    let mut m = session_whose_stream_ended(t0);
    m.on_poll(Probe::Offline, t0 + s(10));
    assert!(matches!(m.phase(), Phase::Grace { .. }));
    assert!(m.on_poll(Probe::Unknown("x".into()), t0 + s(40)).is_empty());
    assert_eq!(
        m.on_poll(Probe::Unknown("x".into()), t0 + s(70)),
        [Do::EndSession(None)]
    );
}

#[test]
fn a_paused_platform_is_polled_again_when_the_pause_ends() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    assert_eq!(m.on_timer(t0), [Do::Poll]);
    m.on_poll_started();
    let until = t0 + s(3);
    let out = m.on_poll(
        Probe::Paused {
            reason: "HTTP 412".into(),
            until,
        },
        t0,
    );
    assert!(out.is_empty());
    // At the end of the pause, not a poll interval (30 s) later.
    assert_eq!(m.next_wakeup(), Some(until));
    assert!(m.on_timer(until - s(1)).is_empty());
    assert_eq!(m.on_timer(until), [Do::Poll]);
    assert_eq!(m.on_poll(Probe::Live, until), [Do::StartSession]);
    // A long pause is waited out in one go.
    let mut m = Machine::new(timing(), true, t0);
    m.on_timer(t0);
    let until = t0 + s(1800);
    m.on_poll(
        Probe::Paused {
            reason: "x".into(),
            until,
        },
        t0,
    );
    assert_eq!(m.next_wakeup(), Some(until));
}

#[test]
fn a_session_reconnects_when_the_pause_ends_without_a_growing_backoff() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    // A few quick failures grow the reconnect backoff...
    let mut now = t0;
    for _ in 0..4 {
        m.on_attempt_ended(Some("refused".into()), now);
        m.on_poll(Probe::Live, now);
        let Phase::Backoff { at } = *m.phase() else {
            panic!()
        };
        now = at;
        m.on_timer(now);
    }
    // ...then the platform backs off for 20 s: the reconnect is at its end.
    m.on_attempt_ended(Some("blocked".into()), now);
    let until = now + s(20);
    m.on_poll(
        Probe::Paused {
            reason: "HTTP 412".into(),
            until,
        },
        now,
    );
    assert_eq!(m.phase(), &Phase::Backoff { at: until });
    assert_eq!(m.on_timer(until), [Do::Connect]);
    // Waiting was not failing: the next reconnect after a drop is immediate again.
    m.on_attempt_ended(Some("reset".into()), until + s(1));
    m.on_poll(Probe::Live, until + s(1));
    assert_eq!(m.phase(), &Phase::Backoff { at: until + s(1) });
}

#[test]
fn an_unrecordable_live_starts_no_session_and_is_reported_once() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_timer(t0);
    let drm = || Probe::Unrecordable("DRM live (special type 203)".into());
    assert_eq!(
        m.on_poll(drm(), t0),
        [Do::NotRecordable("DRM live (special type 203)".into())]
    );
    assert!(m.is_unrecordable());
    assert!(!m.in_session());
    // Polled on at poll_interval; the same answer is not reported again, nor alerted.
    for n in 1..40 {
        let now = t0 + s(30 * n);
        assert_eq!(m.next_wakeup(), Some(now));
        assert_eq!(m.on_timer(now), [Do::Poll]);
        assert!(m.on_poll(drm(), now).is_empty());
    }
    // Another reason is news.
    let now = t0 + s(1200);
    m.on_timer(now);
    assert_eq!(
        m.on_poll(Probe::Unrecordable("paid live".into()), now),
        [Do::NotRecordable("paid live".into())]
    );
    // A check forces a poll.
    assert_eq!(m.on_check_now(now + s(1)), [Do::Poll]);
    m.on_poll_started();
    assert_eq!(m.on_restart(now + s(2)), [], "one poll at a time");
    // It becomes recordable: a session starts.
    assert_eq!(m.on_poll(Probe::Live, now + s(2)), [Do::StartSession]);
    // Offline: idle, and the same reason would be news again next time.
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(drm(), t0);
    m.on_poll(Probe::Offline, t0 + s(30));
    assert_eq!(m.phase(), &Phase::Idle);
    assert_eq!(m.on_poll(drm(), t0 + s(60)).len(), 1);
}

#[test]
fn a_session_whose_live_becomes_unrecordable_ends_with_the_reason() {
    let t0 = Instant::now();
    // Found out by a poll after the stream ended.
    let mut m = session_whose_stream_ended(t0);
    assert_eq!(
        m.on_poll(Probe::Unrecordable("guard-only live".into()), t0 + s(10)),
        [
            Do::EndSession(Some("not recordable: guard-only live".into())),
            Do::NotRecordable("guard-only live".into())
        ]
    );
    assert!(!m.in_session());
    assert_eq!(m.next_wakeup(), Some(t0 + s(40)));
    // Found out by the attempt itself (the stream list): the same, and no reconnect.
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    assert_eq!(
        m.on_attempt_unrecordable("guard-only live".into(), t0 + s(1)),
        [
            Do::EndSession(Some("not recordable: guard-only live".into())),
            Do::NotRecordable("guard-only live".into())
        ]
    );
    assert!(m.is_unrecordable());
    assert!(m.on_timer(t0 + s(20)).is_empty(), "no reconnect, no alert");
    // It stays unrecordable: no second report, even through a session that fails again.
    m.on_timer(t0 + s(31));
    assert_eq!(m.on_poll(Probe::Live, t0 + s(31)), [Do::StartSession]);
    m.on_session_started(t0 + s(31));
    assert_eq!(
        m.on_attempt_unrecordable("guard-only live".into(), t0 + s(32)),
        [Do::EndSession(Some(
            "not recordable: guard-only live".into()
        ))]
    );
}

#[test]
fn a_new_broadcast_closes_the_session_and_opens_the_next() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_attempt_ended(None, t0 + s(10));
    m.on_poll(Probe::Offline, t0 + s(10));
    assert!(matches!(m.phase(), Phase::Grace { .. }));
    assert_eq!(
        m.on_new_broadcast(t0 + s(20)),
        [Do::EndSession(None), Do::StartSession]
    );
    assert!(!m.in_session());
    assert_eq!(m.on_session_started(t0 + s(20)), [Do::Connect]);
    assert!(m.in_session());
}

#[test]
fn reconnect_backoff_grows_and_is_capped() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    let mut delays = Vec::new();
    let mut now = t0;
    for _ in 0..9 {
        m.on_attempt_ended(Some("refused".into()), now);
        m.on_poll(Probe::Live, now);
        let Phase::Backoff { at } = *m.phase() else {
            panic!()
        };
        delays.push(at.duration_since(now).as_secs());
        now = at;
        assert_eq!(m.on_timer(now).first(), Some(&Do::Connect));
    }
    assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30, 30]);
}

#[test]
fn live_but_not_writing_raises_an_alert_then_recovers() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_attempt_ended(Some("HTTP 403 from the CDN".into()), t0 + s(5));
    m.on_poll(Probe::Live, t0 + s(5));
    assert_eq!(m.next_wakeup(), Some(t0 + s(5)));
    m.on_timer(t0 + s(5));
    // Attempting: no timed polls, only the alert clock.
    assert_eq!(m.next_wakeup(), Some(t0 + s(90)));
    let out = m.on_timer(t0 + s(90));
    let Some(Do::Alert(reason)) = out.iter().find(|d| matches!(d, Do::Alert(_))) else {
        panic!("no alert in {out:?}");
    };
    assert!(reason.contains("HTTP 403"), "{reason}");
    assert!(m.is_alerting());
    // Repeated, but not on every tick.
    assert!(
        !m.on_timer(t0 + s(91))
            .iter()
            .any(|d| matches!(d, Do::Alert(_)))
    );
    assert!(
        m.on_timer(t0 + s(90) + REALERT)
            .iter()
            .any(|d| matches!(d, Do::Alert(_)))
    );
    assert_eq!(m.on_flowing(t0 + s(2000)), [Do::Recovered]);
    assert!(!m.is_alerting());
}

#[test]
fn waiting_on_another_holder_is_not_an_alert_but_a_full_cap_is() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_blocked("held by pid 7 on a".into(), true, t0);
    assert!(
        m.on_timer(t0 + s(1000))
            .iter()
            .all(|d| !matches!(d, Do::Alert(_)))
    );
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_blocked("max_recordings reached".into(), false, t0);
    m.on_timer(t0 + s(30));
    m.on_poll(Probe::Live, t0 + s(30));
    m.on_blocked("max_recordings reached".into(), false, t0 + s(30));
    assert!(
        m.on_timer(t0 + s(90))
            .iter()
            .any(|d| matches!(d, Do::Alert(r) if r.contains("max_recordings")))
    );
}

#[test]
fn disabled_rooms_do_nothing() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), false, t0);
    assert_eq!(m.next_wakeup(), None);
    assert!(m.on_timer(t0 + s(1000)).is_empty());
    assert!(m.on_check_now(t0).is_empty());
}

#[test]
fn restart_stops_a_running_attempt_and_skips_backoff() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    assert_eq!(m.on_restart(t0 + s(1)), [Do::StopAttempt]);
    let mut now = t0 + s(1);
    for _ in 0..5 {
        m.on_attempt_ended(Some("x".into()), now);
        m.on_poll(Probe::Live, now);
        let Phase::Backoff { at } = *m.phase() else {
            panic!()
        };
        now = at;
        m.on_timer(now);
    }
    m.on_attempt_ended(Some("x".into()), now);
    m.on_poll(Probe::Live, now);
    assert!(matches!(m.phase(), Phase::Backoff { at } if *at > now + s(5)));
    assert_eq!(m.on_restart(now), [Do::Connect]);
}

#[test]
fn on_its_platforms_schedule_a_room_polls_at_its_slot_every_interval() {
    use crate::room::schedule::Grid;
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    // Slot 7.5 s into each 30 s interval (a quarter of it).
    let grid = Grid::new(t0, 1 << 30, Duration::ZERO, s(30), t0);
    m.set_grid(grid, t0);
    assert_eq!(m.next_wakeup(), Some(t0 + Duration::from_millis(7_500)));
    let slot = |k: u64| t0 + Duration::from_millis(7_500) + s(30 * k);
    assert_eq!(m.on_timer(slot(0)), [Do::Poll]);
    m.on_poll_started();
    // The answer came late (the poll waited 4 s for its turn): the next poll is still at the
    // slot, not 30 s after the answer.
    assert!(m.on_poll(Probe::Offline, slot(0) + s(4)).is_empty());
    assert_eq!(m.next_wakeup(), Some(slot(1)));
    // An operator's check out of turn does not bring the next one forward.
    m.on_check_now(slot(1) + s(20));
    m.on_poll_started();
    m.on_poll(Probe::Offline, slot(1) + s(20));
    assert_eq!(m.next_wakeup(), Some(slot(3)));
    // A reload doubles the interval: the same quarter of the new one.
    m.set_timing(Timing {
        poll_interval: s(60),
        ..timing()
    });
    m.on_timer(slot(3));
    m.on_poll_started();
    m.on_poll(Probe::Offline, slot(3));
    assert_eq!(m.next_wakeup(), Some(t0 + s(15) + s(60 * 2)));
}

/// An idle machine whose first poll found the room offline at `t0`.
fn idle_after_first_poll(t0: Instant) -> Machine {
    let mut m = Machine::new(timing(), true, t0);
    assert_eq!(m.on_timer(t0), [Do::Poll]);
    m.on_poll_started();
    assert!(m.on_poll(Probe::Offline, t0).is_empty());
    m
}

#[test]
fn a_pushed_live_start_polls_now_then_every_5s_for_a_minute_while_the_api_lags() {
    let t0 = Instant::now();
    let mut m = idle_after_first_poll(t0);
    let push = t0 + s(7);
    assert_eq!(m.on_live_pushed(push), [Do::Poll]);
    m.on_poll_started();
    // The API has not caught up: ask again in 5 s, not at the 30 s interval.
    let mut at = push;
    m.on_poll(Probe::Offline, at);
    for _ in 0..11 {
        assert!(m.on_timer(at + s(4)).is_empty(), "not before 5 s");
        at += LIVE_HINT_EVERY;
        assert_eq!(m.on_timer(at), [Do::Poll], "at {:?}", at - push);
        m.on_poll_started();
        m.on_poll(Probe::Offline, at);
    }
    // A minute after the push the room is polled at its usual pace again.
    assert_eq!(at - push, s(55));
    at += LIVE_HINT_EVERY;
    assert_eq!(m.on_timer(at), [Do::Poll]);
    m.on_poll_started();
    m.on_poll(Probe::Offline, at);
    assert!(
        m.on_timer(at + s(29)).is_empty(),
        "the window closed at 60 s"
    );
    assert_eq!(m.on_timer(at + s(30)), [Do::Poll]);
}

#[test]
fn a_live_answer_closes_the_live_hint_window() {
    let t0 = Instant::now();
    let mut m = idle_after_first_poll(t0);
    assert_eq!(m.on_live_pushed(t0 + s(1)), [Do::Poll]);
    m.on_poll_started();
    m.on_poll(Probe::Offline, t0 + s(1));
    assert_eq!(m.on_timer(t0 + s(6)), [Do::Poll]);
    m.on_poll_started();
    assert_eq!(m.on_poll(Probe::Live, t0 + s(6)), [Do::StartSession]);
    assert_eq!(m.on_session_started(t0 + s(6)), [Do::Connect]);
    // The live ends and the room is idle again: later offline answers are ordinary.
    assert_eq!(m.on_attempt_ended(None, t0 + s(20)), [Do::Poll]);
    m.on_poll(Probe::Offline, t0 + s(20));
    assert_eq!(m.on_timer(t0 + s(30)), [Do::Poll]);
    m.on_poll(Probe::Offline, t0 + s(30));
    assert!(
        m.on_timer(t0 + s(35)).is_empty(),
        "grace polls every 10 s, not 5"
    );
}

#[test]
fn a_check_asked_for_during_a_poll_follows_an_offline_answer_at_once() {
    let t0 = Instant::now();
    let mut m = idle_after_first_poll(t0);
    // The timed poll is in flight when the push comes: its answer may predate the live.
    assert_eq!(m.on_timer(t0 + s(30)), [Do::Poll]);
    m.on_poll_started();
    assert!(
        m.on_live_pushed(t0 + s(31)).is_empty(),
        "one poll at a time"
    );
    m.on_poll(Probe::Offline, t0 + s(32));
    assert_eq!(m.on_timer(t0 + s(32)), [Do::Poll], "asked again at once");
    m.on_poll_started();
    m.on_poll(Probe::Offline, t0 + s(32));
    assert!(m.on_timer(t0 + s(36)).is_empty());
    assert_eq!(m.on_timer(t0 + s(37)), [Do::Poll], "then every 5 s");

    // An operator's check during a poll whose answer is "live" needs no second poll.
    let mut m = idle_after_first_poll(t0);
    assert_eq!(m.on_timer(t0 + s(30)), [Do::Poll]);
    m.on_poll_started();
    assert!(m.on_check_now(t0 + s(31)).is_empty());
    assert_eq!(m.on_poll(Probe::Live, t0 + s(32)), [Do::StartSession]);
    // Without a push, a check during a poll that answers offline is followed once, then the
    // room is back at its interval.
    let mut m = idle_after_first_poll(t0);
    assert_eq!(m.on_timer(t0 + s(30)), [Do::Poll]);
    m.on_poll_started();
    m.on_check_now(t0 + s(31));
    m.on_poll(Probe::Offline, t0 + s(32));
    assert_eq!(m.on_timer(t0 + s(32)), [Do::Poll]);
    m.on_poll_started();
    m.on_poll(Probe::Offline, t0 + s(32));
    assert!(m.on_timer(t0 + s(61)).is_empty());
    assert_eq!(m.on_timer(t0 + s(62)), [Do::Poll]);
}

#[test]
fn grace_polls_come_every_10_s_whatever_the_poll_interval() {
    let t0 = Instant::now();
    let mut m = Machine::new(
        Timing {
            poll_interval: s(600),
            ..timing()
        },
        true,
        t0,
    );
    m.on_timer(t0);
    m.on_poll_started();
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_flowing(t0);
    assert_eq!(m.on_attempt_ended(None, t0 + s(100)), [Do::Poll]);
    m.on_poll_started();
    m.on_poll(Probe::Offline, t0 + s(100));
    // Grace polls are 10 s apart, not on the room's 10-minute slot, and the session ends when
    // offline_grace (60 s) is over.
    for at in [110, 120, 130, 140, 150] {
        assert_eq!(m.on_timer(t0 + s(at)), [Do::Poll], "grace poll at {at} s");
        m.on_poll_started();
        assert!(m.on_poll(Probe::Offline, t0 + s(at)).is_empty());
    }
    assert_eq!(m.on_timer(t0 + s(160)), [Do::Poll]);
    m.on_poll_started();
    assert_eq!(
        m.on_poll(Probe::Offline, t0 + s(160)),
        [Do::EndSession(None)]
    );
}

#[test]
fn a_check_between_reconnects_polls_and_an_offline_answer_starts_the_grace() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_timer(t0);
    m.on_poll_started();
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    // The stream fails twice; the API still says live: reconnects back off.
    for at in [10, 11] {
        assert_eq!(
            m.on_attempt_ended(Some("404".into()), t0 + s(at)),
            [Do::Poll]
        );
        m.on_poll_started();
        m.on_poll(Probe::Live, t0 + s(at));
        assert!(
            matches!(m.phase(), Phase::Backoff { .. }),
            "{:?}",
            m.phase()
        );
        if at == 10 {
            assert_eq!(m.on_timer(t0 + s(11)), [Do::Connect]);
        }
    }
    // A pushed "the live ended" polls now instead of at the next attempt's end.
    let push = t0 + Duration::from_millis(11_500);
    assert_eq!(m.on_check_now(push), [Do::Poll]);
    m.on_poll_started();
    assert!(m.on_check_now(push).is_empty(), "one poll at a time");
    m.on_poll(Probe::Offline, push);
    assert!(matches!(m.phase(), Phase::Grace { .. }), "{:?}", m.phase());
    assert!(
        !m.on_timer(t0 + s(20)).contains(&Do::Connect),
        "no reconnect to a live that ended"
    );
    // A check while an attempt runs asks nothing: no answer would change the attempt.
    let mut m = Machine::new(timing(), true, t0);
    m.on_timer(t0);
    m.on_poll_started();
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    m.on_flowing(t0 + s(1));
    assert!(m.on_check_now(t0 + s(2)).is_empty());
}

#[test]
fn a_notify_only_room_opens_a_session_without_pulling_and_ends_it_after_grace() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.set_watch_only(true);
    assert_eq!(m.on_poll(Probe::Live, t0), [Do::StartSession]);
    assert!(m.on_session_started(t0).is_empty(), "no connection");
    assert_eq!(m.phase(), &Phase::Watching);
    // Polled at poll_interval like an idle room; never an alert, however long it lasts.
    assert_eq!(m.next_wakeup(), Some(t0 + s(30)));
    assert_eq!(m.on_timer(t0 + s(30)), [Do::Poll]);
    assert!(m.on_poll(Probe::Live, t0 + s(30)).is_empty());
    assert!(
        m.on_poll(Probe::Unknown("412".into()), t0 + s(60))
            .is_empty()
    );
    // Not recordable is still live, for a room that records nothing.
    assert!(
        m.on_poll(Probe::Unrecordable("paid".into()), t0 + s(90))
            .is_empty()
    );
    assert_eq!(m.phase(), &Phase::Watching);
    assert!(!m.is_alerting());
    // A short drop stays in the session; a long one ends it.
    assert!(m.on_poll(Probe::Offline, t0 + s(600)).is_empty());
    assert!(matches!(m.phase(), Phase::Grace { .. }));
    assert!(m.on_poll(Probe::Live, t0 + s(610)).is_empty());
    assert_eq!(m.phase(), &Phase::Watching);
    m.on_poll(Probe::Offline, t0 + s(700));
    assert_eq!(
        m.on_poll(Probe::Offline, t0 + s(760)),
        [Do::EndSession(None)]
    );
    assert!(!m.in_session());
}
