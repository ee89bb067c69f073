//! The daemon's rooms, keyed by canonical room key: starting them (resolving URLs first when
//! the key needs the network), applying a reloaded room list as a diff, and stopping them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::RoomConfig;
use crate::control::ControlState;
use crate::platform::limiter::RESUME_JITTER;
use crate::platform::limiter::meter::timeout_active;
use crate::platform::{PlatformError, PlatformKind, Platforms, RoomKey};
use crate::room::schedule::{Schedule, Seat};
use crate::room::{self, RoomCmd, RoomDeps, RoomHandle};
use crate::util::backoff::Backoff;
use crate::util::secret::redact_url;

/// Retry pace for rooms whose URL could not be resolved yet (share links, short ids): 15 s
/// after the first failure in a row, doubling, at most 10 minutes.
const RESOLVE_RETRY: Backoff = Backoff::new(Duration::from_secs(15), Duration::from_secs(600));
/// One resolution's own time limit (a share link takes a few hops and calls); waits for the
/// platform's request budget do not count.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(60);

/// When a failed resolution is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Retry {
    /// The platform is backing off: at its end. Waiting is not failing: the pace stays.
    AfterBackoff(Duration),
    /// The link names a room only while its streamer is live, and they are not: at the room's
    /// poll interval, like a status check. Not a failure: the pace is reset.
    NotLiveYet(Duration),
    /// A failure: after [`RESOLVE_RETRY`]'s pause for the failures in a row so far.
    AfterFailure(Duration),
}

impl Retry {
    fn pause(self) -> Duration {
        match self {
            Retry::AfterBackoff(d) | Retry::NotLiveYet(d) | Retry::AfterFailure(d) => d,
        }
    }
}

/// Decides the next try after `e`; `resume` is the end of the platform's backoff, if one runs,
/// `poll` the room's poll interval; `failures`, the failures in a row, is updated.
fn next_try(
    e: &PlatformError,
    resume: Option<std::time::Instant>,
    now: std::time::Instant,
    poll: Duration,
    failures: &mut u32,
) -> Retry {
    if let (PlatformError::Blocked(_), Some(end)) = (e, resume.filter(|t| *t > now)) {
        let jitter = Duration::from_millis(rand::random_range(0..RESUME_JITTER.as_millis() as u64));
        return Retry::AfterBackoff(end.duration_since(now) + jitter);
    }
    if matches!(e, PlatformError::NotLiveYet(_)) {
        *failures = 0;
        return Retry::NotLiveYet(poll);
    }
    *failures = if matches!(e, PlatformError::NotFound(_)) {
        // No such room: straight to the longest pause, and it stays there until an answer
        // says otherwise.
        u32::MAX
    } else {
        failures.saturating_add(1)
    };
    Retry::AfterFailure(RESOLVE_RETRY.delay(*failures))
}

struct Entry {
    handle: RoomHandle,
    join: JoinHandle<()>,
    cfg: RoomConfig,
}

/// What a reload changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Diff {
    pub(crate) added: usize,
    pub(crate) removed: usize,
    pub(crate) changed: usize,
    pub(crate) unchanged: usize,
    pub(crate) resolving: usize,
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} room(s) added, {} removed, {} changed, {} unchanged",
            self.added, self.removed, self.changed, self.unchanged
        )?;
        if self.resolving > 0 {
            write!(f, ", {} being resolved", self.resolving)?;
        }
        Ok(())
    }
}

pub(crate) struct Rooms {
    deps: RoomDeps,
    platforms: Platforms,
    rooms: HashMap<RoomKey, Entry>,
    /// Keys learnt for URLs that needed resolving, so a reload does not resolve them again.
    resolved: HashMap<String, RoomKey>,
    /// Resolutions in flight, by provisional key, with the seat the room takes in its
    /// platform's schedule (taken at once, so that a room resolved late polls at once).
    pending: HashMap<String, (CancellationToken, Option<Arc<Seat>>)>,
    /// Each platform's polling schedule.
    schedules: HashMap<PlatformKind, Arc<Schedule>>,
    /// Rooms removed by a reload, still closing their files.
    stopping: Vec<(RoomKey, JoinHandle<()>)>,
    cancel: CancellationToken,
    resolved_tx: mpsc::UnboundedSender<(RoomConfig, RoomKey)>,
    shared: Arc<ControlState>,
}

impl Rooms {
    pub(crate) fn new(
        deps: RoomDeps,
        platforms: Platforms,
        shared: Arc<ControlState>,
        resolved_tx: mpsc::UnboundedSender<(RoomConfig, RoomKey)>,
    ) -> Self {
        Self {
            deps,
            platforms,
            rooms: HashMap::new(),
            resolved: HashMap::new(),
            pending: HashMap::new(),
            schedules: HashMap::new(),
            stopping: Vec::new(),
            cancel: CancellationToken::new(),
            resolved_tx,
            shared,
        }
    }

