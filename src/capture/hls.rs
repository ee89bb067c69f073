//! Pulling a live HLS stream (TS or fMP4) into a session's writer.
//!
//! One call is one attempt: the playlist (a master playlist picks a variant by the room's
//! quality preference) is reloaded at the pace RFC 8216 §6.3.4 asks (the target duration after
//! a reload that changed, half of it after one that did not), each new media segment is fetched
//! once (identified by its media sequence number, never by its URI, whose signed query may
//! rotate), a few at a time, and handed to the writer whole and in order.
//!
//! - A segment that failed every try, or that slid out of the playlist before it was fetched,
//!   is a **gap**: logged here with its cause, then counted by the writer.
//! - AES-128 segments are decrypted (keys fetched once per key URI); other methods end the
//!   attempt with "unsupported encryption".
//! - A packager restart (see [`numbering`]) is a new stream: a new file, no gap, and the whole
//!   new window is recorded.
//! - `EXT-X-ENDLIST` ends the attempt cleanly ([`PullEnd::Eof`]) once every listed segment is
//!   written. A playlist that stops advancing ends it as [`PullEnd::Stalled`], and a playlist
//!   URL that starts failing with 403/404 as [`PullEnd::Broken`]: either way the room asks the
//!   platform for fresh URLs.
//! - Every end before the first segment reached the writer is [`PullEnd::Refused`] (a first
//!   playlist that fails or does not answer within the stall timeout, a playlist that never
//!   lists a segment that can be fetched, one that ended empty), so the attempt tries the next
//!   source at once.
//!
//! Memory is bounded: bodies are capped, at most [`CONCURRENCY`] downloads run at once, and
//! segments waiting for the writer hold a share of a [`WRITER_BUDGET`].
//!
//! This file opens the first playlist (with [`open_media_playlist`], as the direct platform's
//! live check does); the attempt's loop is in [`live`], fetching what a playlist lists in
//! [`fetch`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RANGE};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::end::PullEnd;
use crate::http;
use crate::media::m3u8::{self, ByteRange, Key, KeyMethod, Map, MediaSegment};
use crate::platform::playlist::{
    self, Opened, PLAYLIST_TIMEOUT, PlaylistError, open_media_playlist,
};
use crate::platform::{StreamFormat, StreamSource};
use crate::util::secret::redact_url;
use crate::writer::handle::{Container, WriterMsg};

mod fetch;
mod live;
mod numbering;
use live::Live;

