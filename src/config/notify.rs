//! `[[notify]]`: messages to a phone or a chat (Telegram, ntfy, Gotify, Bark, Discord, Slack),
//! delivered through the hook journal like webhooks. Each kind takes its own keys; a key of
//! another kind is refused, so a `chat_id` under an ntfy entry is a typo `check` reports rather
//! than a setting silently ignored. Tokens, device keys and webhook URLs (whose path is the
//! secret) are [`Secret`]s: they never reach a log line or `check`'s output.

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use super::hooks::{Window, read_events, read_window};
use super::keys;
use super::raw::{Report, Section};
use super::{HOOK_FIELDS, TIME_FIELDS};

mod endpoint;
use crate::event::EventType;
use crate::template::Template;
use crate::util::secret::{Secret, redact_endpoint};

/// Placeholders a notification message may use: a hook argument's, and `{error}` (what a
/// failure event says went wrong), kept as one list so a new hook placeholder reaches both.
pub(crate) static NOTIFY_FIELDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| HOOK_FIELDS.iter().copied().chain(["error"]).collect());

/// What an entry without `events` is sent: what is worth a buzz on a phone.
pub(crate) const DEFAULT_EVENTS: [EventType; 6] = [
    EventType::LiveStart,
    EventType::RecordingFailed,
    EventType::DiskLow,
    EventType::HookFailed,
    // A recording that silently got worse (issue 16).
    EventType::QualityDegraded,
    EventType::LoginLost,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotifyKind {
    Telegram,
    Ntfy,
    Gotify,
    Bark,
    Discord,
    Slack,
}

impl NotifyKind {
    pub(crate) const ALL: [NotifyKind; 6] = [
        NotifyKind::Telegram,
        NotifyKind::Ntfy,
        NotifyKind::Gotify,
        NotifyKind::Bark,
        NotifyKind::Discord,
        NotifyKind::Slack,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Telegram => "telegram",
            NotifyKind::Ntfy => "ntfy",
            NotifyKind::Gotify => "gotify",
            NotifyKind::Bark => "bark",
            NotifyKind::Discord => "discord",
            NotifyKind::Slack => "slack",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The keys of this kind, beyond those every entry takes.
    fn keys(self) -> &'static [&'static str] {
        match self {
            NotifyKind::Telegram => &["api_base", "bot_token", "bot_token_file", "chat_id"],
            NotifyKind::Ntfy | NotifyKind::Gotify => &["url", "token", "token_file"],
            NotifyKind::Bark => &["url", "device_key"],
            NotifyKind::Discord | NotifyKind::Slack => &["url", "url_file"],
        }
    }
}

impl fmt::Display for NotifyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a notification goes, with what it needs to get there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Endpoint {
    /// `POST <api_base>/bot<token>/sendMessage`.
    Telegram {
        api_base: String,
        bot_token: Secret,
        chat_id: String,
    },
    /// `POST <topic URL>`: the topic name is all it takes to read a public topic, so the URL
    /// is a secret.
    Ntfy {
        url: Secret,
        token: Option<Secret>,
    },
    /// `POST <server>/message`.
    Gotify {
        url: String,
        token: Secret,
    },
    /// `POST <server>/push`.
    Bark {
        url: String,
        device_key: Secret,
    },
    Discord {
        url: Secret,
    },
    Slack {
        url: Secret,
    },
}

impl Endpoint {
    pub(crate) fn kind(&self) -> NotifyKind {
        match self {
            Endpoint::Telegram { .. } => NotifyKind::Telegram,
            Endpoint::Ntfy { .. } => NotifyKind::Ntfy,
            Endpoint::Gotify { .. } => NotifyKind::Gotify,
            Endpoint::Bark { .. } => NotifyKind::Bark,
            Endpoint::Discord { .. } => NotifyKind::Discord,
            Endpoint::Slack { .. } => NotifyKind::Slack,
        }
    }

    /// The kind and server, as logs and `check` show them: no token, no path that holds one.
    pub(crate) fn describe(&self) -> String {
        let server = match self {
            Endpoint::Telegram { api_base, .. } => redact_endpoint(api_base),
            Endpoint::Gotify { url, .. } | Endpoint::Bark { url, .. } => redact_endpoint(url),
            Endpoint::Ntfy { url, .. } | Endpoint::Discord { url } | Endpoint::Slack { url } => {
                redact_endpoint(url.expose())
            }
        };
        format!("{} {server}", self.kind())
    }

    /// Every secret of the endpoint, to scrub from any text that could echo one (an error).
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match self {
            Endpoint::Telegram { bot_token, .. } => out.push(bot_token.expose()),
            Endpoint::Ntfy { url, token } => {
                out.push(url.expose());
                out.extend(token.as_ref().map(Secret::expose));
            }
            Endpoint::Gotify { token, .. } => out.push(token.expose()),
            Endpoint::Bark { device_key, .. } => out.push(device_key.expose()),
            Endpoint::Discord { url } | Endpoint::Slack { url } => out.push(url.expose()),
        }
        out.retain(|s| !s.is_empty());
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NotifyConfig {
    pub(crate) name: String,
    pub(crate) events: Vec<EventType>,
    pub(crate) rooms: Vec<String>,
    /// `None`: each event type's own wording.
    pub(crate) message: Option<Template>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) window: Option<Window>,
    pub(crate) endpoint: Endpoint,
}

pub(super) fn read_notify(
    mut sec: Section<'_, '_>,
    n: usize,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<NotifyConfig> {
    let (path, span) = (sec.path.clone(), sec.span.clone());
    let name = sec
        .take(keys::NOTIFY_NAME.name)
        .and_then(|f| {
            let s = f.string(rep)?;
            if s.trim().is_empty() {
                f.fail(rep, "must not be empty (leave it out for notify-N)");
                return None;
            }
            Some(s)
        })
        .unwrap_or_else(|| format!("notify-{n}"));
    let kind_field = sec.take(keys::NOTIFY_KIND.name);
    let events = match sec.take(keys::NOTIFY_EVENTS.name) {
        Some(f) => read_events(Some(f), &path, &span, rep),
        None => DEFAULT_EVENTS.to_vec(),
    };
    let message = sec.take(keys::NOTIFY_MESSAGE.name).and_then(|f| {
        let text = f.str(rep)?;
        if text.trim().is_empty() {
            f.fail(
                rep,
                "must not be empty (leave it out for each event's own words)",
            );
            return None;
        }
        Template::parse(text, &NOTIFY_FIELDS, TIME_FIELDS)
            .map_err(|e| f.fail(rep, e))
            .ok()
    });
    let timeout = keys::NOTIFY_TIMEOUT.get(&mut sec, rep);
    let retries = keys::NOTIFY_RETRIES.get(&mut sec, rep) as u32;
    let window = read_window(sec.take(keys::NOTIFY_WINDOW.name), rep);
    let rooms = sec
        .take(keys::NOTIFY_ROOMS.name)
        .and_then(|f| f.strings(rep))
        .unwrap_or_default();
    let fields = endpoint::KindFields::take(&mut sec);
    sec.finish(rep);
    let kind = match &kind_field {
        None => {
            let known: Vec<_> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
            endpoint::missing(
                rep,
                &path,
                "kind",
                &span,
                &format!("one of {}", known.join(", ")),
            );
            None
        }
        Some(f) => f.str(rep).and_then(|s| {
            NotifyKind::parse(s).or_else(|| {
                let known: Vec<_> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
                let hint = known
                    .iter()
                    .find(|k| strsim::damerau_levenshtein(&s.to_lowercase(), k) <= 2)
                    .map(|k| format!(" (did you mean {k:?}?)"))
                    .unwrap_or_default();
                f.fail(
                    rep,
                    format!(
                        "{s:?} is not a kind of notification{hint} (known: {})",
                        known.join(", ")
                    ),
                );
                None
            })
        }),
    }?;
    if !fields.only_of(kind, rep) {
        return None;
    }
    let endpoint = endpoint::read(kind, &fields, &path, &span, base, rep)?;
    Some(NotifyConfig {
        name,
        events,
        rooms,
        message,
        timeout,
        retries,
        window,
        endpoint,
    })
}

#[cfg(test)]
mod tests;
