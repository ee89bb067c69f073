//! What a Douyin request carries, built without IO: the query of `web/enter` and of the app's
//! reflow API, their `a_bogus` signature, and the cookies a browser would send. Randomness and
//! the clock come from a [`Dice`], so that tests can fix them.
//!
//! The parameter lists are the ones maintained peers send in 2026 (biliup
//! `crates/biliup/src/downloader/live/douyin.rs`, 2026-07; rust-srec
//! `douyin/{builder,utils}.rs`, 2026-08): the signature is computed over the query exactly as
//! it is sent, `msToken` included, and appended last, unencoded, as they do.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngExt;
use rand::rngs::StdRng;

use super::abogus::{self, Signer};
use crate::platform::web;

/// `web/enter`'s query for room `web_rid`, before signing.
pub(crate) fn enter_query(web_rid: &str, browser_version: &str, ms_token: &str) -> String {
    query(&[
        ("app_name", "douyin_web"),
        ("enter_from", "web_live"),
        ("live_id", "1"),
        ("aid", "6383"),
        ("compress", "gzip"),
        ("device_platform", "web"),
        ("browser_language", "zh-CN"),
        ("browser_platform", "Win32"),
        ("browser_name", "Mozilla"),
        ("browser_version", browser_version),
        ("web_rid", web_rid),
        ("is_need_double_stream", "false"),
        ("msToken", ms_token),
    ])
}

/// The reflow API's query, before signing: a live by its `room_id` (the broadcast), or, with
/// [`ANY_ROOM`], the streamer's current live by their `sec_uid`.
pub(crate) fn reflow_query(
    room_id: &str,
    sec_uid: &str,
    verify_fp: &str,
    ms_token: &str,
) -> String {
    query(&[
        ("room_id", room_id),
        ("sec_user_id", sec_uid),
        ("type_id", "0"),
        ("live_id", "1"),
        ("version_code", "99.99.99"),
        ("app_id", "1128"),
        ("aid", "6383"),
        ("verifyFp", verify_fp),
        ("msToken", ms_token),
    ])
}

/// The `room_id` peers send to the reflow API when they know only the streamer (biliup,
/// rust-srec): the answer is the streamer's current live.
pub(crate) const ANY_ROOM: &str = "2";

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", web::q(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `query&a_bogus=<signature>` for a GET (empty body).
pub(crate) fn sign(signer: &Signer, query: &str, entropy: &abogus::Entropy) -> String {
    signer.signed_query(query, "", entropy)
}

/// Cookies sent with every API call and page, besides the `ttwid` and the user's own: a
/// browser's `odin_ttid`, a fresh `__ac_nonce` (without it pages are a JS challenge), and
/// `hevc_supported` (a browser that plays HEVC is offered HEVC streams too, as rust-srec
/// sends it; liverec records HEVC FLV).
pub(crate) fn browser_cookies<'a>(
    odin_ttid: &'a str,
    ac_nonce: &'a str,
) -> [(&'static str, &'a str); 3] {
    [
        ("odin_ttid", odin_ttid),
        ("__ac_nonce", ac_nonce),
        ("hevc_supported", "true"),
    ]
}

/// The version a Chromium User-Agent names (`156.0.0.0`), as Douyin's `browser_version`.
pub(crate) fn browser_version(ua: &str) -> Option<String> {
    abogus::browser_version_of(ua)
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .filter(|v| v.bytes().next().is_some_and(|b| b.is_ascii_digit()))
}

/// The random values one request needs.
#[derive(Debug, Clone)]
pub(crate) struct Fresh {
    pub(crate) ms_token: String,
    pub(crate) ac_nonce: String,
    pub(crate) verify_fp: String,
    pub(crate) entropy: abogus::Entropy,
}

/// Randomness and the clock of the signing code: the system's in the daemon, fixed in tests.
pub(crate) struct Dice {
    rng: Mutex<StdRng>,
    fixed_now_ms: Option<u64>,
}

impl Dice {
    /// Seeded from the operating system, with the real clock.
    pub(crate) fn system() -> Self {
        Self {
            rng: Mutex::new(rand::make_rng()),
            fixed_now_ms: None,
        }
    }

    /// The same values every time: for tests.
    #[cfg(test)]
    pub(crate) fn fixed(seed: u64, now_ms: u64) -> Self {
        Self {
            rng: Mutex::new(<StdRng as rand::SeedableRng>::seed_from_u64(seed)),
            fixed_now_ms: Some(now_ms),
        }
    }

    fn now_ms(&self) -> u64 {
        self.fixed_now_ms.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        })
    }

    fn draw<T>(&self, f: impl FnOnce(&mut dyn FnMut() -> f64, u64) -> T) -> T {
        let now = self.now_ms();
        // A panic elsewhere while holding the lock leaves a generator that is still fine.
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = || rng.random::<f64>();
        f(&mut next, now)
    }

    /// Values for one request.
    pub(crate) fn fresh(&self) -> Fresh {
        self.draw(|mut r, now| Fresh {
            ms_token: abogus::ms_token(&mut r),
            ac_nonce: abogus::ac_nonce(&mut r),
            verify_fp: abogus::verify_fp(now, &mut r),
            entropy: abogus::Entropy::from_rng(now, &mut r),
        })
    }

    /// A browser's `odin_ttid` cookie (kept for the daemon's life, as a browser keeps it).
    pub(crate) fn odin_ttid(&self) -> String {
        self.draw(|mut r, _| abogus::odin_ttid(&mut r))
    }
}

#[cfg(test)]
mod tests;
