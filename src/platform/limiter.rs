//! One per platform: a request budget, so that a hundred rooms polling on the same schedule do
//! not burst, and a shared risk-control backoff, because a block (Bilibili HTTP 412, -352;
//! Douyin's empty answers) is per IP, not per room.
//!
//! - **Budget**: a token bucket of [`Budget::burst`] requests refilled at
//!   [`Budget::per_second`] (`[platforms.*] requests_per_second`, `burst`). A request beyond it
//!   waits for its turn, however long the queue: waiting is not failing. The wait is marked
//!   with [`meter::waiting`], so a caller's [`meter::timeout_active`] does not count it.
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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::PlatformConfig;
use super::{PlatformError, PlatformKind};
use crate::util::backoff::Backoff;

pub(crate) mod meter;

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

    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second.max(MIN_PER_SECOND))
    }
}

/// What [`Gate::admit`] decided.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Admit {
    /// Go after waiting this long for the budget; `probe` when this request finds out whether
    /// a backoff has lifted.
    Go { wait: Duration, probe: bool },
    /// Paused by a backoff: fail without a request.
    Paused { until: Instant, reason: String },
    /// Another request is finding out whether the backoff has lifted: wait for its verdict,
    /// until it is overdue (then ask again: this caller probes instead).
    AwaitVerdict { until: Instant },
}

/// What [`Gate::block`] did, for the log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BlockOutcome {
    /// A new or longer pause.
    Paused {
        pause: Duration,
        until: Instant,
        strikes: u32,
    },
    /// Already paused (another request in flight saw the same block).
    AlreadyPaused,
}

/// The pure state of a budget and a backoff.
#[derive(Debug)]
pub(crate) struct Gate {
    budget: Budget,
    /// GCRA "theoretical arrival time": when the bucket would be full again.
    tat: Option<Instant>,
    /// Blocks in a row, reset by a normal answer.
    strikes: u32,
    paused_until: Option<Instant>,
    reason: String,
    /// After a pause, one request at a time finds out whether the block has lifted: its ticket,
    /// and when its verdict is overdue.
    probing: Option<(u64, Instant)>,
    /// Tickets handed to probes, so that a lost probe's late "no verdict" does not free the
    /// probe that took over from it.
    tickets: u64,
    /// The end of the pause as a wall-clock time for messages, set by [`Limiter`].
    until_text: String,
}

impl Gate {
    pub(crate) fn new(budget: Budget) -> Self {
        Self {
            budget,
            tat: None,
            strikes: 0,
            paused_until: None,
            reason: String::new(),
            probing: None,
            tickets: 0,
            until_text: String::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_backing_off(&self) -> bool {
        self.strikes > 0
    }

    /// The end of the current pause, if one is running at `now`.
    pub(crate) fn resume_at(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|u| now < *u)
    }

    /// May a request go at `now`, and after how long a wait? Never refused for the budget:
    /// the wait is as long as the queue ahead.
    pub(crate) fn admit(&mut self, now: Instant) -> Admit {
        if let Some(until) = self.resume_at(now) {
            return Admit::Paused {
                until,
                reason: self.reason.clone(),
            };
        }
        let probe = self.strikes > 0;
        if let Some((_, until)) = self.probing.filter(|(_, due)| probe && now < *due) {
            return Admit::AwaitVerdict { until };
        }
        let interval = self.budget.interval();
        let tolerance = interval * self.budget.burst.max(1);
        let tat = self.tat.map_or(now, |t| t.max(now));
        // The request may go once the bucket holds a token: at tat - (burst - 1) intervals.
        let allowed_at = (tat + interval).checked_sub(tolerance).unwrap_or(now);
        let wait = allowed_at.saturating_duration_since(now);
        self.tat = Some(tat + interval);
        if probe {
            self.tickets += 1;
            self.probing = Some((self.tickets, now + wait + VERDICT_WAIT));
        }
        Admit::Go { wait, probe }
    }

    /// The ticket of the probe admitted last (for [`Gate::inconclusive`]).
    pub(crate) fn probe_ticket(&self) -> Option<u64> {
        self.probing.map(|(t, _)| t)
    }

    /// A probe is running and its verdict is overdue at `now`.
    pub(crate) fn probe_overdue(&self, now: Instant) -> bool {
        self.strikes > 0 && self.probing.is_some_and(|(_, due)| now >= due)
    }

    /// A turn handed out by [`Gate::admit`] that was not used (its caller gave up before its
    /// request was sent, or a backoff began meanwhile): the budget gets it back, so that the
    /// next caller takes its place instead of queueing behind it.
    pub(crate) fn refund(&mut self) {
        let interval = self.budget.interval();
        self.tat = self.tat.and_then(|t| t.checked_sub(interval));
    }

    /// A normal answer. Returns true when this lifted a backoff.
    pub(crate) fn success(&mut self) -> bool {
        self.probing = None;
        let lifted = self.strikes > 0;
        self.strikes = 0;
        self.paused_until = None;
        lifted
    }

    /// A request that ended without a verdict on the block (network error, bad JSON, dropped);
    /// `ticket` when it was a probe. The next caller probes, unless another probe already took
    /// over from this one.
    pub(crate) fn inconclusive(&mut self, ticket: Option<u64>) {
        if ticket.is_some() && self.probe_ticket() == ticket {
            self.probing = None;
        }
    }

    /// A block signal at `now`; `retry_after` when the server said how long to wait.
    pub(crate) fn block(
        &mut self,
        now: Instant,
        reason: &str,
        retry_after: Option<Duration>,
    ) -> BlockOutcome {
        self.probing = None;
        if self.resume_at(now).is_some() {
            return BlockOutcome::AlreadyPaused;
        }
        self.strikes = self.strikes.saturating_add(1);
        let base = retry_after
            .map(|d| d.clamp(BACKOFF_MIN, BACKOFF_CAP))
            .unwrap_or(BACKOFF_BASE);
        let pause = Backoff::new(base, BACKOFF_CAP).delay(self.strikes);
        let until = now + pause;
        self.paused_until = Some(until);
        self.reason = reason.to_string();
        BlockOutcome::Paused {
            pause,
            until,
            strikes: self.strikes,
        }
    }
}

/// A platform's shared limiter.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    platform: &'static str,
    gate: Arc<Mutex<Gate>>,
    /// Woken when a probe has its verdict.
    verdict: Arc<Notify>,
}

