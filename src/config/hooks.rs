//! `[[hooks]]` and `[[webhooks]]`: what they run, on which events, when, and for which rooms.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys;
use super::raw::{Field, Report, Section};
use super::{HOOK_FIELDS, TIME_FIELDS};
use crate::event::EventType;
use crate::template::Template;
use crate::util::secret::{Secret, redact_url};

/// A daily local-time window such as `02:00-07:00`; it may cross midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Minutes after midnight.
    pub(crate) start: u16,
    pub(crate) end: u16,
}

impl Window {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a time window (write \"02:00-07:00\")");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 && t.trim().len() == 5).then_some(h * 60 + m)
        };
        let (start, end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if start == end {
            return Err(format!("{s:?} is an empty window (start equals end)"));
        }
        Ok(Self { start, end })
    }

    pub(crate) fn contains(&self, minute_of_day: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start || minute_of_day < self.end
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HookConfig {
    pub(crate) name: String,
    pub(crate) events: Vec<EventType>,
    pub(crate) command: Vec<Template>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) window: Option<Window>,
    pub(crate) concurrency: usize,
    pub(crate) rooms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WebhookConfig {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) events: Vec<EventType>,
    pub(crate) secret: Option<Secret>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) window: Option<Window>,
    pub(crate) rooms: Vec<String>,
}

pub(super) fn read_events(
    field: Option<Field<'_, '_>>,
    path: &str,
    span: &std::ops::Range<usize>,
    rep: &mut Report<'_>,
) -> Vec<EventType> {
    let Some(f) = field else {
        rep.error(
            &format!("{path}.events"),
            span,
            "missing; list the events to deliver, e.g. [\"segment_complete\"]",
        );
        return Vec::new();
    };
    let Some(names) = f.strings(rep) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for n in names {
        match EventType::parse(&n) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            None => {
                let known: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                f.fail(
                    rep,
                    format!("unknown event {n:?} (known: {})", known.join(", ")),
                );
            }
        }
    }
    if out.is_empty() && !rep.problems.iter().any(|p| p.key == f.path) {
        f.fail(rep, "lists no events");
    }
    out
}

pub(super) fn read_window(field: Option<Field<'_, '_>>, rep: &mut Report<'_>) -> Option<Window> {
    let f = field?;
    Window::parse(f.str(rep)?).map_err(|e| f.fail(rep, e)).ok()
}

/// Where an executable named in a hook would be found, if anywhere.
fn find_executable(program: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return match p.metadata() {
            Err(e) => Err(format!("{program:?} cannot be run: {e}")),
            Ok(_) if is_exec(&p) => Ok(p),
            Ok(_) => Err(format!("{program:?} is not an executable file")),
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| is_exec(p))
        .ok_or_else(|| format!("{program:?} was not found in PATH"))
}

pub(super) fn read_hook(mut sec: Section<'_, '_>, rep: &mut Report<'_>) -> Option<HookConfig> {
    let (path, span) = (sec.path.clone(), sec.span.clone());
    let name = sec.take(keys::HOOK_NAME.name).and_then(|f| f.string(rep));
    let events = read_events(sec.take(keys::HOOK_EVENTS.name), &path, &span, rep);
    let command = match sec.take(keys::HOOK_COMMAND.name) {
        None => {
            rep.error(
                &format!("{path}.command"),
                &span,
                "missing; give the program and its arguments as a list",
            );
            None
        }
        Some(f) => {
            if matches!(f.value.get_ref(), toml::de::DeValue::String(_)) {
                f.fail(rep, "must be a list of arguments such as [\"rclone\", \"move\", \"{path}\", \"remote:\"]; hooks run without a shell");
                None
            } else {
                f.strings(rep).and_then(|args| {
                    if args.is_empty() {
                        f.fail(rep, "must name a program");
                        return None;
                    }
                    if let Err(e) = find_executable(&args[0]) {
                        f.fail(rep, e);
                    }
                    let mut out = Vec::new();
                    for (n, a) in args.iter().enumerate() {
                        match Template::parse(a, HOOK_FIELDS, TIME_FIELDS) {
                            Ok(t) => out.push(t),
                            Err(e) => rep.error(&format!("{}[{n}]", f.path), &f.span(), e),
                        }
                    }
                    (out.len() == args.len()).then_some(out)
                })
            }
        }
    };
    let timeout = keys::HOOK_TIMEOUT.get(&mut sec, rep);
    let retries = keys::HOOK_RETRIES.get(&mut sec, rep) as u32;
    let window = read_window(sec.take(keys::HOOK_WINDOW.name), rep);
    let concurrency = keys::HOOK_CONCURRENCY.get(&mut sec, rep) as usize;
    let rooms = sec
        .take(keys::HOOK_ROOMS.name)
        .and_then(|f| f.strings(rep))
        .unwrap_or_default();
    sec.finish(rep);
    let name = name.filter(|n| !n.trim().is_empty()).or_else(|| {
        rep.error(
            &format!("{path}.name"),
            &span,
            "missing; every hook needs a unique name (it keys the delivery journal)",
        );
        None
    })?;
    Some(HookConfig {
        name,
        events,
        command: command?,
        timeout,
        retries,
        window,
        concurrency: concurrency.max(1),
        rooms,
    })
}

pub(super) fn read_webhook(
    mut sec: Section<'_, '_>,
    n: usize,
    rep: &mut Report<'_>,
) -> Option<WebhookConfig> {
    let (path, span) = (sec.path.clone(), sec.span.clone());
    let name = sec
        .take(keys::WEBHOOK_NAME.name)
        .and_then(|f| f.string(rep))
        .unwrap_or_else(|| format!("webhook-{n}"));
    let url = match sec.take(keys::WEBHOOK_URL.name) {
        None => {
            rep.error(&format!("{path}.url"), &span, "missing");
            None
        }
        Some(f) => f.string(rep).and_then(|s| match url::Url::parse(&s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(s),
            Ok(u) => {
                f.fail(
                    rep,
                    format!(
                        "{:?} must be an http or https URL with a host (scheme {:?})",
                        redact_url(&s),
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                f.fail(rep, format!("{:?} is not a URL ({e})", redact_url(&s)));
                None
            }
        }),
    };
    let events = read_events(sec.take(keys::WEBHOOK_EVENTS.name), &path, &span, rep);
    let secret = sec
        .take(keys::WEBHOOK_SECRET.name)
        .and_then(|f| f.string(rep))
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let timeout = keys::WEBHOOK_TIMEOUT.get(&mut sec, rep);
    let retries = keys::WEBHOOK_RETRIES.get(&mut sec, rep) as u32;
    let window = read_window(sec.take(keys::WEBHOOK_WINDOW.name), rep);
    let rooms = sec
        .take(keys::WEBHOOK_ROOMS.name)
        .and_then(|f| f.strings(rep))
        .unwrap_or_default();
    sec.finish(rep);
    Some(WebhookConfig {
        name,
        url: url?,
        events,
        secret,
        timeout,
        retries,
        window,
        rooms,
    })
}
