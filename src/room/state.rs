//! The room state machine: pure, no IO, no clock of its own. The supervisor feeds it what
//! happened (a poll answer, a recording attempt that ended, bytes that flowed, a timer) and
//! carries out the [`Do`] steps it returns.
//!
//! ```text
//!            live                lock+cap ok         bytes
//!   idle ──────────► (start) ─────────────► live ─────────► recording
//!    ▲  ◄───────┐      │ busy / cap               ▲  attempt ended │
//!    │ offline  │      ▼                          │  poll: live or │
//!    │          └── waiting                       │  unknown       ▼
//!    │                                            └──── backoff ◄──┘
//!    │       offline for offline_grace                    │ poll: offline
//!    └──────────────────────────────────── grace ◄────────┘
//!
//!   any poll (or attempt) says "live, but not recordable" ──► unrecordable (session ends)
//! ```
//! "Unknown" (a blocked or broken API) never ends a session while its bytes flow; a session ends
//! on a real offline answer that lasts `offline_grace`, or when no stream has flowed and the
//! status has stayed unknown for `offline_grace`. A platform that is backing off says when it
//! resumes ([`Probe::Paused`]): the next poll, or reconnect, is at that instant, not later and
//! not after a growing backoff. A room that is live but writes nothing for `alert_after` raises
//! an alert, repeated every [`REALERT`] while it lasts; a live that cannot be recorded is
//! reported once ([`Do::NotRecordable`]) and no session is opened for it.
//!
//! A check asked for while a poll is in flight is not lost: that answer may predate the reason
//! for asking, so an "offline" one is checked again at once. A pushed live start
//! ([`Machine::on_live_pushed`]) polls now and, while the answers still say offline (the API
//! lags the push), again every [`checks::LIVE_HINT_EVERY`] for [`checks::LIVE_HINT_FOR`].
//!
//! A notify-only room (`record = false`) opens its session into [`Phase::Watching`]: no
//! attempt, no alert; the session ends like any other, after `offline_grace` offline.

use std::time::{Duration, Instant};

use super::schedule::Grid;
use crate::util::backoff::Backoff;

mod checks;
mod cluster;
mod doubt;
mod rules;

pub(crate) use rules::RuleState;

#[cfg(test)]
use checks::LIVE_HINT_EVERY;

/// How often a continuing "live but not recording" alert is repeated.
pub(crate) const REALERT: Duration = Duration::from_secs(15 * 60);
/// Polling cadence while a session waits out `offline_grace`.
const GRACE_POLL: Duration = Duration::from_secs(10);
/// An attempt that wrote for this long resets the reconnect backoff.
const HEALTHY_ATTEMPT: Duration = Duration::from_secs(60);
/// The pause before a reconnect after the first failed attempt in a row; see
/// `schedule_reconnect`.
const RECONNECT: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timing {
    pub(crate) poll_interval: Duration,
    pub(crate) offline_grace: Duration,
    pub(crate) alert_after: Duration,
    /// `max_session_duration` (zero: no limit).
    pub(crate) max_session: Duration,
}

