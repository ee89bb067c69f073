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

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RANGE};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::end::PullEnd;
use crate::http;
use crate::media::m3u8::{self, ByteRange, Key, KeyMethod, Map, MediaPlaylist, MediaSegment};
use crate::platform::{StreamFormat, StreamSource};
use crate::util::secret::redact_url;
use crate::writer::handle::{Container, WriterMsg};
use crate::writer::hls::HlsSegment;

mod fetch;
mod numbering;
use fetch::*;
use numbering::{Loaded, Verdict};

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
const PLAYLIST_TIMEOUT: Duration = Duration::from_secs(10);
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
    let opened = tokio::select! {
        _ = cancel.cancelled() => return PullEnd::Cancelled,
        r = open(&ctx, &source.url, quality, first_timeout) => r,
    };
    let (url, playlist) = match opened {
        Ok(x) => x,
        Err(e) => return PullEnd::Refused(e),
    };
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

/// Fetches the source's playlist; a master playlist leads to the chosen variant's.
async fn open(
    ctx: &Ctx,
    url: &str,
    quality: &[String],
    timeout: Duration,
) -> Result<(Url, MediaPlaylist), String> {
    let url = Url::parse(url).map_err(|e| format!("bad playlist URL: {e}"))?;
    match fetch_playlist(ctx, &url, timeout)
        .await
        .map_err(|e| e.to_string())?
    {
        m3u8::Playlist::Media(m) => Ok((url, m)),
        m3u8::Playlist::Master(variants) => {
            let v = m3u8::pick_variant(&variants, quality)
                .ok_or("the master playlist lists no variant")?;
            tracing::info!(
                bandwidth = v.bandwidth,
                resolution = ?v.resolution,
                codecs = v.codecs.as_deref().unwrap_or(""),
                qn = ?v.qn,
                variants = variants.len(),
                "HLS master playlist: variant chosen"
            );
            let url = v.uri.clone();
            match fetch_playlist(ctx, &url, timeout)
                .await
                .map_err(|e| e.to_string())?
            {
                m3u8::Playlist::Media(m) => Ok((url, m)),
                m3u8::Playlist::Master(_) => Err(
                    "the variant is another master playlist (nested masters are not HLS)".into(),
                ),
            }
        }
    }
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

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("the playlist server answered HTTP {0}")]
    Status(u16),
    #[error("playlist request failed: {0}")]
    Network(String),
    #[error("{0}")]
    Invalid(String),
}

