//! `direct`: a plain HTTP-FLV or HLS URL, such as a media server's own output. It is live when
//! the URL answers 200 with stream bytes.
//!
//! An `.m3u8` URL is live when it answers 200 with a playlist that can still grow: a media
//! playlist without `EXT-X-ENDLIST` (and not `PLAYLIST-TYPE:VOD`). A master playlist is judged
//! by the media playlist of the variant the room's `quality` picks (the best by default), found
//! as the recording finds it ([`playlist::open_media_playlist`]). An ended or VOD playlist is
//! offline (a finished broadcast, or a recording of one, is not a live), and so is an empty
//! answer, a master playlist without variants, or a 4xx other than 401/403; a body that is not
//! a playlist is an error (the status is unknown), never "live".

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::playlist::{self, PLAYLIST_TIMEOUT, PlaylistError};
use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamFormat, StreamSource,
};
use crate::http;
use crate::media::flv::{self, Signature};
use crate::media::m3u8;

const STATUS_TIMEOUT: Duration = Duration::from_secs(15);

/// Claims `.flv` and `.m3u8` URLs, or any http(s) URL when the room sets `platform = "direct"`.
pub(crate) fn recognize(url: &url::Url, forced: bool) -> Option<(PlatformKind, Locator)> {
    let path = url.path().to_ascii_lowercase();
    (forced || path.ends_with(".flv") || path.ends_with(".m3u8")).then(|| {
        (
            PlatformKind::Direct,
            Locator::Id(super::direct_id(url.as_str())),
        )
    })
}

pub(crate) fn format_of(url: &str) -> StreamFormat {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    if path.ends_with(".m3u8") {
        StreamFormat::Hls
    } else {
        StreamFormat::Flv
    }
}

pub(crate) struct Direct {
    client: reqwest::Client,
}

impl Direct {
    pub(crate) fn new(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// Live or not, from the media playlist (see the module docs).
    async fn hls_status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        let opened = playlist::open_media_playlist(
            &self.client,
            &room.url,
            &room.quality,
            PLAYLIST_TIMEOUT,
            |_| HeaderMap::new(),
        )
        .await;
        let m = match opened {
            Ok(o) => o.playlist,
            Err(e) => return hls_verdict(e),
        };
        let ended = m.ended || m.playlist_type == Some(m3u8::PlaylistType::Vod);
        Ok(RoomStatus {
            live: !ended,
            ..RoomStatus::default()
        })
    }
}

/// What a playlist that could not be opened says about the room: no stream there (offline),
/// a refusal that will not pass by itself, or an unknown status.
fn hls_verdict(e: PlaylistError) -> Result<RoomStatus, PlatformError> {
    match e {
        PlaylistError::Unreachable(_) | PlaylistError::Empty | PlaylistError::NoVariant => {
            Ok(RoomStatus::default())
        }
        PlaylistError::Status(code @ (401 | 403)) => Err(PlatformError::Unsupported(format!(
            "the server refused access (HTTP {code})"
        ))),
        PlaylistError::Status(code) if (400..500).contains(&code) => Ok(RoomStatus::default()),
        e @ (PlaylistError::Status(_) | PlaylistError::Network(_)) => {
            Err(PlatformError::Network(e.to_string()))
        }
        e @ (PlaylistError::Invalid(_) | PlaylistError::NestedMaster) => {
            Err(PlatformError::Malformed(e.to_string()))
        }
    }
}

#[async_trait]
impl Platform for Direct {
    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        target
            .known_key()
            .ok_or_else(|| PlatformError::Malformed("direct URL without an id".into()))
    }

    async fn status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        if format_of(&room.url) == StreamFormat::Hls {
            return self.hls_status(room).await;
        }
        let resp = match self
            .client
            .get(&room.url)
            .timeout(STATUS_TIMEOUT)
            .send()
            .await
        {
            Ok(resp) => resp,
            // Nobody listening: the stream is simply not there.
            Err(e) if e.is_connect() => return Ok(RoomStatus::default()),
            Err(e) => return Err(PlatformError::Network(http::describe(&e))),
        };
        let status = resp.status();
        match status {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(PlatformError::Unsupported(format!(
                    "the server refused access (HTTP {})",
                    status.as_u16()
                )));
            }
            s if s.is_client_error() => return Ok(RoomStatus::default()),
            s => {
                return Err(PlatformError::Network(format!(
                    "the server answered HTTP {}",
                    s.as_u16()
                )));
            }
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_string();
        let head = tokio::time::timeout(STATUS_TIMEOUT, http::read_prefix(resp, 16))
            .await
            .map_err(|_| PlatformError::Network("no stream bytes within 15s".into()))?
            .map_err(|e| PlatformError::Network(http::describe(&e)))?;
        match flv::signature(&head) {
            Signature::Flv => Ok(RoomStatus {
                live: true,
                ..RoomStatus::default()
            }),
            _ if head.is_empty() => Ok(RoomStatus::default()),
            _ => Err(PlatformError::Malformed(format!(
                "answered 200 ({content_type}) but the body is not FLV: starts with {}",
                http::sniff(&head)
            ))),
        }
    }

    async fn sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        Ok(vec![StreamSource {
            url: room.url.clone(),
            format: format_of(&room.url),
            quality: "source".into(),
            headers: HeaderMap::new(),
            // One stream: nothing to be below.
            below: None,
        }])
    }
}

#[cfg(test)]
mod tests;
