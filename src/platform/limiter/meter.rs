//! Time a task spent waiting for its platform's request budget, so that the caller's timeout
//! can leave it out: a poll queued behind a hundred others is waiting its turn, not slow.
//!
//! The caller wraps its future in [`timeout_active`]; the limiter marks the stretches it makes
//! the task wait with [`waiting`], and says with [`allow`] how long each may legitimately last
//! (a turn in the budget is known when it is given; a probe's verdict is overdue after
//! [`super::VERDICT_WAIT`]). Those announced waits bound the whole call too: a call that waits
//! far longer than it was told it would is cut, so that no bug can make a poll hang forever.
//! Outside such a scope, marking is a no-op.

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
    /// What the waits were announced to last, in all ([`allow`]).
    allowed: Duration,
}

/// Shared between the timeout and the waits it excludes.
#[derive(Debug, Clone, Default)]
struct Meter(Arc<Mutex<State>>);

impl Meter {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn allowed(&self) -> Duration {
        self.state().allowed
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
pub(crate) struct Waiting(Option<Meter>);

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
pub(crate) fn waiting() -> Waiting {
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

/// Says that a wait of the current task may legitimately last `d` (its turn in the budget, a
/// probe's verdict): a surrounding [`timeout_active`] allows the whole call that much longer.
pub(crate) fn allow(d: Duration) {
    let _ = METER.try_with(|m| {
        let mut s = m.state();
        s.allowed = s.allowed.saturating_add(d);
    });
}

/// Awaits `f` as a wait for a turn: for a lock held by a task that may itself be waiting for
/// the budget (a shared token being refreshed). Use [`super::Limiter::queued`], which also
/// announces how long such a wait may last.
pub(super) async fn queued<F: Future>(f: F) -> F::Output {
    let _w = waiting();
    f.await
}

/// Why [`timeout_active`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overrun {
    /// `limit` of the call's own time passed (waits for the budget not counted).
    Active(Duration),
    /// The call took this long in all, far longer than its work and the waits it was told of:
    /// something it waited for never came.
    Total(Duration),
}

impl std::fmt::Display for Overrun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Overrun::Active(limit) => write!(
                f,
                "timed out ({}s, not counting the wait for the request budget)",
                limit.as_secs()
            ),
            Overrun::Total(took) => write!(
                f,
                "gave up after {}s in all, far longer than its turns in the request budget explain",
                took.as_secs()
            ),
        }
    }
}

/// The longest a call may take in all: twice its own limit and twice the waits it was told
/// of. A safety net for waits that never end (a verdict nobody gives), not a pace.
fn total_cap(limit: Duration, allowed: Duration) -> Duration {
    limit
        .saturating_mul(2)
        .saturating_add(allowed.saturating_mul(2))
}

/// Runs `f` for at most `limit` of its own time: stretches it spent waiting for a request
/// budget (marked with [`waiting`]) do not count, as long as they stay within what the limiter
/// announced for them ([`allow`]; see [`total_cap`]).
pub(crate) async fn timeout_active<F: Future>(limit: Duration, f: F) -> Result<F::Output, Overrun> {
    let meter = Meter::default();
    let start = Instant::now();
    let fut = METER.scope(meter.clone(), f);
    tokio::pin!(fut);
    loop {
        let now = Instant::now();
        let took = now.saturating_duration_since(start);
        let active = took.saturating_sub(meter.waited(now));
        if active >= limit {
            return Err(Overrun::Active(limit));
        }
        let cap = total_cap(limit, meter.allowed());
        if took >= cap {
            return Err(Overrun::Total(took));
        }
        // Whichever may come first; an announced wait moves the cap, so look again then.
        let next = (limit - active).min(cap - took);
        tokio::select! {
            out = &mut fut => return Ok(out),
            _ = tokio::time::sleep(next) => {}
        }
    }
}

#[cfg(test)]
mod tests;
