//! The events the daemon has handled, for those who watch rather than act: the last few (for
//! `GET /api/events`) and a live feed (for the event stream). Publishing never waits and never
//! grows: the ring is bounded, and the live feed is a broadcast channel of fixed capacity, so a
//! subscriber that falls more than that many events behind loses them. Its receiver says so
//! (`Lagged`); it is expected to resynchronise from [`Feed::recent`], never to hold the
//! publisher back.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::Event;

pub(crate) struct Feed {
    recent: Mutex<VecDeque<Event>>,
    keep: usize,
    live: broadcast::Sender<Arc<Event>>,
}

impl Feed {
    /// Keeps the last `keep` events; a subscriber may be `live_capacity` events behind.
    pub(crate) fn new(keep: usize, live_capacity: usize) -> Self {
        let (live, _) = broadcast::channel(live_capacity.max(1));
        Self {
            recent: Mutex::new(VecDeque::with_capacity(keep)),
            keep,
            live,
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
        // An error only means nobody subscribes now.
        let _ = self.live.send(Arc::new(event.clone()));
    }

    /// The last events, oldest first.
    pub(crate) fn recent(&self) -> Vec<Event> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every event published from now on, until the receiver falls too far behind.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;

    #[test]
    fn the_ring_keeps_the_last_events_oldest_first() {
        let feed = Feed::new(3, 8);
        let all: Vec<Event> = (0..5)
            .map(|_| Event::new(EventType::LiveStart, None))
            .collect();
        for e in &all {
            feed.publish(e);
        }
        let ids: Vec<_> = feed.recent().into_iter().map(|e| e.id).collect();
        let want: Vec<_> = all[2..].iter().map(|e| e.id).collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn a_subscriber_gets_what_follows_and_a_slow_one_learns_it_lagged() {
        let feed = Feed::new(50, 2);
        let before = Event::new(EventType::LiveStart, None);
        feed.publish(&before);
        let mut rx = feed.subscribe();
        let next = Event::new(EventType::SegmentStart, None);
        feed.publish(&next);
        assert_eq!(rx.try_recv().map(|e| e.id).ok(), Some(next.id));
        // Three more with room for two: publishing did not wait, the receiver lagged.
        for _ in 0..3 {
            feed.publish(&Event::new(EventType::SegmentComplete, None));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(1))
        ));
    }
}
