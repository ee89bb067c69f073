//! When a delivery may start: the hook's local-time window and the retry schedule. Pure functions
//! of the time they are given, so they are tested with a fake clock.

use std::time::Duration;

use chrono::{NaiveTime, Timelike};

use crate::config::Window;
use crate::util::backoff::Backoff;

const DAY_MINUTES: u32 = 24 * 60;

/// How long until `window` opens, seen at local time `now`; `None` when it is open now.
///
/// Windows are minutes of the local day (`02:00-07:00`, or `22:00-02:00` across midnight). The
/// wait is counted in wall-clock minutes of the day, so on a day whose clock jumps (DST) it is
/// off by the jump: callers re-check when they wake up, and [`MAX_WINDOW_SLEEP`] bounds how late
/// that can be.
pub(crate) fn until_open(window: &Window, now: NaiveTime) -> Option<Duration> {
    let minute = (now.hour() * 60 + now.minute()) as u16;
    if window.contains(minute) {
        return None;
    }
    let start = u32::from(window.start);
    let minutes = (start + DAY_MINUTES - u32::from(minute)) % DAY_MINUTES;
    // Into the current minute already: the opening is that much closer.
    let into = u64::from(now.second()) * 1000 + u64::from(now.nanosecond() / 1_000_000).min(999);
    Some(Duration::from_millis(
        (u64::from(minutes) * 60_000).saturating_sub(into),
    ))
}

/// A closed window is re-checked at least this often, so a wall-clock jump (DST, NTP, a suspended
/// machine) delays a delivery by at most this much.
pub(crate) const MAX_WINDOW_SLEEP: Duration = Duration::from_secs(60);

/// The pause before a failed delivery's next attempt: 10 s after the first failure, doubling,
/// at most an hour.
const RETRY: Backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(3600));

/// Environment variable that sets the first backoff pause in milliseconds. A testing knob: the
/// integration tests use it to see retries within seconds instead of minutes.
pub(crate) const BACKOFF_ENV: &str = "LIVEREC_HOOK_BACKOFF_MS";

/// The retry schedule of deliveries, starting at `LIVEREC_HOOK_BACKOFF_MS` when it is set.
pub(crate) fn retry_backoff() -> Backoff {
    let mut b = RETRY;
    if let Some(ms) = std::env::var(BACKOFF_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        b.base = Duration::from_millis(ms.max(1));
        b.cap = b.cap.max(b.base);
    }
    b
}

#[cfg(test)]
mod tests;
