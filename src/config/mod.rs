//! The config file (`recorder.toml`): read in two phases. [`raw`] walks the TOML tree and turns
//! every key into a typed value, collecting all problems with their key paths; this module then
//! validates the values together, applies defaults, and merges per-room overrides into each
//! room's effective [`RoomSettings`]. Nothing here touches the network.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

mod raw;
mod secret;
pub mod units;

pub use raw::Problem;
pub use secret::{Secret, redact_url};

use crate::event::EventType;
use crate::platform::{self, PlatformKind, RoomTarget};
use crate::template::Template;
use raw::{Field, Report, Section};

/// Placeholders a file name template may use.
pub const FILENAME_FIELDS: &[&str] = &[
    "platform", "id", "key", "name", "streamer", "title", "session", "index",
];
/// Placeholders taking a chrono format, in file names and hook arguments.
pub const TIME_FIELDS: &[&str] = &["start", "session_start"];
/// Placeholders a hook argument may use.
pub const HOOK_FIELDS: &[&str] = &[
    "path",
    "index",
    "bytes",
    "duration_s",
    "type",
    "key",
    "name",
    "streamer",
    "title",
    "session",
    "platform",
    "id",
    "url",
];

pub const DEFAULT_FILENAME: &str =
    "{platform}/{streamer}/{start:%Y-%m-%d}/{streamer}_{start:%Y%m%d-%H%M%S}_{title}";

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub output_dir: PathBuf,
    pub state_dir: PathBuf,
    pub lock_dir: PathBuf,
    pub min_free_space: u64,
    /// 0 means unlimited.
    pub max_recordings: usize,
    pub shutdown_timeout: Duration,
    pub control: ControlConfig,
    pub platforms: PlatformsConfig,
    pub rooms: Vec<RoomConfig>,
    /// Entries naming a room listed earlier; reported and ignored.
    pub duplicates: Vec<Duplicate>,
    pub hooks: Vec<HookConfig>,
    pub webhooks: Vec<WebhookConfig>,
    /// Things that are allowed but probably not meant.
    pub warnings: Vec<Problem>,
}

/// Per-room effective settings: defaults, then top-level keys, then the room's own keys.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSettings {
    pub poll_interval: Duration,
    pub offline_grace: Duration,
    pub stall_timeout: Duration,
    pub alert_after: Duration,
    /// Zero means no time split.
    pub segment_duration: Duration,
    /// Zero means no size split.
    pub segment_size: u64,
    pub filename: Template,
    pub quality: Vec<String>,
    pub formats: Vec<String>,
    pub cookie: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Position in `[[rooms]]`, for messages (`rooms[2]`).
    pub index: usize,
    pub target: RoomTarget,
    pub name: Option<String>,
    pub enabled: bool,
    pub settings: RoomSettings,
}

impl RoomConfig {
    pub fn url(&self) -> &str {
        &self.target.url
    }

