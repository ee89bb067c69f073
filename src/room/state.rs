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

use std::time::{Duration, Instant};

/// How often a continuing "live but not recording" alert is repeated.
pub(crate) const REALERT: Duration = Duration::from_secs(15 * 60);
/// Polling cadence while a session waits out `offline_grace`.
const GRACE_POLL: Duration = Duration::from_secs(10);
/// An attempt that wrote for this long resets the reconnect backoff.
const HEALTHY_ATTEMPT: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timing {
    pub(crate) poll_interval: Duration,
    pub(crate) offline_grace: Duration,
    pub(crate) alert_after: Duration,
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
    /// In a session without a flowing stream: since when every answer has been "unknown".
    unknown_since: Option<Instant>,
    /// The "not recordable" reason last reported, so that it is reported once, not again at
    /// every poll (until the room goes offline or records).
    unrecordable_reported: Option<String>,
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
            unknown_since: None,
            unrecordable_reported: None,
        }
    }

    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    #[cfg(test)]
    pub(crate) fn in_session(&self) -> bool {
        self.in_session
    }

    pub(crate) fn is_alerting(&self) -> bool {
        self.alerted_at.is_some()
    }

    pub(crate) fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
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
        if let Some(u) = self.unknown_deadline() {
            t = Some(t.map_or(u, |x| x.min(u)));
        }
        t
    }

    /// Polls run on a timer only while nothing is recording; an attempt's end triggers its own.
    fn may_poll(&self) -> bool {
        matches!(
            self.phase,
            Phase::Idle | Phase::Waiting { .. } | Phase::Grace { .. } | Phase::Unrecordable { .. }
        )
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
            Phase::Idle | Phase::Disabled | Phase::Grace { .. } | Phase::Unrecordable { .. } => {
                false
            }
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
        let mut out = Vec::new();
        self.next_poll = Some(now + self.timing.poll_interval);
        match probe {
            Probe::Live => {
                self.unknown_since = None;
                self.live_since.get_or_insert(now);
                match self.phase {
                    Phase::Idle | Phase::Waiting { .. } | Phase::Unrecordable { .. } => {
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
                    Phase::Grace { .. } => {
                        self.phase = Phase::Attempt {
                            flowing: false,
                            started: now,
                        };
                        out.push(Do::Connect);
                    }
                    Phase::Attempt { .. } | Phase::Backoff { .. } | Phase::Disabled => {}
                }
            }
            Probe::Offline => {
                self.live_since = None;
                self.alerted_at = None;
                self.unknown_since = None;
                self.unrecordable_reported = None;
                match self.phase {
                    Phase::Waiting { .. } | Phase::Idle | Phase::Unrecordable { .. } => {
                        self.phase = Phase::Idle;
                        if self.in_session {
                            self.phase = Phase::Grace { since: now };
                            self.next_poll = Some(now + self.grace_poll());
                        }
                    }
                    Phase::Deciding | Phase::Backoff { .. } => {
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
        }
        out
    }

    /// An answer that says nothing about the room. `until`: the platform is backing off until
    /// then, so the next poll or reconnect waits for that instant (and no longer).
    fn on_unknown(&mut self, err: String, until: Option<Instant>, now: Instant) -> Vec<Do> {
        self.last_error = Some(err);
        let mut out = Vec::new();
        match self.phase {
            // A live room stays "live" until the platform says otherwise, and a reconnect is
            // the only way to find out.
            Phase::Deciding => match until {
                Some(at) => {
                    // Waiting out a backoff is not a failed attempt.
                    self.failures = 0;
                    self.phase = Phase::Backoff { at: at.max(now) };
                }
                None => self.schedule_reconnect(now),
            },
            // The last real answer was "offline"; not knowing more does not extend the grace.
            Phase::Grace { .. } => {
                self.next_poll = Some(now + self.grace_poll());
                out.extend(self.check_grace(now));
            }
            _ => {}
        }
        if let Some(at) = until {
            self.next_poll = Some(at.max(now));
        }
        let waiting_for_stream = matches!(
            self.phase,
            Phase::Deciding | Phase::Backoff { .. } | Phase::Attempt { flowing: false, .. }
        );
        if self.in_session && waiting_for_stream {
            self.unknown_since.get_or_insert(now);
            out.extend(self.check_unknown(now));
        }
        out
    }

    /// Ends a session that has had neither a stream nor a real answer for `offline_grace`.
    fn check_unknown(&mut self, now: Instant) -> Vec<Do> {
        match self.unknown_deadline() {
            Some(deadline) if now >= deadline => {
                let reason = format!(
                    "no stream, and the live status stayed unknown for {}: {}",
                    crate::util::units::format_duration(self.timing.offline_grace),
                    self.last_error.as_deref().unwrap_or("no answer")
                );
                self.end_session(now);
                self.live_since = None;
                self.alerted_at = None;
                vec![Do::EndSession(Some(reason))]
            }
            _ => Vec::new(),
        }
    }

    /// Live, but not recordable: an open session ends, no new one starts, and the reason is
    /// reported once. Polls go on at `poll_interval`.
    fn on_unrecordable(&mut self, reason: String, now: Instant) -> Vec<Do> {
        if matches!(self.phase, Phase::Attempt { .. } | Phase::Disabled) {
            // A late answer while an attempt runs: the attempt finds out for itself.
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.in_session {
            self.end_session(now);
            out.push(Do::EndSession(Some(format!("not recordable: {reason}"))));
        }
        self.live_since = None;
        self.alerted_at = None;
        self.unknown_since = None;
        self.next_poll = Some(now + self.timing.poll_interval);
        if self.unrecordable_reported.as_deref() != Some(reason.as_str()) {
            self.unrecordable_reported = Some(reason.clone());
            out.push(Do::NotRecordable(reason.clone()));
        }
        self.phase = Phase::Unrecordable { reason };
        out
    }

    /// The attempt ended because the platform will not hand out a stream that can be recorded.
    pub(crate) fn on_attempt_unrecordable(&mut self, reason: String, now: Instant) -> Vec<Do> {
        if matches!(self.phase, Phase::Attempt { .. }) {
            self.phase = Phase::Deciding;
        }
        self.on_unrecordable(reason, now)
    }

    pub(crate) fn is_unrecordable(&self) -> bool {
        matches!(self.phase, Phase::Unrecordable { .. })
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
        self.phase = Phase::Idle;
        self.failures = 0;
        self.unknown_since = None;
        self.next_poll = Some(now + self.timing.poll_interval);
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        // First reconnect is immediate (a CDN hiccup), then 1s, 2s, 4s ... capped.
        let delay = match self.failures {
            0 | 1 => Duration::ZERO,
            n => Duration::from_secs(1 << (n - 2).min(5)).min(MAX_BACKOFF),
        };
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
        self.failures = 0;
        self.unknown_since = None;
        self.phase = Phase::Attempt {
            flowing: false,
            started: now,
        };
        vec![Do::Connect]
    }

    /// Pushes the next timed poll back (jitter, so that rooms do not poll in lockstep).
    pub(crate) fn delay_next_poll(&mut self, by: Duration) {
        if let Some(t) = self.next_poll.as_mut() {
            *t += by;
        }
    }

    /// The supervisor could not open a session.
    pub(crate) fn on_blocked(&mut self, reason: String, elsewhere: bool, now: Instant) {
        self.phase = Phase::Waiting { reason, elsewhere };
        self.next_poll = Some(now + self.timing.poll_interval);
    }

    /// Bytes reached a file.
    pub(crate) fn on_flowing(&mut self, now: Instant) -> Vec<Do> {
        self.last_flow = Some(now);
        self.unknown_since = None;
        self.unrecordable_reported = None;
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

    /// Operator asked for a poll now.
    pub(crate) fn on_check_now(&mut self, now: Instant) -> Vec<Do> {
        if self.phase == Phase::Disabled {
            return Vec::new();
        }
        self.next_poll = Some(now);
        self.on_timer(now)
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
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing {
            poll_interval: Duration::from_secs(30),
            offline_grace: Duration::from_secs(60),
            alert_after: Duration::from_secs(90),
        }
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn live_room_is_recorded_and_ends_after_grace() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        assert_eq!(m.on_timer(t0), [Do::Poll]);
        m.on_poll_started();
        assert_eq!(m.on_poll(Probe::Live, t0), [Do::StartSession]);
        assert_eq!(m.on_session_started(t0), [Do::Connect]);
        assert!(m.on_flowing(t0 + s(1)).is_empty());
        // Stream drops: poll at once, platform says still live, reconnect at once.
        assert_eq!(
            m.on_attempt_ended(Some("eof".into()), t0 + s(100)),
            [Do::Poll]
        );
        assert!(m.on_poll(Probe::Live, t0 + s(100)).is_empty());
        assert_eq!(m.on_timer(t0 + s(100)), [Do::Connect]);
        // Stream ends for real: grace starts, session ends after 60s offline, not before.
        assert_eq!(m.on_attempt_ended(None, t0 + s(200)), [Do::Poll]);
        assert!(m.on_poll(Probe::Offline, t0 + s(200)).is_empty());
        assert!(matches!(m.phase(), Phase::Grace { .. }));
        assert_eq!(m.on_timer(t0 + s(210)), [Do::Poll]);
        assert!(m.on_poll(Probe::Offline, t0 + s(210)).is_empty());
        assert_eq!(m.on_timer(t0 + s(260)), [Do::Poll]);
        assert_eq!(
            m.on_poll(Probe::Offline, t0 + s(260)),
            [Do::EndSession(None)]
        );
        assert!(!m.in_session());
        assert_eq!(m.phase(), &Phase::Idle);
    }

    #[test]
    fn a_short_drop_stays_in_the_same_session() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        m.on_attempt_ended(None, t0 + s(10));
        m.on_poll(Probe::Offline, t0 + s(10));
        m.on_timer(t0 + s(20));
        assert_eq!(m.on_poll(Probe::Live, t0 + s(20)), [Do::Connect]);
        assert!(m.in_session());
    }

    #[test]
    fn unknown_never_ends_a_session_while_bytes_flow() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        m.on_flowing(t0);
        for n in 1..50 {
            let now = t0 + s(n * 100);
            m.on_attempt_ended(Some("reset".into()), now);
            let out = m.on_poll(Probe::Unknown("HTTP 412".into()), now);
            assert!(out.iter().all(|d| !matches!(d, Do::EndSession(_))));
            assert!(matches!(m.phase(), Phase::Backoff { .. }));
            // The reconnect works: bytes flow again for a while.
            assert_eq!(m.on_timer(now + s(50)), [Do::Connect]);
            assert!(m.on_flowing(now + s(51)).is_empty());
        }
        assert!(m.in_session());
    }

    /// Starts a session whose stream flowed and then ended at `t0 + 10 s`.
    fn session_whose_stream_ended(t0: Instant) -> Machine {
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        m.on_flowing(t0 + s(1));
        assert_eq!(m.on_attempt_ended(None, t0 + s(10)), [Do::Poll]);
        m
    }

    #[test]
    fn a_status_unknown_for_offline_grace_without_stream_ends_the_session() {
        let t0 = Instant::now();
        let mut m = session_whose_stream_ended(t0);
        // Unknown answers, and reconnects that find no stream.
        let mut now = t0 + s(10);
        let mut ended = None;
        while now < t0 + s(200) {
            let mut out = m.on_poll(Probe::Unknown("empty answer".into()), now);
            if out.is_empty() {
                let Some(wake) = m.next_wakeup() else {
                    panic!("nothing scheduled in {:?}", m.phase())
                };
                now = wake;
                out = m.on_timer(now);
            }
            if let Some(Do::EndSession(reason)) = out.first() {
                ended = Some((now, reason.clone()));
                break;
            }
            assert_eq!(out, [Do::Connect]);
            assert!(m.in_session());
            now += s(1);
            assert_eq!(m.on_attempt_ended(Some("refused".into()), now), [Do::Poll]);
        }
        let (at, reason) = ended.expect("the session ends");
        // offline_grace (60 s) after the first unknown answer, not at the next poll after it.
        assert_eq!(at, t0 + s(70));
        let reason = reason.expect("with a reason");
        assert!(
            reason.contains("unknown for 1m") && reason.contains("empty answer"),
            "{reason}"
        );
        assert!(!m.in_session());
        assert_eq!(m.phase(), &Phase::Idle);
        // A later live answer opens a new session.
        m.on_timer(at + s(30));
        assert_eq!(m.on_poll(Probe::Live, at + s(30)), [Do::StartSession]);
    }

    #[test]
    fn a_real_answer_or_flowing_bytes_restart_the_unknown_clock() {
        let t0 = Instant::now();
        let mut m = session_whose_stream_ended(t0);
        m.on_poll(Probe::Unknown("x".into()), t0 + s(10));
        assert_eq!(m.next_wakeup(), Some(t0 + s(10)), "reconnect at once");
        assert_eq!(m.on_timer(t0 + s(10)), [Do::Connect]);
        // An attempt that connects but writes nothing: its clock still runs.
        assert_eq!(m.next_wakeup(), Some(t0 + s(70)));
        // It flows: no deadline while bytes flow.
        m.on_flowing(t0 + s(50));
        assert_eq!(m.next_wakeup(), None);
        m.on_attempt_ended(None, t0 + s(100));
        m.on_poll(Probe::Unknown("x".into()), t0 + s(100));
        m.on_timer(t0 + s(100));
        assert_eq!(m.next_wakeup(), Some(t0 + s(160)), "a new clock");
        m.on_attempt_ended(None, t0 + s(101));
        // A real "live" answer also says something: the clock starts again at the next unknown.
        m.on_poll(Probe::Live, t0 + s(101));
        assert_eq!(m.on_timer(t0 + s(102)), [Do::Connect]);
        m.on_attempt_ended(None, t0 + s(150));
        m.on_poll(Probe::Unknown("x".into()), t0 + s(150));
        m.on_timer(t0 + s(152));
        // (The alert for "live but not writing" is due by now; the session is not over.)
        assert!(
            m.on_timer(t0 + s(200))
                .iter()
                .all(|d| !matches!(d, Do::EndSession(_)))
        );
        assert!(m.in_session());
        assert!(matches!(
            m.on_timer(t0 + s(210)).as_slice(),
            [Do::EndSession(Some(_))]
        ));
    }

    #[test]
    fn unknown_answers_during_grace_do_not_extend_it() {
        let t0 = Instant::now();
        let mut m = session_whose_stream_ended(t0);
        m.on_poll(Probe::Offline, t0 + s(10));
        assert!(matches!(m.phase(), Phase::Grace { .. }));
        assert!(m.on_poll(Probe::Unknown("x".into()), t0 + s(40)).is_empty());
        assert_eq!(
            m.on_poll(Probe::Unknown("x".into()), t0 + s(70)),
            [Do::EndSession(None)]
        );
    }

    #[test]
    fn a_paused_platform_is_polled_again_when_the_pause_ends() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        assert_eq!(m.on_timer(t0), [Do::Poll]);
        m.on_poll_started();
        let until = t0 + s(3);
        let out = m.on_poll(
            Probe::Paused {
                reason: "HTTP 412".into(),
                until,
            },
            t0,
        );
        assert!(out.is_empty());
        // At the end of the pause, not a poll interval (30 s) later.
        assert_eq!(m.next_wakeup(), Some(until));
        assert!(m.on_timer(until - s(1)).is_empty());
        assert_eq!(m.on_timer(until), [Do::Poll]);
        assert_eq!(m.on_poll(Probe::Live, until), [Do::StartSession]);
        // A long pause is waited out in one go.
        let mut m = Machine::new(timing(), true, t0);
        m.on_timer(t0);
        let until = t0 + s(1800);
        m.on_poll(
            Probe::Paused {
                reason: "x".into(),
                until,
            },
            t0,
        );
        assert_eq!(m.next_wakeup(), Some(until));
    }

    #[test]
    fn a_session_reconnects_when_the_pause_ends_without_a_growing_backoff() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        // A few quick failures grow the reconnect backoff...
        let mut now = t0;
        for _ in 0..4 {
            m.on_attempt_ended(Some("refused".into()), now);
            m.on_poll(Probe::Live, now);
            let Phase::Backoff { at } = *m.phase() else {
                panic!()
            };
            now = at;
            m.on_timer(now);
        }
        // ...then the platform backs off for 20 s: the reconnect is at its end.
        m.on_attempt_ended(Some("blocked".into()), now);
        let until = now + s(20);
        m.on_poll(
            Probe::Paused {
                reason: "HTTP 412".into(),
                until,
            },
            now,
        );
        assert_eq!(m.phase(), &Phase::Backoff { at: until });
        assert_eq!(m.on_timer(until), [Do::Connect]);
        // Waiting was not failing: the next reconnect after a drop is immediate again.
        m.on_attempt_ended(Some("reset".into()), until + s(1));
        m.on_poll(Probe::Live, until + s(1));
        assert_eq!(m.phase(), &Phase::Backoff { at: until + s(1) });
    }

    #[test]
    fn an_unrecordable_live_starts_no_session_and_is_reported_once() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_timer(t0);
        let drm = || Probe::Unrecordable("DRM live (special type 203)".into());
        assert_eq!(
            m.on_poll(drm(), t0),
            [Do::NotRecordable("DRM live (special type 203)".into())]
        );
        assert!(m.is_unrecordable());
        assert!(!m.in_session());
        // Polled on at poll_interval; the same answer is not reported again, nor alerted.
        for n in 1..40 {
            let now = t0 + s(30 * n);
            assert_eq!(m.next_wakeup(), Some(now));
            assert_eq!(m.on_timer(now), [Do::Poll]);
            assert!(m.on_poll(drm(), now).is_empty());
        }
        // Another reason is news.
        let now = t0 + s(1200);
        m.on_timer(now);
        assert_eq!(
            m.on_poll(Probe::Unrecordable("paid live".into()), now),
            [Do::NotRecordable("paid live".into())]
        );
        // A check forces a poll.
        assert_eq!(m.on_check_now(now + s(1)), [Do::Poll]);
        m.on_poll_started();
        assert_eq!(m.on_restart(now + s(2)), [], "one poll at a time");
        // It becomes recordable: a session starts.
        assert_eq!(m.on_poll(Probe::Live, now + s(2)), [Do::StartSession]);
        // Offline: idle, and the same reason would be news again next time.
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(drm(), t0);
        m.on_poll(Probe::Offline, t0 + s(30));
        assert_eq!(m.phase(), &Phase::Idle);
        assert_eq!(m.on_poll(drm(), t0 + s(60)).len(), 1);
    }

    #[test]
    fn a_session_whose_live_becomes_unrecordable_ends_with_the_reason() {
        let t0 = Instant::now();
        // Found out by a poll after the stream ended.
        let mut m = session_whose_stream_ended(t0);
        assert_eq!(
            m.on_poll(Probe::Unrecordable("guard-only live".into()), t0 + s(10)),
            [
                Do::EndSession(Some("not recordable: guard-only live".into())),
                Do::NotRecordable("guard-only live".into())
            ]
        );
        assert!(!m.in_session());
        assert_eq!(m.next_wakeup(), Some(t0 + s(40)));
        // Found out by the attempt itself (the stream list): the same, and no reconnect.
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        assert_eq!(
            m.on_attempt_unrecordable("guard-only live".into(), t0 + s(1)),
            [
                Do::EndSession(Some("not recordable: guard-only live".into())),
                Do::NotRecordable("guard-only live".into())
            ]
        );
        assert!(m.is_unrecordable());
        assert!(m.on_timer(t0 + s(20)).is_empty(), "no reconnect, no alert");
        // It stays unrecordable: no second report, even through a session that fails again.
        m.on_timer(t0 + s(31));
        assert_eq!(m.on_poll(Probe::Live, t0 + s(31)), [Do::StartSession]);
        m.on_session_started(t0 + s(31));
        assert_eq!(
            m.on_attempt_unrecordable("guard-only live".into(), t0 + s(32)),
            [Do::EndSession(Some(
                "not recordable: guard-only live".into()
            ))]
        );
    }

    #[test]
    fn a_new_broadcast_closes_the_session_and_opens_the_next() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        m.on_attempt_ended(None, t0 + s(10));
        m.on_poll(Probe::Offline, t0 + s(10));
        assert!(matches!(m.phase(), Phase::Grace { .. }));
        assert_eq!(
            m.on_new_broadcast(t0 + s(20)),
            [Do::EndSession(None), Do::StartSession]
        );
        assert!(!m.in_session());
        assert_eq!(m.on_session_started(t0 + s(20)), [Do::Connect]);
        assert!(m.in_session());
    }

    #[test]
    fn reconnect_backoff_grows_and_is_capped() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        let mut delays = Vec::new();
        let mut now = t0;
        for _ in 0..9 {
            m.on_attempt_ended(Some("refused".into()), now);
            m.on_poll(Probe::Live, now);
            let Phase::Backoff { at } = *m.phase() else {
                panic!()
            };
            delays.push(at.duration_since(now).as_secs());
            now = at;
            assert_eq!(m.on_timer(now).first(), Some(&Do::Connect));
        }
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn live_but_not_writing_raises_an_alert_then_recovers() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        m.on_attempt_ended(Some("HTTP 403 from the CDN".into()), t0 + s(5));
        m.on_poll(Probe::Live, t0 + s(5));
        assert_eq!(m.next_wakeup(), Some(t0 + s(5)));
        m.on_timer(t0 + s(5));
        // Attempting: no timed polls, only the alert clock.
        assert_eq!(m.next_wakeup(), Some(t0 + s(90)));
        let out = m.on_timer(t0 + s(90));
        let Some(Do::Alert(reason)) = out.iter().find(|d| matches!(d, Do::Alert(_))) else {
            panic!("no alert in {out:?}");
        };
        assert!(reason.contains("HTTP 403"), "{reason}");
        assert!(m.is_alerting());
        // Repeated, but not on every tick.
        assert!(
            !m.on_timer(t0 + s(91))
                .iter()
                .any(|d| matches!(d, Do::Alert(_)))
        );
        assert!(
            m.on_timer(t0 + s(90) + REALERT)
                .iter()
                .any(|d| matches!(d, Do::Alert(_)))
        );
        assert_eq!(m.on_flowing(t0 + s(2000)), [Do::Recovered]);
        assert!(!m.is_alerting());
    }

    #[test]
    fn waiting_on_another_holder_is_not_an_alert_but_a_full_cap_is() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_blocked("held by pid 7 on a".into(), true, t0);
        assert!(
            m.on_timer(t0 + s(1000))
                .iter()
                .all(|d| !matches!(d, Do::Alert(_)))
        );
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_blocked("max_recordings reached".into(), false, t0);
        m.on_timer(t0 + s(30));
        m.on_poll(Probe::Live, t0 + s(30));
        m.on_blocked("max_recordings reached".into(), false, t0 + s(30));
        assert!(
            m.on_timer(t0 + s(90))
                .iter()
                .any(|d| matches!(d, Do::Alert(r) if r.contains("max_recordings")))
        );
    }

    #[test]
    fn disabled_rooms_do_nothing() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), false, t0);
        assert_eq!(m.next_wakeup(), None);
        assert!(m.on_timer(t0 + s(1000)).is_empty());
        assert!(m.on_check_now(t0).is_empty());
    }

    #[test]
    fn restart_stops_a_running_attempt_and_skips_backoff() {
        let t0 = Instant::now();
        let mut m = Machine::new(timing(), true, t0);
        m.on_poll(Probe::Live, t0);
        m.on_session_started(t0);
        assert_eq!(m.on_restart(t0 + s(1)), [Do::StopAttempt]);
        let mut now = t0 + s(1);
        for _ in 0..5 {
            m.on_attempt_ended(Some("x".into()), now);
            m.on_poll(Probe::Live, now);
            let Phase::Backoff { at } = *m.phase() else {
                panic!()
            };
            now = at;
            m.on_timer(now);
        }
        m.on_attempt_ended(Some("x".into()), now);
        m.on_poll(Probe::Live, now);
        assert!(matches!(m.phase(), Phase::Backoff { at } if *at > now + s(5)));
        assert_eq!(m.on_restart(now), [Do::Connect]);
    }
}
