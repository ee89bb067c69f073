//! Time a task spent waiting for its platform's request budget, so that the caller's timeout
//! can leave it out: a poll queued behind a hundred others is waiting its turn, not slow.
//!
//! The caller wraps its future in [`timeout_active`]; the limiter marks the stretches it makes
//! the task wait with [`waiting`]. Outside such a scope, marking is a no-op.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static METER: Meter;
}

#[derive(Debug, Default)]
struct State {
    /// Waits that ended.
    waited: Duration,
    /// Since when the task is waiting, and how many marks are open (nested waits count once).
    since: Option<Instant>,
    open: u32,
}

/// Shared between the timeout and the waits it excludes.
#[derive(Debug, Clone, Default)]
struct Meter(Arc<Mutex<State>>);

impl Meter {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything waited so far, including a wait still going on at `now`.
    fn waited(&self, now: Instant) -> Duration {
        let s = self.state();
        s.waited
            + s.since
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
    }
}

/// Marks the current task as waiting for its turn until the guard is dropped.
pub struct Waiting(Option<Meter>);

impl Drop for Waiting {
    fn drop(&mut self) {
        let Some(m) = &self.0 else { return };
        let mut s = m.state();
        s.open = s.open.saturating_sub(1);
        if s.open == 0 {
            if let Some(t) = s.since.take() {
                s.waited += Instant::now().saturating_duration_since(t);
            }
        }
    }
}

/// Starts a wait that a surrounding [`timeout_active`] does not count.
pub fn waiting() -> Waiting {
    let meter = METER.try_with(Meter::clone).ok();
    if let Some(m) = &meter {
        let mut s = m.state();
        if s.open == 0 {
            s.since = Some(Instant::now());
        }
        s.open += 1;
    }
    Waiting(meter)
}

/// Awaits `f` as a wait for a turn: for a lock held by a task that may itself be waiting for
/// the budget (a shared token being refreshed).
pub async fn queued<F: Future>(f: F) -> F::Output {
    let _w = waiting();
    f.await
}

/// Runs `f` for at most `limit` of its own time: stretches it spent waiting for a request
/// budget (marked with [`waiting`]) do not count. `None` when the limit was reached.
pub async fn timeout_active<F: Future>(limit: Duration, f: F) -> Option<F::Output> {
    let meter = Meter::default();
    let start = Instant::now();
    let fut = METER.scope(meter.clone(), f);
    tokio::pin!(fut);
    loop {
        let now = Instant::now();
        let active = now
            .saturating_duration_since(start)
            .saturating_sub(meter.waited(now));
        if active >= limit {
            return None;
        }
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep(limit - active) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_turn_does_not_count() {
        // 100 s of waiting and 20 s of work fit in a 30 s limit.
        let out = timeout_active(s(30), async {
            {
                let _w = waiting();
                tokio::time::sleep(s(100)).await;
            }
            tokio::time::sleep(s(20)).await;
            7
        })
        .await;
        assert_eq!(out, Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn work_beyond_the_limit_times_out() {
        let t0 = Instant::now();
        let out = timeout_active(s(30), async {
            {
                let _w = waiting();
                let _nested = waiting();
                tokio::time::sleep(s(50)).await;
            }
            tokio::time::sleep(s(3600)).await;
        })
        .await;
        assert_eq!(out, None);
        assert_eq!(t0.elapsed(), s(80), "50 s waited + 30 s of work");
    }

    #[tokio::test(start_paused = true)]
    async fn marks_outside_a_scope_do_nothing() {
        let _w = waiting();
        tokio::time::sleep(s(1)).await;
    }
}
