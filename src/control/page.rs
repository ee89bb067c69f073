//! The status page at `/`: one HTML file, one stylesheet, one script, compiled into the binary
//! (no build step, nothing fetched from elsewhere). They hold no data, so they are served
//! without the token; the script asks for the token and sends it on every API call. It only
//! reads the API and calls a room's check, split and restart: nothing on it runs a command or
//! edits a hook or the config.
//!
//! The headers lock the page down: scripts, styles and connections from this address only, no
//! inline script, no framing (clickjacking), no referrer, no MIME sniffing.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX: &str = include_str!("page/index.html");
const CSS: &str = include_str!("page/page.css");
const JS: &str = include_str!("page/page.js");

pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // Small files: revalidated each time, so an upgraded daemon serves its own page.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `/`, `/page.css` and `/page.js`, for any router state.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/page.css",
            get(|| async { file("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/page.js",
            get(|| async { file("text/javascript; charset=utf-8", JS) }),
        )
}

#[cfg(test)]
mod tests;
