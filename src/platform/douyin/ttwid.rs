//! The `ttwid` cookie: every Douyin JSON endpoint answers an empty body without a genuine one.
//! It is what the home page (`GET {api_base}/`) sets for every new visitor; when the home page
//! sets none (it can answer a JS challenge instead), the register endpoint that biliup and
//! rust-srec use (`POST ttwid.bytedance.com/ttwid/union/register/`) hands one out. It is cached
//! for an hour and replaced when an empty answer suggests it went stale.

use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap};

use super::{Douyin, REFERER, Trace, api};
use crate::platform::web::browser_headers_as;

/// How long a `ttwid` is reused before a fresh one is asked for.
const TTL: Duration = Duration::from_secs(3600);
pub(crate) const HOME: &str = "ttwid (home page)";
pub(crate) const REGISTER: &str = "ttwid (register)";
const REGISTER_HOST: &str = "ttwid.bytedance.com";
const REGISTER_PATH: &str = "/ttwid/union/register/";
/// The body peers send (biliup, rust-srec).
const REGISTER_BODY: &str = r#"{"region":"cn","aid":6383,"needFid":false,"service":"https://www.douyin.com","union":true,"fid":""}"#;

/// Where the cached `ttwid` came from, for `liverec probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    HomePage,
    Register,
}

impl Source {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::HomePage => "from the home page (live.douyin.com)",
            Self::Register => "from the register endpoint (ttwid.bytedance.com)",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub(crate) value: String,
    pub(crate) at: Instant,
    pub(crate) from: Source,
}

/// The `ttwid` among a response's `Set-Cookie` headers.
fn from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(api::ttwid_from_set_cookie)
}

impl Douyin {
    /// A `ttwid`: the cached one unless `fresh` (or it is older than [`TTL`]), else a new one
    /// from the home page or the register endpoint. `None` when there is none at all.
    pub(super) async fn ttwid(&self, fresh: bool, trace: &mut Trace) -> Option<String> {
        let mut cached = self.api.limiter.queued(self.ttwid.lock()).await;
        if let Some(c) = cached.as_ref().filter(|c| !fresh && c.at.elapsed() < TTL) {
            trace.ttwid = Some(c.from);
            return Some(c.value.clone());
        }
        let home = format!("{}/", self.hosts.api);
        let headers = browser_headers_as(REFERER, &self.ua.header);
        let mut got = None;
        match self.api.fetch_headers(&home, headers.clone(), HOME).await {
            Ok((permit, h)) => match from_headers(&h) {
                Some(v) => {
                    permit.ok();
                    got = Some((v, Source::HomePage));
                }
                None => {
                    drop(permit);
                    trace.note(HOME, "set no ttwid cookie");
                }
            },
            Err(e) => trace.note(HOME, &e),
        }
        if got.is_none() {
            let url = self.hosts.page(REGISTER_HOST, REGISTER_PATH);
            match self
                .api
                .post_headers(&url, headers, REGISTER_BODY.into(), REGISTER)
                .await
            {
                Ok((permit, h)) => match from_headers(&h) {
                    Some(v) => {
                        permit.ok();
                        got = Some((v, Source::Register));
                    }
                    None => {
                        drop(permit);
                        trace.note(REGISTER, "set no ttwid cookie");
                    }
                },
                Err(e) => trace.note(REGISTER, &e),
            }
        }
        match got {
            Some((value, from)) => {
                trace.note(
                    match from {
                        Source::HomePage => HOME,
                        Source::Register => REGISTER,
                    },
                    "new ttwid",
                );
                tracing::debug!("douyin: got a new ttwid cookie {}", from.describe());
                trace.ttwid = Some(from);
                *cached = Some(Cached {
                    value: value.clone(),
                    at: Instant::now(),
                    from,
                });
                Some(value)
            }
            None => {
                tracing::warn!(
                    "douyin: neither the home page nor the register endpoint set a ttwid cookie; \
                     requests will likely get empty answers"
                );
                let old = cached.as_ref()?;
                trace.ttwid = Some(old.from);
                Some(old.value.clone())
            }
        }
    }
}
