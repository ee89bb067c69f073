//! The one retry schedule: a pause that doubles with each failure in a row, up to a cap. Room
//! reconnects, URL resolutions, hook deliveries and a platform's risk-control pause all wait by
//! it; each keeps its own count of failures (when a count resets is their business, not this
//! type's).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// The pause after the first failure.
    pub(crate) base: Duration,
    /// The longest pause.
    pub(crate) cap: Duration,
}

impl Backoff {
    pub(crate) const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The pause after the `failures`-th failure in a row: none before the first, `base` after
    /// it, then twice the one before, never more than `cap` (however large `failures` grows).
    pub(crate) fn delay(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(1) else {
            return Duration::ZERO;
        };
        1u32.checked_shl(doublings)
            .and_then(|factor| self.base.checked_mul(factor))
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

#[cfg(test)]
mod tests;
