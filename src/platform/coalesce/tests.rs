use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::time::Instant;

/// Answers each key doubled; remembers every request.
#[derive(Default)]
struct Double {
    requests: Mutex<Vec<(Instant, Vec<u32>)>>,
    asked: AtomicUsize,
}

#[async_trait]
impl Batch for Double {
    type Key = u32;
    type Answer = u32;
    async fn ask(&self, keys: Vec<u32>) -> Vec<u32> {
        self.asked.fetch_add(1, Ordering::Relaxed);
        self.requests
            .lock()
            .unwrap()
            .push((Instant::now(), keys.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        keys.iter().map(|k| k * 2).collect()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn asks_within_the_window_share_requests_of_at_most_max() {
    let c = Arc::new(Coalescer::new(Double::default(), ms(250), 100));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..250u32)
        .map(|k| {
            let c = c.clone();
            tokio::spawn(async move { (k, c.ask(k).await, Instant::now()) })
        })
        .collect();
    for h in handles {
        let (k, answer, at) = h.await.unwrap();
        assert_eq!(answer, Some(k * 2));
        assert!(at - t0 <= ms(300), "{k}: {:?}", at - t0);
    }
    let requests = c.batch().requests.lock().unwrap().clone();
    let sizes: Vec<usize> = requests.iter().map(|(_, k)| k.len()).collect();
    // Two full requests at once, the rest when the window closed.
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(requests[0].0, t0);
    assert_eq!(requests[1].0, t0);
    assert_eq!(requests[2].0, t0 + ms(250));
}

#[tokio::test(start_paused = true)]
async fn a_lone_ask_waits_for_the_window_and_a_key_asked_twice_is_asked_once() {
    let c = Arc::new(Coalescer::new(Double::default(), ms(250), 100));
    let t0 = Instant::now();
    let (a, b) = tokio::join!(c.ask(7), c.ask(7));
    assert_eq!((a, b), (Some(14), Some(14)));
    assert_eq!(Instant::now() - t0, ms(300));
    let requests = c.batch().requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].1, [7]);
    // The next window opens with the next ask.
    assert_eq!(c.ask(1).await, Some(2));
    assert_eq!(c.batch().asked.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_takes_nothing_from_the_others() {
    let c = Arc::new(Coalescer::new(Double::default(), ms(250), 100));
    let gone = {
        let c = c.clone();
        tokio::spawn(async move { c.ask(1).await })
    };
    let stays = {
        let c = c.clone();
        tokio::spawn(async move { c.ask(2).await })
    };
    tokio::time::sleep(ms(10)).await;
    gone.abort();
    assert_eq!(stays.await.unwrap(), Some(4));
    // Only the key still wanted was asked.
    let requests = c.batch().requests.lock().unwrap().clone();
    assert_eq!(requests[0].1, [2]);
    // Nobody waits: no request at all.
    let alone = {
        let c = c.clone();
        tokio::spawn(async move { c.ask(3).await })
    };
    tokio::time::sleep(ms(10)).await;
    alone.abort();
    tokio::time::sleep(ms(500)).await;
    assert_eq!(c.batch().asked.load(Ordering::Relaxed), 1);
}
