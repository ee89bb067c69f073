//! Pulling a stream over HTTP into a session's writer: one connection per call, ended by the
//! server, a stall, an error or cancellation.
//!
//! Nothing reaches the writer before the first media byte: a server that answers 200 and then
//! sends nothing (or only the FLV file header), or closes before any media, has refused the
//! connection as surely as one that answered 404, and the attempt moves on to the next source.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::end::PullEnd;
use crate::http;
use crate::media::flv::{self, Signature};
use crate::platform::{StreamFormat, StreamSource};
use crate::util::secret::redact_url;
use crate::writer::handle::{Container, WriterMsg};

/// Largest hand-over to the writer when reads come back to back.
const BATCH_BYTES: usize = 256 * 1024;
/// A network read of at least this size filled hyper's buffer: more is probably waiting.
const FULL_READ: usize = 8192;
/// How long to wait for the next read while gathering a batch. (Measured: a `yield_now`
/// instead costs more, as every yield also polls the IO driver.)
const BATCH_WAIT: Duration = Duration::from_millis(1);
/// The FLV file header (9 bytes) and the first PreviousTagSize (4): what a server sends before
/// its first tag. A connection that ends within it delivered no media.
const FLV_FILE_HEAD: usize = 13;

/// Pulls one HTTP-FLV connection into `sink` until it ends.
pub(crate) async fn pull_flv(
    client: &reqwest::Client,
    source: &StreamSource,
    sink: &mpsc::Sender<WriterMsg>,
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
    // The bytes before the first media byte: held back until they show an FLV stream with at
    // least one tag coming, so a source that fails before that leaves no trace in the writer.
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
            Err(_) if !started => return PullEnd::Refused(no_media(&head, Early::Silent(stall))),
            Err(_) => return break_with(sink, started, PullEnd::Stalled(stall)).await,
            Ok(None) if !started => return PullEnd::Refused(no_media(&head, Early::Closed)),
            Ok(None) => return break_with(sink, started, PullEnd::Eof).await,
            Ok(Some(Err(e))) if !started => return PullEnd::Refused(http::describe(&e)),
            Ok(Some(Err(e))) => {
                return break_with(sink, started, PullEnd::Broken(http::describe(&e))).await;
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        let chunk = if started {
            chunk
        } else {
            // Look at the first bytes before anything is written: an HTML error page or a
            // redirect body must not become a recording.
            head.extend_from_slice(&chunk);
            if flv::signature(&head) == Signature::Other {
                return PullEnd::Refused(no_media(&head, Early::Closed));
            }
            if head.len() <= FLV_FILE_HEAD {
                continue;
            }
            if sink.send(WriterMsg::Connect(Container::Flv)).await.is_err() {
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
            s = sink.send(WriterMsg::Data(batch)) => s,
        };
        if sent.is_err() {
            return PullEnd::WriterGone;
        }
    }
}

/// Ends a connection: tells the writer (so it closes the file) and passes the reason on.
async fn break_with(sink: &mpsc::Sender<WriterMsg>, started: bool, end: PullEnd) -> PullEnd {
    if started {
        let _ = sink.send(WriterMsg::Disconnect).await;
    }
    end
}

/// How a connection ended before its first media byte.
#[derive(Debug, Clone, Copy)]
enum Early {
    /// Nothing more came for the stall timeout.
    Silent(Duration),
    /// The server closed the connection.
    Closed,
}

/// The reason a source is refused when it ended, as `end` says, after sending only `head`.
fn no_media(head: &[u8], end: Early) -> String {
    if flv::signature(head) == Signature::Other {
        return format!("the stream is not FLV: starts with {}", http::sniff(head));
    }
    match (head.is_empty(), end) {
        (true, Early::Silent(d)) => format!(
            "connected, but no bytes for {}",
            crate::util::units::format_duration(d)
        ),
        (false, Early::Silent(d)) => format!(
            "connected, but no media for {} after the FLV header",
            crate::util::units::format_duration(d)
        ),
        (true, Early::Closed) => {
            "the stream server closed the connection before the first byte".into()
        }
        (false, Early::Closed) => {
            "the stream server closed the connection after the FLV header, before any media".into()
        }
    }
}

#[cfg(test)]
mod tests;
