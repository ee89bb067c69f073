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
mod tests {
    use super::*;

    fn t(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).unwrap()
    }

    fn w(s: &str) -> Window {
        Window::parse(s).unwrap()
    }

    fn mins(d: Option<Duration>) -> Option<f64> {
        d.map(|d| d.as_secs_f64() / 60.0)
    }

    #[test]
    fn inside_the_window_is_open_now() {
        let night = w("02:00-07:00");
        assert_eq!(until_open(&night, t(2, 0, 0)), None);
        assert_eq!(until_open(&night, t(4, 30, 12)), None);
        assert_eq!(until_open(&night, t(6, 59, 59)), None);
    }

    #[test]
    fn before_and_after_the_window_wait_for_the_next_opening() {
        let night = w("02:00-07:00");
        assert_eq!(mins(until_open(&night, t(1, 0, 0))), Some(60.0));
        assert_eq!(mins(until_open(&night, t(1, 59, 30))), Some(0.5));
        // The end is exclusive: at 07:00 the next opening is tomorrow's 02:00.
        assert_eq!(mins(until_open(&night, t(7, 0, 0))), Some(19.0 * 60.0));
        assert_eq!(mins(until_open(&night, t(23, 0, 0))), Some(3.0 * 60.0));
        assert_eq!(mins(until_open(&night, t(0, 0, 0))), Some(2.0 * 60.0));
    }

    #[test]
    fn windows_across_midnight() {
        let late = w("22:00-02:00");
        assert_eq!(until_open(&late, t(22, 0, 0)), None);
        assert_eq!(until_open(&late, t(23, 59, 59)), None);
        assert_eq!(until_open(&late, t(0, 0, 0)), None);
        assert_eq!(until_open(&late, t(1, 59, 0)), None);
        assert_eq!(mins(until_open(&late, t(2, 0, 0))), Some(20.0 * 60.0));
        assert_eq!(mins(until_open(&late, t(21, 0, 0))), Some(60.0));
        assert_eq!(mins(until_open(&late, t(21, 59, 45))), Some(0.25));
    }

    #[test]
    fn a_fake_clock_walking_through_a_day_agrees_with_contains() {
        // Every minute of a day: closed minutes wait exactly until the start, open ones not at all.
        for window in [w("02:00-07:00"), w("23:30-00:30"), w("00:00-00:01")] {
            for minute in 0..24 * 60u32 {
                let now = t(minute / 60, minute % 60, 0);
                let wait = until_open(&window, now);
                assert_eq!(
                    wait.is_none(),
                    window.contains(minute as u16),
                    "{window} {now}"
                );
                if let Some(wait) = wait {
                    let opens = (minute + (wait.as_secs() / 60) as u32) % (24 * 60);
                    assert_eq!(opens, u32::from(window.start), "{window} {now}");
                    assert!(window.contains(opens as u16));
                }
            }
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=11).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(
            secs,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(b.delay(1000), Duration::from_secs(3600));
        let fast = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(3600),
        };
        assert_eq!(fast.delay(1), Duration::from_millis(100));
        assert_eq!(fast.delay(3), Duration::from_millis(400));
    }
}
