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
mod cluster;
mod hooks;
pub(crate) mod keys;
mod notify;
mod platforms;
mod raw;
pub(crate) mod retention;
mod rooms;
pub(crate) mod rules;

pub(crate) use chat::ChatConfig;
pub(crate) use cluster::{Backend, ClusterConfig, OnLeaseLoss};
pub(crate) use hooks::{HookConfig, WebhookConfig, Window};
pub(crate) use notify::{Endpoint, NotifyConfig};
pub(crate) use raw::Problem;
pub use rooms::filename_template;
use rooms::{Defaults, read_overrides, read_room};

use crate::platform::{PlatformKind, PlatformsConfig, RoomTarget};
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
    "cover_path",
    "owner_instance",
    "fence",
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
    pub(crate) cluster: ClusterConfig,
    pub(crate) platforms: PlatformsConfig,
    pub(crate) rooms: Vec<RoomConfig>,
    /// Entries naming a room listed earlier; reported and ignored.
    pub(crate) duplicates: Vec<Duplicate>,
    pub(crate) hooks: Vec<HookConfig>,
    pub(crate) webhooks: Vec<WebhookConfig>,
    /// `[[notify]]`: messages to phones and chats, delivered like webhooks.
    pub(crate) notify: Vec<NotifyConfig>,
    /// `[retention]`; `None`: off.
    pub(crate) retention: Option<retention::RetentionConfig>,
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
    /// Save the live's cover beside the session's first segment.
    pub(crate) cover: bool,
    /// Below the wanted quality for this long: `quality_degraded`.
    pub(crate) degraded_after: Duration,
    /// Which lives, when, how much and which track (see `rules`).
    pub(crate) rules: rules::RecordRules,
}

#[derive(Debug, Clone)]
pub(crate) struct RoomConfig {
    /// Position in `[[rooms]]`, for messages (`rooms[2]`).
    pub(crate) index: usize,
    pub(crate) target: RoomTarget,
    pub(crate) name: Option<String>,
    pub(crate) enabled: bool,
    /// `false`: watched and notified (`live_start`, `live_end`), never recorded.
    pub(crate) record: bool,
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
            && self.record == other.record
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

impl ConfigErrors {
    /// `problems` of `file`: what a rejected reload reports.
    pub(crate) fn new(file: &Path, problems: Vec<Problem>) -> Self {
        Self {
            file: file.to_path_buf(),
            problems,
        }
    }

    /// One problem as a log line: `file:line: key: reason` (no line or key when unknown).
    pub(crate) fn line(&self, p: &Problem) -> String {
        let mut out = self.file.display().to_string();
        if let Some(line) = p.line {
            out.push_str(&format!(":{line}"));
        }
        if !p.key.is_empty() {
            out.push_str(&format!(": {}", p.key));
        }
        out.push_str(&format!(": {}", p.reason));
        out
    }

