//! Bilibili's batch requests, decided without IO: how the rooms of one request are asked
//! (`get_status_info_by_uids` by anchor uid, `getRoomBaseInfo` by room id, at most
//! [`super::BATCH_ROOMS`] each, gathered by [`crate::platform::coalesce`]), what an answer
//! means for each room, and when a room must still be asked on its own.
//!
//! The batch status is the live/offline pre-filter of every poll: an offline room costs no
//! request of its own. A live one is asked on its own (getInfoByRoom, and its play info) when
//! its broadcast is new to us (`live_time` differs from the last per-room check's); a live
//! room we already checked for this broadcast keeps what that check said (session hint, not
//! recordable), for [`SEEN_TTL`] at most. A uid the answer leaves out, and every room of a
//! batch that was refused or failed, fall back to the per-room check.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::api::{BaseInfo, BatchStatus, Signed};
use crate::platform::web::q;
use crate::platform::{PlatformError, RoomStatus};

pub(crate) const STATUS_PATH: &str = "/room/v1/Room/get_status_info_by_uids";
pub(crate) const BASE_INFO_PATH: &str = "/xlive/web-room/v1/index/getRoomBaseInfo";
/// A live room's last per-room check stands for this long at most, even for the same
/// broadcast: a live that could not be recorded is looked at again this often.
pub(crate) const SEEN_TTL: Duration = Duration::from_secs(5 * 60);
/// Rooms remembered at most (live rooms, rooms' uids): far beyond any configuration; beyond
/// it the memory starts afresh rather than grow.
const MEMORY_CAP: usize = 100_000;
/// An offline room's resolution answer stands as its first status check this long: a room
/// resolved after its slot passed polls at once, and need not ask again (a room whose slot
/// comes later is asked then).
pub(crate) const FRESH: Duration = Duration::from_secs(1);

/// `uids[]=1&uids[]=2`, as the web page sends it.
pub(crate) fn status_query(uids: &[u64]) -> String {
    uids.iter()
        .map(|u| format!("uids%5B%5D={u}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `room_ids=1&room_ids=2&req_biz=web_room_componet`.
pub(crate) fn base_info_query(ids: &[String]) -> String {
    let mut parts: Vec<String> = ids.iter().map(|id| format!("room_ids={}", q(id))).collect();
    parts.push("req_biz=web_room_componet".into());
    parts.join("&")
}

/// What one batch status answer says about one anchor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// In the answer: its room and what it says.
    Found(BatchStatus),
    /// The answer does not name this uid: ask the room on its own.
    Missing,
    /// The batch was refused or failed (why): ask the room on its own.
    Fallback(String),
    /// Risk control paused the platform: nothing can be asked now.
    Blocked(PlatformError),
}

/// Each asked uid's verdict from one batch answer (`asked` in request order).
pub(crate) fn judge_status(
    asked: &[u64],
    answer: Result<Signed<Vec<BatchStatus>>, PlatformError>,
) -> Vec<Verdict> {
    let all = |v: Verdict| vec![v; asked.len()];
    let entries = match answer {
        Ok(Signed::Data(entries)) => entries,
        Ok(Signed::Refused(r)) => {
            return all(Verdict::Fallback(format!("get_status_info_by_uids: {r}")));
        }
        Err(e @ PlatformError::Blocked(_)) => return all(Verdict::Blocked(e)),
        Err(e) => return all(Verdict::Fallback(e.to_string())),
    };
    let by_uid: HashMap<u64, BatchStatus> = entries.into_iter().map(|e| (e.uid, e)).collect();
    asked
        .iter()
        .map(|u| {
            by_uid
                .get(u)
                .cloned()
                .map_or(Verdict::Missing, Verdict::Found)
        })
        .collect()
}

/// What a room's last per-room check said about its current broadcast.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    /// The batch's `live_time` when the check was made.
    pub(crate) live_time: i64,
    pub(crate) session_hint: Option<String>,
    pub(crate) unrecordable: Option<String>,
    pub(crate) at: Instant,
}

/// What to make of a room's verdict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Next {
    /// This is the room's status.
    Status(RoomStatus),
    /// Ask the room on its own (getInfoByRoom); for a live room, `live_time` is the batch's,
    /// to remember with the answer.
    AskRoom {
        live_time: Option<i64>,
    },
    Fail(PlatformError),
}

/// The status of room `room_id` from its verdict and its last per-room check, at `now`.
pub(crate) fn decide(room_id: &str, verdict: Verdict, seen: Option<&Seen>, now: Instant) -> Next {
    let e = match verdict {
        Verdict::Found(e) => e,
        Verdict::Missing | Verdict::Fallback(_) => return Next::AskRoom { live_time: None },
        Verdict::Blocked(err) => return Next::Fail(err),
    };
    // A uid now names another room (it moved, or we mixed up ids): trust the room's own
    // answer.
    if e.room_id.to_string() != room_id {
        return Next::AskRoom { live_time: None };
    }
    // 2 is a replay loop, not a live.
    if e.live_status != 1 {
        return Next::Status(RoomStatus {
            live: false,
            title: e.title,
            streamer: e.streamer,
            ..RoomStatus::default()
        });
    }
    match seen {
        Some(s) if s.live_time == e.live_time && now.saturating_duration_since(s.at) < SEEN_TTL => {
            Next::Status(RoomStatus {
                live: true,
                title: e.title,
                streamer: e.streamer,
                session_hint: s.session_hint.clone(),
                unrecordable: s.unrecordable.clone(),
                // The room keeps the cover its own check learnt.
                cover: None,
            })
        }
        _ => Next::AskRoom {
            live_time: Some(e.live_time),
        },
    }
}

