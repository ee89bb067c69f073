//! One per platform: a request budget, so that a hundred rooms polling on the same schedule do
//! not burst, and a shared risk-control backoff, because a block (Bilibili HTTP 412, -352;
//! Douyin's empty answers) is per IP, not per room.
//!
//! - **Budget**: a token bucket of [`Budget::burst`] requests refilled at
//!   [`Budget::per_second`] (`[platforms.*] requests_per_second`, `burst`). A request beyond it
//!   waits for its turn, however long the queue: waiting is not failing. The wait is marked
//!   with [`meter::waiting`], so a caller's [`meter::timeout_active`] does not count it.
//! - **Lanes**: requests queue for the budget in two lanes. A live room's own calls (its
//!   status checks and stream lookups, run [`in_lane`] [`Lane::Live`]) go before idle polls,
//!   so a room found live is recorded at once however many polls are queued; within a lane,
//!   first come, first served.
//! - **Backoff**: on a block signal every request of the platform is paused for
//!   [`BACKOFF_BASE`] (or the server's `Retry-After`, when it sends one), doubling on each block
//!   in a row up to [`BACKOFF_CAP`]. While paused, calls fail at once with
//!   [`PlatformError::Blocked`] (an *unknown* status, which never ends a recording that flows)
//!   and no request is sent; [`Limiter::resume_at`] says when to ask again. When the pause is
//!   over one request goes first (the probe); the others wait for its verdict: a normal answer
//!   lifts the backoff and lets them all through the budget, a new block fails them at once
//!   with the new pause, an inconclusive answer lets the next one probe. A probe whose verdict
//!   is [`VERDICT_WAIT`] overdue is taken for lost and the next caller probes instead, so no
//!   caller waits forever for a verdict that will not come. One WARN line when a backoff
//!   starts or extends (what happened and when polling resumes), one INFO line when it lifts.
//! - **Rule for callers**: never ask for a permit while holding one. A held permit may be the
//!   probe, and the second request would wait for the verdict the first one has to give.
//!
//! The decisions are made by [`Gate`], which is pure (it is given the time), so they are tested
//! without sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::PlatformConfig;
use super::{PlatformError, PlatformKind};

mod gate;
pub(crate) mod meter;

pub(crate) use gate::Lane;
use gate::{BlockOutcome, Gate, Ticket, Turn};

/// First pause after a block signal, when the server does not say how long to wait.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_secs(60);
/// Longest pause, however many blocks in a row.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(30 * 60);
/// Shortest pause, whatever `Retry-After` says.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Bounds of `requests_per_second` and `burst`, checked when the config loads.
pub(crate) const MAX_PER_SECOND: f64 = 1000.0;
pub(crate) const MIN_PER_SECOND: f64 = 0.01;
pub(crate) const MAX_BURST: u32 = 1000;
/// How long after its turn a probe's verdict may take before the next caller probes instead:
/// a request gives up after [`super::web::API_TIMEOUT`], so a probe not heard of by then was
/// lost (its caller stuck or gone).
pub(crate) const VERDICT_WAIT: Duration = Duration::from_secs(30);
/// After a backoff, the callers it stopped ask again within this much of its end, not all at
/// once.
pub(crate) const RESUME_JITTER: Duration = Duration::from_millis(500);

/// A platform's request budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Budget {
    pub(crate) per_second: f64,
    pub(crate) burst: u32,
}

impl Budget {
    /// A few requests per second, at most four at once (Bilibili's default).
    pub(crate) const DEFAULT: Budget = Budget {
        per_second: 4.0,
        burst: 4,
    };
    /// Douyin blocks sooner: peers advise one request a second, one or two at once.
    pub(crate) const DOUYIN: Budget = Budget {
        per_second: 1.0,
        burst: 2,
    };

    pub(crate) fn default_for(kind: PlatformKind) -> Budget {
        match kind {
            PlatformKind::Douyin => Self::DOUYIN,
            PlatformKind::Bilibili | PlatformKind::Direct => Self::DEFAULT,
        }
    }

    /// The platform's default with the configured `requests_per_second` and `burst` over it.
    pub(crate) fn configured(kind: PlatformKind, cfg: &PlatformConfig) -> Budget {
        let d = Self::default_for(kind);
        Budget {
            per_second: cfg.requests_per_second.unwrap_or(d.per_second),
            burst: cfg.burst.unwrap_or(d.burst),
        }
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second.max(MIN_PER_SECOND))
    }
}

/// What the limiter's lock guards: the pure gate, and how to wake each waiting request.
#[derive(Debug)]
struct Shared {
    gate: Gate,
    /// The waiting requests' wake-ups, by ticket. Only the head of the queue is woken when
    /// the queue moves (every waiter when a block starts), so a long queue costs nothing
    /// while it waits.
    wakers: HashMap<u64, Arc<Notify>>,
}

