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
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_runs_no_inline_script() {
        for (name, text) in [("index.html", INDEX), ("page.css", CSS), ("page.js", JS)] {
            // The one URL that is a name, not a place: SVG's namespace.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            for bad in [
                "http://",
                "https://",
                "//cdn",
                "@import",
                "innerHTML",
                "eval(",
            ] {
                assert!(!text.contains(bad), "{name} contains {bad:?}");
            }
        }
        // One script, by relative URL; no inline handlers.
        assert_eq!(INDEX.matches("<script").count(), 1);
        assert!(INDEX.contains(r#"<script src="page.js" defer></script>"#));
        let handler = INDEX.match_indices(" on").any(|(i, _)| {
            let rest = &INDEX[i + 3..];
            let word = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_lowercase())
                    .len();
            word > 0 && rest[word..].starts_with('=')
        });
        assert!(!handler, "an inline event handler");
        assert!(
            !INDEX.contains("style="),
            "inline styles are blocked by the CSP"
        );
        // The page asks only the API, by relative URL (it may sit behind a proxy's sub-path).
        assert!(!JS.contains("'/api"), "absolute API path");
    }
}
