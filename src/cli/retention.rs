//! `liverec retention`: asks the running daemon what retention deletes now (`--dry-run`: what
//! a pass would delete and why, and what it keeps because hooks are not done), runs a pass now
//! and lists what it deleted, or (`--release FILE`) lets go a segment a hook gave up on.
//! Through the control API, like `status`: the daemon holds the hooks' state that decides, so
//! the list is the one a pass at that moment acts on.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{Config, Listen};
use crate::control::client;
use crate::retention::{Entry, Plan, Report};
use crate::util::units::{format_duration, format_size};

/// A pass deletes one file after another: give it time (the daemon goes on if this gives up).
const RUN_LIMIT: Duration = Duration::from_secs(600);

pub(crate) fn run(path: &Path, dry_run: bool, release: &[PathBuf], json: bool) -> ExitCode {
    let (config, rt) = match super::config_and_runtime(path) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let listen = client::address(&config);
    if !release.is_empty() {
        return rt.block_on(release_all(&listen, &config, release));
    }
    let (method, endpoint) = if dry_run {
        ("GET", "/api/retention")
    } else {
        ("POST", "/api/retention/run")
    };
    let answer = rt.block_on(client::request_with(
        &listen,
        config.control.token.as_ref(),
        method,
        endpoint,
        String::new(),
        RUN_LIMIT,
    ));
    let body = match answer {
        Ok((200, body)) => body,
        Ok((code, body)) => {
            eprintln!(
                "liverec: the daemon at {listen} answered {code}: {}",
                body.trim()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("liverec: {e}");
            eprintln!("(retention asks the running daemon; is it running with this config?)");
            return ExitCode::FAILURE;
        }
    };
    if json {
        println!("{body}");
        return ExitCode::SUCCESS;
    }
    let text = if dry_run {
        serde_json::from_str::<Plan>(&body).map(|p| plan_text(&p, true))
    } else {
        serde_json::from_str::<Report>(&body).map(|r| report_text(&r))
    };
    match text {
        Ok(t) => {
            print!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("liverec: unexpected answer from the daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Asks the daemon to release each file; 1 when any could not be.
async fn release_all(listen: &Listen, config: &Config, files: &[PathBuf]) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for f in files {
        let path = std::path::absolute(f).unwrap_or_else(|_| f.clone());
        let body = serde_json::json!({ "path": path }).to_string();
        let token = config.control.token.as_ref();
        let answer = client::request_with(
            listen,
            token,
            "POST",
            "/api/retention/release",
            body,
            Duration::from_secs(10),
        )
        .await;
        match answer {
            Ok((200, _)) => println!("released {}", path.display()),
            Ok((_, body)) => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let why = v["error"].as_str().unwrap_or(body.trim());
                eprintln!("liverec: {}: {why}", path.display());
                code = ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("liverec: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    code
}

fn rows(out: &mut String, entries: &[Entry], held: bool) {
    for e in entries {
        let room = match (e.name.as_str(), e.room.as_str()) {
            (_, "") => "-".to_string(),
            ("", key) => key.to_string(),
            (name, key) => format!("{name} ({key})"),
        };
        let _ = write!(
            out,
            "  {:<5}  {:>8}  {:>9}  {room}  {}",
            e.reason.as_str(),
            format_duration(Duration::from_secs(e.age_s)),
            format_size(e.bytes),
            e.path.display()
        );
        if held {
            let _ = write!(out, "  [{}]", e.held.as_deref().unwrap_or("hooks not done"));
        }
        out.push('\n');
    }
}

fn total(entries: &[Entry]) -> String {
    format_size(entries.iter().map(|e| e.bytes).sum())
}

/// The plan as `--dry-run` prints it (`would`: in the conditional).
pub(crate) fn plan_text(p: &Plan, would: bool) -> String {
    let mut out = String::new();
    if !p.enabled {
        out.push_str("retention is off (no [retention] in the config): nothing is deleted\n");
        return out;
    }
    let _ = write!(out, "free space {}", format_size(p.free_bytes));
    if let Some(t) = p.target_bytes {
        let _ = write!(out, " (min_free_space_target {})", format_size(t));
    }
    out.push('\n');
    if would {
        let _ = writeln!(
            out,
            "would delete {} segment(s), {} (reason, age, size, room, path):",
            p.delete.len(),
            total(&p.delete)
        );
        rows(&mut out, &p.delete, false);
    }
    let _ = writeln!(
        out,
        "kept because their hooks are not done: {} segment(s), {}",
        p.held.len(),
        total(&p.held)
    );
    rows(&mut out, &p.held, true);
    out
}

fn report_text(r: &Report) -> String {
    let mut out = plan_text(&r.plan, false);
    let _ = writeln!(
        out,
        "deleted {} segment(s), {}:",
        r.deleted.len(),
        total(&r.deleted)
    );
    rows(&mut out, &r.deleted, false);
    for (e, why) in &r.failed {
        let _ = writeln!(out, "  not deleted: {}: {why}", e.path.display());
    }
    out
}
