//! Reading a room: `web/enter` signed with `a_bogus` (one retry with a fresh `ttwid` when the
//! answer is empty), the room page when the API answers like risk control, and the app's reflow
//! API for a live listed without a stream URL.

use bytes::Bytes;

use super::request::{self, Fresh};
use super::{
    Douyin, ENTER, PAGE, PAGE_CAP, REFLOW, REFLOW_HOST, REFLOW_PATH, Trace, api, describe,
    user_has_ttwid,
};
use crate::platform::limiter::Permit;
use crate::platform::web::{self, Api, Fetched, JSON_CAP};
use crate::platform::{PlatformError, json};
use crate::util::secret::Secret;

impl Douyin {
    /// A signed API GET. An empty answer gets one retry with a fresh `ttwid` (unless the user's
    /// cookie has its own); what comes back then is the caller's to judge.
    pub(super) async fn signed_get(
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
    pub(super) async fn page_get(
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
    pub(super) async fn room(
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
    pub(super) async fn room_page(
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
    pub(super) async fn reflow(
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
    pub(super) async fn add_reflow_streams(
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
}
