//! Every config key as data: where it may be written, its default, the rule its value follows,
//! when a change takes effect, what `check` shows of it, and one line of doc (`table.rs`).
//!
//! One table so that a key's facts cannot drift apart: `build` takes its defaults and limits
//! from it, a reload's "needs a restart" list is the keys marked [`Applies::Restart`] whose
//! value changed, `check` prints the keys in the table's order, and a test holds README's
//! table, `recorder.toml.example` and docs/hooks.md to the same names and defaults.
//!
//! Adding a key: its row (`table.rs` for the top level, `[control]` and `[[rooms]]`;
//! `platform_rows.rs` for `[platforms.*]`; `chat_rows.rs` for the chat keys; `rule_rows.rs` for
//! the recording rules; `hook_rows.rs`; `notify_rows.rs`; `retention_rows.rs`), its place in
//! [`KEYS`], the field that holds its value and the line that reads it (`config.rs`, `rooms.rs`,
//! `rules.rs`, `platforms.rs`, `chat.rs`, `hooks.rs`, `notify.rs`, `retention.rs`), then a README
//! row and an example line; the tests name whatever is missing.
//!
//! Keys whose value needs more than a rule (URLs, cookies, templates, platform lists) are still
//! described here; their readers stay with the section that reads them.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::raw::{Field, Report, Section};
use super::{Config, RoomSettings};
use crate::platform::{PlatformConfig, PlatformKind};
use crate::util::secret::{Secret, redact_url};
use crate::util::units::{format_duration, format_size};

mod chat_rows;
mod cluster_rows;
mod degrade_rows;
mod hook_rows;
mod notify_rows;
mod platform_rows;
mod retention_rows;
mod rule_rows;
mod table;

pub(crate) use chat_rows::*;
pub(crate) use cluster_rows::*;
pub(crate) use degrade_rows::*;
pub(crate) use hook_rows::*;
pub(crate) use notify_rows::*;
pub(crate) use platform_rows::*;
pub(crate) use retention_rows::*;
pub(crate) use rule_rows::*;
pub(crate) use table::*;

/// Where a key may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The top level of the file.
    Top,
    /// `[control]`.
    Control,
    /// `[cluster]`.
    Cluster,
    /// `[platforms.bilibili]`, `[platforms.douyin]`.
    Platform,
    /// Each `[[rooms]]` entry (over the top-level or platform value, when there is one).
    Room,
    Hook,
    Webhook,
    Notify,
    /// `[retention]`.
    Retention,
}

impl Scope {
    /// As README's "where" column writes it.
    pub(crate) fn doc(self) -> &'static str {
        match self {
            Scope::Top => "top level",
            Scope::Control => "`[control]`",
            Scope::Cluster => "`[cluster]`",
            Scope::Platform => "`[platforms.*]`",
            Scope::Room => "`[[rooms]]`",
            Scope::Hook => "`[[hooks]]`",
            Scope::Webhook => "`[[webhooks]]`",
            Scope::Notify => "`[[notify]]`",
            Scope::Retention => "`[retention]`",
        }
    }

    /// The start of the key's path in messages (`control.listen`).
    fn prefix(self) -> &'static str {
        match self {
            Scope::Top => "",
            Scope::Control => "control.",
            Scope::Cluster => "cluster.",
            Scope::Platform => "platforms.*.",
            Scope::Room => "rooms[*].",
            Scope::Hook => "hooks[*].",
            Scope::Webhook => "webhooks[*].",
            Scope::Notify => "notify[*].",
            Scope::Retention => "retention.",
        }
    }
}

/// When a reloaded value takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applies {
    AtOnce,
    /// The room's next status check.
    NextPoll,
    /// The room's next stream connection.
    NextConnection,
    /// The room's next file.
    NextSegment,
    /// The room's next session (a live that starts).
    NextSession,
    /// A hook's next delivery attempt.
    NextAttempt,
    /// Retention's next pass (every `interval`, or `liverec retention`).
    NextPass,
    /// Only after liverec restarts; a reload names the key.
    Restart,
}

impl Applies {
    /// As README's "a change applies" column writes it.
    pub(crate) fn doc(self) -> &'static str {
        match self {
            Applies::AtOnce => "at once",
            Applies::NextPoll => "next poll",
            Applies::NextConnection => "next connection",
            Applies::NextSegment => "next segment",
            Applies::NextSession => "next session",
            Applies::NextAttempt => "next attempt",
            Applies::NextPass => "next retention pass",
            Applies::Restart => "restart",
        }
    }
}

