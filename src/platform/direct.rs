//! `direct`: a plain HTTP-FLV or HLS URL, such as a media server's own output. It is live when
//! the URL answers 200 with stream bytes.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamFormat, StreamSource,
};
use crate::http;

const STATUS_TIMEOUT: Duration = Duration::from_secs(15);

/// Claims `.flv` and `.m3u8` URLs, or any http(s) URL when the room sets `platform = "direct"`.
pub fn recognize(url: &url::Url, forced: bool) -> Option<(PlatformKind, Locator)> {
    let path = url.path().to_ascii_lowercase();
    (forced || path.ends_with(".flv") || path.ends_with(".m3u8")).then(|| {
        (
            PlatformKind::Direct,
            Locator::Id(super::direct_id(url.as_str())),
        )
    })
}

pub fn format_of(url: &str) -> StreamFormat {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    if path.ends_with(".m3u8") {
        StreamFormat::Hls
    } else {
        StreamFormat::Flv
    }
}

pub struct Direct {
    client: reqwest::Client,
}

impl Direct {
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Platform for Direct {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Direct
    }

    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        target
            .known_key()
            .ok_or_else(|| PlatformError::Malformed("direct URL without an id".into()))
    }

    async fn status(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
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
        let format = format_of(&room.url);
        let head = tokio::time::timeout(STATUS_TIMEOUT, http::read_prefix(resp, 16))
            .await
            .map_err(|_| PlatformError::Network("no stream bytes within 15s".into()))?
            .map_err(|e| PlatformError::Network(http::describe(&e)))?;
        let live = match format {
            StreamFormat::Flv => head.starts_with(b"FLV"),
            StreamFormat::Hls => {
                head.starts_with(b"#EXTM3U") || head.starts_with(b"\xEF\xBB\xBF#EXTM3U")
            }
        };
        if !live {
            let expected = if format == StreamFormat::Flv {
                "FLV"
            } else {
                "an HLS playlist"
            };
            if head.is_empty() {
                return Ok(RoomStatus::default());
            }
            return Err(PlatformError::Malformed(format!(
                "answered 200 ({content_type}) but the body is not {expected}: starts with {}",
                http::sniff(&head)
            )));
        }
        Ok(RoomStatus {
            live: true,
            ..RoomStatus::default()
        })
    }

    async fn sources(&self, room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        Ok(vec![StreamSource {
            url: room.url.clone(),
            format: format_of(&room.url),
            quality: "source".into(),
            headers: HeaderMap::new(),
        }])
    }
}
