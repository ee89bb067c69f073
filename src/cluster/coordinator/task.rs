//! The coordinator's task: one lease per process (renewed every TTL/3), this instance's member
//! key on it, one watch of the cluster prefix into the [`View`], and the lease state machine
//! fed with what the renewals and the watch report. It carries out the machine's steps: a new
//! lease, re-claims, orders to the rooms, `cluster_degraded`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Coordinator, Order, Settings, Shared, State};
use crate::cluster::etcd::{
    Config, CreateOutcome, EtcdClient, EtcdError, EventKind, Watch, WatchItem, WatchOptions,
};
use crate::cluster::keys::{KeyOf, Layout, MemberValue, OwnerValue, decode, encode};
use crate::cluster::lease_fsm::{Input, LeaseFsm, Policy, Step};
use crate::cluster::throttle::{self, Throttle};
use crate::cluster::view::{OwnerChange, View};
use crate::event::{Event, EventTx, EventType, OwnerRef};
use crate::platform::{Platform, PlatformKind};

/// The longest pause another instance can impose (its clock may be ahead of ours).
const MAX_REMOTE_PAUSE: Duration = Duration::from_secs(15 * 60);
/// A local pause ending within this of one already shared is that one.
const PAUSE_SLACK: Duration = Duration::from_millis(500);

/// The longest a revoke may hold up a shutdown.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("cluster: {0}")]
    Etcd(#[from] EtcdError),
}

