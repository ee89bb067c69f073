//! The last ten minutes of each room's bitrate, for the status page's sparklines: sampled by
//! the API every [`INTERVAL`] from the rooms' snapshots, so a page opened now shows the recent
//! past at once. Bounded: [`SAMPLES`] numbers per configured room; a room that is gone is
//! forgotten at the next sample.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::ControlState;

pub(crate) const INTERVAL: Duration = Duration::from_secs(5);
/// Ten minutes of samples.
pub(crate) const SAMPLES: usize = 120;

/// `bitrate_history` in the status: per room key, kbit/s every `interval_s`, oldest first, the
/// newest taken at most `interval_s` ago. Rooms that wrote nothing in the window are left out.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BitrateHistoryJson {
    pub(crate) interval_s: u64,
    pub(crate) rooms: BTreeMap<String, Vec<u32>>,
}

pub(crate) struct BitrateHistory {
    rings: Mutex<BTreeMap<String, VecDeque<u32>>>,
    len: usize,
}

impl BitrateHistory {
    pub(crate) fn new(len: usize) -> Self {
        Self {
            rings: Mutex::new(BTreeMap::new()),
            len: len.max(1),
        }
    }

    /// One sample of every room (key, kbit/s); rooms not among them are dropped.
    pub(crate) fn record(&self, readings: impl IntoIterator<Item = (String, f64)>) {
        let Ok(mut rings) = self.rings.lock() else {
            return;
        };
        let mut next = BTreeMap::new();
        for (key, kbps) in readings {
            let mut ring = rings.remove(&key).unwrap_or_default();
            while ring.len() >= self.len {
                ring.pop_front();
            }
            // A NaN or negative rate (never expected) reads as nothing written.
            let v = if kbps.is_finite() && kbps > 0.0 {
                kbps.round().min(f64::from(u32::MAX)) as u32
            } else {
                0
            };
            ring.push_back(v);
            next.insert(key, ring);
        }
        *rings = next;
    }

    pub(crate) fn json(&self) -> BitrateHistoryJson {
        let rooms = self
            .rings
            .lock()
            .map(|rings| {
                rings
                    .iter()
                    .filter(|(_, r)| r.iter().any(|&v| v > 0))
                    .map(|(k, r)| (k.clone(), r.iter().copied().collect()))
                    .collect()
            })
            .unwrap_or_default();
        BitrateHistoryJson {
            interval_s: INTERVAL.as_secs(),
            rooms,
        }
    }
}

/// Samples every room's bitrate into `shared`'s history every [`INTERVAL`] until `stop`.
pub(super) fn sample(shared: Arc<ControlState>, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let readings: Vec<(String, f64)> = shared
                .rooms()
                .iter()
                .map(|h| {
                    let s = h.snapshot();
                    (s.key, s.bitrate_kbps)
                })
                .collect();
            shared.bitrates().record(readings);
        }
    });
}

#[cfg(test)]
mod tests;
