//! The rows of `[[notify]]` keys (read by `config/notify.rs`; docs/hooks.md documents them and a
//! test holds it to these defaults). One row per key name: a key such as `url` means what its
//! `kind` makes of it, and the reader refuses a key the entry's kind does not take.

use std::time::Duration;

use super::table::{NOTIFY, secs};
use super::{Applies, Dur, Key, Required, Show, Unset, Whole};

pub(crate) const NOTIFY_NAME: Key<Unset> = Key {
    name: "name",
    scopes: NOTIFY,
    kind: Unset("notify-0, notify-1, …"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "unique among hooks, webhooks and notifications; keys the delivery journal",
};

pub(crate) const NOTIFY_KIND: Key<Required> = Key {
    name: "kind",
    scopes: NOTIFY,
    kind: Required,
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "telegram, ntfy, gotify, bark, discord or slack",
};

pub(crate) const NOTIFY_EVENTS: Key<Unset> = Key {
    name: "events",
    scopes: NOTIFY,
    kind: Unset(
        "live_start, recording_failed, disk_low, hook_failed, quality_degraded, login_lost",
    ),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "the events notified",
};

pub(crate) const NOTIFY_MESSAGE: Key<Unset> = Key {
    name: "message",
    scopes: NOTIFY,
    kind: Unset("one per event type"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "the text sent, a template with the hooks' placeholders and {error}",
};

pub(crate) const NOTIFY_ROOMS: Key<Unset> = Key {
    name: "rooms",
    scopes: NOTIFY,
    kind: Unset("every room"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "only these rooms, by name or key",
};

pub(crate) const NOTIFY_TIMEOUT: Key<Dur> = Key {
    name: "timeout",
    scopes: NOTIFY,
    kind: Dur {
        default: secs(10),
        min: Duration::ZERO,
        off: None,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "an attempt that takes longer fails",
};

pub(crate) const NOTIFY_RETRIES: Key<Whole> = Key {
    name: "retries",
    scopes: NOTIFY,
    kind: Whole {
        default: 8,
        min: 0,
        max: 100,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "attempts after the first, with a growing backoff",
};

pub(crate) const NOTIFY_WINDOW: Key<Unset> = Key {
    name: "window",
    scopes: NOTIFY,
    kind: Unset("any time"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "notifications are sent only in this daily local-time window",
};

pub(crate) const NOTIFY_URL: Key<Unset> = Key {
    name: "url",
    scopes: NOTIFY,
    kind: Unset("bark: https://api.day.app; required for ntfy, gotify, discord, slack"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "ntfy: the topic URL; gotify, bark: the server; discord, slack: the webhook URL",
};

pub(crate) const NOTIFY_URL_FILE: Key<Unset> = Key {
    name: "url_file",
    scopes: NOTIFY,
    kind: Unset("none"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "discord, slack: a file holding the webhook URL, instead of url",
};

pub(crate) const NOTIFY_API_BASE: Key<Unset> = Key {
    name: "api_base",
    scopes: NOTIFY,
    kind: Unset("https://api.telegram.org"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "telegram: the Bot API server (a proxy, a local Bot API server, a test)",
};

pub(crate) const NOTIFY_BOT_TOKEN: Key<Unset> = Key {
    name: "bot_token",
    scopes: NOTIFY,
    kind: Unset("none"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "telegram: the bot's token (or bot_token_file); never logged",
};

pub(crate) const NOTIFY_BOT_TOKEN_FILE: Key<Unset> = Key {
    name: "bot_token_file",
    scopes: NOTIFY,
    kind: Unset("none"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "telegram: a file holding the bot's token",
};

pub(crate) const NOTIFY_CHAT_ID: Key<Unset> = Key {
    name: "chat_id",
    scopes: NOTIFY,
    kind: Unset("required for telegram"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "telegram: the chat, group or @channel to write to",
};

pub(crate) const NOTIFY_TOKEN: Key<Unset> = Key {
    name: "token",
    scopes: NOTIFY,
    kind: Unset("none"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "ntfy: an access token (optional); gotify: the application token; never logged",
};

pub(crate) const NOTIFY_TOKEN_FILE: Key<Unset> = Key {
    name: "token_file",
    scopes: NOTIFY,
    kind: Unset("none"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "ntfy, gotify: a file holding the token, instead of token",
};

pub(crate) const NOTIFY_DEVICE_KEY: Key<Unset> = Key {
    name: "device_key",
    scopes: NOTIFY,
    kind: Unset("required for bark"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "bark: the device key the app shows; never logged",
};
