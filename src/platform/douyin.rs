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
//! [`abogus`].

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::PlatformConfig;
use super::limiter::{Budget, Limiter, Permit};
use super::web::{self, Api, Fetched, JSON_CAP, browser_headers_as, cookie_header};
use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamSource, json,
};
use crate::http;
use crate::util::secret::{Secret, redact_url};
use request::{Dice, Fresh};

pub(crate) mod abogus;
pub mod api;
mod request;
mod resolve;
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
/// The room page is bigger than an API answer.
const PAGE_CAP: usize = 8 << 20;

/// What each call is, in logs, errors and `liverec probe`: the endpoint and how it is signed.
const ENTER: &str = "web/enter (a_bogus)";
const PAGE: &str = "room page (__ac_nonce)";
const REFLOW: &str = "reflow (a_bogus)";
const PROFILE: &str = "profile page (__ac_nonce)";

/// Where each kind of request goes. Only a real `api_base` override (a mirror, a test server)
/// redirects the hosts that are not `live.douyin.com`: share links must be fetched from
/// `v.douyin.com` itself, profile pages from `www.douyin.com`, the reflow API from
/// `webcast.amemv.com`, the ttwid register endpoint from `ttwid.bytedance.com`.
#[derive(Debug, Clone, PartialEq)]
struct Hosts {
    api: String,
    /// Pages on other hosts are fetched as `{via}/<host>/<path>`: `{via}/v.douyin.com/<code>`.
    via: Option<String>,
}

impl Hosts {
    fn new(cfg: &PlatformConfig) -> Self {
        match cfg.api_override(DEFAULT_API_BASE) {
            Some(mirror) => Self {
                api: mirror.clone(),
                via: Some(mirror),
            },
            None => Self {
                api: DEFAULT_API_BASE.into(),
                via: None,
            },
        }
    }

