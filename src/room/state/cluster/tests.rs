use std::time::Duration;

use super::super::{Do, Machine, Phase, Probe, Timing};
use std::time::Instant;

fn timing() -> Timing {
    Timing {
        poll_interval: Duration::from_secs(30),
        offline_grace: Duration::from_secs(60),
        alert_after: Duration::from_secs(90),
        max_session: Duration::ZERO,
    }
}

#[test]
fn a_poll_that_is_another_instances_waits_for_the_next_slot_without_alerting() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    assert_eq!(m.on_timer(t0), [Do::Poll]);
    m.on_poll_started();
    m.on_not_ours(Some("recorded by nas-2".into()), t0);
    assert_eq!(
        m.phase(),
        &Phase::Waiting {
            reason: "recorded by nas-2".into(),
            elsewhere: true
        }
    );
    // Nothing before the routine poll; no alert however long another instance records.
    assert_eq!(m.next_wakeup(), Some(t0 + Duration::from_secs(30)));
    assert_eq!(m.on_timer(t0 + Duration::from_secs(30)), [Do::Poll]);
    m.on_poll_started();
    // The recorder is gone and the hash gives the room to another poller: idle here.
    m.on_not_ours(None, t0 + Duration::from_secs(30));
    assert_eq!(m.phase(), &Phase::Idle);
    assert_eq!(m.next_wakeup(), Some(t0 + Duration::from_secs(60)));
}

#[test]
fn a_handed_over_session_ends_and_the_room_waits_for_its_new_owner() {
    let t0 = Instant::now();
    let mut m = Machine::new(timing(), true, t0);
    m.on_timer(t0);
    m.on_poll_started();
    assert_eq!(m.on_poll(Probe::Live, t0), [Do::StartSession]);
    assert_eq!(m.on_session_started(t0), [Do::Connect]);
    m.on_flowing(t0);
    let why = "handover to nas-2 (new_owner_writing)".to_string();
    assert_eq!(
        m.on_handed_over("nas-2", why.clone(), false, t0 + Duration::from_secs(5)),
        [Do::StopSession(why)]
    );
    assert!(!m.in_session());
    assert_eq!(
        m.phase(),
        &Phase::Waiting {
            reason: "recorded by nas-2".into(),
            elsewhere: true
        }
    );
    // Told twice (the order repeats): nothing more.
    assert!(
        m.on_handed_over("nas-2", "again".into(), true, t0 + Duration::from_secs(6))
            .is_empty()
    );
}
