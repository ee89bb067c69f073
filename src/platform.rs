//! Platforms: how a room URL becomes a canonical key, whether the room is live, and where its
//! stream is.
//!
//! Everything that can be known without the network (which platform, which id) is decided by
//! [`recognize`] when the config loads, so `liverec check` can report unknown URLs and duplicate
//! rooms offline. What needs the network (short id -> long id, share links, live status, signed
//! stream URLs) goes through the [`Platform`] trait.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use crate::util::secret::Secret;

pub mod bilibili;
pub(crate) mod coalesce;
pub(crate) mod demand;
pub(crate) mod direct;
pub mod douyin;
pub(crate) mod json;
pub(crate) mod limiter;
pub(crate) mod playlist;
mod settings;
pub(crate) mod share;
pub(crate) mod web;

pub(crate) use settings::{ChatKeys, PlatformConfig, PlatformsConfig, same_base};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PlatformKind {
    Bilibili,
    Douyin,
    Direct,
}

impl PlatformKind {
    pub(crate) const ALL: [PlatformKind; 3] = [Self::Bilibili, Self::Douyin, Self::Direct];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Bilibili => "bilibili",
            Self::Douyin => "douyin",
            Self::Direct => "direct",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Quality preference when the config gives none.
    pub(crate) fn default_quality(self) -> Vec<String> {
        match self {
            Self::Bilibili => vec!["best".into()],
            Self::Douyin => vec!["origin".into()],
            Self::Direct => Vec::new(),
        }
    }

    pub(crate) fn default_formats(self) -> Vec<String> {
        let f: &[&str] = match self {
            Self::Bilibili => &["flv", "hls-fmp4", "hls-ts"],
            Self::Douyin => &["flv", "hls"],
            Self::Direct => &[],
        };
        f.iter().map(|s| s.to_string()).collect()
    }

