//! A platform's polling schedule. Every room takes a seat: a phase in its poll interval, chosen
//! so that the phases of all the platform's rooms stay evenly spread (each new room goes into
//! the middle of the widest gap, which for rooms added one after the other is the van der
//! Corput sequence: 0, 1/2, 1/4, 3/4, 1/8...). A room then polls on a fixed grid, `epoch +
//! phase + k * poll_interval`, so the rooms stay spread however long the daemon runs, and a
//! poll that waited for the request budget does not push the room's later polls back: every
//! room gets its turn once per interval, in the same order (a fair rotation).
//!
//! A platform that answers many rooms with one request (Bilibili's batch status) gives a
//! quantum: phases are rounded down to it, so the rooms of one quantum poll at the same instant
//! and their checks go out together, at the same point of every interval.
//!
//! [`Phases`] and [`Grid`] are pure; [`Schedule`] and [`Seat`] share them between rooms.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The circle of phases: a phase is a fraction of the interval, in units of 2^-32.
const TURN: u64 = 1 << 32;

/// The taken phases and the gaps between them.
#[derive(Debug, Default)]
pub(crate) struct Phases {
    /// Phase -> rooms on it (more than one only when the circle is full).
    taken: BTreeMap<u32, u32>,
    /// Gaps as (length, tie-break, start); stale entries are skipped when popped. Ties go to
    /// the start with the smallest bit-reversed value, which spreads equal gaps' splits
    /// around the circle rather than along it.
    gaps: BinaryHeap<(u64, Reverse<u32>, u32)>,
}

impl Phases {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.taken.values().map(|n| *n as usize).sum()
    }

    /// The phase after `p` on the circle (itself when it is alone).
    fn next(&self, p: u32) -> u32 {
        self.taken
            .range(p.saturating_add(1)..)
            .next()
            .filter(|_| p < u32::MAX)
            .or_else(|| self.taken.iter().next())
            .map_or(p, |(k, _)| *k)
    }

    fn prev(&self, p: u32) -> u32 {
        self.taken
            .range(..p)
            .next_back()
            .or_else(|| self.taken.iter().next_back())
            .map_or(p, |(k, _)| *k)
    }

    /// From `a` forward to `b` (a whole turn from a phase to itself).
    fn dist(a: u32, b: u32) -> u64 {
        match (u64::from(b) + TURN - u64::from(a)) % TURN {
            0 => TURN,
            d => d,
        }
    }

    fn push_gap(&mut self, start: u32, len: u64) {
        self.gaps.push((len, Reverse(start.reverse_bits()), start));
    }

    fn valid(&self, start: u32, len: u64) -> bool {
        self.taken.contains_key(&start) && Self::dist(start, self.next(start)) == len
    }

    fn rebuild(&mut self) {
        self.gaps.clear();
        let keys: Vec<u32> = self.taken.keys().copied().collect();
        for &k in &keys {
            let len = Self::dist(k, self.next(k));
            self.push_gap(k, len);
        }
    }

    /// Takes the middle of the widest gap.
    pub(crate) fn take(&mut self) -> u32 {
        if self.taken.is_empty() {
            self.taken.insert(0, 1);
            self.push_gap(0, TURN);
            return 0;
        }
        loop {
            let Some((len, _, start)) = self.gaps.pop() else {
                self.rebuild();
                continue;
            };
            if !self.valid(start, len) {
                continue;
            }
            if len < 2 {
                // Full circle (four billion rooms): share a phase.
                self.push_gap(start, len);
                *self.taken.entry(start).or_insert(0) += 1;
                return start;
            }
            let half = len / 2;
            let mid = ((u64::from(start) + half) % TURN) as u32;
            self.taken.insert(mid, 1);
            self.push_gap(start, half);
            self.push_gap(mid, len - half);
            return mid;
        }
    }

    /// Gives a phase back: its neighbours' gap closes over it.
    pub(crate) fn give_back(&mut self, p: u32) {
        match self.taken.get_mut(&p) {
            Some(n) if *n > 1 => {
                *n -= 1;
                return;
            }
            Some(_) => {
                self.taken.remove(&p);
            }
            None => return,
        }
        if self.taken.is_empty() {
            self.gaps.clear();
            return;
        }
        let before = self.prev(p);
        let after = self.next(before);
        self.push_gap(before, Self::dist(before, after));
        // Stale gaps pile up as rooms come and go: start afresh now and then.
        if self.gaps.len() > 4 * self.taken.len() + 16 {
            self.rebuild();
        }
    }
}

