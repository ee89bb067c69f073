use super::*;

#[test]
fn serializes_in_the_documented_shape() {
    let e = Event::new(EventType::SegmentComplete, None).with_error("x");
    let v: serde_json::Value = serde_json::to_value(&e).unwrap();
    assert_eq!(v["type"], "segment_complete");
    assert_eq!(v["error"], "x");
    assert!(v["room"].is_null());
    assert!(v.get("hook").is_none(), "only hook_failed carries `hook`");
    let back: Event = serde_json::from_value(v).unwrap();
    assert_eq!(back, e);
}

#[tokio::test]
async fn emitting_never_waits_and_keeps_order() {
    let (tx, mut rx) = EventTx::channel();
    // Far more than any bounded queue held before, with nobody reading: each emit returns.
    let n = 3 * BACKLOG_WARN;
    let ids: Vec<Uuid> = (0..n)
        .map(|i| {
            let e = Event::new(EventType::ALL[i % 8], None);
            let id = e.id;
            tx.emit(e);
            id
        })
        .collect();
    assert_eq!(tx.queued(), n);
    let other = tx.clone();
    let last = Event::new(EventType::LiveEnd, None);
    let last_id = last.id;
    other.emit(last);
    let mut got = Vec::new();
    while let Some(e) = rx.try_recv() {
        got.push(e.id);
    }
    assert_eq!(got.len(), n + 1);
    assert_eq!(&got[..n], &ids[..], "drained in the order emitted");
    assert_eq!(got[n], last_id);
    assert_eq!(tx.queued(), 0);
    tx.emit(Event::new(EventType::DiskLow, None));
    assert_eq!(rx.recv().await.unwrap().kind, EventType::DiskLow);
    assert_eq!(rx.depth().load(Ordering::Relaxed), 0);
    drop(rx);
    // A stopped dispatcher: the event is dropped, not counted, and emit still returns.
    tx.emit(Event::new(EventType::DiskLow, None));
    assert_eq!(tx.queued(), 0);
}

#[test]
fn names_round_trip() {
    for t in EventType::ALL {
        assert_eq!(EventType::parse(t.as_str()), Some(t));
    }
}