    /// A seat in the platform's polling schedule, for a room that polls.
    fn seat(&mut self, cfg: &RoomConfig) -> Option<Arc<Seat>> {
        if !cfg.enabled {
            return None;
        }
        let kind = cfg.target.platform;
        let platforms = &self.platforms;
        let schedule = self
            .schedules
            .entry(kind)
            .or_insert_with(|| Schedule::new(platforms.get(kind).poll_quantum()));
        Some(Arc::new(schedule.seat()))
    }

    fn key_of(&self, cfg: &RoomConfig) -> Option<RoomKey> {
        cfg.target
            .known_key()
            .or_else(|| self.resolved.get(&cfg.target.provisional_key()).cloned())
    }

    /// Starts a configured room: at once when its key is known, else after resolving it in the
    /// background (with retries). The caller publishes the room list.
    pub(crate) fn add(&mut self, cfg: RoomConfig) {
        if let Some(key) = self.key_of(&cfg) {
            self.start(cfg, key);
            return;
        }
        let provisional = cfg.target.provisional_key();
        if self.pending.contains_key(&provisional) {
            return;
        }
        let cancel = self.cancel.child_token();
        let seat = self.seat(&cfg);
        self.pending
            .insert(provisional.clone(), (cancel.clone(), seat));
        let platform = self.platforms.get(cfg.target.platform);
        let tx = self.resolved_tx.clone();
        let span = tracing::info_span!("resolve", url = %provisional);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let mut failures = 0;
                let mut said_not_live = false;
                loop {
                    let result = tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = timeout_active(RESOLVE_TIMEOUT, platform.resolve(&cfg.target)) => r
                            .unwrap_or_else(|o| Err(PlatformError::Network(format!("the resolution {o}")))),
                    };
                    let e = match result {
                        Ok(key) => {
                            let _ = tx.send((cfg, key));
                            return;
                        }
                        Err(e) => e,
                    };
                    let now = std::time::Instant::now();
                    let poll = cfg.settings.poll_interval;
                    let retry = next_try(&e, platform.resume_at(), now, poll, &mut failures);
                    let url = redact_url(cfg.url());
                    match retry {
                        Retry::AfterBackoff(pause) => tracing::info!(
                            "rooms[{}]: {url} is resolved when the platform's backoff ends, in {}s ({e})",
                            cfg.index,
                            pause.as_secs()
                        ),
                        // Said once: a streamer may stay offline for days.
                        Retry::NotLiveYet(_) if said_not_live => {
                            tracing::debug!("rooms[{}]: {url}: {e}", cfg.index)
                        }
                        Retry::NotLiveYet(pause) => {
                            said_not_live = true;
                            tracing::info!(
                                "rooms[{}]: {url}: {e}; asked again every {} until the streamer is live",
                                cfg.index,
                                crate::util::units::format_duration(pause)
                            )
                        }
                        Retry::AfterFailure(pause) => tracing::warn!(
                            "rooms[{}]: cannot resolve {url}: {e}; retrying in {}s",
                            cfg.index,
                            pause.as_secs()
                        ),
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(retry.pause()) => {}
                    }
                }
            },
            span,
        ));
    }

    /// A background resolution finished. The room list is published by the caller (once for
    /// a thousand rooms resolved together, not once per room).
    pub(crate) fn resolved(&mut self, cfg: RoomConfig, key: RoomKey) {
        let provisional = cfg.target.provisional_key();
        let Some((_, seat)) = self.pending.remove(&provisional) else {
            return; // removed by a reload meanwhile
        };
        self.resolved.insert(provisional, key.clone());
        self.start_seated(cfg, key, seat);
    }

    fn start(&mut self, cfg: RoomConfig, key: RoomKey) {
        self.start_seated(cfg, key, None);
    }

    /// Starts a room; `seat` when it took one while its URL was being resolved.
    fn start_seated(&mut self, cfg: RoomConfig, key: RoomKey, seat: Option<Arc<Seat>>) {
        if let Some(existing) = self.rooms.get(&key) {
            tracing::warn!(
                "rooms[{}] ({}) resolves to {key}, which rooms[{}] already records; ignored",
                cfg.index,
                redact_url(cfg.url()),
                existing.cfg.index
            );
            return;
        }
        let seat = match seat {
            Some(s) if cfg.enabled => Some(s),
            _ => self.seat(&cfg),
        };
        let deps = RoomDeps {
            platform: self.platforms.get(key.platform),
            seat,
            ..self.deps.clone()
        };
        let (handle, join) = room::spawn(key.clone(), cfg.clone(), deps, &self.cancel);
        self.rooms.insert(key, Entry { handle, join, cfg });
    }

    /// Stops a room; it closes its files in the background.
    fn remove(&mut self, key: &RoomKey) {
        if let Some(e) = self.rooms.remove(key) {
            e.handle.stop();
            self.stopping.push((key.clone(), e.join));
        }
        self.stopping.retain(|(_, j)| !j.is_finished());
    }

    /// Applies a reloaded room list as a diff by room key: removed rooms finish their segment
    /// and stop, added rooms start, changed rooms take their new settings from the next
    /// segment, unchanged rooms are not touched at all.
    pub(crate) fn apply(&mut self, configs: Vec<RoomConfig>) -> Diff {
        let mut diff = Diff::default();
        let mut wanted: HashMap<RoomKey, RoomConfig> = HashMap::new();
        let mut unresolved = Vec::new();
        for cfg in configs {
            match self.key_of(&cfg) {
                Some(key) if wanted.contains_key(&key) => {
                    tracing::warn!(
                        "rooms[{}] ({}) is {key} again; ignored",
                        cfg.index,
                        redact_url(cfg.url())
                    );
                }
                Some(key) => {
                    wanted.insert(key, cfg);
                }
                None => unresolved.push(cfg),
            }
        }
        let gone: Vec<RoomKey> = self
            .rooms
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            tracing::info!(key = %key, "removed from the config: finishing its segment and stopping");
            self.remove(&key);
            diff.removed += 1;
        }
        let still: std::collections::HashSet<String> = unresolved
            .iter()
            .map(|c| c.target.provisional_key())
            .collect();
        self.pending.retain(|provisional, (cancel, _)| {
            let keep = still.contains(provisional);
            if !keep {
                cancel.cancel();
            }
            keep
        });
        for (key, cfg) in wanted {
            enum Change {
                Add,
                Same,
                Restart,
                Update,
            }
            let change = match self.rooms.get(&key) {
                None => Change::Add,
                Some(e) if e.cfg.same_as(&cfg) => Change::Same,
                // A session records or only watches from its start to its end.
                Some(e) if e.cfg.enabled != cfg.enabled || e.cfg.record != cfg.record => {
                    Change::Restart
                }
                Some(_) => Change::Update,
            };
            match change {
                Change::Add => {
                    self.start(cfg, key);
                    diff.added += 1;
                }
                Change::Same => {
                    if let Some(e) = self.rooms.get_mut(&key) {
                        e.cfg.index = cfg.index;
                    }
                    diff.unchanged += 1;
                }
                Change::Restart => {
                    let what = match (cfg.enabled, cfg.record) {
                        (false, _) => "disabled: finishing its segment",
                        (true, false) => "record = false: finishing its segment; watching only",
                        (true, true) => "enabled for recording",
                    };
                    tracing::info!(key = %key, "{what}");
                    self.remove(&key);
                    self.start(cfg, key);
                    diff.changed += 1;
                }
                Change::Update => {
                    if let Some(e) = self.rooms.get_mut(&key) {
                        // Only settings the room took count as applied, so that the next
                        // reload sees the difference and hands them over again.
                        if e.handle.send(RoomCmd::Reconfigure(Box::new(cfg.clone()))) {
                            e.cfg = cfg;
                        } else {
                            tracing::warn!(key = %key, "could not hand the new settings to the room (busy); they apply at the next reload");
                        }
                    }
                    diff.changed += 1;
                }
            }
        }
        for cfg in unresolved {
            diff.resolving += 1;
            self.add(cfg);
        }
        self.publish();
        diff
    }

    /// Makes the current room list visible to the control API.
    pub(crate) fn publish(&self) {
        let mut v: Vec<RoomHandle> = self.rooms.values().map(|e| e.handle.clone()).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        self.shared.set_rooms(v);
    }

    /// Stops every room at once and waits for them until `deadline`. Returns how many were late.
    pub(crate) async fn stop_all(&mut self, deadline: tokio::time::Instant) -> usize {
        self.cancel.cancel();
        let mut late = 0;
        let all = self
            .rooms
            .drain()
            .map(|(k, e)| (k, e.join))
            .chain(self.stopping.drain(..))
            .collect::<Vec<_>>();
        for (key, join) in all {
            if tokio::time::timeout_at(deadline, join).await.is_err() {
                tracing::error!(key = %key, "room did not stop within shutdown_timeout");
                late += 1;
            }
        }
        self.publish();
        late
    }
}

#[cfg(test)]
mod tests;
