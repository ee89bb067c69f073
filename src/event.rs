//! The one event shape shared by hooks, webhooks, the log and the control API.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, FixedOffset, Local};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub(crate) mod feed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    LiveStart,
    SegmentStart,
    SegmentComplete,
    LiveEnd,
    RecordingFailed,
    RecordingRecovered,
    DiskLow,
    HookFailed,
    SegmentDeleted,
    // Degraded recordings (issue 16).
    QualityDegraded,
    LoginLost,
    LoginRestored,
    // Several machines (issue 17).
    ClusterDegraded,
}

impl EventType {
    pub(crate) const ALL: [EventType; 13] = [
        EventType::LiveStart,
        EventType::SegmentStart,
        EventType::SegmentComplete,
        EventType::LiveEnd,
        EventType::RecordingFailed,
        EventType::RecordingRecovered,
        EventType::DiskLow,
        EventType::HookFailed,
        EventType::SegmentDeleted,
        EventType::QualityDegraded,
        EventType::LoginLost,
        EventType::LoginRestored,
        EventType::ClusterDegraded,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::LiveStart => "live_start",
            EventType::SegmentStart => "segment_start",
            EventType::SegmentComplete => "segment_complete",
            EventType::LiveEnd => "live_end",
            EventType::RecordingFailed => "recording_failed",
            EventType::RecordingRecovered => "recording_recovered",
            EventType::DiskLow => "disk_low",
            EventType::HookFailed => "hook_failed",
            EventType::SegmentDeleted => "segment_deleted",
            EventType::QualityDegraded => "quality_degraded",
            EventType::LoginLost => "login_lost",
            EventType::LoginRestored => "login_restored",
            EventType::ClusterDegraded => "cluster_degraded",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which room an event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomRef {
    pub key: String,
    pub platform: String,
    pub id: String,
    pub name: String,
    pub url: String,
    pub streamer: String,
    pub title: String,
}

/// Which recording session an event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRef {
    pub(crate) id: Uuid,
    pub(crate) start: DateTime<FixedOffset>,
    /// A cluster session's owner (`[cluster] backend = "etcd"`): the instance recording it and
    /// its claim's fencing token. A takeover keeps the session id with a new owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<OwnerRef>,
}

/// Who records a cluster session: the instance, and the etcd revision that created its claim
/// on the room (the fencing token: a later claim always has a greater one, so a hook can order
/// or dedupe the segments of two instances that overlapped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRef {
    pub(crate) instance: String,
    pub(crate) fence: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRef {
    pub path: PathBuf,
    pub index: u32,
    pub bytes: u64,
    pub duration_s: f64,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub recovered: bool,
    /// The segment's chat file, on `segment_complete` when chat was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danmaku: Option<DanmakuRef>,
}

/// A segment's chat file (`<same stem>.xml`) and the records in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DanmakuRef {
    pub path: PathBuf,
    pub messages: u64,
}

impl RoomRef {
    /// No room: files named by their template alone (repairs, tools, benchmarks).
    pub(crate) fn none() -> Self {
        RoomRef {
            key: String::new(),
            platform: String::new(),
            id: String::new(),
            name: String::new(),
            url: String::new(),
            streamer: String::new(),
            title: String::new(),
        }
    }
}

impl SegmentRef {
    /// A segment as it is when its file opens: nothing written yet.
    pub(crate) fn opened(path: PathBuf, index: u32, start: DateTime<FixedOffset>) -> Self {
        SegmentRef {
            path,
            index,
            bytes: 0,
            duration_s: 0.0,
            start,
            end: start,
            recovered: false,
            danmaku: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub(crate) kind: EventType,
    pub(crate) time: DateTime<FixedOffset>,
    pub(crate) room: Option<RoomRef>,
    pub(crate) session: Option<SessionRef>,
    pub(crate) segment: Option<SegmentRef>,
    pub(crate) error: Option<String>,
    /// On `hook_failed` only: the delivery that ran out of retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hook: Option<HookRef>,
    /// On `quality_degraded` and the `recording_recovered` that ends it: what was wanted and
    /// what is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) quality: Option<QualityRef>,
    /// On `login_lost` and `login_restored`: the platform whose login cookie it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<String>,
    /// The session's cover image, once it is saved (`cover = true`): on `live_start` when it
    /// was saved within that event's wait, on `live_end` and on the session's
    /// `segment_complete` events after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cover_path: Option<PathBuf>,
    /// On `segment_deleted` only: why retention deleted the segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deletion: Option<DeletionRef>,
}

/// Why a segment was deleted (`segment_deleted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeletionRef {
    /// `age` (older than `keep_for`) or `space` (free space below `min_free_space_target`).
    pub(crate) reason: String,
    /// Seconds from the segment's end to its deletion.
    pub(crate) age_s: u64,
    /// The chat file deleted with it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) danmaku_path: Option<PathBuf>,
}

/// The quality a room wants and the one it records (`10000 原画`, `origin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QualityRef {
    pub(crate) wanted: String,
    pub(crate) recorded: String,
}

