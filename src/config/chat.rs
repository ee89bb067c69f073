//! The chat keys (`danmaku`, `live_push`, `danmaku_gifts`, `danmaku_raw`), under
//! `[platforms.*]` and per room. Their rows are in `keys/chat_rows.rs`; what stays here is what
//! a row cannot say: a key refused for a platform whose chat cannot do it (any chat key on a
//! direct URL, `live_push` on Douyin), and how a room's keys merge over its platform's.

use super::raw::{Report, Section};
use crate::platform::{ChatKeys, PlatformKind};

/// A room's effective chat settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChatConfig {
    /// A chat file beside every segment.
    pub(crate) danmaku: bool,
    /// The chat connection stays open while the room is idle; a pushed live start polls.
    pub(crate) live_push: bool,
    pub(crate) danmaku_gifts: bool,
    pub(crate) danmaku_raw: bool,
}

impl ChatConfig {
    /// Chat recording is on by default for Bilibili; Douyin's (experimental) is opt-in, and
    /// only Bilibili pushes live starts to idle rooms.
    pub(crate) fn default_for(kind: PlatformKind) -> Self {
        let bili = kind == PlatformKind::Bilibili;
        Self {
            danmaku: bili,
            live_push: bili,
            danmaku_gifts: false,
            danmaku_raw: false,
        }
    }

    /// The room's keys over the platform's over the defaults.
    pub(crate) fn merged(kind: PlatformKind, platform: ChatKeys, room: ChatKeys) -> Self {
        let d = Self::default_for(kind);
        let pick = |r: Option<bool>, p: Option<bool>, d: bool| r.or(p).unwrap_or(d);
        Self {
            danmaku: pick(room.danmaku, platform.danmaku, d.danmaku),
            live_push: pick(room.live_push, platform.live_push, d.live_push),
            danmaku_gifts: pick(room.danmaku_gifts, platform.danmaku_gifts, d.danmaku_gifts),
            danmaku_raw: pick(room.danmaku_raw, platform.danmaku_raw, d.danmaku_raw),
        }
    }
}

/// Reads the chat keys of a section; `kind` is the platform when it is known (a room's, or a
/// `[platforms.*]` section's), to refuse what its chat cannot do.
pub(crate) fn read_chat_keys(
    sec: &mut Section<'_, '_>,
    rep: &mut Report<'_>,
    kind: Option<PlatformKind>,
) -> ChatKeys {
    let mut keys = ChatKeys::default();
    for (name, slot) in [
        (super::keys::DANMAKU.name, &mut keys.danmaku),
        (super::keys::LIVE_PUSH.name, &mut keys.live_push),
        (super::keys::DANMAKU_GIFTS.name, &mut keys.danmaku_gifts),
        (super::keys::DANMAKU_RAW.name, &mut keys.danmaku_raw),
    ] {
        let Some(f) = sec.take(name) else { continue };
        let Some(v) = f.bool(rep) else { continue };
        if v {
            if let Some(why) = kind.and_then(|k| refusal(k, name)) {
                f.fail(rep, why);
                continue;
            }
        }
        *slot = Some(v);
    }
    keys
}

/// Why `key = true` cannot be for a room of `kind`, if it cannot.
fn refusal(kind: PlatformKind, key: &str) -> Option<String> {
    match (kind, key) {
        (PlatformKind::Direct, _) => {
            Some("a direct stream URL has no chat: remove it (it is a Bilibili and Douyin setting)".into())
        }
        (PlatformKind::Douyin, k) if k == super::keys::LIVE_PUSH.name => Some(
            "Douyin's chat can only be reached while the room is live (it needs the broadcast's id), \
             so it cannot push live starts: remove it (it is a Bilibili setting)"
                .into(),
        ),
        _ => None,
    }
}
