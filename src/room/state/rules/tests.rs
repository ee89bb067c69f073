//! The rules on injected instants: windows (finish and stop), skipped titles, the session
//! limit.

use std::time::Duration;

use super::super::{Do, Machine, Phase, Probe, Timing};
use super::{LIMIT_REACHED, WINDOW_ENDED};
use std::time::Instant;

fn timing(max_session: u64) -> Timing {
    Timing {
        poll_interval: s(30),
        offline_grace: s(60),
        alert_after: s(90),
        max_session: s(max_session),
    }
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A machine recording since `t0` (its bytes flowing from `t0`).
fn recording(max_session: u64, t0: Instant) -> Machine {
    let mut m = Machine::new(timing(max_session), true, t0);
    assert_eq!(m.on_timer(t0), [Do::Poll]);
    m.on_poll_started();
    assert_eq!(m.on_poll(Probe::Live, t0), [Do::StartSession]);
    assert_eq!(m.on_session_started(t0), [Do::Connect]);
    m.on_flowing(t0);
    m
}

#[test]
fn outside_its_window_a_room_is_not_polled_and_polls_at_once_when_it_opens() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(0), true, t0);
    assert!(m.on_window(false, false, t0).is_empty());
    assert_eq!(m.next_wakeup(), None, "nothing to wake up for");
    assert!(m.on_timer(t0 + s(3600)).is_empty(), "no poll");
    // A check asked for (an operator, a pushed live start) does not poll either.
    assert!(m.on_check_now(t0 + s(3600)).is_empty());
    assert!(m.on_live_pushed(t0 + s(3600)).is_empty());
    assert_eq!(m.on_window(true, false, t0 + s(7200)), [Do::Poll]);
}

#[test]
fn an_answer_asked_before_the_window_closed_is_dropped() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(0), true, t0);
    assert_eq!(m.on_timer(t0), [Do::Poll]);
    m.on_poll_started();
    m.on_window(false, false, t0 + s(1));
    assert!(m.on_poll(Probe::Live, t0 + s(2)).is_empty(), "no session");
    assert!(!m.in_session());
    assert_eq!(m.next_wakeup(), None);
}

#[test]
fn finish_records_the_live_in_progress_to_its_end_then_parks() {
    let t0 = Instant::now();
    let mut m = recording(0, t0);
    assert!(m.on_window(false, false, t0 + s(10)).is_empty());
    assert!(m.in_session(), "the recording goes on");
    // Reconnects and grace work as ever inside the session.
    assert_eq!(m.on_attempt_ended(None, t0 + s(100)), [Do::Poll]);
    assert!(m.on_poll(Probe::Live, t0 + s(100)).is_empty());
    assert_eq!(m.on_timer(t0 + s(100)), [Do::Connect]);
    assert_eq!(m.on_attempt_ended(None, t0 + s(200)), [Do::Poll]);
    assert!(m.on_poll(Probe::Offline, t0 + s(200)).is_empty());
    assert_eq!(m.on_timer(t0 + s(260)), [Do::Poll]);
    assert_eq!(
        m.on_poll(Probe::Offline, t0 + s(260)),
        [Do::EndSession(None)]
    );
    // Then nothing until the window opens.
    assert_eq!(m.next_wakeup(), None);
    assert!(m.on_timer(t0 + s(1000)).is_empty());
}

#[test]
fn stop_ends_the_session_when_the_window_closes() {
    let t0 = Instant::now();
    let mut m = recording(0, t0);
    assert_eq!(
        m.on_window(false, true, t0 + s(10)),
        [Do::StopSession(WINDOW_ENDED.into())]
    );
    assert!(!m.in_session());
    assert_eq!(m.phase(), &Phase::Idle);
    assert_eq!(m.next_wakeup(), None, "no polls until the next window");
    // The next window records the live again.
    assert_eq!(m.on_window(true, true, t0 + s(100)), [Do::Poll]);
    m.on_poll_started();
    assert_eq!(m.on_poll(Probe::Live, t0 + s(100)), [Do::StartSession]);
}

#[test]
fn a_skipped_title_starts_nothing_and_a_passing_one_records() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(0), true, t0);
    m.on_timer(t0);
    m.on_poll_started();
    assert!(
        m.on_poll(Probe::Skip("skipped: title".into()), t0)
            .is_empty()
    );
    assert!(m.is_skipped());
    assert_eq!(m.next_wakeup(), Some(t0 + s(30)), "polled on");
    // No alert for a live that is skipped on purpose.
    assert!(m.on_timer(t0 + s(200)).iter().all(|d| *d == Do::Poll));
    m.on_poll_started();
    assert_eq!(m.on_poll(Probe::Live, t0 + s(200)), [Do::StartSession]);
    m.on_session_started(t0 + s(200));
    // A failing title mid-session is never a reason to stop.
    assert!(
        m.on_poll(Probe::Skip("skipped".into()), t0 + s(230))
            .is_empty()
    );
    assert!(m.in_session());
}

#[test]
fn the_session_limit_ends_the_session_and_skips_the_rest_of_the_live() {
    let t0 = Instant::now();
    let mut m = recording(3600, t0);
    assert_eq!(m.next_wakeup(), Some(t0 + s(3600)));
    assert!(m.on_timer(t0 + s(3599)).is_empty());
    assert_eq!(
        m.on_timer(t0 + s(3600)),
        [Do::StopSession("max_session_duration (1h) reached".into())]
    );
    assert_eq!(
        m.phase(),
        &Phase::Skipped {
            reason: LIMIT_REACHED.into()
        }
    );
    // The same live: polled, but not recorded.
    let t1 = t0 + s(3630);
    assert_eq!(m.on_timer(t1), [Do::Poll]);
    m.on_poll_started();
    assert!(m.on_poll(Probe::Live, t1).is_empty());
    assert!(m.is_skipped());
    // Offline, then live again: a new session.
    m.on_poll(Probe::Offline, t1 + s(30));
    assert_eq!(m.phase(), &Phase::Idle);
    assert_eq!(m.on_poll(Probe::Live, t1 + s(60)), [Do::StartSession]);
}

#[test]
fn a_new_broadcast_lifts_the_session_limit() {
    let t0 = Instant::now();
    let mut m = recording(60, t0);
    m.on_timer(t0 + s(60));
    assert!(m.limit_reached());
    m.clear_limit();
    assert_eq!(m.on_poll(Probe::Live, t0 + s(90)), [Do::StartSession]);
}

#[test]
fn the_limit_counts_from_the_first_byte_not_from_connecting() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(60), true, t0);
    m.on_poll(Probe::Live, t0);
    m.on_session_started(t0);
    assert_eq!(
        m.next_wakeup(),
        Some(t0 + s(90)),
        "the alert's, not the limit's"
    );
    m.on_flowing(t0 + s(20));
    assert!(m.on_timer(t0 + s(60)).is_empty());
    assert_eq!(m.next_wakeup(), Some(t0 + s(80)));
    assert!(matches!(m.on_timer(t0 + s(80))[..], [Do::StopSession(_)]));
}

#[test]
fn a_reload_that_lifts_the_limit_records_the_rest_of_the_live() {
    let t0 = Instant::now();
    let mut m = recording(60, t0);
    m.on_timer(t0 + s(60));
    assert!(m.on_poll(Probe::Live, t0 + s(90)).is_empty());
    m.set_timing(timing(0));
    assert_eq!(m.on_poll(Probe::Live, t0 + s(120)), [Do::StartSession]);
}
