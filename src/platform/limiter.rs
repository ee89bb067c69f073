//! One per platform: a request budget, so that a hundred rooms polling on the same schedule do
//! not burst, and a shared risk-control backoff, because a block (Bilibili HTTP 412, -352;
//! Douyin's empty answers) is per IP, not per room.
//!
//! - **Budget**: a token bucket of [`Budget::burst`] requests refilled at
//!   [`Budget::per_second`]. A request beyond it waits for its turn instead of bursting; one
//!   that would wait longer than [`MAX_QUEUE_WAIT`] fails at once (the caller's poll would time
//!   out anyway, and the next poll will find room).
//! - **Backoff**: on a block signal every request of the platform is paused for
//!   [`BACKOFF_BASE`] (or the server's `Retry-After`, when it sends one), doubling on each block
//!   in a row up to [`BACKOFF_CAP`]. While paused, calls fail at once with
//!   [`PlatformError::Blocked`] (an *unknown* status, which never ends a recording) and no request
//!   is sent. When the pause is over one request goes first; only when it is answered normally
//!   does the backoff lift and everybody else proceed. One WARN line when a backoff starts or
//!   extends (what happened and when polling resumes), one INFO line when it lifts.
//!
//! The decisions are made by [`Gate`], which is pure (it is given the time), so they are tested
//! without sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::PlatformError;

/// First pause after a block signal, when the server does not say how long to wait.
pub const BACKOFF_BASE: Duration = Duration::from_secs(60);
/// Longest pause, however many blocks in a row.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30 * 60);
/// Shortest pause, whatever `Retry-After` says.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// A request that would wait longer than this for its turn fails instead.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(20);

/// A platform's request budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub per_second: f64,
    pub burst: u32,
}

impl Budget {
    /// A few requests per second, at most four at once.
    pub const DEFAULT: Budget = Budget {
        per_second: 4.0,
        burst: 4,
    };

    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second.max(0.01))
    }
}

/// What [`Gate::admit`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Admit {
    /// Go now (after waiting this long for the budget).
    Go { wait: Duration, probe: bool },
    /// Paused by a backoff: fail without a request.
    Paused { until: Instant, reason: String },
    /// The budget queue is too long.
    Busy { wait: Duration },
}

/// What [`Gate::block`] did, for the log.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockOutcome {
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
pub struct Gate {
    budget: Budget,
    /// GCRA "theoretical arrival time": when the bucket would be full again.
    tat: Option<Instant>,
    /// Blocks in a row, reset by a normal answer.
    strikes: u32,
    paused_until: Option<Instant>,
    reason: String,
    /// After a pause, one request at a time finds out whether the block has lifted.
    probing: bool,
    /// The end of the pause as a wall-clock time for messages, set by [`Limiter`].
    until_text: String,
}

impl Gate {
    pub fn new(budget: Budget) -> Self {
        Self {
            budget,
            tat: None,
            strikes: 0,
            paused_until: None,
            reason: String::new(),
            probing: false,
            until_text: String::new(),
        }
    }

    pub fn is_backing_off(&self) -> bool {
        self.strikes > 0
    }

    /// May a request go at `now`, and after how long a wait?
    pub fn admit(&mut self, now: Instant) -> Admit {
        if let Some(until) = self.paused_until {
            if now < until {
                return Admit::Paused {
                    until,
                    reason: self.reason.clone(),
                };
            }
        }
        let mut probe = false;
        if self.strikes > 0 {
            if self.probing {
                // Someone is finding out whether the block has lifted; wait for the verdict.
                return Admit::Paused {
                    until: self.paused_until.unwrap_or(now),
                    reason: self.reason.clone(),
                };
            }
            probe = true;
        }
        let interval = self.budget.interval();
        let tolerance = interval * self.budget.burst.max(1);
        let tat = self.tat.map_or(now, |t| t.max(now));
        // The request may go once the bucket holds a token: at tat - (burst - 1) intervals.
        let allowed_at = (tat + interval).checked_sub(tolerance).unwrap_or(now);
        let wait = allowed_at.saturating_duration_since(now);
        if wait > MAX_QUEUE_WAIT {
            return Admit::Busy { wait };
        }
        self.tat = Some(tat + interval);
        if probe {
            self.probing = true;
        }
        Admit::Go { wait, probe }
    }

    /// A normal answer. Returns true when this lifted a backoff.
    pub fn success(&mut self) -> bool {
        self.probing = false;
        let lifted = self.strikes > 0;
        self.strikes = 0;
        self.paused_until = None;
        lifted
    }

    /// A request that ended without a verdict on the block (network error, bad JSON).
    pub fn inconclusive(&mut self, was_probe: bool) {
        if was_probe {
            self.probing = false;
        }
    }

