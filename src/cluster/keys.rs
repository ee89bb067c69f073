//! The cluster's keys in etcd, all under `/liverec/<name>/`, and the JSON values stored there:
//!
//! - `members/<instance>`: `{"weight", "accepting"}`, on the instance's lease (gone with it).
//! - `owners/<room key>`: `{"instance", "writing"}`, created in a transaction on the owner's
//!   lease; its create revision is the session's fencing token. `writing` turns true once the
//!   owner's first segment is open (what a handing-over instance waits for).
//! - `sessions/<room key>`: `{"session", "start", "next_index", "instance", "hint",
//!   "updated_ms"}`, on no lease: what a new owner needs to continue the session after a
//!   takeover. Deleted when the live ends.
//! - `throttle/<platform>`: see `throttle`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
}

/// What a key under the prefix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyOf<'k> {
    Member(&'k str),
    Owner(&'k str),
    Session(&'k str),
    Throttle(&'k str),
}

impl Layout {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            prefix: format!("/liverec/{name}/"),
        }
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn member(&self, instance: &str) -> String {
        format!("{}members/{instance}", self.prefix)
    }

    pub(crate) fn owner(&self, room: &str) -> String {
        format!("{}owners/{room}", self.prefix)
    }

    pub(crate) fn session(&self, room: &str) -> String {
        format!("{}sessions/{room}", self.prefix)
    }

    pub(crate) fn classify<'k>(&self, key: &'k str) -> Option<KeyOf<'k>> {
        let rest = key.strip_prefix(&self.prefix)?;
        let (kind, name) = rest.split_once('/')?;
        if name.is_empty() {
            return None;
        }
        Some(match kind {
            "members" => KeyOf::Member(name),
            "owners" => KeyOf::Owner(name),
            "sessions" => KeyOf::Session(name),
            "throttle" => KeyOf::Throttle(name),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MemberValue {
    pub(crate) weight: f64,
    /// False while draining or at `max_recordings`: it takes no idle rooms.
    #[serde(default = "yes")]
    pub(crate) accepting: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OwnerValue {
    pub(crate) instance: String,
    #[serde(default)]
    pub(crate) writing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionValue {
    pub(crate) session: Uuid,
    pub(crate) start: DateTime<FixedOffset>,
    /// The index the next segment of the session takes.
    pub(crate) next_index: u32,
    pub(crate) instance: String,
    /// The platform's broadcast hint (see `RoomStatus::session_hint`): a takeover continues
    /// the session only for the same broadcast.
    #[serde(default)]
    pub(crate) hint: Option<String>,
    pub(crate) updated_ms: u64,
}

/// How old a session record without a broadcast hint may be and still be continued: the
/// platform cannot tell broadcasts apart then, so only a recent record is trusted.
pub(crate) const UNHINTED_SESSION_AGE_MS: u64 = 10 * 60 * 1000;

impl SessionValue {
    /// Whether a new live found with `hint` at `now_ms` is this session going on.
    pub(crate) fn continues(&self, hint: Option<&str>, now_ms: u64) -> bool {
        match (self.hint.as_deref(), hint) {
            (Some(a), Some(b)) => a == b,
            (None, None) => now_ms.saturating_sub(self.updated_ms) <= UNHINTED_SESSION_AGE_MS,
            _ => false,
        }
    }
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
