//! The table: every key of `recorder.toml` in [`KEYS`], in the order `check` prints them and
//! README lists them, and the rows of the top level, `[control]` and `[[rooms]]` (the
//! platforms' rows are in `platform_rows.rs`, the hooks' in `hook_rows.rs`). A README row or
//! an example line that disagrees with a row fails a test.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use super::chat_rows::*;
use super::cluster_rows::*;
use super::degrade_rows::*;
use super::hook_rows::*;
use super::notify_rows::*;
use super::platform_rows::*;
use super::retention_rows::*;
use super::rule_rows::*;
use super::{
    Addr, Applies, Dur, Flag, Key, Required, Row, Scope, Show, Shown, Size, Text, Under, Unset,
    Whole,
};
use crate::util::secret::Secret;
use crate::util::units::{format_duration, format_size};

pub(super) const TOP: &[Scope] = &[Scope::Top];
pub(super) const TOP_ROOM: &[Scope] = &[Scope::Top, Scope::Room];
pub(super) const CONTROL: &[Scope] = &[Scope::Control];
pub(super) const PLATFORM: &[Scope] = &[Scope::Platform];
pub(super) const PLATFORM_ROOM: &[Scope] = &[Scope::Platform, Scope::Room];
pub(super) const ROOM: &[Scope] = &[Scope::Room];
pub(super) const HOOK: &[Scope] = &[Scope::Hook];
pub(super) const WEBHOOK: &[Scope] = &[Scope::Webhook];
pub(super) const NOTIFY: &[Scope] = &[Scope::Notify];
pub(super) const RETENTION: &[Scope] = &[Scope::Retention];

pub(super) const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) fn text(s: impl Into<String>) -> Shown {
    Shown::Text(s.into())
}

/// Zero turns a split off.
fn dur_or_off(d: Duration) -> Shown {
    if d.is_zero() {
        Shown::Unset("off")
    } else {
        text(format_duration(d))
    }
}

fn size_or_off(n: u64) -> Shown {
    if n == 0 {
        Shown::Unset("off")
    } else {
        text(format_size(n))
    }
}

pub(super) fn list(v: &[String], empty: &'static str) -> Shown {
    if v.is_empty() {
        Shown::Unset(empty)
    } else {
        text(v.join(","))
    }
}

pub(super) fn secret(s: &Option<Secret>) -> Shown {
    s.clone().map_or(Shown::Unset("none"), Shown::Secret)
}

/// Every key, in order.
pub(crate) const KEYS: &[&dyn Row] = &[
    &OUTPUT_DIR,
    &STATE_DIR,
    &LOCK_DIR,
    &MIN_FREE_SPACE,
    &MAX_RECORDINGS,
    &SHUTDOWN_TIMEOUT,
    &POLL_INTERVAL,
    &OFFLINE_GRACE,
    &STALL_TIMEOUT,
    &ALERT_AFTER,
    &SEGMENT_DURATION,
    &SEGMENT_SIZE,
    &FILENAME,
    &RECORD_WINDOW,
    &AT_WINDOW_END,
    &TITLE_INCLUDE,
    &TITLE_EXCLUDE,
    &MAX_SESSION_DURATION,
    &AUDIO_ONLY,
    &LISTEN,
    &TOKEN,
    &CLUSTER_BACKEND,
    &CLUSTER_ENDPOINTS,
    &CLUSTER_NAME,
    &CLUSTER_INSTANCE,
    &CLUSTER_LEASE_TTL,
    &CLUSTER_WEIGHT,
    &CLUSTER_ON_LEASE_LOSS,
    &CLUSTER_HANDOVER_OVERLAP,
    &CLUSTER_USER,
    &CLUSTER_PASSWORD_FILE,
    &API_BASE,
    &COOKIE,
    &COOKIE_FILE,
    &QUALITY,
    &FORMATS,
    &USER_AGENT,
    &CODECS,
    &REQUESTS_PER_SECOND,
    &BURST,
    &DANMAKU,
    &LIVE_PUSH,
    &DANMAKU_GIFTS,
    &DANMAKU_RAW,
    // Issue 16: covers and degraded recordings.
    &COVER,
    &DEGRADED_AFTER,
    &ROOM_URL,
    &ROOM_NAME,
    &ENABLED,
    &RECORD,
    &ROOM_PLATFORM,
    &HOOK_NAME,
    &HOOK_EVENTS,
    &HOOK_COMMAND,
    &HOOK_TIMEOUT,
    &HOOK_RETRIES,
    &HOOK_WINDOW,
    &HOOK_CONCURRENCY,
    &HOOK_ROOMS,
    &WEBHOOK_NAME,
    &WEBHOOK_URL,
    &WEBHOOK_EVENTS,
    &WEBHOOK_SECRET,
    &WEBHOOK_TIMEOUT,
    &WEBHOOK_RETRIES,
    &WEBHOOK_WINDOW,
    &WEBHOOK_ROOMS,
    &NOTIFY_NAME,
    &NOTIFY_KIND,
    &NOTIFY_EVENTS,
    &NOTIFY_MESSAGE,
    &NOTIFY_TIMEOUT,
    &NOTIFY_RETRIES,
    &NOTIFY_WINDOW,
    &NOTIFY_ROOMS,
    &NOTIFY_URL,
    &NOTIFY_URL_FILE,
    &NOTIFY_API_BASE,
    &NOTIFY_BOT_TOKEN,
    &NOTIFY_BOT_TOKEN_FILE,
    &NOTIFY_CHAT_ID,
    &NOTIFY_TOKEN,
    &NOTIFY_TOKEN_FILE,
    &NOTIFY_DEVICE_KEY,
    &RETENTION_KEEP_FOR,
    &RETENTION_MIN_FREE_SPACE_TARGET,
    &RETENTION_REQUIRE_HOOKS_DONE,
    &RETENTION_DELETE_CHAT,
    &RETENTION_ROOMS,
    &RETENTION_INTERVAL,
];

