//! The dispatcher task: owns the in-memory queues of pending deliveries, decides which may
//! start, runs attempts as tasks, and records their outcome in the journal ([`outcome`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::command::Outcome;
use super::journal::{self, Journal, NewDelivery};
use super::target::{Action, Item, Target, TargetCfg};
use super::window::{self, MAX_WINDOW_SLEEP};
use super::{Clock, Cmd, TargetKind, TargetStats, Targets};
use crate::event::feed::Feed;
use crate::event::{Event, EventRx, EventType};
use crate::segment::intent::Intents;
use crate::util::backoff::Backoff;
use crate::util::secret::redact_endpoint;

mod outcome;

/// After the shutdown deadline, killed attempts get this long to report back.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// A running attempt.
struct Running {
    target: String,
    room: String,
}

/// What an attempt task reports.
pub(super) struct Finished {
    id: Uuid,
    outcome: Outcome,
    event: Box<Event>,
}

pub(super) struct Core {
    journal: Arc<Mutex<Journal>>,
    targets: BTreeMap<String, Target>,
    running: HashMap<Uuid, Running>,
    results_tx: mpsc::UnboundedSender<Finished>,
    /// Cancelled at the shutdown deadline: kills what still runs.
    kill: CancellationToken,
    client: reqwest::Client,
    backoff: Backoff,
    clock: Clock,
    seq: u64,
    stats: Arc<Mutex<Vec<TargetStats>>>,
    /// The events handled: the last ones for `GET /api/events`, and the event stream.
    feed: Arc<Feed>,
    /// Segment intents: settled once their `segment_complete` is journaled.
    intents: Option<Arc<Intents>>,
    /// Deliveries of names no hook or webhook has now (removed by a reload, or absent from the
    /// config at start-up): pending in the journal, never started, resumed if the name returns.
    parked: BTreeMap<String, Parked>,
    stopping: bool,
}

#[derive(Default)]
struct Parked {
    /// What the name was, when it was known (not for deliveries parked at start-up).
    kind: Option<TargetKind>,
    queues: HashMap<String, VecDeque<Item>>,
}

impl Parked {
    fn remove(&mut self, room: &str, id: Uuid) {
        if let Some(q) = self.queues.get_mut(room) {
            q.retain(|i| i.id != id);
            if q.is_empty() {
                self.queues.remove(room);
            }
        }
    }
}

fn room_key(e: &Event) -> String {
    e.room.as_ref().map(|r| r.key.clone()).unwrap_or_default()
}

/// One INFO line per event: `event <type> <path> (<error>)`, with the room.
fn log_event(e: &Event) {
    let room = e.room.as_ref().map(|r| r.key.as_str()).unwrap_or("-");
    let path = e
        .segment
        .as_ref()
        .map(|s| s.path.display().to_string())
        .unwrap_or_default();
    tracing::info!(
        room,
        "event {} {path}{}",
        e.kind,
        e.error
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default()
    );
}

impl Core {
    /// A dispatcher with no hooks yet, and the receiver its attempts report to.
    pub(super) fn new(
        journal: Journal,
        client: reqwest::Client,
        backoff: Backoff,
        clock: Clock,
        stats: Arc<Mutex<Vec<TargetStats>>>,
        feed: Arc<Feed>,
        intents: Option<Arc<Intents>>,
    ) -> (Self, mpsc::UnboundedReceiver<Finished>) {
        let (results_tx, results_rx) = mpsc::unbounded_channel();
        let core = Self {
            journal: Arc::new(Mutex::new(journal)),
            targets: BTreeMap::new(),
            running: HashMap::new(),
            results_tx,
            kill: CancellationToken::new(),
            client,
            backoff,
            clock,
            seq: 0,
            stats,
            feed,
            intents,
            parked: BTreeMap::new(),
            stopping: false,
        };
        (core, results_rx)
    }

