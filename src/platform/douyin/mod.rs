//! Douyin live rooms (`live.douyin.com/<web_rid>`, `v.douyin.com/<code>`).
//!
//! - resolve: a `web_rid` is the key as it is; `v.douyin.com` links are followed by hand to
//!   `live.douyin.com/<web_rid>`, or to the app's reflow page, which names the streamer: their
//!   profile page names the `web_rid` while they are live (the reflow API, which would name it
//!   too, refuses requests without an `a_bogus` signature).
//! - status and sources: one `webcast/room/web/enter/` call, unsigned (no `a_bogus`), with a
//!   genuine `ttwid` cookie got from the home page; the session room id tells broadcasts apart.
//! - When the API answers like risk control (empty body, HTML), the room page is read instead.
//!
//! The pure decoding is in [`api`].

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::limiter::{Budget, Limiter, Permit};
use super::web::{self, Api, Hop, JSON_CAP, browser_headers, cookie_header};
use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamSource, json,
};
use crate::config::{PlatformConfig, Secret, redact_url};
use crate::http;

pub mod api;

pub const DEFAULT_API_BASE: &str = "https://live.douyin.com";

/// Quality names, best first.
pub const QUALITIES: &[&str] = &["origin", "uhd", "hd", "sd", "ld", "md"];

