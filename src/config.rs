//! The config file (`recorder.toml`): read in two phases. [`raw`] walks the TOML tree and turns
//! every key into a typed value, collecting all problems with their key paths; this module then
//! validates the values together, applies defaults, and merges per-room overrides into each
//! room's effective [`RoomSettings`]. Nothing here touches the network.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod chat;
mod hooks;
mod raw;
mod rooms;

pub(crate) use chat::ChatConfig;
pub(crate) use hooks::{HookConfig, WebhookConfig, Window};
pub(crate) use raw::Problem;
pub use rooms::filename_template;
use rooms::{Defaults, read_cookie, read_overrides, read_room};

use crate::platform::{PlatformConfig, PlatformKind, PlatformsConfig, RoomTarget, same_base};
use crate::template::Template;
use crate::util::secret::{Secret, redact_url};
use raw::{Field, Report, Section};

/// Placeholders a file name template may use.
pub(crate) const FILENAME_FIELDS: &[&str] = &[
    "platform", "id", "key", "name", "streamer", "title", "session", "index",
];
/// Placeholders taking a chrono format, in file names and hook arguments.
pub(crate) const TIME_FIELDS: &[&str] = &["start", "session_start"];
/// Placeholders a hook argument may use.
pub(crate) const HOOK_FIELDS: &[&str] = &[
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
    "danmaku_path",
];

pub(crate) const DEFAULT_FILENAME: &str =
    "{platform}/{streamer}/{start:%Y-%m-%d}/{streamer}_{start:%Y%m%d-%H%M%S}_{title}";

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) file: PathBuf,
    pub(crate) output_dir: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) lock_dir: PathBuf,
    pub(crate) min_free_space: u64,
    /// 0 means unlimited.
    pub(crate) max_recordings: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) control: ControlConfig,
    pub(crate) platforms: PlatformsConfig,
    pub(crate) rooms: Vec<RoomConfig>,
    /// Entries naming a room listed earlier; reported and ignored.
    pub(crate) duplicates: Vec<Duplicate>,
    pub(crate) hooks: Vec<HookConfig>,
    pub(crate) webhooks: Vec<WebhookConfig>,
    /// Things that are allowed but probably not meant.
    pub(crate) warnings: Vec<Problem>,
}

/// Per-room effective settings: defaults, then top-level keys, then the room's own keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RoomSettings {
    pub(crate) poll_interval: Duration,
    pub(crate) offline_grace: Duration,
    pub(crate) stall_timeout: Duration,
    pub(crate) alert_after: Duration,
    /// Zero means no time split.
    pub(crate) segment_duration: Duration,
    /// Zero means no size split.
    pub(crate) segment_size: u64,
    pub(crate) filename: Template,
    pub(crate) quality: Vec<String>,
    pub(crate) formats: Vec<String>,
    /// Codecs in order of preference (Bilibili); empty = AVC first, HEVC as the fallback.
    pub(crate) codecs: Vec<String>,
    pub(crate) cookie: Option<Secret>,
    pub(crate) chat: ChatConfig,
}

#[derive(Debug, Clone)]
pub(crate) struct RoomConfig {
    /// Position in `[[rooms]]`, for messages (`rooms[2]`).
    pub(crate) index: usize,
    pub(crate) target: RoomTarget,
    pub(crate) name: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) settings: RoomSettings,
}

impl RoomConfig {
    pub(crate) fn url(&self) -> &str {
        &self.target.url
    }

