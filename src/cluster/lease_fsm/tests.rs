use super::*;

const TTL: Duration = Duration::from_secs(15);
const OVERLAP: Duration = Duration::from_secs(60);

/// A manual clock: time only moves when the test says so.
struct Clock {
    now: Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            now: Instant::now(),
        }
    }
    fn advance(&mut self, by: Duration) -> Instant {
        self.now += by;
        self.now
    }
}

fn fsm(on_lease_loss: OnLeaseLoss, clock: &Clock) -> LeaseFsm {
    let mut fsm = LeaseFsm::new(
        Policy {
            lease_ttl: TTL,
            on_lease_loss,
            handover_overlap: OVERLAP,
        },
        clock.now,
    );
    fsm.session_started("bilibili:1", Some(100));
    fsm.session_started("douyin:2", Some(101));
    fsm
}

fn elsewhere(room: &str, writing: bool) -> Input {
    Input::OwnedElsewhere {
        room: room.into(),
        owner: "nas-2".into(),
        writing,
    }
}

fn reclaims(rooms: &[&str]) -> Vec<Step> {
    rooms
        .iter()
        .map(|r| Step::Reclaim { room: (*r).into() })
        .collect()
}

/// Keep-alives every TTL/3 for `span`, all answered.
fn healthy_for(fsm: &mut LeaseFsm, clock: &mut Clock, span: Duration) {
    let end = clock.now + span;
    while clock.now < end {
        let interval = fsm.keepalive_interval();
        let now = clock.advance(interval);
        assert_eq!(fsm.on(Input::KeepaliveOk, now), vec![]);
        assert_eq!(fsm.on(Input::Tick, now), vec![]);
    }
}

#[test]
fn keepalive_cadence() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    assert_eq!(fsm.keepalive_interval(), Duration::from_secs(5));
    healthy_for(&mut fsm, &mut clock, Duration::from_secs(120));
    assert!(matches!(fsm.state(), LeaseState::Healthy { .. }));
    let now = clock.advance(Duration::from_secs(1));
    fsm.on(Input::EtcdUnreachable, now);
    assert_eq!(fsm.keepalive_interval(), Duration::from_secs(1));
}

#[test]
fn failures_shorter_than_the_ttl_change_nothing_for_the_rooms() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Stop, &clock);
    let last_ok = clock.now;
    for _ in 0..10 {
        let now = clock.advance(Duration::from_secs(1));
        assert_eq!(fsm.on(Input::EtcdUnreachable, now), vec![]);
        assert_eq!(fsm.on(Input::Tick, now), vec![]);
    }
    assert_eq!(
        fsm.state(),
        LeaseState::KeepaliveFailing {
            since: last_ok + Duration::from_secs(1),
            last_ok
        }
    );
    assert!(fsm.lease_ok(clock.now));
    assert_eq!(fsm.new_sessions(), NewSessions::Claim);
    let now = clock.advance(Duration::from_secs(1));
    assert_eq!(fsm.on(Input::KeepaliveOk, now), vec![]);
    assert_eq!(fsm.state(), LeaseState::Healthy { last_ok: now });
    assert_eq!(
        fsm.room("bilibili:1"),
        Some(&RoomState::Owned { fence: Some(100) })
    );
}

