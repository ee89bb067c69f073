//! The daemon: prepares folders, recovers leftover files, resolves configured rooms to their
//! canonical keys, runs one room task per key, and stops them all within one deadline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, RoomConfig};
use crate::event::{Event, EventTx, EventType, RoomRef, SegmentRef};
use crate::platform::{PlatformError, Platforms, RoomKey};
use crate::record::recover::{self, Outcome};
use crate::room::{self, RoomDeps, RoomHandle};
use crate::systemd;

/// Retry pace for rooms whose URL could not be resolved yet (share links, short ids).
const RESOLVE_RETRY_MIN: Duration = Duration::from_secs(15);
const RESOLVE_RETRY_MAX: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{what} {}: {source}", path.display())]
    Folder {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error(
        "{0} room(s) did not stop within shutdown_timeout; their last segments may need `liverec repair`"
    )]
    StopTimeout(usize),
}

struct RoomEntry {
    handle: RoomHandle,
    join: JoinHandle<()>,
    index: usize,
}

/// A running daemon's rooms, keyed by canonical room key.
pub struct Daemon {
    config: Config,
    deps: RoomDeps,
    platforms: Platforms,
    rooms: HashMap<RoomKey, RoomEntry>,
    cancel: CancellationToken,
    resolved_tx: mpsc::UnboundedSender<(RoomConfig, RoomKey)>,
}

