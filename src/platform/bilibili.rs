//! Bilibili live rooms (`live.bilibili.com/<id>`, `b23.tv/<code>`).
//!
//! - resolve: `room_init` turns any id (short or long) into the long room id; `b23.tv` links are
//!   followed by hand and only `live.bilibili.com` targets are accepted.
//! - status: `getInfoByRoom` (wbi-signed): `live_status` 1 only is live (2 is a replay loop);
//!   `live_start_time` tells one broadcast from the next. For a live room `getRoomPlayInfo` is
//!   asked once too: only its answer shows a live that cannot be recorded (DRM, guard-only,
//!   password); the `sources` call that follows reuses it.
//! - sources: `getRoomPlayInfo` (wbi-signed), asked again when the wanted qn is available but
//!   was not given; URLs are `host + base_url + extra`, fetched afresh at every call.
//! - Refusals: a signed call answered with code -352 or a voucher-only `data` had its signature
//!   or cookie refused, which comes before an IP block. The keys are fetched afresh once, then
//!   the unsigned stand-ins answer (`room_init`; `getRoomPlayInfo` unsigned, then the legacy
//!   `playUrl`) and a signed call is tried again every few minutes. Only when a stand-in is
//!   refused too does the platform back off.
//! - Login: `nav` (fetched for the wbi keys anyway) says whether the cookie is logged in; that is
//!   logged once and when it changes, and a room served below the wanted quality gets one WARN
//!   (again only when that changes).
//!
//! The pure decoding is in [`api`], the signing in [`wbi`], what is remembered between calls in
//! [`memory`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::PlatformConfig;
use super::limiter::{Budget, Limiter};
use super::web::{Api, Hop, JSON_CAP, browser_headers_as, cookie_header};
use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamFormat, StreamSource,
};
use crate::http;
use crate::util::secret::{Secret, redact_url};
use api::{Login, PlayInfo, Prefs, Refusal, Signed};
use memory::{Endpoint, Flags, RecentPlay, SIGNED_RECHECK, SignStates};
use wbi::WbiKeys;

pub mod api;
mod diagnose;
pub(crate) mod memory;
pub(crate) mod wbi;

pub(crate) const DEFAULT_API_BASE: &str = "https://api.live.bilibili.com";

/// `live.bilibili.com/[h5/|blanc/]<N>` (the last all-digit path segment) and `b23.tv/<code>`.
pub(crate) fn recognize(url: &url::Url) -> Option<(PlatformKind, Locator)> {
    let host = url.host_str()?.to_ascii_lowercase();
    if host == "b23.tv" {
        let code = url.path().trim_matches('/');
        return (!code.is_empty() && !code.contains('/'))
            .then(|| (PlatformKind::Bilibili, Locator::Share(url.to_string())));
    }
    if host != "live.bilibili.com" && host != "m.live.bilibili.com" {
        return None;
    }
    let id = url
        .path_segments()?
        .rfind(|s| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()))?
        .trim_start_matches('0')
        .to_string();
    (!id.is_empty()).then_some((PlatformKind::Bilibili, Locator::MaybeShort(id)))
}

/// `nav` lives on the main-site API host, not the live one.
pub(crate) const DEFAULT_NAV_BASE: &str = "https://api.bilibili.com";
const REFERER: &str = "https://live.bilibili.com/";
const ORIGIN: &str = "https://live.bilibili.com";
/// The wbi keys change daily; recorders refresh them every two hours.
const WBI_TTL: Duration = Duration::from_secs(2 * 3600);
/// After a failed `nav`, do not ask again for this long (requests go unsigned meanwhile); keys
/// younger than this are not fetched again after a refusal, except once when signed calls
/// that answered start being refused.
const WBI_RETRY: Duration = Duration::from_secs(60);
const INFO_PATH: &str = "/xlive/web-room/v1/index/getInfoByRoom";
const PLAY_PATH: &str = "/xlive/web-room/v2/index/getRoomPlayInfo";

