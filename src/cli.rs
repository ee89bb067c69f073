//! The command line: `run`, `record`, `check`, `probe`, `status`, `retention`, `repair`, and the
//! generated `completions` and `man` (help, man page and completions come from the same
//! definitions).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueHint};
use tokio_util::sync::CancellationToken;

use crate::config;

mod check;
mod cluster;
mod manpage;
mod probe;
mod record;
mod repair;
mod retention;
mod status;

#[derive(Debug, Parser)]
#[command(
    name = "liverec",
    version = crate::build_info::LONG_VERSION,
    subcommand_value_name = "COMMAND",
    about = "Records live streams: one recorder per room, crash-safe files, hooks that are never lost.",
    long_about = "Records live streams: one recorder per room, crash-safe files, hooks that are never lost.

liverec watches Bilibili and Douyin rooms and plain HTTP-FLV/HLS stream URLs, records every live into files that each play on their own, and hands finished files to your upload tools through hooks that are never lost. One daemon (liverec run) records every room of one config file; liverec record records one stream now, without a config file; the other commands check that file, look at a room, ask the running daemon how it is doing, or repair a file left by a crash."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the recording daemon.
    Run {
        /// The config file.
        #[arg(short, long, default_value = "recorder.toml", value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: PathBuf,
    },
    /// Record one room or stream now, without a config file, until its live ends or Ctrl-C.
    ///
    /// The same pipeline, files and names as the daemon. Finished video files are printed on
    /// stdout, one path a line (a Bilibili room's chat file sits beside each, unless
    /// --no-danmaku); a progress line shows on a terminal. Exit status: 0 when the live ended
    /// (or on Ctrl-C/SIGTERM) with every file finished, 1 when the room is not live (without
    /// --wait) or cannot be recorded, 2 on bad arguments.
    Record(record::Args),
    /// Validate a config file without touching the network; print the effective settings.
    Check {
        /// The config file.
        #[arg(short, long, default_value = "recorder.toml", value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: PathBuf,
    },
    /// Ask the running daemon how its rooms are doing (state, since, file, bytes, rate, error).
    Status {
        /// The config file.
        #[arg(short, long, default_value = "recorder.toml", value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: PathBuf,
        /// Print the daemon's JSON status instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running daemon which finished segments retention deletes, or run a pass now.
    ///
    /// With --dry-run: what a pass would delete now and why (reason, age, size, room, path), and
    /// what it keeps because hooks are not done. Without: a pass now, which deletes exactly what
    /// its plan lists at that moment, and what it deleted. See [retention] in the config.
    Retention {
        /// The config file.
        #[arg(short, long, default_value = "recorder.toml", value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: PathBuf,
        /// List what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Let these segments go although a hook gave up on them (their other hooks must
        /// still be done); delete nothing now.
        #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "dry_run", value_hint = ValueHint::FilePath)]
        release: Vec<PathBuf>,
        /// Print the daemon's JSON answer instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Several machines sharing the rooms through etcd (`[cluster] backend = "etcd"`).
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// Repair files left by a crash: cut a torn last tag, rebuild the metadata, rename a .part.
    Repair {
        /// The files: .part files left by a crash, or any FLV file.
        #[arg(required = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
        files: Vec<PathBuf>,
    },
    /// Resolve a room URL and print its key, live status, title, streamer and stream URLs.
    Probe {
        /// The room: live.bilibili.com/…, b23.tv/…, live.douyin.com/…, v.douyin.com/…, or a
        /// .flv/.m3u8 URL.
        #[arg(value_name = "URL", value_hint = ValueHint::Url)]
        url: String,
        /// Use this config's platform settings (api_base, cookies, quality, formats).
        #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: Option<PathBuf>,
        /// Print stream URLs whole (their query holds access tokens).
        #[arg(long)]
        show_urls: bool,
    },
    /// Print a shell completion script.
    ///
    /// For example: liverec completions bash > ~/.local/share/bash-completion/completions/liverec
    /// (the Debian package installs them for bash, zsh and fish).
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print this manual page as roff.
    ///
    /// The Debian package installs it as liverec(1); from a source build, read it with
    /// liverec man | man -l -
    Man,
}

#[derive(Debug, Subcommand)]
enum ClusterAction {
    /// Print the cluster as etcd holds it: members and weights, who records which room (and
    /// the claim's fence), the platforms' shared pauses.
    Status {
        /// The config file (its [cluster] says where etcd is).
        #[arg(short, long, default_value = "recorder.toml", value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Ask the local daemon to take no new live and exit once its open sessions end (before an
    /// upgrade: the other instances take its rooms).
    Drain {
        /// The config file of the daemon.
        #[arg(short, long, default_value = "recorder.toml", value_name = "FILE", value_hint = ValueHint::FilePath)]
        config: PathBuf,
    },
}

/// Exit code for a config that does not validate.
pub(crate) const EXIT_BAD_CONFIG: u8 = 2;

/// The whole command line, as `--help`, the man page and the completions describe it.
pub(crate) fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated text goes to stdout before any logging is set up: nothing else may print.
    match cli.command {
        Command::Completions { shell } => return completions(shell),
        Command::Man => return man(),
        _ => {}
    }
    init_logging();
    install_panic_hook();
    match cli.command {
        Command::Run { config } => run(config),
        Command::Record(args) => record::run(args),
        Command::Check { config } => check::run(&config),
        Command::Repair { files } => repair::run(&files),
        Command::Status { config, json } => status::run(&config, json),
        Command::Retention {
            config,
            dry_run,
            release,
            json,
        } => retention::run(&config, dry_run, &release, json),
        Command::Cluster { action } => match action {
            ClusterAction::Status { config, json } => cluster::status(&config, json),
            ClusterAction::Drain { config } => cluster::drain(&config),
        },
        Command::Probe {
            url,
            config,
            show_urls,
        } => probe::run(&url, config.as_deref(), show_urls),
        Command::Completions { .. } | Command::Man => ExitCode::SUCCESS,
    }
}

fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "liverec", &mut script);
    print_bytes(&script)
}

