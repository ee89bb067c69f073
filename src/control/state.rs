//! What the control API knows of a running daemon, and what it may ask of it. The daemon builds
//! one [`ControlState`] and keeps it current through its methods (rooms, token, free space); the
//! API reads it and sends [`DaemonCmd`]s. The fields stay private so that neither side reaches
//! into the other: the same discipline as a room's handle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{DateTime, FixedOffset};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::history::BitrateHistory;
use crate::config::ConfigErrors;
use crate::hooks::Dispatcher;
use crate::retention::Retention;
use crate::room::RoomHandle;
use crate::util::secret::Secret;

/// Requests to the daemon's main loop (from the API, SIGHUP and the config-file watcher).
#[derive(Debug)]
pub(crate) enum DaemonCmd {
    /// Reload the config file; the reply says what changed, or why the file was rejected.
    Reload {
        source: &'static str,
        reply: Option<oneshot::Sender<ReloadReply>>,
    },
    /// Take nothing new, let the open sessions end, then exit (`liverec cluster drain`); the
    /// reply says how many sessions are still open.
    Drain { reply: oneshot::Sender<String> },
}

/// A reload's outcome: the summary of what changed, or every problem that made the daemon keep
/// its running config (the same problems `liverec check` reports).
pub(crate) type ReloadReply = Result<String, ConfigErrors>;

/// The running daemon as the control API sees it.
pub(crate) struct ControlState {
    rooms: RwLock<Vec<RoomHandle>>,
    config_file: PathBuf,
    started: DateTime<FixedOffset>,
    token: RwLock<Option<Secret>>,
    disk_free: AtomicU64,
    disk_total: AtomicU64,
    disk_low: AtomicBool,
    cmds: mpsc::Sender<DaemonCmd>,
    shutdown: CancellationToken,
    hooks: Arc<Dispatcher>,
    bitrates: BitrateHistory,
    retention: OnceLock<Arc<Retention>>,
    /// The cluster coordinator, for `/metrics`.
    cluster: std::sync::OnceLock<crate::cluster::Coordinator>,
    /// Per platform with a login cookie: whether it is logged in (`None` until known).
    logins: RwLock<BTreeMap<String, Option<bool>>>,
}

impl ControlState {
    /// A daemon started now, with no rooms yet.
    pub(crate) fn new(
        config_file: PathBuf,
        token: Option<Secret>,
        cmds: mpsc::Sender<DaemonCmd>,
        shutdown: CancellationToken,
        hooks: Arc<Dispatcher>,
    ) -> Self {
        Self {
            rooms: RwLock::new(Vec::new()),
            config_file,
            started: crate::event::now(),
            token: RwLock::new(token),
            disk_free: AtomicU64::new(0),
            disk_total: AtomicU64::new(0),
            disk_low: AtomicBool::new(false),
            cmds,
            shutdown,
            hooks,
            bitrates: BitrateHistory::new(super::history::SAMPLES),
            retention: OnceLock::new(),
            cluster: std::sync::OnceLock::new(),
            logins: RwLock::new(BTreeMap::new()),
        }
    }

    pub(crate) fn set_cluster(&self, cluster: crate::cluster::Coordinator) {
        let _ = self.cluster.set(cluster);
    }

    pub(crate) fn cluster(&self) -> Option<&crate::cluster::Coordinator> {
        self.cluster.get()
    }

    /// The login state of `platform`'s cookie (see `daemon::login`).
    pub(crate) fn set_login(&self, platform: &str, logged_in: Option<bool>) {
        self.logins
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(platform.to_string(), logged_in);
    }

    /// Each platform with a login cookie, and whether it is logged in (`None`: not known yet).
    pub(crate) fn logins(&self) -> BTreeMap<String, Option<bool>> {
        self.logins
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn rooms(&self) -> Vec<RoomHandle> {
        self.rooms.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set_rooms(&self, rooms: Vec<RoomHandle>) {
        *self.rooms.write().unwrap_or_else(|p| p.into_inner()) = rooms;
    }

    pub(crate) fn token(&self) -> Option<Secret> {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set_token(&self, token: Option<Secret>) {
        *self.token.write().unwrap_or_else(|p| p.into_inner()) = token;
    }

    /// The last free-space reading under `output_dir` (free and total bytes of its file
    /// system), and whether it is under the floor.
    pub(crate) fn set_disk(&self, free: u64, total: u64, low: bool) {
        self.disk_free.store(free, Ordering::Relaxed);
        self.disk_total.store(total, Ordering::Relaxed);
        self.disk_low.store(low, Ordering::Relaxed);
    }

    pub(crate) fn disk_free(&self) -> u64 {
        self.disk_free.load(Ordering::Relaxed)
    }

    pub(crate) fn disk_total(&self) -> u64 {
        self.disk_total.load(Ordering::Relaxed)
    }

    pub(crate) fn disk_low(&self) -> bool {
        self.disk_low.load(Ordering::Relaxed)
    }

    pub(crate) fn config_file(&self) -> &Path {
        &self.config_file
    }

    pub(crate) fn started(&self) -> DateTime<FixedOffset> {
        self.started
    }

    pub(crate) fn hooks(&self) -> &Dispatcher {
        &self.hooks
    }

    /// The daemon's retention (set once at start-up).
    pub(crate) fn set_retention(&self, r: Arc<Retention>) {
        let _ = self.retention.set(r);
    }

    pub(crate) fn retention(&self) -> Option<&Retention> {
        self.retention.get().map(|r| &**r)
    }

    /// The rooms' recent bitrates, sampled by the API (see `control::history`).
    pub(crate) fn bitrates(&self) -> &BitrateHistory {
        &self.bitrates
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Hands `cmd` to the main loop; false once it has stopped.
    pub(crate) async fn send(&self, cmd: DaemonCmd) -> bool {
        self.cmds.send(cmd).await.is_ok()
    }
}
