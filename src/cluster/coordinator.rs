//! The `Coordinator`: the one handle the daemon and every room hold. With the `local` backend
//! it answers "yes" to everything (the room lock directory decides); with `etcd` it answers
//! from the cluster [`View`] and claims rooms with a transaction on their owner key.
//!
//! A room asks [`Coordinator::turn`] before polling an idle room, [`Coordinator::claim`]
//! before recording, reports [`Coordinator::progress`] at each new segment and
//! [`Coordinator::released`] when its session closes. A claim that wins comes with a mailbox of
//! [`Order`]s: a new fence after the claim was renewed, or hand the room over. The task behind
//! the handle (`task`) keeps the lease, the watch and the lease state machine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::etcd::{CreateOutcome, Credentials, DeleteIf, EtcdClient};
use super::keys::{Layout, OwnerValue, SessionValue, decode, encode, now_ms};
use super::lease_fsm::{LeaseFsm, NewSessions, OnLeaseLoss};
use super::view::{Turn, View};
use crate::event::{EventTx, OwnerRef, SessionRef};

mod task;

pub(crate) use task::start;

/// `[cluster]` as the coordinator needs it (the daemon builds it from the config).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) endpoints: Vec<String>,
    pub(crate) name: String,
    pub(crate) instance: String,
    pub(crate) lease_ttl: Duration,
    pub(crate) weight: f64,
    pub(crate) on_lease_loss: OnLeaseLoss,
    pub(crate) handover_overlap: Duration,
    pub(crate) credentials: Option<Credentials>,
}

/// What the coordinator tells a room that records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Order {
    /// The claim was renewed (a new lease): later events carry this owner.
    Fence(OwnerRef),
    /// Another instance owns the room now: close the session (`live_end` says `handover`).
    HandOver { to: String, reason: &'static str },
}

/// A session another instance began, continued here after a takeover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resume {
    pub(crate) session: Uuid,
    pub(crate) start: DateTime<FixedOffset>,
    pub(crate) next_index: u32,
    pub(crate) from: String,
}

/// A won claim.
#[derive(Debug, Default)]
pub(crate) struct Claimed {
    /// `None` with the local backend, and for a session started while etcd was unreachable
    /// (claimed once it answers again).
    pub(crate) owner: Option<OwnerRef>,
    pub(crate) resume: Option<Resume>,
    pub(crate) orders: Option<mpsc::UnboundedReceiver<Order>>,
}

#[derive(Debug)]
pub(crate) enum Claim {
    Won(Claimed),
    /// Not now: `elsewhere` when another instance records the room.
    Busy {
        reason: String,
        elsewhere: bool,
    },
}

#[derive(Clone)]
pub(crate) struct Coordinator {
    draining: Arc<AtomicBool>,
    etcd: Option<Arc<Shared>>,
}

pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) client: EtcdClient,
    pub(crate) layout: Layout,
    pub(crate) state: Mutex<State>,
    pub(crate) events: EventTx,
}

pub(crate) struct State {
    pub(crate) view: View,
    pub(crate) fsm: LeaseFsm,
    pub(crate) lease: i64,
    /// The rooms recording here, with their mailbox.
    pub(crate) rooms: HashMap<String, mpsc::UnboundedSender<Order>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn me(&self) -> &str {
        &self.settings.instance
    }
}

impl Coordinator {
    pub(crate) fn local() -> Self {
        Self {
            draining: Arc::new(AtomicBool::new(false)),
            etcd: None,
        }
    }

    /// Take nothing new: no claims, no idle rooms (`liverec cluster drain`).
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Whether this instance polls idle `room`; `Err` says who does instead.
    pub(crate) fn turn(&self, room: &str) -> Result<(), Turn> {
        let Some(shared) = &self.etcd else {
            return Ok(());
        };
        let state = shared.lock();
        if self.draining() && !state.view.owners.contains_key(room) {
            return Err(Turn::PolledBy(
                "another instance (this one is draining)".into(),
            ));
        }
        match state.view.turn(room, shared.me()) {
            Turn::Mine => Ok(()),
            other => Err(other),
        }
    }

    /// Claims live `room` before recording it. `hint` is the platform's broadcast hint, which
    /// decides whether a session left by another instance is continued.
    pub(crate) async fn claim(&self, room: &str, hint: Option<&str>) -> Claim {
        if self.draining() {
            return Claim::Busy {
                reason: "draining: this instance takes no new live".into(),
                elsewhere: false,
            };
        }
        let Some(shared) = &self.etcd else {
            return Claim::Won(Claimed::default());
        };
        let (mode, lease) = {
            let state = shared.lock();
            (state.fsm.new_sessions(), state.lease)
        };
        match mode {
            NewSessions::Wait => Claim::Busy {
                reason: "waiting for a new cluster lease".into(),
                elsewhere: false,
            },
            NewSessions::HashOwnerOnly => unclaimed_start(shared, room),
            NewSessions::Claim => match claim_key(shared, room, hint, lease).await {
                Ok(claim) => claim,
                Err(e) if e.is_unavailable() => {
                    tracing::warn!(
                        "cluster claim failed ({e}); deciding by the last known members"
                    );
                    unclaimed_start(shared, room)
                }
                Err(e) => Claim::Busy {
                    reason: format!("cluster claim failed: {e}"),
                    elsewhere: false,
                },
            },
        }
    }