fn man() -> ExitCode {
    match manpage::render(command()) {
        Ok(page) => print_bytes(&page),
        Err(e) => {
            eprintln!("liverec: cannot render the man page: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes generated text to stdout; a closed pipe (`liverec man | head`) is a failure, not a
/// panic.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("liverec: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// tracing to stderr. `RUST_LOG` takes levels per target (`info`, `info,liverec=debug`); the
/// `Targets` filter parses that syntax without pulling a regex engine into the binary.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| {
            v.parse::<Targets>()
                .map_err(|e| eprintln!("liverec: ignoring RUST_LOG={v:?}: {e}"))
                .ok()
        })
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(record::progress::log_writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .init();
}

/// Panics go to the log as one line with their location; the room task that panicked is
/// restarted by its runner, and the daemon keeps going.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!("internal error (panic) at {at}: {msg}");
    }));
}

fn load_or_report(path: &std::path::Path) -> Result<config::Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("{e}");
        eprintln!(
            "liverec: {} has {} problem(s)",
            path.display(),
            e.problems.len()
        );
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

/// What a command that talks to a daemon or etcd starts with: the config and a runtime, or
/// the exit status that says why not (the reason already printed).
fn config_and_runtime(
    path: &std::path::Path,
) -> Result<(config::Config, tokio::runtime::Runtime), ExitCode> {
    let config = load_or_report(path)?;
    let rt = runtime().map_err(|e| {
        eprintln!("liverec: {e}");
        ExitCode::FAILURE
    })?;
    Ok((config, rt))
}

/// The async runtime. It only moves network bytes (parsing and writing run on each session's
/// own writer thread, file syncs on the blocking pool), and one worker does that for many
/// rooms with fewer thread hand-offs per byte; `LIVEREC_WORKERS` raises it.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let workers = std::env::var("LIVEREC_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .thread_name("liverec")
        .build()
}

fn run(path: PathBuf) -> ExitCode {
    let config = match load_or_report(&path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    for w in &config.warnings {
        tracing::warn!("{}: {}: {}", config.file.display(), w.key, w.reason);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("liverec: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(watch_signals(shutdown.clone(), cmd_tx.clone()));
        crate::daemon::run(config, shutdown, cmd_tx, cmd_rx).await
    });
    // A writer thread stuck in a hung filesystem must not hold the exit forever (the signal
    // handlers are gone by now): its `.part` is repaired at the next start.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves at the first SIGINT or SIGTERM, with its name; a second one exits at once.
pub(crate) async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("stopped again: exiting now without waiting");
        std::process::exit(1);
    });
    name
}

/// SIGTERM and SIGINT stop gracefully; a second one exits at once. SIGHUP reloads the config
/// (and must never kill the daemon, its default action).
async fn watch_signals(
    shutdown: CancellationToken,
    cmds: tokio::sync::mpsc::Sender<crate::control::DaemonCmd>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                let _ = cmds.try_send(crate::control::DaemonCmd::Reload { source: "SIGHUP", reply: None });
                continue;
            }
        };
        if shutdown.is_cancelled() {
            tracing::warn!("{name} again: exiting now without waiting");
            std::process::exit(1);
        }
        tracing::info!("{name}: stopping");
        shutdown.cancel();
    }
}
