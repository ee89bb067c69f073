//! Opening an HLS URL: fetching a playlist, and following a master playlist to the variant the
//! room's `quality` picks. The one way from a URL to a media playlist: the direct platform's
//! live check and the HLS puller both take it, so they choose the same variant and fail with
//! the same timeout and the same words.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use url::Url;

use crate::http;
use crate::media::m3u8::{self, MediaPlaylist, Playlist, Variant};

/// How long one playlist request may take, answer and body together.
pub(crate) const PLAYLIST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlaylistError {
    /// Nothing listens at the playlist's host (the connection was refused or failed).
    #[error("playlist request failed: {0}")]
    Unreachable(String),
    #[error("playlist request failed: {0}")]
    Network(String),
    #[error("the playlist server answered HTTP {0}")]
    Status(u16),
    #[error("the playlist server answered 200 with an empty body")]
    Empty,
    /// A body that is no usable playlist, or a URL that is none.
    #[error("{0}")]
    Invalid(String),
    #[error("the master playlist lists no variant")]
    NoVariant,
    #[error("the variant is another master playlist (nested masters are not HLS)")]
    NestedMaster,
}

/// A media playlist, and where it is.
#[derive(Debug)]
pub(crate) struct Opened {
    /// Where it was fetched (a variant's URL when the source was a master playlist).
    pub(crate) url: Url,
    pub(crate) playlist: MediaPlaylist,
    /// The variant a master playlist led to, and how many it listed.
    pub(crate) variant: Option<(Variant, usize)>,
}

/// Fetches `url`'s media playlist: the playlist itself, or the one of the variant `quality`
/// picks from a master playlist. Each request has `timeout` and the headers `headers_for` gives
/// its URL (a variant may be on another host, which must not see the source's credentials).
pub(crate) async fn open_media_playlist(
    client: &reqwest::Client,
    url: &str,
    quality: &[String],
    timeout: Duration,
    headers_for: impl Fn(&Url) -> HeaderMap,
) -> Result<Opened, PlaylistError> {
    let url =
        Url::parse(url).map_err(|e| PlaylistError::Invalid(format!("bad playlist URL: {e}")))?;
    let variants = match fetch_playlist(client, &url, headers_for(&url), timeout).await? {
        Playlist::Media(playlist) => {
            return Ok(Opened {
                url,
                playlist,
                variant: None,
            });
        }
        Playlist::Master(variants) => variants,
    };
    let chosen = m3u8::pick_variant(&variants, quality)
        .ok_or(PlaylistError::NoVariant)?
        .clone();
    let url = chosen.uri.clone();
    match fetch_playlist(client, &url, headers_for(&url), timeout).await? {
        Playlist::Media(playlist) => Ok(Opened {
            url,
            playlist,
            variant: Some((chosen, variants.len())),
        }),
        Playlist::Master(_) => Err(PlaylistError::NestedMaster),
    }
}

/// Fetches and parses one playlist; relative URIs resolve against where it really is (after
/// redirects).
pub(crate) async fn fetch_playlist(
    client: &reqwest::Client,
    url: &Url,
    headers: HeaderMap,
    timeout: Duration,
) -> Result<Playlist, PlaylistError> {
    let work = async {
        let resp = client
            .get(url.as_str())
            .headers(headers)
            .send()
            .await
            .map_err(|e| {
                let text = http::describe(&e);
                if e.is_connect() {
                    PlaylistError::Unreachable(text)
                } else {
                    PlaylistError::Network(text)
                }
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(PlaylistError::Status(status.as_u16()));
        }
        let base = resp.url().clone();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_string();
        let body = http::read_capped(resp, m3u8::MAX_PLAYLIST_BYTES)
            .await
            .map_err(|e| match e {
                http::ReadError::TooLarge { .. } => PlaylistError::Invalid(e.to_string()),
                http::ReadError::Http(e) => PlaylistError::Network(http::describe(&e)),
            })?;
        if body.is_empty() {
            return Err(PlaylistError::Empty);
        }
        m3u8::parse(&body, &base).map_err(|e| {
            PlaylistError::Invalid(match e {
                m3u8::ParseError::NotPlaylist(head) => format!(
                    "the playlist server answered 200 ({content_type}) but the body is not an HLS playlist: starts with {head}"
                ),
                e => format!("bad HLS playlist: {e}"),
            })
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(PlaylistError::Network(format!(
                "no answer within {}",
                crate::util::units::format_duration(timeout)
            )))
        })
}

#[cfg(test)]
pub(super) mod tests;