/// Creates a folder if needed and proves it is writable, so a read-only mount or a typo is one
/// clear error at start-up instead of a failure at the first live.
pub fn prepare_folder(what: &'static str, path: &Path) -> Result<(), DaemonError> {
    let err = |source| DaemonError::Folder {
        what,
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    let probe = path.join(format!(".liverec-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Runs the daemon until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    prepare_folder("output_dir", &config.output_dir)?;
    prepare_folder("state_dir", &config.state_dir)?;
    prepare_folder("lock_dir", &config.lock_dir)?;
    let client = crate::http::client()?;
    let (events, events_rx) = EventTx::channel(1024);
    let event_log = tokio::spawn(log_events(events_rx));

    recover_leftovers(&config, &events).await;

    let platforms = Platforms::new(&config, client.clone());
    let deps = RoomDeps {
        platform: platforms.get(crate::platform::PlatformKind::Direct),
        client,
        output_dir: config.output_dir.clone(),
        lock_dir: config.lock_dir.clone(),
        min_free_space: config.min_free_space,
        slots: (config.max_recordings > 0).then(|| Arc::new(Semaphore::new(config.max_recordings))),
        events,
    };
    let (resolved_tx, mut resolved_rx) = mpsc::unbounded_channel();
    let mut daemon = Daemon {
        config,
        deps,
        platforms,
        rooms: HashMap::new(),
        cancel: CancellationToken::new(),
        resolved_tx,
    };
    for d in &daemon.config.duplicates {
        tracing::warn!(
            "rooms[{}] ({}) is the same room as rooms[{}] ({}); ignored",
            d.index,
            d.url,
            d.first_index,
            d.key
        );
    }
    for room in daemon.config.rooms.clone() {
        daemon.add_room(room);
    }
    let started = format!("{} room(s)", daemon.config.rooms.len());
    tracing::info!(config = %daemon.config.file.display(), output_dir = %daemon.config.output_dir.display(), "liverec running: {started}");
    systemd::ready(&started);

    let mut watchdog = systemd::watchdog_interval().map(tokio::time::interval);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some((cfg, key)) = resolved_rx.recv() => daemon.start_room(cfg, key),
            _ = async {
                match watchdog.as_mut() {
                    Some(w) => { w.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => systemd::watchdog_ping(),
        }
    }

    systemd::stopping();
    let result = daemon.stop().await;
    drop(daemon);
    let _ = tokio::time::timeout(Duration::from_secs(2), event_log).await;
    result
}

impl Daemon {
    /// Resolves a configured room to its key (at once when known offline, else in the
    /// background with retries) and starts it.
    fn add_room(&mut self, cfg: RoomConfig) {
        if let Some(key) = cfg.target.known_key() {
            self.start_room(cfg, key);
            return;
        }
        let platform = self.platforms.get(cfg.target.platform);
        let tx = self.resolved_tx.clone();
        let cancel = self.cancel.clone();
        let span = tracing::info_span!("resolve", url = %cfg.target.provisional_key());
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let mut wait = RESOLVE_RETRY_MIN;
                loop {
                    let result = tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = platform.resolve(&cfg.target) => r,
                    };
                    match result {
                        Ok(key) => {
                            let _ = tx.send((cfg, key));
                            return;
                        }
                        Err(e) => {
                            if matches!(e, PlatformError::NotFound(_)) {
                                wait = RESOLVE_RETRY_MAX;
                            }
                            tracing::warn!(
                                "rooms[{}]: cannot resolve {}: {e}; retrying in {}s",
                                cfg.index,
                                cfg.url(),
                                wait.as_secs()
                            );
                        }
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(RESOLVE_RETRY_MAX);
                }
            },
            span,
        ));
    }

    fn start_room(&mut self, cfg: RoomConfig, key: RoomKey) {
        if let Some(existing) = self.rooms.get(&key) {
            tracing::warn!(
                "rooms[{}] ({}) resolves to {key}, which rooms[{}] already records; ignored",
                cfg.index,
                cfg.url(),
                existing.index
            );
            return;
        }
        let deps = RoomDeps {
            platform: self.platforms.get(key.platform),
            ..self.deps.clone()
        };
        let index = cfg.index;
        let (handle, join) = room::spawn(key.clone(), cfg, deps, &self.cancel);
        self.rooms.insert(
            key,
            RoomEntry {
                handle,
                join,
                index,
            },
        );
    }

    pub fn handles(&self) -> Vec<RoomHandle> {
        let mut v: Vec<_> = self.rooms.values().map(|e| e.handle.clone()).collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    /// Stops every room at once and waits for all of them, within `shutdown_timeout` in total.
    async fn stop(&mut self) -> Result<(), DaemonError> {
        self.cancel.cancel();
        let deadline = tokio::time::Instant::now() + self.config.shutdown_timeout;
        let mut late = 0;
        for (key, entry) in self.rooms.drain() {
            if tokio::time::timeout_at(deadline, entry.join).await.is_err() {
                tracing::error!(key = %key, "room did not stop within shutdown_timeout");
                late += 1;
            }
        }
        if late > 0 {
            return Err(DaemonError::StopTimeout(late));
        }
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Repairs and renames `.part` files no live process is writing, raising `segment_complete`
/// (with `recovered: true`) for each.
async fn recover_leftovers(config: &Config, events: &EventTx) {
    let (out, state, locks) = (
        config.output_dir.clone(),
        config.state_dir.clone(),
        config.lock_dir.clone(),
    );
    let outcomes = tokio::task::spawn_blocking(move || recover::recover_all(&out, &state, &locks))
        .await
        .unwrap_or_default();
    for outcome in outcomes {
        match outcome {
            Outcome::Recovered(r) => {
                let room = r.room.as_deref().map(|key| room_ref_for(config, key));
                for f in r.files {
                    tracing::info!(file = %f.path.display(), bytes = f.bytes, "recovered a segment left by a crash");
                    let now = crate::event::now();
                    let event = Event::new(EventType::SegmentComplete, room.clone()).with_segment(
                        SegmentRef {
                            path: f.path,
                            index: 0,
                            bytes: f.bytes,
                            duration_s: 0.0,
                            start: now,
                            end: now,
                            recovered: true,
                        },
                    );
                    events.emit(event).await;
                }
            }
            Outcome::RemovedEmpty(p) => {
                tracing::info!(file = %p.display(), "removed an empty leftover file")
            }
            Outcome::InUse(p) => {
                tracing::info!(file = %p.display(), "left alone: another process is writing it")
            }
            Outcome::Failed(p, e) => {
                tracing::error!(file = %p.display(), "cannot recover: {e}; try `liverec repair`")
            }
        }
    }
}

fn room_ref_for(config: &Config, key: &str) -> RoomRef {
    let parsed = RoomKey::parse(key);
    let room = config
        .rooms
        .iter()
        .find(|r| r.target.known_key().is_some_and(|k| k.to_string() == key));
    RoomRef {
        key: key.to_string(),
        platform: parsed
            .as_ref()
            .map(|k| k.platform.to_string())
            .unwrap_or_default(),
        id: parsed.map(|k| k.id).unwrap_or_default(),
        name: room.and_then(|r| r.name.clone()).unwrap_or_default(),
        url: room.map(|r| r.url().to_string()).unwrap_or_default(),
        streamer: String::new(),
        title: String::new(),
    }
}

/// Until hooks are configured, events go to the log.
async fn log_events(mut rx: mpsc::Receiver<Event>) {
    while let Some(e) = rx.recv().await {
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
}
