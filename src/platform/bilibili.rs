//! Bilibili live rooms (`live.bilibili.com/<id>`, `b23.tv/<code>`).
//!
//! - resolve: `getRoomBaseInfo` turns up to 100 ids (short or long) into long room ids and
//!   their anchors' uids in one request; `room_init` answers for an id it leaves out. `b23.tv`
//!   links are followed by hand and only `live.bilibili.com` targets are accepted.
//! - status: an idle room whose uid is known is asked in a batch
//!   (`get_status_info_by_uids`, up to 100 rooms polled at the same instant, [`bulk`] and
//!   [`batch`]): offline there costs nothing more. A live room, new to us, and a live room's
//!   own checks (a session is open) use `getInfoByRoom` (wbi-signed): `live_status` 1 only is
//!   live (2 is a replay loop); `live_start_time` tells one broadcast from the next. For a
//!   live room `getRoomPlayInfo` is asked once too: only its answer shows a live that cannot
//!   be recorded (DRM, guard-only, password); the `sources` call that follows reuses it.
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
//! [`memory`]; calls and their keys in [`signed`], stream sources in [`sources`].

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::PlatformConfig;
use super::limiter::{Budget, Limiter};
use super::share::Share;
use super::web::{Api, Hop, Hosts, browser_headers_as, cookie_header};
use super::{
    ChatEndpoint, Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus,
    RoomTarget, StreamSource,
};
use crate::http;
use crate::util::secret::{Secret, redact_url};
use api::{Login, Prefs};
use memory::{Endpoint, Flags, RecentPlay, SignStates};
use wbi::WbiKeys;

pub mod api;
pub(crate) mod batch;
mod bulk;
mod chat;
mod diagnose;
pub(crate) mod memory;
mod signed;
mod sources;
pub(crate) mod wbi;

pub(crate) const DEFAULT_API_BASE: &str = "https://api.live.bilibili.com";
/// The most rooms one batch request (status by uid, base info by room id) asks about.
pub(crate) const BATCH_ROOMS: usize = 100;

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
/// With a login cookie, `nav` is asked at least this often (its answer also renews the wbi
/// keys): an expired cookie is noticed within this time, at the cost of one request.
pub(crate) const LOGIN_RECHECK: Duration = Duration::from_secs(30 * 60);
const INFO_PATH: &str = "/xlive/web-room/v1/index/getInfoByRoom";
const PLAY_PATH: &str = "/xlive/web-room/v2/index/getRoomPlayInfo";
const DANMU_PATH: &str = "/xlive/web-room/v1/index/getDanmuInfo";

#[derive(Default)]
struct WbiCache {
    keys: Option<(WbiKeys, Instant)>,
    failed_at: Option<Instant>,
    /// `nav`'s login state for the platform cookie; `None` until `nav` answered.
    login: Option<Login>,
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

/// Headers of an API call: a browser's, with the cookie and an anonymous device id.
fn api_headers(
    ua: &HeaderValue,
    buvid3: &str,
    cookie: Option<&Secret>,
) -> Result<HeaderMap, PlatformError> {
    let mut h = browser_headers_as(REFERER, ua);
    h.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
    if let Some(c) = cookie_header(cookie, &[("buvid3", buvid3)])? {
        h.insert(header::COOKIE, c);
    }
    Ok(h)
}

pub(crate) struct Bilibili {
    api: Api,
    /// `nav` is on the main site's API host, share links on `b23.tv`: a mirror takes both.
    hosts: Hosts,
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
    /// Status checks and resolutions of many rooms in one request each.
    batches: bulk::Batches,
    /// Chat's turns for `getDanmuInfo`: a share of the budget, so that chat never crowds out
    /// polls.
    chat_share: Share,
    /// Whether `nav` says the platform's cookie is logged in (`None` until it answered), for
    /// `login_lost` and `status`.
    login: tokio::sync::watch::Sender<Option<bool>>,
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
        let ua = user_agent(cfg);
        let budget = Budget::configured(PlatformKind::Bilibili, cfg);
        let api = Api::new("bilibili", client, Limiter::new("bilibili", budget))
            .with_user_agent(ua.clone());
        let hosts = Hosts::new(cfg, DEFAULT_API_BASE);
        let buvid3 = format!("{}infoc", uuid::Uuid::new_v4().to_string().to_uppercase());
        let batches = bulk::Batches::new(
            &api,
            &hosts.api,
            api_headers(&ua, &buvid3, cfg.cookie.as_ref()),
        );
        Self {
            api,
            hosts,
            cookie: cfg.cookie.clone(),
            wbi: tokio::sync::Mutex::new(WbiCache::default()),
            refreshed_for_refusal: AtomicBool::new(false),
            buvid3,
            signing: SignStates::default(),
            capped: Flags::default(),
            legacy_in_use: AtomicBool::new(false),
            recent: RecentPlay::default(),
            ua,
            batches,
            chat_share: Share::of(budget),
            login: tokio::sync::watch::Sender::new(None),
        }
    }

