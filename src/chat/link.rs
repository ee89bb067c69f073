//! The chat connection of one room, kept open: ask the platform for a fresh endpoint, connect,
//! run the session until it ends, wait, and again, for as long as the room wants chat. What the
//! connection hears goes to the room's chat task as [`Incoming`] on a bounded channel: when
//! that is full, chat is dropped (and counted), never waited for.
//!
//! Reconnects (DANMAKU.md §A.3): at once after a connection that lived a minute, otherwise after
//! a pause that doubles from 1 s to 60 s (5 s to 5 min for Douyin), with jitter; never giving
//! up. Failures are logged when they change, not at every retry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::bili_commands::RoomSignal;
use super::event::ChatEvent;
use super::{ChatState, bilibili, douyin};
use crate::platform::{ChatEndpoint, Platform, PlatformError, RoomSpec};
use crate::util::backoff::Backoff;

/// What a connection hears, for the room's chat task.
#[derive(Debug)]
pub(crate) enum Incoming {
    State(ChatState),
    /// Authenticated again after a connection was lost: pushes sent meanwhile are lost.
    Reconnected,
    /// A record, with the instant it arrived.
    Chat(ChatEvent, Instant),
    Room(RoomSignal),
    /// Douyin's control message: the live ended.
    LiveEnded,
}

/// How a session ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("{0}")]
    Endpoint(PlatformError),
    #[error("{0}")]
    Connect(#[from] super::ws::ConnectError),
    #[error("the chat server refused the token (auth code {0})")]
    AuthRefused(i64),
    #[error("no answer to the auth packet within {0}s")]
    AuthTimeout(u64),
    #[error("the chat server sent nothing for {0}s")]
    Silent(u64),
    #[error("the connection broke: {0}")]
    Broken(String),
    #[error("the chat server closed the connection")]
    Closed,
    #[error("{0}")]
    Blocked(String),
}

impl LinkError {
    fn state(&self) -> ChatState {
        match self {
            Self::Endpoint(PlatformError::Blocked(_)) | Self::Blocked(_) => ChatState::Blocked,
            Self::Connect(c) if c.is_blocked() => ChatState::Blocked,
            _ => ChatState::Connecting,
        }
    }

    /// The kind of failure, for logging once per change (the text may carry changing details).
    fn class(&self) -> &'static str {
        match self {
            Self::Endpoint(PlatformError::Blocked(_)) | Self::Blocked(_) => "blocked",
            Self::Endpoint(_) => "endpoint",
            Self::Connect(_) => "connect",
            Self::AuthRefused(_) | Self::AuthTimeout(_) => "auth",
            Self::Silent(_) => "silent",
            Self::Broken(_) => "broken",
            Self::Closed => "closed",
        }
    }
}

/// Connection parameters that do not change for the life of a link.
#[derive(Debug, Clone)]
pub(crate) struct LinkSpec {
    pub(crate) room: RoomSpec,
    /// The last live answer's session hint (Douyin's chat needs the broadcast's id).
    pub(crate) hint: Option<String>,
    /// Keep each record's platform JSON (`danmaku_raw`).
    pub(crate) raw: bool,
}

const LIVED_LONG: Duration = Duration::from_secs(60);
const BILIBILI: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
const DOUYIN: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));

/// Runs until the task is dropped (aborted by the room's chat task).
pub(crate) async fn run(platform: Arc<dyn Platform>, spec: LinkSpec, tx: mpsc::Sender<Incoming>) {
    let douyin = spec.room.key.platform == crate::platform::PlatformKind::Douyin;
    let backoff = if douyin { DOUYIN } else { BILIBILI };
    let key = spec.room.key.to_string();
    let mut failures: u32 = 0;
    let mut logged: Option<&'static str> = None;
    let mut authenticated_before = false;
    let mut gifts = super::bili_commands::GiftDedup::default();
    loop {
        let _ = tx.try_send(Incoming::State(ChatState::Connecting));
        let started = Instant::now();
        let mut authed = false;
        let result = match platform
            .chat_endpoint(&spec.room, spec.hint.as_deref())
            .await
        {
            Ok(ChatEndpoint::Bilibili(ep)) => {
                let mut on_auth = || {
                    authed = true;
                    let _ = tx.try_send(Incoming::State(ChatState::Connected));
                    if authenticated_before {
                        let _ = tx.try_send(Incoming::Reconnected);
                    }
                };
                bilibili::session(&ep, &tx, spec.raw, &mut gifts, &mut on_auth).await
            }
            Ok(ChatEndpoint::Douyin(ep)) => {
                let mut on_auth = || {
                    authed = true;
                    let _ = tx.try_send(Incoming::State(ChatState::Connected));
                    if authenticated_before {
                        let _ = tx.try_send(Incoming::Reconnected);
                    }
                };
                douyin::session(&ep, &tx, &mut on_auth).await
            }
            Err(e) => Err(LinkError::Endpoint(e)),
        };
        authenticated_before |= authed;
        let lived = started.elapsed();
        let err = match result {
            Ok(()) => LinkError::Closed,
            Err(e) => e,
        };
        if authed && lived >= LIVED_LONG {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
        }
        let state = err.state();
        let _ = tx.try_send(Incoming::State(state));
        crate::metrics::count(
            "liverec_chat_reconnects_total",
            "Chat connections lost or refused, and tried again.",
            &[("room", &key)],
            1,
        );
        let delay = jittered(backoff.delay(failures));
        let class = err.class();
        if authed && lived >= LIVED_LONG {
            tracing::info!("chat: {err}; reconnecting");
            logged = None;
        } else if logged != Some(class) {
            tracing::warn!(
                "chat: {err}; trying again in {}s (further failures of this kind are logged at debug level)",
                delay.as_secs()
            );
            logged = Some(class);
        } else {
            tracing::debug!("chat: {err}; trying again in {}s", delay.as_secs());
        }
        tokio::time::sleep(delay).await;
    }
}

/// Up to a fifth more, so rooms that lost chat together do not all come back at once.
fn jittered(d: Duration) -> Duration {
    let ms = d.as_millis() as u64;
    if ms == 0 {
        return d;
    }
    d + Duration::from_millis(rand::random_range(0..=ms / 5))
}
