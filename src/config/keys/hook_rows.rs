//! The rows of `[[hooks]]` and `[[webhooks]]` keys (read by `config/hooks.rs`; docs/hooks.md
//! documents them and a test holds it to these defaults).

use std::time::Duration;

use super::table::{HOOK, WEBHOOK, secs};
use super::{Applies, Dur, Key, Required, Show, Unset, Whole};

pub(crate) const HOOK_NAME: Key<Required> = Key {
    name: "name",
    scopes: HOOK,
    kind: Required,
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "unique among hooks and webhooks; keys the delivery journal",
};

pub(crate) const HOOK_EVENTS: Key<Required> = Key {
    name: "events",
    scopes: HOOK,
    kind: Required,
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "the events delivered",
};

pub(crate) const HOOK_COMMAND: Key<Required> = Key {
    name: "command",
    scopes: HOOK,
    kind: Required,
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "program and arguments, run without a shell",
};

pub(crate) const HOOK_TIMEOUT: Key<Dur> = Key {
    name: "timeout",
    scopes: HOOK,
    kind: Dur {
        default: secs(600),
        min: Duration::ZERO,
        off: None,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "the process group is killed after this",
};

pub(crate) const HOOK_RETRIES: Key<Whole> = Key {
    name: "retries",
    scopes: HOOK,
    kind: Whole {
        default: 3,
        min: 0,
        max: 100,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "attempts after the first, with a growing backoff",
};

pub(crate) const HOOK_WINDOW: Key<Unset> = Key {
    name: "window",
    scopes: HOOK,
    kind: Unset("any time"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "deliveries start only in this daily local-time window",
};

pub(crate) const HOOK_CONCURRENCY: Key<Whole> = Key {
    name: "concurrency",
    scopes: HOOK,
    kind: Whole {
        default: 1,
        min: 1,
        max: 64,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "runs of this hook at once, across rooms",
};

pub(crate) const HOOK_ROOMS: Key<Unset> = Key {
    name: "rooms",
    scopes: HOOK,
    kind: Unset("every room"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "only these rooms, by name or key",
};

pub(crate) const WEBHOOK_NAME: Key<Unset> = Key {
    name: "name",
    scopes: WEBHOOK,
    kind: Unset("webhook-0, webhook-1, …"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "unique among hooks and webhooks; keys the delivery journal",
};

pub(crate) const WEBHOOK_URL: Key<Required> = Key {
    name: "url",
    scopes: WEBHOOK,
    kind: Required,
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "where the event JSON is POSTed",
};

pub(crate) const WEBHOOK_EVENTS: Key<Required> = Key {
    name: "events",
    scopes: WEBHOOK,
    kind: Required,
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "the events delivered",
};

pub(crate) const WEBHOOK_SECRET: Key<Unset> = Key {
    name: "secret",
    scopes: WEBHOOK,
    kind: Unset("none"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "HMAC-SHA256 key of the body's signature",
};

pub(crate) const WEBHOOK_TIMEOUT: Key<Dur> = Key {
    name: "timeout",
    scopes: WEBHOOK,
    kind: Dur {
        default: secs(10),
        min: Duration::ZERO,
        off: None,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "an attempt that takes longer fails",
};

pub(crate) const WEBHOOK_RETRIES: Key<Whole> = Key {
    name: "retries",
    scopes: WEBHOOK,
    kind: Whole {
        default: 8,
        min: 0,
        max: 100,
    },
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "attempts after the first, with a growing backoff",
};

pub(crate) const WEBHOOK_WINDOW: Key<Unset> = Key {
    name: "window",
    scopes: WEBHOOK,
    kind: Unset("any time"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "deliveries start only in this daily local-time window",
};

pub(crate) const WEBHOOK_ROOMS: Key<Unset> = Key {
    name: "rooms",
    scopes: WEBHOOK,
    kind: Unset("every room"),
    applies: Applies::NextAttempt,
    show: Show::NONE,
    doc: "only these rooms, by name or key",
};
