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
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn budget(per_second: f64) -> Budget {
        Budget {
            per_second,
            burst: 2,
        }
    }

    #[test]
    fn douyin_rooms_beyond_the_budget_are_told_their_real_interval() {
        let rooms = vec![secs(30); 300];
        assert_eq!(need(&rooms, Checks::PerRoom), 10.0);
        assert_eq!(
            budget_warning(PlatformKind::Douyin, &rooms, Checks::PerRoom, budget(1.0)).as_deref(),
            Some(
                "300 douyin rooms at 30s need 10 requests/s; the douyin budget is 1/s: each room is checked about every 300s"
            )
        );
        // Within the budget: nothing to say.
        let few = vec![secs(30); 30];
        assert_eq!(
            budget_warning(PlatformKind::Douyin, &few, Checks::PerRoom, budget(1.0)),
            None
        );
        assert_eq!(
            budget_warning(PlatformKind::Douyin, &[], Checks::PerRoom, budget(1.0)),
            None
        );
    }

    #[test]
    fn batched_rooms_count_one_request_per_hundred() {
        // 1,000 Bilibili rooms at 30 s: 10 batch requests every 30 s, far within 4/s.
        let rooms = vec![secs(30); 1000];
        let checks = Checks::of(PlatformKind::Bilibili);
        assert!((need(&rooms, checks) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            budget_warning(PlatformKind::Bilibili, &rooms, checks, budget(4.0)),
            None
        );
        // 15,000 need 150 every 30 s: 5/s against 4/s.
        let many = vec![secs(30); 15_000];
        assert_eq!(
            budget_warning(PlatformKind::Bilibili, &many, checks, budget(4.0)).as_deref(),
            Some(
                "15000 bilibili rooms at 30s need 5 requests/s (150 requests of up to 100 rooms every 30s); the bilibili budget is 4/s: each room is checked about every 38s"
            )
        );
        // A partial batch is a whole request.
        assert_eq!(need(&[secs(10); 101], checks), 0.2);
    }

    #[test]
    fn mixed_intervals_are_said_as_a_range_and_a_ratio() {
        let mut rooms = vec![secs(10); 20];
        rooms.extend(vec![secs(60); 60]);
        // 2/s + 1/s against 0.5/s: six times less often.
        assert_eq!(need(&rooms, Checks::PerRoom), 3.0);
        assert_eq!(
            budget_warning(PlatformKind::Douyin, &rooms, Checks::PerRoom, budget(0.5)).as_deref(),
            Some(
                "80 douyin rooms at 10s to 1m need 3 requests/s; the douyin budget is 0.5/s: each room is checked about 6 times less often than its poll_interval"
            )
        );
    }
}