    pub(super) async fn run(
        mut self,
        mut events: EventRx,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut results: mpsc::UnboundedReceiver<Finished>,
    ) {
        let mut events_open = true;
        let done = loop {
            let wake = self.start_due().await;
            self.publish_stats();
            tokio::select! {
                ev = events.recv(), if events_open => match ev {
                    Some(e) => self.on_event(e, None).await,
                    None => events_open = false,
                },
                Some(f) = results.recv() => self.on_finished(f).await,
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Reconfigure(targets)) => self.reconfigure(targets).await,
                    #[cfg(test)]
                    Some(Cmd::Nudge(done)) => {
                        self.start_due().await;
                        self.publish_stats();
                        let _ = done.send(());
                    }
                    Some(Cmd::Shutdown(deadline, done)) => break Some((deadline, done)),
                    // The handle was dropped without a shutdown: stop now.
                    None => break None,
                },
                _ = sleep_until(wake) => {}
            }
        };
        let deadline = done.as_ref().map_or_else(Instant::now, |d| d.0);
        // Events the rooms raised before they stopped are journaled for the next start.
        while let Some(e) = events.try_recv() {
            self.on_event(e, None).await;
        }
        self.stopping = true;
        if !self.running.is_empty() {
            tracing::info!(
                "waiting for {} running hook(s) to finish",
                self.running.len()
            );
        }
        let mut until = deadline;
        let mut killed = false;
        while !self.running.is_empty() {
            match tokio::time::timeout_at(until, results.recv()).await {
                Ok(Some(f)) => self.on_finished(f).await,
                Ok(None) => break,
                Err(_) if !killed => {
                    tracing::warn!(
                        "{} hook(s) still running at the shutdown deadline: killing them; they run again at the next start",
                        self.running.len()
                    );
                    self.kill.cancel();
                    killed = true;
                    until = Instant::now() + KILL_GRACE;
                }
                Err(_) => break,
            }
        }
        let pending = self
            .io(|j| {
                j.sync()?;
                Ok(j.len())
            })
            .await;
        match pending {
            Ok(0) => tracing::info!("hooks stopped; no delivery pending"),
            Ok(n) => tracing::info!("hooks stopped; {n} deliveries pending for the next start"),
            Err(e) => tracing::error!("hooks stopped; cannot sync the hook journal: {e}"),
        }
        self.publish_stats();
        if let Some((_, done)) = done {
            let _ = done.send(());
        }
    }

    /// Runs a journal operation off the async threads (it writes and syncs files).
    async fn io<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Journal) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || {
            let mut j = journal.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut j)
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("journal task failed: {e}"))))
    }

    pub(super) fn set_targets(&mut self, targets: Targets) {
        let cfgs = targets
            .hooks
            .into_iter()
            .map(TargetCfg::from_hook)
            .chain(targets.webhooks.into_iter().map(TargetCfg::from_webhook))
            .chain(targets.notify.into_iter().map(TargetCfg::from_notify));
        for cfg in cfgs {
            match self.targets.get_mut(&cfg.name) {
                Some(t) => t.cfg = Arc::new(cfg),
                None => {
                    let name = cfg.name.clone();
                    let mut t = Target::new(cfg);
                    if let Some(parked) = self.parked.remove(&name) {
                        let n = t.adopt(parked.queues);
                        tracing::info!(
                            "{} is configured again: {n} parked deliveries resume",
                            t.cfg.describe()
                        );
                    }
                    self.targets.insert(name, t);
                }
            }
        }
    }

    /// Queues the deliveries replayed from the journal. Those of hooks not in the config are
    /// parked, not dropped: the config may be one saved half-written, or a hook may be renamed
    /// back, and an archivist would rather keep a delivery than lose it silently.
    pub(super) fn resume(&mut self, pending: Vec<journal::Pending>) {
        let mut resumed = 0;
        let mut orphans: BTreeMap<String, usize> = BTreeMap::new();
        for p in pending {
            self.seq += 1;
            let item = Item {
                id: p.id,
                seq: self.seq,
                attempts: p.attempts,
                not_before: None,
                running: false,
            };
            let queues = match self.targets.get_mut(&p.target) {
                Some(t) => {
                    resumed += 1;
                    &mut t.queues
                }
                None => {
                    *orphans.entry(p.target.clone()).or_default() += 1;
                    &mut self.parked.entry(p.target).or_default().queues
                }
            };
            queues.entry(p.room).or_default().push_back(item);
        }
        if resumed > 0 {
            tracing::info!("hook journal: {resumed} pending deliveries resumed");
        }
        for (name, n) in orphans {
            tracing::warn!(
                "hook journal: {n} pending deliveries of {name:?} are parked: no hook or webhook has that name; they stay in the journal and run when one named {name:?} is configured again"
            );
        }
    }

    async fn reconfigure(&mut self, targets: Targets) {
        let keep: Vec<String> = targets
            .hooks
            .iter()
            .map(|h| h.name.clone())
            .chain(targets.webhooks.iter().map(|w| w.name.clone()))
            .chain(targets.notify.iter().map(|n| n.name.clone()))
            .collect();
        let gone: Vec<String> = self
            .targets
            .keys()
            .filter(|n| !keep.contains(n))
            .cloned()
            .collect();
        for name in gone {
            let Some(t) = self.targets.remove(&name) else {
                continue;
            };
            let n = t.pending();
            if n == 0 {
                tracing::info!("{} removed from the config", t.cfg.describe());
                continue;
            }
            // Parked, never dropped: a reload may have caught a config saved half-written, and
            // writing `dropped` to the journal would lose these deliveries for good. Running
            // attempts finish; their result is journaled then (see on_finished).
            tracing::warn!(
                "{} removed from the config: {n} pending deliveries parked; they stay in the journal and resume if a hook or webhook named {name:?} is configured again",
                t.cfg.describe(),
            );
            let parked = self.parked.entry(name).or_default();
            parked.kind = Some(t.cfg.kind);
            for (room, items) in t.queues {
                parked.queues.entry(room).or_default().extend(items);
            }
        }
        let (nh, nw, nn) = (
            targets.hooks.len(),
            targets.webhooks.len(),
            targets.notify.len(),
        );
        self.set_targets(targets);
        tracing::info!("hooks reconfigured: {nh} hook(s), {nw} webhook(s), {nn} notification(s)");
    }

    /// Logs an event, hands it to subscribers, and journals one delivery per hook that wants it
    /// (`except` the hook whose failure raised it).
    async fn on_event(&mut self, mut event: Event, except: Option<&str>) {
        if let Some(s) = event.segment.as_mut() {
            if !s.duration_s.is_finite() {
                s.duration_s = 0.0;
            }
        }
        log_event(&event);
        self.feed.publish(&event);
        let targets: Vec<String> = self
            .targets
            .values()
            .filter(|t| Some(t.cfg.name.as_str()) != except && t.cfg.wants(&event))
            .map(|t| t.cfg.name.clone())
            .collect();
        // A segment's intent is settled only once its event is safely journaled (or nothing
        // wanted it): see `segment::intent`.
        let intent = self
            .intents
            .clone()
            .filter(|_| event.kind == EventType::SegmentComplete)
            .map(|store| (store, event.id));
        if targets.is_empty() {
            if let Some((store, id)) = intent {
                tokio::task::spawn_blocking(move || store.settle(id));
            }
            return;
        }
        let ids: Vec<Uuid> = targets.iter().map(|_| Uuid::new_v4()).collect();
        let room = room_key(&event);
        let kind = event.kind;
        let (names, list) = (targets.clone(), ids.clone());
        let result = self
            .io(move |j| {
                let new: Vec<NewDelivery<'_>> = names
                    .iter()
                    .zip(&list)
                    .map(|(target, id)| NewDelivery {
                        id: *id,
                        target,
                        event: &event,
                    })
                    .collect();
                j.add(&new)?;
                if let Some((store, id)) = intent {
                    store.settle(id);
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!(
                "cannot write the hook journal ({e}): the {kind} deliveries run, but a crash before they are done loses them"
            );
        }
        let time = (self.clock)();
        for (name, id) in targets.into_iter().zip(ids) {
            self.seq += 1;
            let Some(t) = self.targets.get_mut(&name) else {
                continue;
            };
            t.queues.entry(room.clone()).or_default().push_back(Item {
                id,
                seq: self.seq,
                attempts: 0,
                not_before: None,
                running: false,
            });
            if let Some(w) = t.cfg.window {
                if let Some(wait) = window::until_open(&w, time) {
                    tracing::info!(
                        hook = %name,
                        delivery = %id,
                        "{kind} waits for the window {w} (opens in {})",
                        crate::util::units::format_duration(Duration::from_secs(
                            wait.as_secs().div_ceil(60) * 60
                        ))
                    );
                }
            }
        }
    }

    /// Starts every delivery that may start now; returns when to look again.
    async fn start_due(&mut self) -> Option<Instant> {
        if self.stopping {
            return None;
        }
        let now = Instant::now();
        let time = (self.clock)();
        let mut wake: Option<Instant> = None;
        let mut soon = |at: Instant| wake = Some(wake.map_or(at, |w| w.min(at)));
        let mut starts: Vec<(String, String, Uuid)> = Vec::new();
        for t in self.targets.values() {
            let free = t.cfg.concurrency.saturating_sub(t.running);
            if free == 0 || t.queues.is_empty() {
                continue;
            }
            if let Some(w) = t.cfg.window {
                if let Some(wait) = window::until_open(&w, time) {
                    soon(now + wait.clamp(Duration::from_millis(100), MAX_WINDOW_SLEEP));
                    continue;
                }
            }
            let mut ready: Vec<(&String, &Item)> = Vec::new();
            for (room, q) in &t.queues {
                let Some(head) = q.front() else { continue };
                if head.running {
                    continue;
                }
                match head.not_before {
                    Some(at) if at > now => soon(at),
                    _ => ready.push((room, head)),
                }
            }
            ready.sort_by_key(|(_, i)| i.seq);
            starts.extend(
                ready
                    .into_iter()
                    .take(free)
                    .map(|(room, i)| (t.cfg.name.clone(), room.clone(), i.id)),
            );
        }
        for (target, room, id) in starts {
            self.start(target, room, id).await;
        }
        wake
    }

    async fn start(&mut self, target: String, room: String, id: Uuid) {
        let event = match self.io(move |j| j.event(id)).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(
                    hook = %target,
                    room = %room,
                    "delivery {id} cannot be read back from the hook journal ({e}); it is given up"
                );
                let _ = self
                    .io(move |j| j.gave_up(id, "unreadable journal record"))
                    .await;
                if let Some(t) = self.targets.get_mut(&target) {
                    t.remove(&room, id);
                    t.counters.gave_up += 1;
                }
                return;
            }
        };
        let Some(t) = self.targets.get_mut(&target) else {
            return;
        };
        let Some(item) = t.item_mut(&room, id) else {
            return;
        };
        item.running = true;
        let attempt = item.attempts + 1;
        let of = t.cfg.retries + 1;
        t.running += 1;
        let cfg = t.cfg.clone();
        let room_log = if room.is_empty() { "-" } else { room.as_str() };
        tracing::info!(
            hook = %cfg.name,
            room = %room_log,
            delivery = %id,
            "{} for {} (attempt {attempt} of {of})",
            match &cfg.action {
                Action::Command(_) => "running hook".to_string(),
                Action::Webhook(w) => format!("POST {}", redact_endpoint(&w.url)),
                Action::Notify(n) => format!("notifying {}", n.endpoint.describe()),
            },
            event.kind,
        );
        self.running.insert(
            id,
            Running {
                target: target.clone(),
                room,
            },
        );
        let cancel = self.kill.child_token();
        let client = self.client.clone();
        let results = self.results_tx.clone();
        tokio::spawn(async move {
            let outcome = cfg
                .action
                .attempt(&client, &event, id, attempt, &cancel)
                .await;
            let _ = results.send(Finished {
                id,
                outcome,
                event: Box::new(event),
            });
        });
    }

    pub(super) fn publish_stats(&self) {
        let time = (self.clock)();
        let out: Vec<TargetStats> = self
            .targets
            .values()
            .map(|t| {
                let pending = t.pending();
                let closed = t
                    .cfg
                    .window
                    .is_some_and(|w| window::until_open(&w, time).is_some());
                TargetStats {
                    name: t.cfg.name.clone(),
                    kind: t.cfg.kind,
                    succeeded: t.counters.succeeded,
                    attempts_failed: t.counters.attempts_failed,
                    gave_up: t.counters.gave_up,
                    pending,
                    waiting_window: if closed {
                        pending.saturating_sub(t.running)
                    } else {
                        0
                    },
                    running: t.running,
                    parked: false,
                }
            })
            .chain(self.parked.iter().map(|(name, p)| {
                let pending = p.queues.values().map(VecDeque::len).sum();
                TargetStats {
                    name: name.clone(),
                    kind: p.kind.unwrap_or(TargetKind::Hook),
                    succeeded: 0,
                    attempts_failed: 0,
                    gave_up: 0,
                    pending,
                    waiting_window: 0,
                    running: p.queues.values().flatten().filter(|i| i.running).count(),
                    parked: true,
                }
            }))
            .collect();
        if let Ok(mut s) = self.stats.lock() {
            *s = out;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