    /// Every problem as a line, in order.
    pub(crate) fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.problems.iter().map(|p| self.line(p))
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, line) in self.lines().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            f.write_str(&line)?;
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

fn read_listen(field: Option<Field<'_, '_>>, rep: &mut Report<'_>, base: &Path) -> Option<Listen> {
    let Some(f) = field else {
        return Some(Listen::Tcp(keys::LISTEN.kind.0));
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

/// `output_dir`, `state_dir` and `lock_dir`, each under the one before by default.
fn read_folders(
    top: &mut Section<'_, '_>,
    rep: &mut Report<'_>,
    base: &Path,
) -> (PathBuf, PathBuf, PathBuf) {
    let dir = |f: Option<Field<'_, '_>>, rep: &mut Report<'_>| -> Option<PathBuf> {
        let f = f?;
        let s = f.str(rep)?;
        if s.trim().is_empty() {
            f.fail(rep, "must not be empty");
            return None;
        }
        Some(base.join(s))
    };
    let output_dir = dir(top.take(keys::OUTPUT_DIR.name), rep)
        .unwrap_or_else(|| base.join(keys::OUTPUT_DIR.kind.0));
    let state_dir = dir(top.take(keys::STATE_DIR.name), rep)
        .unwrap_or_else(|| output_dir.join(keys::STATE_DIR.kind.child));
    // An empty lock_dir is the default (the example file spells it so).
    let lock_dir = top
        .take(keys::LOCK_DIR.name)
        .and_then(|f| {
            let s = f.str(rep)?;
            (!s.trim().is_empty()).then(|| base.join(s))
        })
        .unwrap_or_else(|| state_dir.join(keys::LOCK_DIR.kind.child));
    (output_dir, state_dir, lock_dir)
}

/// `[control]`: a non-loopback address needs a token.
fn read_control(
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
    base: &Path,
) -> Option<ControlConfig> {
    let Some(mut sec) = field.and_then(|f| f.section(rep)) else {
        return read_listen(None, rep, base).map(|listen| ControlConfig {
            listen,
            token: None,
        });
    };
    let listen = read_listen(sec.take(keys::LISTEN.name), rep, base);
    let token_field = sec.take(keys::TOKEN.name);
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

/// `[[rooms]]`: each room read over the defaults; a room listed twice (by its key) is kept
/// once and reported, a name used twice is an error.
fn read_rooms(
    field: Option<Field<'_, '_>>,
    defaults: &Defaults,
    platforms: &PlatformsConfig,
    base: &Path,
    rep: &mut Report<'_>,
) -> (Vec<RoomConfig>, Vec<Duplicate>) {
    let sections = field.map(|f| f.sections(rep)).unwrap_or_default();
    let mut rooms = Vec::new();
    let mut duplicates = Vec::new();
    let mut seen_keys: HashMap<String, usize> = HashMap::new();
    let mut seen_names: HashMap<String, usize> = HashMap::new();
    for (index, sec) in sections.into_iter().enumerate() {
        let Some(room) = read_room(sec, index, defaults, platforms, base, rep) else {
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
    (rooms, duplicates)
}

/// Hook names must be unique; filters naming no room and ignored duplicate rooms are warnings.
fn cross_checks(
    hooks: &[HookConfig],
    webhooks: &[WebhookConfig],
    notify: &[NotifyConfig],
    rooms: &[RoomConfig],
    duplicates: &[Duplicate],
    platforms: &PlatformsConfig,
    rep: &mut Report<'_>,
) -> Vec<Problem> {
    let mut warnings = Vec::new();
    let mut names = HashMap::new();
    for (n, h) in hooks
        .iter()
        .map(|h| &h.name)
        .chain(webhooks.iter().map(|w| &w.name))
        .chain(notify.iter().map(|x| &x.name))
        .enumerate()
    {
        if names.insert(h.clone(), n).is_some() {
            rep.error("hooks", &(0..0), format!("the name {h:?} is used by two hooks, webhooks or notifications; names key the delivery journal and must be unique"));
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
        .chain(notify.iter().map(|x| ("notify", &x.name, &x.rooms)))
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
    for kind in [PlatformKind::Bilibili, PlatformKind::Douyin] {
        let intervals: Vec<Duration> = rooms
            .iter()
            .filter(|r| r.enabled && r.target.platform == kind)
            .map(|r| r.settings.poll_interval)
            .collect();
        let budget = match platforms.get(kind) {
            Some(cfg) => crate::platform::limiter::Budget::configured(kind, cfg),
            None => continue,
        };
        let checks = crate::platform::demand::Checks::of(kind);
        if let Some(w) = crate::platform::demand::budget_warning(kind, &intervals, checks, budget) {
            warnings.push(Problem {
                key: format!("platforms.{kind}"),
                line: None,
                reason: w,
            });
        }
    }
    for d in duplicates {
        warnings.push(Problem {
            key: format!("rooms[{}]", d.index),
            line: None,
            reason: format!(
                "{} is the same room as rooms[{}] ({}); it is ignored",
                d.url, d.first_index, d.key
            ),
        });
    }
    warnings
}

/// Phase two: every key of the file, read in the order the sections ask for them, with the
/// table's defaults for those left out.
fn build(mut top: Section<'_, '_>, path: &Path, rep: &mut Report<'_>) -> Option<Config> {
    let base = config_base(path);
    let (output_dir, state_dir, lock_dir) = read_folders(&mut top, rep, &base);
    let min_free_space = keys::MIN_FREE_SPACE.get(&mut top, rep);
    let max_recordings = keys::MAX_RECORDINGS.get(&mut top, rep) as usize;
    let shutdown_timeout = keys::SHUTDOWN_TIMEOUT.get(&mut top, rep);
    let defaults = Defaults::over(read_overrides(&mut top, rep));
    let control = read_control(top.take("control"), rep, &base);
    let cluster = cluster::read_cluster(top.take("cluster"), rep, &base);
    let platforms = platforms::read_platforms(top.take("platforms"), rep, &base);
    let (rooms, duplicates) = read_rooms(top.take("rooms"), &defaults, &platforms, &base, rep);
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
    let notify: Vec<NotifyConfig> = top
        .take("notify")
        .map(|f| f.sections(rep))
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(n, s)| notify::read_notify(s, n, &base, rep))
        .collect();
    let retention = retention::read_retention(top.take("retention"), rep);
    top.finish(rep);
    let mut warnings = cross_checks(
        &hooks,
        &webhooks,
        &notify,
        &rooms,
        &duplicates,
        &platforms,
        rep,
    );
    let subscribed = hooks
        .iter()
        .map(|h| &h.events)
        .chain(webhooks.iter().map(|w| &w.events))
        .chain(notify.iter().map(|n| &n.events));
    warnings.extend(retention::warnings(
        retention.as_ref(),
        min_free_space,
        subscribed,
    ));
    Some(Config {
        file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        output_dir,
        state_dir,
        lock_dir,
        min_free_space,
        max_recordings,
        shutdown_timeout,
        control: control?,
        cluster,
        platforms,
        rooms,
        duplicates,
        hooks,
        webhooks,
        notify,
        retention,
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