/// What a status poll found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Probe {
    Live,
    Offline,
    /// The platform could not tell (risk control, network, malformed answer).
    Unknown(String),
    /// Unknown because the platform is backing off until `until`: ask again then.
    Paused {
        reason: String,
        until: Instant,
    },
    /// Live, but it cannot be recorded (DRM, paid, guard-only...): the reason.
    Unrecordable(String),
    /// Live, but a recording rule says not to start a session (the title): the reason.
    Skip(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Phase {
    Disabled,
    Idle,
    /// Live, but the lock is held elsewhere or this instance is at `max_recordings`.
    Waiting {
        reason: String,
        elsewhere: bool,
    },
    /// A recording attempt is connecting or running.
    Attempt {
        flowing: bool,
        started: Instant,
    },
    /// An attempt ended; a poll decides between reconnecting and grace.
    Deciding,
    /// Reconnecting at `at`.
    Backoff {
        at: Instant,
    },
    /// The platform says offline; the session ends once that has lasted `offline_grace`.
    Grace {
        since: Instant,
    },
    /// Live, but it cannot be recorded; polled on as usual (it may become recordable).
    Unrecordable {
        reason: String,
    },
    /// Live, but a recording rule says not to record it (its title, the session limit);
    /// polled on as usual.
    Skipped {
        reason: String,
    },
    /// A notify-only room (`record = false`) is live: its session is open, nothing is pulled.
    Watching,
}

/// A step for the supervisor to carry out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Do {
    Poll,
    /// Take the lock and a recording slot, open a session, then report back.
    StartSession,
    Connect,
    StopAttempt,
    /// Close the session: finalise files, release the lock, raise `live_end` (with this error,
    /// when the live did not simply go offline).
    EndSession(Option<String>),
    /// Close the session while the live goes on (a rule or a handover stops recording it):
    /// its file ends at the next keyframe, then as [`Do::EndSession`] with this error.
    StopSession(String),
    /// Raise `recording_failed` with this reason.
    Alert(String),
    /// Raise `recording_recovered`.
    Recovered,
    /// Report, once, that the live cannot be recorded, and why.
    NotRecordable(String),
}

#[derive(Debug)]
pub(crate) struct Machine {
    timing: Timing,
    phase: Phase,
    in_session: bool,
    /// When the platform was last seen going live (for the alert clock).
    live_since: Option<Instant>,
    last_flow: Option<Instant>,
    alerted_at: Option<Instant>,
    failures: u32,
    next_poll: Option<Instant>,
    last_error: Option<String>,
    polling: bool,
    /// A check was asked for while a poll was in flight: its answer may be older than the
    /// reason for asking.
    recheck: bool,
    /// Until when a pushed live start makes "offline" answers be asked again soon.
    live_hint_until: Option<Instant>,
    /// In a session without a flowing stream: since when every answer has been "unknown".
    unknown_since: Option<Instant>,
    /// The "not recordable" reason last reported, so that it is reported once, not again at
    /// every poll (until the room goes offline or records).
    unrecordable_reported: Option<String>,
    /// Where the room's routine polls fall (its platform's schedule); without one, a poll
    /// comes `poll_interval` after the last answer.
    grid: Option<Grid>,
    /// `record = false`: a session is only the live's span, for its events.
    watch_only: bool,
    /// The recording rules' state: the window, the session limit.
    rules: RuleState,
}

impl Machine {
    pub(crate) fn new(timing: Timing, enabled: bool, now: Instant) -> Self {
        Self {
            timing,
            phase: if enabled {
                Phase::Idle
            } else {
                Phase::Disabled
            },
            in_session: false,
            live_since: None,
            last_flow: None,
            alerted_at: None,
            failures: 0,
            next_poll: enabled.then_some(now),
            last_error: None,
            polling: false,
            recheck: false,
            live_hint_until: None,
            unknown_since: None,
            unrecordable_reported: None,
            grid: None,
            watch_only: false,
            rules: RuleState::default(),
        }
    }

    /// Puts the room's routine polls on its platform's schedule; the first one at the room's
    /// first slot (see [`Grid::first_poll`]).
    pub(crate) fn set_grid(&mut self, grid: Grid, now: Instant) {
        let grid = grid.with_interval(self.timing.poll_interval);
        if self.next_poll.is_some() && !self.polling {
            self.next_poll = Some(grid.first_poll(now));
        }
        self.grid = Some(grid);
    }

    /// When the next routine poll is due after one answered at `now`.
    fn routine_poll(&self, now: Instant) -> Instant {
        match &self.grid {
            Some(g) => g.next_poll(now),
            None => now + self.timing.poll_interval,
        }
    }