    /// Publishes `nav`'s answer about the platform's cookie (only a configured cookie's
    /// state is worth watching: without one, anonymous is what was asked for).
    fn publish_login(&self, logged_in: bool) {
        if self.cookie.is_some() {
            self.login.send_if_modified(|v| {
                let changed = *v != Some(logged_in);
                *v = Some(logged_in);
                changed
            });
        }
    }

    fn api_headers(&self, cookie: Option<&Secret>) -> Result<HeaderMap, PlatformError> {
        api_headers(&self.ua, &self.buvid3, cookie)
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

    async fn room_init(
        &self,
        id: &str,
        cookie: Option<&Secret>,
        what: &'static str,
    ) -> Result<api::RoomInit, PlatformError> {
        let url = format!(
            "{}/room/v1/Room/room_init?id={}",
            self.hosts.api,
            wbi::encode(id)
        );
        self.api
            .json(&url, self.api_headers(cookie)?, what, |b| {
                api::room_init_as(b, what)
            })
            .await
    }

    /// Resolves an id with `room_init` alone.
    async fn resolve_id(&self, id: &str) -> Result<RoomKey, PlatformError> {
        let init = self
            .room_init(id, self.cookie.as_ref(), "room_init")
            .await?;
        let long = init.room_id.to_string();
        self.batches.memory.learn_uid(&long, init.uid);
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
        let (mut status, via, uid) = match signed {
            Some((info, via)) => (info.status(), via, info.uid),
            None => {
                let init = self
                    .room_init(&room.key.id, room.cookie.as_ref(), ROOM_INIT_FALLBACK)
                    .await?;
                (init.status(), ROOM_INIT_FALLBACK, init.uid)
            }
        };
        self.batches.memory.learn_uid(&room.key.id, uid);
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

    async fn follow_b23(&self, link: &str) -> Result<String, PlatformError> {
        self.api
            .follow_share(link, &self.hosts, |u| {
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

    fn pause_until(&self, until: std::time::Instant, reason: &str) {
        self.api.limiter.pause_until(until, reason);
    }

    fn set_budget_share(&self, share: f64) {
        self.api.limiter.set_share(share);
    }

    /// Every id is resolved (any number may be a short id, and the key must be the long
    /// one), many in one `getRoomBaseInfo` request; `room_init` answers the rest.
    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        match &target.locator {
            Locator::Id(id) | Locator::MaybeShort(id) => self.resolve_batched(id).await,
            Locator::Share(link) => {
                let id = self.follow_b23(link).await?;
                tracing::info!(
                    "bilibili: share link {} leads to room {id}",
                    redact_url(link)
                );
                self.resolve_batched(&id).await
            }
        }
    }

    async fn status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        self.status_batched(room).await
    }

    fn poll_quantum(&self) -> std::time::Duration {
        bulk::BATCH_QUANTUM
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

    fn login(&self) -> Option<tokio::sync::watch::Receiver<Option<bool>>> {
        self.cookie.as_ref().map(|_| self.login.subscribe())
    }

    async fn check_login(&self) {
        if self.cookie.is_some() {
            self.wbi_keys_within(LOGIN_RECHECK).await;
        }
    }

    async fn chat_endpoint(
        &self,
        room: &RoomSpec,
        _session_hint: Option<&str>,
    ) -> Result<ChatEndpoint, PlatformError> {
        self.chat(room).await
    }
}

#[cfg(test)]
mod tests;