async fn fetch_playlist(
    ctx: &Ctx,
    url: &Url,
    timeout: Duration,
) -> Result<m3u8::Playlist, FetchError> {
    let work = async {
        let resp = ctx
            .client
            .get(url.as_str())
            .headers(ctx.headers_for(url))
            .send()
            .await
            .map_err(|e| FetchError::Network(http::describe(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        // Redirects are followed; relative URIs resolve against where the playlist really is.
        let base = resp.url().clone();
        let body = http::read_capped(resp, m3u8::MAX_PLAYLIST_BYTES)
            .await
            .map_err(|e| match e {
                http::ReadError::TooLarge { .. } => FetchError::Invalid(e.to_string()),
                http::ReadError::Http(e) => FetchError::Network(http::describe(&e)),
            })?;
        m3u8::parse(&body, &base).map_err(|e| FetchError::Invalid(format!("bad playlist: {e}")))
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(FetchError::Network(format!(
                "no answer within {}",
                crate::util::units::format_duration(timeout)
            )))
        })
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

/// The state of one live attempt.
struct Live {
    ctx: Arc<Ctx>,
    sink: mpsc::Sender<WriterMsg>,
    url: Url,
    /// The numbering segments belong to: playlist path, plus the count of sequence resets.
    stream: Arc<str>,
    resets: u32,
    /// Clamped target duration.
    target: Duration,
    stall: Duration,
    /// Next media sequence number to schedule; `None` before the first load and after a reset.
    next_seq: Option<u64>,
    /// `EXT-X-MEDIA-SEQUENCE` and last sequence of the previous load.
    window: Option<(u64, Option<u64>)>,
    /// The segments of the previous load, to notice a packager restart.
    loaded: Option<Loaded>,
    /// The previous load was set aside as a stale copy.
    stale: bool,
    /// After a restart the next load is taken whole, not from near its live edge: everything
    /// in it came after the restart.
    take_all: bool,
    ended: bool,
    /// The next scheduled segment starts a new file (after a sequence reset).
    boundary_next: bool,
    /// A boundary carried by a segment that failed: the next delivered one takes it.
    boundary_owed: bool,
    queue: VecDeque<Job>,
    /// Container announced to the writer in this attempt.
    container: Option<Container>,
    /// Last time a segment reached the writer (or the attempt began).
    last_delivery: Instant,
    /// Last time the playlist gained a segment.
    last_advance: Instant,
    last_error: Option<String>,
    reload_failures: u32,
    budget: Arc<Semaphore>,
}

impl Live {
    fn new(ctx: Arc<Ctx>, sink: mpsc::Sender<WriterMsg>, url: Url, stall: Duration) -> Self {
        let now = Instant::now();
        Self {
            ctx,
            sink,
            stream: Arc::from(url.path()),
            url,
            resets: 0,
            target: MIN_TARGET,
            stall,
            next_seq: None,
            window: None,
            loaded: None,
            stale: false,
            take_all: false,
            ended: false,
            boundary_next: false,
            boundary_owed: false,
            queue: VecDeque::new(),
            container: None,
            last_delivery: now,
            last_advance: now,
            last_error: None,
            reload_failures: 0,
            budget: Arc::new(Semaphore::new(WRITER_BUDGET >> 10)),
        }
    }

    /// No delivery for this long ends the attempt.
    fn stall_limit(&self) -> Duration {
        self.stall.max(self.target * 2)
    }

    async fn run(mut self, first: MediaPlaylist, cancel: &CancellationToken) -> PullEnd {
        let mut load_started = Instant::now();
        if let Err(end) = self.apply(first) {
            return end;
        }
        let mut next_reload = load_started + self.target;
        let mut inflight: FuturesOrdered<BoxFuture<(Job, Result<Fetched, String>)>> =
            FuturesOrdered::new();
        let mut reload: Option<BoxFuture<Result<m3u8::Playlist, FetchError>>> = None;
        loop {
            while inflight.len() < CONCURRENCY {
                let Some(job) = self.queue.pop_front() else {
                    break;
                };
                inflight.push_back(Box::pin(fetch_segment(self.ctx.clone(), job, self.target)));
            }
            if self.ended && self.queue.is_empty() && inflight.is_empty() {
                if self.container.is_none() {
                    return PullEnd::Refused(
                        "the HLS playlist ended (EXT-X-ENDLIST) before any media segment arrived"
                            .into(),
                    );
                }
                // Every listed segment is with the writer: close the file now.
                let _ = self.sink.send(WriterMsg::Disconnect).await;
                tracing::info!("HLS playlist ended (EXT-X-ENDLIST)");
                return PullEnd::Eof;
            }
            let stall_at = self.last_delivery + self.stall_limit();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return PullEnd::Cancelled,
                Some((job, res)) = inflight.next(), if !inflight.is_empty() => {
                    if let Err(end) = self.deliver(job, res, cancel).await {
                        return end;
                    }
                }
                r = next_of(&mut reload) => {
                    reload = None;
                    let changed = match r {
                        Ok(p) => match self.reloaded(p) {
                            Ok(changed) => changed,
                            Err(end) => return end,
                        },
                        Err(e) => match self.reload_failed(e) {
                            Ok(()) => false,
                            Err(end) => return end,
                        },
                    };
                    // RFC 8216 §6.3.4, measured from the start of the load.
                    next_reload = load_started + if changed { self.target } else { self.target / 2 };
                }
                _ = tokio::time::sleep_until(next_reload.into()), if reload.is_none() && !self.ended => {
                    load_started = Instant::now();
                    let ctx = self.ctx.clone();
                    let url = self.url.clone();
                    reload = Some(Box::pin(async move {
                        fetch_playlist(&ctx, &url, PLAYLIST_TIMEOUT).await
                    }));
                }
                _ = tokio::time::sleep_until(stall_at.into()) => return self.stalled(),
            }
        }
    }

    /// Takes in a newly loaded media playlist; says whether it changed.
    fn apply(&mut self, p: MediaPlaylist) -> Result<bool, PullEnd> {
        let window = (p.media_sequence, p.last_sequence());
        let changed = self.window != Some(window) || (p.ended && !self.ended);
        let loaded = Loaded::of(&p);
        match numbering::judge(self.loaded.as_ref(), &loaded, self.next_seq, self.stale) {
            Verdict::Same => self.stale = false,
            Verdict::Stale(why) => {
                tracing::debug!("HLS playlist load set aside, an older copy? ({why})");
                self.stale = true;
                return Ok(false);
            }
            Verdict::Restart(why) => {
                self.stale = false;
                self.resets += 1;
                self.stream = Arc::from(format!("{}#{}", self.url.path(), self.resets));
                self.next_seq = None;
                self.take_all = true;
                self.boundary_next = true;
                tracing::info!(
                    "HLS {why}: the packager restarted; a new stream, starting a new file"
                );
            }
        }
        self.loaded = Some(loaded);
        self.window = Some(window);
        self.target = Duration::from_secs_f64(p.target_duration).clamp(MIN_TARGET, MAX_TARGET);
        if p.ended || p.playlist_type == Some(m3u8::PlaylistType::Vod) {
            self.ended = true;
        }
        let skip = match self.next_seq {
            Some(_) => 0,
            None if self.take_all => 0,
            None => backfill_start(&p.segments),
        };
        if !p.segments.is_empty() {
            self.take_all = false;
        }
        for seg in p.segments.into_iter().skip(skip) {
            if let Some(next) = self.next_seq {
                if seg.sequence < next {
                    continue;
                }
                if seg.sequence > next {
                    tracing::warn!(
                        "HLS media segments {next}..={} left the playlist before they were fetched",
                        seg.sequence - 1
                    );
                }
            }
            self.next_seq = Some(seg.sequence + 1);
            self.last_advance = Instant::now();
            if seg.gap {
                tracing::warn!(
                    sequence = seg.sequence,
                    "HLS media segment marked missing by the server (EXT-X-GAP)"
                );
                continue;
            }
            if let Some(key) = &seg.key {
                if let Err(why) = supported(key) {
                    tracing::error!("{why}");
                    return Err(if self.container.is_none() {
                        PullEnd::Refused(why)
                    } else {
                        PullEnd::Broken(why)
                    });
                }
            }
            if self.queue.len() >= MAX_QUEUE {
                if let Some(dropped) = self.queue.pop_front() {
                    tracing::warn!(
                        sequence = dropped.seg.sequence,
                        "HLS downloads are too far behind the stream; dropping a segment"
                    );
                    self.boundary_owed |= dropped.boundary;
                }
            }
            let boundary = seg.discontinuity || std::mem::take(&mut self.boundary_next);
            self.queue.push_back(Job {
                seg,
                stream: self.stream.clone(),
                boundary,
            });
        }
        Ok(changed)
    }

    fn reloaded(&mut self, p: m3u8::Playlist) -> Result<bool, PullEnd> {
        match p {
            m3u8::Playlist::Media(m) => {
                self.reload_failures = 0;
                self.apply(m)
            }
            m3u8::Playlist::Master(_) => self
                .reload_failed(FetchError::Invalid(
                    "the media playlist turned into a master playlist".into(),
                ))
                .map(|()| false),
        }
    }

    fn reload_failed(&mut self, e: FetchError) -> Result<(), PullEnd> {
        self.reload_failures += 1;
        let text = e.to_string();
        let fatal = match e {
            // An expired signed URL: the platform has to sign a fresh one.
            FetchError::Status(code) => matches!(code, 401 | 403 | 404 | 410),
            FetchError::Invalid(_) => true,
            // Network trouble: keep trying until the stall limit.
            FetchError::Network(_) => false,
        };
        if fatal && self.reload_failures >= RELOAD_FAILURES {
            let why = format!("{text} ({} reloads in a row)", self.reload_failures);
            return Err(if self.container.is_none() {
                PullEnd::Refused(why)
            } else {
                PullEnd::Broken(why)
            });
        }
        if self.reload_failures == 1 {
            tracing::warn!("HLS playlist reload failed: {text}");
        } else {
            tracing::debug!("HLS playlist reload failed again: {text}");
        }
        self.last_error = Some(text);
        Ok(())
    }

    /// Hands a fetched segment to the writer, or logs why it could not be fetched.
    async fn deliver(
        &mut self,
        job: Job,
        res: Result<Fetched, String>,
        cancel: &CancellationToken,
    ) -> Result<(), PullEnd> {
        let f = match res {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(
                    sequence = job.seg.sequence,
                    uri = %redact_url(job.seg.uri.as_str()),
                    "HLS media segment skipped: {e}"
                );
                self.boundary_owed |= job.boundary;
                self.last_error = Some(format!("media segment {}: {e}", job.seg.sequence));
                return Ok(());
            }
        };
        if self.container != Some(f.container) {
            if self.container.is_some() {
                tracing::info!("HLS segments changed container; starting a new file");
            }
            if self
                .sink
                .send(WriterMsg::Connect(f.container))
                .await
                .is_err()
            {
                return Err(PullEnd::WriterGone);
            }
            self.container = Some(f.container);
        }
        let want = ((f.data.len() >> 10) + 1).min(WRITER_BUDGET >> 10) as u32;
        let permit = tokio::select! {
            _ = cancel.cancelled() => return Err(PullEnd::Cancelled),
            p = self.budget.clone().acquire_many_owned(want) => p.ok(),
        };
        let seg = HlsSegment {
            data: f.data,
            duration: job.seg.duration,
            sequence: job.seg.sequence,
            stream: job.stream,
            boundary: job.boundary || std::mem::take(&mut self.boundary_owed),
            init: f.init,
            _permit: permit,
        };
        let sent = tokio::select! {
            _ = cancel.cancelled() => return Err(PullEnd::Cancelled),
            s = self.sink.send(WriterMsg::Segment(seg)) => s,
        };
        if sent.is_err() {
            return Err(PullEnd::WriterGone);
        }
        self.last_delivery = Instant::now();
        self.last_error = None;
        Ok(())
    }

    fn stalled(&self) -> PullEnd {
        let limit = self.stall_limit();
        if self.last_advance.elapsed() >= limit {
            tracing::warn!(
                "HLS playlist has not advanced for {}s",
                limit.as_secs_f64().round()
            );
            if self.container.is_none() {
                return PullEnd::Refused(format!(
                    "the HLS playlist listed no new segment for {}s, and none arrived",
                    limit.as_secs_f64().round()
                ));
            }
            return PullEnd::Stalled(limit);
        }
        let why = match &self.last_error {
            Some(e) => format!("no usable HLS segment for {}s: {e}", limit.as_secs()),
            None => format!(
                "HLS segments too slow: none arrived for {}s",
                limit.as_secs()
            ),
        };
        if self.container.is_none() {
            PullEnd::Refused(why)
        } else {
            PullEnd::Broken(why)
        }
    }
}

async fn next_of<T>(f: &mut Option<BoxFuture<T>>) -> T {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Index of the first segment to record on a first load: the live edge minus about
/// [`MAX_BACKFILL_S`] of media, at least [`MIN_BACKFILL`] segments.
fn backfill_start(segments: &[MediaSegment]) -> usize {
    let mut total = 0.0;
    let mut start = segments.len();
    for (i, s) in segments.iter().enumerate().rev() {
        let taken = segments.len() - i - 1;
        if taken >= MIN_BACKFILL && total + s.duration > MAX_BACKFILL_S {
            break;
        }
        total += s.duration;
        start = i;
    }
    start
}

#[cfg(test)]
mod tests;