#[derive(Default)]
struct WbiCache {
    keys: Option<(WbiKeys, Instant)>,
    failed_at: Option<Instant>,
    /// `nav`'s login state for the platform cookie; `None` until `nav` answered.
    login: Option<Login>,
}

/// Where each kind of request goes. Only a real `api_base` override (a mirror, a test server)
/// redirects the hosts that are not the live API's: `nav` exists on `api.bilibili.com` only,
/// and share links must be fetched from `b23.tv` itself.
#[derive(Debug, Clone, PartialEq)]
struct Hosts {
    api: String,
    nav: String,
    /// Share links are fetched as `{share_via}/b23.tv/<code>`.
    share_via: Option<String>,
}

impl Hosts {
    fn new(cfg: &PlatformConfig) -> Self {
        match cfg.api_override(DEFAULT_API_BASE) {
            Some(mirror) => Self {
                api: mirror.clone(),
                nav: mirror.clone(),
                share_via: Some(mirror),
            },
            None => Self {
                api: DEFAULT_API_BASE.into(),
                nav: DEFAULT_NAV_BASE.into(),
                share_via: None,
            },
        }
    }
}

/// The label of a call to a wbi-protected endpoint, for error messages and the call trace:
/// the endpoint and how it was signed.
fn signed_label(ep: Endpoint, attempt: usize, signed: bool) -> &'static str {
    match (ep, attempt, signed) {
        (Endpoint::Info, _, false) => "getInfoByRoom (unsigned: no wbi keys)",
        (Endpoint::Info, 0, true) => "getInfoByRoom (wbi)",
        (Endpoint::Info, _, true) => "getInfoByRoom (wbi, fresh keys)",
        (Endpoint::Play, _, false) => "getRoomPlayInfo (unsigned: no wbi keys)",
        (Endpoint::Play, 0, true) => "getRoomPlayInfo (wbi)",
        (Endpoint::Play, _, true) => "getRoomPlayInfo (wbi, fresh keys)",
    }
}

const ROOM_INIT_FALLBACK: &str = "room_init (unsigned fallback)";
const PLAY_UNSIGNED: &str = "getRoomPlayInfo (unsigned fallback)";
const PLAY_URL_LEGACY: &str = "playUrl (legacy unsigned fallback)";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) struct Bilibili {
    api: Api,
    api_base: String,
    nav_base: String,
    share_via: Option<String>,
    /// The platform's cookie, for calls that are not about one configured room.
    cookie: Option<Secret>,
    wbi: tokio::sync::Mutex<WbiCache>,
    /// The keys were fetched afresh because signed calls started being refused; until a signed
    /// call answers again, young keys are not fetched again (a refusing endpoint must not make
    /// every poll ask `nav`).
    refreshed_for_refusal: AtomicBool,
    /// An anonymous device id sent when the user's cookie has none (risk control is harsher
    /// on requests without one).
    buvid3: String,
    signing: SignStates,
    /// Rooms whose stream is below the wanted quality.
    capped: Flags,
    /// Only the legacy `playUrl` answers.
    legacy_in_use: AtomicBool,
    recent: RecentPlay,
    /// `[platforms.bilibili] user_agent`, else the built-in browser one: sent with every
    /// request, API and stream alike, so the two look like one browser.
    ua: HeaderValue,
}

/// The configured User-Agent when it is a usable header (the config checked it), else the
/// built-in one.
fn user_agent(cfg: &PlatformConfig) -> HeaderValue {
    cfg.user_agent
        .as_deref()
        .and_then(|ua| HeaderValue::from_str(ua).ok())
        .unwrap_or(HeaderValue::from_static(http::BROWSER_UA))
}

