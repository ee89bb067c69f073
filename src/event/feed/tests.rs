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

#[test]
fn closing_ends_subscribers_after_what_they_have_not_read() {
    let feed = Feed::new(50, 8);
    let mut rx = feed.subscribe();
    let last = Event::new(EventType::SegmentComplete, None);
    feed.publish(&last);
    feed.close();
    assert_eq!(rx.try_recv().map(|e| e.id).ok(), Some(last.id));
    assert!(matches!(
        rx.try_recv(),
        Err(broadcast::error::TryRecvError::Closed)
    ));
    let mut late = feed.subscribe();
    assert!(matches!(
        late.try_recv(),
        Err(broadcast::error::TryRecvError::Closed)
    ));
    // Publishing after the close still fills the ring (nothing is lost to /api/events).
    feed.publish(&Event::new(EventType::LiveEnd, None));
    assert_eq!(feed.recent().len(), 2);
}
