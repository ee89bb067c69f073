//! Events out of the daemon: the log, command hooks, webhooks, and the list of recent events the
//! control API shows, fed by one dispatcher task.
//!
//! Rooms only put events into the [`crate::event::EventTx`] queue, which never makes them wait.
//! The dispatcher reads
//! it, logs each event (`event <type> …`), and for every hook or webhook that wants it appends a
//! delivery to the [`journal`] (synced to disk before anything is attempted). Attempts run as
//! tasks of their own, so a slow hook never holds up the queue, and the dispatcher decides when
//! each delivery may start:
//! - deliveries of one hook for one room run one at a time, in event order: a later one waits
//!   until the earlier one succeeded or gave up;
//! - at most `concurrency` runs of a hook at once (across rooms);
//! - a hook with a `window` starts deliveries (first attempts and retries) only while the local
//!   time is inside it;
//! - a failed attempt is retried after an exponential backoff ([`window::retry_backoff`]), `retries`
//!   times; then the delivery is given up and a `hook_failed` event is raised, delivered to the
//!   hooks that subscribe to it except the one that failed (and a failed delivery of a
//!   `hook_failed` event raises none, so two failing hooks cannot feed each other).
//!
//! A restart (even after `kill -9`) resumes every delivery that was not done: at least once.
//! Deliveries of a name no hook or webhook has any more are parked, never dropped (see
//! `Core::reconfigure`).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveTime;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) mod command;
mod dispatch;
pub mod journal;
pub(crate) mod notify;
pub(crate) mod placeholders;
mod target;
pub(crate) mod webhook;
pub(crate) mod window;

use crate::config::{HookConfig, NotifyConfig, WebhookConfig};
use crate::event::feed::Feed;
use crate::event::{Event, EventRx};
use crate::segment::intent::Intents;
use crate::util::backoff::Backoff;
use dispatch::Core;
use journal::Journal;

/// Events kept for `GET /api/events`.
pub(crate) const RECENT_EVENTS: usize = 50;

/// How far a subscriber of the live feed (an event stream client) may fall behind before it
/// loses events: far more than a burst (a reload stopping every room) produces.
pub(crate) const LIVE_FEED_CAPACITY: usize = 256;

/// The local time of day, for windows. Tests replace it with a fake clock.
pub(crate) type Clock = Arc<dyn Fn() -> NaiveTime + Send + Sync>;

/// The real local clock.
pub(crate) fn local_clock() -> Clock {
    Arc::new(|| chrono::Local::now().time())
}

pub(crate) struct Options {
    pub(crate) state_dir: PathBuf,
    pub(crate) hooks: Vec<HookConfig>,
    pub(crate) webhooks: Vec<WebhookConfig>,
    pub(crate) notify: Vec<NotifyConfig>,
    pub(crate) backoff: Backoff,
    pub(crate) clock: Clock,
    /// Segment intents, settled once their `segment_complete` is journaled.
    pub(crate) intents: Option<Arc<Intents>>,
}

impl Options {
    /// The daemon's options: the real clock, the default backoff (or `LIVEREC_HOOK_BACKOFF_MS`).
    pub(crate) fn new(
        state_dir: &Path,
        hooks: Vec<HookConfig>,
        webhooks: Vec<WebhookConfig>,
    ) -> Self {
        Self {
            state_dir: state_dir.to_path_buf(),
            hooks,
            webhooks,
            notify: Vec::new(),
            backoff: window::retry_backoff(),
            clock: local_clock(),
            intents: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HooksError {
    #[error("cannot open the hook journal in {}: {source}", dir.display())]
    Journal {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot set up HTTP for webhooks: {0}")]
    Http(#[from] reqwest::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TargetKind {
    Hook,
    Webhook,
    Notify,
}

impl TargetKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TargetKind::Hook => "hook",
            TargetKind::Webhook => "webhook",
            TargetKind::Notify => "notify",
        }
    }
}

/// Everything the dispatcher delivers to, as a config names it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    pub(crate) hooks: Vec<HookConfig>,
    pub(crate) webhooks: Vec<WebhookConfig>,
    pub(crate) notify: Vec<NotifyConfig>,
}

/// Counters of one hook or webhook, for `/metrics` and status. Counters count since the daemon
/// started; `pending` counts what the journal holds now.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct TargetStats {
    pub(crate) name: String,
    pub(crate) kind: TargetKind,
    /// Deliveries that succeeded.
    pub(crate) succeeded: u64,
    /// Attempts that failed (each retry counts).
    pub(crate) attempts_failed: u64,
    /// Deliveries given up after their last retry (each raised `hook_failed`).
    pub(crate) gave_up: u64,
    /// Deliveries not done yet: running, waiting for a retry, for their turn, or for the window.
    pub(crate) pending: usize,
    /// Of `pending`, those held only because the window is closed now.
    pub(crate) waiting_window: usize,
    /// Attempts running now.
    pub(crate) running: usize,
    /// No hook or webhook has this name now: its deliveries wait in the journal for one to be
    /// configured again.
    #[serde(default)]
    pub(crate) parked: bool,
}

