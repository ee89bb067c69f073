//! A prefix watch that survives etcd restarts, pauses and endpoint changes.
//!
//! A background task holds one streaming `POST /v3/watch` and hands each change to a bounded
//! channel (a slow consumer slows the stream down, it never grows a queue). When the stream
//! breaks or stays silent for `idle_timeout`, the task reconnects from the revision after the
//! last one it delivered, so nothing is missed or repeated. If that revision has been compacted
//! away, it reads the whole prefix again and hands over a [`WatchItem::Resync`] snapshot that
//! replaces whatever the consumer knew, then watches on from the snapshot's revision.
//!
//! Not here: what the keys mean. The task logs its connection trouble itself (it has no other
//! way to report it); consumers learn of etcd trouble from their own calls (keep-alives).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::wire::{self, KeyValue, WatchEvent, WatchFrame, WireError};
use super::{EtcdClient, EtcdError};

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// Items held for a slow consumer before the stream is paused.
    pub buffer: usize,
    /// Reconnect after this long without a byte: the only way to notice a half-open
    /// connection, since etcd 3.4 sends progress notifications only every 10 minutes.
    pub idle_timeout: Duration,
    /// The largest single message accepted (one watch answer can carry many events).
    pub max_frame: usize,
    /// The longest wait between two reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            buffer: 64,
            idle_timeout: Duration::from_secs(60),
            max_frame: 4 * 1024 * 1024,
            max_backoff: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    Event(WatchEvent),
    /// History was compacted while we were away: this is every key under the prefix at
    /// `revision`; forget what you knew and start from it.
    Resync {
        kvs: Vec<KeyValue>,
        revision: i64,
    },
}

/// The consumer's end. Dropping it stops the background task.
#[derive(Debug)]
pub struct Watch {
    items: mpsc::Receiver<WatchItem>,
    task: JoinHandle<()>,
}

impl Watch {
    /// The next change; `None` only if the background task ended (it does not on its own).
    pub async fn next(&mut self) -> Option<WatchItem> {
        self.items.recv().await
    }
}

