//! The HTTP side shared by the platform APIs: every request goes through the platform's
//! [`Limiter`], sends a browser User-Agent, has a timeout, reads at most a capped body, and turns
//! risk-control answers (HTTP 412/429, and whatever the parser calls
//! [`PlatformError::Blocked`]) into a platform-wide backoff. Also: following share links by
//! hand, one redirect at a time, so that only live-room targets are accepted.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};

use super::limiter::{Limiter, Permit};
use super::{PlatformConfig, PlatformError};
use crate::http;
use crate::util::secret::{Secret, redact_url};

/// API calls give up after this long, counted from when their turn in the budget came (the
/// supervisor's poll allows 30 s in all, not counting the waits for a turn).
pub(crate) const API_TIMEOUT: Duration = Duration::from_secs(10);
/// JSON answers are small; anything bigger is not what we asked for.
pub(crate) const JSON_CAP: usize = 2 << 20;
/// Share links are followed for at most this many redirects.
pub(crate) const MAX_HOPS: usize = 6;

/// What came back, before it is judged.
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
}

/// One platform's API client.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    /// The same, but never following redirects (share links are followed by hand).
    pub(crate) no_redirect: Option<reqwest::Client>,
    pub(crate) limiter: Limiter,
    /// The User-Agent of requests this client builds itself (share-link hops).
    pub(crate) user_agent: HeaderValue,
}

/// `Cookie:` built from the user's cookie and extra pairs, marked sensitive so that it never
/// shows in a debug print of the headers.
pub(crate) fn cookie_header(
    user: Option<&Secret>,
    extra: &[(&str, &str)],
) -> Result<Option<HeaderValue>, PlatformError> {
    let mut parts: Vec<String> = Vec::new();
    let user = user.map(|s| s.expose().trim()).filter(|s| !s.is_empty());
    if let Some(u) = user {
        parts.push(u.trim_end_matches(';').to_string());
    }
    for (name, value) in extra {
        let has = user.is_some_and(|u| {
            u.split(';')
                .any(|p| p.trim().split('=').next() == Some(*name))
        });
        if !has && !value.is_empty() {
            parts.push(format!("{name}={value}"));
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    // `check` refuses such a cookie; a configuration problem, not a fact about the room.
    let mut v = HeaderValue::from_str(&parts.join("; ")).map_err(|_| {
        PlatformError::Config(
            "the configured cookie is not a valid HTTP header value (one line of name=value pairs, no line breaks or control characters)"
                .into(),
        )
    })?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// Where a platform's requests go. Without an `api_base` override each goes to its own host;
/// a real override (a mirror, a test server) takes them all: the platform's API, and the other
/// API hosts it serves at its root, and every other host's pages at `{api_base}/<host><path>`
/// (share links, profile pages...), so that one server can answer them. The platform's public
/// base, however it is written, is no override.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hosts {
    /// The API base: the platform's own, or the mirror.
    pub(crate) api: String,
    /// The mirror, without its trailing slash.
    mirror: Option<String>,
}

impl Hosts {
    /// The hosts of a platform whose public API base is `public_api`.
    pub(crate) fn new(cfg: &PlatformConfig, public_api: &str) -> Self {
        let mirror = cfg.api_override(public_api);
        Self {
            api: mirror.clone().unwrap_or_else(|| public_api.to_string()),
            mirror,
        }
    }

    /// Another API base of the platform (Bilibili's `nav` is on `api.bilibili.com`), which a
    /// mirror serves at its root like the main one.
    pub(crate) fn other_api<'a>(&'a self, public: &'a str) -> &'a str {
        self.mirror.as_deref().unwrap_or(public)
    }

    /// Where to fetch `https://{host}{path}`.
    pub(crate) fn page(&self, host: &str, path: &str) -> String {
        match &self.mirror {
            Some(m) => format!("{m}/{host}{path}"),
            None => format!("https://{host}{path}"),
        }
    }

    /// Where to fetch `url` (a share link's hop: any host, any scheme).
    pub(crate) fn route(&self, url: &url::Url) -> String {
        match &self.mirror {
            Some(m) => format!(
                "{m}/{}{}{}",
                url.host_str().unwrap_or_default(),
                url.path(),
                url.query().map(|q| format!("?{q}")).unwrap_or_default()
            ),
            None => url.to_string(),
        }
    }
}

/// A query value, percent-encoded.
pub(crate) fn q(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// HTTP statuses that mean "risk control refused this IP": 412 (Bilibili), 429, and 444 (the
/// nginx "close without answer" code Douyin's edge sends to blocked clients).
pub(crate) fn is_block_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 412 | 429 | 444)
}

/// `Retry-After: <seconds>`, when a server sends one.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Browser-like headers for API calls, with this User-Agent (a platform's `user_agent`).
pub(crate) fn browser_headers_as(referer: &'static str, user_agent: &HeaderValue) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::USER_AGENT, user_agent.clone());
    h.insert(header::REFERER, HeaderValue::from_static(referer));
    h.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
    );
    h
}

