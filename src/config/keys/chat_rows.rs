//! The rows of the chat keys, written under `[platforms.*]` and per room. Their values are read
//! by `config/chat.rs` (which refuses what a platform's chat cannot do) and their defaults come
//! from [`ChatConfig::default_for`], so the table and the daemon cannot disagree.

use super::table::{PLATFORM_ROOM, text};
use super::{Applies, Key, PerPlatform, Show, Shown};
use crate::config::ChatConfig;
use crate::platform::{ChatKeys, PlatformConfig, PlatformKind};

/// A platform section's effective value of one chat flag (its rooms' unless they override it).
fn platform_value(k: PlatformKind, p: &PlatformConfig, pick: fn(&ChatConfig) -> bool) -> Shown {
    text(pick(&ChatConfig::merged(k, p.chat, ChatKeys::default())).to_string())
}

pub(crate) const DANMAKU: Key<PerPlatform> = Key {
    name: "danmaku",
    scopes: PLATFORM_ROOM,
    kind: PerPlatform(|k| ChatConfig::default_for(k).danmaku.to_string()),
    // The chat file of an open segment is kept to its end; a new one starts with the next.
    applies: Applies::NextSegment,
    show: Show {
        platform: Some(|k, p| platform_value(k, p, |c| c.danmaku)),
        room: Some(|s| text(s.chat.danmaku.to_string())),
        ..Show::NONE
    },
    doc: "a chat file beside every segment (Douyin's is experimental)",
};

pub(crate) const LIVE_PUSH: Key<PerPlatform> = Key {
    name: "live_push",
    scopes: PLATFORM_ROOM,
    kind: PerPlatform(|k| ChatConfig::default_for(k).live_push.to_string()),
    applies: Applies::AtOnce,
    show: Show {
        platform: Some(|k, p| platform_value(k, p, |c| c.live_push)),
        room: Some(|s| text(s.chat.live_push.to_string())),
        ..Show::NONE
    },
    doc: "chat stays connected while idle; a pushed live start polls at once (Bilibili)",
};

pub(crate) const DANMAKU_GIFTS: Key<PerPlatform> = Key {
    name: "danmaku_gifts",
    scopes: PLATFORM_ROOM,
    kind: PerPlatform(|k| ChatConfig::default_for(k).danmaku_gifts.to_string()),
    applies: Applies::AtOnce,
    show: Show {
        platform: Some(|k, p| platform_value(k, p, |c| c.danmaku_gifts)),
        room: Some(|s| text(s.chat.danmaku_gifts.to_string())),
        ..Show::NONE
    },
    doc: "gifts in the chat file",
};

pub(crate) const DANMAKU_RAW: Key<PerPlatform> = Key {
    name: "danmaku_raw",
    scopes: PLATFORM_ROOM,
    kind: PerPlatform(|k| ChatConfig::default_for(k).danmaku_raw.to_string()),
    // The chat connection is made anew with it.
    applies: Applies::AtOnce,
    show: Show {
        platform: Some(|k, p| platform_value(k, p, |c| c.danmaku_raw)),
        room: Some(|s| text(s.chat.danmaku_raw.to_string())),
        ..Show::NONE
    },
    doc: "each chat record's platform JSON as a raw attribute",
};
