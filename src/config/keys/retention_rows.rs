//! The rows of `[retention]` (read by `config/retention.rs`). Retention is off without the
//! section, so what `check` shows of each key says "off" then.

use super::table::{RETENTION, secs, text};
use super::{Applies, Dur, Flag, Key, Show, Shown, Unset};
use crate::config::Config;
use crate::config::retention::RetentionConfig;
use crate::util::units::format_duration;

fn shown(c: &Config, get: fn(&RetentionConfig) -> Shown) -> Shown {
    c.retention.as_ref().map_or(Shown::Unset("off"), get)
}

pub(crate) const RETENTION_KEEP_FOR: Key<Unset> = Key {
    name: "keep_for",
    scopes: RETENTION,
    kind: Unset("none"),
    applies: Applies::NextPass,
    show: Show {
        daemon: Some(|c| {
            shown(c, |r| {
                r.keep_for
                    .map_or(Shown::Unset("none"), |d| text(format_duration(d)))
            })
        }),
        ..Show::NONE
    },
    doc: "finished segments older than this (from their end) are deleted",
};

pub(crate) const RETENTION_MIN_FREE_SPACE_TARGET: Key<Unset> = Key {
    name: "min_free_space_target",
    scopes: RETENTION,
    kind: Unset("none"),
    applies: Applies::NextPass,
    show: Show {
        daemon: Some(|c| {
            shown(c, |r| {
                r.min_free_space_target
                    .map_or(Shown::Unset("none"), |t| text(t.to_string()))
            })
        }),
        ..Show::NONE
    },
    doc: "below this free space (a size or a % of the disk), the oldest deletable segments go",
};

pub(crate) const RETENTION_REQUIRE_HOOKS_DONE: Key<Flag> = Key {
    name: "require_hooks_done",
    scopes: RETENTION,
    kind: Flag(true),
    applies: Applies::NextPass,
    show: Show {
        daemon: Some(|c| shown(c, |r| text(r.require_hooks_done.to_string()))),
        ..Show::NONE
    },
    doc: "only segments every subscribed hook has finished with are deleted",
};

pub(crate) const RETENTION_DELETE_CHAT: Key<Flag> = Key {
    name: "delete_chat",
    scopes: RETENTION,
    kind: Flag(true),
    applies: Applies::NextPass,
    show: Show {
        daemon: Some(|c| shown(c, |r| text(r.delete_chat.to_string()))),
        ..Show::NONE
    },
    doc: "the segment's chat file (.xml) goes with it",
};

pub(crate) const RETENTION_ROOMS: Key<Unset> = Key {
    name: "rooms",
    scopes: RETENTION,
    kind: Unset("every room"),
    applies: Applies::NextPass,
    show: Show {
        daemon: Some(|c| shown(c, |r| super::table::list(&r.rooms, "every room"))),
        ..Show::NONE
    },
    doc: "only these rooms' segments (names or keys)",
};

pub(crate) const RETENTION_INTERVAL: Key<Dur> = Key {
    name: "interval",
    scopes: RETENTION,
    kind: Dur {
        default: secs(60),
        min: secs(1),
        off: None,
    },
    applies: Applies::AtOnce,
    show: Show {
        daemon: Some(|c| shown(c, |r| text(format_duration(r.interval)))),
        ..Show::NONE
    },
    doc: "time between two retention passes",
};
