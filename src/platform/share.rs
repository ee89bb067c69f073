//! A share of a platform's request budget for requests that must not crowd out the polls:
//! chat's tokens (`getDanmuInfo`). A thousand idle rooms with `live_push` ask for one each at
//! start-up and after every lost connection; through the budget alone they would queue ahead
//! of the polls that are the recordings' authority. Taking turns here first, one every
//! `1 / (requests_per_second x SHARE)`, they hold at most [`SHARE`] of the budget, whatever
//! their number, and a poll waits at most that much longer.
//!
//! Turns are handed out in the order they are asked for; the wait counts as waiting for the
//! budget (a caller's timeout leaves it out).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::limiter::{Budget, MIN_PER_SECOND, meter};

/// The part of the budget these requests may take.
pub(crate) const SHARE: f64 = 0.25;

#[derive(Debug)]
pub(crate) struct Share {
    /// When the next turn is free.
    next: Mutex<Option<Instant>>,
    every: Duration,
}

impl Share {
    pub(crate) fn of(budget: Budget) -> Self {
        let per_second = (budget.per_second * SHARE).max(MIN_PER_SECOND);
        Self {
            next: Mutex::new(None),
            every: Duration::from_secs_f64(1.0 / per_second),
        }
    }

    /// Reserves the next turn for a caller asking at `now`: the instant it may go.
    pub(crate) fn reserve(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let at = next.map_or(now, |t| t.max(now));
        *next = Some(at + self.every);
        at
    }

    /// Waits for the caller's turn.
    pub(crate) async fn turn(&self) {
        let at = self.reserve(Instant::now());
        if at > Instant::now() {
            let _waiting = meter::waiting();
            meter::allow(at - Instant::now());
            tokio::time::sleep_until(at).await;
        }
    }
}

#[cfg(test)]
mod tests;
