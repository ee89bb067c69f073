//! Running one room until its live ends, Ctrl-C or SIGTERM: the daemon's room task
//! ([`crate::room::spawn`]) with no hooks, its events read here (finished files are printed on
//! stdout, one path a line), and a progress line on a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::EXIT_NOT_LIVE;
use super::progress;
use crate::config::{Config, RoomConfig};
use crate::event::{Event, EventTx, EventType};
use crate::platform::{Platform, PlatformError, Platforms, RoomKey, RoomSpec};
use crate::room::{self, RoomDeps, RoomHandle, RoomState};

/// One status check or resolution's own limit, before the room task takes over.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Creates the folder for room locks, readable by this user only, and refuses one that another
/// user made (a shared temp dir must not let someone else plant it).
fn prepare_state(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let locks = dir.join("locks");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&locks)
        .map_err(|e| format!("cannot create {}: {e}", locks.display()))?;
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to another user (uid {}); remove it or set XDG_RUNTIME_DIR",
            dir.display(),
            meta.uid()
        ));
    }
    Ok(())
}

fn spec(key: &RoomKey, room: &RoomConfig) -> RoomSpec {
    RoomSpec {
        key: key.clone(),
        url: room.url().to_string(),
        quality: room.settings.quality.clone(),
        formats: room.settings.formats.clone(),
        codecs: room.settings.codecs.clone(),
        cookie: room.settings.cookie.clone(),
    }
}

/// The room's key; `None` (said why) when it cannot be had now and waiting was not asked for.
async fn resolve(platform: &dyn Platform, room: &RoomConfig, wait: bool) -> Option<RoomKey> {
    let mut said = false;
    loop {
        let r = tokio::time::timeout(CHECK_TIMEOUT, platform.resolve(&room.target))
            .await
            .unwrap_or_else(|_| Err(PlatformError::Network("no answer in time".into())));
        match r {
            Ok(k) => return Some(k),
            Err(PlatformError::NotLiveYet(why)) if wait => {
                if !said {
                    eprintln!("liverec: not live now ({why}); waiting");
                    said = true;
                }
                tokio::time::sleep(room.settings.poll_interval).await;
            }
            Err(PlatformError::NotLiveYet(why)) => {
                eprintln!("liverec: not live now: {why} (--wait waits for it)");
                return None;
            }
            Err(e) => {
                eprintln!("liverec: cannot resolve {}: {e}", room.url());
                return None;
            }
        }
    }
}

/// Whether to go on after the first status check (the room task checks again itself).
async fn first_check(platform: &dyn Platform, spec: &RoomSpec, wait: bool) -> bool {
    let r = tokio::time::timeout(CHECK_TIMEOUT, platform.status(spec))
        .await
        .unwrap_or_else(|_| Err(PlatformError::Network("no answer in time".into())));
    let key = &spec.key;
    let why_not = match r {
        Ok(s) if s.live && s.unrecordable.is_none() => return true,
        Ok(s) if s.live => format!(
            "{key} is live but cannot be recorded: {}",
            s.unrecordable.unwrap_or_default()
        ),
        Ok(_) => format!("{key} is not live"),
        Err(PlatformError::Unsupported(why)) => format!("{key} cannot be recorded: {why}"),
        Err(e) => format!("cannot tell whether {key} is live: {e}"),
    };
    if wait {
        eprintln!("liverec: {why_not}; waiting for it to go live");
        return true;
    }
    eprintln!("liverec: {why_not} (--wait waits for it)");
    false
}

/// What the events so far say about the recording.
#[derive(Default)]
struct Tally {
    files: u32,
    live_ended: bool,
    /// Why the live cannot be recorded, once a room says so.
    unrecordable: Option<String>,
}

impl Tally {
    fn take(&mut self, e: &Event) {
        log_event(e);
        match e.kind {
            EventType::SegmentComplete => {
                if let Some(s) = e.segment() {
                    self.files += 1;
                    progress::clear();
                    // stdout holds only the finished files, for scripts.
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", s.path.display());
                    let _ = out.flush();
                }
            }
            EventType::LiveEnd => self.live_ended = true,
            EventType::RecordingFailed => {
                if let Some(why) = e
                    .error
                    .as_deref()
                    .filter(|w| w.starts_with("not recordable"))
                {
                    self.unrecordable = Some(why.to_string());
                }
            }
            _ => {}
        }
    }
}

