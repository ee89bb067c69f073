//! `[retention]`: deleting finished segments once their hooks are done ("upload, then
//! delete"). Off unless the section is there with `keep_for` or `min_free_space_target`.

use std::fmt;
use std::time::Duration;

use super::keys;
use super::raw::{Field, Problem, Report};
use crate::util::units::{format_size, parse_size};

/// Free space to restore by deleting: bytes, or a share of the file system under `output_dir`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SpaceTarget {
    Bytes(u64),
    Percent(f64),
}

impl SpaceTarget {
    /// The target in bytes on a file system of `total` bytes.
    pub(crate) fn bytes(self, total: u64) -> u64 {
        match self {
            SpaceTarget::Bytes(n) => n,
            SpaceTarget::Percent(p) => (total as f64 * p / 100.0).ceil() as u64,
        }
    }
}

impl fmt::Display for SpaceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaceTarget::Bytes(n) => f.write_str(&format_size(*n)),
            SpaceTarget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetentionConfig {
    /// Segments older than this (from their end) go.
    pub(crate) keep_for: Option<Duration>,
    /// Below this much free space, the oldest deletable segments go until it is back.
    pub(crate) min_free_space_target: Option<SpaceTarget>,
    /// Only segments every subscribed hook has finished with are deleted.
    pub(crate) require_hooks_done: bool,
    /// The segment's chat file goes with it.
    pub(crate) delete_chat: bool,
    /// Only these rooms' segments (names or keys); empty: every room's.
    pub(crate) rooms: Vec<String>,
    /// Time between two passes.
    pub(crate) interval: Duration,
}

fn read_target(f: &Field<'_, '_>, rep: &mut Report<'_>) -> Option<SpaceTarget> {
    let s = f.str(rep)?.trim();
    if let Some(p) = s.strip_suffix('%') {
        return match p.trim().parse::<f64>() {
            Ok(n) if n > 0.0 && n < 100.0 => Some(SpaceTarget::Percent(n)),
            _ => {
                f.fail(
                    rep,
                    format!(
                        "{s:?} must be a share between 0% and 100% (\"10%\") or a size (\"50GiB\")"
                    ),
                );
                None
            }
        };
    }
    match parse_size(s) {
        Ok(0) => {
            f.fail(
                rep,
                "must be more than 0B (leave it out to delete for age only)",
            );
            None
        }
        Ok(n) => Some(SpaceTarget::Bytes(n)),
        Err(e) => {
            f.fail(rep, format!("{e}, or a share such as \"10%\""));
            None
        }
    }
}

/// Reads `[retention]`; `None` when it is absent (or refused: the problems are in `rep`).
pub(crate) fn read_retention(
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
) -> Option<RetentionConfig> {
    let mut sec = field?.section(rep)?;
    let keep_for = sec
        .take(keys::RETENTION_KEEP_FOR.name)
        .and_then(|f| match f.duration(rep)? {
            d if d.is_zero() => {
                f.fail(
                    rep,
                    "must be more than 0s (leave it out to delete for space only)",
                );
                None
            }
            d => Some(d),
        });
    let target = sec
        .take(keys::RETENTION_MIN_FREE_SPACE_TARGET.name)
        .and_then(|f| read_target(&f, rep));
    let require_hooks_done = keys::RETENTION_REQUIRE_HOOKS_DONE.get(&mut sec, rep);
    let delete_chat = keys::RETENTION_DELETE_CHAT.get(&mut sec, rep);
    let rooms = sec
        .take(keys::RETENTION_ROOMS.name)
        .and_then(|f| f.strings(rep))
        .unwrap_or_default();
    let interval = keys::RETENTION_INTERVAL.get(&mut sec, rep);
    if keep_for.is_none() && target.is_none() {
        rep.error(
            "retention",
            &sec.span,
            "needs keep_for or min_free_space_target (or leave the section out: retention is off)",
        );
    }
    sec.finish(rep);
    Some(RetentionConfig {
        keep_for,
        min_free_space_target: target,
        require_hooks_done,
        delete_chat,
        rooms,
        interval,
    })
}

/// What `check` and a reload say of a retention that may not do what it seems to: a space
/// target under `min_free_space` (recording stops before retention acts), and hooks required
/// when none takes `segment_complete` (nothing would ever be deleted).
pub(crate) fn warnings<'a>(
    r: Option<&RetentionConfig>,
    min_free_space: u64,
    mut events: impl Iterator<Item = &'a Vec<crate::event::EventType>>,
) -> Vec<Problem> {
    let Some(r) = r else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(SpaceTarget::Bytes(n)) = r.min_free_space_target {
        if n <= min_free_space {
            out.push(Problem {
                key: "retention.min_free_space_target".into(),
                line: None,
                reason: format!(
                    "{} is not above min_free_space ({}): recording stops before retention deletes anything",
                    format_size(n),
                    format_size(min_free_space)
                ),
            });
        }
    }
    if r.require_hooks_done
        && !events.any(|e| e.contains(&crate::event::EventType::SegmentComplete))
    {
        out.push(Problem {
            key: "retention.require_hooks_done".into(),
            line: None,
            reason: "no hook or webhook takes segment_complete: no segment is ever done, so retention deletes nothing".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests;