/// What one base-info answer says about one configured id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Found {
    /// The room, its long id and its anchor's uid, and its status as the answer gave it.
    Room {
        room_id: u64,
        uid: u64,
        status: RoomStatus,
    },
    /// Not in the answer (a short id it does not know, no such room): ask `room_init`.
    Missing,
    /// The request was refused or failed (why): ask `room_init`.
    Fallback(String),
    Blocked(PlatformError),
}

/// Each asked id's room from one `getRoomBaseInfo` answer.
pub(crate) fn judge_base(
    asked: &[String],
    answer: Result<Signed<Vec<BaseInfo>>, PlatformError>,
) -> Vec<Found> {
    let all = |v: Found| vec![v; asked.len()];
    let entries = match answer {
        Ok(Signed::Data(entries)) => entries,
        Ok(Signed::Refused(r)) => return all(Found::Fallback(format!("getRoomBaseInfo: {r}"))),
        Err(e @ PlatformError::Blocked(_)) => return all(Found::Blocked(e)),
        Err(e) => return all(Found::Fallback(e.to_string())),
    };
    asked
        .iter()
        .map(|id| {
            // The entry keyed by the id first, then one whose long or short id it is.
            entries
                .iter()
                .find(|e| e.key == *id)
                .or_else(|| entries.iter().find(|e| e.answers(id)))
                .map_or(Found::Missing, |e| Found::Room {
                    room_id: e.room_id,
                    uid: e.uid,
                    status: RoomStatus {
                        live: e.live_status == 1,
                        title: e.title.clone(),
                        streamer: e.streamer.clone(),
                        ..RoomStatus::default()
                    },
                })
        })
        .collect()
}

/// What the Bilibili client remembers about rooms for the batch: their anchors' uids, and
/// the last per-room check of each live one. Bounded by [`MEMORY_CAP`].
#[derive(Debug, Default)]
pub(crate) struct Memory {
    uids: Mutex<HashMap<String, u64>>,
    seen: Mutex<HashMap<String, Seen>>,
    /// Offline rooms' status from their resolution, by long id, until their first poll.
    resolved: Mutex<HashMap<String, (Instant, RoomStatus)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: a panic elsewhere cannot leave it in a harmful state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn put<V>(m: &mut HashMap<String, V>, k: &str, v: V) {
    if m.len() >= MEMORY_CAP && !m.contains_key(k) {
        m.clear();
    }
    m.insert(k.to_string(), v);
}

impl Memory {
    /// The anchor's uid of room `room_id` (the long id), when known.
    pub(crate) fn uid(&self, room_id: &str) -> Option<u64> {
        lock(&self.uids).get(room_id).copied()
    }

    pub(crate) fn learn_uid(&self, room_id: &str, uid: u64) {
        if uid > 0 {
            put(&mut lock(&self.uids), room_id, uid);
        }
    }

    /// The uid led to another room: ask the room on its own until it is learnt again.
    pub(crate) fn forget_uid(&self, room_id: &str) {
        lock(&self.uids).remove(room_id);
    }

    pub(crate) fn seen(&self, room: &str) -> Option<Seen> {
        lock(&self.seen).get(room).cloned()
    }

    /// After a per-room check of a room the batch found live at `live_time`.
    pub(crate) fn checked(&self, room: &str, live_time: i64, status: &RoomStatus, now: Instant) {
        let mut seen = lock(&self.seen);
        if status.live {
            put(
                &mut seen,
                room,
                Seen {
                    live_time,
                    session_hint: status.session_hint.clone(),
                    unrecordable: status.unrecordable.clone(),
                    at: now,
                },
            );
        } else {
            seen.remove(room);
        }
    }

    /// The room is offline: its broadcast is over.
    pub(crate) fn offline(&self, room: &str) {
        lock(&self.seen).remove(room);
    }

    /// A resolution answered `status` for room `room_id` at `now`. Only an offline one is
    /// kept: a live room is asked on its own anyway.
    pub(crate) fn resolved(&self, room_id: &str, status: RoomStatus, now: Instant) {
        if status.live {
            return;
        }
        let mut m = lock(&self.resolved);
        m.retain(|_, (at, _)| now.saturating_duration_since(*at) < FRESH);
        put(&mut m, room_id, (now, status));
    }

    /// The status the room's resolution gave, if it is fresh: its first check (used once).
    pub(crate) fn take_resolved(&self, room_id: &str, now: Instant) -> Option<RoomStatus> {
        let (at, status) = lock(&self.resolved).remove(room_id)?;
        (now.saturating_duration_since(at) < FRESH).then_some(status)
    }
}

#[cfg(test)]
mod tests;