/// SIGSTOP for two TTLs, then SIGCONT; another instance took bilibili:1 meanwhile.
#[test]
fn paused_two_ttls_hands_over_once_the_new_owner_writes() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    healthy_for(&mut fsm, &mut clock, Duration::from_secs(10));
    // Frozen: no tick, no keep-alive for 2 × TTL.
    let now = clock.advance(2 * TTL);
    assert_eq!(fsm.on(Input::Tick, now), vec![Step::KeepaliveNow]);
    assert!(!fsm.lease_ok(now), "no renewal for a whole TTL");
    // etcd: lease not found.
    assert_eq!(
        fsm.on(Input::KeepaliveExpired, now),
        vec![Step::LeaseLost, Step::Regrant]
    );
    assert_eq!(fsm.new_sessions(), NewSessions::Wait);
    assert!(fsm.needs_regrant());
    let now = clock.advance(Duration::from_millis(50));
    assert_eq!(
        fsm.on(Input::LeaseRegranted, now),
        reclaims(&["bilibili:1", "douyin:2"])
    );
    // bilibili:1 was taken; douyin:2 was not.
    let now = clock.advance(Duration::from_millis(50));
    assert_eq!(fsm.on(elsewhere("bilibili:1", false), now), vec![]);
    assert_eq!(
        fsm.on(
            Input::Reclaimed {
                room: "douyin:2".into(),
                fence: 230
            },
            now
        ),
        vec![Step::NewFence {
            room: "douyin:2".into(),
            fence: 230
        }]
    );
    // The new owner has not written yet: keep recording (no gap).
    let now = clock.advance(Duration::from_secs(5));
    assert_eq!(fsm.on(Input::Tick, now), vec![]);
    assert!(matches!(
        fsm.room("bilibili:1"),
        Some(RoomState::HandingOver { .. })
    ));
    // It writes: split and stop.
    let now = clock.advance(Duration::from_secs(1));
    assert_eq!(
        fsm.on(elsewhere("bilibili:1", true), now),
        vec![
            Step::SplitAndStop {
                room: "bilibili:1".into()
            },
            Step::Handover {
                room: "bilibili:1".into(),
                to: "nas-2".into(),
                reason: HandoverReason::NewOwnerWriting
            }
        ]
    );
    // Nothing more for it, even if the news repeats; then the session ends.
    assert_eq!(fsm.on(elsewhere("bilibili:1", true), now), vec![]);
    fsm.session_ended("bilibili:1");
    assert_eq!(fsm.room("bilibili:1"), None);
    assert_eq!(
        fsm.room("douyin:2"),
        Some(&RoomState::Owned { fence: Some(230) })
    );
}

#[test]
fn paused_with_policy_stop_stops_at_once_when_another_owns_the_room() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Stop, &clock);
    let now = clock.advance(2 * TTL);
    fsm.on(Input::Tick, now);
    fsm.on(Input::KeepaliveExpired, now);
    fsm.on(Input::LeaseRegranted, now);
    assert_eq!(
        fsm.on(elsewhere("douyin:2", false), now),
        vec![
            Step::StopNow {
                room: "douyin:2".into()
            },
            Step::Handover {
                room: "douyin:2".into(),
                to: "nas-2".into(),
                reason: HandoverReason::PolicyStop
            }
        ]
    );
}

/// `POST /v3/lease/revoke` of our lease: nothing to wait for, nobody took the rooms yet.
#[test]
fn revoked_lease_is_reclaimed_without_cutting_anything() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Stop, &clock);
    healthy_for(&mut fsm, &mut clock, Duration::from_secs(7));
    let now = clock.advance(Duration::from_secs(5));
    assert_eq!(
        fsm.on(Input::KeepaliveExpired, now),
        vec![Step::LeaseLost, Step::Regrant]
    );
    assert_eq!(fsm.room("bilibili:1"), Some(&RoomState::Reclaiming));
    // A stale answer for the old lease changes nothing.
    assert_eq!(fsm.on(Input::KeepaliveOk, now), vec![]);
    assert!(fsm.needs_regrant());
    assert_eq!(
        fsm.on(Input::LeaseRegranted, now),
        reclaims(&["bilibili:1", "douyin:2"])
    );
    for (room, fence) in [("bilibili:1", 300), ("douyin:2", 301)] {
        assert_eq!(
            fsm.on(
                Input::Reclaimed {
                    room: room.into(),
                    fence
                },
                now
            ),
            vec![Step::NewFence {
                room: room.into(),
                fence
            }]
        );
    }
    assert_eq!(
        fsm.room("bilibili:1"),
        Some(&RoomState::Owned { fence: Some(300) })
    );
    assert!(fsm.lease_ok(now));
}

