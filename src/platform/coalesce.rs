//! Many rooms' questions, one request: a caller adds its key and waits for the answer; the
//! first key starts a short window, and when it closes (or as soon as a request is full) the
//! keys gathered so far are asked in one request. Requests are sent by tasks of their own, so
//! a caller that gives up loses only its own answer, never the others'.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

/// One request that answers many keys.
#[async_trait]
pub(crate) trait Batch: Send + Sync + 'static {
    type Key: Clone + Eq + Hash + Send + Sync + 'static;
    type Answer: Clone + Send + 'static;

    /// Asks about `keys` (distinct, at most the coalescer's `max`) in one request: one answer
    /// per key, in the same order.
    async fn ask(&self, keys: Vec<Self::Key>) -> Vec<Self::Answer>;
}

type Waiting<B> = Vec<(<B as Batch>::Key, oneshot::Sender<<B as Batch>::Answer>)>;

struct Pending<B: Batch> {
    waiting: Waiting<B>,
    /// A window is open: its timer will send what has gathered.
    timer: bool,
}

/// Gathers keys into requests of at most `max`.
pub(crate) struct Coalescer<B: Batch> {
    batch: Arc<B>,
    window: Duration,
    max: usize,
    pending: Arc<Mutex<Pending<B>>>,
}

impl<B: Batch> Coalescer<B> {
    pub(crate) fn new(batch: B, window: Duration, max: usize) -> Self {
        Self {
            batch: Arc::new(batch),
            window,
            max: max.max(1),
            pending: Arc::new(Mutex::new(Pending {
                waiting: Vec::new(),
                timer: false,
            })),
        }
    }

    pub(crate) fn batch(&self) -> &B {
        &self.batch
    }

    fn lock(pending: &Mutex<Pending<B>>) -> std::sync::MutexGuard<'_, Pending<B>> {
        // Plain data: a panic elsewhere cannot leave it in a harmful state.
        pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer about `key`, from the next request; `None` when that request was lost (its
    /// task panicked or the runtime is stopping).
    pub(crate) async fn ask(&self, key: B::Key) -> Option<B::Answer> {
        let (tx, rx) = oneshot::channel();
        let full = {
            let mut p = Self::lock(&self.pending);
            p.waiting.push((key, tx));
            if p.waiting.len() >= self.max {
                Some(std::mem::take(&mut p.waiting))
            } else {
                if !p.timer {
                    p.timer = true;
                    let (pending, batch, window, max) = (
                        self.pending.clone(),
                        self.batch.clone(),
                        self.window,
                        self.max,
                    );
                    tokio::spawn(async move {
                        tokio::time::sleep(window).await;
                        let waiting = {
                            let mut p = Self::lock(&pending);
                            p.timer = false;
                            std::mem::take(&mut p.waiting)
                        };
                        let mut rest = waiting;
                        while !rest.is_empty() {
                            let tail = rest.split_off(rest.len().min(max));
                            tokio::spawn(send(batch.clone(), rest));
                            rest = tail;
                        }
                    });
                }
                None
            }
        };
        if let Some(waiting) = full {
            tokio::spawn(send(self.batch.clone(), waiting));
        }
        rx.await.ok()
    }
}

/// Sends one request for the callers still waiting, and answers each.
async fn send<B: Batch>(batch: Arc<B>, waiting: Waiting<B>) {
    let mut keys: Vec<B::Key> = Vec::new();
    let mut by_key: HashMap<B::Key, Vec<oneshot::Sender<B::Answer>>> = HashMap::new();
    for (key, tx) in waiting {
        if tx.is_closed() {
            continue;
        }
        let senders = by_key.entry(key.clone()).or_default();
        if senders.is_empty() {
            keys.push(key);
        }
        senders.push(tx);
    }
    if keys.is_empty() {
        return;
    }
    let answers = batch.ask(keys.clone()).await;
    for (key, answer) in keys.into_iter().zip(answers) {
        for tx in by_key.remove(&key).unwrap_or_default() {
            let _ = tx.send(answer.clone());
        }
    }
}

#[cfg(test)]
mod tests;
