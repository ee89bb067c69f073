//! What a platform's rooms ask of its request budget, and whether the budget covers it: the
//! arithmetic behind the warning that `liverec check` prints and every (re)load logs when it
//! does not ("300 douyin rooms at 30s need 10 requests/s; the douyin budget is 1/s: each room
//! is checked about every 300s"). Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use super::PlatformKind;
use super::limiter::Budget;
use crate::util::units::format_duration;

/// How a platform checks its rooms' status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checks {
    /// One request per room and poll.
    PerRoom,
    /// One request answers up to this many rooms polled at once (Bilibili's batch status).
    Batched(usize),
}

impl Checks {
    /// How a platform's rooms are checked.
    pub(crate) fn of(kind: PlatformKind) -> Self {
        match kind {
            PlatformKind::Bilibili => Checks::Batched(super::bilibili::BATCH_ROOMS),
            PlatformKind::Douyin | PlatformKind::Direct => Checks::PerRoom,
        }
    }

    /// Requests per interval for `rooms` rooms.
    fn per_interval(self, rooms: usize) -> usize {
        match self {
            Checks::PerRoom => rooms,
            Checks::Batched(n) => rooms.div_ceil(n.max(1)),
        }
    }
}

/// Requests per second the status checks of rooms polled at `intervals` need.
pub(crate) fn need(intervals: &[Duration], checks: Checks) -> f64 {
    by_interval(intervals)
        .iter()
        .map(|(i, n)| checks.per_interval(*n) as f64 / i.as_secs_f64().max(0.001))
        .sum()
}

fn by_interval(intervals: &[Duration]) -> BTreeMap<Duration, usize> {
    let mut m = BTreeMap::new();
    for i in intervals {
        *m.entry(*i).or_insert(0) += 1;
    }
    m
}

/// `10`, `0.5`, `3.3`: a rate as a person would say it.
fn rate(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{:.0}", x.round())
    } else {
        format!("{x:.1}")
    }
}

/// The warning when `budget` cannot cover the status checks of `platform`'s rooms, polled at
/// `intervals` (one per enabled room), else `None`. It says what the rooms need, what the
/// budget gives, and how often each room is really checked: the requests wait their turn, so
/// the rotation stretches by the ratio of the two.
pub(crate) fn budget_warning(
    platform: PlatformKind,
    intervals: &[Duration],
    checks: Checks,
    budget: Budget,
) -> Option<String> {
    let needed = need(intervals, checks);
    if intervals.is_empty() || needed <= budget.per_second {
        return None;
    }
    let stretch = needed / budget.per_second;
    let groups = by_interval(intervals);
    let (first, last) = (groups.keys().next()?, groups.keys().next_back()?);
    let at = if first == last {
        format_duration(*first)
    } else {
        format!("{} to {}", format_duration(*first), format_duration(*last))
    };
    let how = match checks {
        Checks::Batched(n) if first == last => format!(
            " ({} requests of up to {n} rooms every {at})",
            checks.per_interval(intervals.len())
        ),
        Checks::Batched(n) => format!(" (requests of up to {n} rooms)"),
        Checks::PerRoom => String::new(),
    };
    let every = if first == last {
        format!(
            "each room is checked about every {}s",
            (first.as_secs_f64() * stretch).round()
        )
    } else {
        format!(
            "each room is checked about {} times less often than its poll_interval",
            rate(stretch)
        )
    };
    Some(format!(
        "{} {platform} rooms at {at} need {} requests/s{how}; the {platform} budget is {}/s: {every}",
        intervals.len(),
        rate(needed),
        rate(budget.per_second),
    ))
}

#[cfg(test)]
mod tests;