/// A key's effective value as `check` prints it and a reload compares it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shown {
    Text(String),
    /// Not set: the words say what happens instead.
    Unset(&'static str),
    /// A URL, which may carry credentials: printed redacted, compared whole.
    Url(String),
    /// A secret: printed as `set`, compared whole.
    Secret(Secret),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Text(s) => f.write_str(s),
            Shown::Unset(s) => f.write_str(s),
            Shown::Url(u) => f.write_str(&redact_url(u)),
            Shown::Secret(_) => f.write_str("set"),
        }
    }
}

/// Where `check` finds a key's effective value: the daemon's, each platform section's, each
/// room's after its overrides. None of them for keys shown with their room or hook as a whole,
/// or through another key (`cookie_file` is the room's `cookie`).
pub(crate) struct Show {
    pub(crate) daemon: Option<fn(&Config) -> Shown>,
    pub(crate) platform: Option<fn(PlatformKind, &PlatformConfig) -> Shown>,
    pub(crate) room: Option<fn(&RoomSettings) -> Shown>,
}

impl Show {
    pub(crate) const NONE: Show = Show {
        daemon: None,
        platform: None,
        room: None,
    };
}

/// One key: its row in the table.
pub(crate) struct Key<K: 'static> {
    pub(crate) name: &'static str,
    /// Where it may be written; the first is where README lists it.
    pub(crate) scopes: &'static [Scope],
    /// The value's kind, with its default and limits.
    pub(crate) kind: K,
    pub(crate) applies: Applies,
    pub(crate) show: Show,
    pub(crate) doc: &'static str,
}

/// What every row tells, whatever its kind (the table as a list).
pub(crate) trait Row: Sync {
    fn name(&self) -> &'static str;
    fn scopes(&self) -> &'static [Scope];
    /// The default as README's table writes it (Markdown).
    fn default_doc(&self) -> String;
    fn applies(&self) -> Applies;
    fn show(&self) -> &Show;
    fn doc(&self) -> &'static str;

    /// The key's path in messages: `output_dir`, `control.listen`, `platforms.*.burst`.
    fn path(&self) -> String {
        let scope = self.scopes().first().copied().unwrap_or(Scope::Top);
        format!("{}{}", scope.prefix(), self.name())
    }
}

impl<K: Kind> Row for Key<K> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn scopes(&self) -> &'static [Scope] {
        self.scopes
    }
    fn default_doc(&self) -> String {
        self.kind.default_doc()
    }
    fn applies(&self) -> Applies {
        self.applies
    }
    fn show(&self) -> &Show {
        &self.show
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
}

/// A kind of value and its default.
pub(crate) trait Kind: Sync {
    /// The default as README's table writes it (Markdown).
    fn default_doc(&self) -> String;
}