impl futures_util::Stream for Watch {
    type Item = WatchItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchItem>> {
        self.items.poll_recv(cx)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) fn spawn(
    client: EtcdClient,
    prefix: String,
    from_revision: i64,
    options: WatchOptions,
) -> Watch {
    let (tx, items) = mpsc::channel(options.buffer.max(1));
    let task = tokio::spawn(run(client, prefix, from_revision.max(0), options, tx));
    Watch { items, task }
}

/// Why one connection ended without an error.
enum End {
    ConsumerGone,
    /// The stream ended or went quiet; reconnect.
    Closed,
    Compacted,
}

async fn run(
    client: EtcdClient,
    prefix: String,
    mut next: i64,
    options: WatchOptions,
    tx: mpsc::Sender<WatchItem>,
) {
    let mut backoff = Backoff::new(options.max_backoff);
    let mut failing = false;
    loop {
        let mut established = false;
        let outcome =
            connect_once(&client, &prefix, &mut next, &options, &tx, &mut established).await;
        if established {
            backoff.reset();
            if failing {
                tracing::info!(prefix = %prefix, "etcd watch re-established");
                failing = false;
            }
        }
        match outcome {
            Ok(End::ConsumerGone) => return,
            Ok(End::Closed) => {}
            Ok(End::Compacted) => {
                tracing::info!(prefix = %prefix, "etcd history compacted past the watch position; reading the prefix again");
                match resync(&client, &prefix, &tx, &mut backoff).await {
                    Some(revision) => next = revision + 1,
                    None => return,
                }
                continue;
            }
            Err(e) => {
                // One line per outage, not one per retry.
                if failing {
                    tracing::debug!(prefix = %prefix, error = %e, "etcd watch still failing");
                } else {
                    tracing::warn!(prefix = %prefix, error = %e, "etcd watch broken; reconnecting");
                    failing = true;
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Reads the prefix until it works; sends the snapshot. `None` if the consumer is gone.
async fn resync(
    client: &EtcdClient,
    prefix: &str,
    tx: &mpsc::Sender<WatchItem>,
    backoff: &mut Backoff,
) -> Option<i64> {
    loop {
        match client.get_prefix(prefix).await {
            Ok(range) => {
                let revision = range.revision;
                tx.send(WatchItem::Resync {
                    kvs: range.kvs,
                    revision,
                })
                .await
                .ok()?;
                return Some(revision);
            }
            Err(e) => {
                tracing::debug!(prefix = %prefix, error = %e, "etcd watch resync failed");
                if tx.is_closed() {
                    return None;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// One watch connection, until it ends. `next` is the first revision not yet delivered (0:
/// from now, until etcd says what "now" is).
async fn connect_once(
    client: &EtcdClient,
    prefix: &str,
    next: &mut i64,
    options: &WatchOptions,
    tx: &mpsc::Sender<WatchItem>,
    established: &mut bool,
) -> Result<End, EtcdError> {
    const OP: &str = "watch";
    let request = wire::watch_request(prefix.as_bytes(), *next);
    let body = serde_json::to_vec(&request)
        .map_err(|e| EtcdError::Config(format!("{OP}: cannot encode request: {e}")))?;
    let token = client.token().await?;
    let (endpoint, mut response) = client
        .open(OP, "/v3/watch", &body, token.as_deref(), false)
        .await?;
    let endpoint_name = || client.endpoint_name(endpoint);
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(EtcdError::Http {
            op: OP,
            endpoint: endpoint_name(),
            status,
        });
    }
    let mut lines = LineBuffer::new(options.max_frame);
    loop {
        let chunk = match tokio::time::timeout(options.idle_timeout, response.chunk()).await {
            Err(_) => {
                tracing::debug!(prefix = %prefix, "etcd watch silent for {:?}; reconnecting", options.idle_timeout);
                return Ok(End::Closed);
            }
            Ok(Err(e)) => return Err(client.request_error(OP, endpoint, &e)),
            Ok(Ok(chunk)) => chunk,
        };
        let at_end = chunk.is_none();
        match &chunk {
            Some(bytes) => lines.push(bytes).map_err(|limit| EtcdError::TooLarge {
                op: OP,
                endpoint: endpoint_name(),
                limit,
            })?,
            None => lines.finish(),
        }
        while let Some(line) = lines.next_line() {
            let frame = match wire::decode_watch_frame(&line) {
                Ok(frame) => frame,
                Err(WireError::Malformed(detail)) => {
                    return Err(EtcdError::Decode {
                        op: OP,
                        endpoint: endpoint_name(),
                        detail,
                    });
                }
                Err(WireError::Server(e)) => {
                    return Err(client.server_error(OP, endpoint, status, e));
                }
            };
            match frame {
                WatchFrame::Created { revision } => {
                    *established = true;
                    if *next == 0 {
                        // "From now" must stay "from then" across a reconnect.
                        *next = revision + 1;
                    }
                }
                WatchFrame::Events { events } => {
                    for event in events {
                        let revision = event.kv.mod_revision;
                        if tx.send(WatchItem::Event(event)).await.is_err() {
                            return Ok(End::ConsumerGone);
                        }
                        *next = (*next).max(revision + 1);
                    }
                }
                // Not used to move `next`: resuming from the last event is always right.
                WatchFrame::Progress { .. } => {}
                WatchFrame::Compacted { .. } => return Ok(End::Compacted),
                WatchFrame::Canceled { reason } => {
                    let e = wire::ServerError {
                        code: 0,
                        message: reason,
                    };
                    if e.is_auth() {
                        if let Some(used) = &token {
                            client.forget_token(used).await;
                        }
                    }
                    return Err(client.server_error(OP, endpoint, status, e));
                }
            }
        }
        if at_end {
            return Ok(End::Closed);
        }
    }
}

/// Splits a byte stream into newline-terminated lines, holding at most `max` bytes of an
/// unfinished one. The gateway ends each message with `\n` and never puts a raw newline inside
/// one (JSON escapes them).
#[derive(Debug)]
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
    /// Start of the unread part of `buf`.
    read: usize,
    max: usize,
    finished: bool,
}

impl LineBuffer {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            read: 0,
            max,
            finished: false,
        }
    }

    /// Appends bytes; `Err(max)` if the unfinished line would grow past `max`.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), usize> {
        if self.read > 0 {
            self.buf.drain(..self.read);
            self.read = 0;
        }
        let unfinished = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => bytes.len() - i - 1,
            None => {
                let held = self
                    .buf
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(self.buf.len(), |i| self.buf.len() - i - 1);
                held + bytes.len()
            }
        };
        if unfinished > self.max {
            return Err(self.max);
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// The stream ended: a last line without a newline is still a line.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }

    /// The next complete, non-blank line, without its newline.
    pub(crate) fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            let rest = &self.buf[self.read..];
            let (line, used) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], i + 1),
                None if self.finished && !rest.is_empty() => (rest, rest.len()),
                None => return None,
            };
            let line = line.trim_ascii().to_vec();
            self.read += used;
            if !line.is_empty() {
                return Some(line);
            }
        }
    }
}

/// Doubling delays with ±25 % jitter, so instances that lost etcd together do not all come back
/// at the same instant.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(200);

    fn new(max: Duration) -> Self {
        Self {
            next: Self::FIRST,
            max: max.max(Self::FIRST),
        }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        base.mul_f64(rand::random_range(0.75..1.25))
    }
}

#[cfg(test)]
mod tests;