/// A proxy black-holes this instance's etcd traffic; the others take its rooms.
#[test]
fn cut_off_from_etcd_keeps_recording_then_hands_over_after_healing() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    healthy_for(&mut fsm, &mut clock, Duration::from_secs(5));
    let last_ok = clock.now;
    let mut degraded_at = None;
    // Keep-alives time out every second for 40 s.
    for _ in 0..40 {
        let now = clock.advance(Duration::from_secs(1));
        let mut steps = fsm.on(Input::Tick, now);
        steps.extend(fsm.on(Input::EtcdUnreachable, now));
        if steps == vec![Step::Degraded] {
            assert_eq!(degraded_at, None, "cluster_degraded raised once");
            degraded_at = Some(now - last_ok);
        } else {
            assert_eq!(steps, vec![], "no room is stopped while cut off");
        }
    }
    assert_eq!(degraded_at, Some(TTL));
    assert_eq!(fsm.new_sessions(), NewSessions::HashOwnerOnly);
    assert!(!fsm.lease_ok(clock.now));
    assert_eq!(
        fsm.room("bilibili:1"),
        Some(&RoomState::Owned { fence: Some(100) })
    );
    // Healed: the lease is long gone.
    let now = clock.advance(Duration::from_secs(1));
    assert_eq!(
        fsm.on(Input::KeepaliveExpired, now),
        vec![Step::Recovered, Step::LeaseLost, Step::Regrant]
    );
    fsm.on(Input::LeaseRegranted, now);
    // Both rooms were taken; nas-2 already writes bilibili:1, douyin:2 only claimed.
    assert_eq!(fsm.on(elsewhere("bilibili:1", true), now).len(), 2);
    assert_eq!(fsm.on(elsewhere("douyin:2", false), now), vec![]);
    let now = clock.advance(OVERLAP - Duration::from_secs(1));
    assert_eq!(fsm.on(Input::KeepaliveOk, now), vec![]);
    assert_eq!(fsm.on(Input::Tick, now), vec![]);
    let now = clock.advance(Duration::from_secs(1));
    assert_eq!(
        fsm.on(Input::Tick, now),
        vec![
            Step::SplitAndStop {
                room: "douyin:2".into()
            },
            Step::Handover {
                room: "douyin:2".into(),
                to: "nas-2".into(),
                reason: HandoverReason::OverlapElapsed
            }
        ]
    );
}

/// etcd itself is stopped (SIGSTOP) and resumed, and keeps our lease.
#[test]
fn etcd_stopped_and_resumed_keeps_recordings_and_claims_degraded_starts() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Stop, &clock);
    // Keep-alives hang until the 5 s request timeout, then fail.
    let mut steps = Vec::new();
    for _ in 0..6 {
        let now = clock.advance(Duration::from_secs(5));
        steps.extend(fsm.on(Input::Tick, now));
        steps.extend(fsm.on(Input::EtcdUnreachable, now));
    }
    assert_eq!(steps, vec![Step::Degraded]);
    assert!(matches!(fsm.state(), LeaseState::EtcdDown { .. }));
    // A room goes live meanwhile; we were its hash owner, so we record it unclaimed.
    assert_eq!(fsm.new_sessions(), NewSessions::HashOwnerOnly);
    fsm.session_started("douyin:3", None);
    // etcd is back and our lease survived (etcd renews leases when it recovers).
    let now = clock.advance(Duration::from_secs(1));
    assert_eq!(
        fsm.on(Input::KeepaliveOk, now),
        vec![
            Step::Recovered,
            Step::Reclaim {
                room: "douyin:3".into()
            }
        ]
    );
    assert_eq!(
        fsm.room("bilibili:1"),
        Some(&RoomState::Owned { fence: Some(100) })
    );
    assert_eq!(
        fsm.on(
            Input::Reclaimed {
                room: "douyin:3".into(),
                fence: 555
            },
            now
        ),
        vec![Step::NewFence {
            room: "douyin:3".into(),
            fence: 555
        }]
    );
    assert_eq!(fsm.new_sessions(), NewSessions::Claim);
}