impl Shared {
    fn wake_head(&self) {
        if let Some(w) = self.gate.head().and_then(|t| self.wakers.get(&t.seq())) {
            w.notify_one();
        }
    }

    fn wake_all(&self) {
        for w in self.wakers.values() {
            w.notify_one();
        }
    }
}

/// A platform's shared limiter.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    platform: &'static str,
    shared: Arc<Mutex<Shared>>,
}

/// Permission to send one request; report how it went with [`Permit::ok`] or
/// [`Permit::blocked`]. Dropping it without a verdict counts as inconclusive.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Limiter,
    /// The probe's ticket, when this request finds out whether a backoff has lifted.
    probe: Option<u64>,
    done: bool,
}

impl Permit {
    /// The server answered normally (whatever the answer said about the room).
    pub(crate) fn ok(mut self) {
        self.done = true;
        let lifted = {
            let mut s = self.limiter.lock();
            let lifted = s.gate.success();
            s.wake_head();
            lifted
        };
        if lifted {
            tracing::info!(
                "{}: the API answers normally again; the risk-control backoff is lifted",
                self.limiter.platform
            );
        }
    }

    /// The answer was a block signal: pause the whole platform. Returns the error to hand on.
    pub(crate) fn blocked(mut self, what: &str, retry_after: Option<Duration>) -> PlatformError {
        self.done = true;
        self.limiter.block(what, retry_after)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            let mut s = self.limiter.lock();
            s.gate.inconclusive(self.probe);
            if self.probe.is_some() {
                s.wake_head();
            }
        }
    }
}

/// A request's place in the queue while it waits: leaving (the caller gave up) frees it for
/// the next one.
struct Place<'a> {
    limiter: &'a Limiter,
    ticket: Ticket,
    left: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut s = self.limiter.lock();
        s.wakers.remove(&self.ticket.seq());
        if !self.left {
            s.gate.leave(self.ticket);
        }
        s.wake_head();
    }
}

/// The wall-clock time of day `d` from now, for log lines (`21:04:05`).
pub(crate) fn clock_in(d: Duration) -> String {
    let at = chrono::Local::now() + chrono::Duration::from_std(d).unwrap_or_default();
    at.format("%H:%M:%S").to_string()
}

/// The error of a call refused during a backoff. Its text stays the same for the whole pause,
/// so a room logs it once, not at every poll.
fn paused_error(until_text: &str, reason: &str) -> PlatformError {
    PlatformError::Blocked(format!("{reason}; backing off until {until_text}"))
}

tokio::task_local! {
    static LANE: Lane;
}

/// Runs `f` with every request it makes in `lane` (a live room's status check and stream
/// lookup go in [`Lane::Live`]). Outside such a scope requests are [`Lane::Idle`].
pub(crate) async fn in_lane<F: std::future::Future>(lane: Lane, f: F) -> F::Output {
    LANE.scope(lane, f).await
}

/// The lane of the requests the current task makes.
pub(crate) fn current_lane() -> Lane {
    LANE.try_with(|l| *l).unwrap_or(Lane::Idle)
}

