//! Chat (danmaku): a side channel of each room, recorded beside the video and used to learn of
//! live starts as they are pushed.
//!
//! One task per room (spawned by the room's supervisor, [`spawn`]) owns the room's chat
//! connection ([`link`]: [`bilibili`], or [`douyin`] while a broadcast is live) and its chat
//! files ([`file`]). The supervisor tells it about segments through [`ChatCmd`] and hears from
//! it through [`ChatSignal`]; both channels are bounded and never waited on: a chat that is
//! stuck, failing or slow costs chat records, never a video frame, a split or a shutdown.
//!
//! Pure cores, bytes in and values out: [`event`] (the records), [`inflate`] (bounded
//! zlib/brotli/gzip), [`protobuf`] (a small wire-format reader), [`bili_packet`] and
//! [`bili_commands`] (Bilibili's WebSocket packets and JSON commands), [`douyin_frame`] and
//! [`douyin_signature`] (Douyin's webcast frames and URL signature), [`xml`] (BililiveRecorder's
//! XML, and the repair of a torn file), [`timeline`] (chat times on the media timeline).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::event::{DanmakuRef, RoomRef};
use crate::platform::{Platform, PlatformKind, RoomSpec};
use crate::segment::files::Progress;

pub(crate) mod bili_commands;
pub(crate) mod bili_packet;
mod bilibili;
mod douyin;
pub(crate) mod douyin_frame;
pub(crate) mod douyin_signature;
pub(crate) mod event;
pub(crate) mod file;
pub(crate) mod inflate;
mod link;
pub(crate) mod protobuf;
mod task;
pub(crate) mod timeline;
mod ws;
pub(crate) mod xml;

/// A room's chat connection, as `status` and the API show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChatState {
    /// No chat for this room (off in the config, or not wanted right now).
    #[default]
    Off,
    Connecting,
    Connected,
    /// The platform refused chat (risk control, a blocked device): retried with a long pause.
    Blocked,
}

impl ChatState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Blocked => "blocked",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Connecting,
            2 => Self::Connected,
            3 => Self::Blocked,
            _ => Self::Off,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Connecting => 1,
            Self::Connected => 2,
            Self::Blocked => 3,
        }
    }
}

/// A room's chat settings (`danmaku`, `live_push`, `danmaku_gifts`, `danmaku_raw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChatSettings {
    /// Write a chat file beside every segment.
    pub(crate) record: bool,
    /// Keep the connection open while the room is idle, and poll when it pushes a live start.
    pub(crate) live_push: bool,
    pub(crate) gifts: bool,
    pub(crate) raw: bool,
}

impl ChatSettings {
    /// Whether a room of this platform has a chat task at all.
    pub(crate) fn wanted(&self, platform: PlatformKind) -> bool {
        platform != PlatformKind::Direct && (self.record || self.live_push)
    }
}

/// A segment opened: its chat file goes beside `video_part`.
#[derive(Debug)]
pub(crate) struct SegmentOpened {
    pub(crate) video_part: PathBuf,
    pub(crate) index: u32,
    /// The wall-clock instant of offset 0.
    pub(crate) start: DateTime<FixedOffset>,
    pub(crate) session: uuid::Uuid,
    pub(crate) room: RoomRef,
    /// Where the writer says the media timeline stands.
    pub(crate) progress: Arc<Progress>,
}

/// What the room tells its chat task.
#[derive(Debug)]
pub(crate) enum ChatCmd {
    Opened(Box<SegmentOpened>),
    /// The segment closed and its video is `video` now: the chat file follows its name.
    Closed {
        video: PathBuf,
        reply: oneshot::Sender<Option<DanmakuRef>>,
    },
    /// The stream stopped delivering (the attempt ended): chat times hold still until media
    /// flows again.
    StreamLost,
    /// A session opened (true) or ended.
    Session(bool),
    /// The session hint of the last live answer (Douyin's chat needs the broadcast's id).
    Broadcast(Option<String>),
    /// New settings from a reload.
    Settings(ChatSettings, Box<RoomSpec>),
    Stop,
}

/// What the chat task tells its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChatSignal {
    /// The room went live, says a push: poll now (and soon again if the API lags).
    Live,
    /// Poll now, for this reason (a pushed live start or end, a reconnected chat).
    CheckNow(String),
    /// A pushed warning or cut, for the log (no state change).
    Notice(String),
    /// The room's new title (`ROOM_CHANGE`), for the next file.
    Title(String),
    /// The connection's state changed (read it with [`ChatHandle::state`]).
    State,
}

/// How long the room waits for the chat file of a closed segment before its
/// `segment_complete` goes without one.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long a stopping room waits for its chat task to finish its file.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// The room's side of its chat task. Dropping it aborts the task.
pub(crate) struct ChatHandle {
    tx: mpsc::Sender<ChatCmd>,
    state: Arc<AtomicU8>,
    signals: mpsc::Receiver<ChatSignal>,
    task: Option<JoinHandle<()>>,
}

impl Drop for ChatHandle {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Starts a room's chat task (in the caller's span: its log lines name the room).
pub(crate) fn spawn(
    platform: Arc<dyn Platform>,
    spec: RoomSpec,
    settings: ChatSettings,
) -> ChatHandle {
    let (tx, rx) = mpsc::channel(64);
    let (sig_tx, sig_rx) = mpsc::channel(32);
    let state = Arc::new(AtomicU8::new(ChatState::Off.to_u8()));
    let task = task::ChatTask::new(platform, spec, settings, state.clone(), sig_tx);
    let join = tokio::spawn(task.run(rx).in_current_span());
    ChatHandle {
        tx,
        state,
        signals: sig_rx,
        task: Some(join),
    }
}

impl ChatHandle {
    /// Hands a command over without waiting; a full queue drops it (chat, not video, loses).
    pub(crate) fn send(&self, cmd: ChatCmd) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(cmd) {
            tracing::debug!("chat: its queue is full; a command was dropped");
        }
    }

    pub(crate) fn state(&self) -> ChatState {
        ChatState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub(crate) async fn signal(&mut self) -> Option<ChatSignal> {
        self.signals.recv().await
    }

    /// The chat file of the segment whose video is now `video`, if it comes within
    /// [`CLOSE_WAIT`].
    pub(crate) async fn close_segment(&self, video: &Path) -> Option<DanmakuRef> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(ChatCmd::Closed {
                video: video.to_path_buf(),
                reply,
            })
            .ok()?;
        match tokio::time::timeout(CLOSE_WAIT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => None,
            Err(_) => {
                tracing::warn!(
                    "chat: no chat file for {} within {}s; segment_complete goes without one",
                    video.display(),
                    CLOSE_WAIT.as_secs()
                );
                None
            }
        }
    }

    /// Stops the task, giving it [`STOP_WAIT`] to finish an open chat file.
    pub(crate) async fn stop(mut self) {
        let _ = self.tx.try_send(ChatCmd::Stop);
        if let Some(mut t) = self.task.take() {
            if tokio::time::timeout(STOP_WAIT, &mut t).await.is_err() {
                t.abort();
                tracing::warn!("chat: did not stop within {}s", STOP_WAIT.as_secs());
            }
        }
    }
}
