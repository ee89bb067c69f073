//! The pure state of a platform's limiter: the request budget, the queue of requests waiting
//! for it, and the risk-control backoff. It is given the time, so its decisions are tested
//! without sleeping; [`super::Limiter`] is the async shell that sleeps and wakes.
//!
//! The queue has two lanes: a live room's own calls ([`Lane::Live`]) go before idle polls
//! ([`Lane::Idle`]); within a lane, first come, first served. Only the head of the queue may
//! take a token, so a live room's call that arrives behind a hundred queued polls is next, and
//! idle polls keep their order among themselves (a fair rotation).

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::{BACKOFF_BASE, BACKOFF_CAP, BACKOFF_MIN, Budget, VERDICT_WAIT};
use crate::util::backoff::Backoff;

/// Which queue a request waits in. The order is the priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Lane {
    /// A live or recording room's own calls: its status checks, its stream lookups.
    Live,
    /// Everything else: idle rooms' polls, resolutions, batch requests.
    Idle,
}

/// A place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ticket {
    lane: Lane,
    seq: u64,
}

impl Ticket {
    pub(crate) fn seq(self) -> u64 {
        self.seq
    }
}

/// What [`Gate::turn`] decided for a ticket.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Turn {
    /// Go now (the ticket left the queue); `probe` when this request finds out whether a
    /// backoff has lifted.
    Go { probe: bool },
    /// First in line: the budget has a token at this instant (unless a request with priority
    /// arrives meanwhile and goes first).
    At(Instant),
    /// Others are ahead: wait to be first.
    Behind,
    /// First in line, but another request is finding out whether the backoff has lifted: wait
    /// for its verdict, until it is overdue (then this one probes instead).
    AwaitVerdict { until: Instant },
    /// Paused by a backoff: fail without a request (the ticket left the queue).
    Paused { until: Instant, reason: String },
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

/// The pure state of a budget, its queue and a backoff.
#[derive(Debug)]
pub(crate) struct Gate {
    budget: Budget,
    /// GCRA "theoretical arrival time" of the requests let through: when the bucket would be
    /// full again.
    tat: Option<Instant>,
    queue: BTreeSet<Ticket>,
    next_seq: u64,
    /// Requests let through so far (a waiter's share of the wait is the grants meanwhile).
    granted: u64,
    /// Blocks in a row, reset by a normal answer.
    strikes: u32,
    paused_until: Option<Instant>,
    reason: String,
    /// After a pause, one request at a time finds out whether the block has lifted: its probe
    /// ticket, and when its verdict is overdue.
    probing: Option<(u64, Instant)>,
    /// Tickets handed to probes, so that a lost probe's late "no verdict" does not free the
    /// probe that took over from it.
    probes: u64,
    /// The end of the pause as a wall-clock time for messages, set by the shell.
    pub(crate) until_text: String,
    /// This instance's part of the budget (see [`Gate::set_share`]).
    share: f64,
}

/// The smallest part of a shared budget an instance keeps, so that a tiny weight still polls.
const MIN_SHARE: f64 = 0.01;

impl Gate {
    pub(crate) fn new(budget: Budget) -> Self {
        Self {
            budget,
            tat: None,
            queue: BTreeSet::new(),
            next_seq: 0,
            granted: 0,
            strikes: 0,
            paused_until: None,
            reason: String::new(),
            probing: None,
            probes: 0,
            until_text: String::new(),
            share: 1.0,
        }
    }

    pub(crate) fn interval(&self) -> Duration {
        if self.share >= 1.0 {
            return self.budget.interval();
        }
        Budget {
            per_second: self.budget.per_second * self.share,
            ..self.budget
        }
        .interval()
    }

    /// This instance's part of a budget shared by several (a cluster's weight over the
    /// total), from (0, 1].
    pub(crate) fn set_share(&mut self, share: f64) {
        self.share = if share.is_finite() {
            share.clamp(MIN_SHARE, 1.0)
        } else {
            1.0
        };
    }