    /// Same room with the same settings (its position in the file does not matter).
    pub(crate) fn same_as(&self, other: &RoomConfig) -> bool {
        self.target == other.target
            && self.name == other.name
            && self.enabled == other.enabled
            && self.settings == other.settings
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Duplicate {
    pub(crate) index: usize,
    pub(crate) url: String,
    pub(crate) key: String,
    pub(crate) first_index: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Listen {
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
pub(crate) struct ControlConfig {
    pub(crate) listen: Listen,
    pub(crate) token: Option<Secret>,
}

/// Every problem found in a config file. Displayed one per line as `file:line: key: reason`.
#[derive(Debug, Clone)]
pub(crate) struct ConfigErrors {
    pub(crate) file: PathBuf,
    pub(crate) problems: Vec<Problem>,
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
pub(crate) fn load(path: &Path) -> Result<Config, ConfigErrors> {
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
pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
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
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                // The platform's own base is the same as none (the example config spells it
                // out), for `check`, for reloads and for the routing of other hosts.
                let public = kind.default_api_base().is_some_and(|d| same_base(&s, d));
                (!public).then_some(s)
            }
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
    let user_agent = read_user_agent(kind, &mut sec, rep);
    let codecs = read_codecs(kind, sec.take("codecs"), rep);
    let (requests_per_second, burst) = read_budget(&mut sec, rep);
    let chat = chat::read_chat_keys(&mut sec, rep, Some(kind));
    sec.finish(rep);
    PlatformConfig {
        api_base,
        cookie,
        quality,
        formats,
        user_agent,
        codecs,
        requests_per_second,
        burst,
        chat,
    }
}

/// `user_agent`: one header line. Douyin signs every API call for the browser the User-Agent
/// names and sends that browser's version beside it, so there it must name a Chrome version.
fn read_user_agent(
    kind: PlatformKind,
    sec: &mut Section<'_, '_>,
    rep: &mut Report<'_>,
) -> Option<String> {
    let f = sec.take("user_agent")?;
    let ua = f.string(rep)?;
    let ua = ua.trim().to_string();
    if let Err(why) = check_user_agent(kind, &ua) {
        f.fail(rep, why);
        return None;
    }
    Some(ua)
}

/// Why `ua` cannot be a platform's User-Agent, if it cannot.
pub(crate) fn check_user_agent(kind: PlatformKind, ua: &str) -> Result<(), String> {
    const MAX: usize = 512;
    if ua.is_empty() {
        return Err("is empty (remove the key for the built-in browser User-Agent)".into());
    }
    if ua.len() > MAX {
        return Err(format!("is longer than {MAX} characters"));
    }
    if let Some(c) = ua.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "holds {c:?}: a User-Agent is one line of printable ASCII"
        ));
    }
    if kind == PlatformKind::Douyin && crate::platform::douyin::browser_version(ua).is_none() {
        return Err(format!(
            "{ua:?} names no Chrome version: Douyin's request signature and its \
             browser_version parameter are made for a Chromium browser's User-Agent \
             (\"... Chrome/156.0.0.0 Safari/537.36\")"
        ));
    }
    Ok(())
}

/// `codecs = ["avc", "hevc"]`, validated for the platform (lower case, as Bilibili names them).
pub(crate) fn read_codecs(
    kind: PlatformKind,
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
) -> Option<Vec<String>> {
    let f = field?;
    let v: Vec<String> = f
        .strings(rep)?
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    kind.check_codecs(&v).map_err(|e| f.fail(rep, e)).ok()?;
    Some(v)
}

/// `requests_per_second` and `burst`: the platform's request budget.
fn read_budget(sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> (Option<f64>, Option<u32>) {
    use crate::platform::limiter::{MAX_BURST, MAX_PER_SECOND, MIN_PER_SECOND};
    let per_second = sec.take("requests_per_second").and_then(|f| {
        let n = f.number(rep)?;
        if !(MIN_PER_SECOND..=MAX_PER_SECOND).contains(&n) {
            f.fail(
                rep,
                format!(
                    "{n} is out of range ({MIN_PER_SECOND} to {MAX_PER_SECOND} requests per second)"
                ),
            );
            return None;
        }
        Some(n)
    });
    let burst = sec.take("burst").and_then(|f| {
        let n = f.uint(rep, u64::from(MAX_BURST))?;
        if n == 0 {
            f.fail(rep, "must be at least 1 (requests sent at once)");
            return None;
        }
        u32::try_from(n).ok()
    });
    (per_second, burst)
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
                url: redact_url(room.url()),
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
        .filter_map(|s| hooks::read_hook(s, rep))
        .collect();
    let webhooks: Vec<WebhookConfig> = top
        .take("webhooks")
        .map(|f| f.sections(rep))
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(n, s)| hooks::read_webhook(s, n, rep))
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