    /// Same room with the same settings (its position in the file does not matter).
    pub fn same_as(&self, other: &RoomConfig) -> bool {
        self.target == other.target
            && self.name == other.name
            && self.enabled == other.enabled
            && self.settings == other.settings
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    pub index: usize,
    pub url: String,
    pub key: String,
    pub first_index: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ControlConfig {
    pub listen: Listen,
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformConfig {
    pub api_base: Option<String>,
    pub cookie: Option<Secret>,
    pub quality: Option<Vec<String>>,
    pub formats: Option<Vec<String>>,
}

impl PlatformConfig {
    /// The configured API base, or the platform's public one.
    pub fn api_base_or(&self, default: &str) -> String {
        self.api_base
            .clone()
            .unwrap_or_else(|| default.to_string())
            .trim_end_matches('/')
            .to_string()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformsConfig {
    pub bilibili: PlatformConfig,
    pub douyin: PlatformConfig,
}

impl PlatformsConfig {
    pub fn get(&self, kind: PlatformKind) -> Option<&PlatformConfig> {
        match kind {
            PlatformKind::Bilibili => Some(&self.bilibili),
            PlatformKind::Douyin => Some(&self.douyin),
            PlatformKind::Direct => None,
        }
    }
}

/// A daily local-time window such as `02:00-07:00`; it may cross midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minutes after midnight.
    pub start: u16,
    pub end: u16,
}

impl Window {
    pub fn parse(s: &str) -> Result<Self, String> {
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

    pub fn contains(&self, minute_of_day: u16) -> bool {
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
pub struct HookConfig {
    pub name: String,
    pub events: Vec<EventType>,
    pub command: Vec<Template>,
    pub timeout: Duration,
    pub retries: u32,
    pub window: Option<Window>,
    pub concurrency: usize,
    pub rooms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub name: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub secret: Option<Secret>,
    pub timeout: Duration,
    pub retries: u32,
    pub window: Option<Window>,
    pub rooms: Vec<String>,
}

/// Every problem found in a config file. Displayed one per line as `file:line: key: reason`.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, p) in self.problems.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let Some(line) = p.line {
                write!(f, ":{line}")?;
            }
            if !p.key.is_empty() {
                write!(f, ": {}", p.key)?;
            }
            write!(f, ": {}", p.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        file: path.to_path_buf(),
        problems: vec![Problem {
            key: String::new(),
            line: None,
            reason: format!("cannot read the config file: {e}"),
        }],
    })?;
    parse(&text, path)
}

/// Validates config text; `path` names the file in messages and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let mut rep = Report::new(text);
    let config = raw::parse_document(text, &mut rep).and_then(|doc| {
        let top = Section::new(String::new(), doc.span(), doc.get_ref());
        build(top, path, &mut rep)
    });
    match config {
        Some(c) if rep.problems.is_empty() => Ok(c),
        _ => Err(ConfigErrors {
            file: path.to_path_buf(),
            problems: rep.problems,
        }),
    }
}

/// Settings that may appear at the top level and in each room.
#[derive(Default)]
struct Overrides {
    poll_interval: Option<Duration>,
    offline_grace: Option<Duration>,
    stall_timeout: Option<Duration>,
    alert_after: Option<Duration>,
    segment_duration: Option<Duration>,
    segment_size: Option<u64>,
    filename: Option<Template>,
}

fn read_overrides(sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> Overrides {
    let at_least = |field: Option<Field<'_, '_>>, rep: &mut Report<'_>, min: Duration| {
        let field = field?;
        let d = field.duration(rep)?;
        if d < min {
            field.fail(
                rep,
                format!("must be at least {}", units::format_duration(min)),
            );
            return None;
        }
        Some(d)
    };
    let second = Duration::from_secs(1);
    let poll_interval = at_least(sec.take("poll_interval"), rep, second);
    let offline_grace = at_least(sec.take("offline_grace"), rep, Duration::ZERO);
    let stall_timeout = at_least(sec.take("stall_timeout"), rep, second);
    let alert_after = at_least(sec.take("alert_after"), rep, second);
    let segment_duration = sec.take("segment_duration").and_then(|f| {
        let d = f.duration(rep)?;
        if !d.is_zero() && d < second {
            f.fail(rep, "must be \"0s\" (no time split) or at least 1s");
            return None;
        }
        Some(d)
    });
    let segment_size = sec.take("segment_size").and_then(|f| {
        let n = f.size(rep)?;
        if n != 0 && n < 1 << 20 {
            f.fail(rep, "must be \"0B\" (no size split) or at least 1MiB");
            return None;
        }
        Some(n)
    });
    let filename = sec.take("filename").and_then(|f| {
        let text = f.str(rep)?;
        filename_template(text).map_err(|e| f.fail(rep, e)).ok()
    });
    Overrides {
        poll_interval,
        offline_grace,
        stall_timeout,
        alert_after,
        segment_duration,
        segment_size,
        filename,
    }
}

/// Parses a file name template and checks that no rendering can leave `output_dir`.
pub fn filename_template(text: &str) -> Result<Template, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let t = Template::parse(text, FILENAME_FIELDS, TIME_FIELDS)?;
    let sample = t.render(|_, _| "x".into());
    if sample.starts_with('/') || sample.starts_with('\\') {
        return Err("must be relative to output_dir (remove the leading '/')".into());
    }
    if sample.contains('\\') {
        return Err("use '/' to separate folders".into());
    }
    let bad = Path::new(&sample)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)));
    if bad
        || sample
            .split('/')
            .any(|c| c.is_empty() || c.starts_with('.'))
    {
        return Err(
            "folders in the template must be plain names (no '.', '..', empty or hidden parts)"
                .into(),
        );
    }
    Ok(t)
}