    #[cfg(test)]
    pub(crate) fn is_backing_off(&self) -> bool {
        self.strikes > 0
    }

    pub(crate) fn reason(&self) -> &str {
        &self.reason
    }

    /// Requests let through so far.
    pub(crate) fn granted(&self) -> u64 {
        self.granted
    }

    /// Requests waiting.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How long the requests let through keep the budget busy after `now`.
    pub(crate) fn busy_for(&self, now: Instant) -> Duration {
        self.tat
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    /// The end of the current pause, if one is running at `now`.
    pub(crate) fn resume_at(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|u| now < *u)
    }

    /// Joins the queue; also says how many are ahead.
    pub(crate) fn enqueue(&mut self, lane: Lane) -> (Ticket, usize) {
        let ticket = Ticket {
            lane,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        let ahead = self.queue.range(..ticket).count();
        self.queue.insert(ticket);
        (ticket, ahead)
    }

    /// Leaves the queue without a request (the caller gave up).
    pub(crate) fn leave(&mut self, ticket: Ticket) {
        self.queue.remove(&ticket);
    }

    /// The first in line.
    pub(crate) fn head(&self) -> Option<Ticket> {
        self.queue.first().copied()
    }

    /// When the budget has a token for the next request, at or after `now`.
    fn token_at(&self, now: Instant) -> Instant {
        let interval = self.interval();
        let tolerance = interval * self.budget.burst.max(1);
        let tat = self.tat.map_or(now, |t| t.max(now));
        // A token is there once the bucket is not full: at tat - (burst - 1) intervals.
        (tat + interval)
            .checked_sub(tolerance)
            .unwrap_or(now)
            .max(now)
    }

    /// May `ticket` go at `now`? Never refused for the budget: the wait is as long as the
    /// queue ahead.
    pub(crate) fn turn(&mut self, ticket: Ticket, now: Instant) -> Turn {
        if let Some(until) = self.resume_at(now) {
            self.queue.remove(&ticket);
            return Turn::Paused {
                until,
                reason: self.reason.clone(),
            };
        }
        if self.head() != Some(ticket) {
            return Turn::Behind;
        }
        let probe = self.strikes > 0;
        if let Some((_, until)) = self.probing.filter(|(_, due)| probe && now < *due) {
            return Turn::AwaitVerdict { until };
        }
        let at = self.token_at(now);
        if at > now {
            return Turn::At(at);
        }
        self.queue.remove(&ticket);
        self.granted += 1;
        let tat = self.tat.map_or(now, |t| t.max(now));
        self.tat = Some(tat + self.interval());
        if probe {
            self.probes += 1;
            self.probing = Some((self.probes, now + VERDICT_WAIT));
        }
        Turn::Go { probe }
    }

    /// The ticket of the probe let through last (for [`Gate::inconclusive`]).
    pub(crate) fn probe_ticket(&self) -> Option<u64> {
        self.probing.map(|(t, _)| t)
    }

    /// A probe is running and its verdict is overdue at `now`.
    pub(crate) fn probe_overdue(&self, now: Instant) -> bool {
        self.strikes > 0 && self.probing.is_some_and(|(_, due)| now >= due)
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
    /// `probe` when it was a probe. The next caller probes, unless another probe already took
    /// over from this one.
    pub(crate) fn inconclusive(&mut self, probe: Option<u64>) {
        if probe.is_some() && self.probe_ticket() == probe {
            self.probing = None;
        }
    }

    /// Another instance of the cluster was told to back off: pause until `until` (unless a
    /// longer pause runs), and let one probe find out afterwards, as after a block of our own.
    /// Returns whether this lengthened the pause.
    pub(crate) fn pause_until(&mut self, now: Instant, until: Instant, reason: &str) -> bool {
        if until <= now || self.resume_at(now).is_some_and(|u| u >= until) {
            return false;
        }
        self.paused_until = Some(until);
        self.strikes = self.strikes.max(1);
        self.probing = None;
        self.reason = reason.to_string();
        true
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