fn is_web_rid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `live.douyin.com/<web_rid>`, `live.douyin.com/?live_web_rid=<id>`,
/// `www.douyin.com/root/live/<web_rid>` and `v.douyin.com/<code>`.
pub fn recognize(url: &url::Url) -> Option<(PlatformKind, Locator)> {
    let host = url.host_str()?.to_ascii_lowercase();
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match host.as_str() {
        "v.douyin.com" => (segments.len() == 1 && is_web_rid(segments[0]))
            .then(|| (PlatformKind::Douyin, Locator::Share(url.to_string()))),
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
        "www.douyin.com" => match segments.as_slice() {
            ["root", "live", id] | ["follow", "live", id] if is_web_rid(id) => {
                Some((PlatformKind::Douyin, Locator::Id(id.to_string())))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Streamers' profile pages, where a share link to the app's reflow page is resolved.
const PROFILE_HOST: &str = "www.douyin.com";
const REFERER: &str = "https://live.douyin.com/";
/// How long a `ttwid` is reused before a fresh one is asked for.
const TTWID_TTL: Duration = Duration::from_secs(3600);
/// The room page is bigger than an API answer.
const PAGE_CAP: usize = 8 << 20;

/// What a share link leads to.
enum ShareTarget {
    WebRid(String),
    Reflow { room_id: String, sec_uid: String },
}

/// Where each kind of request goes. Only a real `api_base` override (a mirror, a test server)
/// redirects the hosts that are not `live.douyin.com`: share links must be fetched from
/// `v.douyin.com` itself, and profile pages from `www.douyin.com`.
#[derive(Debug, Clone, PartialEq)]
struct Hosts {
    api: String,
    /// Pages on other hosts (share links, profile pages) are fetched as
    /// `{via}/<host>/<path>`: `{via}/v.douyin.com/<code>`.
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

pub struct Douyin {
    api: Api,
    api_base: String,
    hosts: Hosts,
    cookie: Option<Secret>,
    ttwid: tokio::sync::Mutex<Option<(String, Instant)>>,
}

fn user_has_ttwid(cookie: Option<&Secret>) -> bool {
    cookie.is_some_and(|c| {
        c.expose()
            .split(';')
            .any(|p| p.trim().starts_with("ttwid="))
    })
}

impl Douyin {
    pub fn new(client: reqwest::Client, cfg: &PlatformConfig) -> Self {
        let hosts = Hosts::new(cfg);
        Self {
            api: Api::new(
                "douyin",
                client,
                Limiter::new("douyin", Budget::configured(PlatformKind::Douyin, cfg)),
            ),
            api_base: hosts.api.clone(),
            hosts,
            cookie: cfg.cookie.clone(),
            ttwid: tokio::sync::Mutex::new(None),
        }
    }

    /// A `ttwid` cookie: every JSON endpoint answers an empty body without a genuine one. It is
    /// what `GET {api_base}/` sets (the home page hands one to every new visitor), cached for
    /// an hour and replaced when an empty answer suggests it went stale.
    async fn ttwid(&self, fresh: bool) -> Option<String> {
        let mut cached = super::limiter::meter::queued(self.ttwid.lock()).await;
        if !fresh {
            if let Some((v, at)) = cached.as_ref() {
                if at.elapsed() < TTWID_TTL {
                    return Some(v.clone());
                }
            }
        }
        let url = format!("{}/", self.api_base);
        let got = self
            .api
            .fetch_headers(&url, browser_headers(REFERER), "ttwid (home page)")
            .await;
        match got {
            Ok((permit, headers)) => {
                let value = headers
                    .get_all(header::SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(api::ttwid_from_set_cookie);
                match value {
                    Some(v) => {
                        permit.ok();
                        tracing::debug!("douyin: got a new ttwid cookie");
                        *cached = Some((v.clone(), Instant::now()));
                        Some(v)
                    }
                    None => {
                        drop(permit);
                        tracing::warn!(
                            "douyin: the home page set no ttwid cookie; requests will likely get empty answers"
                        );
                        cached.as_ref().map(|(v, _)| v.clone())
                    }
                }
            }
            Err(e) => {
                tracing::debug!("douyin: no ttwid: {e}");
                cached.as_ref().map(|(v, _)| v.clone())
            }
        }
    }

    fn headers(
        &self,
        cookie: Option<&Secret>,
        ttwid: Option<&str>,
    ) -> Result<HeaderMap, PlatformError> {
        let mut h = browser_headers(REFERER);
        if let Some(c) = cookie_header(cookie, &[("ttwid", ttwid.unwrap_or_default())])? {
            h.insert(header::COOKIE, c);
        }
        Ok(h)
    }

    fn enter_url(&self, web_rid: &str) -> String {
        let params = [
            ("aid", "6383"),
            ("app_name", "douyin_web"),
            ("live_id", "1"),
            ("device_platform", "web"),
            ("language", "zh-CN"),
            ("enter_from", "web_live"),
            ("cookie_enabled", "true"),
            ("screen_width", "1920"),
            ("screen_height", "1080"),
            ("browser_language", "zh-CN"),
            ("browser_platform", "Win32"),
            ("browser_name", "Chrome"),
            ("browser_version", "126.0.0.0"),
            ("is_need_double_stream", "false"),
            ("web_rid", web_rid),
        ];
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", web::q(v)))
            .collect();
        format!(
            "{}/webcast/room/web/enter/?{}",
            self.api_base,
            query.join("&")
        )
    }

    /// The room as `web/enter` describes it. An empty answer gets one retry with a fresh
    /// `ttwid`; if the API still answers like risk control, the room page is read instead, and
    /// only when that fails too does the platform back off.
    async fn room(
        &self,
        web_rid: &str,
        cookie: Option<&Secret>,
    ) -> Result<api::DyRoom, PlatformError> {
        let own_ttwid = user_has_ttwid(cookie);
        let url = self.enter_url(web_rid);
        let mut attempt = 0;
        let (permit, body) = loop {
            let ttwid = if own_ttwid {
                None
            } else {
                self.ttwid(attempt > 0).await
            };
            let (permit, got) = self
                .api
                .fetch(
                    &url,
                    self.headers(cookie, ttwid.as_deref())?,
                    "web/enter",
                    JSON_CAP,
                )
                .await?;
            if json::trim_start(&got.body).is_empty() && attempt == 0 && !own_ttwid {
                tracing::debug!("douyin: web/enter answered an empty body; getting a new ttwid");
                drop(permit);
                attempt += 1;
                continue;
            }
            break (permit, got.body);
        };
        match api::web_enter(&body) {
            // The web/enter permit is held while the page is tried: if it was the one request
            // allowed after a pause, the page is not fetched and the pause extends.
            Err(PlatformError::Blocked(why)) => match self.room_page(web_rid, cookie).await {
                Ok((page_permit, room)) => {
                    tracing::debug!("douyin: web/enter: {why}; the room page answered instead");
                    page_permit.ok();
                    drop(permit);
                    Ok(room)
                }
                Err((page_permit, page_err)) => {
                    tracing::debug!("douyin: the room page did not help either: {page_err}");
                    drop(page_permit);
                    Err(permit.blocked(&why, None))
                }
            },
            other => Api::settle(permit, other),
        }
    }

    /// The room page (`{api_base}/<web_rid>`), parsed. On failure the permit comes back when
    /// the page was fetched, so the caller can decide what the failure means.
    async fn room_page(
        &self,
        web_rid: &str,
        cookie: Option<&Secret>,
    ) -> Result<(Permit, api::DyRoom), (Option<Permit>, PlatformError)> {
        let ttwid = if user_has_ttwid(cookie) {
            None
        } else {
            self.ttwid(false).await
        };
        let headers = self
            .headers(cookie, ttwid.as_deref())
            .map_err(|e| (None, e))?;
        let url = format!("{}/{}", self.api_base, web::q(web_rid));
        let (permit, got) = self
            .api
            .fetch(&url, headers, "room page", PAGE_CAP)
            .await
            .map_err(|e| (None, e))?;
        match api::page(&got.body) {
            Ok(room) => Ok((permit, room)),
            Err(e) => Err((Some(permit), e)),
        }
    }

    /// Headers the CDN wants on stream requests. Not the user's cookie: the stream URLs are
    /// signed and play without it, and they lead to CDN hosts (HLS segments anywhere a playlist
    /// points).
    fn stream_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::USER_AGENT,
            HeaderValue::from_static(http::BROWSER_UA),
        );
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
        let headers = Self::stream_headers();
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

    async fn resolve_share(&self, link: &str) -> Result<String, PlatformError> {
        let target = self
            .api
            .follow_share(link, self.hosts.via.as_deref(), |u| {
                let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
                if host == "v.douyin.com" {
                    return Hop::Follow;
                }
                if let Some((_, Locator::Id(id))) = recognize(u) {
                    return Hop::Done(ShareTarget::WebRid(id));
                }
                let segs: Vec<&str> = u.path_segments().map(|s| s.collect()).unwrap_or_default();
                if let Some(i) = segs.iter().position(|s| *s == "reflow") {
                    let room_id = segs.get(i + 1).copied().unwrap_or_default().to_string();
                    let sec_uid = u
                        .query_pairs()
                        .find(|(k, _)| k == "sec_user_id")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    if !room_id.is_empty() && room_id.bytes().all(|b| b.is_ascii_digit()) {
                        return Hop::Done(ShareTarget::Reflow { room_id, sec_uid });
                    }
                }
                if segs.contains(&"user") {
                    return Hop::Reject(
                        "the share link leads to a profile, not a live room: paste the live.douyin.com/<id> link of the room"
                            .into(),
                    );
                }
                Hop::Reject(format!(
                    "the share link leads to {}, which is not a live room",
                    redact_url(u.as_str())
                ))
            })
            .await?;
        match target {
            ShareTarget::WebRid(id) => Ok(id),
            ShareTarget::Reflow { room_id, sec_uid } => {
                self.web_rid_from_profile(&room_id, &sec_uid).await
            }
        }
    }

    /// A share link that leads to the app's reflow page names the broadcast (`room_id`) and
    /// the streamer (`sec_uid`), not the `web_rid`. The app's reflow API would say it, but it
    /// answers 10011 to requests without an `a_bogus` signature, which liverec does not
    /// compute. The streamer's profile page names the live room's `web_rid` without one, while
    /// the streamer is live.
    async fn web_rid_from_profile(
        &self,
        room_id: &str,
        sec_uid: &str,
    ) -> Result<String, PlatformError> {
        let refused = |why: &str| {
            PlatformError::Unsupported(format!(
                "the share link leads to the Douyin app's page of live {room_id}, whose room only \
                 Douyin's signed reflow API names (liverec does not compute its a_bogus \
                 signature), and {why}: paste the room's live.douyin.com/<id> link instead \
                 (open the live in a browser to see it)"
            ))
        };
        if sec_uid.is_empty() {
            return Err(refused(
                "the link names no streamer whose profile could say it",
            ));
        }
        let ttwid = if user_has_ttwid(self.cookie.as_ref()) {
            None
        } else {
            self.ttwid(false).await
        };
        let url = self
            .hosts
            .page(PROFILE_HOST, &format!("/user/{}", web::q(sec_uid)));
        let (permit, got) = self
            .api
            .fetch(
                &url,
                self.headers(self.cookie.as_ref(), ttwid.as_deref())?,
                "profile page",
                PAGE_CAP,
            )
            .await?;
        permit.ok();
        api::profile_web_rid(&got.body)
            .ok_or_else(|| refused("the streamer's profile page names no live room now"))
    }
}

#[async_trait]
impl Platform for Douyin {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Douyin
    }

    fn resume_at(&self) -> Option<std::time::Instant> {
        self.api.limiter.resume_at()
    }

    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        match &target.locator {
            Locator::Id(id) | Locator::MaybeShort(id) => {
                Ok(RoomKey::new(PlatformKind::Douyin, id.clone()))
            }
            Locator::Share(link) => {
                let id = self.resolve_share(link).await?;
                if !is_web_rid(&id) {
                    return Err(PlatformError::Malformed(format!(
                        "the share link leads to an odd room id {id:?}"
                    )));
                }
                tracing::info!("douyin: share link {} leads to room {id}", redact_url(link));
                Ok(RoomKey::new(PlatformKind::Douyin, id))
            }
        }
    }

    async fn status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        Ok(self
            .room(&room.key.id, room.cookie.as_ref())
            .await?
            .status())
    }

    async fn sources(&self, spec: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let room = self.room(&spec.key.id, spec.cookie.as_ref()).await?;
        self.to_sources(&room, &spec.quality, &spec.formats)
    }

    async fn all_sources(&self, spec: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        let room = self.room(&spec.key.id, spec.cookie.as_ref()).await?;
        self.to_sources(
            &room,
            &spec.quality,
            &PlatformKind::Douyin.default_formats(),
        )
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
            rec("https://live.douyin.com/742345678901?a=b"),
            Some(Locator::Id("742345678901".into()))
        );
        assert_eq!(
            rec("https://live.douyin.com/?live_web_rid=123"),
            Some(Locator::Id("123".into()))
        );
        assert_eq!(
            rec("https://www.douyin.com/root/live/55"),
            Some(Locator::Id("55".into()))
        );
        assert!(matches!(
            rec("https://v.douyin.com/iRNBho6u/"),
            Some(Locator::Share(_))
        ));
        assert_eq!(rec("https://www.douyin.com/user/MS4wLjABAAAA"), None);
        assert_eq!(rec("https://live.douyin.com/a/b"), None);
    }

    #[test]
    fn the_public_api_base_routes_like_none() {
        let cfg = |base: Option<&str>| PlatformConfig {
            api_base: base.map(str::to_string),
            ..PlatformConfig::default()
        };
        let real = Hosts::new(&cfg(None));
        assert_eq!(real.api, "https://live.douyin.com");
        assert_eq!(real.via, None);
        assert_eq!(
            real.page(PROFILE_HOST, "/user/MS4w"),
            "https://www.douyin.com/user/MS4w"
        );
        for spelled in ["https://live.douyin.com", "https://live.douyin.com/"] {
            assert_eq!(Hosts::new(&cfg(Some(spelled))), real, "{spelled}");
        }
        let m = Hosts::new(&cfg(Some("http://127.0.0.1:9/")));
        assert_eq!(m.api, "http://127.0.0.1:9");
        assert_eq!(m.via.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(
            m.page(PROFILE_HOST, "/user/MS4w"),
            "http://127.0.0.1:9/www.douyin.com/user/MS4w"
        );
    }
}
