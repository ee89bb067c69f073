//! The events the daemon has handled, for those who watch rather than act: the last few (for
//! `GET /api/events`) and a live feed (for the event stream). Publishing never waits and never
//! grows: the ring is bounded, and the live feed is a broadcast channel of fixed capacity, so a
//! subscriber that falls more than that many events behind loses them. Its receiver says so
//! (`Lagged`); it is expected to resynchronise from [`Feed::recent`], never to hold the
//! publisher back. Once the daemon has handled its last event the feed is closed: subscribers
//! get what is left, then the end.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::Event;

pub(crate) struct Feed {
    recent: Mutex<VecDeque<Event>>,
    keep: usize,
    /// None once closed.
    live: Mutex<Option<broadcast::Sender<Arc<Event>>>>,
}

impl Feed {
    /// Keeps the last `keep` events; a subscriber may be `live_capacity` events behind.
    pub(crate) fn new(keep: usize, live_capacity: usize) -> Self {
        let (live, _) = broadcast::channel(live_capacity.max(1));
        Self {
            recent: Mutex::new(VecDeque::with_capacity(keep)),
            keep,
            live: Mutex::new(Some(live)),
        }
    }

    /// Adds `event` to the ring and hands it to every subscriber.
    pub(crate) fn publish(&self, event: &Event) {
        if let Ok(mut recent) = self.recent.lock() {
            while recent.len() >= self.keep.max(1) {
                recent.pop_front();
            }
            recent.push_back(event.clone());
        }
        if let Ok(live) = self.live.lock() {
            if let Some(live) = live.as_ref() {
                // An error only means nobody subscribes now.
                let _ = live.send(Arc::new(event.clone()));
            }
        }
    }

    /// The last events, oldest first.
    pub(crate) fn recent(&self) -> Vec<Event> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every event published from now on, until the receiver falls too far behind or the
    /// feed closes.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        let live = self
            .live
            .lock()
            .ok()
            .and_then(|l| l.as_ref().map(|s| s.subscribe()));
        // A closed feed: a receiver whose sender is gone, so it ends at once.
        live.unwrap_or_else(|| broadcast::channel(1).1)
    }

    /// No more events: subscribers receive what they have not read yet, then the end.
    pub(crate) fn close(&self) {
        if let Ok(mut live) = self.live.lock() {
            live.take();
        }
    }
}

#[cfg(test)]
mod tests;
