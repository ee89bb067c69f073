//! Pulling a stream over HTTP into a session's writer: one connection per call, ended by the
//! server, a stall, an error or cancellation.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sink::{Container, SinkMsg};
use crate::config::redact_url;
use crate::http;
use crate::platform::{StreamFormat, StreamSource};

/// Largest hand-over to the writer when reads come back to back.
const BATCH_BYTES: usize = 256 * 1024;
/// A network read of at least this size filled hyper's buffer: more is probably waiting.
const FULL_READ: usize = 8192;
/// How long to wait for the next read while gathering a batch. (Measured: a `yield_now`
/// instead costs more, as every yield also polls the IO driver.)
const BATCH_WAIT: Duration = Duration::from_millis(1);

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PullEnd {
    /// The server closed the stream.
    Eof,
    /// No bytes for the stall timeout.
    Stalled(Duration),
    Cancelled,
    /// The connection could not be opened or was not a stream; nothing was written.
    Refused(String),
    /// The connection broke after bytes had flowed.
    Broken(String),
    /// The writer went away (it reports its own reason).
    WriterGone,
    /// The platform says this live cannot be recorded (DRM, paid, guard-only...): the reason.
    Unrecordable(String),
}

impl PullEnd {
    /// Text for logs and the status "last error"; `None` for an ordinary end of stream.
    pub fn error(&self) -> Option<String> {
        match self {
            PullEnd::Eof | PullEnd::Cancelled => None,
            PullEnd::Stalled(d) => Some(format!(
                "stalled: no bytes for {}",
                crate::config::units::format_duration(*d)
            )),
            PullEnd::Refused(e) | PullEnd::Broken(e) => Some(e.clone()),
            PullEnd::WriterGone => Some("the writer stopped".into()),
            PullEnd::Unrecordable(why) => Some(format!("not recordable: {why}")),
        }
    }
}

/// Pulls one HTTP-FLV connection into `sink` until it ends.
pub async fn pull_flv(
    client: &reqwest::Client,
    source: &StreamSource,
    sink: &mpsc::Sender<SinkMsg>,
    stall: Duration,
    cancel: &CancellationToken,
) -> PullEnd {
    debug_assert_eq!(source.format, StreamFormat::Flv);
    let request = client
        .get(&source.url)
        .headers(source.headers.clone())
        .send();
    let resp = tokio::select! {
        _ = cancel.cancelled() => return PullEnd::Cancelled,
        r = tokio::time::timeout(stall.max(Duration::from_secs(10)), request) => match r {
            Err(_) => return PullEnd::Refused("no answer from the stream server".into()),
            Ok(Err(e)) => return PullEnd::Refused(http::describe(&e)),
            Ok(Ok(resp)) => resp,
        },
    };
    if !resp.status().is_success() {
        return PullEnd::Refused(format!(
            "the stream server answered HTTP {}",
            resp.status().as_u16()
        ));
    }
    tracing::debug!(url = %redact_url(&source.url), "stream connected");
    let mut body = resp.bytes_stream();
    let mut started = false;
    let mut head: Vec<u8> = Vec::new();
    // An end (EOF or error) met while gathering a batch; handled after the batch is sent.
    let mut read_ahead = None;
    loop {
        let next = match read_ahead.take() {
            Some(item) => Ok(item),
            None => tokio::select! {
                _ = cancel.cancelled() => return break_with(sink, started, PullEnd::Cancelled).await,
                n = tokio::time::timeout(stall, body.next()) => n,
            },
        };
        let chunk = match next {
            Err(_) => return break_with(sink, started, PullEnd::Stalled(stall)).await,
            Ok(None) => {
                if !started && !head.is_empty() {
                    return PullEnd::Refused(format!(
                        "the stream is not FLV: starts with {}",
                        http::sniff(&head)
                    ));
                }
                return break_with(sink, started, PullEnd::Eof).await;
            }
            Ok(Some(Err(e))) => {
                let end = if started {
                    PullEnd::Broken(http::describe(&e))
                } else {
                    PullEnd::Refused(http::describe(&e))
                };
                return break_with(sink, started, end).await;
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        let chunk = if started {
            chunk
        } else {
            // Look at the first bytes before anything is written: an HTML error page or a
            // redirect body must not become a recording.
            head.extend_from_slice(&chunk);
            if head.len() < 3 {
                continue;
            }
            if !head.starts_with(b"FLV") {
                return PullEnd::Refused(format!(
                    "the stream is not FLV: starts with {}",
                    http::sniff(&head)
                ));
            }
            if sink.send(SinkMsg::Connect(Container::Flv)).await.is_err() {
                return PullEnd::WriterGone;
            }
            started = true;
            bytes::Bytes::from(std::mem::take(&mut head))
        };
        // When the stream comes faster than real time (a CDN's burst, a catch-up), hand over
        // what arrives in the next moment in one message: one writer wake-up and one write per
        // batch instead of per network read (hyper yields 8 KiB at a time). A read that filled
        // its buffer says more is waiting; otherwise (live pace) the chunk goes at once.
        let mut last_len = chunk.len();
        let mut batch_len = chunk.len();
        let mut batch = vec![chunk];
        while batch_len < BATCH_BYTES {
            let more = match body.next().now_or_never() {
                Some(item) => Some(item),
                None if last_len >= FULL_READ => {
                    tokio::time::timeout(BATCH_WAIT, body.next()).await.ok()
                }
                None => None,
            };
            match more {
                Some(Some(Ok(more))) => {
                    last_len = more.len();
                    batch_len += more.len();
                    batch.push(more);
                }
                Some(end) => {
                    read_ahead = Some(end);
                    break;
                }
                None => break,
            }
        }
        let sent = tokio::select! {
            _ = cancel.cancelled() => return break_with(sink, true, PullEnd::Cancelled).await,
            s = sink.send(SinkMsg::Data(batch)) => s,
        };
        if sent.is_err() {
            return PullEnd::WriterGone;
        }
    }
}

/// Ends a connection: tells the writer (so it closes the file) and passes the reason on.
async fn break_with(sink: &mpsc::Sender<SinkMsg>, started: bool, end: PullEnd) -> PullEnd {
    if started {
        let _ = sink.send(SinkMsg::Disconnect).await;
    }
    end
}