/// Permission to send one request; report how it went with [`Permit::ok`] or
/// [`Permit::blocked`]. Dropping it without a verdict counts as inconclusive.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Limiter,
    /// The probe's ticket, when this request finds out whether a backoff has lifted.
    probe: Option<u64>,
    done: bool,
    /// Still waiting for its turn: dropped now, the turn goes back to the budget.
    queued: bool,
}

impl Permit {
    /// The server answered normally (whatever the answer said about the room).
    pub(crate) fn ok(mut self) {
        self.done = true;
        let lifted = self.limiter.lock().success();
        self.limiter.verdict.notify_waiters();
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
        if self.queued {
            self.limiter.lock().refund();
        }
        if !self.done {
            self.limiter.lock().inconclusive(self.probe);
            if self.probe.is_some() {
                self.limiter.verdict.notify_waiters();
            }
        }
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

impl Limiter {
    pub(crate) fn new(platform: &'static str, budget: Budget) -> Self {
        Self {
            platform,
            gate: Arc::new(Mutex::new(Gate::new(budget))),
            verdict: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        // A panic while holding this lock cannot leave the gate inconsistent in a harmful way.
        self.gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When a running backoff ends (`None` when requests may go now): callers schedule their
    /// next try then, not a poll interval later.
    pub(crate) fn resume_at(&self) -> Option<std::time::Instant> {
        self.lock().resume_at(Instant::now()).map(Instant::into_std)
    }

    /// Waits for a slot in the budget (and, after a pause, for the probe's verdict), however
    /// long that takes; fails at once only while the platform is backing off. Never call it
    /// while holding a [`Permit`]: that one may be the probe whose verdict this call waits for.
    pub(crate) async fn acquire(&self) -> Result<Permit, PlatformError> {
        let _waiting = meter::waiting();
        loop {
            // Registered before the gate is asked, so a verdict given in between is not missed.
            let verdict = self.verdict.notified();
            let now = Instant::now();
            let (overdue, admit, ticket) = {
                let mut gate = self.lock();
                let overdue = gate.probe_overdue(now);
                let admit = gate.admit(now);
                (overdue, admit, gate.probe_ticket())
            };
            match admit {
                Admit::Paused { reason, .. } => {
                    let until_text = self.lock().until_text.clone();
                    return Err(paused_error(&until_text, &reason));
                }
                Admit::AwaitVerdict { until } => {
                    meter::allow(until.saturating_duration_since(now));
                    tokio::select! {
                        _ = verdict => {}
                        _ = tokio::time::sleep_until(until) => {}
                    }
                }
                Admit::Go { wait, probe } => {
                    if overdue {
                        tracing::warn!(
                            "{}: the request finding out whether the backoff has lifted gave no answer for {}s; another one asks",
                            self.platform,
                            VERDICT_WAIT.as_secs()
                        );
                    }
                    meter::allow(wait);
                    // Made before the wait, so that a caller giving up meanwhile frees the probe.
                    let mut permit = Permit {
                        limiter: self.clone(),
                        probe: if probe { ticket } else { None },
                        done: false,
                        queued: true,
                    };
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    // A block may have started while this request waited for its turn: then
                    // the turn goes back unused (dropping the permit).
                    let paused = {
                        let gate = self.lock();
                        gate.resume_at(Instant::now())
                            .is_some()
                            .then(|| paused_error(&gate.until_text, &gate.reason))
                    };
                    if let Some(err) = paused {
                        return Err(err);
                    }
                    permit.queued = false;
                    return Ok(permit);
                }
            }
        }
    }

    /// How long a wait that starts now for a lock held by a caller of [`Limiter::acquire`]
    /// (a shared token being refreshed) may legitimately take: the holder's turn comes before
    /// the end of the queue, its request and a second one follow. Told to the surrounding
    /// [`meter::timeout_active`] by [`Limiter::queued`].
    fn lock_wait_allowance(&self) -> Duration {
        let now = Instant::now();
        let gate = self.lock();
        let queue = gate
            .tat
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
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

    fn block(&self, what: &str, retry_after: Option<Duration>) -> PlatformError {
        let now = Instant::now();
        let mut gate = self.lock();
        let outcome = gate.block(now, what, retry_after);
        if let BlockOutcome::Paused { pause, .. } = &outcome {
            crate::metrics::count(
                "liverec_backoffs_total",
                "Platform-wide risk-control backoffs started.",
                &[("platform", self.platform)],
                1,
            );
            gate.until_text = clock_in(*pause);
        }
        let until_text = gate.until_text.clone();
        let reason = gate.reason.clone();
        drop(gate);
        // Callers waiting for a probe's verdict learn of the new pause and fail at once.
        self.verdict.notify_waiters();
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