/// Secret from `cookie` or `cookie_file` in a section.
fn read_cookie(sec: &mut Section<'_, '_>, rep: &mut Report<'_>, base: &Path) -> Option<Secret> {
    let cookie = sec.take("cookie");
    let file = sec.take("cookie_file");
    match (cookie, file) {
        (Some(c), Some(f)) => {
            f.fail(rep, "set either cookie or cookie_file, not both");
            c.str(rep);
            None
        }
        (Some(c), None) => c
            .str(rep)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        (None, Some(f)) => {
            let p = base.join(f.str(rep)?);
            match std::fs::read_to_string(&p) {
                Ok(text) => Some(Secret::new(text.trim())).filter(|s| !s.is_empty()),
                Err(e) => {
                    f.fail(rep, format!("cannot read {}: {e}", p.display()));
                    None
                }
            }
        }
        (None, None) => None,
    }
}

fn read_platform(
    kind: PlatformKind,
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
    base: &Path,
) -> PlatformConfig {
    let Some(mut sec) = field.and_then(|f| f.section(rep)) else {
        return PlatformConfig::default();
    };
    let api_base = sec.take("api_base").and_then(|f| {
        let s = f.string(rep)?;
        match url::Url::parse(&s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(s),
            _ => {
                f.fail(rep, format!("{s:?} is not an http(s) base URL"));
                None
            }
        }
    });
    let cookie = read_cookie(&mut sec, rep, base);
    let quality = sec.take("quality").and_then(|f| {
        let q = f.words(rep)?;
        kind.check_quality(&q).map_err(|e| f.fail(rep, e)).ok()?;
        Some(q)
    });
    let formats = sec.take("formats").and_then(|f| {
        let v = f.strings(rep)?;
        kind.check_formats(&v).map_err(|e| f.fail(rep, e)).ok()?;
        Some(v)
    });
    sec.finish(rep);
    PlatformConfig {
        api_base,
        cookie,
        quality,
        formats,
    }
}

fn read_events(
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

fn read_window(field: Option<Field<'_, '_>>, rep: &mut Report<'_>) -> Option<Window> {
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

fn read_hook(mut sec: Section<'_, '_>, rep: &mut Report<'_>) -> Option<HookConfig> {
    let (path, span) = (sec.path.clone(), sec.span.clone());
    let name = sec.take("name").and_then(|f| f.string(rep));
    let events = read_events(sec.take("events"), &path, &span, rep);
    let command = match sec.take("command") {
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
    let timeout = sec
        .take("timeout")
        .and_then(|f| f.duration(rep))
        .unwrap_or(Duration::from_secs(600));
    let retries = sec
        .take("retries")
        .and_then(|f| f.uint(rep, 100))
        .unwrap_or(3) as u32;
    let window = read_window(sec.take("window"), rep);
    let concurrency = sec.take("concurrency").and_then(|f| {
        let n = f.uint(rep, 64)?;
        if n == 0 {
            f.fail(rep, "must be at least 1");
        }
        Some(n as usize)
    });
    let rooms = sec
        .take("rooms")
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
        concurrency: concurrency.unwrap_or(1).max(1),
        rooms,
    })
}

fn read_webhook(mut sec: Section<'_, '_>, n: usize, rep: &mut Report<'_>) -> Option<WebhookConfig> {
    let (path, span) = (sec.path.clone(), sec.span.clone());
    let name = sec
        .take("name")
        .and_then(|f| f.string(rep))
        .unwrap_or_else(|| format!("webhook-{n}"));
    let url = match sec.take("url") {
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
                        "{s:?} must be an http or https URL with a host (scheme {:?})",
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                f.fail(rep, format!("{s:?} is not a URL ({e})"));
                None
            }
        }),
    };
    let events = read_events(sec.take("events"), &path, &span, rep);
    let secret = sec
        .take("secret")
        .and_then(|f| f.string(rep))
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let timeout = sec
        .take("timeout")
        .and_then(|f| f.duration(rep))
        .unwrap_or(Duration::from_secs(10));
    let retries = sec
        .take("retries")
        .and_then(|f| f.uint(rep, 100))
        .unwrap_or(8) as u32;
    let window = read_window(sec.take("window"), rep);
    let rooms = sec
        .take("rooms")
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