impl Api {
    pub(crate) fn new(platform: &'static str, client: reqwest::Client, limiter: Limiter) -> Self {
        let no_redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| tracing::warn!("{platform}: cannot build the share-link client: {e}"))
            .ok();
        Self {
            client,
            no_redirect,
            limiter,
            user_agent: HeaderValue::from_static(http::BROWSER_UA),
        }
    }

    /// The same client, sending `ua` where it builds its own headers.
    pub(crate) fn with_user_agent(mut self, ua: HeaderValue) -> Self {
        self.user_agent = ua;
        self
    }

    /// Sends one GET within the budget. HTTP 412 and 429 start a backoff; any other answer comes
    /// back with its permit, to be judged by the caller.
    pub(crate) async fn fetch(
        &self,
        url: &str,
        headers: HeaderMap,
        what: &str,
        cap: usize,
    ) -> Result<(Permit, Fetched), PlatformError> {
        let permit = self.limiter.acquire().await?;
        let sent = self
            .client
            .get(url)
            .headers(headers)
            .timeout(API_TIMEOUT)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return Err(PlatformError::Network(format!(
                    "{what}: {}",
                    http::describe(&e)
                )));
            }
        };
        let status = resp.status();
        if is_block_status(status) {
            let ra = retry_after(resp.headers());
            return Err(permit.blocked(&format!("{what}: HTTP {}", status.as_u16()), ra));
        }
        if !status.is_success() {
            return Err(PlatformError::Network(format!(
                "{what}: the API answered HTTP {}",
                status.as_u16()
            )));
        }
        let body = match http::read_capped(resp, cap).await {
            Ok(b) => b,
            Err(http::ReadError::TooLarge { cap }) => {
                permit.ok();
                return Err(PlatformError::Malformed(format!(
                    "{what}: the answer is larger than {} KiB; not read",
                    cap / 1024
                )));
            }
            Err(http::ReadError::Http(e)) => {
                return Err(PlatformError::Network(format!(
                    "{what}: {}",
                    http::describe(&e)
                )));
            }
        };
        Ok((permit, Fetched { body }))
    }

    /// Sends one GET within the budget and keeps only the status and headers (the body, a
    /// whole web page, is not read).
    pub(crate) async fn fetch_headers(
        &self,
        url: &str,
        headers: HeaderMap,
        what: &str,
    ) -> Result<(Permit, HeaderMap), PlatformError> {
        self.headers_only(self.client.get(url).headers(headers), what)
            .await
    }

    /// POSTs a JSON body within the budget and keeps only the status and headers (Douyin's
    /// `ttwid` register endpoint answers with a cookie).
    pub(crate) async fn post_headers(
        &self,
        url: &str,
        headers: HeaderMap,
        json_body: String,
        what: &str,
    ) -> Result<(Permit, HeaderMap), PlatformError> {
        let req = self
            .client
            .post(url)
            .headers(headers)
            .header(header::CONTENT_TYPE, "application/json")
            .body(json_body);
        self.headers_only(req, what).await
    }

    async fn headers_only(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<(Permit, HeaderMap), PlatformError> {
        let permit = self.limiter.acquire().await?;
        let resp = req
            .timeout(API_TIMEOUT)
            .send()
            .await
            .map_err(|e| PlatformError::Network(format!("{what}: {}", http::describe(&e))))?;
        let status = resp.status();
        if is_block_status(status) {
            let ra = retry_after(resp.headers());
            return Err(permit.blocked(&format!("{what}: HTTP {}", status.as_u16()), ra));
        }
        if !status.is_success() && !status.is_redirection() {
            return Err(PlatformError::Network(format!(
                "{what}: HTTP {}",
                status.as_u16()
            )));
        }
        Ok((permit, resp.headers().clone()))
    }

    /// Judges a parsed answer: a block pauses the platform, anything else shows the API answers.
    pub(crate) fn settle<T>(
        permit: Permit,
        result: Result<T, PlatformError>,
    ) -> Result<T, PlatformError> {
        match result {
            Err(PlatformError::Blocked(what)) => Err(permit.blocked(&what, None)),
            other => {
                permit.ok();
                other
            }
        }
    }

    /// GET + parse a JSON answer.
    pub(crate) async fn json<T>(
        &self,
        url: &str,
        headers: HeaderMap,
        what: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, PlatformError>,
    ) -> Result<T, PlatformError> {
        let (permit, got) = self.fetch(url, headers, what, JSON_CAP).await?;
        Self::settle(permit, parse(&got.body))
    }

    /// Follows a share link one redirect at a time until `classify` accepts or rejects a
    /// target. Each hop goes where `hosts` routes it (a mirror gets them all).
    pub(crate) async fn follow_share<T>(
        &self,
        link: &str,
        hosts: &Hosts,
        mut classify: impl FnMut(&url::Url) -> Hop<T>,
    ) -> Result<T, PlatformError> {
        let Some(client) = &self.no_redirect else {
            return Err(PlatformError::Network(
                "share links cannot be followed (no HTTP client)".into(),
            ));
        };
        let mut current = url::Url::parse(link)
            .map_err(|e| PlatformError::Malformed(format!("{link:?} is not a URL ({e})")))?;
        let mut seen = HashSet::new();
        for _ in 0..=MAX_HOPS {
            match classify(&current) {
                Hop::Done(t) => return Ok(t),
                Hop::Reject(why) => return Err(PlatformError::Unsupported(why)),
                Hop::Follow => {}
            }
            let shown = redact_url(current.as_str());
            if !seen.insert(current.to_string()) {
                return Err(PlatformError::Malformed(format!(
                    "the share link redirects in a loop (back to {shown})"
                )));
            }
            let fetch = hosts.route(&current);
            let permit = self.limiter.acquire().await?;
            let resp = client
                .get(&fetch)
                .header(header::USER_AGENT, self.user_agent.clone())
                .timeout(API_TIMEOUT)
                .send()
                .await
                .map_err(|e| {
                    PlatformError::Network(format!("share link {shown}: {}", http::describe(&e)))
                })?;
            let status = resp.status();
            if is_block_status(status) {
                let ra = retry_after(resp.headers());
                return Err(
                    permit.blocked(&format!("share link {shown}: HTTP {}", status.as_u16()), ra)
                );
            }
            if status.is_redirection() {
                let Some(loc) = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                else {
                    return Err(PlatformError::Malformed(format!(
                        "share link {shown}: HTTP {} without a Location",
                        status.as_u16()
                    )));
                };
                let next = current.join(loc).map_err(|e| {
                    PlatformError::Malformed(format!(
                        "share link {shown}: bad Location {:?} ({e})",
                        redact_url(loc)
                    ))
                })?;
                permit.ok();
                tracing::debug!(from = %shown, to = %redact_url(next.as_str()), "share link redirects");
                current = next;
                continue;
            }
            permit.ok();
            if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) || status.is_success() {
                return Err(PlatformError::NotFound(format!(
                    "the share link {shown} leads to no room (HTTP {}; expired or mistyped?)",
                    status.as_u16()
                )));
            }
            return Err(PlatformError::Network(format!(
                "share link {shown}: HTTP {}",
                status.as_u16()
            )));
        }
        Err(PlatformError::Malformed(format!(
            "the share link {} redirects more than {MAX_HOPS} times",
            redact_url(link)
        )))
    }
}

/// What a share-link target is.
pub(crate) enum Hop<T> {
    /// The room (or what leads to it).
    Done(T),
    /// Another redirector: fetch it and see where it points.
    Follow,
    /// Not a live room.
    Reject(String),
}

#[cfg(test)]
mod tests;
