//! `record_window`: when a room may be recorded, in local time. Pure: a list of texts in, and
//! for any local time whether it is inside and when the next edge (an end, or a start) comes.
//!
//! A window is `[days ]HH:MM[:SS]-HH:MM[:SS]`: days are `mon`..`sun`, a range (`mon-fri`, also
//! across the week's end: `fri-mon`) or a list (`sat,sun`); without days, every day. An end at or
//! before its start is on the next day (`18:00-02:00`), and the days name the day a window
//! starts. `24:00` is the end of a day. Windows that overlap or touch are one: their common
//! edge is no edge.

use std::fmt;

use chrono::{Datelike, Duration as ChronoDuration, NaiveDateTime, Timelike};

const DAY: i64 = 24 * 3600;
const WEEK: i64 = 7 * DAY;
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
/// More windows than anyone writes; bounds the work of every look-up.
pub(crate) const MAX_WINDOWS: usize = 64;

/// One window as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    /// Bit 0 is Monday.
    days: u8,
    /// Seconds from midnight.
    start: i64,
    /// Seconds from the start, 1 ..= a day.
    len: i64,
}

/// Every window of a room; empty means always.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Windows {
    texts: Vec<String>,
    /// The week as seconds from Monday 00:00: merged, sorted, disjoint `[start, end)` runs,
    /// unrolled over two weeks so that a run across the week's end is one.
    runs: Vec<(i64, i64)>,
}

/// Where a local time stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowAt {
    pub(crate) inside: bool,
    /// When that changes (`None`: never; no windows, or windows that cover the whole week).
    pub(crate) next_edge: Option<NaiveDateTime>,
}

impl Windows {
    /// Parses the list; the error names the entry: `record_window[1] = "25:00-02:00": hour 25
    /// is out of range`.
    pub(crate) fn parse(texts: &[String]) -> Result<Self, String> {
        if texts.len() > MAX_WINDOWS {
            return Err(format!("at most {MAX_WINDOWS} windows"));
        }
        let mut windows = Vec::with_capacity(texts.len());
        for (n, t) in texts.iter().enumerate() {
            let w = parse_one(t).map_err(|e| format!("record_window[{n}] = {t:?}: {e}"))?;
            windows.push(w);
        }
        let mut spans = Vec::new();
        for w in &windows {
            for d in 0..7 {
                if w.days & (1 << d) != 0 {
                    let s = d * DAY + w.start;
                    spans.push((s, s + w.len));
                    spans.push((s + WEEK, s + WEEK + w.len));
                }
            }
        }
        spans.sort_unstable();
        let mut runs: Vec<(i64, i64)> = Vec::new();
        for (s, e) in spans {
            match runs.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => runs.push((s, e)),
            }
        }
        Ok(Self {
            texts: texts.to_vec(),
            runs,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Whether local time `t` is inside a window, and when that changes.
    pub(crate) fn at(&self, t: NaiveDateTime) -> WindowAt {
        if self.texts.is_empty() {
            return WindowAt {
                inside: true,
                next_edge: None,
            };
        }
        let since_monday = i64::from(t.weekday().num_days_from_monday()) * DAY
            + i64::from(t.num_seconds_from_midnight());
        // A time in the first week, or the same time a week on (the runs are unrolled over
        // two), finds the run that holds it and the next one's start.
        let inside = |p: i64| self.runs.iter().find(|(s, e)| *s <= p && p < *e).copied();
        let whole = self.runs.iter().any(|(s, e)| e - s >= WEEK);
        let edge = |p: i64, at: i64| {
            let base = t.with_nanosecond(0).unwrap_or(t);
            // Checked: a clock at the end of chrono's range has no next edge, not a panic.
            (!whole)
                .then(|| base.checked_add_signed(ChronoDuration::seconds(at - p)))
                .flatten()
        };
        for p in [since_monday, since_monday + WEEK] {
            if let Some((_, end)) = inside(p) {
                return WindowAt {
                    inside: true,
                    next_edge: edge(p, end),
                };
            }
        }
        let next = self
            .runs
            .iter()
            .map(|(s, _)| *s)
            .find(|s| *s > since_monday);
        WindowAt {
            inside: false,
            next_edge: next.and_then(|s| edge(since_monday, s)),
        }
    }
}

impl fmt::Display for Windows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.texts.join(", "))
    }
}

fn parse_one(text: &str) -> Result<Window, String> {
    let text = text.trim();
    let (days, times) = match text.rsplit_once(char::is_whitespace) {
        Some((d, t)) => (parse_days(d.trim())?, t),
        None => (0x7f, text),
    };
    let (a, b) = times
        .split_once('-')
        .ok_or("expected \"HH:MM-HH:MM\", optionally after days (\"sat 10:00-14:00\")")?;
    let start = parse_time(a, false)?;
    let end = parse_time(b, true)?;
    let len = if end > start {
        end - start
    } else {
        end + DAY - start
    };
    if len > DAY {
        return Err("a window is at most a day long".into());
    }
    Ok(Window { days, start, len })
}

fn parse_days(text: &str) -> Result<u8, String> {
    let day = |s: &str| -> Result<usize, String> {
        let s = s.trim().to_ascii_lowercase();
        (0..7)
            .find(|&i| s == DAY_NAMES[i] || s == FULL_DAY_NAMES[i])
            .ok_or_else(|| format!("{s:?} is not a day (mon, tue, wed, thu, fri, sat, sun)"))
    };
    let mut days = 0u8;
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    days |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days |= 1 << day(part)?,
        }
    }
    Ok(days)
}

/// `HH:MM` or `HH:MM:SS` as seconds from midnight; `24:00` only as an end.
fn parse_time(text: &str, end: bool) -> Result<i64, String> {
    let text = text.trim();
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("{text:?} is not a time (write \"HH:MM\")"));
    }
    let n = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<i64>());
    let (h, m, s) = match (n(0), n(1), n(2)) {
        (Ok(h), Ok(m), Ok(s)) => (h, m, s),
        _ => return Err(format!("{text:?} is not a time (write \"HH:MM\")")),
    };
    if h == 24 && m == 0 && s == 0 && end {
        return Ok(DAY);
    }
    if h > 23 {
        return Err(format!("hour {h} is out of range"));
    }
    if m > 59 {
        return Err(format!("minute {m} is out of range"));
    }
    if s > 59 {
        return Err(format!("second {s} is out of range"));
    }
    Ok(h * 3600 + m * 60 + s)
}
