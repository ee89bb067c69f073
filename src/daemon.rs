//! The daemon: prepares folders, recovers leftover files, runs one room task per canonical room
//! key, serves the control API, applies config reloads as diffs, and stops everything within
//! one deadline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, ConfigErrors, Problem};
use crate::control::{ControlState, DaemonCmd};
use crate::event::EventTx;
use crate::hooks::{Dispatcher, Options as HookOptions};
use crate::platform::{PlatformKind, Platforms};
use crate::retention::Retention;
use crate::room::RoomDeps;
use crate::segment::intent::Intents;
use crate::systemd;

pub(crate) mod cluster;
mod disk;
pub(crate) mod login;
mod rooms;
mod watch;

/// How often free space is checked.
const DISK_CHECK: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub(crate) enum DaemonError {
    #[error("{what} {}: {source}", path.display())]
    Folder {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Hooks(#[from] crate::hooks::HooksError),
    #[error("{0}")]
    Cluster(String),
    #[error(
        "{0} room(s) did not stop within shutdown_timeout; their last segments may need `liverec repair`"
    )]
    StopTimeout(usize),
}

/// Creates a folder if needed and proves it is writable, so a read-only mount or a typo is one
/// clear error at start-up instead of a failure at the first live.
pub(crate) fn prepare_folder(what: &'static str, path: &Path) -> Result<(), DaemonError> {
    let err = |source| DaemonError::Folder {
        what,
        path: path.to_path_buf(),
        source,
    };
    if path.exists() && !path.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "exists and is not a directory",
        )));
    }
    std::fs::create_dir_all(path).map_err(err)?;
    let probe = path.join(format!(".liverec-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Runs the daemon until `shutdown` is cancelled. `cmds` carries reload requests (SIGHUP);
/// `cmd_tx` is its sender, handed to the config watcher and the control API.
pub(crate) async fn run(
    config: Config,
    shutdown: CancellationToken,
    cmd_tx: mpsc::Sender<DaemonCmd>,
    mut cmds: mpsc::Receiver<DaemonCmd>,
) -> Result<(), DaemonError> {
    prepare_folder("output_dir", &config.output_dir)?;
    prepare_folder("state_dir", &config.state_dir)?;
    prepare_folder("lock_dir", &config.lock_dir)?;
    let client = crate::http::client()?;
    let segments = config.state_dir.join("segments");
    let intents = Arc::new(
        Intents::open(&segments).map_err(|source| DaemonError::Folder {
            what: "state_dir",
            path: segments,
            source,
        })?,
    );
    let (events, events_rx) = EventTx::channel();
    let mut hook_options = HookOptions::new(
        &config.state_dir,
        config.hooks.clone(),
        config.webhooks.clone(),
    );
    hook_options.intents = Some(intents.clone());
    hook_options.notify = config.notify.clone();
    let hooks = Arc::new(Dispatcher::start(hook_options, events_rx)?);

    // Repairing big leftovers after a power cut can take minutes: keep systemd's start
    // timeout from killing (and restarting) the daemon in the middle of it.
    let keepalive = tokio::spawn(async {
        loop {
            systemd::extend_timeout(Duration::from_secs(90));
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
    // Before any room starts: the journal as it was at start-up says which events a crash lost.
    let journaled = hooks.take_journaled_at_start();
    let retention = Retention::new(
        config.retention.clone(),
        hooks.clone(),
        events.clone(),
        &config.output_dir,
    );
    retention.recover(journaled.clone()).await;
    crate::recovery::startup::recover_leftovers(&config, &events, &intents, journaled).await;
    keepalive.abort();

    let shared = Arc::new(ControlState::new(
        config.file.clone(),
        config.control.token.clone(),
        cmd_tx.clone(),
        shutdown.clone(),
        hooks.clone(),
    ));
    shared.set_retention(retention.clone());
    let stop_retention = CancellationToken::new();
    let retention_task = retention.spawn(stop_retention.clone());
    let min_free_space = Arc::new(AtomicU64::new(config.min_free_space));
    let platforms = Platforms::from_settings(&config.platforms, client.clone());
    let slots =
        (config.max_recordings > 0).then(|| Arc::new(Semaphore::new(config.max_recordings)));
    let cluster_stop = CancellationToken::new();
    let (coordinator, cluster_task) = cluster::join(
        &config.cluster,
        &events,
        slots.clone(),
        [PlatformKind::Bilibili, PlatformKind::Douyin]
            .map(|k| (k, platforms.get(k)))
            .to_vec(),
        &cluster_stop,
    )
    .await?;
    shared.set_cluster(coordinator.clone());
    let deps = RoomDeps {
        platform: platforms.get(PlatformKind::Direct),
        client,
        output_dir: config.output_dir.clone(),
        lock_dir: config.lock_dir.clone(),
        min_free_space: min_free_space.clone(),
        slots,
        events: events.clone(),
        intents: Some(intents),
        seat: None,
        cluster: coordinator.clone(),
    };
    let logins = login::watch(&platforms, &events, &shared);
    let (resolved_tx, mut resolved_rx) = mpsc::unbounded_channel();
    let mut rooms = rooms::Rooms::new(deps, platforms, shared.clone(), resolved_tx);
    for d in &config.duplicates {
        tracing::warn!(
            "rooms[{}] ({}) is the same room as rooms[{}] ({}); ignored",
            d.index,
            d.url,
            d.first_index,
            d.key
        );
    }
    for room in config.rooms.clone() {
        rooms.add(room);
    }
    rooms.publish();
    let control = crate::control::serve(&config, shared.clone()).await;
    let _watcher = watch::watch(&config.file, cmd_tx);
    let started = format!("{} room(s)", config.rooms.len());
    tracing::info!(config = %config.file.display(), output_dir = %config.output_dir.display(), "liverec running: {started}");
    systemd::ready(&started);

    let mut current = config;
    let mut watchdog = systemd::watchdog_interval().map(tokio::time::interval);
    let disk = {
        let shared = shared.clone();
        disk::monitor(
            current.output_dir.clone(),
            min_free_space.clone(),
            DISK_CHECK,
            events.clone(),
            move |free, total, low| shared.set_disk(free, total, low),
        )
    };
    let mut drain_check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = drain_check.tick(), if coordinator.draining() => {
                if open_sessions(&shared) == 0 {
                    tracing::info!("drained: no session is open any more; stopping");
                    shutdown.cancel();
                    break;
                }
            }
            Some((cfg, key)) = resolved_rx.recv() => {
                rooms.resolved(cfg, key);
                // Rooms resolved in one batch arrive together: publish the list once.
                while let Ok((cfg, key)) = resolved_rx.try_recv() {
                    rooms.resolved(cfg, key);
                }
                rooms.publish();
            }
            Some(cmd) = cmds.recv() => match cmd {
                DaemonCmd::Drain { reply } => {
                    coordinator.drain();
                    let open = open_sessions(&shared);
                    let summary = format!("draining: no new live is taken; liverec stops once its {open} open session(s) end");
                    tracing::info!("{summary}");
                    let _ = reply.send(summary);
                }
                DaemonCmd::Reload { source, reply } => {
                    let before = current.retention.clone();
                    let result = reload(&mut current, &mut rooms, &shared, &hooks, &min_free_space, source).await;
                    if current.retention != before {
                        retention.reconfigure(current.retention.clone());
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    }
                }
            },
            _ = async {
                match watchdog.as_mut() {
                    Some(w) => { w.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => systemd::watchdog_ping(),
        }
    }

    systemd::stopping();
    // Like the main loop it ran in before, the free-space check ends here.
    disk.abort();
    let _ = disk.await;
    // A deletion cut short here is finished by the next start (see `retention`).
    stop_retention.cancel();
    retention_task.abort();
    let _ = retention_task.await;
    for t in logins {
        t.abort();
    }
    let deadline = tokio::time::Instant::now() + current.shutdown_timeout;
    let late = rooms.stop_all(deadline).await;
    // After the rooms: their owner keys are released, then the lease (and the member key) go.
    cluster_stop.cancel();
    if let Some(task) = cluster_task {
        let _ = tokio::time::timeout_at(
            deadline.max(tokio::time::Instant::now() + Duration::from_secs(3)),
            task,
        )
        .await;
    }
    drop(control);
    drop(rooms);
    drop(events);
    // After the rooms: their last events are journaled, running hooks get what is left of
    // shutdown_timeout.
    hooks.shutdown(deadline).await;
    if late > 0 {
        return Err(DaemonError::StopTimeout(late));
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Sessions open in this instance (recording, or waiting out a drop within `offline_grace`).
fn open_sessions(shared: &ControlState) -> usize {
    shared
        .rooms()
        .iter()
        .filter(|r| r.snapshot().session.is_some())
        .count()
}

/// Reloads the config file: a file with any problem is rejected whole (the running config
/// stays), a valid one is applied as a diff.
async fn reload(
    current: &mut Config,
    rooms: &mut rooms::Rooms,
    shared: &ControlState,
    hooks: &Dispatcher,
    min_free_space: &AtomicU64,
    source: &'static str,
) -> Result<String, ConfigErrors> {
    let path = current.file.clone();
    let read = path.clone();
    let loaded = tokio::task::spawn_blocking(move || config::load(&read))
        .await
        .unwrap_or_else(|e| {
            Err(ConfigErrors::new(
                &path,
                vec![Problem {
                    key: String::new(),
                    line: None,
                    reason: format!("reload failed: {e}"),
                }],
            ))
        });
    let rejected = |errors: ConfigErrors| {
        for line in errors.lines() {
            tracing::error!("reload rejected ({source}): {line}");
        }
        tracing::error!("the running config stays in effect");
        errors
    };
    let new = loaded.map_err(rejected)?;
    let needs_restart = restart_keys(current, &new)
        .map_err(|problem| rejected(ConfigErrors::new(&new.file, vec![problem])))?;
    systemd::reloading();
    for w in &new.warnings {
        tracing::warn!("{}: {}: {}", new.file.display(), w.key, w.reason);
    }
    shared.set_token(new.control.token.clone());
    min_free_space.store(new.min_free_space, Ordering::Relaxed);
    hooks.reconfigure(crate::hooks::Targets {
        hooks: new.hooks.clone(),
        webhooks: new.webhooks.clone(),
        notify: new.notify.clone(),
    });
    let diff = rooms.apply(new.rooms.clone());
    let mut summary = format!("reloaded ({source}): {diff}");
    if !needs_restart.is_empty() {
        summary.push_str(&format!(
            "; restart liverec to apply {}",
            needs_restart.join(", ")
        ));
        tracing::warn!(
            "{} changed: these take effect after a restart",
            needs_restart.join(", ")
        );
    }
    tracing::info!("{summary}");
    *current = running_after(current, new);
    systemd::ready(&summary);
    Ok(summary)
}

/// The config the daemon runs after a reload to `new`: keys that apply only at a restart keep
/// their running values (the next reload names them again while they differ).
fn running_after(current: &Config, new: Config) -> Config {
    Config {
        output_dir: current.output_dir.clone(),
        state_dir: current.state_dir.clone(),
        lock_dir: current.lock_dir.clone(),
        control: config::ControlConfig {
            listen: current.control.listen.clone(),
            token: new.control.token.clone(),
        },
        max_recordings: current.max_recordings,
        cluster: current.cluster.clone(),
        // The platforms' clients and limiters are made once at start-up; rooms carry their
        // own merged platform settings.
        platforms: current.platforms.clone(),
        ..new
    }
}

/// The changed keys of `new` that take effect only at a restart, or why `new` cannot be applied
/// to a daemon running `current`.
fn restart_keys(current: &Config, new: &Config) -> Result<Vec<String>, Problem> {
    // control.listen only changes at a restart, so the token is checked against the address
    // the API is bound to now: a reload must not leave a public API without one.
    if let config::Listen::Tcp(addr) = &current.control.listen {
        if !addr.ip().is_loopback() && new.control.token.is_none() {
            return Err(Problem {
                key: "control.token".into(),
                line: None,
                reason: format!(
                    "required while the API listens on {addr} (a non-loopback address; control.listen changes only at a restart)"
                ),
            });
        }
    }
    Ok(config::keys::restart_needed(current, new))
}

#[cfg(test)]
mod tests;
