//! A platform's settings from the config file's `[platforms.*]` sections. They live here, not in
//! `config`, because `config` validates rooms with the platforms' own knowledge (URL recognition,
//! known formats): the arrow points from config to platform, never back.

use super::PlatformKind;
use crate::util::secret::Secret;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PlatformConfig {
    pub(crate) api_base: Option<String>,
    pub(crate) cookie: Option<Secret>,
    pub(crate) quality: Option<Vec<String>>,
    pub(crate) formats: Option<Vec<String>>,
    /// `user_agent`: the browser User-Agent sent to the platform (API calls, pages, stream
    /// requests) instead of [`crate::http::BROWSER_UA`].
    pub(crate) user_agent: Option<String>,
    pub(crate) codecs: Option<Vec<String>>,
    /// The platform's request budget (`platform::limiter::Budget`); `None` = its default.
    pub(crate) requests_per_second: Option<f64>,
    pub(crate) burst: Option<u32>,
    /// `danmaku`, `live_push`, `danmaku_gifts`, `danmaku_raw` for the platform's rooms.
    pub(crate) chat: ChatKeys,
    /// `cover` for the platform's rooms, over the top-level value.
    pub(crate) cover: Option<bool>,
}

/// The chat keys of one section (`[platforms.*]` or a room), as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChatKeys {
    pub(crate) danmaku: Option<bool>,
    pub(crate) live_push: Option<bool>,
    pub(crate) danmaku_gifts: Option<bool>,
    pub(crate) danmaku_raw: Option<bool>,
}

impl PlatformConfig {
    /// The configured `api_base` when it names another server than the platform's own
    /// (`default`): a mirror or a test server, without its trailing slash. The platform's own
    /// base, however it is written, is no override: hosts other than the API's (Bilibili's
    /// `nav`, share links, Douyin's profile pages) are only redirected for a real override.
    pub(crate) fn api_override(&self, default: &str) -> Option<String> {
        let base = self.api_base.as_deref()?;
        (!same_base(base, default)).then(|| base.trim().trim_end_matches('/').to_string())
    }
}

/// Whether two base URLs name the same server and path: case, a trailing slash, a port
/// that is the scheme's default and the scheme itself do not matter (the platform's public
/// base written as `http://API.live.bilibili.com:80/` is still the public base).
pub(crate) fn same_base(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let u = url::Url::parse(s.trim()).ok()?;
        Some((
            u.host_str()?.to_ascii_lowercase(),
            u.port(),
            u.path().trim_end_matches('/').to_string(),
            u.query().map(str::to_string),
        ))
    };
    matches!((norm(a), norm(b)), (Some(x), Some(y)) if x == y)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PlatformsConfig {
    pub(crate) bilibili: PlatformConfig,
    pub(crate) douyin: PlatformConfig,
}

impl PlatformsConfig {
    pub(crate) fn get(&self, kind: PlatformKind) -> Option<&PlatformConfig> {
        match kind {
            PlatformKind::Bilibili => Some(&self.bilibili),
            PlatformKind::Douyin => Some(&self.douyin),
            PlatformKind::Direct => None,
        }
    }
}