    /// A block signal at `now`; `retry_after` when the server said how long to wait.
    pub fn block(
        &mut self,
        now: Instant,
        reason: &str,
        retry_after: Option<Duration>,
    ) -> BlockOutcome {
        self.probing = false;
        if self.paused_until.is_some_and(|u| now < u) {
            return BlockOutcome::AlreadyPaused;
        }
        self.strikes = self.strikes.saturating_add(1);
        let base = retry_after
            .map(|d| d.clamp(BACKOFF_MIN, BACKOFF_CAP))
            .unwrap_or(BACKOFF_BASE);
        let pause = base
            .saturating_mul(1u32 << (self.strikes - 1).min(16))
            .min(BACKOFF_CAP);
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
pub struct Limiter {
    platform: &'static str,
    gate: Arc<Mutex<Gate>>,
}

/// Permission to send one request; report how it went with [`Permit::ok`] or
/// [`Permit::blocked`]. Dropping it without a verdict counts as inconclusive.
#[derive(Debug)]
pub struct Permit {
    limiter: Limiter,
    probe: bool,
    done: bool,
}

impl Permit {
    /// The server answered normally (whatever the answer said about the room).
    pub fn ok(mut self) {
        self.done = true;
        if self.limiter.lock().success() {
            tracing::info!(
                "{}: the API answers normally again; the risk-control backoff is lifted",
                self.limiter.platform
            );
        }
    }

    /// The answer was a block signal: pause the whole platform. Returns the error to hand on.
    pub fn blocked(mut self, what: &str, retry_after: Option<Duration>) -> PlatformError {
        self.done = true;
        self.limiter.block(what, retry_after)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.lock().inconclusive(self.probe);
        }
    }
}

/// The wall-clock time of day `d` from now, for log lines (`21:04:05`).
pub fn clock_in(d: Duration) -> String {
    let at = chrono::Local::now() + chrono::Duration::from_std(d).unwrap_or_default();
    at.format("%H:%M:%S").to_string()
}

/// The error of a call refused during a backoff. Its text stays the same for the whole pause,
/// so a room logs it once, not at every poll.
fn paused_error(until_text: &str, reason: &str) -> PlatformError {
    PlatformError::Blocked(format!("{reason}; backing off until {until_text}"))
}

impl Limiter {
    pub fn new(platform: &'static str, budget: Budget) -> Self {
        Self {
            platform,
            gate: Arc::new(Mutex::new(Gate::new(budget))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        // A panic while holding this lock cannot leave the gate inconsistent in a harmful way.
        self.gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the budget, or fails at once while the platform is backing off.
    pub async fn acquire(&self) -> Result<Permit, PlatformError> {
        let (admit, until_text) = {
            let mut gate = self.lock();
            (gate.admit(Instant::now()), gate.until_text.clone())
        };
        match admit {
            Admit::Paused { reason, .. } => Err(paused_error(&until_text, &reason)),
            Admit::Busy { wait } => Err(PlatformError::Network(format!(
                "{} request budget exhausted: the next free slot is {}s away; skipping this call",
                self.platform,
                wait.as_secs()
            ))),
            Admit::Go { wait, probe } => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                let permit = Permit {
                    limiter: self.clone(),
                    probe,
                    done: false,
                };
                // A block may have started while this request waited for its turn.
                let gate = self.lock();
                if gate.paused_until.is_some_and(|u| Instant::now() < u) {
                    return Err(paused_error(&gate.until_text, &gate.reason));
                }
                drop(gate);
                Ok(permit)
            }
        }
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
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_budget_lets_a_burst_through_then_spaces_requests() {
        let mut g = Gate::new(Budget {
            per_second: 4.0,
            burst: 4,
        });
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..8)
            .map(|_| match g.admit(t0) {
                Admit::Go { wait, .. } => wait,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            waits,
            [0, 0, 0, 0, 250, 500, 750, 1000].map(ms),
            "four at once, then one every 250 ms"
        );
        // After a quiet second the bucket is full again... minus what was queued.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            g.admit(later),
            Admit::Go {
                wait: ms(0),
                probe: false
            }
        );
    }

    #[test]
    fn a_hundred_rooms_at_once_are_spread_and_the_tail_is_refused() {
        let mut g = Gate::new(Budget::DEFAULT);
        let t0 = Instant::now();
        let mut last = Duration::ZERO;
        let mut busy = 0;
        for _ in 0..100 {
            match g.admit(t0) {
                Admit::Go { wait, .. } => {
                    assert!(wait >= last);
                    last = wait;
                }
                Admit::Busy { wait } => {
                    assert!(wait > MAX_QUEUE_WAIT);
                    busy += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(last <= MAX_QUEUE_WAIT);
        assert!(last >= Duration::from_secs(19), "{last:?}");
        assert_eq!(busy, 100 - 84);
    }

    #[test]
    fn a_block_pauses_everything_doubles_and_is_capped() {
        let mut g = Gate::new(Budget {
            per_second: 1000.0,
            burst: 1000,
        });
        let mut now = Instant::now();
        let mut pauses = Vec::new();
        for _ in 0..8 {
            let BlockOutcome::Paused { pause, until, .. } = g.block(now, "HTTP 412", None) else {
                panic!()
            };
            pauses.push(pause.as_secs());
            // Every call while paused fails without a request.
            assert!(matches!(g.admit(now + ms(1)), Admit::Paused { .. }));
            assert!(matches!(g.admit(until - ms(1)), Admit::Paused { .. }));
            now = until;
            // The pause is over: one probe goes, the others wait for its verdict.
            assert_eq!(
                g.admit(now),
                Admit::Go {
                    wait: ms(0),
                    probe: true
                }
            );
            assert!(matches!(g.admit(now), Admit::Paused { .. }));
        }
        assert_eq!(pauses, [60, 120, 240, 480, 960, 1800, 1800, 1800]);
        // The probe is answered normally: the backoff lifts, everybody goes.
        assert!(g.success());
        assert!(!g.is_backing_off());
        assert_eq!(
            g.admit(now),
            Admit::Go {
                wait: ms(0),
                probe: false
            }
        );
        assert_eq!(
            g.admit(now),
            Admit::Go {
                wait: ms(0),
                probe: false
            }
        );
        // The next block starts from the base again.
        let BlockOutcome::Paused { pause, .. } = g.block(now, "HTTP 412", None) else {
            panic!()
        };
        assert_eq!(pause.as_secs(), 60);
    }

    #[test]
    fn blocks_seen_by_requests_already_in_flight_do_not_double_the_pause() {
        let mut g = Gate::new(Budget::DEFAULT);
        let now = Instant::now();
        assert!(matches!(
            g.block(now, "HTTP 412", None),
            BlockOutcome::Paused { strikes: 1, .. }
        ));
        for _ in 0..5 {
            assert_eq!(
                g.block(now + ms(10), "HTTP 412", None),
                BlockOutcome::AlreadyPaused
            );
        }
        let BlockOutcome::Paused { pause, strikes, .. } =
            g.block(now + Duration::from_secs(61), "HTTP 412", None)
        else {
            panic!()
        };
        assert_eq!((pause.as_secs(), strikes), (120, 2));
    }

    #[test]
    fn retry_after_sets_the_base_within_bounds() {
        let mut g = Gate::new(Budget::DEFAULT);
        let now = Instant::now();
        let p = |o: BlockOutcome| match o {
            BlockOutcome::Paused { pause, .. } => pause,
            o => panic!("{o:?}"),
        };
        assert_eq!(p(g.block(now, "x", Some(ms(2000)))), ms(2000));
        assert_eq!(p(g.block(now + ms(2000), "x", Some(ms(2000)))), ms(4000));
        g.success();
        assert_eq!(p(g.block(now, "x", Some(ms(1)))), BACKOFF_MIN);
        g.success();
        assert_eq!(
            p(g.block(now, "x", Some(Duration::from_secs(99_999)))),
            BACKOFF_CAP
        );
    }

    #[test]
    fn an_inconclusive_probe_lets_the_next_one_try() {
        let mut g = Gate::new(Budget::DEFAULT);
        let now = Instant::now();
        let BlockOutcome::Paused { until, .. } = g.block(now, "x", None) else {
            panic!()
        };
        assert!(matches!(g.admit(until), Admit::Go { probe: true, .. }));
        assert!(matches!(g.admit(until), Admit::Paused { .. }));
        g.inconclusive(true);
        assert!(matches!(g.admit(until), Admit::Go { probe: true, .. }));
    }

    #[tokio::test]
    async fn the_limiter_fails_fast_while_paused() {
        let l = Limiter::new("test", Budget::DEFAULT);
        let p = l.acquire().await.unwrap();
        let err = p.blocked("HTTP 412 from the API", None);
        let PlatformError::Blocked(text) = &err else {
            panic!("{err:?}")
        };
        assert!(
            text.contains("HTTP 412") && text.contains("backing off until"),
            "{text}"
        );
        let started = std::time::Instant::now();
        let again = l.acquire().await.unwrap_err();
        assert!(matches!(again, PlatformError::Blocked(_)));
        assert!(started.elapsed() < ms(50));
    }
}