/// Joins the cluster: grants the lease, registers the member key, reads the prefix and starts
/// the task (it ends when `cancel` is cancelled, revoking the lease).
pub(crate) async fn start(
    settings: Settings,
    events: EventTx,
    slots: Option<Arc<Semaphore>>,
    platforms: Vec<(PlatformKind, Arc<dyn Platform>)>,
    cancel: CancellationToken,
) -> Result<(Coordinator, JoinHandle<()>), StartError> {
    let client = EtcdClient::new(Config {
        endpoints: settings.endpoints.clone(),
        request_timeout: (settings.lease_ttl / 3)
            .clamp(Duration::from_millis(500), Duration::from_secs(5)),
        credentials: settings.credentials.clone(),
    })?;
    let layout = Layout::new(&settings.name);
    let lease = client.lease_grant(settings.lease_ttl).await?;
    let member_key = layout.member(&settings.instance);
    if let Some(kv) = client.get(&member_key).await? {
        tracing::warn!(
            instance = %settings.instance,
            "another process registered this instance name (lease {}); taking it over: give every instance its own `cluster.instance`",
            kv.lease
        );
    }
    let member = MemberValue {
        weight: settings.weight,
        accepting: true,
    };
    client
        .put(&member_key, &encode(&member), Some(lease.id))
        .await?;
    let range = client.get_prefix(layout.prefix()).await?;
    let mut view = View::default();
    view.reset(&layout, &range.kvs);
    let watch = client.watch_prefix(layout.prefix(), range.revision + 1, WatchOptions::default());
    let policy = Policy {
        lease_ttl: settings.lease_ttl,
        on_lease_loss: settings.on_lease_loss,
        handover_overlap: settings.handover_overlap,
    };
    tracing::info!(
        instance = %settings.instance,
        members = view.members.len(),
        "joined the cluster {:?} (lease {:x}, ttl {:?})",
        settings.name,
        lease.id,
        lease.ttl
    );
    let shared = Arc::new(Shared {
        settings,
        client,
        layout,
        state: Mutex::new(State {
            view,
            fsm: LeaseFsm::new(policy, now()),
            lease: lease.id,
            rooms: Default::default(),
        }),
        events,
    });
    let coordinator = Coordinator {
        draining: Arc::new(Default::default()),
        etcd: Some(shared.clone()),
    };
    let mut task = Task {
        shared,
        coordinator: coordinator.clone(),
        slots,
        accepting: true,
        platforms,
        pauses: HashMap::new(),
        share: 1.0,
    };
    task.update_share();
    let known: Vec<(String, Throttle)> = task
        .shared
        .lock()
        .view
        .throttles
        .iter()
        .map(|(p, t)| (p.clone(), t.clone()))
        .collect();
    for (platform, throttle) in known {
        task.apply_throttle(&platform, &throttle);
    }
    let join = tokio::spawn(task.run(watch, cancel));
    Ok((coordinator, join))
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

struct Task {
    shared: Arc<Shared>,
    coordinator: Coordinator,
    slots: Option<Arc<Semaphore>>,
    /// What the member key says.
    accepting: bool,
    /// The platforms whose risk-control pauses are shared.
    platforms: Vec<(PlatformKind, Arc<dyn Platform>)>,
    /// Per platform, the end of the last pause published or applied: a pause of our own
    /// limiter that ends later is new, and is published.
    pauses: HashMap<&'static str, Instant>,
    /// This instance's part of each platform's request budget.
    share: f64,
}

impl Task {
    async fn run(mut self, mut watch: Watch, cancel: CancellationToken) {
        let mut next_renewal = tokio::time::Instant::now() + self.interval();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let steps = tokio::select! {
                _ = cancel.cancelled() => break,
                item = watch.next() => match item {
                    Some(item) => {
                        let steps = self.on_watch(item);
                        self.update_share();
                        steps
                    }
                    None => {
                        // The watch task ended (it does not on its own): start another.
                        let prefix = self.shared.layout.prefix().to_string();
                        watch = self.shared.client.watch_prefix(&prefix, 0, WatchOptions::default());
                        Vec::new()
                    }
                },
                _ = tokio::time::sleep_until(next_renewal) => {
                    let steps = self.renew().await;
                    next_renewal = tokio::time::Instant::now() + self.interval();
                    steps
                }
                _ = tick.tick() => {
                    self.publish_accepting().await;
                    self.publish_pauses();
                    let now = now();
                    self.shared.lock().fsm.on(Input::Tick, now)
                }
            };
            if steps.contains(&Step::KeepaliveNow) {
                next_renewal = tokio::time::Instant::now();
            }
            self.execute(steps).await;
        }
        let lease = self.shared.lock().lease;
        // Every key on the lease goes with it: the member key and the owner keys of rooms
        // still open (their sessions are closed by now), so others take over at once.
        match tokio::time::timeout(REVOKE_TIMEOUT, self.shared.client.lease_revoke(lease)).await {
            Ok(Ok(_)) => tracing::info!("left the cluster"),
            Ok(Err(e)) => {
                tracing::warn!("cannot revoke the cluster lease ({e}); it expires by itself")
            }
            Err(_) => {
                tracing::warn!("etcd did not answer the lease revoke; the lease expires by itself")
            }
        }
    }

    fn interval(&self) -> Duration {
        self.shared.lock().fsm.keepalive_interval()
    }

    fn input(&self, input: Input) -> Vec<Step> {
        self.shared.lock().fsm.on(input, now())
    }

    /// Renews the lease, or grants a new one once it is known to be gone.
    async fn renew(&mut self) -> Vec<Step> {
        let (needs_regrant, lease) = {
            let state = self.shared.lock();
            (state.fsm.needs_regrant(), state.lease)
        };
        if needs_regrant {
            return self.regrant().await;
        }
        match self.shared.client.lease_keepalive(lease).await {
            Ok(ttl) if !ttl.is_zero() => self.input(Input::KeepaliveOk),
            Ok(_) => self.input(Input::KeepaliveExpired),
            Err(e) if e.is_lease_not_found() => self.input(Input::KeepaliveExpired),
            Err(e) => {
                tracing::debug!("cluster lease renewal failed: {e}");
                self.input(Input::EtcdUnreachable)
            }
        }
    }

    async fn regrant(&mut self) -> Vec<Step> {
        let client = &self.shared.client;
        let granted = async {
            let lease = client.lease_grant(self.shared.settings.lease_ttl).await?;
            let member = MemberValue {
                weight: self.shared.settings.weight,
                accepting: self.accepting,
            };
            client
                .put(
                    &self.shared.layout.member(&self.shared.settings.instance),
                    &encode(&member),
                    Some(lease.id),
                )
                .await?;
            Ok::<_, EtcdError>(lease)
        }
        .await;
        match granted {
            Ok(lease) => {
                tracing::info!("new cluster lease {:x}", lease.id);
                self.shared.lock().lease = lease.id;
                self.input(Input::LeaseRegranted)
            }
            Err(e) => {
                tracing::debug!("cannot grant a new cluster lease: {e}");
                self.input(Input::EtcdUnreachable)
            }
        }
    }

    fn on_watch(&mut self, item: WatchItem) -> Vec<Step> {
        let me = self.shared.settings.instance.clone();
        let throttles: Vec<(String, Throttle)> = match &item {
            WatchItem::Event(ev) if ev.kind == EventKind::Put => {
                match self.shared.layout.classify(&ev.kv.key) {
                    Some(KeyOf::Throttle(p)) => throttle::decode(&ev.kv.value)
                        .ok()
                        .map(|t| (p.to_string(), t))
                        .into_iter()
                        .collect(),
                    _ => Vec::new(),
                }
            }
            WatchItem::Event(_) => Vec::new(),
            WatchItem::Resync { kvs, .. } => kvs
                .iter()
                .filter_map(|kv| match self.shared.layout.classify(&kv.key) {
                    Some(KeyOf::Throttle(p)) => {
                        Some((p.to_string(), throttle::decode(&kv.value).ok()?))
                    }
                    _ => None,
                })
                .collect(),
        };
        for (platform, t) in &throttles {
            self.apply_throttle(platform, t);
        }
        let mut state = self.shared.lock();
        let State {
            view,
            fsm,
            rooms,
            lease,
            ..
        } = &mut *state;
        let changes = match item {
            WatchItem::Event(ev) => view
                .apply(&self.shared.layout, ev.kind, &ev.kv)
                .into_iter()
                .collect(),
            WatchItem::Resync { kvs, .. } => {
                view.reset(&self.shared.layout, &kvs);
                // Every recorded room's owner as it is now.
                rooms
                    .keys()
                    .map(|room| match view.owners.get(room) {
                        Some(owner) => OwnerChange::Set {
                            room: room.clone(),
                            owner: owner.clone(),
                        },
                        None => OwnerChange::Gone { room: room.clone() },
                    })
                    .collect::<Vec<_>>()
            }
        };
        let now = now();
        let mut steps = Vec::new();
        for change in changes {
            match change {
                OwnerChange::Set { room, owner } => {
                    if owner.instance == me && owner.lease == *lease {
                        continue;
                    }
                    if owner.instance == me {
                        // A key of our previous lease, about to expire with it.
                        continue;
                    }
                    steps.extend(fsm.on(
                        Input::OwnedElsewhere {
                            room,
                            owner: owner.instance,
                            writing: owner.writing,
                        },
                        now,
                    ));
                }
                OwnerChange::Gone { room } => {
                    if rooms.contains_key(&room) {
                        steps.extend(fsm.on(Input::OwnerGone { room }, now));
                    }
                }
            }
        }
        steps
    }

    async fn execute(&mut self, steps: Vec<Step>) {
        let mut queue: std::collections::VecDeque<Step> = steps.into();
        while let Some(step) = queue.pop_front() {
            match step {
                Step::KeepaliveNow => {}
                Step::Regrant => queue.extend(self.regrant().await),
                Step::Reclaim { room } => queue.extend(self.reclaim(&room).await),
                Step::NewFence { room, fence } => {
                    let owner = OwnerRef {
                        instance: self.shared.settings.instance.clone(),
                        fence,
                    };
                    tracing::info!(room = %room, fence, "claim renewed");
                    self.order(&room, Order::Fence(owner));
                }
                // The order goes with the Handover step, which names the new owner.
                Step::SplitAndStop { .. } | Step::StopNow { .. } => {}
                Step::Handover { room, to, reason } => {
                    tracing::warn!(room = %room, "{to} owns this room now: handing it over ({})", reason.as_str());
                    crate::metrics::count(
                        "liverec_cluster_handovers_total",
                        "Recorded rooms handed to another instance, by reason.",
                        &[("reason", reason.as_str())],
                        1,
                    );
                    self.order(
                        &room,
                        Order::HandOver {
                            to,
                            reason: reason.as_str(),
                        },
                    );
                }
                Step::Degraded => {
                    let text = "etcd unreachable for a whole lease TTL: running recordings continue, new lives go to their last known hash owner".to_string();
                    tracing::warn!("{text}");
                    self.shared
                        .events
                        .emit(Event::new(EventType::ClusterDegraded, None).with_error(text));
                }
                Step::Recovered => tracing::info!("etcd answers again"),
                Step::LeaseLost => tracing::warn!(
                    "the cluster lease is gone (expired or revoked); granting a new one"
                ),
            }
        }
    }

    fn order(&self, room: &str, order: Order) {
        if let Some(tx) = self.shared.lock().rooms.get(room) {
            let _ = tx.send(order);
        }
    }

    async fn reclaim(&mut self, room: &str) -> Vec<Step> {
        let lease = self.shared.lock().lease;
        let value = encode(&OwnerValue {
            instance: self.shared.settings.instance.clone(),
            writing: true,
        });
        let key = self.shared.layout.owner(room);
        match self
            .shared
            .client
            .txn_create_if_absent(&key, &value, Some(lease))
            .await
        {
            Ok(CreateOutcome::Created { revision }) => self.input(Input::Reclaimed {
                room: room.to_string(),
                fence: revision,
            }),
            Ok(CreateOutcome::Exists(kv)) if kv.lease == lease => self.input(Input::Reclaimed {
                room: room.to_string(),
                fence: kv.create_revision,
            }),
            Ok(CreateOutcome::Exists(kv)) => {
                let owner = decode::<OwnerValue>(&kv.value).unwrap_or(OwnerValue {
                    instance: "another instance".into(),
                    writing: false,
                });
                self.input(Input::OwnedElsewhere {
                    room: room.to_string(),
                    owner: owner.instance,
                    writing: owner.writing,
                })
            }
            Err(e) => {
                tracing::debug!(room = %room, "re-claim failed: {e}");
                if e.is_unavailable() {
                    self.input(Input::EtcdUnreachable)
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// The platforms' request budgets are shared by weight: this instance asks for its part.
    fn update_share(&mut self) {
        let share = self
            .shared
            .lock()
            .view
            .share(&self.shared.settings.instance);
        if (share - self.share).abs() < 1e-9 {
            return;
        }
        self.share = share;
        tracing::info!(
            "this instance's part of each platform's request budget: {:.0}%",
            share * 100.0
        );
        for (_, p) in &self.platforms {
            p.set_budget_share(share);
        }
    }

    /// Another instance's pause for `platform`: our limiter waits it out too (capped, for a
    /// writer whose clock runs far ahead).
    fn apply_throttle(&mut self, platform: &str, t: &Throttle) {
        if t.by == self.shared.settings.instance {
            return;
        }
        let Some((kind, p)) = self.platforms.iter().find(|(k, _)| k.as_str() == platform) else {
            return;
        };
        let now = now();
        let Some(until) = throttle::merge(None, Some(t), now, SystemTime::now(), MAX_REMOTE_PAUSE)
        else {
            return;
        };
        self.pauses.insert(kind.as_str(), until);
        p.pause_until(until, &format!("{} met risk control ({})", t.by, t.reason));
    }

    /// A pause our own limiter started (a 412, a -352) goes to every instance.
    fn publish_pauses(&mut self) {
        let now = now();
        for (kind, p) in &self.platforms {
            let Some(until) = p.resume_at() else { continue };
            let name = kind.as_str();
            if self
                .pauses
                .get(name)
                .is_some_and(|known| *known + PAUSE_SLACK >= until)
            {
                continue;
            }
            self.pauses.insert(name, until);
            let throttle = Throttle {
                until: SystemTime::now() + until.saturating_duration_since(now),
                reason: "risk control or rate limit".into(),
                by: self.shared.settings.instance.clone(),
            };
            let shared = self.shared.clone();
            tokio::spawn(async move {
                let wall = SystemTime::now();
                match throttle::publish(
                    &shared.client,
                    &shared.settings.name,
                    name,
                    &throttle,
                    wall,
                )
                .await
                {
                    Ok(outcome) => {
                        tracing::info!("{name}: pause shared with the cluster ({outcome:?})")
                    }
                    Err(e) => {
                        tracing::warn!("{name}: cannot share the pause with the cluster: {e}")
                    }
                }
            });
        }
    }

    /// Keeps the member key's `accepting` current: false while draining or with every
    /// `max_recordings` slot taken, so that idle rooms go to instances that can record them.
    async fn publish_accepting(&mut self) {
        let full = self
            .slots
            .as_ref()
            .is_some_and(|s| s.available_permits() == 0);
        let accepting = !full && !self.coordinator.draining();
        if accepting == self.accepting {
            return;
        }
        let lease = self.shared.lock().lease;
        let member = MemberValue {
            weight: self.shared.settings.weight,
            accepting,
        };
        let key = self.shared.layout.member(&self.shared.settings.instance);
        if self
            .shared
            .client
            .put(&key, &encode(&member), Some(lease))
            .await
            .is_ok()
        {
            tracing::info!(accepting, "cluster membership updated");
            self.accepting = accepting;
        }
    }
}