    /// The session's next segment is `next_index`: recorded for a takeover, and the owner key
    /// says "writing" (what a handing-over instance waits for).
    pub(crate) fn progress(
        &self,
        room: &str,
        session: &SessionRef,
        next_index: u32,
        hint: Option<String>,
    ) {
        let Some(shared) = self.etcd.clone() else {
            return;
        };
        let Some(fence) = session.owner.as_ref().map(|o| o.fence) else {
            return;
        };
        let room = room.to_string();
        let value = SessionValue {
            session: session.id,
            start: session.start,
            next_index,
            instance: shared.me().to_string(),
            hint,
            updated_ms: now_ms(),
        };
        tokio::spawn(async move {
            let owner = encode(&OwnerValue {
                instance: shared.me().to_string(),
                writing: true,
            });
            let lease = shared.lock().lease;
            let client = &shared.client;
            if let Err(e) = client
                .txn_put_if_create_revision(&shared.layout.owner(&room), &owner, Some(lease), fence)
                .await
            {
                tracing::debug!(room = %room, "cannot mark the owner key writing: {e}");
            }
            if let Err(e) = client
                .put(&shared.layout.session(&room), &encode(&value), None)
                .await
            {
                tracing::debug!(room = %room, "cannot record the session for a takeover: {e}");
            }
        });
    }

    /// The session of `room` closed. `ended`: the live is over (its takeover record goes);
    /// otherwise (shutdown, handover) another instance may continue it.
    pub(crate) fn released(&self, room: &str, ended: bool) {
        let Some(shared) = self.etcd.clone() else {
            return;
        };
        let lease = {
            let mut state = shared.lock();
            state.rooms.remove(room);
            state.fsm.session_ended(room);
            state.lease
        };
        let room = room.to_string();
        tokio::spawn(async move {
            let client = &shared.client;
            // Only while it is still ours: a successor's key stays.
            if let Err(e) = client
                .txn_delete_if(&shared.layout.owner(&room), DeleteIf::Lease(lease))
                .await
            {
                tracing::debug!(room = %room, "cannot release the owner key: {e}");
            }
            if !ended {
                return;
            }
            let key = shared.layout.session(&room);
            if let Ok(Some(kv)) = client.get(&key).await {
                let ours =
                    decode::<SessionValue>(&kv.value).is_none_or(|v| v.instance == shared.me());
                if ours {
                    let _ = client
                        .txn_delete_if(&key, DeleteIf::ModRevision(kv.mod_revision))
                        .await;
                }
            }
        });
    }

    /// What `/metrics` shows of the cluster; `None` with the local backend.
    pub(crate) fn gauges(&self) -> Option<Gauges> {
        let shared = self.etcd.as_ref()?;
        let state = shared.lock();
        Some(Gauges {
            members: state.view.members.len(),
            lease_ok: state.fsm.lease_ok(std::time::Instant::now()),
            owned: state.rooms.len(),
        })
    }
}

pub(crate) struct Gauges {
    pub(crate) members: usize,
    pub(crate) lease_ok: bool,
    pub(crate) owned: usize,
}

/// etcd cannot be asked: start the room only if the last known membership gives it to us and
/// nobody was known to record it. It is claimed once etcd answers again.
fn unclaimed_start(shared: &Arc<Shared>, room: &str) -> Claim {
    let mut state = shared.lock();
    if let Some(owner) = state.view.owners.get(room) {
        if owner.instance != shared.me() {
            return Claim::Busy {
                reason: format!("recorded by {} (last known)", owner.instance),
                elsewhere: true,
            };
        }
    }
    match state.view.hash_owner(room) {
        Some(w) if w == shared.me() => {}
        Some(w) => {
            return Claim::Busy {
                reason: format!("etcd unreachable; {w} takes this room"),
                elsewhere: true,
            };
        }
        None => {}
    }
    tracing::warn!("etcd unreachable: recording as this room's last known hash owner, unclaimed");
    state.fsm.session_started(room, None);
    let (tx, rx) = mpsc::unbounded_channel();
    state.rooms.insert(room.to_string(), tx);
    Claim::Won(Claimed {
        owner: None,
        resume: None,
        orders: Some(rx),
    })
}

/// The compare-and-create of the owner key, then the session a previous owner left.
async fn claim_key(
    shared: &Arc<Shared>,
    room: &str,
    hint: Option<&str>,
    lease: i64,
) -> Result<Claim, super::etcd::EtcdError> {
    let client = &shared.client;
    let value = encode(&OwnerValue {
        instance: shared.me().to_string(),
        writing: false,
    });
    let fence = match client
        .txn_create_if_absent(&shared.layout.owner(room), &value, Some(lease))
        .await?
    {
        CreateOutcome::Created { revision } => revision,
        // Our own key (a retried claim after a restart of the room task).
        CreateOutcome::Exists(kv) if kv.lease == lease => kv.create_revision,
        CreateOutcome::Exists(kv) => {
            let who = decode::<OwnerValue>(&kv.value)
                .map_or_else(|| "another instance".to_string(), |v| v.instance);
            let reason = if who == shared.me() {
                // Left by this instance's previous run (killed): its lease runs out soon.
                format!("claimed by an earlier run of {who} until its lease runs out")
            } else {
                format!("recorded by {who}")
            };
            return Ok(Claim::Busy {
                reason,
                elsewhere: true,
            });
        }
    };
    let resume = match client.get(&shared.layout.session(room)).await {
        Ok(Some(kv)) => decode::<SessionValue>(&kv.value),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("cannot read the session record: {e}; starting a new session");
            None
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    {
        let mut state = shared.lock();
        state.fsm.session_started(room, Some(fence));
        state.rooms.insert(room.to_string(), tx);
    }
    Ok(Claim::Won(Claimed {
        owner: Some(OwnerRef {
            instance: shared.me().to_string(),
            fence,
        }),
        resume: resume
            .filter(|s| s.continues(hint, now_ms()))
            .map(|s| Resume {
                session: s.session,
                start: s.start,
                next_index: s.next_index.max(1),
                from: s.instance,
            }),
        orders: Some(rx),
    }))
}