/// Where a room's polls fall: `epoch + offset + k * interval`, the offset being the room's
/// phase of the interval (rounded down to the quantum). Pure arithmetic on instants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    epoch: Instant,
    phase: u32,
    quantum: Duration,
    interval: Duration,
    /// When the room took its seat (before its URL was resolved, for a short id).
    since: Instant,
}

impl Grid {
    pub(crate) fn new(
        epoch: Instant,
        phase: u32,
        quantum: Duration,
        interval: Duration,
        since: Instant,
    ) -> Self {
        Self {
            epoch,
            phase,
            quantum,
            interval: interval.max(Duration::from_millis(1)),
            since,
        }
    }

    /// The same seat with another poll interval (a reload changed it).
    pub(crate) fn with_interval(self, interval: Duration) -> Self {
        Self::new(self.epoch, self.phase, self.quantum, interval, self.since)
    }

    /// The room's offset in each interval.
    pub(crate) fn offset(&self) -> Duration {
        let i = self.interval.as_nanos();
        let raw = i * u128::from(self.phase) / u128::from(TURN);
        let q = self.quantum.as_nanos();
        let at = raw.checked_div(q).map_or(raw, |k| k * q);
        Duration::from_nanos(u64::try_from(at).unwrap_or(u64::MAX))
    }

    /// The first grid point at or after `t`.
    pub(crate) fn at_or_after(&self, t: Instant) -> Instant {
        let first = self.epoch + self.offset();
        if t <= first {
            return first;
        }
        let i = self.interval.as_nanos();
        let k = (t - first).as_nanos().div_ceil(i);
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        first + self.interval.saturating_mul(k)
    }

    /// A room's first poll when it starts at `now`: its first grid point since it took its
    /// seat (rooms seated in the schedule's first interval, at start-up, count from its
    /// start), or at once when that passed while it was being resolved. So no room waits
    /// more than one interval for its first poll.
    pub(crate) fn first_poll(&self, now: Instant) -> Instant {
        let since = if self.since < self.epoch + self.interval {
            self.epoch
        } else {
            self.since
        };
        let due = self.at_or_after(since);
        if due >= now { due } else { now }
    }

    /// The poll after one answered at `now`: the room's next grid point at least half an
    /// interval away (a poll out of turn, asked by an operator or a reconnect, does not bring
    /// the next one forward).
    pub(crate) fn next_poll(&self, now: Instant) -> Instant {
        self.at_or_after(now + self.interval / 2)
    }
}

/// One platform's schedule, shared by its rooms.
#[derive(Debug)]
pub(crate) struct Schedule {
    quantum: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When the first room took its seat: the grid starts there, so the first room's first
    /// slot is at once.
    epoch: Option<Instant>,
    phases: Phases,
}

impl Schedule {
    pub(crate) fn new(quantum: Duration) -> Arc<Self> {
        Arc::new(Self {
            quantum,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain data: a panic elsewhere cannot leave it in a harmful state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A seat for a room, from now until it is dropped.
    pub(crate) fn seat(self: &Arc<Self>) -> Seat {
        let since = Instant::now();
        let mut s = self.state();
        let epoch = *s.epoch.get_or_insert(since);
        let phase = s.phases.take();
        Seat {
            schedule: self.clone(),
            epoch,
            phase,
            since,
        }
    }
}

/// A room's place in its platform's schedule; dropped, the phase is free again.
#[derive(Debug)]
pub(crate) struct Seat {
    schedule: Arc<Schedule>,
    epoch: Instant,
    phase: u32,
    since: Instant,
}

impl Seat {
    pub(crate) fn grid(&self, interval: Duration) -> Grid {
        Grid::new(
            self.epoch,
            self.phase,
            self.schedule.quantum,
            interval,
            self.since,
        )
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.schedule.state().phases.give_back(self.phase);
    }
}

#[cfg(test)]
mod tests;
