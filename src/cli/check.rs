//! `liverec check`: validate a config offline and show what the daemon would run.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::config::keys::{KEYS, PLATFORMS, Shown};
use crate::config::{Config, RoomConfig};
use crate::platform::Locator;
use crate::util::units::format_duration;

pub(crate) fn run(path: &Path) -> ExitCode {
    match super::load_or_report(path) {
        Ok(c) => {
            print!("{}", report(&c));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// How wide `check` lets a line of `key value` pairs grow before it starts the next.
const WIDTH: usize = 96;

/// `key value` pairs after `indent`, as many to a line as fit in [`WIDTH`].
fn pairs(out: &mut String, indent: &str, pairs: impl Iterator<Item = (&'static str, Shown)>) {
    let mut line = String::new();
    for (name, value) in pairs {
        let pair = format!("{name} {value}");
        if !line.is_empty() && indent.len() + line.len() + 2 + pair.len() > WIDTH {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(&pair);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

fn room_lines(out: &mut String, r: &RoomConfig) {
    let key = r.target.provisional_key();
    let note = match &r.target.locator {
        Locator::Id(_) => "",
        Locator::MaybeShort(_) => "  (a short id resolves to the room id at start-up)",
        Locator::Share(_) => "  (a share link resolves to the room at start-up)",
    };
    let _ = writeln!(
        out,
        "  [{}] {key}{}{}  {}{note}",
        r.index,
        r.name
            .as_deref()
            .map(|n| format!("  \"{n}\""))
            .unwrap_or_default(),
        match (r.enabled, r.record) {
            (false, _) => "  (disabled)",
            (true, false) => "  (notify only: record = false)",
            (true, true) => "",
        },
        crate::util::secret::redact_url(r.url()),
    );
    let shown = KEYS
        .iter()
        .filter_map(|k| k.show().room.map(|get| (k.name(), get(&r.settings))));
    pairs(out, "      ", shown);
}

/// The effective configuration, as `check` prints it: the daemon's keys, each platform's, then
/// each room's, in the order of the key table.
pub(crate) fn report(c: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: valid, {} room(s)",
        c.file.display(),
        c.rooms.len()
    );
    for k in KEYS {
        if let Some(get) = k.show().daemon {
            let _ = writeln!(out, "  {:<18}{}", k.path(), get(c));
        }
    }
    let _ = writeln!(out, "platforms:");
    for kind in PLATFORMS {
        let Some(p) = c.platforms.get(kind) else {
            continue;
        };
        let _ = writeln!(out, "  {kind}");
        let shown = KEYS
            .iter()
            .filter_map(|k| k.show().platform.map(|get| (k.name(), get(kind, p))));
        pairs(&mut out, "      ", shown);
    }
    let _ = writeln!(out, "rooms:");
    for r in &c.rooms {
        room_lines(&mut out, r);
    }
    if !c.hooks.is_empty() {
        let _ = writeln!(out, "hooks:");
        for h in &c.hooks {
            let events: Vec<_> = h.events.iter().map(|e| e.as_str()).collect();
            let args: Vec<_> = h.command.iter().map(|t| t.as_str()).collect();
            let _ = writeln!(
                out,
                "  {}: on {} run {:?}  timeout {}  retries {}  concurrency {}{}{}",
                h.name,
                events.join(","),
                args,
                format_duration(h.timeout),
                h.retries,
                h.concurrency,
                h.window
                    .map(|w| format!("  window {w}"))
                    .unwrap_or_default(),
                if h.rooms.is_empty() {
                    String::new()
                } else {
                    format!("  rooms {}", h.rooms.join(","))
                },
            );
        }
    }
    if !c.webhooks.is_empty() {
        let _ = writeln!(out, "webhooks:");
        for w in &c.webhooks {
            let events: Vec<_> = w.events.iter().map(|e| e.as_str()).collect();
            let _ = writeln!(
                out,
                "  {}: on {} POST {}  timeout {}  retries {}  secret {}{}{}",
                w.name,
                events.join(","),
                crate::util::secret::redact_endpoint(&w.url),
                format_duration(w.timeout),
                w.retries,
                if w.secret.is_some() { "set" } else { "none" },
                w.window
                    .map(|x| format!("  window {x}"))
                    .unwrap_or_default(),
                if w.rooms.is_empty() {
                    String::new()
                } else {
                    format!("  rooms {}", w.rooms.join(","))
                },
            );
        }
    }
    if !c.notify.is_empty() {
        let _ = writeln!(out, "notify:");
        for n in &c.notify {
            let events: Vec<_> = n.events.iter().map(|e| e.as_str()).collect();
            let _ = writeln!(
                out,
                "  {}: on {} send to {}  timeout {}  retries {}  message {}{}{}",
                n.name,
                events.join(","),
                n.endpoint.describe(),
                format_duration(n.timeout),
                n.retries,
                n.message
                    .as_ref()
                    .map_or("(each event's own)".to_string(), |t| format!(
                        "{:?}",
                        t.as_str()
                    )),
                n.window
                    .map(|x| format!("  window {x}"))
                    .unwrap_or_default(),
                if n.rooms.is_empty() {
                    String::new()
                } else {
                    format!("  rooms {}", n.rooms.join(","))
                },
            );
        }
    }
    if !c.warnings.is_empty() {
        let _ = writeln!(out, "warnings:");
        for w in &c.warnings {
            let _ = writeln!(out, "  {}: {}", w.key, w.reason);
        }
    }
    out
}
