//! The rows of issue 16's keys about what a recording keeps and how it degrades: `cover` (top
//! level, `[platforms.*]`, each room) and `degraded_after` (top level, each room).

use super::table::{secs, text};
use super::{Applies, Dur, Flag, Key, Scope, Show, Shown};

const TOP_PLATFORM_ROOM: &[Scope] = &[Scope::Top, Scope::Platform, Scope::Room];

pub(crate) const COVER: Key<Flag> = Key {
    name: "cover",
    scopes: TOP_PLATFORM_ROOM,
    kind: Flag(false),
    // Read when a session's first segment opens: a change applies from the next session.
    applies: Applies::NextSegment,
    show: Show {
        platform: Some(|_, p| {
            p.cover
                .map_or(Shown::Unset("the top-level value"), |c| text(c.to_string()))
        }),
        room: Some(|s| text(s.cover.to_string())),
        ..Show::NONE
    },
    doc: "the live's cover image beside the session's first segment, with the same stem",
};

pub(crate) const DEGRADED_AFTER: Key<Dur> = Key {
    name: "degraded_after",
    scopes: super::table::TOP_ROOM,
    kind: Dur {
        default: secs(60),
        min: secs(1),
        off: None,
    },
    applies: Applies::AtOnce,
    show: Show {
        room: Some(|s| text(crate::util::units::format_duration(s.degraded_after))),
        ..Show::NONE
    },
    doc: "recording below the wanted quality for this long: quality_degraded",
};
