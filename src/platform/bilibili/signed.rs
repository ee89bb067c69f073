//! Calling the API: the wbi keys (fetched from `nav`, cached, forgotten when a signature is
//! refused), the login state `nav` reports for the cookie, and calls signed with the keys, with
//! their refusals and unsigned stand-ins.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::api::{self, Login, Refusal, Signed};
use super::memory::{Endpoint, SIGNED_RECHECK};
use super::wbi::{self, WbiKeys};
use super::{
    Bilibili, DEFAULT_NAV_BASE, INFO_PATH, PLAY_PATH, WBI_RETRY, WBI_TTL, signed_label, unix_now,
};
use crate::platform::web::{Api, JSON_CAP};
use crate::platform::{PlatformError, RoomSpec};
use crate::util::secret::Secret;

impl Bilibili {
    /// The cached wbi keys, fetched from `nav` when missing or old. `None` when they cannot be
    /// had: the request then goes unsigned (and a refusal is handled by the caller).
    pub(super) async fn wbi_keys(&self) -> Option<WbiKeys> {
        self.wbi_keys_within(WBI_TTL).await
    }

    /// [`Bilibili::wbi_keys`], asking `nav` again when its last answer is older than `max_age`
    /// (the login check asks more often than the keys need).
    pub(super) async fn wbi_keys_within(&self, max_age: Duration) -> Option<WbiKeys> {
        let mut cache = self.api.limiter.queued(self.wbi.lock()).await;
        if let Some((keys, at)) = &cache.keys {
            if at.elapsed() < max_age {
                return Some(keys.clone());
            }
        }
        if cache.failed_at.is_some_and(|f| f.elapsed() < WBI_RETRY) {
            return cache.keys.as_ref().map(|(k, _)| k.clone());
        }
        let url = format!(
            "{}/x/web-interface/nav",
            self.hosts.other_api(DEFAULT_NAV_BASE)
        );
        let headers = match self.api_headers(self.cookie.as_ref()) {
            Ok(h) => h,
            Err(_) => self.api_headers(None).ok()?,
        };
        match self.api.json(&url, headers, "nav", api::nav).await {
            Ok(nav) => {
                tracing::debug!("bilibili: wbi keys refreshed");
                self.log_login(cache.login.as_ref(), &nav.login);
                self.publish_login(nav.login.logged_in);
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
    pub(super) fn log_login(&self, before: Option<&Login>, now: &Login) {
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
    pub(super) async fn login_for(&self, room: &RoomSpec) -> Option<bool> {
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
    pub(super) async fn forget_wbi_keys(&self) -> bool {
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
    pub(super) async fn signed_query(&self, params: &[(&str, String)]) -> (String, bool) {
        match self.wbi_keys().await {
            Some(keys) => (wbi::sign(params, &keys.mixin_key(), unix_now()), true),
            None => (wbi::unsigned(params), false),
        }
    }

    /// One GET of a JSON answer that may refuse the call. On a wbi-protected endpoint's signed
    /// path (`signed`), a refusal says nothing about the IP and gives the limiter no verdict;
    /// on an unsigned call, `-352` is risk control and pauses the platform.
    pub(super) async fn call<T>(
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
    pub(super) async fn signed_call<T>(
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
            let url = format!("{}{path}?{query}", self.hosts.api);
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
}
