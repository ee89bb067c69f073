//! Bilibili live rooms (`live.bilibili.com/<id>`, `b23.tv/<code>`).
//!
//! - resolve: `room_init` turns any id (short or long) into the long room id; `b23.tv` links are
//!   followed by hand and only `live.bilibili.com` targets are accepted.
//! - status: `getInfoByRoom` (wbi-signed): `live_status` 1 only is live (2 is a replay loop);
//!   `live_start_time` tells one broadcast from the next.
//! - sources: `getRoomPlayInfo` (wbi-signed), asked again when the wanted qn is available but
//!   was not given; URLs are `host + base_url + extra`, fetched afresh at every call.
//! - When the wbi signature keeps being refused, the unsigned `room/v1` endpoints stand in.
//!
//! The pure decoding is in [`api`], the signing in [`wbi`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::limiter::{Budget, Limiter};
use super::web::{Api, Hop, browser_headers, cookie_header};
use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamFormat, StreamSource,
};
use crate::config::{PlatformConfig, Secret, redact_url};
use crate::http;
use api::Signed;
use wbi::WbiKeys;

pub mod api;
pub mod wbi;

pub const DEFAULT_API_BASE: &str = "https://api.live.bilibili.com";

/// `live.bilibili.com/[h5/|blanc/]<N>` (the last all-digit path segment) and `b23.tv/<code>`.
pub fn recognize(url: &url::Url) -> Option<(PlatformKind, Locator)> {
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
pub const DEFAULT_NAV_BASE: &str = "https://api.bilibili.com";
const REFERER: &str = "https://live.bilibili.com/";
const ORIGIN: &str = "https://live.bilibili.com";
/// The wbi keys change daily; recorders refresh them every two hours.
const WBI_TTL: Duration = Duration::from_secs(2 * 3600);
/// After a failed `nav`, do not ask again for this long (requests go unsigned meanwhile).
const WBI_RETRY: Duration = Duration::from_secs(60);

#[derive(Default)]
struct WbiCache {
    keys: Option<(WbiKeys, Instant)>,
    failed_at: Option<Instant>,
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

pub struct Bilibili {
    api: Api,
    api_base: String,
    nav_base: String,
    share_via: Option<String>,
    /// The platform's cookie, for calls that are not about one configured room.
    cookie: Option<Secret>,
    wbi: tokio::sync::Mutex<WbiCache>,
    /// An anonymous device id sent when the user's cookie has none (risk control is harsher
    /// on requests without one).
    buvid3: String,
    fallback_logged: AtomicBool,
}

impl Bilibili {
    pub fn new(client: reqwest::Client, cfg: &PlatformConfig) -> Self {
        let hosts = Hosts::new(cfg);
        Self {
            api: Api::new(
                "bilibili",
                client,
                Limiter::new("bilibili", Budget::configured(PlatformKind::Bilibili, cfg)),
            ),
            api_base: hosts.api,
            nav_base: hosts.nav,
            share_via: hosts.share_via,
            cookie: cfg.cookie.clone(),
            wbi: tokio::sync::Mutex::new(WbiCache::default()),
            buvid3: format!("{}infoc", uuid::Uuid::new_v4().to_string().to_uppercase()),
            fallback_logged: AtomicBool::new(false),
        }
    }

    fn api_headers(&self, cookie: Option<&Secret>) -> Result<HeaderMap, PlatformError> {
        let mut h = browser_headers(REFERER);
        h.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
        if let Some(c) = cookie_header(cookie, &[("buvid3", &self.buvid3)])? {
            h.insert(header::COOKIE, c);
        }
        Ok(h)
    }

    /// Headers the CDN wants on stream requests. Never the login cookie: downloads work
    /// without it, and stream URLs lead to CDN hosts (and HLS segments anywhere a playlist
    /// points), which have no business seeing SESSDATA.
    fn stream_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_static(http::BROWSER_UA),
        );
        h.insert(header::REFERER, HeaderValue::from_static(REFERER));
        h.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
        h
    }

    /// The cached wbi keys, fetched from `nav` when missing or old. `None` when they cannot be
    /// had: the request then goes unsigned (and a refusal is handled by the caller).
    async fn wbi_keys(&self) -> Option<WbiKeys> {
        let mut cache = super::limiter::meter::queued(self.wbi.lock()).await;
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
            Ok(keys) => {
                tracing::debug!("bilibili: wbi keys refreshed");
                cache.keys = Some((keys.clone(), Instant::now()));
                cache.failed_at = None;
                Some(keys)
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

    /// After a refused signature: drops the cached keys so that `nav` is asked again, unless
    /// that cannot help (the keys are younger than [`WBI_RETRY`], or `nav` failed less than
    /// that long ago: its retry wait stands). Says whether a retry may get other keys, so an
    /// endpoint that keeps refusing never makes every poll ask `nav`.
    async fn forget_wbi_keys(&self) -> bool {
        let mut cache = self.wbi.lock().await;
        if cache.failed_at.is_some_and(|f| f.elapsed() < WBI_RETRY) {
            return false;
        }
        match &cache.keys {
            Some((_, at)) if at.elapsed() >= WBI_RETRY => {
                cache.keys = None;
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    async fn signed_query(&self, params: &[(&str, String)]) -> String {
        match self.wbi_keys().await {
            Some(keys) => {
                let wts = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                wbi::sign(params, &keys.mixin_key(), wts)
            }
            None => wbi::unsigned(params),
        }
    }

    /// A wbi-signed call; a refused signature is retried once with fresh keys.
    async fn signed_call<T>(
        &self,
        path: &str,
        params: &[(&str, String)],
        cookie: Option<&Secret>,
        what: &'static str,
        parse: fn(&[u8]) -> Result<Signed<T>, PlatformError>,
    ) -> Result<Signed<T>, PlatformError> {
        for attempt in 0..2 {
            let url = format!(
                "{}{path}?{}",
                self.api_base,
                self.signed_query(params).await
            );
            match self
                .api
                .json(&url, self.api_headers(cookie)?, what, parse)
                .await?
            {
                Signed::Data(d) => return Ok(Signed::Data(d)),
                Signed::WbiRefused if attempt == 0 && self.forget_wbi_keys().await => {
                    tracing::debug!("bilibili: {what} refused the wbi signature; new keys");
                }
                Signed::WbiRefused => break,
            }
        }
        Ok(Signed::WbiRefused)
    }

    async fn room_init(
        &self,
        id: &str,
        cookie: Option<&Secret>,
    ) -> Result<api::RoomInit, PlatformError> {
        let url = format!(
            "{}/room/v1/Room/room_init?id={}",
            self.api_base,
            wbi::encode(id)
        );
        self.api
            .json(&url, self.api_headers(cookie)?, "room_init", api::room_init)
            .await
    }

    async fn resolve_id(&self, id: &str) -> Result<RoomKey, PlatformError> {
        let init = self.room_init(id, self.cookie.as_ref()).await?;
        let long = init.room_id.to_string();
        if long != id {
            tracing::info!("bilibili: room {id} is a short id for room {long}");
        }
        Ok(RoomKey::new(PlatformKind::Bilibili, long))
    }

    fn warn_fallback_once(&self, what: &str) {
        if !self.fallback_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "bilibili: {what} refuses the wbi signature even with fresh keys; using the unsigned room/v1 endpoints instead"
            );
        }
    }

    async fn play_info(
        &self,
        room: &RoomSpec,
        qn: u32,
    ) -> Result<Option<api::PlayInfo>, PlatformError> {
        let params = [
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
        ];
        let got = self
            .signed_call(
                "/xlive/web-room/v2/index/getRoomPlayInfo",
                &params,
                room.cookie.as_ref(),
                "getRoomPlayInfo",
                api::play_info,
            )
            .await?;
        Ok(match got {
            Signed::Data(info) => Some(info),
            Signed::WbiRefused => None,
        })
    }

    /// The play info at the preferred quality: asks at the first preference, then once more if
    /// the answer shows that the wanted quality is available but was not given.
    async fn play_info_preferred(
        &self,
        room: &RoomSpec,
    ) -> Result<Option<api::PlayInfo>, PlatformError> {
        let first = api::first_qn(&room.quality);
        let Some(info) = self.play_info(room, first).await? else {
            return Ok(None);
        };
        if let Some(e) = info.refusal() {
            return Err(e);
        }
        let Some(wanted) = api::rerequest_qn(&info, &room.quality).filter(|&q| q != first) else {
            return Ok(Some(info));
        };
        match self.play_info(room, wanted).await {
            Ok(Some(again)) if again.refusal().is_none() && !again.streams.is_empty() => {
                if !again.has_current(wanted) {
                    tracing::debug!(
                        "bilibili: asked for qn {wanted}, got {:?} (a cookie may be needed for it)",
                        again.streams.first().map(|s| s.current_qn)
                    );
                }
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

    fn to_sources(info: &api::PlayInfo, formats: &[String]) -> Vec<StreamSource> {
        let headers = Self::stream_headers();
        api::candidates(info, formats)
            .into_iter()
            .map(|c| StreamSource {
                url: c.url,
                format: c.format.stream_format(),
                quality: format!("{} {}", c.format.name(), c.quality),
                headers: headers.clone(),
            })
            .collect()
    }

    /// The legacy FLV-only endpoint, for when wbi signing keeps being refused.
    async fn legacy_sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        self.warn_fallback_once("getRoomPlayInfo");
        if !room.formats.iter().any(|f| f == "flv") {
            return Err(PlatformError::Blocked(
                "getRoomPlayInfo refuses the wbi signature, and the unsigned fallback offers only flv, which is not in `formats`"
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
                "playUrl",
                api::play_url_v1,
            )
            .await?;
        let headers = Self::stream_headers();
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
    fn kind(&self) -> PlatformKind {
        PlatformKind::Bilibili
    }

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
        let params = [
            ("room_id", room.key.id.clone()),
            ("web_location", "444.8".to_string()),
        ];
        let got = self
            .signed_call(
                "/xlive/web-room/v1/index/getInfoByRoom",
                &params,
                room.cookie.as_ref(),
                "getInfoByRoom",
                api::room_info,
            )
            .await?;
        match got {
            Signed::Data(info) => {
                if info.is_live() && info.is_paid() {
                    return Err(PlatformError::Unsupported(
                        "a paid live (special_type 1): only paying viewers can watch it".into(),
                    ));
                }
                Ok(info.status())
            }
            Signed::WbiRefused => {
                self.warn_fallback_once("getInfoByRoom");
                let init = self.room_init(&room.key.id, room.cookie.as_ref()).await?;
                if init.live_status == 1 && init.special_type == 1 {
                    return Err(PlatformError::Unsupported(
                        "a paid live (special_type 1): only paying viewers can watch it".into(),
                    ));
                }
                Ok(init.status())
            }
        }
    }

    async fn sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let Some(info) = self.play_info_preferred(room).await? else {
            return self.legacy_sources(room).await;
        };
        let sources = Self::to_sources(&info, &room.formats);
        if sources.is_empty() {
            let offered: Vec<&str> = info.streams.iter().map(|s| s.format.name()).collect();
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
        let Some(first) = self.play_info(room, api::first_qn(&room.quality)).await? else {
            return self.legacy_sources(room).await;
        };
        if let Some(e) = first.refusal() {
            return Err(e);
        }
        let all_formats: Vec<String> = PlatformKind::Bilibili.default_formats();
        let mut out = Self::to_sources(&first, &all_formats);
        for qn in first.accept_qn() {
            if first.has_current(qn) {
                continue;
            }
            if let Ok(Some(info)) = self.play_info(room, qn).await {
                if info.refusal().is_none() && info.has_current(qn) {
                    for s in Self::to_sources(&info, &all_formats) {
                        if !out.iter().any(|o| o.url == s.url) {
                            out.push(s);
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(s: &str) -> Option<Locator> {
        recognize(&url::Url::parse(s).unwrap()).map(|(_, l)| l)
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            rec("https://live.bilibili.com/21452505"),
            Some(Locator::MaybeShort("21452505".into()))
        );
        assert_eq!(
            rec("https://live.bilibili.com/h5/76?x=1"),
            Some(Locator::MaybeShort("76".into()))
        );
        assert!(matches!(
            rec("https://b23.tv/AbC1234"),
            Some(Locator::Share(_))
        ));
        assert_eq!(rec("https://live.bilibili.com/"), None);
        assert_eq!(rec("https://space.bilibili.com/123"), None);
        assert_eq!(rec("https://b23.tv/"), None);
    }

    /// A Bilibili API whose getInfoByRoom refuses every signature and whose `nav` answers
    /// without keys while `nav_ok` is false; counts the `nav` requests.
    async fn refusing_api(
        nav_ok: std::sync::Arc<AtomicBool>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use axum::routing::get;
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        let navs = Arc::new(AtomicUsize::new(0));
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/tests/fixtures/platforms/bilibili/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let (nav_body, voucher, init) = (
            fixture("nav-anonymous.json"),
            fixture("wbi-voucher.json"),
            fixture("room_init-live.json"),
        );
        let counted = navs.clone();
        let app = axum::Router::new()
            .route(
                "/x/web-interface/nav",
                get(move || {
                    counted.fetch_add(1, Ordering::Relaxed);
                    let body = if nav_ok.load(Ordering::Relaxed) {
                        nav_body.clone()
                    } else {
                        br#"{"code":0,"message":"0","data":{}}"#.to_vec()
                    };
                    async move { body }
                }),
            )
            .route(
                "/xlive/web-room/v1/index/getInfoByRoom",
                get(move || {
                    let b = voucher.clone();
                    async move { b }
                }),
            )
            .route(
                "/room/v1/Room/room_init",
                get(move || {
                    let b = init.clone();
                    async move { b }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}"), navs)
    }

    fn spec() -> RoomSpec {
        RoomSpec {
            key: RoomKey::new(PlatformKind::Bilibili, "14073662"),
            url: "https://live.bilibili.com/14073662".into(),
            quality: vec!["best".into()],
            formats: vec!["flv".into()],
            cookie: None,
        }
    }

    #[tokio::test]
    async fn nav_is_not_asked_again_within_the_retry_window() {
        let nav_ok = std::sync::Arc::new(AtomicBool::new(false));
        let (base, navs) = refusing_api(nav_ok.clone()).await;
        let b = Bilibili::new(crate::http::client().unwrap(), &with_base(Some(&base)));
        // nav fails: requests go unsigned, are refused, and the unsigned room_init answers;
        // polls within WBI_RETRY do not ask nav again.
        for _ in 0..3 {
            let st = b.status(&spec()).await.unwrap();
            assert!(st.live);
        }
        assert_eq!(navs.load(Ordering::Relaxed), 1);

        // nav works but the endpoint still refuses: keys that were just fetched are not
        // fetched again at every poll either.
        nav_ok.store(true, Ordering::Relaxed);
        let b = Bilibili::new(crate::http::client().unwrap(), &with_base(Some(&base)));
        for _ in 0..3 {
            b.status(&spec()).await.unwrap();
        }
        assert_eq!(navs.load(Ordering::Relaxed), 2);
    }

    fn with_base(base: Option<&str>) -> PlatformConfig {
        PlatformConfig {
            api_base: base.map(str::to_string),
            ..PlatformConfig::default()
        }
    }

    #[test]
    fn the_public_api_base_routes_like_none() {
        let real = Hosts::new(&with_base(None));
        assert_eq!(
            real,
            Hosts {
                api: "https://api.live.bilibili.com".into(),
                nav: "https://api.bilibili.com".into(),
                share_via: None,
            }
        );
        for spelled in [
            "https://api.live.bilibili.com",
            "https://api.live.bilibili.com/",
            "https://API.live.bilibili.com:443/",
            "http://api.live.bilibili.com",
        ] {
            assert_eq!(Hosts::new(&with_base(Some(spelled))), real, "{spelled}");
        }
        // A mirror takes every request, nav and share links included.
        let m = Hosts::new(&with_base(Some("http://127.0.0.1:8080/")));
        assert_eq!(m.api, "http://127.0.0.1:8080");
        assert_eq!(m.nav, "http://127.0.0.1:8080");
        assert_eq!(m.share_via.as_deref(), Some("http://127.0.0.1:8080"));
        // Another path on the public host is a mirror too.
        assert!(
            Hosts::new(&with_base(Some("https://api.live.bilibili.com/proxy")))
                .share_via
                .is_some()
        );
    }
}
