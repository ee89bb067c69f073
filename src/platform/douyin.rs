//! Douyin live rooms (`live.douyin.com/<web_rid>`, `v.douyin.com/<code>` share links,
//! `www.douyin.com/user/<sec_uid>` profiles).
//!
//! - status and sources: `webcast/room/web/enter/`, signed with `a_bogus` over the query (which
//!   carries a random `msToken` and the `browser_version` of the User-Agent sent), with the
//!   cookies a browser has: a genuine `ttwid` ([`ttwid`]), `odin_ttid`, `__ac_nonce`. An empty
//!   answer gets one retry with a fresh `ttwid`; when the API still answers like risk control
//!   the room page is read instead (with `__ac_nonce`), and only when that fails too does the
//!   platform back off. A live that web/enter lists without a stream URL is asked of the app's
//!   reflow API (signed the same way). The session room id tells broadcasts apart.
//! - resolve: a `web_rid` is the key as it is; share links and profiles are resolved by
//!   [`resolve`] to the same `web_rid`.
//!
//! The pure parts: decoding in [`api`], request building in [`request`], the signature in
//! [`abogus`]. Reading a room (the API, its fallbacks) is in [`room`], the `probe` lines in
//! [`diagnose`].

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::PlatformConfig;
use super::limiter::{Budget, Limiter};
use super::web::{Api, Hosts, browser_headers_as, cookie_header};
use super::{
    ChatEndpoint, DouyinChat, Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec,
    RoomStatus, RoomTarget, StreamSource,
};
use crate::http;
use crate::util::secret::{Secret, redact_url};
use request::{Dice, Fresh};

pub(crate) mod abogus;
pub mod api;
mod diagnose;
mod request;
mod resolve;
mod room;
mod ttwid;

pub(crate) const DEFAULT_API_BASE: &str = "https://live.douyin.com";

/// Quality names, best first.
pub(crate) const QUALITIES: &[&str] = &["origin", "uhd", "hd", "sd", "ld", "md"];

/// A room id: digits for most rooms, but a streamer's custom id (抖音号) may hold `.` and `-`.
fn is_web_rid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && s.bytes().any(|b| b != b'.')
}

/// A streamer's `sec_uid` (`MS4wLjABAAAA…`, URL-safe base64).
fn is_sec_uid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 160
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// `live.douyin.com/<web_rid>`, `live.douyin.com/?live_web_rid=<id>`,
/// `www.douyin.com/root/live/<web_rid>`, and, resolved by [`resolve`]: `v.douyin.com/<code>`,
/// `www.douyin.com/user/<sec_uid>` and `www.iesdouyin.com/share/user/<sec_uid>`.
pub(crate) fn recognize(url: &url::Url) -> Option<(PlatformKind, Locator)> {
    let host = url.host_str()?.to_ascii_lowercase();
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let link = || Some((PlatformKind::Douyin, Locator::Share(url.to_string())));
    match host.as_str() {
        "v.douyin.com" => match segments.as_slice() {
            [code] if is_web_rid(code) => link(),
            _ => None,
        },
        "live.douyin.com" => {
            let from_query = url
                .query_pairs()
                .find(|(k, _)| k == "live_web_rid" || k == "web_rid")
                .map(|(_, v)| v.into_owned());
            let id = match segments.as_slice() {
                [id] => Some(id.to_string()),
                [] => from_query,
                _ => None,
            }?;
            is_web_rid(&id).then_some((PlatformKind::Douyin, Locator::Id(id)))
        }
        "www.douyin.com" | "douyin.com" => match segments.as_slice() {
            ["root", "live", id] | ["follow", "live", id] if is_web_rid(id) => {
                Some((PlatformKind::Douyin, Locator::Id(id.to_string())))
            }
            ["user", sec_uid] if is_sec_uid(sec_uid) => link(),
            _ => None,
        },
        "www.iesdouyin.com" | "iesdouyin.com" => match segments.as_slice() {
            ["share", "user", sec_uid] if is_sec_uid(sec_uid) => link(),
            _ => None,
        },
        _ => None,
    }
}

/// The `browser_version` Douyin is sent for a User-Agent: `None` when it names no Chrome
/// version (config validation refuses such a `user_agent` for Douyin).
pub(crate) fn browser_version(ua: &str) -> Option<String> {
    request::browser_version(ua)
}

/// Streamers' profile pages.
const PROFILE_HOST: &str = "www.douyin.com";
/// The app's API host, where the reflow API is.
const REFLOW_HOST: &str = "webcast.amemv.com";
const REFLOW_PATH: &str = "/webcast/room/reflow/info/";
const REFERER: &str = "https://live.douyin.com/";
/// The webcast chat push server (biliup, rust-srec, DouyinLiveWebFetcher use `-lq`).
const CHAT_HOST: &str = "webcast100-ws-web-lq.douyin.com";
const CHAT_PATH: &str = "/webcast/im/push/v2/";
/// The room page is bigger than an API answer.
const PAGE_CAP: usize = 8 << 20;

