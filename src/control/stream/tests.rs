use futures_util::StreamExt;

use super::*;
use crate::event::EventType;

fn permit() -> OwnedSemaphorePermit {
    Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap()
}

async fn next_text(
    s: &mut (impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin),
) -> Option<String> {
    let b = s.next().await?.ok()?;
    Some(String::from_utf8(b.to_vec()).unwrap())
}

#[test]
fn a_frame_is_the_type_and_one_line_of_the_event_json() {
    let e = Event::new(EventType::RecordingFailed, None).with_error("line one\nline two\r\n");
    let text = String::from_utf8(frame(&e).to_vec()).unwrap();
    let body = text
        .strip_prefix("event: recording_failed\ndata: ")
        .and_then(|t| t.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("not an SSE frame: {text:?}"));
    assert!(!body.contains(['\n', '\r']), "{body:?}");
    let back: Event = serde_json::from_str(body).unwrap();
    assert_eq!(back, e);
}

#[tokio::test(start_paused = true)]
async fn events_arrive_in_order_with_keepalives_between() {
    let (tx, rx) = broadcast::channel(8);
    let mut s = Box::pin(body(rx, Duration::from_secs(15), permit()));
    assert_eq!(next_text(&mut s).await.unwrap(), ": liverec events\n\n");
    let a = Event::new(EventType::LiveStart, None);
    let b = Event::new(EventType::SegmentStart, None);
    tx.send(Arc::new(a.clone())).unwrap();
    tx.send(Arc::new(b.clone())).unwrap();
    assert!(next_text(&mut s).await.unwrap().contains(&a.id.to_string()));
    assert!(next_text(&mut s).await.unwrap().contains(&b.id.to_string()));
    // Nothing to say for 15 s (the paused clock jumps there): a keepalive.
    assert_eq!(next_text(&mut s).await.unwrap(), ": keepalive\n\n");
}

#[tokio::test]
async fn a_client_that_falls_behind_is_dropped_and_frees_its_slot() {
    let slots = Arc::new(Semaphore::new(1));
    let (tx, rx) = broadcast::channel(2);
    let mut s = Box::pin(body(
        rx,
        Duration::from_secs(15),
        slots.clone().try_acquire_owned().unwrap(),
    ));
    assert!(next_text(&mut s).await.is_some(), "greeting");
    assert_eq!(slots.available_permits(), 0);
    // The sender never waits for this reader: three events into room for two.
    for _ in 0..3 {
        tx.send(Arc::new(Event::new(EventType::SegmentComplete, None)))
            .unwrap();
    }
    assert_eq!(next_text(&mut s).await, None, "the lagging stream ends");
    drop(s);
    assert_eq!(slots.available_permits(), 1);
}

#[tokio::test]
async fn a_stream_ends_after_the_last_event_when_the_feed_closes() {
    let (tx, rx) = broadcast::channel(4);
    let mut s = Box::pin(body(rx, Duration::from_secs(15), permit()));
    assert!(next_text(&mut s).await.is_some(), "greeting");
    let last = Event::new(EventType::SegmentComplete, None);
    tx.send(Arc::new(last.clone())).unwrap();
    drop(tx);
    assert!(
        next_text(&mut s)
            .await
            .unwrap()
            .contains(&last.id.to_string())
    );
    assert_eq!(next_text(&mut s).await, None);
}

#[tokio::test]
async fn one_stream_too_many_is_refused() {
    let streams = Streams::new();
    let (tx, _) = broadcast::channel::<Arc<Event>>(2);
    let open: Vec<Response> = (0..MAX_CLIENTS)
        .map(|_| streams.open(tx.subscribe()))
        .collect();
    assert!(open.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(
        streams.open(tx.subscribe()).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    drop(open);
    assert_eq!(streams.open(tx.subscribe()).status(), StatusCode::OK);
}