/// etcd comes back but our lease did not survive, and granting a new one fails at first.
#[test]
fn lease_lost_while_etcd_flaps() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    let now = clock.advance(Duration::from_secs(3));
    fsm.on(Input::KeepaliveExpired, now);
    let now = clock.advance(Duration::from_secs(1));
    assert_eq!(fsm.on(Input::EtcdUnreachable, now), vec![Step::Degraded]);
    assert_eq!(fsm.on(Input::EtcdUnreachable, now), vec![]);
    assert_eq!(fsm.new_sessions(), NewSessions::HashOwnerOnly);
    assert!(fsm.needs_regrant());
    let now = clock.advance(Duration::from_secs(1));
    let mut steps = fsm.on(Input::LeaseRegranted, now);
    assert_eq!(steps.remove(0), Step::Recovered);
    assert_eq!(steps, reclaims(&["bilibili:1", "douyin:2"]));
}

#[test]
fn new_owner_writing_hands_over_at_once_with_overlap_policy() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    let now = clock.advance(Duration::from_secs(1));
    let steps = fsm.on(elsewhere("bilibili:1", true), now);
    assert_eq!(
        steps[1],
        Step::Handover {
            room: "bilibili:1".into(),
            to: "nas-2".into(),
            reason: HandoverReason::NewOwnerWriting
        }
    );
    assert_eq!(fsm.room("bilibili:1"), Some(&RoomState::Stopping));
    assert_eq!(
        fsm.room("douyin:2"),
        Some(&RoomState::Owned { fence: Some(101) })
    );
}

#[test]
fn overlap_counts_from_the_first_sighting_of_the_new_owner() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    let first = clock.advance(Duration::from_secs(1));
    fsm.on(elsewhere("bilibili:1", false), first);
    let now = clock.advance(Duration::from_secs(30));
    assert_eq!(fsm.on(elsewhere("bilibili:1", false), now), vec![]);
    assert_eq!(
        fsm.room("bilibili:1"),
        Some(&RoomState::HandingOver {
            to: "nas-2".into(),
            since: first
        })
    );
    let now = clock.advance(Duration::from_secs(30));
    let steps = fsm.on(elsewhere("bilibili:1", false), now);
    assert_eq!(
        steps[0],
        Step::SplitAndStop {
            room: "bilibili:1".into()
        }
    );
}

#[test]
fn an_owner_that_vanishes_during_handover_is_reclaimed() {
    let mut clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Overlap, &clock);
    let now = clock.advance(Duration::from_secs(1));
    fsm.on(elsewhere("bilibili:1", false), now);
    // nas-2 died before writing.
    let now = clock.advance(Duration::from_secs(10));
    assert_eq!(
        fsm.on(
            Input::OwnerGone {
                room: "bilibili:1".into()
            },
            now
        ),
        reclaims(&["bilibili:1"])
    );
    fsm.on(
        Input::Reclaimed {
            room: "bilibili:1".into(),
            fence: 900,
        },
        now,
    );
    healthy_for(&mut fsm, &mut clock, OVERLAP);
    assert_eq!(
        fsm.on(Input::Tick, clock.now),
        vec![],
        "the handover was called off"
    );
    assert_eq!(
        fsm.room("bilibili:1"),
        Some(&RoomState::Owned { fence: Some(900) })
    );
}

#[test]
fn inputs_for_rooms_we_do_not_record_are_ignored() {
    let clock = Clock::new();
    let mut fsm = fsm(OnLeaseLoss::Stop, &clock);
    assert_eq!(fsm.on(elsewhere("other:9", true), clock.now), vec![]);
    assert_eq!(
        fsm.on(
            Input::OwnerGone {
                room: "other:9".into()
            },
            clock.now
        ),
        vec![]
    );
    assert_eq!(
        fsm.on(
            Input::Reclaimed {
                room: "other:9".into(),
                fence: 1
            },
            clock.now
        ),
        vec![]
    );
    assert_eq!(fsm.room("other:9"), None);
}