/// What each call is, in logs, errors and `liverec probe`: the endpoint and how it is signed.
const ENTER: &str = "web/enter (a_bogus)";
const PAGE: &str = "room page (__ac_nonce)";
const REFLOW: &str = "reflow (a_bogus)";
const PROFILE: &str = "profile page (__ac_nonce)";

/// The User-Agent every request sends, and what is derived from it.
struct UserAgent {
    text: String,
    header: HeaderValue,
    /// `browser_version`, from the UA's `Chrome/` version.
    version: String,
    /// From `[platforms.douyin] user_agent` rather than built in.
    configured: bool,
}

impl UserAgent {
    fn new(configured: Option<&str>) -> Self {
        let built_in = || Self {
            text: http::BROWSER_UA.into(),
            header: HeaderValue::from_static(http::BROWSER_UA),
            version: browser_version(http::BROWSER_UA).unwrap_or_default(),
            configured: false,
        };
        let Some(ua) = configured else {
            return built_in();
        };
        // The config checked it already; an unusable one falls back to the built-in UA.
        match (HeaderValue::from_str(ua), browser_version(ua)) {
            (Ok(header), Some(version)) => Self {
                text: ua.into(),
                header,
                version,
                configured: true,
            },
            _ => {
                tracing::warn!("douyin: user_agent cannot be used; sending the built-in one");
                built_in()
            }
        }
    }
}

/// What one lookup did, call by call, for `liverec probe`: never a cookie or a query.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    calls: Vec<String>,
    /// The call whose answer was used.
    answered: Option<&'static str>,
    /// Where the `ttwid` sent came from.
    ttwid: Option<ttwid::Source>,
}

impl Trace {
    /// Calls noted in one trace, at most (a lookup makes a handful).
    const MAX: usize = 16;

    fn note(&mut self, what: &str, outcome: impl fmt::Display) {
        if self.calls.len() < Self::MAX {
            self.calls.push(format!("{what}: {outcome}"));
        }
    }
}

pub(crate) struct Douyin {
    api: Api,
    /// Share links are on `v.douyin.com`, profile pages on `www.douyin.com`, the reflow API on
    /// `webcast.amemv.com`, the ttwid register endpoint on `ttwid.bytedance.com`: a mirror
    /// takes them all.
    hosts: Hosts,
    cookie: Option<Secret>,
    ua: UserAgent,
    signer: abogus::Signer,
    dice: Dice,
    /// A browser keeps its `odin_ttid`; so does the daemon.
    odin_ttid: String,
    ttwid: tokio::sync::Mutex<Option<ttwid::Cached>>,
}

fn user_has_ttwid(cookie: Option<&Secret>) -> bool {
    cookie.is_some_and(|c| {
        c.expose()
            .split(';')
            .any(|p| p.trim().starts_with("ttwid="))
    })
}

/// One word about an answer, for the trace.
fn describe(room: &api::DyRoom) -> String {
    if room.hidden.is_some() {
        return "not shown to this viewer".into();
    }
    let live = if room.is_live() { "live" } else { "not live" };
    let kind = if room.radio {
        " (radio: audio only)"
    } else {
        ""
    };
    let streams = match room.streams.len() {
        0 if room.is_live() => ", no stream URL",
        0 => "",
        _ => ", with stream URLs",
    };
    format!("{live}{kind}{streams}")
}

impl Douyin {
    pub(crate) fn new(client: reqwest::Client, cfg: &PlatformConfig) -> Self {
        Self::with_dice(client, cfg, Dice::system())
    }

    fn with_dice(client: reqwest::Client, cfg: &PlatformConfig, dice: Dice) -> Self {
        let ua = UserAgent::new(cfg.user_agent.as_deref());
        Self {
            api: Api::new(
                "douyin",
                client,
                Limiter::new("douyin", Budget::configured(PlatformKind::Douyin, cfg)),
            )
            .with_user_agent(ua.header.clone()),
            hosts: Hosts::new(cfg, DEFAULT_API_BASE),
            cookie: cfg.cookie.clone(),
            signer: abogus::Signer::new(&ua.text),
            odin_ttid: dice.odin_ttid(),
            dice,
            ua,
            ttwid: tokio::sync::Mutex::new(None),
        }
    }

    /// Headers of API calls and pages: the UA, the Referer, and the cookies (the user's first;
    /// ours only where the user's cookie does not set the same name).
    fn headers(
        &self,
        cookie: Option<&Secret>,
        ttwid: Option<&str>,
        ac_nonce: &str,
    ) -> Result<HeaderMap, PlatformError> {
        let mut h = browser_headers_as(REFERER, &self.ua.header);
        let mut ours = vec![("ttwid", ttwid.unwrap_or_default())];
        ours.extend(request::browser_cookies(&self.odin_ttid, ac_nonce));
        if let Some(c) = cookie_header(cookie, &ours)? {
            h.insert(header::COOKIE, c);
        }
        Ok(h)
    }

    fn enter_url(&self, web_rid: &str, fresh: &Fresh) -> String {
        let q = request::enter_query(web_rid, &self.ua.version, &fresh.ms_token);
        format!(
            "{}/webcast/room/web/enter/?{}",
            self.hosts.api,
            request::sign(&self.signer, &q, &fresh.entropy)
        )
    }

