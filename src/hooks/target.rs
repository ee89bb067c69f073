//! The hooks and webhooks the dispatcher delivers to, and their queues of pending deliveries.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::time::Instant;
use uuid::Uuid;

use tokio_util::sync::CancellationToken;

use super::command::{self, Outcome};
use super::{TargetKind, notify, webhook};
use crate::config::{HookConfig, NotifyConfig, WebhookConfig, Window};
use crate::event::{Event, EventType};
use crate::util::secret::redact_endpoint;

/// Webhook deliveries running at once per webhook (for different rooms; one room's are in order).
const WEBHOOK_CONCURRENCY: usize = 4;
/// The same for a notification entry: a chat service rate-limits its senders, and messages of
/// several rooms at once are rare.
const NOTIFY_CONCURRENCY: usize = 2;

/// What a hook or webhook does, and when.
pub(super) struct TargetCfg {
    pub(super) name: String,
    pub(super) kind: TargetKind,
    pub(super) events: Vec<EventType>,
    pub(super) rooms: Vec<String>,
    pub(super) retries: u32,
    pub(super) window: Option<Window>,
    pub(super) concurrency: usize,
    pub(super) action: Action,
}

pub(super) enum Action {
    Command(HookConfig),
    Webhook(WebhookConfig),
    Notify(NotifyConfig),
}

impl Action {
    /// One attempt of delivery `id` of `event`; `cancel` kills it (the shutdown deadline).
    pub(super) async fn attempt(
        &self,
        client: &reqwest::Client,
        event: &Event,
        id: Uuid,
        attempt: u32,
        cancel: &CancellationToken,
    ) -> Outcome {
        let sent = match self {
            Action::Command(h) => return command::run(h, event, id, attempt, cancel).await,
            Action::Webhook(w) => tokio::select! {
                r = webhook::post(client, w, event, id) => r,
                _ = cancel.cancelled() => return Outcome::Cancelled,
            },
            Action::Notify(n) => tokio::select! {
                r = notify::send(client, n, event) => r,
                _ = cancel.cancelled() => return Outcome::Cancelled,
            },
        };
        match sent {
            Ok(()) => Outcome::Success,
            Err(why) => Outcome::Failed(why),
        }
    }
}

impl TargetCfg {
    pub(super) fn from_hook(h: HookConfig) -> Self {
        Self {
            name: h.name.clone(),
            kind: TargetKind::Hook,
            events: h.events.clone(),
            rooms: h.rooms.clone(),
            retries: h.retries,
            window: h.window,
            concurrency: h.concurrency.max(1),
            action: Action::Command(h),
        }
    }

    pub(super) fn from_webhook(w: WebhookConfig) -> Self {
        Self {
            name: w.name.clone(),
            kind: TargetKind::Webhook,
            events: w.events.clone(),
            rooms: w.rooms.clone(),
            retries: w.retries,
            window: w.window,
            concurrency: WEBHOOK_CONCURRENCY,
            action: Action::Webhook(w),
        }
    }

    pub(super) fn from_notify(n: NotifyConfig) -> Self {
        Self {
            name: n.name.clone(),
            kind: TargetKind::Notify,
            events: n.events.clone(),
            rooms: n.rooms.clone(),
            retries: n.retries,
            window: n.window,
            concurrency: NOTIFY_CONCURRENCY,
            action: Action::Notify(n),
        }
    }

    /// Subscribed to this event type, and the room passes the `rooms` filter (by configured
    /// name or key). A daemon-wide event (about no room and no file, such as `disk_low`) passes
    /// every filter; a segment whose room could not be told does not: it may be any room's, and
    /// a hook limited to some rooms must never get another room's file.
    pub(super) fn wants(&self, e: &Event) -> bool {
        self.events.contains(&e.kind)
            && (self.rooms.is_empty()
                || match &e.room {
                    Some(r) => self.rooms.iter().any(|x| *x == r.name || *x == r.key),
                    None => e.segment.is_none(),
                })
    }

    pub(super) fn describe(&self) -> String {
        match &self.action {
            Action::Command(_) => format!("hook {:?}", self.name),
            Action::Webhook(w) => format!("webhook {:?} ({})", self.name, redact_endpoint(&w.url)),
            Action::Notify(n) => format!("notify {:?} ({})", self.name, n.endpoint.describe()),
        }
    }
}

/// One pending delivery in memory (its event stays in the journal until it runs).
pub(super) struct Item {
    pub(super) id: Uuid,
    pub(super) seq: u64,
    /// Failed attempts so far.
    pub(super) attempts: u32,
    /// No attempt before this (a retry's backoff).
    pub(super) not_before: Option<Instant>,
    pub(super) running: bool,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) succeeded: u64,
    pub(super) attempts_failed: u64,
    pub(super) gave_up: u64,
}

pub(super) struct Target {
    pub(super) cfg: Arc<TargetCfg>,
    /// Per room key ("" for events about no room), in event order.
    pub(super) queues: HashMap<String, VecDeque<Item>>,
    pub(super) running: usize,
    pub(super) counters: Counters,
}

impl Target {
    pub(super) fn new(cfg: TargetCfg) -> Self {
        Self {
            cfg: Arc::new(cfg),
            queues: HashMap::new(),
            running: 0,
            counters: Counters::default(),
        }
    }

    pub(super) fn item_mut(&mut self, room: &str, id: Uuid) -> Option<&mut Item> {
        self.queues.get_mut(room)?.iter_mut().find(|i| i.id == id)
    }

    pub(super) fn remove(&mut self, room: &str, id: Uuid) {
        if let Some(q) = self.queues.get_mut(room) {
            q.retain(|i| i.id != id);
            if q.is_empty() {
                self.queues.remove(room);
            }
        }
    }

    /// Takes over deliveries parked while no hook had this name, in their original order;
    /// returns how many.
    pub(super) fn adopt(&mut self, queues: HashMap<String, VecDeque<Item>>) -> usize {
        let mut n = 0;
        for (room, items) in queues {
            n += items.len();
            self.running += items.iter().filter(|i| i.running).count();
            let q = self.queues.entry(room).or_default();
            q.extend(items);
            q.make_contiguous().sort_by_key(|i| i.seq);
        }
        n
    }

    pub(super) fn pending(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests;
