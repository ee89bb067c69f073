//! The one event shape shared by hooks, webhooks, the log and the control API.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Local};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::LiveStart,
        EventType::SegmentStart,
        EventType::SegmentComplete,
        EventType::LiveEnd,
        EventType::RecordingFailed,
        EventType::RecordingRecovered,
        EventType::DiskLow,
        EventType::HookFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LiveStart => "live_start",
            EventType::SegmentStart => "segment_start",
            EventType::SegmentComplete => "segment_complete",
            EventType::LiveEnd => "live_end",
            EventType::RecordingFailed => "recording_failed",
            EventType::RecordingRecovered => "recording_recovered",
            EventType::DiskLow => "disk_low",
            EventType::HookFailed => "hook_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRef {
    pub id: Uuid,
    pub start: DateTime<FixedOffset>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub time: DateTime<FixedOffset>,
    pub room: Option<RoomRef>,
    pub session: Option<SessionRef>,
    pub segment: Option<SegmentRef>,
    pub error: Option<String>,
    /// On `hook_failed` only: the delivery that ran out of retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookRef>,
}

/// The delivery a `hook_failed` event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRef {
    /// The hook's or webhook's name.
    pub name: String,
    /// The delivery id (a webhook's `X-Liverec-Delivery`).
    pub delivery: Uuid,
    /// The type and id of the event that could not be delivered.
    pub event: EventType,
    pub event_id: Uuid,
    /// Attempts made, all failed.
    pub attempts: u32,
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
        }
    }

    pub fn with_session(mut self, session: Option<SessionRef>) -> Self {
        self.session = session;
        self
    }

    pub fn with_segment(mut self, segment: SegmentRef) -> Self {
        self.segment = Some(segment);
        self
    }

    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// Local wall-clock time with its offset, as events and file names use it.
pub fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

/// The sending side of the event queue. Bounded: a stuck consumer slows the room supervisors'
/// bookkeeping, never the writers, which do not send events themselves.
#[derive(Debug, Clone)]
pub struct EventTx(tokio::sync::mpsc::Sender<Event>);

impl EventTx {
    pub fn channel(capacity: usize) -> (Self, tokio::sync::mpsc::Receiver<Event>) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        (Self(tx), rx)
    }

    pub async fn emit(&self, event: Event) {
        if self.0.send(event).await.is_err() {
            tracing::debug!("event dropped: the dispatcher has stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_in_the_documented_shape() {
        let e = Event::new(EventType::SegmentComplete, None).with_error("x");
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "segment_complete");
        assert_eq!(v["error"], "x");
        assert!(v["room"].is_null());
        assert!(v.get("hook").is_none(), "only hook_failed carries `hook`");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }
}