impl Bilibili {
    pub(crate) fn new(client: reqwest::Client, cfg: &PlatformConfig) -> Self {
        let hosts = Hosts::new(cfg);
        let ua = user_agent(cfg);
        Self {
            api: Api::new(
                "bilibili",
                client,
                Limiter::new("bilibili", Budget::configured(PlatformKind::Bilibili, cfg)),
            )
            .with_user_agent(ua.clone()),
            api_base: hosts.api,
            nav_base: hosts.nav,
            share_via: hosts.share_via,
            cookie: cfg.cookie.clone(),
            wbi: tokio::sync::Mutex::new(WbiCache::default()),
            refreshed_for_refusal: AtomicBool::new(false),
            buvid3: format!("{}infoc", uuid::Uuid::new_v4().to_string().to_uppercase()),
            signing: SignStates::default(),
            capped: Flags::default(),
            legacy_in_use: AtomicBool::new(false),
            recent: RecentPlay::default(),
            ua,
        }
    }

    fn api_headers(&self, cookie: Option<&Secret>) -> Result<HeaderMap, PlatformError> {
        let mut h = browser_headers_as(REFERER, &self.ua);
        h.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
        if let Some(c) = cookie_header(cookie, &[("buvid3", &self.buvid3)])? {
            h.insert(header::COOKIE, c);
        }
        Ok(h)
    }

