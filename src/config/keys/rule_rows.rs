//! The rows of the recording rules (issue 16), written at the top level and per room. Their
//! values are read by `config/rules.rs`, which also holds their types.

use super::table::{TOP_ROOM, text};
use super::{Applies, Dur, Flag, Key, Show, Shown, Text, Unset};
use crate::util::units::format_duration;

pub(crate) const RECORD_WINDOW: Key<Unset> = Key {
    name: "record_window",
    scopes: TOP_ROOM,
    kind: Unset("always"),
    applies: Applies::AtOnce,
    show: Show {
        room: Some(|s| {
            if s.rules.windows.is_empty() {
                Shown::Unset("always")
            } else {
                text(s.rules.windows.to_string())
            }
        }),
        ..Show::NONE
    },
    doc: "local times the room is polled and recorded in; outside them it is not polled",
};

pub(crate) const AT_WINDOW_END: Key<Text> = Key {
    name: "at_window_end",
    scopes: TOP_ROOM,
    kind: Text("finish"),
    applies: Applies::AtOnce,
    show: Show {
        room: Some(|s| text(s.rules.at_window_end.as_str())),
        ..Show::NONE
    },
    doc: "finish records the live in progress to its end; stop ends it with the window",
};

pub(crate) const TITLE_INCLUDE: Key<Unset> = Key {
    name: "title_include",
    scopes: TOP_ROOM,
    kind: Unset("none"),
    applies: Applies::NextPoll,
    show: Show {
        room: Some(|s| {
            s.rules
                .title_include
                .as_ref()
                .map_or(Shown::Unset("none"), |p| text(p.as_str()))
        }),
        ..Show::NONE
    },
    doc: "a session is recorded only if its title matches this regular expression",
};

pub(crate) const TITLE_EXCLUDE: Key<Unset> = Key {
    name: "title_exclude",
    scopes: TOP_ROOM,
    kind: Unset("none"),
    applies: Applies::NextPoll,
    show: Show {
        room: Some(|s| {
            s.rules
                .title_exclude
                .as_ref()
                .map_or(Shown::Unset("none"), |p| text(p.as_str()))
        }),
        ..Show::NONE
    },
    doc: "a session whose title matches this regular expression is not recorded",
};

pub(crate) const MAX_SESSION_DURATION: Key<Dur> = Key {
    name: "max_session_duration",
    scopes: TOP_ROOM,
    kind: Dur {
        default: std::time::Duration::ZERO,
        min: std::time::Duration::from_secs(1),
        off: Some("no limit"),
    },
    applies: Applies::AtOnce,
    show: Show {
        room: Some(|s| {
            if s.rules.max_session.is_zero() {
                Shown::Unset("off")
            } else {
                text(format_duration(s.rules.max_session))
            }
        }),
        ..Show::NONE
    },
    doc: "a session's recording ends after this long; the room idles until the next live",
};

pub(crate) const AUDIO_ONLY: Key<Flag> = Key {
    name: "audio_only",
    scopes: TOP_ROOM,
    kind: Flag(false),
    applies: Applies::NextSession,
    show: Show {
        room: Some(|s| text(s.rules.audio_only.to_string())),
        ..Show::NONE
    },
    doc: "files hold only the audio track",
};