pub(crate) const OUTPUT_DIR: Key<Text> = Key {
    name: "output_dir",
    scopes: TOP,
    kind: Text("recordings"),
    applies: Applies::Restart,
    show: Show {
        daemon: Some(|c| text(c.output_dir.display().to_string())),
        ..Show::NONE
    },
    doc: "where finished segments go",
};

pub(crate) const STATE_DIR: Key<Under> = Key {
    name: "state_dir",
    scopes: TOP,
    kind: Under {
        parent: "output_dir",
        child: ".liverec",
    },
    applies: Applies::Restart,
    show: Show {
        daemon: Some(|c| text(c.state_dir.display().to_string())),
        ..Show::NONE
    },
    doc: "hook journal, segment records, control address file",
};

pub(crate) const LOCK_DIR: Key<Under> = Key {
    name: "lock_dir",
    scopes: TOP,
    kind: Under {
        parent: "state_dir",
        child: "locks",
    },
    applies: Applies::Restart,
    show: Show {
        daemon: Some(|c| text(c.lock_dir.display().to_string())),
        ..Show::NONE
    },
    doc: "room locks, shared between instances",
};

pub(crate) const MIN_FREE_SPACE: Key<Size> = Key {
    name: "min_free_space",
    scopes: TOP,
    kind: Size {
        default: 2 << 30,
        min: 0,
        off: None,
    },
    applies: Applies::AtOnce,
    show: Show {
        daemon: Some(|c| text(format_size(c.min_free_space))),
        ..Show::NONE
    },
    doc: "below it, segments close and no new file opens",
};

pub(crate) const MAX_RECORDINGS: Key<Whole> = Key {
    name: "max_recordings",
    scopes: TOP,
    kind: Whole {
        default: 0,
        min: 0,
        max: 100_000,
    },
    applies: Applies::Restart,
    show: Show {
        daemon: Some(|c| match c.max_recordings {
            0 => Shown::Unset("unlimited"),
            n => text(n.to_string()),
        }),
        ..Show::NONE
    },
    doc: "recordings at once in this instance; 0 is unlimited",
};

pub(crate) const SHUTDOWN_TIMEOUT: Key<Dur> = Key {
    name: "shutdown_timeout",
    scopes: TOP,
    kind: Dur {
        default: secs(20),
        min: secs(1),
        off: None,
    },
    applies: Applies::AtOnce,
    show: Show {
        daemon: Some(|c| text(format_duration(c.shutdown_timeout))),
        ..Show::NONE
    },
    doc: "budget to close and rename every open segment on stop",
};

pub(crate) const POLL_INTERVAL: Key<Dur> = Key {
    name: "poll_interval",
    scopes: TOP_ROOM,
    kind: Dur {
        default: secs(30),
        min: secs(1),
        off: None,
    },
    applies: Applies::NextPoll,
    show: Show {
        room: Some(|s| text(format_duration(s.poll_interval))),
        ..Show::NONE
    },
    doc: "status check per room",
};