impl Limiter {
    pub(crate) fn new(platform: &'static str, budget: Budget) -> Self {
        Self {
            platform,
            shared: Arc::new(Mutex::new(Shared {
                gate: Gate::new(budget),
                wakers: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A panic while holding this lock cannot leave the gate inconsistent in a harmful way.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When a running backoff ends (`None` when requests may go now): callers schedule their
    /// next try then, not a poll interval later.
    pub(crate) fn resume_at(&self) -> Option<std::time::Instant> {
        self.lock()
            .gate
            .resume_at(Instant::now())
            .map(Instant::into_std)
    }

    /// Waits for a turn in the budget (first in the queue of its [`current_lane`], then a
    /// token; after a pause, the probe's verdict), however long that takes; fails at once only
    /// while the platform is backing off. Never call it while holding a [`Permit`]: that one
    /// may be the probe whose verdict this call waits for.
    pub(crate) async fn acquire(&self) -> Result<Permit, PlatformError> {
        let _waiting = meter::waiting();
        let wake = Arc::new(Notify::new());
        let (ticket, ahead, interval, mut counted) = {
            let mut s = self.lock();
            let (ticket, ahead) = s.gate.enqueue(current_lane());
            s.wakers.insert(ticket.seq(), wake.clone());
            (ticket, ahead, s.gate.interval(), s.gate.granted())
        };
        // Its turn comes after those ahead; requests with priority that arrive later are
        // announced as they go (below).
        meter::allow(interval.saturating_mul(ahead as u32 + 1));
        let mut place = Place {
            limiter: self,
            ticket,
            left: false,
        };
        loop {
            let now = Instant::now();
            let (overdue, turn, granted, until_text) = {
                let mut s = self.lock();
                let overdue = s.gate.probe_overdue(now);
                let turn = s.gate.turn(ticket, now);
                (overdue, turn, s.gate.granted(), s.gate.until_text.clone())
            };
            // Every request let through meanwhile was a legitimate share of this wait.
            meter::allow(interval.saturating_mul(granted.saturating_sub(counted) as u32));
            counted = granted;
            match turn {
                Turn::Paused { reason, .. } => {
                    place.left = true;
                    return Err(paused_error(&until_text, &reason));
                }
                Turn::Go { probe } => {
                    place.left = true;
                    if overdue && probe {
                        tracing::warn!(
                            "{}: the request finding out whether the backoff has lifted gave no answer for {}s; another one asks",
                            self.platform,
                            VERDICT_WAIT.as_secs()
                        );
                    }
                    let probe = if probe {
                        self.lock().gate.probe_ticket()
                    } else {
                        None
                    };
                    return Ok(Permit {
                        limiter: self.clone(),
                        probe,
                        done: false,
                    });
                }
                Turn::At(at) => {
                    meter::allow(at.saturating_duration_since(now));
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = wake.notified() => {}
                    }
                }
                Turn::AwaitVerdict { until } => {
                    meter::allow(until.saturating_duration_since(now));
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = wake.notified() => {}
                    }
                }
                Turn::Behind => wake.notified().await,
            }
        }
    }

    /// How long a wait that starts now for a lock held by a caller of [`Limiter::acquire`]
    /// (a shared token being refreshed, a batch being asked) may legitimately take: the
    /// holder's turn comes before the end of the queue, its request and a second one follow.
    /// Told to the surrounding [`meter::timeout_active`] by [`Limiter::queued`].
    fn lock_wait_allowance(&self) -> Duration {
        let now = Instant::now();
        let s = self.lock();
        let queue = s.gate.busy_for(now)
            + s.gate
                .interval()
                .saturating_mul(u32::try_from(s.gate.queued()).unwrap_or(u32::MAX));
        2 * (queue + super::web::API_TIMEOUT) + VERDICT_WAIT
    }

    /// Awaits `f` (a lock held by a task that may itself be waiting for this budget) as a
    /// wait for a turn: a surrounding [`meter::timeout_active`] does not count it.
    pub(crate) async fn queued<F: std::future::Future>(&self, f: F) -> F::Output {
        meter::allow(self.lock_wait_allowance());
        meter::queued(f).await
    }

    /// A block signal seen without a permit in hand: the request that saw it gave its permit
    /// back before a second request (which failed without a verdict) could tell.
    pub(crate) fn blocked(&self, what: &str, retry_after: Option<Duration>) -> PlatformError {
        self.block(what, retry_after)
    }

    /// This instance's part of the platform's budget when several instances share it
    /// (`[cluster]`: weight over the members' total weight).
    pub(crate) fn set_share(&self, share: f64) {
        let mut s = self.lock();
        s.gate.set_share(share);
        // The head of the queue may go sooner (or later) now.
        s.wake_all();
    }

    /// A pause another cluster instance was told to take (`[cluster]`'s shared throttle):
    /// every request of this platform waits until `until` too.
    pub(crate) fn pause_until(&self, until: std::time::Instant, reason: &str) {
        let now = Instant::now();
        let mut s = self.lock();
        if !s.gate.pause_until(now, Instant::from_std(until), reason) {
            return;
        }
        s.gate.until_text = clock_in(until.saturating_duration_since(now.into_std()));
        let until_text = s.gate.until_text.clone();
        s.wake_all();
        drop(s);
        tracing::warn!(
            "{}: {reason}; pausing every {} request until {until_text}",
            self.platform,
            self.platform
        );
    }

    fn block(&self, what: &str, retry_after: Option<Duration>) -> PlatformError {
        let now = Instant::now();
        let mut s = self.lock();
        let outcome = s.gate.block(now, what, retry_after);
        if let BlockOutcome::Paused { pause, .. } = &outcome {
            crate::metrics::count(
                "liverec_backoffs_total",
                "Platform-wide risk-control backoffs started.",
                &[("platform", self.platform)],
                1,
            );
            s.gate.until_text = clock_in(*pause);
        }
        let until_text = s.gate.until_text.clone();
        let reason = s.gate.reason().to_string();
        // Every waiting request learns of the new pause and fails at once.
        s.wake_all();
        drop(s);
        match outcome {
            BlockOutcome::Paused { pause, strikes, .. } => {
                let nth = if strikes > 1 {
                    format!(" (block {strikes} in a row)")
                } else {
                    String::new()
                };
                tracing::warn!(
                    "{}: {what}: risk control or rate limit{nth}; pausing every {} request for {}s, polling resumes at {}",
                    self.platform,
                    self.platform,
                    pause.as_secs(),
                    until_text
                );
                paused_error(&until_text, what)
            }
            BlockOutcome::AlreadyPaused => paused_error(&until_text, &reason),
        }
    }
}

#[cfg(test)]
mod tests;
