//! The rows of `[platforms.*]` keys. Their values are read by `config/platforms.rs` and belong
//! to `platform`'s settings; a new platform key is one row here, one entry in `KEYS`, one field
//! in `PlatformConfig` and its reader.

use super::table::{PLATFORM, PLATFORM_ROOM, list, secret, text};
use super::{Applies, Key, PerPlatform, Show, Shown, Unset};
use crate::platform::limiter::Budget;

pub(crate) const API_BASE: Key<Unset> = Key {
    name: "api_base",
    scopes: PLATFORM,
    kind: Unset("the platform's own"),
    applies: Applies::Restart,
    show: Show {
        platform: Some(|_, p| {
            p.api_base
                .clone()
                .map_or(Shown::Unset("public"), Shown::Url)
        }),
        ..Show::NONE
    },
    doc: "a mirror or test server that every request of the platform goes to",
};

pub(crate) const COOKIE: Key<Unset> = Key {
    name: "cookie",
    scopes: PLATFORM_ROOM,
    kind: Unset("none"),
    applies: Applies::NextConnection,
    show: Show {
        platform: Some(|_, p| secret(&p.cookie)),
        room: Some(|s| secret(&s.cookie)),
        ..Show::NONE
    },
    doc: "login cookie, one Cookie header line; never logged",
};

pub(crate) const COOKIE_FILE: Key<Unset> = Key {
    name: "cookie_file",
    scopes: PLATFORM_ROOM,
    kind: Unset("none"),
    applies: Applies::NextConnection,
    show: Show::NONE,
    doc: "a file holding the cookie, instead of cookie",
};

pub(crate) const QUALITY: Key<PerPlatform> = Key {
    name: "quality",
    scopes: PLATFORM_ROOM,
    kind: PerPlatform(|k| k.default_quality().join(", ")),
    applies: Applies::NextConnection,
    show: Show {
        platform: Some(|k, p| list(&p.quality.clone().unwrap_or(k.default_quality()), "source")),
        room: Some(|s| list(&s.quality, "source")),
        ..Show::NONE
    },
    doc: "qualities in order of preference",
};

pub(crate) const FORMATS: Key<PerPlatform> = Key {
    name: "formats",
    scopes: PLATFORM_ROOM,
    kind: PerPlatform(|k| k.default_formats().join(", ")),
    applies: Applies::NextConnection,
    show: Show {
        platform: Some(|k, p| {
            list(
                &p.formats.clone().unwrap_or(k.default_formats()),
                "from the URL",
            )
        }),
        room: Some(|s| list(&s.formats, "from the URL")),
        ..Show::NONE
    },
    doc: "stream formats in order of preference",
};

pub(crate) const USER_AGENT: Key<Unset> = Key {
    name: "user_agent",
    scopes: PLATFORM,
    kind: Unset("a current desktop Chrome"),
    applies: Applies::Restart,
    show: Show {
        platform: Some(|_, p| p.user_agent.clone().map_or(Shown::Unset("built-in"), text)),
        ..Show::NONE
    },
    doc: "the browser User-Agent sent to the platform",
};

pub(crate) const CODECS: Key<Unset> = Key {
    name: "codecs",
    scopes: PLATFORM_ROOM,
    kind: Unset("AVC first, HEVC as the fallback"),
    applies: Applies::NextConnection,
    show: Show {
        platform: Some(|_, p| list(p.codecs.as_deref().unwrap_or_default(), "default")),
        room: Some(|s| list(&s.codecs, "default")),
        ..Show::NONE
    },
    doc: "codecs in order of preference (Bilibili)",
};

pub(crate) const REQUESTS_PER_SECOND: Key<PerPlatform> = Key {
    name: "requests_per_second",
    scopes: PLATFORM,
    kind: PerPlatform(|k| format!("{:?}", Budget::default_for(k).per_second)),
    applies: Applies::Restart,
    show: Show {
        platform: Some(|k, p| text(format!("{:?}", Budget::configured(k, p).per_second))),
        ..Show::NONE
    },
    doc: "the platform's request budget: requests a second",
};

pub(crate) const BURST: Key<PerPlatform> = Key {
    name: "burst",
    scopes: PLATFORM,
    kind: PerPlatform(|k| Budget::default_for(k).burst.to_string()),
    applies: Applies::Restart,
    show: Show {
        platform: Some(|k, p| text(Budget::configured(k, p).burst.to_string())),
        ..Show::NONE
    },
    doc: "the platform's request budget: requests at once",
};