/// The delivery a `hook_failed` event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HookRef {
    /// The hook's or webhook's name.
    pub(crate) name: String,
    /// The delivery id (a webhook's `X-Liverec-Delivery`).
    pub(crate) delivery: Uuid,
    /// The type and id of the event that could not be delivered.
    pub(crate) event: EventType,
    pub(crate) event_id: Uuid,
    /// Attempts made, all failed.
    pub(crate) attempts: u32,
}

impl Event {
    pub fn new(kind: EventType, room: Option<RoomRef>) -> Self {
        Self {
            id: Uuid::new_v4(),
            kind,
            time: now(),
            room,
            session: None,
            segment: None,
            error: None,
            hook: None,
            deletion: None,
            quality: None,
            platform: None,
            cover_path: None,
        }
    }

    pub(crate) fn with_session(mut self, session: Option<SessionRef>) -> Self {
        self.session = session;
        self
    }

    pub fn with_segment(mut self, segment: SegmentRef) -> Self {
        self.segment = Some(segment);
        self
    }

    pub(crate) fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// The segment a `segment_start` or `segment_complete` is about.
    pub fn segment(&self) -> Option<&SegmentRef> {
        self.segment.as_ref()
    }
}

/// Local wall-clock time with its offset, as events and file names use it.
pub fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

/// Events queued past this many make a WARN (again at each doubling): the dispatcher is not
/// keeping up, most likely because the disk under `state_dir` is slow or stuck.
pub(crate) const BACKLOG_WARN: usize = 1024;

/// The sending side of the event queue. Emitting never waits: the queue is unbounded, so a slow
/// journal disk cannot stall a room supervisor or the daemon's main loop (and with it the
/// watchdog). Events are small and arrive a few per minute per room, so even hours of a stuck
/// disk hold little memory, and nothing is dropped or reordered: one FIFO, drained in order.
#[derive(Debug, Clone)]
pub(crate) struct EventTx {
    tx: tokio::sync::mpsc::UnboundedSender<Event>,
    queued: Arc<AtomicUsize>,
}

/// The receiving side, read by the hook dispatcher.
#[derive(Debug)]
pub(crate) struct EventRx {
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    queued: Arc<AtomicUsize>,
}

impl EventTx {
    pub(crate) fn channel() -> (Self, EventRx) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        (
            Self {
                tx,
                queued: queued.clone(),
            },
            EventRx { rx, queued },
        )
    }

    /// Queues an event for the dispatcher; returns at once.
    pub(crate) fn emit(&self, event: Event) {
        // Counted before the send, so the receiver can never see the count go below zero.
        let n = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        if self.tx.send(event).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!("event dropped: the dispatcher has stopped");
            return;
        }
        if n >= BACKLOG_WARN && n.is_power_of_two() {
            tracing::warn!(
                "{n} events are waiting for the hook dispatcher (is the disk under state_dir slow?); recording goes on and they are kept in order"
            );
        }
    }

    /// Events emitted and not yet taken by the dispatcher.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

impl EventRx {
    pub(crate) async fn recv(&mut self) -> Option<Event> {
        let e = self.rx.recv().await;
        if e.is_some() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        e
    }

    pub(crate) fn try_recv(&mut self) -> Option<Event> {
        let e = self.rx.try_recv().ok();
        if e.is_some() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        e
    }

    /// The shared count of queued events, for `/metrics`.
    pub(crate) fn depth(&self) -> Arc<AtomicUsize> {
        self.queued.clone()
    }
}

#[cfg(test)]
mod tests;
