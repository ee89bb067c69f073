//! `liverec check`: validate a config offline and show what the daemon would run.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{Config, Listen, RoomConfig};
use crate::platform::Locator;
use crate::util::units::{format_duration, format_size};

pub(crate) fn run(path: &Path) -> ExitCode {
    match super::load_or_report(path) {
        Ok(c) => {
            print!("{}", report(&c));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn room_lines(out: &mut String, r: &RoomConfig) {
    let s = &r.settings;
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
        if r.enabled { "" } else { "  (disabled)" },
        crate::util::secret::redact_url(r.url()),
    );
    let seg = |d: std::time::Duration| {
        if d.is_zero() {
            "off".to_string()
        } else {
            format_duration(d)
        }
    };
    let size = |n: u64| {
        if n == 0 {
            "off".to_string()
        } else {
            format_size(n)
        }
    };
    let _ = writeln!(
        out,
        "      poll_interval {}  offline_grace {}  stall_timeout {}  alert_after {}",
        format_duration(s.poll_interval),
        format_duration(s.offline_grace),
        format_duration(s.stall_timeout),
        format_duration(s.alert_after)
    );
    let _ = writeln!(
        out,
        "      segment_duration {}  segment_size {}  quality {}  formats {}  cookie {}",
        seg(s.segment_duration),
        size(s.segment_size),
        if s.quality.is_empty() {
            "source".into()
        } else {
            s.quality.join(",")
        },
        if s.formats.is_empty() {
            "from the URL".into()
        } else {
            s.formats.join(",")
        },
        if s.cookie.is_some() { "set" } else { "none" }
    );
    if !s.codecs.is_empty() {
        let _ = writeln!(out, "      codecs {}", s.codecs.join(","));
    }
    let _ = writeln!(out, "      filename {}", s.filename.as_str());
}

/// The effective configuration, as `check` prints it.
pub(crate) fn report(c: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: valid, {} room(s)",
        c.file.display(),
        c.rooms.len()
    );
    let _ = writeln!(out, "  output_dir        {}", c.output_dir.display());
    let _ = writeln!(out, "  state_dir         {}", c.state_dir.display());
    let _ = writeln!(out, "  lock_dir          {}", c.lock_dir.display());
    let _ = writeln!(out, "  min_free_space    {}", format_size(c.min_free_space));
    let _ = writeln!(
        out,
        "  max_recordings    {}",
        if c.max_recordings == 0 {
            "unlimited".to_string()
        } else {
            c.max_recordings.to_string()
        }
    );
    let _ = writeln!(
        out,
        "  shutdown_timeout  {}",
        format_duration(c.shutdown_timeout)
    );
    let listen = match &c.control.listen {
        Listen::Tcp(a) => a.to_string(),
        Listen::Unix(p) => format!("unix:{}", p.display()),
    };
    let _ = writeln!(
        out,
        "  control           {listen} ({})",
        if c.control.token.is_some() {
            "token set"
        } else {
            "no token"
        }
    );
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
    if !c.warnings.is_empty() {
        let _ = writeln!(out, "warnings:");
        for w in &c.warnings {
            let _ = writeln!(out, "  {}: {}", w.key, w.reason);
        }
    }
    out
}