/// Segment downloads running at once.
pub(crate) const CONCURRENCY: usize = 3;
/// Largest media segment accepted.
pub(crate) const SEGMENT_CAP: usize = 64 << 20;
/// Largest init section accepted.
const INIT_CAP: usize = 16 << 20;
/// Bytes of fetched segments that may wait for the writer (a segment larger than this still
/// passes, alone).
pub(crate) const WRITER_BUDGET: usize = 64 << 20;
/// Tries per segment (and per key or init section), with a pause between them.
const SEGMENT_TRIES: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Reload pacing uses the target duration clamped to this range (a playlist cannot make us
/// hammer its server, nor wait for an hour).
const MIN_TARGET: Duration = Duration::from_secs(1);
const MAX_TARGET: Duration = Duration::from_secs(30);
/// On the first load, start no further back than this much media before the live edge
/// (but take at least [`MIN_BACKFILL`] segments).
const MAX_BACKFILL_S: f64 = 30.0;
const MIN_BACKFILL: usize = 3;
/// Segments waiting to be fetched (a few hundred bytes each); more means the download is
/// hopelessly behind the stream, and the oldest are dropped.
const MAX_QUEUE: usize = m3u8::MAX_SEGMENTS;
/// Consecutive reload failures (HTTP 403/404/410 or an unusable body) that end the attempt.
const RELOAD_FAILURES: u32 = 3;
/// Keys and init sections remembered.
const CACHE_ENTRIES: usize = 8;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Media playlists of one session that were recorded to their `EXT-X-ENDLIST`, by URL path
/// (CDN hosts and signed queries change from one attempt to the next; the path does not).
/// A platform may go on calling a room live for a while after its stream ended: each
/// reconnect would otherwise download the ended playlist's last 30 s again.
#[derive(Debug, Clone, Default)]
pub(crate) struct EndedPlaylists(Arc<std::sync::Mutex<Vec<String>>>);

impl EndedPlaylists {
    /// Paths remembered (a session meets a handful of playlists at most).
    const MAX: usize = 16;

    fn contains(&self, url: &Url) -> bool {
        let paths = self.0.lock().unwrap_or_else(|p| p.into_inner());
        paths.iter().any(|p| p == url.path())
    }

    fn insert(&self, url: &Url) {
        let mut paths = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if paths.iter().any(|p| p == url.path()) {
            return;
        }
        if paths.len() >= Self::MAX {
            paths.remove(0);
        }
        paths.push(url.path().to_string());
    }
}

/// Pulls one HLS source into `sink` until the stream ends, stalls, fails or is cancelled.
pub(crate) async fn pull_hls(
    client: &reqwest::Client,
    source: &StreamSource,
    quality: &[String],
    ended: &EndedPlaylists,
    sink: &mpsc::Sender<WriterMsg>,
    stall: Duration,
    cancel: &CancellationToken,
) -> PullEnd {
    debug_assert_eq!(source.format, StreamFormat::Hls);
    let ctx = Arc::new(Ctx::new(
        client.clone(),
        &source.url,
        source.headers.clone(),
    ));
    // A playlist host that answers nothing for the stall timeout is as dead as a stream host
    // that sends nothing for it.
    let first_timeout = stall.min(PLAYLIST_TIMEOUT);
    let open = open_media_playlist(&ctx.client, &source.url, quality, first_timeout, |u| {
        ctx.headers_for(u)
    });
    let opened = tokio::select! {
        _ = cancel.cancelled() => return PullEnd::Cancelled,
        r = open => r,
    };
    let Opened {
        url,
        playlist,
        variant,
    } = match opened {
        Ok(o) => o,
        Err(e) => return PullEnd::Refused(e.to_string()),
    };
    if let Some((v, of)) = &variant {
        tracing::info!(
            bandwidth = v.bandwidth,
            resolution = ?v.resolution,
            codecs = v.codecs.as_deref().unwrap_or(""),
            qn = ?v.qn,
            variants = of,
            "HLS master playlist: variant chosen"
        );
    }
    let finished = playlist.ended || playlist.playlist_type == Some(m3u8::PlaylistType::Vod);
    if finished && ended.contains(&url) {
        return PullEnd::NothingNew(
            "the HLS playlist ended (EXT-X-ENDLIST) and was recorded to its end in this \
             session; waiting for the live to end or for a live playlist"
                .into(),
        );
    }
    tracing::info!(
        url = %redact_url(url.as_str()),
        target_duration = playlist.target_duration,
        media_sequence = playlist.media_sequence,
        segments = playlist.segments.len(),
        "HLS media playlist loaded"
    );
    let live = Live::new(ctx, sink.clone(), url.clone(), stall);
    let end = live.run(playlist, cancel).await;
    if end == PullEnd::Eof {
        ended.insert(&url);
    }
    end
}

/// What every request of one attempt shares.
struct Ctx {
    client: reqwest::Client,
    headers: HeaderMap,
    /// The host the platform handed the playlist URL for: the only one that may see the
    /// source's credentials.
    origin: Option<url::Origin>,
    keys: Mutex<HashMap<Url, [u8; 16]>>,
    inits: Mutex<HashMap<Map, Bytes>>,
}

impl Ctx {
    fn new(client: reqwest::Client, source_url: &str, headers: HeaderMap) -> Self {
        Self {
            client,
            headers,
            origin: Url::parse(source_url).ok().map(|u| u.origin()),
            keys: Mutex::new(HashMap::new()),
            inits: Mutex::new(HashMap::new()),
        }
    }

    /// The headers for a request to `url`. A playlist may point anywhere (variants, segments,
    /// keys and init sections on other hosts, absolute URIs a hostile server chose): a cookie
    /// or credential goes to the playlist's own origin only.
    fn headers_for(&self, url: &Url) -> HeaderMap {
        let mut h = self.headers.clone();
        if self.origin.as_ref() != Some(&url.origin()) {
            h.remove(reqwest::header::COOKIE);
            h.remove(reqwest::header::AUTHORIZATION);
            h.remove(reqwest::header::PROXY_AUTHORIZATION);
        }
        h
    }
}

/// Fetches one playlist of this attempt, with the headers its URL may see.
async fn fetch_playlist(
    ctx: &Ctx,
    url: &Url,
    timeout: Duration,
) -> Result<m3u8::Playlist, PlaylistError> {
    playlist::fetch_playlist(&ctx.client, url, ctx.headers_for(url), timeout).await
}

/// A segment to fetch, with what the writer needs to know about it.
struct Job {
    seg: MediaSegment,
    stream: Arc<str>,
    boundary: bool,
}

struct Fetched {
    data: Bytes,
    init: Option<Bytes>,
    container: Container,
}

#[cfg(test)]
mod tests;