/// The handle of the dispatcher task. Every method takes `&self`, so the daemon, the control API
/// and the reload path can share it (`Arc<Dispatcher>`).
pub(crate) struct Dispatcher {
    cmds: mpsc::UnboundedSender<Cmd>,
    stats: Arc<Mutex<Vec<TargetStats>>>,
    feed: Arc<Feed>,
    queued: Arc<AtomicUsize>,
    /// Ids of the events the journal held at start-up, until recovery takes them.
    journaled_at_start: Mutex<HashSet<uuid::Uuid>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

enum Cmd {
    Reconfigure(Targets),
    /// Re-evaluate windows and timers now (tests change the clock); answered once done.
    #[cfg(test)]
    Nudge(oneshot::Sender<()>),
    Shutdown(Instant, oneshot::Sender<()>),
}

impl Dispatcher {
    /// Opens the journal (resuming its pending deliveries) and starts reading `events`.
    pub(crate) fn start(opts: Options, events: EventRx) -> Result<Self, HooksError> {
        let (mut journal, pending) =
            Journal::open(&opts.state_dir).map_err(|source| HooksError::Journal {
                dir: opts.state_dir.clone(),
                source,
            })?;
        let journaled_at_start = Mutex::new(journal.take_replayed_events());
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(Vec::new()));
        let feed = Arc::new(Feed::new(RECENT_EVENTS, LIVE_FEED_CAPACITY));
        let queued = events.depth();
        let (mut core, results_rx) = Core::new(
            journal,
            webhook::client()?,
            opts.backoff,
            opts.clock,
            stats.clone(),
            feed.clone(),
            opts.intents,
        );
        core.set_targets(Targets {
            hooks: opts.hooks,
            webhooks: opts.webhooks,
            notify: opts.notify,
        });
        core.resume(pending);
        core.publish_stats();
        let task = tokio::spawn(core.run(events, cmd_rx, results_rx));
        Ok(Self {
            cmds,
            stats,
            feed,
            queued,
            journaled_at_start,
            task: Mutex::new(Some(task)),
        })
    }

    /// Applies a reloaded config. Pending deliveries are kept: a hook that is still there (by
    /// name) keeps its queue, and its new settings apply from its next attempt; the deliveries
    /// of a hook that is gone are parked (kept in the journal, not run) and resume if a hook of
    /// that name is configured again.
    pub(crate) fn reconfigure(&self, targets: Targets) {
        let _ = self.cmds.send(Cmd::Reconfigure(targets));
    }

    /// Per hook and webhook counters, sorted by name. Cheap: a copy of what the dispatcher
    /// published after its last change.
    pub(crate) fn stats(&self) -> Vec<TargetStats> {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The last [`RECENT_EVENTS`] events the dispatcher handled (including `hook_failed`),
    /// oldest first.
    pub(crate) fn recent(&self) -> Vec<Event> {
        self.feed.recent()
    }

    /// Every event the dispatcher handles from now on, as it is added to [`Dispatcher::recent`]
    /// (see [`Feed`]: a receiver that falls behind loses events and is told so), until the
    /// dispatcher has shut down.
    pub(crate) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Event>> {
        self.feed.subscribe()
    }

    /// The ids of the events the journal held when it was opened (pending or done): start-up
    /// recovery raises no event again that is among them. Taken once.
    pub(crate) fn take_journaled_at_start(&self) -> HashSet<uuid::Uuid> {
        self.journaled_at_start
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// Events emitted and not read by the dispatcher yet.
    pub(crate) fn queued_events(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Re-evaluates windows and timers now (after the clock was changed, in tests); returns once
    /// the deliveries due have started and the stats show it.
    #[cfg(test)]
    pub(crate) async fn nudge(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Nudge(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops: events already queued are journaled, no new attempt starts, running command hooks
    /// may finish until `deadline`, then their process groups are killed. What was not done
    /// stays in the journal for the next start.
    pub(crate) async fn shutdown(&self, deadline: Instant) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Shutdown(deadline, tx)).is_ok() {
            let _ = rx.await;
        }
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        // Every event was handled: event streams get their last ones, then end.
        self.feed.close();
    }
}

#[cfg(test)]
mod tests;