/// A kind the table reads itself, with its default and rule.
pub(crate) trait Read: Kind {
    type Out;
    fn read(&self, f: &Field<'_, '_>, rep: &mut Report<'_>) -> Option<Self::Out>;
    fn default_value(&self) -> Self::Out;
}

impl<K: Read> Key<K> {
    /// The key's value in `sec`, checked against its rule; `None` when absent or refused.
    pub(crate) fn take(&self, sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> Option<K::Out> {
        sec.take(self.name).and_then(|f| self.kind.read(&f, rep))
    }

    /// The key's value in `sec`, or its default.
    pub(crate) fn get(&self, sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> K::Out {
        self.take(sec, rep)
            .unwrap_or_else(|| self.kind.default_value())
    }

    /// `value`, or the key's default.
    pub(crate) fn or_default(&self, value: Option<K::Out>) -> K::Out {
        value.unwrap_or_else(|| self.kind.default_value())
    }
}

/// A duration (`"30s"`). Below `min` is refused, except zero when `off` says what zero turns off.
pub(crate) struct Dur {
    pub(crate) default: Duration,
    pub(crate) min: Duration,
    pub(crate) off: Option<&'static str>,
}

impl Kind for Dur {
    fn default_doc(&self) -> String {
        format!("`{}`", format_duration(self.default))
    }
}

impl Read for Dur {
    type Out = Duration;
    fn read(&self, f: &Field<'_, '_>, rep: &mut Report<'_>) -> Option<Duration> {
        let d = f.duration(rep)?;
        if d >= self.min || (d.is_zero() && self.off.is_some()) {
            return Some(d);
        }
        let min = format_duration(self.min);
        match self.off {
            Some(off) => f.fail(rep, format!("must be \"0s\" ({off}) or at least {min}")),
            None => f.fail(rep, format!("must be at least {min}")),
        }
        None
    }
    fn default_value(&self) -> Duration {
        self.default
    }
}

/// A size (`"4GiB"`), with the same rule as [`Dur`].
pub(crate) struct Size {
    pub(crate) default: u64,
    pub(crate) min: u64,
    pub(crate) off: Option<&'static str>,
}

impl Kind for Size {
    fn default_doc(&self) -> String {
        format!("`{}`", format_size(self.default))
    }
}

impl Read for Size {
    type Out = u64;
    fn read(&self, f: &Field<'_, '_>, rep: &mut Report<'_>) -> Option<u64> {
        let n = f.size(rep)?;
        if n >= self.min || (n == 0 && self.off.is_some()) {
            return Some(n);
        }
        let min = format_size(self.min);
        match self.off {
            Some(off) => f.fail(rep, format!("must be \"0B\" ({off}) or at least {min}")),
            None => f.fail(rep, format!("must be at least {min}")),
        }
        None
    }
    fn default_value(&self) -> u64 {
        self.default
    }
}

/// A whole number from `min` to `max`.
pub(crate) struct Whole {
    pub(crate) default: u64,
    pub(crate) min: u64,
    pub(crate) max: u64,
}

impl Kind for Whole {
    fn default_doc(&self) -> String {
        format!("`{}`", self.default)
    }
}

impl Read for Whole {
    type Out = u64;
    fn read(&self, f: &Field<'_, '_>, rep: &mut Report<'_>) -> Option<u64> {
        let n = f.uint(rep, self.max)?;
        if n < self.min {
            f.fail(rep, format!("must be at least {}", self.min));
            return None;
        }
        Some(n)
    }
    fn default_value(&self) -> u64 {
        self.default
    }
}

/// `true` or `false`.
pub(crate) struct Flag(pub(crate) bool);

impl Kind for Flag {
    fn default_doc(&self) -> String {
        format!("`{}`", self.0)
    }
}

impl Read for Flag {
    type Out = bool;
    fn read(&self, f: &Field<'_, '_>, rep: &mut Report<'_>) -> Option<bool> {
        f.bool(rep)
    }
    fn default_value(&self) -> bool {
        self.0
    }
}

/// A text with a fixed default: a path relative to the config's folder, a template. Its section
/// reads and checks it.
pub(crate) struct Text(pub(crate) &'static str);

impl Kind for Text {
    fn default_doc(&self) -> String {
        format!("`{}`", self.0)
    }
}

/// A folder whose default is `child` under the folder another key names.
pub(crate) struct Under {
    pub(crate) parent: &'static str,
    pub(crate) child: &'static str,
}

impl Kind for Under {
    fn default_doc(&self) -> String {
        format!("`<{}>/{}`", self.parent, self.child)
    }
}

/// A socket address (or `unix:` path) with a TCP default.
pub(crate) struct Addr(pub(crate) SocketAddr);

impl Kind for Addr {
    fn default_doc(&self) -> String {
        format!("`{}`", self.0)
    }
}

/// A value whose default is each platform's own (the platform owns it).
pub(crate) struct PerPlatform(pub(crate) fn(PlatformKind) -> String);

impl Kind for PerPlatform {
    fn default_doc(&self) -> String {
        PLATFORMS
            .iter()
            .map(|k| {
                let title = match k {
                    PlatformKind::Bilibili => "Bilibili",
                    PlatformKind::Douyin => "Douyin",
                    PlatformKind::Direct => "Direct",
                };
                format!("{title} `{}`", (self.0)(*k))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// No value unless one is written; the words say what happens without it.
pub(crate) struct Unset(pub(crate) &'static str);

impl Kind for Unset {
    fn default_doc(&self) -> String {
        self.0.to_string()
    }
}

/// Must be written.
pub(crate) struct Required;

impl Kind for Required {
    fn default_doc(&self) -> String {
        "required".to_string()
    }
}

/// The platforms with a `[platforms.*]` section.
pub(crate) const PLATFORMS: [PlatformKind; 2] = [PlatformKind::Bilibili, PlatformKind::Douyin];

/// The keys that changed from `current` to `new` but take effect only at a restart, by path,
/// in the table's order.
pub(crate) fn restart_needed(current: &Config, new: &Config) -> Vec<String> {
    KEYS.iter()
        .filter(|k| k.applies() == Applies::Restart)
        .filter(|k| {
            let show = k.show();
            let daemon = show.daemon.is_some_and(|get| get(current) != get(new));
            let platform = show.platform.is_some_and(|get| {
                PLATFORMS.iter().any(
                    |p| match (current.platforms.get(*p), new.platforms.get(*p)) {
                        (Some(a), Some(b)) => get(*p, a) != get(*p, b),
                        _ => false,
                    },
                )
            });
            daemon || platform
        })
        .map(|k| k.path())
        .collect()
}

#[cfg(test)]
mod tests;