    /// Sessions of this room record nothing: they open and close with the live (notify only).
    pub(crate) fn set_watch_only(&mut self, on: bool) {
        self.watch_only = on;
    }

    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// A session is open: the room's own calls go before idle polls.
    pub(crate) fn in_session(&self) -> bool {
        self.in_session
    }

    pub(crate) fn is_alerting(&self) -> bool {
        self.alerted_at.is_some()
    }

    pub(crate) fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
        if timing.max_session.is_zero() {
            self.rules.live_ended();
        }
        self.grid = self.grid.map(|g| g.with_interval(timing.poll_interval));
    }

    /// When the supervisor should call [`Machine::on_timer`] next.
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        let mut t = if self.polling || !self.may_poll() {
            None
        } else {
            self.next_poll
        };
        if let Phase::Backoff { at } = self.phase {
            t = Some(t.map_or(at, |x| x.min(at)));
        }
        if let Some(a) = self.alert_due() {
            t = Some(t.map_or(a, |x| x.min(a)));
        }
        if let Some(l) = self.limit_due() {
            t = Some(t.map_or(l, |x| x.min(l)));
        }
        if let Some(u) = self.unknown_deadline() {
            t = Some(t.map_or(u, |x| x.min(u)));
        }
        t
    }

    /// Polls run on a timer only while nothing is recording; an attempt's end triggers its own.
    /// Outside every window, not at all.
    fn may_poll(&self) -> bool {
        let phase = matches!(
            self.phase,
            Phase::Idle
                | Phase::Waiting { .. }
                | Phase::Grace { .. }
                | Phase::Unrecordable { .. }
                | Phase::Skipped { .. }
                | Phase::Watching
        );
        phase && !self.parked()
    }

    fn flowing(&self) -> bool {
        matches!(self.phase, Phase::Attempt { flowing: true, .. })
    }

    /// When a session without stream, whose status stays unknown, is to end.
    fn unknown_deadline(&self) -> Option<Instant> {
        let since = self.unknown_since?;
        (self.in_session && !self.flowing()).then(|| since + self.timing.offline_grace)
    }

    /// The next time an alert could become due, if the room is live and not writing.
    fn alert_due(&self) -> Option<Instant> {
        let since = self.live_since?;
        let not_writing = match &self.phase {
            Phase::Attempt { flowing, .. } => !flowing,
            Phase::Waiting { elsewhere, .. } => !elsewhere,
            Phase::Deciding | Phase::Backoff { .. } => true,
            Phase::Idle
            | Phase::Disabled
            | Phase::Grace { .. }
            | Phase::Unrecordable { .. }
            | Phase::Skipped { .. }
            | Phase::Watching => false,
        };
        if !not_writing {
            return None;
        }
        let base = self.last_flow.map_or(since, |f| f.max(since));
        Some(match self.alerted_at {
            None => base + self.timing.alert_after,
            Some(at) => at + REALERT,
        })
    }

    /// A status poll was started (so no second one is scheduled meanwhile).
    pub(crate) fn on_poll_started(&mut self) {
        self.polling = true;
    }

    pub(crate) fn on_poll(&mut self, probe: Probe, now: Instant) -> Vec<Do> {
        self.polling = false;
        if self.parked() {
            // Asked before the window closed: too late to act on.
            self.recheck = false;
            return Vec::new();
        }
        // What cannot be recorded can still be watched.
        let probe = match probe {
            Probe::Unrecordable(_) if self.watch_only => Probe::Live,
            p => p,
        };
        let recheck = std::mem::take(&mut self.recheck);
        let offline = probe == Probe::Offline;
        if matches!(probe, Probe::Live | Probe::Unrecordable(_)) {
            self.live_hint_until = None;
        }
        let out = self.judge(probe, now);
        if offline {
            self.follow_up(recheck, now);
        }
        out
    }

    fn judge(&mut self, probe: Probe, now: Instant) -> Vec<Do> {
        let mut out = Vec::new();
        self.next_poll = Some(self.routine_poll(now));
        match probe {
            Probe::Live => {
                self.unknown_since = None;
                self.live_since.get_or_insert(now);
                if self.limit_holds() {
                    return out;
                }
                match self.phase {
                    Phase::Idle
                    | Phase::Waiting { .. }
                    | Phase::Unrecordable { .. }
                    | Phase::Skipped { .. } => {
                        if self.in_session {
                            self.phase = Phase::Attempt {
                                flowing: false,
                                started: now,
                            };
                            out.push(Do::Connect);
                        } else {
                            out.push(Do::StartSession);
                        }
                    }
                    Phase::Deciding => self.schedule_reconnect(now),
                    Phase::Grace { .. } if self.watch_only => self.phase = Phase::Watching,
                    Phase::Grace { .. } => {
                        self.phase = Phase::Attempt {
                            flowing: false,
                            started: now,
                        };
                        out.push(Do::Connect);
                    }
                    Phase::Attempt { .. }
                    | Phase::Backoff { .. }
                    | Phase::Disabled
                    | Phase::Watching => {}
                }
            }
            Probe::Offline => {
                self.live_since = None;
                self.alerted_at = None;
                self.unknown_since = None;
                self.unrecordable_reported = None;
                self.rules.live_ended();
                match self.phase {
                    Phase::Waiting { .. }
                    | Phase::Idle
                    | Phase::Unrecordable { .. }
                    | Phase::Skipped { .. } => {
                        self.phase = Phase::Idle;
                        if self.in_session {
                            self.phase = Phase::Grace { since: now };
                            self.next_poll = Some(now + self.grace_poll());
                        }
                    }
                    Phase::Deciding | Phase::Backoff { .. } | Phase::Watching => {
                        self.phase = Phase::Grace { since: now };
                        self.next_poll = Some(now + self.grace_poll());
                        out.extend(self.check_grace(now));
                    }
                    Phase::Grace { .. } => {
                        self.next_poll = Some(now + self.grace_poll());
                        out.extend(self.check_grace(now));
                    }
                    Phase::Attempt { .. } | Phase::Disabled => {}
                }
            }
            Probe::Unknown(err) => out = self.on_unknown(err, None, now),
            Probe::Paused { reason, until } => out = self.on_unknown(reason, Some(until), now),
            Probe::Unrecordable(reason) => out = self.on_unrecordable(reason, now),
            Probe::Skip(reason) => self.on_skip(reason),
        }
        out
    }

    fn grace_poll(&self) -> Duration {
        self.timing.poll_interval.min(GRACE_POLL)
    }

    fn check_grace(&mut self, now: Instant) -> Vec<Do> {
        match self.phase {
            Phase::Grace { since } if now.duration_since(since) >= self.timing.offline_grace => {
                self.end_session(now);
                vec![Do::EndSession(None)]
            }
            _ => Vec::new(),
        }
    }

    fn end_session(&mut self, now: Instant) {
        self.in_session = false;
        self.rules.session_ended();
        self.phase = Phase::Idle;
        self.failures = 0;
        self.unknown_since = None;
        self.next_poll = Some(self.routine_poll(now));
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        // The first reconnect is immediate (a CDN hiccup), then 1s, 2s, 4s ... capped.
        let delay = RECONNECT.delay(self.failures.saturating_sub(1));
        self.phase = Phase::Backoff { at: now + delay };
    }

    /// The platform reports another broadcast than the one this session records (a new start
    /// time or session id) while no attempt runs: close this session and start the next.
    pub(crate) fn on_new_broadcast(&mut self, now: Instant) -> Vec<Do> {
        if !self.in_session {
            return self.on_poll(Probe::Live, now);
        }
        self.polling = false;
        self.end_session(now);
        let mut out = vec![Do::EndSession(None)];
        out.extend(self.on_poll(Probe::Live, now));
        out
    }

    /// The supervisor opened a session (lock and slot taken).
    pub(crate) fn on_session_started(&mut self, now: Instant) -> Vec<Do> {
        self.in_session = true;
        self.rules.session_ended();
        self.failures = 0;
        self.unknown_since = None;
        if self.watch_only {
            self.phase = Phase::Watching;
            return Vec::new();
        }
        self.phase = Phase::Attempt {
            flowing: false,
            started: now,
        };
        vec![Do::Connect]
    }

    /// The supervisor could not open a session.
    pub(crate) fn on_blocked(&mut self, reason: String, elsewhere: bool, now: Instant) {
        self.phase = Phase::Waiting { reason, elsewhere };
        self.next_poll = Some(self.routine_poll(now));
    }

    /// Bytes reached a file.
    pub(crate) fn on_flowing(&mut self, now: Instant) -> Vec<Do> {
        self.last_flow = Some(now);
        self.unknown_since = None;
        self.unrecordable_reported = None;
        if self.in_session {
            self.rules.flowing(now);
        }
        let mut out = Vec::new();
        if let Phase::Attempt { flowing, .. } = &mut self.phase {
            *flowing = true;
        }
        if self.alerted_at.take().is_some() {
            out.push(Do::Recovered);
        }
        self.last_error = None;
        out
    }

    /// The running attempt ended (stream end, stall, error). `error` is `None` for a clean end.
    pub(crate) fn on_attempt_ended(&mut self, error: Option<String>, now: Instant) -> Vec<Do> {
        if let Phase::Attempt { flowing, started } = self.phase {
            if flowing {
                self.last_flow = Some(now);
            }
            let healthy = flowing && now.duration_since(started) >= HEALTHY_ATTEMPT;
            self.failures = if healthy { 1 } else { self.failures + 1 };
        }
        if let Some(e) = error {
            self.last_error = Some(e);
        }
        if !self.in_session {
            return Vec::new();
        }
        self.phase = Phase::Deciding;
        self.next_poll = Some(now);
        vec![Do::Poll]
    }

    pub(crate) fn on_timer(&mut self, now: Instant) -> Vec<Do> {
        let mut out = self.check_unknown(now);
        out.extend(self.check_limit(now));
        if let Phase::Backoff { at } = self.phase {
            if now >= at {
                self.phase = Phase::Attempt {
                    flowing: false,
                    started: now,
                };
                out.push(Do::Connect);
            }
        }
        if let Some(due) = self.alert_due() {
            if now >= due {
                self.alerted_at = Some(now);
                out.push(Do::Alert(self.alert_reason()));
            }
        }
        if !self.polling && self.may_poll() && self.next_poll.is_some_and(|t| now >= t) {
            self.next_poll = None;
            out.push(Do::Poll);
        }
        out
    }

    fn alert_reason(&self) -> String {
        let what = match &self.phase {
            Phase::Waiting { reason, .. } => format!("waiting: {reason}"),
            _ => self
                .last_error
                .clone()
                .unwrap_or_else(|| "no bytes from the stream".into()),
        };
        format!(
            "live but nothing written for {}: {what}",
            crate::util::units::format_duration(self.timing.alert_after)
        )
    }

    /// Operator asked for a fresh start: drop the current attempt or skip the backoff.
    pub(crate) fn on_restart(&mut self, now: Instant) -> Vec<Do> {
        self.failures = 0;
        match self.phase {
            Phase::Attempt { .. } => vec![Do::StopAttempt],
            Phase::Backoff { .. } => {
                self.phase = Phase::Backoff { at: now };
                self.on_timer(now)
            }
            _ => self.on_check_now(now),
        }
    }

    /// The supervisor is stopping: no more steps, the session closes without `live_end`.
    pub(crate) fn on_shutdown(&mut self) {
        self.in_session = false;
        self.phase = Phase::Disabled;
        self.next_poll = None;
    }
}

#[cfg(test)]
mod tests;
