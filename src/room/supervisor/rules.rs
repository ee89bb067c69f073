//! The recording rules from the room task's side: where the wall clock stands against the
//! room's `record_window` (local time: the system's zone, or `TZ`), when to look again, and
//! whether a live's title may start a session. The decisions are the machine's
//! ([`crate::room::state::Machine::on_window`]) and the config's (the window arithmetic, the
//! title patterns).

use std::time::{Duration, Instant};

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};

use super::Supervisor;
use crate::config::rules::AtWindowEnd;
use crate::room::state::Do;

/// The window is looked at again at least this often, so that a change of the system clock or
/// of the time zone's offset (DST) is caught up with.
const RECHECK: Duration = Duration::from_secs(600);

/// Where the room stands against its windows.
#[derive(Debug, Default)]
pub(super) struct WindowClock {
    /// When to look again (none: the room has no windows).
    pub(super) next_check: Option<Instant>,
    /// While outside: when the next window opens.
    next_start: Option<DateTime<Local>>,
}

impl Supervisor {
    /// Tells the machine whether the room is inside a window now, and returns its steps.
    pub(super) fn check_window(&mut self) -> Vec<Do> {
        let rules = &self.cfg.settings.rules;
        let now = super::now();
        if rules.windows.is_empty() {
            self.window = WindowClock::default();
            return self.machine.on_window(true, false, now);
        }
        let local = Local::now();
        let at = rules.windows.at(local.naive_local());
        let wait = at
            .next_edge
            .map_or(RECHECK, |edge| until(local, edge).min(RECHECK));
        self.window.next_check = Some(now + wait);
        self.window.next_start = match at.inside {
            true => None,
            false => at
                .next_edge
                .and_then(|e| Local.from_local_datetime(&e).earliest()),
        };
        let stop = rules.at_window_end == AtWindowEnd::Stop;
        let was_outside = self.machine.is_outside();
        if was_outside == at.inside {
            match at.inside {
                true => tracing::info!("record_window opened: checking the room"),
                false if self.session.is_some() && stop => {
                    tracing::info!("record_window closed: stopping the recording")
                }
                false if self.session.is_some() => tracing::info!(
                    "record_window closed: the live in progress is recorded to its end"
                ),
                false => tracing::info!("outside record_window: not polling until it opens"),
            }
        }
        self.machine.on_window(at.inside, stop, now)
    }

    /// What status shows while the room is outside its windows.
    pub(super) fn window_detail(&self) -> String {
        match self.window.next_start {
            Some(t) => format!(
                "outside record_window; the next window opens {}",
                t.format("%a %Y-%m-%d %H:%M:%S %:z")
            ),
            None => "outside record_window".into(),
        }
    }

    /// Why a live with this title does not start a session, if it does not. A session in
    /// progress is never cut by its title: the title only decides whether one starts.
    pub(super) fn title_refusal(&self) -> Option<String> {
        if self.machine.in_session() {
            return None;
        }
        let rules = &self.cfg.settings.rules;
        rules
            .title_passes(&self.snap.title)
            .err()
            .map(|why| format!("skipped: {why}"))
    }
}

/// From `now` to local time `edge` (a local time that a DST change skips counts as if it were
/// there; never negative).
fn until(now: DateTime<Local>, edge: NaiveDateTime) -> Duration {
    let d = match Local.from_local_datetime(&edge).earliest() {
        Some(at) => at.signed_duration_since(now),
        None => edge - now.naive_local(),
    };
    d.to_std().unwrap_or(Duration::ZERO)
}