    /// Headers the CDN wants on stream requests. Never the login cookie: downloads work
    /// without it, and stream URLs lead to CDN hosts (and HLS segments anywhere a playlist
    /// points), which have no business seeing SESSDATA.
    fn stream_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, self.ua.clone());
        h.insert(header::REFERER, HeaderValue::from_static(REFERER));
        h.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
        h
    }

    /// The cached wbi keys, fetched from `nav` when missing or old. `None` when they cannot be
    /// had: the request then goes unsigned (and a refusal is handled by the caller).
    async fn wbi_keys(&self) -> Option<WbiKeys> {
        let mut cache = self.api.limiter.queued(self.wbi.lock()).await;
        if let Some((keys, at)) = &cache.keys {
            if at.elapsed() < WBI_TTL {
                return Some(keys.clone());
            }
        }
        if cache.failed_at.is_some_and(|f| f.elapsed() < WBI_RETRY) {
            return cache.keys.as_ref().map(|(k, _)| k.clone());
        }
        let url = format!("{}/x/web-interface/nav", self.nav_base);
        let headers = match self.api_headers(self.cookie.as_ref()) {
            Ok(h) => h,
            Err(_) => self.api_headers(None).ok()?,
        };
        match self.api.json(&url, headers, "nav", api::nav).await {
            Ok(nav) => {
                tracing::debug!("bilibili: wbi keys refreshed");
                self.log_login(cache.login.as_ref(), &nav.login);
                cache.login = Some(nav.login);
                cache.keys = Some((nav.keys.clone(), Instant::now()));
                cache.failed_at = None;
                Some(nav.keys)
            }
            Err(e) => {
                if matches!(e, PlatformError::Blocked(_)) {
                    tracing::debug!("bilibili: no wbi keys: {e}");
                } else {
                    tracing::warn!(
                        "bilibili: cannot get the wbi signing keys: {e}; requests go unsigned for now"
                    );
                }
                cache.failed_at = Some(Instant::now());
                cache.keys.as_ref().map(|(k, _)| k.clone())
            }
        }
    }

    /// The login state, at the first `nav` answer and whenever it changes. The cookie itself
    /// is never logged.
    fn log_login(&self, before: Option<&Login>, now: &Login) {
        let same = before.is_some_and(|b| b.logged_in == now.logged_in && b.uid == now.uid);
        if same {
            return;
        }
        if now.logged_in {
            tracing::info!("bilibili: {}", now.describe());
        } else {
            tracing::warn!(
                "bilibili: no login cookie (or it expired): anonymous viewers get capped quality; \
                 set cookie_file in [platforms.bilibili] for the source quality"
            );
        }
    }

    /// What `nav` said about the room's cookie: `Some(logged in)` when it was asked with the
    /// same cookie (a room with a cookie of its own is not known).
    async fn login_for(&self, room: &RoomSpec) -> Option<bool> {
        if room.cookie != self.cookie {
            return None;
        }
        let cache = self.api.limiter.queued(self.wbi.lock()).await;
        cache.login.as_ref().map(|l| l.logged_in)
    }

    /// After a refused signature: drops the cached keys so that `nav` is asked again. Once
    /// when signed calls that answered start being refused; after that only keys older than
    /// [`WBI_RETRY`], and never while `nav`'s own retry wait stands. Says whether a retry may
    /// get other keys, so an endpoint that keeps refusing never makes every poll ask `nav`.
    async fn forget_wbi_keys(&self) -> bool {
        let mut cache = self.api.limiter.queued(self.wbi.lock()).await;
        if cache.failed_at.is_some_and(|f| f.elapsed() < WBI_RETRY) {
            return false;
        }
        let first = !self.refreshed_for_refusal.load(Ordering::Relaxed);
        match &cache.keys {
            Some((_, at)) if first || at.elapsed() >= WBI_RETRY => {
                cache.keys = None;
                self.refreshed_for_refusal.store(true, Ordering::Relaxed);
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    /// The query for `params`, signed when keys can be had; says whether it is signed.
    async fn signed_query(&self, params: &[(&str, String)]) -> (String, bool) {
        match self.wbi_keys().await {
            Some(keys) => (wbi::sign(params, &keys.mixin_key(), unix_now()), true),
            None => (wbi::unsigned(params), false),
        }
    }

    /// One GET of a JSON answer that may refuse the call. On a wbi-protected endpoint's signed
    /// path (`signed`), a refusal says nothing about the IP and gives the limiter no verdict;
    /// on an unsigned call, `-352` is risk control and pauses the platform.
    async fn call<T>(
        &self,
        url: &str,
        cookie: Option<&Secret>,
        what: &str,
        parse: fn(&[u8], &str) -> Result<Signed<T>, PlatformError>,
        signed: bool,
    ) -> Result<Signed<T>, PlatformError> {
        let (permit, got) = self
            .api
            .fetch(url, self.api_headers(cookie)?, what, JSON_CAP)
            .await?;
        match parse(&got.body, what) {
            Ok(Signed::Refused(r)) if signed => {
                drop(permit);
                Ok(Signed::Refused(r))
            }
            Ok(Signed::Refused(r @ Refusal::Code352(_))) => Err(permit.blocked(
                &format!("{what}: {r} (risk control: the unsigned call is refused too)"),
                None,
            )),
            other => Api::settle(permit, other),
        }
    }

    /// A call to a wbi-protected endpoint. A refusal is retried once with fresh keys (see
    /// [`Bilibili::forget_wbi_keys`]); `None` when it stays refused, or while the endpoint is
    /// in its unsigned fallback: the caller uses the unsigned stand-in then.
    async fn signed_call<T>(
        &self,
        ep: Endpoint,
        params: &[(&str, String)],
        cookie: Option<&Secret>,
        parse: fn(&[u8], &str) -> Result<Signed<T>, PlatformError>,
    ) -> Result<Option<(T, &'static str)>, PlatformError> {
        if self.signing.may_sign(ep, Instant::now()).is_err() {
            return Ok(None);
        }
        let path = match ep {
            Endpoint::Info => INFO_PATH,
            Endpoint::Play => PLAY_PATH,
        };
        let mut refusal = None;
        let mut retried = false;
        for attempt in 0..2 {
            let (query, signed) = self.signed_query(params).await;
            let what = signed_label(ep, attempt, signed);
            let url = format!("{}{path}?{query}", self.api_base);
            match self.call(&url, cookie, what, parse, true).await? {
                Signed::Data(d) => {
                    self.refreshed_for_refusal.store(false, Ordering::Relaxed);
                    if self.signing.answered(ep) {
                        tracing::info!(
                            "bilibili: {} answers signed calls again; back from the unsigned fallback",
                            ep.name()
                        );
                    }
                    return Ok(Some((d, what)));
                }
                Signed::Refused(r) => {
                    tracing::debug!("bilibili: {what} refused: {r}");
                    refusal = Some(r);
                    if attempt == 0 && self.forget_wbi_keys().await {
                        retried = true;
                        continue;
                    }
                    break;
                }
            }
        }
        let reason = refusal.map(|r| r.to_string()).unwrap_or_default();
        if self.signing.refused(ep, &reason, Instant::now()) {
            tracing::warn!(
                "bilibili: {} refused the wbi-signed call ({reason}{}): the signature or cookie is refused, \
                 which is not an IP block; using {} instead, and a signed call again every {} min",
                ep.name(),
                if retried { ", fresh keys too" } else { "" },
                ep.fallback(),
                SIGNED_RECHECK.as_secs() / 60
            );
        }
        Ok(None)
    }

    async fn room_init(
        &self,
        id: &str,
        cookie: Option<&Secret>,
        what: &'static str,
    ) -> Result<api::RoomInit, PlatformError> {
        let url = format!(
            "{}/room/v1/Room/room_init?id={}",
            self.api_base,
            wbi::encode(id)
        );
        self.api
            .json(&url, self.api_headers(cookie)?, what, |b| {
                api::room_init_as(b, what)
            })
            .await
    }

    async fn resolve_id(&self, id: &str) -> Result<RoomKey, PlatformError> {
        let init = self
            .room_init(id, self.cookie.as_ref(), "room_init")
            .await?;
        let long = init.room_id.to_string();
        if long != id {
            tracing::info!("bilibili: room {id} is a short id for room {long}");
        }
        Ok(RoomKey::new(PlatformKind::Bilibili, long))
    }

    /// The status, and which call answered it.
    async fn status_via(
        &self,
        room: &RoomSpec,
    ) -> Result<(RoomStatus, &'static str), PlatformError> {
        let params = [
            ("room_id", room.key.id.clone()),
            ("web_location", "444.8".to_string()),
        ];
        let signed = self
            .signed_call(
                Endpoint::Info,
                &params,
                room.cookie.as_ref(),
                api::room_info_as,
            )
            .await?;
        let (mut status, via) = match signed {
            Some((info, via)) => (info.status(), via),
            None => {
                let init = self
                    .room_init(&room.key.id, room.cookie.as_ref(), ROOM_INIT_FALLBACK)
                    .await?;
                (init.status(), ROOM_INIT_FALLBACK)
            }
        };
        if status.live && status.unrecordable.is_none() {
            status.unrecordable = self.live_check(room).await;
        }
        Ok((status, via))
    }

    /// Asks a live room's play info once: only it shows a DRM or guard-only live. It is kept
    /// for the `sources` call that follows. A failure leaves the question open (the status is
    /// known all the same; `sources` will tell).
    async fn live_check(&self, room: &RoomSpec) -> Option<String> {
        match self.play_info(room, api::first_qn(&room.quality)).await {
            Ok(Some((info, _))) => {
                let why = info.unrecordable();
                self.recent.put(&room.key.to_string(), info, Instant::now());
                why
            }
            Ok(None) => None,
            Err(e) => {
                tracing::debug!("bilibili: the play info of the live room is unknown: {e}");
                None
            }
        }
    }

    fn play_params(room: &RoomSpec, qn: u32) -> [(&'static str, String); 10] {
        [
            ("room_id", room.key.id.clone()),
            ("protocol", "0,1".to_string()),
            ("format", "0,1,2".to_string()),
            ("codec", "0,1".to_string()),
            ("qn", qn.to_string()),
            ("platform", "web".to_string()),
            ("ptype", "8".to_string()),
            ("dolby", "5".to_string()),
            ("panorama", "1".to_string()),
            ("web_location", "444.8".to_string()),
        ]
    }

    /// `getRoomPlayInfo` at `qn`: signed, else unsigned, with the label of the call that
    /// answered. `None` when the unsigned call wants a signature too (the legacy `playUrl` is
    /// left).
    async fn play_info(
        &self,
        room: &RoomSpec,
        qn: u32,
    ) -> Result<Option<(PlayInfo, &'static str)>, PlatformError> {
        let params = Self::play_params(room, qn);
        let cookie = room.cookie.as_ref();
        if let Some(got) = self
            .signed_call(Endpoint::Play, &params, cookie, api::play_info_as)
            .await?
        {
            return Ok(Some(got));
        }
        let url = format!("{}{PLAY_PATH}?{}", self.api_base, wbi::unsigned(&params));
        match self
            .call(&url, cookie, PLAY_UNSIGNED, api::play_info_as, false)
            .await?
        {
            Signed::Data(info) => Ok(Some((info, PLAY_UNSIGNED))),
            Signed::Refused(r) => {
                tracing::debug!("bilibili: {PLAY_UNSIGNED} refused: {r}");
                Ok(None)
            }
        }
    }

    /// The play info at the preferred quality: the status check's answer (or a new one at the
    /// first preference), then once more if it shows that the wanted quality is available but
    /// was not given. Not when the first answer was already capped and the cookie is not
    /// logged in: Bilibili would cap the second one too.
    async fn play_info_preferred(
        &self,
        room: &RoomSpec,
    ) -> Result<Option<PlayInfo>, PlatformError> {
        let first = api::first_qn(&room.quality);
        let info = match self.recent.take(&room.key.to_string(), Instant::now()) {
            Some(info) => info,
            None => match self.play_info(room, first).await? {
                Some((info, _)) => info,
                None => return Ok(None),
            },
        };
        if let Some(e) = info.refusal() {
            return Err(e);
        }
        let prefs = Prefs::of(room);
        let Some(wanted) = api::rerequest_qn(&info, &prefs).filter(|&q| q != first) else {
            return Ok(Some(info));
        };
        if api::served_below(&info, &prefs, first) && self.login_for(room).await == Some(false) {
            tracing::debug!(
                "bilibili: qn {first} was capped and the cookie is not logged in: asking for qn {wanted} cannot help"
            );
            return Ok(Some(info));
        }
        match self.play_info(room, wanted).await {
            Ok(Some((again, _))) if again.refusal().is_none() && !again.streams.is_empty() => {
                Ok(Some(again))
            }
            Ok(_) => Ok(Some(info)),
            Err(e) => {
                tracing::debug!(
                    "bilibili: asking again for qn {wanted} failed: {e}; keeping qn {first}"
                );
                Ok(Some(info))
            }
        }
    }

    /// One WARN when the room's stream falls below the wanted quality, one INFO when it is back.
    async fn note_quality(&self, room: &RoomSpec, info: &PlayInfo) {
        let capped = api::capped(info, &Prefs::of(room));
        if !self.capped.set(&room.key.to_string(), capped.is_some()) {
            return;
        }
        let Some((wanted, offered)) = capped else {
            tracing::info!("bilibili: the stream is at the wanted quality again");
            return;
        };
        let hint = match self.login_for(room).await {
            Some(false) => "log in (cookie_file) for the source quality",
            Some(true) => "even logged in (the streamer or Bilibili limits it for now)",
            None => "the room's own cookie may not be logged in",
        };
        tracing::warn!(
            "bilibili: asked for qn {}, Bilibili offers {}: {hint}",
            info.qn_label(wanted),
            info.qn_label(offered)
        );
    }

    fn to_sources(&self, info: &PlayInfo, prefs: &Prefs<'_>) -> Vec<StreamSource> {
        let headers = self.stream_headers();
        api::candidates(info, prefs)
            .into_iter()
            .map(|c| StreamSource {
                url: c.url,
                format: c.format.stream_format(),
                quality: format!("{} {}", c.format.name(), c.quality),
                headers: headers.clone(),
            })
            .collect()
    }

    /// The legacy FLV-only endpoint, for when `getRoomPlayInfo` wants a signature even unsigned.
    async fn legacy_sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        if !self.legacy_in_use.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "bilibili: getRoomPlayInfo refuses signed and unsigned calls; using the legacy playUrl \
                 (FLV only, no choice of quality or codec)"
            );
        }
        if !room.formats.iter().any(|f| f == "flv") {
            return Err(PlatformError::NoStream(
                "getRoomPlayInfo refuses the call, and the legacy fallback offers only flv, which is not in `formats`"
                    .into(),
            ));
        }
        let url = format!(
            "{}/room/v1/Room/playUrl?cid={}&qn={}&platform=web",
            self.api_base,
            wbi::encode(&room.key.id),
            api::first_qn(&room.quality)
        );
        let legacy = self
            .api
            .json(
                &url,
                self.api_headers(room.cookie.as_ref())?,
                PLAY_URL_LEGACY,
                |b| api::play_url_v1_as(b, PLAY_URL_LEGACY),
            )
            .await?;
        let headers = self.stream_headers();
        let sources: Vec<StreamSource> = legacy
            .urls
            .into_iter()
            .map(|url| StreamSource {
                url,
                format: StreamFormat::Flv,
                quality: format!("flv {}", legacy.current_qn),
                headers: headers.clone(),
            })
            .collect();
        if sources.is_empty() {
            return Err(PlatformError::NoStream("playUrl offers no URL".into()));
        }
        Ok(sources)
    }

    fn legacy_over(&self) {
        if self.legacy_in_use.swap(false, Ordering::Relaxed) {
            tracing::info!(
                "bilibili: getRoomPlayInfo answers again; the legacy playUrl is no longer used"
            );
        }
    }

    async fn follow_b23(&self, link: &str) -> Result<String, PlatformError> {
        self.api
            .follow_share(link, self.share_via.as_deref(), |u| {
                let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
                if host == "b23.tv" {
                    return Hop::Follow;
                }
                match recognize(u) {
                    Some((_, Locator::MaybeShort(id))) => Hop::Done(id),
                    _ => Hop::Reject(format!(
                        "the share link leads to {}, which is not a live room",
                        redact_url(u.as_str())
                    )),
                }
            })
            .await
    }
}

