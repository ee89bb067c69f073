//! Which segments a retention pass deletes, and which it would delete but keeps because their
//! hooks are not done: a pure function of the ledger, the hooks' state, the rules, the time and
//! the free space. The dry run and the real run compute the same plan.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hooks::ledger::{LedgerSegment, Outcome};
use crate::hooks::view::HookView;

/// Why a segment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reason {
    /// Older than `keep_for`.
    Age,
    /// Free space is below `min_free_space_target`.
    Space,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Age => "age",
            Reason::Space => "space",
        }
    }
}

/// One segment of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The id of the segment's `segment_complete`.
    pub(crate) segment: Uuid,
    pub(crate) path: PathBuf,
    /// The room's key and name ("" for a segment of no known room).
    pub(crate) room: String,
    pub(crate) name: String,
    pub(crate) index: u32,
    pub(crate) bytes: u64,
    /// Seconds since the segment ended.
    pub(crate) age_s: u64,
    pub(crate) reason: Reason,
    /// Why it is kept (held entries only): the hooks that are not done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) held: Option<String>,
}

/// What a pass deletes now (in this order) and what it keeps because hooks are not done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Plan {
    /// False when the config has no `[retention]`: nothing is ever deleted.
    pub(crate) enabled: bool,
    pub(crate) at: DateTime<FixedOffset>,
    pub(crate) free_bytes: u64,
    pub(crate) total_bytes: u64,
    /// `min_free_space_target` in bytes, when set.
    pub(crate) target_bytes: Option<u64>,
    pub(crate) delete: Vec<Entry>,
    pub(crate) held: Vec<Entry>,
}

/// The rules of one pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) keep_for: Option<Duration>,
    /// Free bytes to restore.
    pub(crate) target: Option<u64>,
}

/// A segment and whether its hooks let it go (`None`) or why not.
pub(crate) struct Candidate<'a> {
    pub(crate) seg: &'a LedgerSegment,
    pub(crate) held: Option<String>,
}

/// Why the hooks keep `seg` (`None`: every hook subscribed to its `segment_complete` has
/// succeeded, or gave up on a segment an operator released). Pending deliveries are asked of
/// the dispatcher first: a delivery the ledger
/// calls done may be running again after a crash. A segment no hook took is kept too: "no hook
/// has finished with it" is exactly the file retention must not touch.
pub(crate) fn hooks_hold(seg: &LedgerSegment, view: &HookView) -> Option<String> {
    let mut why = Vec::new();
    for d in &seg.deliveries {
        let state = if view.is_pending(d.id) {
            "pending"
        } else {
            match d.outcome {
                Outcome::Done => continue,
                Outcome::GaveUp if seg.released => continue,
                Outcome::GaveUp => "gave up",
                // Its end was lost to a crash (a journal write that failed, say).
                Outcome::Open => "outcome unknown",
            }
        };
        why.push(format!("{} {state}", d.target));
    }
    for name in view.subscribers(seg) {
        if !seg.deliveries.iter().any(|d| d.target == name) {
            why.push(format!("{name} never had it (configured later)"));
        }
    }
    if seg.deliveries.is_empty() && why.is_empty() {
        why.push("no hook took its segment_complete".into());
    }
    (!why.is_empty()).then(|| why.join(", "))
}

fn age(seg: &LedgerSegment, now: DateTime<FixedOffset>) -> Duration {
    (now - seg.segment.end).to_std().unwrap_or_default()
}

fn entry(c: &Candidate<'_>, reason: Reason, now: DateTime<FixedOffset>, held: bool) -> Entry {
    let s = c.seg;
    Entry {
        segment: s.event,
        path: s.segment.path.clone(),
        room: s.room.as_ref().map(|r| r.key.clone()).unwrap_or_default(),
        name: s.room.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
        index: s.segment.index,
        bytes: s.segment.bytes,
        age_s: age(s, now).as_secs(),
        reason,
        held: if held { c.held.clone() } else { None },
    }
}

/// Chooses, oldest first (`cands` is in that order): every segment older than `keep_for`,
/// then, while free space (counting what those free) is below the target, the next oldest.
/// A segment the hooks hold is never chosen; it is listed as held when it would have been.
pub(crate) fn choose(
    cands: &[Candidate<'_>],
    rules: Rules,
    now: DateTime<FixedOffset>,
    free: u64,
) -> (Vec<Entry>, Vec<Entry>) {
    let mut delete = Vec::new();
    let mut held = Vec::new();
    let mut taken = vec![false; cands.len()];
    let mut freed: u64 = 0;
    if let Some(keep_for) = rules.keep_for {
        for (i, c) in cands.iter().enumerate() {
            if age(c.seg, now) < keep_for {
                continue;
            }
            taken[i] = true;
            if c.held.is_some() {
                held.push(entry(c, Reason::Age, now, true));
            } else {
                freed = freed.saturating_add(c.seg.segment.bytes);
                delete.push(entry(c, Reason::Age, now, false));
            }
        }
    }
    if let Some(target) = rules.target {
        for (i, c) in cands.iter().enumerate() {
            if free.saturating_add(freed) >= target {
                break;
            }
            if taken[i] {
                continue;
            }
            if c.held.is_some() {
                held.push(entry(c, Reason::Space, now, true));
            } else {
                freed = freed.saturating_add(c.seg.segment.bytes);
                delete.push(entry(c, Reason::Space, now, false));
            }
        }
    }
    (delete, held)
}

#[cfg(test)]
mod tests;
