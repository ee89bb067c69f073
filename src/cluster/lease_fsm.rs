//! The per-instance lease and ownership state machine (issue 17, point 4): what happens to the
//! rooms this instance records when its etcd lease is in doubt or lost. Pure: no IO, no clock
//! of its own; the caller feeds it what happened ([`Input`]) with the time, and carries out the
//! [`Step`]s it returns. A room with no step keeps recording.
//!
//! ```text
//!   from                input                               to                steps
//!   Healthy             keep-alive unreachable              KeepaliveFailing
//!   Healthy             tick: no ok for a TTL (was paused)  KeepaliveFailing  KeepaliveNow
//!   KeepaliveFailing    keep-alive ok                       Healthy
//!   KeepaliveFailing    unreachable a TTL after the last ok EtcdDown          Degraded
//!   EtcdDown            keep-alive ok (lease survived)      Healthy           Recovered, Reclaim*
//!   all three above     etcd: lease gone                    LeaseLost         LeaseLost, Regrant
//!   LeaseLost           grant unreachable                   LeaseLost (down)  Degraded (once)
//!   LeaseLost           new lease granted                   Healthy           Reclaim every room
//!   * the rooms started unclaimed while etcd was down
//! ```
//!
//! The policy favours no gap over no duplicate: while ownership is uncertain every open
//! recording goes on. Once the owner key of a recorded room is seen naming another instance:
//! with `on_lease_loss = "overlap"` we keep writing until that instance writes too (or
//! `handover_overlap` passes), then split at the next keyframe and stop (make-before-break);
//! with `"stop"` we stop at once. Not knowing is never a reason to stop, so "etcd is down for
//! everyone" and "this instance is cut off" behave the same until etcd answers again.
//!
//! Not here: the etcd calls, the hash, the recorder. The caller reports a re-claim that found
//! its own lease on the owner key (a retried transaction) as [`Input::Reclaimed`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Keep-alive retry cadence while the lease is in doubt (the design's "retry every 1 s").
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLeaseLoss {
    /// Keep recording until the new owner writes or `handover_overlap` passes.
    Overlap,
    /// Stop as soon as another owner is known.
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub lease_ttl: Duration,
    pub on_lease_loss: OnLeaseLoss,
    pub handover_overlap: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    Healthy {
        last_ok: Instant,
    },
    /// Renewals fail (or none succeeded for a TTL, e.g. after a pause) but the lease may still
    /// be alive: `status` shows "renewing (last ok N s ago)".
    KeepaliveFailing {
        since: Instant,
        last_ok: Instant,
    },
    /// No renewal for a whole TTL and etcd unreachable: the lease is presumably gone, but
    /// nobody can tell us who owns what. The old lease is still tried (etcd may keep it).
    EtcdDown {
        since: Instant,
        last_ok: Instant,
    },
    /// etcd answered that the lease is gone; a new one must be granted. `etcd_down`: granting
    /// failed because etcd is unreachable again.
    LeaseLost {
        since: Instant,
        etcd_down: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A keep-alive answered with a TTL above zero.
    KeepaliveOk,
    /// etcd answered that the lease is gone (TTL 0, "lease not found").
    KeepaliveExpired,
    /// A keep-alive or lease grant could not reach etcd, or timed out.
    EtcdUnreachable,
    /// A new lease is granted and the member key re-registered with it.
    LeaseRegranted,
    /// A re-claim won (or found our own lease already on the key): the new fence.
    Reclaimed { room: String, fence: i64 },
    /// The room's owner key names another instance; `writing`: its value shows it recording.
    OwnedElsewhere {
        room: String,
        owner: String,
        writing: bool,
    },
    /// The room's owner key was deleted (its owner died, or ours vanished).
    OwnerGone { room: String },
    /// Time passed (call about once a second).
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoverReason {
    /// The new owner's value shows it writing.
    NewOwnerWriting,
    /// `handover_overlap` passed without seeing the new owner write.
    OverlapElapsed,
    /// `on_lease_loss = "stop"`.
    PolicyStop,
}

impl HandoverReason {
    /// The `reason` label of `liverec_cluster_handovers_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewOwnerWriting => "new_owner_writing",
            Self::OverlapElapsed => "overlap_elapsed",
            Self::PolicyStop => "policy_stop",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Renew now instead of at the next interval (the process was probably paused).
    KeepaliveNow,
    /// Grant a new lease and re-register the member key.
    Regrant,
    /// Try to create the room's owner key again with the current lease.
    Reclaim { room: String },
    /// The room's ownership continues under a new fence: carry it in later events.
    NewFence { room: String, fence: i64 },
    /// Split at the next keyframe, finalize the segment (`handover: true`), end the session.
    SplitAndStop { room: String },
    /// End the session now, closing the file at the current tag boundary.
    StopNow { room: String },
    /// Raise `cluster_degraded` (metric `liverec_cluster_lease_ok` 0).
    Degraded,
    /// etcd answers again after `Degraded`.
    Recovered,
    /// Raise `lease_lost`.
    LeaseLost,
    /// A recorded room goes to another instance (event, metric with `reason`).
    Handover {
        room: String,
        to: String,
        reason: HandoverReason,
    },
}

/// How a room that goes live now may be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewSessions {
    /// Claim its owner key first.
    Claim,
    /// etcd is unreachable: start it only if this instance was its hash owner in the last
    /// known membership, without a claim (claimed after recovery).
    HashOwnerOnly,
    /// A new lease is on its way: wait for it.
    Wait,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomState {
    /// Ours. `fence`: the owner key's create revision; `None` for a session started while etcd
    /// was unreachable, not claimed yet.
    Owned { fence: Option<i64> },
    /// Our claim is gone (lease lost, key deleted): recording on while we claim it again.
    Reclaiming,
    /// Another instance owns it: recording on until it writes or the overlap passes.
    HandingOver { to: String, since: Instant },
    /// Told to stop; waiting for the session to end.
    Stopping,
}

#[derive(Debug, Clone)]
pub struct LeaseFsm {
    policy: Policy,
    state: LeaseState,
    rooms: BTreeMap<String, RoomState>,
}

impl LeaseFsm {
    /// Starts Healthy: the caller has just granted its lease and registered.
    pub fn new(policy: Policy, now: Instant) -> Self {
        Self {
            policy,
            state: LeaseState::Healthy { last_ok: now },
            rooms: BTreeMap::new(),
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> LeaseState {
        self.state
    }

    #[cfg(test)]
    pub fn room(&self, room: &str) -> Option<&RoomState> {
        self.rooms.get(room)
    }

    /// Whether the lease is believed alive (metric `liverec_cluster_lease_ok`).
    pub fn lease_ok(&self, now: Instant) -> bool {
        match self.state {
            LeaseState::Healthy { .. } => true,
            LeaseState::KeepaliveFailing { last_ok, .. } => {
                now.saturating_duration_since(last_ok) < self.policy.lease_ttl
            }
            LeaseState::EtcdDown { .. } | LeaseState::LeaseLost { .. } => false,
        }
    }

    /// True while a new lease must be granted (instead of renewing the current one).
    pub fn needs_regrant(&self) -> bool {
        matches!(self.state, LeaseState::LeaseLost { .. })
    }

    /// When to renew (or re-grant) next: every TTL/3 while healthy, every second otherwise.
    pub fn keepalive_interval(&self) -> Duration {
        match self.state {
            LeaseState::Healthy { .. } => self.policy.lease_ttl / 3,
            _ => RETRY,
        }
    }

    pub fn new_sessions(&self) -> NewSessions {
        match self.state {
            LeaseState::Healthy { .. } | LeaseState::KeepaliveFailing { .. } => NewSessions::Claim,
            LeaseState::EtcdDown { .. }
            | LeaseState::LeaseLost {
                etcd_down: true, ..
            } => NewSessions::HashOwnerOnly,
            LeaseState::LeaseLost {
                etcd_down: false, ..
            } => NewSessions::Wait,
        }
    }

    /// A session started: claimed with `fence`, or (`None`) started while etcd was down.
    pub fn session_started(&mut self, room: &str, fence: Option<i64>) {
        self.rooms
            .insert(room.to_owned(), RoomState::Owned { fence });
    }

    pub fn session_ended(&mut self, room: &str) {
        self.rooms.remove(room);
    }

    pub fn on(&mut self, input: Input, now: Instant) -> Vec<Step> {
        let mut steps = Vec::new();
        match input {
            Input::KeepaliveOk => self.keepalive_ok(now, &mut steps),
            Input::KeepaliveExpired => self.lease_gone(now, &mut steps),
            Input::EtcdUnreachable => self.unreachable(now, &mut steps),
            Input::LeaseRegranted => {
                if let LeaseState::LeaseLost {
                    etcd_down: true, ..
                } = self.state
                {
                    steps.push(Step::Recovered);
                }
                self.state = LeaseState::Healthy { last_ok: now };
                self.reclaim_pending(&mut steps);
            }
            Input::Reclaimed { room, fence } => {
                if let Some(state) = self.rooms.get_mut(&room) {
                    if *state != RoomState::Stopping {
                        *state = RoomState::Owned { fence: Some(fence) };
                        steps.push(Step::NewFence { room, fence });
                    }
                }
            }
            Input::OwnedElsewhere {
                room,
                owner,
                writing,
            } => self.owned_elsewhere(room, owner, writing, now, &mut steps),
            Input::OwnerGone { room } => {
                if let Some(state) = self.rooms.get_mut(&room) {
                    if *state != RoomState::Stopping {
                        *state = RoomState::Reclaiming;
                        if matches!(
                            self.state,
                            LeaseState::Healthy { .. } | LeaseState::KeepaliveFailing { .. }
                        ) {
                            steps.push(Step::Reclaim { room });
                        }
                    }
                }
            }
            Input::Tick => self.tick(now, &mut steps),
        }
        steps
    }

    fn keepalive_ok(&mut self, now: Instant, steps: &mut Vec<Step>) {
        match self.state {
            // A late answer about the lease we already know is gone.
            LeaseState::LeaseLost { .. } => return,
            LeaseState::EtcdDown { .. } => steps.push(Step::Recovered),
            LeaseState::Healthy { .. } | LeaseState::KeepaliveFailing { .. } => {}
        }
        self.state = LeaseState::Healthy { last_ok: now };
        // Sessions started while etcd was down, and claims a failed call left pending.
        self.reclaim_pending(steps);
    }

    fn lease_gone(&mut self, now: Instant, steps: &mut Vec<Step>) {
        match self.state {
            LeaseState::LeaseLost { .. } => return,
            LeaseState::EtcdDown { .. } => steps.push(Step::Recovered),
            LeaseState::Healthy { .. } | LeaseState::KeepaliveFailing { .. } => {}
        }
        self.state = LeaseState::LeaseLost {
            since: now,
            etcd_down: false,
        };
        steps.push(Step::LeaseLost);
        steps.push(Step::Regrant);
        // Our owner keys went with the lease; whoever took a room will show in OwnedElsewhere.
        for state in self.rooms.values_mut() {
            if matches!(state, RoomState::Owned { .. }) {
                *state = RoomState::Reclaiming;
            }
        }
    }

    fn unreachable(&mut self, now: Instant, steps: &mut Vec<Step>) {
        let ttl = self.policy.lease_ttl;
        match self.state {
            LeaseState::Healthy { last_ok } | LeaseState::KeepaliveFailing { last_ok, .. } => {
                let since = match self.state {
                    LeaseState::KeepaliveFailing { since, .. } => since,
                    _ => now,
                };
                if now.saturating_duration_since(last_ok) >= ttl {
                    self.state = LeaseState::EtcdDown {
                        since: now,
                        last_ok,
                    };
                    steps.push(Step::Degraded);
                } else {
                    self.state = LeaseState::KeepaliveFailing { since, last_ok };
                }
            }
            LeaseState::LeaseLost {
                since,
                etcd_down: false,
            } => {
                self.state = LeaseState::LeaseLost {
                    since,
                    etcd_down: true,
                };
                steps.push(Step::Degraded);
            }
            LeaseState::EtcdDown { .. }
            | LeaseState::LeaseLost {
                etcd_down: true, ..
            } => {}
        }
    }

    fn owned_elsewhere(
        &mut self,
        room: String,
        owner: String,
        writing: bool,
        now: Instant,
        steps: &mut Vec<Step>,
    ) {
        let Some(state) = self.rooms.get_mut(&room) else {
            return;
        };
        let reason = match (self.policy.on_lease_loss, &*state) {
            (_, RoomState::Stopping) => return,
            (OnLeaseLoss::Stop, _) => HandoverReason::PolicyStop,
            (OnLeaseLoss::Overlap, _) if writing => HandoverReason::NewOwnerWriting,
            (OnLeaseLoss::Overlap, RoomState::HandingOver { to, since }) if *to == owner => {
                if now.saturating_duration_since(*since) < self.policy.handover_overlap {
                    return;
                }
                HandoverReason::OverlapElapsed
            }
            (OnLeaseLoss::Overlap, _) => {
                *state = RoomState::HandingOver {
                    to: owner,
                    since: now,
                };
                return;
            }
        };
        *state = RoomState::Stopping;
        steps.push(match reason {
            HandoverReason::PolicyStop => Step::StopNow { room: room.clone() },
            _ => Step::SplitAndStop { room: room.clone() },
        });
        steps.push(Step::Handover {
            room,
            to: owner,
            reason,
        });
    }

    fn tick(&mut self, now: Instant, steps: &mut Vec<Step>) {
        if let LeaseState::Healthy { last_ok } = self.state {
            // No renewal for a whole TTL without any failure: the process (or its host) was
            // paused. Find out now rather than at the next interval.
            if now.saturating_duration_since(last_ok) >= self.policy.lease_ttl {
                self.state = LeaseState::KeepaliveFailing {
                    since: now,
                    last_ok,
                };
                steps.push(Step::KeepaliveNow);
            }
        }
        let overlap = self.policy.handover_overlap;
        for (room, state) in &mut self.rooms {
            if let RoomState::HandingOver { to, since } = state {
                if now.saturating_duration_since(*since) >= overlap {
                    let to = std::mem::take(to);
                    *state = RoomState::Stopping;
                    steps.push(Step::SplitAndStop { room: room.clone() });
                    steps.push(Step::Handover {
                        room: room.clone(),
                        to,
                        reason: HandoverReason::OverlapElapsed,
                    });
                }
            }
        }
    }

    /// With a working lease: claim every room whose claim is missing.
    fn reclaim_pending(&mut self, steps: &mut Vec<Step>) {
        for (room, state) in &mut self.rooms {
            if matches!(
                state,
                RoomState::Reclaiming | RoomState::Owned { fence: None }
            ) {
                *state = RoomState::Reclaiming;
                steps.push(Step::Reclaim { room: room.clone() });
            }
        }
    }
}

#[cfg(test)]
mod tests;