    /// Where to fetch `https://{host}{path}`.
    fn page(&self, host: &str, path: &str) -> String {
        match &self.via {
            Some(via) => format!("{via}/{host}{path}"),
            None => format!("https://{host}{path}"),
        }
    }
}

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
            hosts: Hosts::new(cfg),
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

    /// A signed API GET. An empty answer gets one retry with a fresh `ttwid` (unless the user's
    /// cookie has its own); what comes back then is the caller's to judge.
    async fn signed_get(
        &self,
        what: &'static str,
        cookie: Option<&Secret>,
        trace: &mut Trace,
        url_of: impl Fn(&Fresh) -> String,
    ) -> Result<(Permit, Bytes), PlatformError> {
        let own_ttwid = user_has_ttwid(cookie);
        let mut retried = false;
        loop {
            let ttwid = if own_ttwid {
                None
            } else {
                self.ttwid(retried, trace).await
            };
            let fresh = self.dice.fresh();
            let headers = self.headers(cookie, ttwid.as_deref(), &fresh.ac_nonce)?;
            let (permit, got) = match self
                .api
                .fetch(&url_of(&fresh), headers, what, JSON_CAP)
                .await
            {
                Ok(x) => x,
                Err(e) => {
                    trace.note(what, &e);
                    return Err(e);
                }
            };
            if json::trim_start(&got.body).is_empty() && !retried && !own_ttwid {
                tracing::debug!("douyin: {what} answered an empty body; getting a new ttwid");
                trace.note(what, "empty body");
                drop(permit);
                retried = true;
                continue;
            }
            return Ok((permit, got.body));
        }
    }

    /// A page GET (room page, profile page), with a fresh `__ac_nonce`: without one, pages are
    /// a JS challenge.
    async fn page_get(
        &self,
        url: &str,
        cookie: Option<&Secret>,
        what: &'static str,
        trace: &mut Trace,
    ) -> Result<(Permit, Fetched), PlatformError> {
        let ttwid = if user_has_ttwid(cookie) {
            None
        } else {
            self.ttwid(false, trace).await
        };
        let fresh = self.dice.fresh();
        let headers = self.headers(cookie, ttwid.as_deref(), &fresh.ac_nonce)?;
        self.api
            .fetch(url, headers, what, PAGE_CAP)
            .await
            .inspect_err(|e| trace.note(what, e))
    }

    /// The room as web/enter describes it (or the room page, when web/enter answers like risk
    /// control); with `want_streams`, a live listed without a stream URL is asked of the reflow
    /// API too.
    async fn room(
        &self,
        web_rid: &str,
        cookie: Option<&Secret>,
        want_streams: bool,
        trace: &mut Trace,
    ) -> Result<api::DyRoom, PlatformError> {
        let (permit, body) = self
            .signed_get(ENTER, cookie, trace, |f| self.enter_url(web_rid, f))
            .await?;
        let mut room = match api::web_enter(&body) {
            // Risk control, or only web/enter refusing us: the room page decides. The web/enter
            // permit goes back first, without a verdict: after a pause it is the probe, and the
            // page request (and a ttwid fetch before it) would wait for its verdict forever.
            // The page's answer is the verdict: a room lifts the backoff, anything else is the
            // block web/enter hinted at.
            Err(PlatformError::Blocked(why)) => {
                trace.note(ENTER, &why);
                drop(permit);
                match self.room_page(web_rid, cookie, trace).await {
                    Ok((page_permit, room)) => {
                        tracing::debug!("douyin: {why}; the room page answered instead");
                        page_permit.ok();
                        trace.answered = Some(PAGE);
                        room
                    }
                    Err((Some(page_permit), page_err)) => {
                        tracing::debug!("douyin: the room page did not help either: {page_err}");
                        return Err(page_permit.blocked(&why, None));
                    }
                    // Paused meanwhile, or the page itself was a block status.
                    Err((None, e @ PlatformError::Blocked(_))) => return Err(e),
                    Err((None, page_err)) => {
                        tracing::debug!("douyin: the room page did not answer: {page_err}");
                        return Err(self.api.limiter.blocked(&why, None));
                    }
                }
            }
            other => {
                let room = Api::settle(permit, other).inspect_err(|e| trace.note(ENTER, e))?;
                trace.note(ENTER, describe(&room));
                trace.answered = Some(ENTER);
                room
            }
        };
        if want_streams && room.is_live() && room.streams.is_empty() && room.hidden.is_none() {
            self.add_reflow_streams(&mut room, cookie, trace).await?;
        }
        Ok(room)
    }

    /// The room page (`{api_base}/<web_rid>`), parsed. On failure the permit comes back when
    /// the page was fetched, so the caller can decide what the failure means.
    async fn room_page(
        &self,
        web_rid: &str,
        cookie: Option<&Secret>,
        trace: &mut Trace,
    ) -> Result<(Permit, api::DyRoom), (Option<Permit>, PlatformError)> {
        let url = format!("{}/{}", self.hosts.api, web::q(web_rid));
        let (permit, got) = self
            .page_get(&url, cookie, PAGE, trace)
            .await
            .map_err(|e| (None, e))?;
        match api::page(&got.body) {
            Ok(room) => {
                trace.note(PAGE, describe(&room));
                Ok((permit, room))
            }
            Err(e) => {
                trace.note(PAGE, &e);
                Err((Some(permit), e))
            }
        }
    }

    /// The app's reflow API for broadcast `room_id` of streamer `sec_uid`.
    async fn reflow(
        &self,
        room_id: &str,
        sec_uid: &str,
        cookie: Option<&Secret>,
        trace: &mut Trace,
    ) -> Result<api::DyRoom, PlatformError> {
        let base = self.hosts.page(REFLOW_HOST, REFLOW_PATH);
        let (permit, body) = self
            .signed_get(REFLOW, cookie, trace, |f| {
                let q = request::reflow_query(room_id, sec_uid, &f.verify_fp, &f.ms_token);
                format!("{base}?{}", request::sign(&self.signer, &q, &f.entropy))
            })
            .await?;
        let got = Api::settle(permit, api::reflow(&body));
        match &got {
            Ok(room) => trace.note(REFLOW, describe(room)),
            Err(e) => trace.note(REFLOW, e),
        }
        got
    }

    /// Streams for a live web/enter lists without any (co-host and app-only lives): the
    /// reflow API's. When it has none either, the room stays without (and says why).
    async fn add_reflow_streams(
        &self,
        room: &mut api::DyRoom,
        cookie: Option<&Secret>,
        trace: &mut Trace,
    ) -> Result<(), PlatformError> {
        let Some(room_id) = room.room_id.clone() else {
            trace.note(REFLOW, "not asked: the answer names no broadcast");
            return Ok(());
        };
        let sec_uid = room.sec_uid.clone().unwrap_or_default();
        match self.reflow(&room_id, &sec_uid, cookie, trace).await {
            Ok(r) if !r.streams.is_empty() => {
                tracing::debug!("douyin: web/enter has no stream URL; the reflow API has");
                room.streams = r.streams;
                room.has_stream_url = true;
                room.radio |= r.radio;
                trace.answered = Some(REFLOW);
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e @ PlatformError::Blocked(_)) => Err(e),
            Err(e) => {
                tracing::debug!("douyin: {REFLOW}: {e}");
                Ok(())
            }
        }
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
        let sources: Vec<StreamSource> = api::ordered(&room.streams, quality, formats)
            .into_iter()
            .map(|s| StreamSource {
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

    /// The `liverec probe` lines for one lookup (labels as Bilibili's where they mean the
    /// same: `login`, `quality`, `special`).
    fn diagnosis(
        &self,
        spec: &RoomSpec,
        trace: &Trace,
        result: &Result<api::DyRoom, PlatformError>,
    ) -> Vec<(&'static str, String)> {
        let cookie = spec.cookie.as_ref();
        let mut out = Vec::new();
        out.push((
            "endpoint",
            match (trace.answered, result) {
                (Some(what), _) => format!("{what} answered"),
                (None, Err(e)) => format!("none answered: {e}"),
                (None, Ok(_)) => "none answered".into(),
            },
        ));
        out.push(("calls", trace.calls.join("; ")));
        out.push((
            "login",
            if cookie.is_some() {
                "own cookie configured (Douyin does not say whether it is logged in)".into()
            } else {
                "anonymous: no cookie configured".into()
            },
        ));
        let ttwid = if user_has_ttwid(cookie) {
            "own ttwid (from the configured cookie)".to_string()
        } else {
            match trace.ttwid {
                Some(from) => format!("generated ttwid, {}", from.describe()),
                None => "no ttwid (neither the home page nor the register endpoint gave one)"
                    .to_string(),
            }
        };
        out.push((
            "cookie",
            format!(
                "{ttwid}; odin_ttid generated; __ac_nonce random per request; hevc_supported=true"
            ),
        ));
        out.push((
            "signature",
            format!(
                "a_bogus signer present (SM3 + RC4, signed for the User-Agent below); msToken \
                 random, 184 characters; browser_version {}",
                self.ua.version
            ),
        ));
        out.push((
            "browser",
            format!(
                "{} ({})",
                self.ua.text,
                if self.ua.configured {
                    "[platforms.douyin] user_agent"
                } else {
                    "built in"
                }
            ),
        ));
        if let Ok(room) = result {
            out.push(("answer", describe(room)));
            out.push(("quality", self.quality_line(room, spec)));
            out.push(("special", special_line(room)));
            if let Some(why) = room.unrecordable() {
                out.push(("recordable", format!("no: {why}")));
            }
        }
        out
    }

    /// The quality wanted against the qualities on offer, and the stream recorded first.
    fn quality_line(&self, room: &api::DyRoom, spec: &RoomSpec) -> String {
        let wanted = spec.quality.join(", ");
        if room.hidden.is_some() {
            return format!(
                "wanted {wanted}; nothing on offer: the live is not shown to this viewer"
            );
        }
        if !room.is_live() {
            return "not live: streams are offered only while live".into();
        }
        let mut offered: Vec<&str> = Vec::new();
        for s in &room.streams {
            if !offered.contains(&s.quality) {
                offered.push(s.quality);
            }
        }
        offered.sort_by_key(|q| {
            QUALITIES
                .iter()
                .position(|x| x == q)
                .unwrap_or(QUALITIES.len())
        });
        if offered.is_empty() {
            return format!("wanted {wanted}; the answer offers no stream URL");
        }
        let first = api::ordered(&room.streams, &spec.quality, &spec.formats)
            .into_iter()
            .next();
        let records = match first {
            Some(s) => {
                let below = spec
                    .quality
                    .first()
                    .is_some_and(|w| w != s.quality && !room.radio);
                format!(
                    "records {} {} first{}",
                    s.quality,
                    s.format_name(),
                    if below {
                        " (below the wanted quality)"
                    } else {
                        ""
                    }
                )
            }
            None => format!(
                "nothing to record in formats [{}]{}",
                spec.formats.join(", "),
                if room.streams.iter().all(|s| s.encrypted) {
                    " (every stream is encrypted)"
                } else {
                    ""
                }
            ),
        };
        format!("wanted {wanted}, offered {}; {records}", offered.join(", "))
    }
}

/// What kind of live this is, when it is not a plain one.
fn special_line(room: &api::DyRoom) -> String {
    if let Some(p) = &room.hidden {
        return format!("hidden from this viewer (\"{p}\")");
    }
    if room.is_live() && !room.streams.is_empty() && room.streams.iter().all(|s| s.encrypted) {
        return "encrypted: every stream is (a paid live?)".into();
    }
    if room.radio {
        return "a radio live: audio only, recorded from its audio stream".into();
    }
    "none".into()
}

#[async_trait]
impl Platform for Douyin {
    fn resume_at(&self) -> Option<std::time::Instant> {
        self.api.limiter.resume_at()
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