#[async_trait]
impl Platform for Bilibili {
    fn resume_at(&self) -> Option<std::time::Instant> {
        self.api.limiter.resume_at()
    }

    /// Every id goes through `room_init`: any number may be a short id, and the key must be the
    /// long one.
    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        match &target.locator {
            Locator::Id(id) | Locator::MaybeShort(id) => self.resolve_id(id).await,
            Locator::Share(link) => {
                let id = self.follow_b23(link).await?;
                tracing::info!(
                    "bilibili: share link {} leads to room {id}",
                    redact_url(link)
                );
                self.resolve_id(&id).await
            }
        }
    }

    async fn status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        Ok(self.status_via(room).await?.0)
    }

    async fn sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let Some(info) = self.play_info_preferred(room).await? else {
            return self.legacy_sources(room).await;
        };
        self.legacy_over();
        self.note_quality(room, &info).await;
        let sources = self.to_sources(&info, &Prefs::of(room));
        if sources.is_empty() {
            let offered: Vec<String> = info
                .streams
                .iter()
                .map(|s| format!("{} {}", s.format.name(), s.codec))
                .collect();
            return Err(PlatformError::NoStream(format!(
                "offered: {}; formats = [{}]",
                if offered.is_empty() {
                    "nothing".to_string()
                } else {
                    offered.join(", ")
                },
                room.formats.join(", ")
            )));
        }
        Ok(sources)
    }

    async fn all_sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let Some((first, _)) = self.play_info(room, api::first_qn(&room.quality)).await? else {
            return self.legacy_sources(room).await;
        };
        if let Some(e) = first.refusal() {
            return Err(e);
        }
        let all_formats: Vec<String> = PlatformKind::Bilibili.default_formats();
        let prefs = Prefs {
            quality: &room.quality,
            formats: &all_formats,
            codecs: &room.codecs,
        };
        let mut out = self.to_sources(&first, &prefs);
        for qn in first.accept_qn() {
            if first.has_current(qn) {
                continue;
            }
            if let Ok(Some((info, _))) = self.play_info(room, qn).await {
                if info.refusal().is_none() && info.has_current(qn) {
                    for s in self.to_sources(&info, &prefs) {
                        if !out.iter().any(|o| o.url == s.url) {
                            out.push(s);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn diagnose(&self, room: &RoomSpec) -> Vec<(&'static str, String)> {
        self.diagnose_lines(room).await
    }
}

#[cfg(test)]
mod tests;