    /// Checks a quality preference list for this platform.
    pub(crate) fn check_quality(self, quality: &[String]) -> Result<(), String> {
        let bad =
            |q: &str, hint: &str| Err(format!("{q:?} is not a {} quality ({hint})", self.as_str()));
        for q in quality {
            match self {
                Self::Bilibili => {
                    if q != "best" && q.parse::<u32>().is_err() {
                        return bad(q, "use \"best\" or qn numbers such as 10000, 400, 250, 150");
                    }
                }
                Self::Douyin => {
                    if !douyin::QUALITIES.contains(&q.as_str()) {
                        return bad(q, &format!("use one of {}", douyin::QUALITIES.join(", ")));
                    }
                }
                Self::Direct => {
                    if !crate::media::m3u8::is_variant_preference(q) {
                        return bad(
                            q,
                            "it picks a variant of an HLS master playlist: use \"best\", \"worst\", a height such as \"720p\", or a BILI-QN number",
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks a codec preference list (`codecs = ["avc", "hevc"]`). Only Bilibili offers a
    /// choice of codecs per quality; Douyin's streams come as they are.
    pub(crate) fn check_codecs(self, codecs: &[String]) -> Result<(), String> {
        match self {
            Self::Bilibili => {}
            Self::Douyin => {
                return Err(
                    "Douyin offers one codec per quality, chosen by Douyin: remove `codecs` (it is a Bilibili setting)"
                        .into(),
                );
            }
            Self::Direct => {
                return Err("a direct URL has one stream: remove `codecs`".into());
            }
        }
        if codecs.is_empty() {
            return Err(
                "needs at least one codec (leave the key out for AVC first, HEVC as the fallback)"
                    .into(),
            );
        }
        for (i, c) in codecs.iter().enumerate() {
            if !bilibili::api::CODECS.contains(&c.as_str()) {
                return Err(format!(
                    "{c:?} is not a codec liverec records (use {})",
                    bilibili::api::CODECS.join(", ")
                ));
            }
            if codecs[..i].contains(c) {
                return Err(format!("{c:?} is listed twice"));
            }
        }
        Ok(())
    }

    pub(crate) fn check_formats(self, formats: &[String]) -> Result<(), String> {
        let known: &[&str] = match self {
            Self::Bilibili => &["flv", "hls-fmp4", "hls-ts"],
            Self::Douyin => &["flv", "hls"],
            Self::Direct => {
                return Err("a direct URL's format follows its extension; remove `formats`".into());
            }
        };
        if formats.is_empty() {
            return Err("needs at least one format".into());
        }
        for f in formats {
            if !known.contains(&f.as_str()) {
                return Err(format!(
                    "{f:?} is not a {} format (use {})",
                    self.as_str(),
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn default_api_base(self) -> Option<&'static str> {
        match self {
            Self::Bilibili => Some(bilibili::DEFAULT_API_BASE),
            Self::Douyin => Some(douyin::DEFAULT_API_BASE),
            Self::Direct => None,
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The canonical identity of a room: `bilibili:21452505`. Supervisors, locks and duplicate
/// detection are keyed by it, never by the URL text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RoomKey {
    pub(crate) platform: PlatformKind,
    pub(crate) id: String,
}

impl RoomKey {
    pub(crate) fn new(platform: PlatformKind, id: impl Into<String>) -> Self {
        Self {
            platform,
            id: id.into(),
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (p, id) = s.split_once(':')?;
        let platform = PlatformKind::parse(p)?;
        (!id.is_empty()).then(|| Self::new(platform, id))
    }
}

impl fmt::Display for RoomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.id)
    }
}

/// Where the id in a configured URL stands before any network call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Locator {
    /// Canonical already: direct URLs, Douyin `web_rid`.
    Id(String),
    /// Might be a Bilibili short id (vanity number); the platform resolves it to the long id.
    MaybeShort(String),
    /// A share link (b23.tv, v.douyin.com) that only the platform can follow.
    Share(String),
}

/// What a configured room URL names, as far as it is known offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoomTarget {
    pub(crate) platform: PlatformKind,
    pub(crate) url: String,
    pub(crate) locator: Locator,
}

impl RoomTarget {
    /// The key when it is known without the network.
    pub(crate) fn known_key(&self) -> Option<RoomKey> {
        match &self.locator {
            Locator::Id(id) => Some(RoomKey::new(self.platform, id.clone())),
            _ => None,
        }
    }

    /// A key good enough for offline duplicate checks and messages: two entries with the same
    /// provisional key are certainly the same room (the converse waits for resolution).
    pub(crate) fn provisional_key(&self) -> String {
        match &self.locator {
            Locator::Id(id) | Locator::MaybeShort(id) => format!("{}:{id}", self.platform),
            Locator::Share(link) => format!("{}:share:{link}", self.platform),
        }
    }
}

/// Which platform a URL belongs to, and its id. `forced` is a room's explicit `platform` key.
pub(crate) fn recognize(url: &str, forced: Option<PlatformKind>) -> Result<RoomTarget, String> {
    let trimmed = url.trim();
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let parsed =
        url::Url::parse(&with_scheme).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?}: only http and https URLs can be recorded"));
    }
    let target = |platform, locator| RoomTarget {
        platform,
        url: with_scheme.clone(),
        locator,
    };
    let pick = match forced {
        Some(PlatformKind::Direct) => direct::recognize(&parsed, true),
        Some(PlatformKind::Bilibili) => bilibili::recognize(&parsed),
        Some(PlatformKind::Douyin) => douyin::recognize(&parsed),
        None => bilibili::recognize(&parsed)
            .or_else(|| douyin::recognize(&parsed))
            .or_else(|| direct::recognize(&parsed, false)),
    };
    match pick {
        Some((platform, locator)) => Ok(target(platform, locator)),
        None => match forced {
            Some(p) => Err(format!("{url:?} is not a {p} room URL")),
            None => Err(format!(
                "no platform knows {url:?} (liverec records live.bilibili.com and b23.tv rooms, \
                 live.douyin.com and v.douyin.com rooms, and direct .flv/.m3u8 URLs; \
                 set platform = \"direct\" for another HTTP-FLV or HLS URL)"
            )),
        },
    }
}

/// Id of a direct URL: the first 16 hex digits of its SHA-256.
pub(crate) fn direct_id(url: &str) -> String {
    hex::encode(&Sha256::digest(url.as_bytes())[..8])
}

/// What a platform says about a room right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomStatus {
    pub live: bool,
    pub(crate) title: String,
    pub(crate) streamer: String,
    /// Changes when a new broadcast starts (Bilibili `live_start_time`, Douyin session room id).
    pub session_hint: Option<String>,
    /// Live, but it cannot be recorded: the reason (a DRM live, paid, guard-only, password,
    /// visibility-restricted...). The room shows `unrecordable` and no session starts (one
    /// does when only the stream list shows it).
    pub(crate) unrecordable: Option<String>,
    /// The live's cover image (Bilibili `room_info.cover`, Douyin `cover.url_list`), when the
    /// answer names one.
    pub(crate) cover: Option<String>,
}

/// How a stream's bytes are packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    Flv,
    /// HLS; TS or fMP4 is learnt from the playlist.
    Hls,
}

/// One way to pull a room's stream. URLs are signed and expire: ask the platform for fresh ones
/// at every (re)connect.
#[derive(Debug, Clone)]
pub(crate) struct StreamSource {
    pub(crate) url: String,
    pub(crate) format: StreamFormat,
    /// Human-readable quality (`10000`, `origin`, `source`).
    pub(crate) quality: String,
    /// Headers the CDN needs (Referer, User-Agent, Cookie); cookie values are marked sensitive.
    pub(crate) headers: HeaderMap,
    /// This source records less than the room's `quality` wants of what the platform offers
    /// (a capped Bilibili answer, a Douyin quality tried after the wanted one failed).
    pub(crate) below: Option<crate::event::QualityRef>,
}

/// Everything a platform call needs to know about a room.
#[derive(Debug, Clone)]
pub(crate) struct RoomSpec {
    pub(crate) key: RoomKey,
    pub(crate) url: String,
    pub(crate) quality: Vec<String>,
    pub(crate) formats: Vec<String>,
    /// Codecs to record, in order of preference; empty = the platform's default order.
    pub(crate) codecs: Vec<String>,
    pub(crate) cookie: Option<Secret>,
}

/// Why a platform call failed. [`PlatformError::NotFound`], [`PlatformError::Unsupported`] ("not
/// recordable", from `status` or `sources`) and a real "offline" answer are facts about the room;
/// everything else means "unknown", which never ends a recording while its bytes flow.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PlatformError {
    #[error("room not found: {0}")]
    NotFound(String),
    #[error("blocked by risk control: {0}")]
    Blocked(String),
    #[error("request failed: {0}")]
    Network(String),
    #[error("unexpected answer: {0}")]
    Malformed(String),
    #[error("cannot record: {0}")]
    Unsupported(String),
    #[error("live, but no usable stream: {0}")]
    NoStream(String),
    /// A link that names a room only while its streamer is live (a Douyin profile), asked
    /// while they are not: nothing failed, the link is asked again at the poll interval.
    #[error("not live now: {0}")]
    NotLiveYet(String),
    /// The configuration cannot be used for this call (a cookie that is no HTTP header value):
    /// neither a fact about the room nor a failure of the platform.
    #[error("configuration: {0}")]
    Config(String),
}

/// Where and how to open a room's chat connection (the `chat` module does the rest). Chat is a
/// side channel: what it asks of the platform goes through the same request budget as polls.
#[derive(Debug, Clone)]
pub(crate) enum ChatEndpoint {
    Bilibili(BiliChat),
    Douyin(DouyinChat),
}

/// A Bilibili chat connection, from a fresh `getDanmuInfo`.
#[derive(Debug, Clone)]
pub(crate) struct BiliChat {
    /// `wss://host:wss_port/sub` for each host, in the order to try; `ws://host:ws_port/sub`
    /// when `api_base` is a plain-HTTP mirror or test server.
    pub(crate) urls: Vec<String>,
    /// The auth key; good for one connection.
    pub(crate) token: Secret,
    /// The long room id.
    pub(crate) room_id: u64,
    /// The login user (`DedeUserID`, only with `SESSDATA`); 0 when anonymous.
    pub(crate) uid: u64,
    /// The `buvid3` cookie `getDanmuInfo` was asked with.
    pub(crate) buvid: String,
    /// The User-Agent of that call: the token is bound to it.
    pub(crate) user_agent: HeaderValue,
}

/// A Douyin chat connection: the broadcast's numeric room id and the cookie it needs; the
/// signed URL is the `chat` module's business.
#[derive(Debug, Clone)]
pub(crate) struct DouyinChat {
    /// `wss://webcast100-ws-web-lq.douyin.com`, or the mirror's `ws://` base.
    pub(crate) base: String,
    /// The broadcast's `id_str` (not the `web_rid`).
    pub(crate) room_id: String,
    pub(crate) ttwid: Secret,
    pub(crate) user_agent: HeaderValue,
    /// The `browser_version` the User-Agent names.
    pub(crate) browser_version: String,
}

#[async_trait]
pub(crate) trait Platform: Send + Sync + 'static {
    /// Resolves a configured target to its canonical key (short id -> long id, share link ->
    /// room). Targets with a known key resolve without a request.
    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError>;

    /// Live status, title and streamer.
    async fn status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError>;

    /// Stream candidates in the order they should be tried, with freshly signed URLs.
    async fn sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError>;

    /// When the platform's risk-control backoff ends, while one runs: calls fail until then,
    /// so retries are scheduled at that instant rather than a poll interval later.
    fn resume_at(&self) -> Option<std::time::Instant> {
        None
    }

    /// Pause every request until `until`: another cluster instance met the platform's risk
    /// control (a platform without a request budget ignores it).
    fn pause_until(&self, until: std::time::Instant, reason: &str) {
        let _ = (until, reason);
    }

    /// This instance's part, from (0, 1], of the platform's request budget, shared by the
    /// instances of a cluster.
    fn set_budget_share(&self, share: f64) {
        let _ = share;
    }

    /// Rooms of this platform whose polls fall within this much of each other are checked
    /// together (one batch request answers many rooms): their polls are scheduled at the same
    /// instants. Zero when every room is asked on its own.
    fn poll_quantum(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Every stream on offer, in every quality and format, for `liverec probe` (may cost more
    /// requests than [`Platform::sources`]).
    async fn all_sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        self.sources(room).await
    }

    /// Where to open the room's chat connection, asked afresh before every connect.
    /// `session_hint` is the last live answer's (Douyin's chat needs the broadcast's id).
    async fn chat_endpoint(
        &self,
        room: &RoomSpec,
        session_hint: Option<&str>,
    ) -> Result<ChatEndpoint, PlatformError> {
        let _ = (room, session_hint);
        Err(PlatformError::Unsupported(
            "this platform has no chat".into(),
        ))
    }

    /// The login state of the platform's own cookie, when one is configured and the platform
    /// can tell: `None` until it was asked, then whether the cookie is logged in.
    fn login(&self) -> Option<tokio::sync::watch::Receiver<Option<bool>>> {
        None
    }

    /// Asks whether the platform's cookie is still logged in, unless that was asked recently
    /// (Bilibili: `nav`, at most every [`bilibili::LOGIN_RECHECK`]); the answer goes to
    /// [`Platform::login`].
    async fn check_login(&self) {}

    /// What `liverec probe` shows about how the platform was reached (endpoint, signature,
    /// cookies, User-Agent): `(label, text)` lines, never a cookie value or a signed query.
    async fn diagnose(&self, room: &RoomSpec) -> Vec<(&'static str, String)> {
        let _ = room;
        Vec::new()
    }
}

/// The platform implementations of one daemon, sharing one HTTP client.
#[derive(Clone)]
pub(crate) struct Platforms {
    bilibili: Arc<dyn Platform>,
    douyin: Arc<dyn Platform>,
    direct: Arc<dyn Platform>,
}

impl Platforms {
    /// From the `[platforms.*]` sections (`liverec probe` without a config uses defaults).
    pub(crate) fn from_settings(cfg: &PlatformsConfig, client: reqwest::Client) -> Self {
        Self {
            bilibili: Arc::new(bilibili::Bilibili::new(client.clone(), &cfg.bilibili)),
            douyin: Arc::new(douyin::Douyin::new(client.clone(), &cfg.douyin)),
            direct: Arc::new(direct::Direct::new(client)),
        }
    }

    pub(crate) fn get(&self, kind: PlatformKind) -> Arc<dyn Platform> {
        match kind {
            PlatformKind::Bilibili => self.bilibili.clone(),
            PlatformKind::Douyin => self.douyin.clone(),
            PlatformKind::Direct => self.direct.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