fn read_listen(field: Option<Field<'_, '_>>, rep: &mut Report<'_>, base: &Path) -> Option<Listen> {
    let Some(f) = field else {
        return Some(Listen::Tcp(SocketAddr::from(([127, 0, 0, 1], 8787))));
    };
    let s = f.str(rep)?;
    if let Some(p) = s.strip_prefix("unix:") {
        if p.is_empty() {
            f.fail(rep, "needs a socket path after \"unix:\"");
            return None;
        }
        return Some(Listen::Unix(base.join(p)));
    }
    match s.parse::<SocketAddr>() {
        Ok(a) => Some(Listen::Tcp(a)),
        Err(_) => {
            f.fail(rep, format!("{s:?} is not an address (write \"127.0.0.1:8787\", \"[::1]:8787\" or \"unix:/run/liverec/control.sock\")"));
            None
        }
    }
}

struct Defaults {
    poll_interval: Duration,
    offline_grace: Duration,
    stall_timeout: Duration,
    alert_after: Duration,
    segment_duration: Duration,
    segment_size: u64,
    filename: Template,
}

fn build(mut top: Section<'_, '_>, path: &Path, rep: &mut Report<'_>) -> Option<Config> {
    let base = config_base(path);
    let dir = |f: Option<Field<'_, '_>>, rep: &mut Report<'_>| -> Option<PathBuf> {
        let f = f?;
        let s = f.str(rep)?;
        if s.trim().is_empty() {
            f.fail(rep, "must not be empty");
            return None;
        }
        Some(base.join(s))
    };
    let output_dir = dir(top.take("output_dir"), rep).unwrap_or_else(|| base.join("recordings"));
    let state_dir = dir(top.take("state_dir"), rep).unwrap_or_else(|| output_dir.join(".liverec"));
    let lock_dir = top
        .take("lock_dir")
        .and_then(|f| {
            let s = f.str(rep)?;
            (!s.trim().is_empty()).then(|| base.join(s))
        })
        .unwrap_or_else(|| state_dir.join("locks"));
    let min_free_space = top
        .take("min_free_space")
        .and_then(|f| f.size(rep))
        .unwrap_or(2 << 30);
    let max_recordings = top
        .take("max_recordings")
        .and_then(|f| f.uint(rep, 100_000))
        .unwrap_or(0) as usize;
    let shutdown_timeout = top
        .take("shutdown_timeout")
        .and_then(|f| {
            let d = f.duration(rep)?;
            (d >= Duration::from_secs(1)).then_some(d).or_else(|| {
                f.fail(rep, "must be at least 1s");
                None
            })
        })
        .unwrap_or(Duration::from_secs(20));
    let globals = read_overrides(&mut top, rep);
    let defaults = Defaults {
        poll_interval: globals.poll_interval.unwrap_or(Duration::from_secs(30)),
        offline_grace: globals.offline_grace.unwrap_or(Duration::from_secs(60)),
        stall_timeout: globals.stall_timeout.unwrap_or(Duration::from_secs(15)),
        alert_after: globals.alert_after.unwrap_or(Duration::from_secs(90)),
        segment_duration: globals
            .segment_duration
            .unwrap_or(Duration::from_secs(3600)),
        segment_size: globals.segment_size.unwrap_or(4 << 30),
        filename: globals.filename.unwrap_or_else(|| {
            filename_template(DEFAULT_FILENAME).expect("default template is valid")
        }), // ok: constant
    };

    let control = match top.take("control").and_then(|f| f.section(rep)) {
        Some(mut sec) => {
            let listen = read_listen(sec.take("listen"), rep, &base);
            let token_field = sec.take("token");
            let token = token_field
                .as_ref()
                .and_then(|f| f.string(rep))
                .filter(|s| !s.is_empty())
                .map(Secret::new);
            if let Some(Listen::Tcp(addr)) = &listen {
                if !addr.ip().is_loopback() && token.is_none() {
                    rep.error(
                        "control.token",
                        &token_field.map(|f| f.span()).unwrap_or(sec.span.clone()),
                        format!("required when control.listen ({addr}) is not a loopback address"),
                    );
                }
            }
            sec.finish(rep);
            listen.map(|listen| ControlConfig { listen, token })
        }
        None => read_listen(None, rep, &base).map(|listen| ControlConfig {
            listen,
            token: None,
        }),
    };

    let platforms = match top.take("platforms").and_then(|f| f.section(rep)) {
        Some(mut sec) => {
            let bilibili = read_platform(PlatformKind::Bilibili, sec.take("bilibili"), rep, &base);
            let douyin = read_platform(PlatformKind::Douyin, sec.take("douyin"), rep, &base);
            sec.finish(rep);
            PlatformsConfig { bilibili, douyin }
        }
        None => PlatformsConfig::default(),
    };

    let room_sections = top
        .take("rooms")
        .map(|f| f.sections(rep))
        .unwrap_or_default();
    let mut rooms = Vec::new();
    let mut duplicates = Vec::new();
    let mut seen_keys: HashMap<String, usize> = HashMap::new();
    let mut seen_names: HashMap<String, usize> = HashMap::new();
    for (index, sec) in room_sections.into_iter().enumerate() {
        let Some(room) = read_room(sec, index, &defaults, &platforms, &base, rep) else {
            continue;
        };
        let key = room.target.provisional_key();
        if let Some(&first_index) = seen_keys.get(&key) {
            duplicates.push(Duplicate {
                index,
                url: room.url().to_string(),
                key,
                first_index,
            });
            continue;
        }
        if let Some(name) = &room.name {
            if let Some(first) = seen_names.insert(name.clone(), index) {
                rep.error(
                    &format!("rooms[{index}].name"),
                    &(0..0),
                    format!("{name:?} is already the name of rooms[{first}]; names must be unique"),
                );
            }
        }
        seen_keys.insert(key, index);
        rooms.push(room);
    }

    let hooks: Vec<HookConfig> = top
        .take("hooks")
        .map(|f| f.sections(rep))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| read_hook(s, rep))
        .collect();
    let webhooks: Vec<WebhookConfig> = top
        .take("webhooks")
        .map(|f| f.sections(rep))
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(n, s)| read_webhook(s, n, rep))
        .collect();
    top.finish(rep);

    let mut warnings = Vec::new();
    let mut names = HashMap::new();
    for (n, h) in hooks
        .iter()
        .map(|h| &h.name)
        .chain(webhooks.iter().map(|w| &w.name))
        .enumerate()
    {
        if names.insert(h.clone(), n).is_some() {
            rep.error("hooks", &(0..0), format!("the name {h:?} is used by two hooks or webhooks; names key the delivery journal and must be unique"));
        }
    }
    let known_room = |r: &str| {
        rooms
            .iter()
            .any(|room| room.name.as_deref() == Some(r) || room.target.provisional_key() == r)
    };
    for (kind, name, filter) in hooks
        .iter()
        .map(|h| ("hooks", &h.name, &h.rooms))
        .chain(webhooks.iter().map(|w| ("webhooks", &w.name, &w.rooms)))
    {
        for r in filter.iter().filter(|r| !known_room(r)) {
            warnings.push(Problem {
                key: format!("{kind} {name:?}.rooms"),
                line: None,
                reason: format!(
                    "{r:?} matches no room name or key (it may match a key resolved at run time)"
                ),
            });
        }
    }
    for d in &duplicates {
        warnings.push(Problem {
            key: format!("rooms[{}]", d.index),
            line: None,
            reason: format!(
                "{} is the same room as rooms[{}] ({}); it is ignored",
                d.url, d.first_index, d.key
            ),
        });
    }

    Some(Config {
        file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        output_dir,
        state_dir,
        lock_dir,
        min_free_space,
        max_recordings,
        shutdown_timeout,
        control: control?,
        platforms,
        rooms,
        duplicates,
        hooks,
        webhooks,
        warnings,
    })
}

