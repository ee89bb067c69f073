//! The replay filter: a CDN that is reconnected to often starts the new connection by sending
//! its GOP cache again. GOPs already written are recognised by fingerprint and dropped; a CDN
//! that sends nothing else is asked for a fresh connection. The GOP a connection was cut in
//! the middle of is held back until the next connection shows whether it is replayed in full
//! (then the full one is written, in the next file) or not (then the cut one ends the current
//! file). Either way nothing is lost and nothing written twice.

use std::collections::VecDeque;

use super::gop::Gop;

/// GOP fingerprints remembered for spotting a CDN replaying data after a reconnect.
const RECENT_GOPS: usize = 16;
/// This many replayed GOPs in a row means the CDN is stuck: ask for a fresh connection.
const MAX_REPLAYED_GOPS: u32 = 10;

/// A complete GOP, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Fresh,
    /// Already written: drop it.
    Replayed,
    /// Drop it, and ask for a fresh connection for this reason.
    Stuck(String),
}

/// What becomes of the held GOP, now that the next connection's first GOP is known.
pub(super) enum Held {
    /// The new connection sends it again in full: drop the cut copy, end the file.
    Replayed,
    /// The new connection goes on elsewhere: write the cut GOP and end the file with it.
    Cut(Gop),
}

/// How a connection's last (incomplete) GOP is settled.
pub(super) enum Settle {
    /// Kept back until the next connection shows how the stream continues.
    Hold,
    /// Write this GOP and close the file, then the second one (if any) likewise.
    Write(Gop, Option<Gop>),
    /// Not a GOP to hold (no keyframe to align to): flush it as usual, then close the file.
    Flush(Gop),
}

struct HeldGop {
    gop: Gop,
    fingerprints: Vec<u64>,
}

#[derive(Default)]
pub(super) struct ReplayFilter {
    recent: VecDeque<u64>,
    replayed: u32,
    held: Option<HeldGop>,
}

impl ReplayFilter {
    /// Judges a complete GOP by its fingerprint ([`Gop::fingerprint`]).
    pub(super) fn judge(&mut self, fingerprint: u64) -> Verdict {
        if self.recent.contains(&fingerprint) {
            self.replayed += 1;
            tracing::debug!(
                "dropped a GOP the CDN sent again ({} in a row)",
                self.replayed
            );
            if self.replayed > MAX_REPLAYED_GOPS {
                self.replayed = 0;
                return Verdict::Stuck(format!(
                    "the CDN sent more than {MAX_REPLAYED_GOPS} GOPs it had already sent"
                ));
            }
            return Verdict::Replayed;
        }
        if self.replayed > 0 {
            tracing::info!("dropped {} GOP(s) the CDN replayed", self.replayed);
        }
        self.replayed = 0;
        Verdict::Fresh
    }

    /// A GOP was written: a later copy of it is a replay.
    pub(super) fn remember(&mut self, fingerprint: u64) {
        if self.recent.len() == RECENT_GOPS {
            self.recent.pop_front();
        }
        self.recent.push_back(fingerprint);
    }

    /// The first fresh GOP of a connection settles the GOP the previous one was cut in.
    pub(super) fn settle_held(&mut self, next: &Gop) -> Option<Held> {
        let held = self.held.take()?;
        if next.extends(&held.fingerprints) {
            tracing::debug!("the new connection replayed the interrupted GOP in full");
            Some(Held::Replayed)
        } else {
            Some(Held::Cut(held.gop))
        }
    }

    /// The connection ended with `gop` incomplete. `has_video`: the stream has video, so a GOP
    /// that starts with a keyframe may be replayed by the next connection.
    pub(super) fn end_connection(&mut self, gop: Gop, has_video: bool) -> Settle {
        match self.held.take() {
            // A second connection ended before settling the first one's GOP: settle it now.
            Some(held) => {
                if gop.tags.is_empty() || self.recent.contains(&gop.fingerprint()) {
                    Settle::Write(held.gop, None)
                } else if gop.extends(&held.fingerprints) {
                    Settle::Write(gop, None)
                } else if gop.is_prefix_of(&held.fingerprints) {
                    Settle::Write(held.gop, None)
                } else {
                    Settle::Write(held.gop, Some(gop))
                }
            }
            None if gop.starts_with_keyframe && has_video => {
                let fingerprints = gop.tag_fingerprints();
                self.held = Some(HeldGop { gop, fingerprints });
                Settle::Hold
            }
            None => Settle::Flush(gop),
        }
    }

    /// The session ends: the held GOP, if any, is all that is left of its connection.
    pub(super) fn take_held(&mut self) -> Option<Gop> {
        self.held.take().map(|h| h.gop)
    }
}

#[cfg(test)]
mod tests;