fn log_event(e: &Event) {
    let path = e
        .segment()
        .map(|s| s.path.display().to_string())
        .unwrap_or_default();
    match &e.error {
        Some(err) => tracing::info!("event {} {path} ({err})", e.kind),
        None => tracing::info!("event {} {path}", e.kind),
    }
}

/// Why to stop now, if the room's state says so (without `--wait`).
fn blocked(handle: &RoomHandle, wait: bool) -> Option<String> {
    let snap = handle.snapshot();
    let detail = snap.detail.unwrap_or_default();
    (!wait && snap.state == RoomState::Waiting && detail.starts_with("recorded by"))
        .then(|| format!("{} is already {detail}", snap.key))
}

pub(super) async fn record(config: Config, wait: bool) -> ExitCode {
    let Some(room) = config.rooms.first().cloned() else {
        return ExitCode::from(crate::cli::EXIT_BAD_CONFIG);
    };
    if let Err(e) = crate::daemon::prepare_folder("the output folder", &config.output_dir)
        .map_err(|e| e.to_string())
        .and_then(|()| prepare_state(&config.state_dir))
    {
        eprintln!("liverec: {e}");
        return ExitCode::FAILURE;
    }
    let client = match crate::http::client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("liverec: cannot set up HTTP: {e}");
            return ExitCode::FAILURE;
        }
    };
    let platforms = Platforms::from_settings(&config.platforms, client.clone());
    let platform = platforms.get(room.target.platform);
    let Some(key) = resolve(platform.as_ref(), &room, wait).await else {
        return ExitCode::from(EXIT_NOT_LIVE);
    };
    if !first_check(platform.as_ref(), &spec(&key, &room), wait).await {
        return ExitCode::from(EXIT_NOT_LIVE);
    }
    let (events, mut events_rx) = EventTx::channel();
    let deps = RoomDeps {
        platform,
        client,
        output_dir: config.output_dir.clone(),
        lock_dir: config.lock_dir.clone(),
        min_free_space: Arc::new(AtomicU64::new(config.min_free_space)),
        slots: None,
        events,
        intents: None,
        // One room: it polls `poll_interval` after each answer, on no platform schedule.
        seat: None,
        // A one-off recording is this process's own, whatever [cluster] says.
        cluster: crate::cluster::Coordinator::local(),
    };
    let cancel = CancellationToken::new();
    let (handle, join) = room::spawn(key.clone(), room, deps, &cancel);
    let show = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let stop = crate::cli::stop_signal();
    tokio::pin!(stop);
    let mut exit: Option<(u8, Option<String>)> = None;
    while exit.is_none() {
        tokio::select! {
            Some(e) = events_rx.recv() => {
                tally.take(&e);
                if tally.live_ended {
                    exit = Some(if tally.files > 0 {
                        (0, None)
                    } else {
                        (EXIT_NOT_LIVE, Some("the live ended and nothing was recorded".into()))
                    });
                } else if let Some(why) = tally.unrecordable.clone().filter(|_| !wait) {
                    exit = Some((EXIT_NOT_LIVE, Some(format!("{key}: {why}"))));
                }
            }
            name = &mut stop => {
                progress::clear();
                tracing::info!("{name}: stopping; closing the open file");
                exit = Some((0, None));
            }
            _ = tick.tick() => {
                if let Some(why) = blocked(&handle, wait) {
                    exit = Some((EXIT_NOT_LIVE, Some(why)));
                } else if show {
                    progress::draw(&handle.snapshot(), started.elapsed(), tally.files);
                }
            }
        }
    }
    handle.stop();
    if tokio::time::timeout(config.shutdown_timeout, join)
        .await
        .is_err()
    {
        tracing::error!(
            "the recording did not stop within shutdown_timeout; its .part may need `liverec repair`"
        );
    }
    while let Some(e) = events_rx.try_recv() {
        tally.take(&e);
    }
    progress::clear();
    let (code, why) = exit.unwrap_or((0, None));
    if let Some(why) = why {
        eprintln!("liverec: {why}");
    }
    eprintln!(
        "liverec: {} file(s) in {}",
        tally.files,
        config.output_dir.display()
    );
    ExitCode::from(code)
}