fn read_room(
    mut sec: Section<'_, '_>,
    index: usize,
    defaults: &Defaults,
    platforms: &PlatformsConfig,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<RoomConfig> {
    let path = sec.path.clone();
    let url_field = sec.take("url");
    let forced = sec.take("platform").and_then(|f| {
        let s = f.str(rep)?;
        PlatformKind::parse(s).or_else(|| {
            f.fail(
                rep,
                format!("{s:?} is not a platform (bilibili, douyin, direct)"),
            );
            None
        })
    });
    let target = match url_field {
        None => {
            rep.error(
                &format!("{path}.url"),
                &sec.span,
                "missing; every room needs the URL of its live page or stream",
            );
            None
        }
        Some(f) => f.str(rep).and_then(|u| {
            platform::recognize(u, forced)
                .map_err(|e| f.fail(rep, e))
                .ok()
        }),
    };
    let name = sec.take("name").and_then(|f| {
        let s = f.string(rep)?;
        if s.trim().is_empty() {
            f.fail(
                rep,
                "must not be empty (leave it out to use the streamer's name)",
            );
            return None;
        }
        Some(s)
    });
    let enabled = sec
        .take("enabled")
        .and_then(|f| f.bool(rep))
        .unwrap_or(true);
    let o = read_overrides(&mut sec, rep);
    let quality_field = sec.take("quality");
    let formats_field = sec.take("formats");
    let cookie = read_cookie(&mut sec, rep, base);
    sec.finish(rep);
    let target = target?;
    let kind = target.platform;
    let plat = platforms.get(kind).cloned().unwrap_or_default();
    let quality = match quality_field {
        Some(f) => {
            let q = f.words(rep)?;
            kind.check_quality(&q).map_err(|e| f.fail(rep, e)).ok()?;
            q
        }
        None => plat
            .quality
            .clone()
            .unwrap_or_else(|| kind.default_quality()),
    };
    let formats = match formats_field {
        Some(f) => {
            let v = f.strings(rep)?;
            kind.check_formats(&v).map_err(|e| f.fail(rep, e)).ok()?;
            v
        }
        None => plat
            .formats
            .clone()
            .unwrap_or_else(|| kind.default_formats()),
    };
    let settings = RoomSettings {
        poll_interval: o.poll_interval.unwrap_or(defaults.poll_interval),
        offline_grace: o.offline_grace.unwrap_or(defaults.offline_grace),
        stall_timeout: o.stall_timeout.unwrap_or(defaults.stall_timeout),
        alert_after: o.alert_after.unwrap_or(defaults.alert_after),
        segment_duration: o.segment_duration.unwrap_or(defaults.segment_duration),
        segment_size: o.segment_size.unwrap_or(defaults.segment_size),
        filename: o.filename.unwrap_or_else(|| defaults.filename.clone()),
        quality,
        formats,
        cookie: cookie.or(plat.cookie.clone()),
    };
    Some(RoomConfig {
        index,
        target,
        name,
        enabled,
        settings,
    })
}

/// Relative paths in a config file are relative to the file's folder, so a config behaves the
/// same whichever directory the daemon starts in.
fn config_base(path: &Path) -> PathBuf {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

#[cfg(test)]
mod tests;
