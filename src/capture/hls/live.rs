//! One live attempt after the first playlist: reloading at the pace RFC 8216 asks, queueing new
//! segments by sequence number, fetching a few at a time, and delivering them to the writer in
//! order, until the stream ends, stalls, fails or is cancelled.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::fetch::{fetch_segment, supported};
use super::numbering::{self, Loaded, Verdict};
use super::{
    BoxFuture, CONCURRENCY, Ctx, Fetched, Job, MAX_BACKFILL_S, MAX_QUEUE, MAX_TARGET, MIN_BACKFILL,
    MIN_TARGET, PLAYLIST_TIMEOUT, PlaylistError, RELOAD_FAILURES, WRITER_BUDGET, fetch_playlist,
};
use crate::capture::end::PullEnd;
use crate::media::m3u8::{self, MediaPlaylist, MediaSegment};
use crate::util::secret::redact_url;
use crate::writer::handle::{Container, WriterMsg};
use crate::writer::hls::HlsSegment;

/// The state of one live attempt.
pub(super) struct Live {
    pub(super) ctx: Arc<Ctx>,
    pub(super) sink: mpsc::Sender<WriterMsg>,
    pub(super) url: Url,
    /// The numbering segments belong to: playlist path, plus the count of sequence resets.
    pub(super) stream: Arc<str>,
    pub(super) resets: u32,
    /// Clamped target duration.
    pub(super) target: Duration,
    pub(super) stall: Duration,
    /// Next media sequence number to schedule; `None` before the first load and after a reset.
    pub(super) next_seq: Option<u64>,
    /// `EXT-X-MEDIA-SEQUENCE` and last sequence of the previous load.
    pub(super) window: Option<(u64, Option<u64>)>,
    /// The segments of the previous load, to notice a packager restart.
    pub(super) loaded: Option<Loaded>,
    /// The previous load was set aside as a stale copy.
    pub(super) stale: bool,
    /// After a restart the next load is taken whole, not from near its live edge: everything
    /// in it came after the restart.
    pub(super) take_all: bool,
    pub(super) ended: bool,
    /// The next scheduled segment starts a new file (after a sequence reset).
    pub(super) boundary_next: bool,
    /// A boundary carried by a segment that failed: the next delivered one takes it.
    pub(super) boundary_owed: bool,
    pub(super) queue: VecDeque<Job>,
    /// Container announced to the writer in this attempt.
    pub(super) container: Option<Container>,
    /// Last time a segment reached the writer (or the attempt began).
    pub(super) last_delivery: Instant,
    /// Last time the playlist gained a segment.
    pub(super) last_advance: Instant,
    pub(super) last_error: Option<String>,
    pub(super) reload_failures: u32,
    pub(super) budget: Arc<Semaphore>,
}

impl Live {
    pub(super) fn new(
        ctx: Arc<Ctx>,
        sink: mpsc::Sender<WriterMsg>,
        url: Url,
        stall: Duration,
    ) -> Self {
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
    pub(super) fn stall_limit(&self) -> Duration {
        self.stall.max(self.target * 2)
    }

    pub(super) async fn run(mut self, first: MediaPlaylist, cancel: &CancellationToken) -> PullEnd {
        let mut load_started = Instant::now();
        if let Err(end) = self.apply(first) {
            return end;
        }
        let mut next_reload = load_started + self.target;
        let mut inflight: FuturesOrdered<BoxFuture<(Job, Result<Fetched, String>)>> =
            FuturesOrdered::new();
        let mut reload: Option<BoxFuture<Result<m3u8::Playlist, PlaylistError>>> = None;
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
    pub(super) fn apply(&mut self, p: MediaPlaylist) -> Result<bool, PullEnd> {
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

    pub(super) fn reloaded(&mut self, p: m3u8::Playlist) -> Result<bool, PullEnd> {
        match p {
            m3u8::Playlist::Media(m) => {
                self.reload_failures = 0;
                self.apply(m)
            }
            m3u8::Playlist::Master(_) => self
                .reload_failed(PlaylistError::Invalid(
                    "the media playlist turned into a master playlist".into(),
                ))
                .map(|()| false),
        }
    }

    pub(super) fn reload_failed(&mut self, e: PlaylistError) -> Result<(), PullEnd> {
        self.reload_failures += 1;
        let text = e.to_string();
        let fatal = match e {
            // An expired signed URL: the platform has to sign a fresh one.
            PlaylistError::Status(code) => matches!(code, 401 | 403 | 404 | 410),
            PlaylistError::Invalid(_)
            | PlaylistError::Empty
            | PlaylistError::NoVariant
            | PlaylistError::NestedMaster => true,
            // Network trouble: keep trying until the stall limit.
            PlaylistError::Unreachable(_) | PlaylistError::Network(_) => false,
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
    pub(super) async fn deliver(
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

    pub(super) fn stalled(&self) -> PullEnd {
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
pub(super) fn backfill_start(segments: &[MediaSegment]) -> usize {
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
