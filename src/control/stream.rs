//! `GET /api/events/stream`: every event the dispatcher handles, as server-sent events
//! (`event: <type>`, `data: <the event's JSON, one line>`), and a `: keepalive` comment every
//! [`KEEPALIVE`] so a client (or a proxy) can tell a quiet daemon from a dead connection.
//!
//! Bounded: at most [`MAX_CLIENTS`] streams at once; each reads the dispatcher's live feed,
//! which never waits for a reader. A client that falls more than the feed's capacity behind
//! (it stopped reading, its link is too slow) has its stream ended: it reconnects and catches
//! up from `GET /api/events`. Streams end once the dispatcher has handled the daemon's last
//! event (at shutdown, after the rooms' last files are closed), so those events still arrive.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::event::Event;

/// Streams served at once; one more is answered 503.
pub(super) const MAX_CLIENTS: usize = 16;

pub(super) const KEEPALIVE: Duration = Duration::from_secs(15);

/// The SSE frame of one event.
pub(super) fn frame(event: &Event) -> Bytes {
    // serde_json escapes control characters, so the JSON is one line, as SSE's `data:` needs.
    let json = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("event: {}\ndata: {json}\n\n", event.kind))
}

const HELLO: &[u8] = b": liverec events\n\n";
const KEEPALIVE_FRAME: &[u8] = b": keepalive\n\n";

/// What the stream endpoint shares between requests.
pub(super) struct Streams {
    clients: Arc<Semaphore>,
}

impl Streams {
    pub(super) fn new() -> Self {
        Self {
            clients: Arc::new(Semaphore::new(MAX_CLIENTS)),
        }
    }

    /// The answer to one stream request, reading `events`.
    pub(super) fn open(&self, events: broadcast::Receiver<Arc<Event>>) -> Response {
        let Ok(permit) = self.clients.clone().try_acquire_owned() else {
            return super::error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{MAX_CLIENTS} event streams are open already; try again later"),
            );
        };
        let body = body(events, KEEPALIVE, permit);
        (
            [
                (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
                // nginx would otherwise hold events back to fill its buffer.
                (header::HeaderName::from_static("x-accel-buffering"), "no"),
            ],
            Body::from_stream(body),
        )
            .into_response()
    }
}

struct Feed {
    events: broadcast::Receiver<Arc<Event>>,
    tick: tokio::time::Interval,
    hello: bool,
    /// Held for as long as the stream lives: counts it against [`MAX_CLIENTS`].
    _permit: OwnedSemaphorePermit,
}

/// The frames of one stream: a greeting comment, then events and keepalives, until the client
/// lags or the feed closes.
fn body(
    events: broadcast::Receiver<Arc<Event>>,
    keepalive: Duration,
    permit: OwnedSemaphorePermit,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static {
    let start = tokio::time::Instant::now() + keepalive;
    let mut tick = tokio::time::interval_at(start, keepalive);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed {
        events,
        tick,
        hello: true,
        _permit: permit,
    };
    futures_util::stream::unfold(feed, |mut f| async move {
        if std::mem::take(&mut f.hello) {
            return Some((Ok(Bytes::from_static(HELLO)), f));
        }
        let next = tokio::select! {
            _ = f.tick.tick() => Some(Bytes::from_static(KEEPALIVE_FRAME)),
            r = f.events.recv() => match r {
                Ok(event) => Some(frame(&event)),
                Err(RecvError::Lagged(n)) => {
                    tracing::info!("event stream: a client fell {n} events behind; its stream is closed (it can reconnect and read /api/events)");
                    None
                }
                Err(RecvError::Closed) => None,
            },
        };
        next.map(|bytes| (Ok(bytes), f))
    })
}

#[cfg(test)]
mod tests;
