//! `liverec status`: one line per room, readable at a glance; `--json` for scripts.

use std::path::Path;
use std::process::ExitCode;

use crate::control::{Status, client};
use crate::room::{RoomSnapshot, RoomState};
use crate::util::units::{format_duration, format_size};

pub(crate) fn run(path: &Path, json: bool) -> ExitCode {
    let (config, rt) = match super::config_and_runtime(path) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let listen = client::address(&config);
    let answer = rt.block_on(client::request(
        &listen,
        config.control.token.as_ref(),
        "GET",
        "/api/status",
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
            eprintln!(
                "(is the daemon running with this config? control.listen is {})",
                config.control.listen
            );
            return ExitCode::FAILURE;
        }
    };
    if json {
        println!("{body}");
        return ExitCode::SUCCESS;
    }
    match serde_json::from_str::<Status>(&body) {
        Ok(status) => {
            print!("{}", table(&status));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("liverec: unexpected answer from the daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ago(t: chrono::DateTime<chrono::FixedOffset>) -> String {
    let secs = (chrono::Local::now().fixed_offset() - t)
        .num_seconds()
        .max(0) as u64;
    format_duration(std::time::Duration::from_secs(secs))
}

fn until(t: chrono::DateTime<chrono::FixedOffset>) -> String {
    let secs = (t - chrono::Local::now().fixed_offset())
        .num_seconds()
        .max(0) as u64;
    format_duration(std::time::Duration::from_secs(secs))
}

/// The status as a table.
pub(crate) fn table(status: &Status) -> String {
    let rooms: &[RoomSnapshot] = &status.rooms;
    let mut rows = vec![[
        "ROOM".to_string(),
        "STATE".into(),
        "SINCE".into(),
        "FILE".into(),
        "BYTES".into(),
        "RATE".into(),
        "CHAT".into(),
        "GAPS".into(),
        "LAST ERROR / DETAIL".into(),
    ]];
    for r in rooms {
        let name = if r.name.is_empty() {
            r.key.clone()
        } else {
            format!("{} ({})", r.name, r.key)
        };
        let file = r
            .file
            .as_ref()
            .and_then(|f| f.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "-".into());
        let rate = if r.bitrate_kbps > 0.0 {
            format!("{:.0} kb/s", r.bitrate_kbps)
        } else {
            "-".into()
        };
        // A room that cannot be recorded shows why, not the error that preceded it.
        let note = match r.state {
            RoomState::Unrecordable | RoomState::Skipped | RoomState::Outside => {
                r.detail.clone().or_else(|| r.last_error.clone())
            }
            _ => r.last_error.clone().or_else(|| r.detail.clone()),
        }
        .or_else(|| {
            r.degraded
                .as_ref()
                .map(|d| format!("degraded: {}", d.reason))
        })
        .unwrap_or_else(|| "-".into());
        // HLS segments lost since the daemon started (FLV rooms never have any).
        let gaps = match r.gaps_total {
            0 => "-".to_string(),
            n => n.to_string(),
        };
        rows.push([
            name,
            r.state.as_str().into(),
            ago(r.since),
            file,
            format_size(r.bytes),
            rate,
            match r.chat {
                crate::chat::ChatState::Off => "-".into(),
                s => s.as_str().into(),
            },
            gaps,
            note,
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 8 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for h in &status.hooks {
        if h.parked {
            out.push_str(&format!(
                "parked {}: {} pending (no hook or webhook has this name; they run when one does again)\n",
                h.name, h.pending
            ));
            continue;
        }
        out.push_str(&format!(
            "{} {}: {} done, {} pending{}, {} failed attempts, {} given up\n",
            h.kind.as_str(),
            h.name,
            h.succeeded,
            h.pending,
            if h.waiting_window > 0 {
                format!(" ({} waiting for the window)", h.waiting_window)
            } else {
                String::new()
            },
            h.attempts_failed,
            h.gave_up
        ));
    }
    let r = &status.retention;
    if r.enabled {
        out.push_str(&format!(
            "retention: {} deleted ({}), {} held by hooks, next pass {}\n",
            r.deleted_files,
            format_size(r.deleted_bytes),
            r.held_by_hooks,
            r.next_pass
                .map(|t| format!("in {}", until(t)))
                .unwrap_or_else(|| "-".into())
        ));
    }
    let build = if status.commit.is_empty() {
        String::new()
    } else {
        format!(" ({})", status.commit)
    };
    // A platform whose login cookie is answered as logged out (`login_lost`).
    let logged_out: String = status
        .logins
        .iter()
        .filter(|(_, l)| **l == Some(false))
        .map(|(p, _)| format!(", {p} cookie LOGGED OUT"))
        .collect();
    out.push_str(&format!(
        "liverec {}{build}, pid {}, up {}, {} free{}{logged_out}\n",
        status.version,
        status.pid,
        ago(status.started),
        format_size(status.disk_free_bytes),
        if status.disk_low {
            " (LOW: not recording)"
        } else {
            ""
        }
    ));
    out
}

#[cfg(test)]
mod tests;
