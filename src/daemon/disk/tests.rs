use super::*;

#[test]
fn disk_low_is_raised_once_on_the_way_down() {
    let (events, mut rx) = EventTx::channel();
    let dir = std::path::Path::new("/srv/rec");
    let mut s = DiskStatus::default();
    let mut raised = || std::iter::from_fn(|| rx.try_recv()).count();
    s.observe(dir, 900, 1000, &events);
    assert!(s.is_low());
    assert_eq!(raised(), 1);
    s.observe(dir, 800, 1000, &events);
    assert_eq!(raised(), 0, "still low: no second event");
    s.observe(dir, 5000, 1000, &events);
    assert!(!s.is_low());
    assert_eq!(s.free(), 5000);
    assert_eq!(raised(), 0, "space returned: a log line, no event");
    s.observe(dir, 10, 1000, &events);
    assert_eq!(raised(), 1, "low again: raised again");
    s.observe(dir, 10, 0, &events);
    assert!(!s.is_low(), "no floor: never low");
}

#[tokio::test]
async fn the_monitor_reports_readings_and_raises_disk_low_from_its_own_task() {
    let dir = tempfile::tempdir().unwrap();
    let (events, mut rx) = EventTx::channel();
    let (tx, mut readings) = tokio::sync::mpsc::unbounded_channel();
    // No disk has this much free: low from the first reading.
    let floor = Arc::new(AtomicU64::new(u64::MAX));
    let task = monitor(
        dir.path().to_path_buf(),
        floor,
        Duration::from_millis(10),
        events,
        move |free, total, low| {
            let _ = tx.send((free, total, low));
        },
    );
    for _ in 0..2 {
        let (free, total, low) = readings.recv().await.unwrap();
        assert!(free > 0 && total >= free && low);
    }
    let e = rx.recv().await.unwrap();
    assert_eq!(e.kind, EventType::DiskLow);
    assert!(rx.try_recv().is_none(), "one event while it stays low");
    task.abort();
}
