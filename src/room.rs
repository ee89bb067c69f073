//! Rooms: one supervisor task per canonical room key, owning all of that room's state. Other
//! code reaches a room only through its [`RoomHandle`]: a mailbox for commands, a watch channel
//! for its status, and a cancellation token to stop it.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

pub(crate) mod cover;
pub(crate) mod degrade;
pub(crate) mod lock;
pub(crate) mod schedule;
pub(crate) mod state;
mod supervisor;

use crate::config::RoomConfig;
use crate::event::{EventTx, SessionRef};
use crate::platform::{Platform, RoomKey};
use crate::util::secret::redact_url;

/// What a room shows in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RoomState {
    Idle,
    Live,
    Recording,
    Failing,
    Waiting,
    Disabled,
    /// Live, but it cannot be recorded (DRM, paid, guard-only...); the reason is in `detail`.
    Unrecordable,
    /// Live, but a recording rule turns it down (its title, the session limit); why is in
    /// `detail`.
    Skipped,
    /// Outside every `record_window`: not polled; `detail` says when the next window opens.
    Outside,
}

impl RoomState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RoomState::Idle => "idle",
            RoomState::Live => "live",
            RoomState::Recording => "recording",
            RoomState::Failing => "failing",
            RoomState::Waiting => "waiting",
            RoomState::Disabled => "disabled",
            RoomState::Unrecordable => "unrecordable",
            RoomState::Skipped => "skipped",
            RoomState::Outside => "outside",
        }
    }
}

/// A room's status, published on every change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomSnapshot {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) platform: String,
    /// The configured URL without its query string.
    pub(crate) url: String,
    pub(crate) state: RoomState,
    pub(crate) since: DateTime<FixedOffset>,
    /// Why the room is in its state (waiting for whom, when grace ends...).
    pub(crate) detail: Option<String>,
    pub(crate) title: String,
    pub(crate) streamer: String,
    pub(crate) session: Option<SessionRef>,
    /// The `.part` being written.
    pub(crate) file: Option<PathBuf>,
    /// Bytes written in this session.
    pub(crate) bytes: u64,
    pub(crate) segment_bytes: u64,
    pub(crate) segments: u32,
    /// Bytes written since the daemon started (all sessions).
    pub(crate) bytes_total: u64,
    /// Segments completed since the daemon started (all sessions).
    pub(crate) segments_total: u64,
    /// HLS segments lost to the playlist window since the daemon started.
    pub(crate) gaps_total: u64,
    /// Write rate over the last few seconds, in kbit/s.
    pub(crate) bitrate_kbps: f64,
    /// Stream connections of this session after its first.
    #[serde(default)]
    pub(crate) reconnects: u32,
    pub(crate) last_error: Option<String>,
    /// The room's chat connection.
    #[serde(default)]
    pub(crate) chat: crate::chat::ChatState,
    /// Recording below the wanted quality for `degraded_after` (see `room::degrade`).
    #[serde(default)]
    pub(crate) degraded: Option<degrade::Degraded>,
}

/// A room's name in its events and file names: the configured one, else the streamer's, else
/// the room's id; never empty. The one rule: crash recovery names a leftover's room by it too
/// (offline, it knows no streamer).
pub(crate) fn display_name(configured: Option<&str>, streamer: &str, id: &str) -> String {
    [configured.unwrap_or_default(), streamer, id]
        .into_iter()
        .find(|n| !n.is_empty())
        .unwrap_or_default()
        .to_string()
}

impl RoomSnapshot {
    pub(crate) fn new(key: &RoomKey, cfg: &RoomConfig) -> Self {
        Self {
            key: key.to_string(),
            name: cfg.name.clone().unwrap_or_default(),
            platform: key.platform.to_string(),
            url: redact_url(cfg.url()),
            state: if cfg.enabled {
                RoomState::Idle
            } else {
                RoomState::Disabled
            },
            since: crate::event::now(),
            detail: None,
            title: String::new(),
            streamer: String::new(),
            session: None,
            file: None,
            bytes: 0,
            segment_bytes: 0,
            segments: 0,
            bytes_total: 0,
            segments_total: 0,
            gaps_total: 0,
            bitrate_kbps: 0.0,
            reconnects: 0,
            last_error: None,
            chat: Default::default(),
            degraded: None,
        }
    }
}

/// Commands a room accepts.
#[derive(Debug)]
pub(crate) enum RoomCmd {
    /// Poll the platform now (a media server's publish hook, an operator).
    CheckNow,
    /// Drop the current attempt, or skip a reconnect backoff.
    Restart,
    /// Start a new file at the next keyframe.
    Split,
    /// New settings from a reload; they apply from the next segment.
    Reconfigure(Box<RoomConfig>),
    /// Makes the room task panic, to test that it is restarted.
    #[cfg(test)]
    Panic,
}

/// Everything a room task needs from the daemon.
#[derive(Clone)]
pub(crate) struct RoomDeps {
    pub(crate) platform: Arc<dyn Platform>,
    pub(crate) client: reqwest::Client,
    pub(crate) output_dir: PathBuf,
    pub(crate) lock_dir: PathBuf,
    /// Shared so that a reload can change it for every room at once.
    pub(crate) min_free_space: Arc<std::sync::atomic::AtomicU64>,
    /// `max_recordings` slots shared by the rooms of this instance.
    pub(crate) slots: Option<Arc<Semaphore>>,
    pub(crate) events: EventTx,
    /// Where segments record their intents (see `segment::intent`).
    pub(crate) intents: Option<Arc<crate::segment::intent::Intents>>,
    /// The room's place in its platform's polling schedule (none: polls at `poll_interval`
    /// from its start).
    pub(crate) seat: Option<Arc<schedule::Seat>>,
    /// Who polls and records which room when several instances share the rooms.
    pub(crate) cluster: crate::cluster::Coordinator,
}

#[derive(Clone)]
pub(crate) struct RoomHandle {
    pub(crate) key: RoomKey,
    tx: mpsc::Sender<RoomCmd>,
    status: watch::Receiver<RoomSnapshot>,
    cancel: CancellationToken,
}

impl RoomHandle {
    pub(crate) fn snapshot(&self) -> RoomSnapshot {
        self.status.borrow().clone()
    }

    /// Sends a command; false when the room is gone or its mailbox is full.
    pub(crate) fn send(&self, cmd: RoomCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    /// Asks the room to stop: it closes its files and releases its lock.
    pub(crate) fn stop(&self) {
        self.cancel.cancel();
    }
}

/// Starts a room's task. The returned join handle ends when the room has fully stopped.
pub(crate) fn spawn(
    key: RoomKey,
    cfg: RoomConfig,
    deps: RoomDeps,
    parent: &CancellationToken,
) -> (RoomHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(16);
    let (status_tx, status_rx) = watch::channel(RoomSnapshot::new(&key, &cfg));
    let cancel = parent.child_token();
    let handle = RoomHandle {
        key: key.clone(),
        tx,
        status: status_rx,
        cancel: cancel.clone(),
    };
    let join = supervisor::spawn(key, cfg, deps, rx, status_tx, cancel);
    (handle, join)
}

#[cfg(test)]
mod tests;
