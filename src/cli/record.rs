//! `liverec record URL`: records one room or stream now, without a config file, with the
//! daemon's own room task and writer (same pipeline, guarantees and file names).
//!
//! The options become an in-memory config of one room, built as TOML and read by the same
//! `config` code as `recorder.toml` (so a bad `--segment-duration` gets the same words as a bad
//! `segment_duration`), over the platform sections and defaults of `-c FILE` when one is given.
//! Nothing but recordings is written under `-o DIR`: the room lock goes to a per-user folder
//! ([`state_folder`]); no hook journal or segment records are kept (there are no hooks), so a
//! `.part` left by `kill -9` is repaired with `liverec repair`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueHint;

use crate::config::{self, Config};

pub(super) mod progress;
mod session;

/// Exit status when the room is not live (and `--wait` was not given) or cannot be recorded.
const EXIT_NOT_LIVE: u8 = 1;

/// What the command line asked for.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Args {
    /// The room or stream: any form probe accepts (live.bilibili.com/…, b23.tv/…,
    /// live.douyin.com/…, v.douyin.com/…, a .flv or .m3u8 URL).
    #[arg(value_name = "URL", value_hint = ValueHint::Url)]
    pub(crate) url: String,
    /// Where the files go (the file name template makes folders below it).
    #[arg(short, long, default_value = ".", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub(crate) output: PathBuf,
    /// The quality wanted (as the quality key takes it: best, origin, 10000, 720p...).
    #[arg(long, value_name = "Q")]
    pub(crate) quality: Option<String>,
    /// The stream format wanted: flv, hls, hls-fmp4 or hls-ts (as the platform offers).
    #[arg(long, value_name = "F")]
    pub(crate) format: Option<String>,
    /// A file holding a login cookie (one Cookie header line).
    #[arg(long, value_name = "P", value_hint = ValueHint::FilePath)]
    pub(crate) cookie_file: Option<PathBuf>,
    /// A new file at the next keyframe after this much media ("30m"; "0s" for none).
    #[arg(long, value_name = "D")]
    pub(crate) segment_duration: Option<String>,
    /// A new file at the next keyframe before this size ("2GiB"; "0B" for none).
    #[arg(long, value_name = "S")]
    pub(crate) segment_size: Option<String>,
    /// Wait for the room to go live instead of exiting; then record that live.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Record no chat file beside the video (Bilibili records chat by default).
    #[arg(long)]
    pub(crate) no_danmaku: bool,
    /// Take platform settings (api_base, cookies, user_agent, quality) and top-level defaults
    /// (poll_interval, offline_grace, filename...) from this config; its rooms and hooks are
    /// not used.
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub(crate) config: Option<PathBuf>,
}

/// A flag the user can fix, and why it is wrong.
#[derive(Debug, PartialEq)]
pub(crate) struct BadArgs(pub(crate) Vec<String>);

/// Keys of the room the options set, and the option that sets each (for messages).
const OPTION_OF: [(&str, &str); 6] = [
    ("url", "URL"),
    ("quality", "--quality"),
    ("formats", "--format"),
    ("cookie_file", "--cookie-file"),
    ("segment_duration", "--segment-duration"),
    ("segment_size", "--segment-size"),
];

/// Top-level keys of a `-c` config that `record` replaces or does not use.
const NOT_TAKEN: [&str; 9] = [
    "rooms",
    "hooks",
    "webhooks",
    "notify",
    "control",
    "output_dir",
    "state_dir",
    "lock_dir",
    "max_recordings",
];

/// Where `record` keeps its room locks: `$XDG_RUNTIME_DIR/liverec-record` (per user, emptied at
/// logout), else `<temp dir>/liverec-record-<uid>`. Never under `-o DIR`.
pub(crate) fn state_folder() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("liverec-record"),
        // SAFETY: getuid has no preconditions and cannot fail.
        None => std::env::temp_dir().join(format!("liverec-record-{}", unsafe { libc::getuid() })),
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn text(s: impl Into<String>) -> toml::Value {
    toml::Value::String(s.into())
}

/// The config `record` runs: `base` (the `-c` file's tables, or none) without its rooms, hooks
/// and folders, plus one room made of `args`. `file` names the config in messages and anchors
/// its relative paths.
pub(crate) fn build(
    args: &Args,
    base: toml::Table,
    file: &Path,
    state: &Path,
) -> Result<Config, BadArgs> {
    let mut doc = base;
    for k in NOT_TAKEN {
        doc.remove(k);
    }
    let path_text = |p: &Path| text(absolute(p).display().to_string());
    doc.insert("output_dir".into(), path_text(&args.output));
    doc.insert("state_dir".into(), path_text(state));
    doc.insert("lock_dir".into(), path_text(&state.join("locks")));
    let mut room = toml::Table::new();
    room.insert("url".into(), text(args.url.trim()));
    if let Some(q) = &args.quality {
        room.insert("quality".into(), text(q.clone()));
    }
    if let Some(f) = &args.format {
        room.insert("formats".into(), text(f.clone()));
    }
    if let Some(c) = &args.cookie_file {
        room.insert("cookie_file".into(), path_text(c));
    }
    if let Some(d) = &args.segment_duration {
        room.insert("segment_duration".into(), text(d.clone()));
    }
    if let Some(s) = &args.segment_size {
        room.insert("segment_size".into(), text(s.clone()));
    }
    if args.no_danmaku {
        room.insert("danmaku".into(), toml::Value::Boolean(false));
    }
    doc.insert(
        "rooms".into(),
        toml::Value::Array(vec![toml::Value::Table(room)]),
    );
    let rendered = toml::to_string(&doc)
        .map_err(|e| BadArgs(vec![format!("cannot build the config: {e}")]))?;
    config::parse(&rendered, file).map_err(|e| {
        BadArgs(
            e.problems
                .iter()
                .map(|p| {
                    let key = p.key.strip_prefix("rooms[0].").and_then(|k| {
                        OPTION_OF
                            .iter()
                            .find(|(name, _)| *name == k)
                            .map(|(_, o)| *o)
                    });
                    match key {
                        Some(option) => format!("{option}: {}", p.reason),
                        None => e.line(p),
                    }
                })
                .collect(),
        )
    })
}

/// The tables of the `-c` file (already found valid by `config::load`), or none.
fn base_of(path: Option<&Path>) -> Result<(toml::Table, PathBuf), ExitCode> {
    let Some(path) = path else {
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        return Ok((toml::Table::new(), here.join("(command line)")));
    };
    super::load_or_report(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("liverec: cannot read {}: {e}", path.display());
        ExitCode::from(super::EXIT_BAD_CONFIG)
    })?;
    let table = text.parse::<toml::Table>().map_err(|e| {
        eprintln!("liverec: {}: {e}", path.display());
        ExitCode::from(super::EXIT_BAD_CONFIG)
    })?;
    Ok((table, path.to_path_buf()))
}

pub(crate) fn run(args: Args) -> ExitCode {
    let (base, file) = match base_of(args.config.as_deref()) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let config = match build(&args, base, &file, &state_folder()) {
        Ok(c) => c,
        Err(BadArgs(lines)) => {
            for l in lines {
                eprintln!("liverec: {l}");
            }
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    for w in &config.warnings {
        tracing::warn!("{}: {}", w.key, w.reason);
    }
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("liverec: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(session::record(config, args.wait));
    // A writer thread stuck in a hung filesystem must not hold the exit forever.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

#[cfg(test)]
mod tests;