pub(crate) const OFFLINE_GRACE: Key<Dur> = Key {
    name: "offline_grace",
    scopes: TOP_ROOM,
    kind: Dur {
        default: secs(60),
        min: Duration::ZERO,
        off: None,
    },
    applies: Applies::NextPoll,
    show: Show {
        room: Some(|s| text(format_duration(s.offline_grace))),
        ..Show::NONE
    },
    doc: "a drop shorter than this stays in the same session",
};

pub(crate) const STALL_TIMEOUT: Key<Dur> = Key {
    name: "stall_timeout",
    scopes: TOP_ROOM,
    kind: Dur {
        default: secs(15),
        min: secs(1),
        off: None,
    },
    applies: Applies::NextConnection,
    show: Show {
        room: Some(|s| text(format_duration(s.stall_timeout))),
        ..Show::NONE
    },
    doc: "no bytes for this long: reconnect",
};

pub(crate) const ALERT_AFTER: Key<Dur> = Key {
    name: "alert_after",
    scopes: TOP_ROOM,
    kind: Dur {
        default: secs(90),
        min: secs(1),
        off: None,
    },
    applies: Applies::NextPoll,
    show: Show {
        room: Some(|s| text(format_duration(s.alert_after))),
        ..Show::NONE
    },
    doc: "live but nothing written for this long: recording_failed",
};

pub(crate) const SEGMENT_DURATION: Key<Dur> = Key {
    name: "segment_duration",
    scopes: TOP_ROOM,
    kind: Dur {
        default: secs(3600),
        min: secs(1),
        off: Some("no time split"),
    },
    applies: Applies::NextSegment,
    show: Show {
        room: Some(|s| dur_or_off(s.segment_duration)),
        ..Show::NONE
    },
    doc: "new file at the next keyframe after this much media",
};

pub(crate) const SEGMENT_SIZE: Key<Size> = Key {
    name: "segment_size",
    scopes: TOP_ROOM,
    kind: Size {
        default: 4 << 30,
        min: 1 << 20,
        off: Some("no size split"),
    },
    applies: Applies::NextSegment,
    show: Show {
        room: Some(|s| size_or_off(s.segment_size)),
        ..Show::NONE
    },
    doc: "new file at the next keyframe before passing this size",
};

pub(crate) const FILENAME: Key<Text> = Key {
    name: "filename",
    scopes: TOP_ROOM,
    kind: Text(super::super::DEFAULT_FILENAME),
    applies: Applies::NextSegment,
    show: Show {
        room: Some(|s| text(s.filename.as_str())),
        ..Show::NONE
    },
    doc: "file name template, relative to output_dir, without extension",
};

pub(crate) const LISTEN: Key<Addr> = Key {
    name: "listen",
    scopes: CONTROL,
    kind: Addr(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8787))),
    applies: Applies::Restart,
    show: Show {
        daemon: Some(|c| text(c.control.listen.to_string())),
        ..Show::NONE
    },
    doc: "control API address, or unix:/path/to.sock",
};

pub(crate) const TOKEN: Key<Unset> = Key {
    name: "token",
    scopes: CONTROL,
    kind: Unset("empty"),
    applies: Applies::AtOnce,
    show: Show {
        daemon: Some(|c| secret(&c.control.token)),
        ..Show::NONE
    },
    doc: "bearer token for the API",
};

pub(crate) const ROOM_URL: Key<Required> = Key {
    name: "url",
    scopes: ROOM,
    kind: Required,
    applies: Applies::AtOnce,
    show: Show::NONE,
    doc: "the live page or stream URL; another URL is another room",
};

pub(crate) const ROOM_NAME: Key<Unset> = Key {
    name: "name",
    scopes: ROOM,
    kind: Unset("the streamer's name"),
    applies: Applies::NextSegment,
    show: Show::NONE,
    doc: "label for file names, status and hook filters",
};

pub(crate) const ENABLED: Key<Flag> = Key {
    name: "enabled",
    scopes: ROOM,
    kind: Flag(true),
    applies: Applies::AtOnce,
    show: Show::NONE,
    doc: "false keeps the room in the file without recording it",
};

pub(crate) const RECORD: Key<Flag> = Key {
    name: "record",
    scopes: ROOM,
    kind: Flag(true),
    applies: Applies::AtOnce,
    show: Show::NONE,
    doc: "false watches the room and notifies, but records nothing",
};

pub(crate) const ROOM_PLATFORM: Key<Unset> = Key {
    name: "platform",
    scopes: ROOM,
    kind: Unset("from the URL"),
    applies: Applies::AtOnce,
    show: Show::NONE,
    doc: "\"direct\" records any http(s) URL as-is",
};
