//! What the Bilibili client remembers between calls, so that a change is logged once and not
//! at every poll: which wbi-protected endpoint is being reached unsigned, which rooms get a
//! capped quality, and the last play info a status check fetched. Pure: callers pass the time.
//! Memory stays bounded: at most one entry per room.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::api::PlayInfo;

/// While an endpoint refuses signed calls, one signed call is tried again this often (by
/// whichever room polls first); the others go unsigned meanwhile.
pub(crate) const SIGNED_RECHECK: Duration = Duration::from_secs(5 * 60);
/// A play info fetched by a status check is reused by the `sources` call that follows it
/// within this long (its URLs are valid for an hour; the point is one request, not two).
pub(crate) const PLAY_REUSE: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data: a panic elsewhere cannot leave it in a harmful state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The wbi-protected endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `getInfoByRoom`; unsigned stand-in: `room_init`.
    Info,
    /// `getRoomPlayInfo`; unsigned stand-ins: the same endpoint unsigned, then `playUrl`.
    Play,
}

impl Endpoint {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Info => "getInfoByRoom",
            Self::Play => "getRoomPlayInfo",
        }
    }

    /// What stands in while the endpoint refuses signed calls.
    pub(crate) fn fallback(self) -> &'static str {
        match self {
            Self::Info => "the unsigned room_init",
            Self::Play => "getRoomPlayInfo unsigned (then the legacy playUrl)",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Info => 0,
            Self::Play => 1,
        }
    }
}

#[derive(Debug, Clone)]
struct Fallback {
    recheck_at: Instant,
    reason: String,
}

/// Per endpoint: signed calls answer, or they are refused and the unsigned stand-ins are used.
#[derive(Debug, Default)]
pub(crate) struct SignStates {
    state: Mutex<[Option<Fallback>; 2]>,
}

impl SignStates {
    /// `Ok` when a signed call should be tried now; else the refusal that put the endpoint in
    /// the fallback (the signed call is skipped). A due recheck is handed to one caller only.
    pub(crate) fn may_sign(&self, ep: Endpoint, now: Instant) -> Result<(), String> {
        let mut s = lock(&self.state);
        match &mut s[ep.index()] {
            None => Ok(()),
            Some(f) if now >= f.recheck_at => {
                f.recheck_at = now + SIGNED_RECHECK;
                Ok(())
            }
            Some(f) => Err(f.reason.clone()),
        }
    }

    /// A signed call answered. True when that ended a fallback.
    pub(crate) fn answered(&self, ep: Endpoint) -> bool {
        lock(&self.state)[ep.index()].take().is_some()
    }

    /// Signed calls were refused (after the retry with fresh keys). True when that started a
    /// fallback.
    pub(crate) fn refused(&self, ep: Endpoint, reason: &str, now: Instant) -> bool {
        let mut s = lock(&self.state);
        let started = s[ep.index()].is_none();
        s[ep.index()] = Some(Fallback {
            recheck_at: now + SIGNED_RECHECK,
            reason: reason.to_string(),
        });
        started
    }

    /// Why the endpoint is in the fallback, when it is.
    pub(crate) fn reason(&self, ep: Endpoint) -> Option<String> {
        lock(&self.state)[ep.index()]
            .as_ref()
            .map(|f| f.reason.clone())
    }
}

/// A set of room keys with a yes/no fact each (capped quality, the legacy fallback in use),
/// reporting changes only.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    set: Mutex<HashSet<String>>,
}

impl Flags {
    /// Records the fact for `room`. True when it changed (a room seen for the first time
    /// changes only when the fact holds).
    pub(crate) fn set(&self, room: &str, on: bool) -> bool {
        let mut s = lock(&self.set);
        if on {
            s.insert(room.to_string())
        } else {
            s.remove(room)
        }
    }
}

/// The play info of each room's last status check, for the `sources` call right after it.
#[derive(Debug, Default)]
pub(crate) struct RecentPlay {
    map: Mutex<HashMap<String, (Instant, PlayInfo)>>,
}

impl RecentPlay {
    pub(crate) fn put(&self, room: &str, info: PlayInfo, now: Instant) {
        let mut m = lock(&self.map);
        m.retain(|_, (at, _)| now.saturating_duration_since(*at) < PLAY_REUSE);
        m.insert(room.to_string(), (now, info));
    }

    /// The room's play info if it is fresh enough; it is used once.
    pub(crate) fn take(&self, room: &str, now: Instant) -> Option<PlayInfo> {
        let (at, info) = lock(&self.map).remove(room)?;
        (now.saturating_duration_since(at) < PLAY_REUSE).then_some(info)
    }
}

#[cfg(test)]
mod tests;
