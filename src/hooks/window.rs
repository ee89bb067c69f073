//! When a delivery may start: the hook's local-time window and the retry backoff. Pure functions
//! of the time they are given, so they are tested with a fake clock.

use std::time::Duration;

use chrono::{NaiveTime, Timelike};

use crate::config::Window;

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

/// The pause after failed attempts: `base`, then doubling, at most `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) base: Duration,
    pub(crate) cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(3600),
        }
    }
}

/// Environment variable that sets the first backoff pause in milliseconds. A testing knob: the
/// integration tests use it to see retries within seconds instead of minutes.
pub(crate) const BACKOFF_ENV: &str = "LIVEREC_HOOK_BACKOFF_MS";

impl Backoff {
    /// The default schedule, or one starting at `LIVEREC_HOOK_BACKOFF_MS` when it is set.
    pub(crate) fn from_env() -> Self {
        let mut b = Self::default();
        if let Some(ms) = std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            b.base = Duration::from_millis(ms.max(1));
            b.cap = b.cap.max(b.base);
        }
        b
    }

    /// The pause after the `failures`-th failed attempt in a row (1 = the first failure).
    pub(crate) fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.base
            .checked_mul(1 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

#[cfg(test)]
mod tests;