    /// Headers the CDN wants on stream requests. Not the user's cookie: the stream URLs are
    /// signed and play without it, and they lead to CDN hosts (HLS segments anywhere a playlist
    /// points).
    fn stream_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, self.ua.header.clone());
        h.insert(header::REFERER, HeaderValue::from_static(REFERER));
        h
    }

    fn to_sources(
        &self,
        room: &api::DyRoom,
        quality: &[String],
        formats: &[String],
    ) -> Result<Vec<StreamSource>, PlatformError> {
        if let Some(e) = room.refusal() {
            return Err(e);
        }
        let headers = self.stream_headers();
        let ordered = api::ordered(&room.streams, quality, formats);
        // The streams come in order of preference: the first is the best wanted one on offer,
        // and a source of another quality (tried when it fails) records less than wanted.
        let wanted = ordered.first().map(|s| s.quality);
        let sources: Vec<StreamSource> = ordered
            .into_iter()
            .map(|s| StreamSource {
                below: wanted
                    .filter(|w| *w != s.quality)
                    .map(|w| crate::event::QualityRef {
                        wanted: w.to_string(),
                        recorded: s.quality.to_string(),
                    }),
                quality: match &s.codec {
                    Some(c) => format!("{} {c}", s.quality),
                    None => s.quality.to_string(),
                },
                url: s.url,
                format: s.format,
                headers: headers.clone(),
            })
            .collect();
        if sources.is_empty() {
            let offered: Vec<String> = room
                .streams
                .iter()
                .map(|s| format!("{} {}", s.quality, s.format_name()))
                .collect();
            return Err(PlatformError::NoStream(format!(
                "offered: {}; formats = [{}]",
                offered.join(", "),
                formats.join(", ")
            )));
        }
        Ok(sources)
    }
}

#[async_trait]
impl Platform for Douyin {
    fn resume_at(&self) -> Option<std::time::Instant> {
        self.api.limiter.resume_at()
    }

    fn pause_until(&self, until: std::time::Instant, reason: &str) {
        self.api.limiter.pause_until(until, reason);
    }

    fn set_budget_share(&self, share: f64) {
        self.api.limiter.set_share(share);
    }

    /// The webcast push server for the live broadcast: its `id_str` (the session hint of a live
    /// answer) and a genuine `ttwid`; nothing else of the user's cookie goes to chat.
    async fn chat_endpoint(
        &self,
        _spec: &RoomSpec,
        session_hint: Option<&str>,
    ) -> Result<ChatEndpoint, PlatformError> {
        let room_id = session_hint
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                PlatformError::NotLiveYet("chat needs the live broadcast's id".into())
            })?;
        let ttwid = self
            .ttwid(false, &mut Trace::default())
            .await
            .ok_or_else(|| PlatformError::Network("no ttwid cookie for chat".into()))?;
        let page = self.hosts.page(CHAT_HOST, CHAT_PATH);
        let base = match page.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => page.replacen("http://", "ws://", 1),
        };
        Ok(ChatEndpoint::Douyin(DouyinChat {
            base,
            room_id: room_id.to_string(),
            ttwid: Secret::new(ttwid),
            user_agent: self.ua.header.clone(),
            browser_version: self.ua.version.clone(),
        }))
    }

    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        match &target.locator {
            Locator::Id(id) | Locator::MaybeShort(id) => {
                Ok(RoomKey::new(PlatformKind::Douyin, id.clone()))
            }
            Locator::Share(link) => {
                let id = self.resolve_link(link, &mut Trace::default()).await?;
                if !is_web_rid(&id) {
                    return Err(PlatformError::Malformed(format!(
                        "the link leads to an odd room id {id:?}"
                    )));
                }
                tracing::info!("douyin: {} leads to room {id}", redact_url(link));
                Ok(RoomKey::new(PlatformKind::Douyin, id))
            }
        }
    }

    async fn status(&self, spec: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        let room = self
            .room(
                &spec.key.id,
                spec.cookie.as_ref(),
                false,
                &mut Trace::default(),
            )
            .await?;
        if let Some(why) = room.unrecordable() {
            return Err(PlatformError::Unsupported(why));
        }
        Ok(room.status())
    }

    async fn sources(&self, spec: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let room = self
            .room(
                &spec.key.id,
                spec.cookie.as_ref(),
                true,
                &mut Trace::default(),
            )
            .await?;
        self.to_sources(&room, &spec.quality, &spec.formats)
    }

    async fn all_sources(&self, spec: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let room = self
            .room(
                &spec.key.id,
                spec.cookie.as_ref(),
                true,
                &mut Trace::default(),
            )
            .await?;
        self.to_sources(
            &room,
            &spec.quality,
            &PlatformKind::Douyin.default_formats(),
        )
    }

    async fn diagnose(&self, spec: &RoomSpec) -> Vec<(&'static str, String)> {
        let mut trace = Trace::default();
        let result = self
            .room(&spec.key.id, spec.cookie.as_ref(), true, &mut trace)
            .await;
        self.diagnosis(spec, &trace, &result)
    }
}

#[cfg(test)]
mod tests;
