//! What keeps a web page the user happens to visit from driving the API through their browser.
//! The token alone does that when it is set (a foreign page cannot read it, and a cross-origin
//! request carrying `Authorization` needs a CORS preflight the API never answers). Without a
//! token, a foreign page could still send "simple" requests (a form POST to
//! `/api/rooms/{key}/restart`), or point a name it controls at 127.0.0.1 (DNS rebinding) and read
//! the API as its own origin. So, on every API call (the page's own files and `/healthz` are
//! not guarded):
//! - a browser's cross-site request (`Sec-Fetch-Site: cross-site`) is refused;
//! - an `Origin` that is not the address the request was sent to (`Host`, or `X-Forwarded-Host`
//!   from a reverse proxy) is refused, so POSTs from the status page pass and a foreign
//!   page's fail;
//! - without a token, on a TCP listener, the `Host` must be an IP address or `localhost`: a
//!   rebound name is refused. (A Unix socket cannot be reached by a browser.)
//!
//! Scripts and `curl` send no `Origin` and no `Sec-Fetch-Site`, and are not affected.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::ControlState;

/// Why a request was refused (the text of the 403 answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Refusal {
    #[error("refused: a cross-site request from a browser (Sec-Fetch-Site: cross-site)")]
    CrossSite,
    #[error("refused: a request from the web page at {origin:?}, not from this address ({host:?})")]
    ForeignOrigin { origin: String, host: String },
    #[error(
        "refused: Host {host:?} is a name, and without a token only an IP address or localhost may be used (set [control] token to reach liverec by name, e.g. behind a reverse proxy)"
    )]
    NamedHost { host: String },
}

/// Decides on one request's headers. `token_set`: the API requires a token now; `tcp`: it
/// listens on TCP (not on a Unix socket).
pub(super) fn check(headers: &HeaderMap, token_set: bool, tcp: bool) -> Result<(), Refusal> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
    };
    if text("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return Err(Refusal::CrossSite);
    }
    let host = text(header::HOST.as_str());
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        let from = authority(&origin);
        // A chain of proxies lists every host it was forwarded for.
        let forwarded = text("x-forwarded-host").unwrap_or_default();
        let mut to = forwarded.split(',').map(str::trim).chain(host.as_deref());
        let same = from.is_some_and(|a| to.any(|h| !h.is_empty() && a.eq_ignore_ascii_case(h)));
        if !same {
            return Err(Refusal::ForeignOrigin {
                origin,
                host: host.unwrap_or_default(),
            });
        }
    }
    if !token_set && tcp {
        if let Some(host) = host {
            if !is_address(&host) {
                return Err(Refusal::NamedHost { host });
            }
        }
    }
    Ok(())
}

/// `host[:port]` of a serialized origin (`scheme://host[:port]`); None for `null` and the like.
fn authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// An IP address or a `localhost` name, with or without a port.
fn is_address(host: &str) -> bool {
    let name = if let Some(v6) = host.strip_prefix('[') {
        return v6
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<IpAddr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

/// The middleware: a refused request gets a 403 and a log line naming why.
pub(super) async fn guard(
    State((shared, tcp)): State<(Arc<ControlState>, bool)>,
    req: Request,
    next: Next,
) -> Response {
    match check(req.headers(), shared.token().is_some(), tcp) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!("control API: {} {}: {why}", req.method(), req.uri().path());
            super::error(StatusCode::FORBIDDEN, why.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
