//! What retention asks of the dispatcher before it deletes anything: which deliveries are still
//! pending (running, retrying, waiting for a window or parked), and which hooks, webhooks and
//! notifications configured now would get a segment's `segment_complete`.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::ledger::LedgerSegment;
use super::target::TargetCfg;
use crate::event::{Event, EventType};

pub(crate) struct HookView {
    pending: HashSet<Uuid>,
    targets: Vec<Arc<TargetCfg>>,
}

impl HookView {
    pub(super) fn new(pending: HashSet<Uuid>, targets: Vec<Arc<TargetCfg>>) -> Self {
        Self { pending, targets }
    }

    /// A view with nothing pending and these subscribers (`(name, rooms filter)`), for tests.
    #[cfg(test)]
    pub(crate) fn of(pending: &[Uuid], subscribers: &[(&str, &[&str])]) -> Self {
        let targets = subscribers
            .iter()
            .map(|(name, rooms)| {
                Arc::new(TargetCfg::from_hook(crate::config::HookConfig {
                    name: name.to_string(),
                    events: vec![EventType::SegmentComplete],
                    command: Vec::new(),
                    timeout: std::time::Duration::from_secs(1),
                    retries: 0,
                    window: None,
                    concurrency: 1,
                    rooms: rooms.iter().map(|r| r.to_string()).collect(),
                }))
            })
            .collect();
        Self::new(pending.iter().copied().collect(), targets)
    }

    pub(crate) fn is_pending(&self, delivery: Uuid) -> bool {
        self.pending.contains(&delivery)
    }

    /// The names of the targets configured now that would get `s`'s `segment_complete`.
    pub(crate) fn subscribers(&self, s: &LedgerSegment) -> Vec<String> {
        let event =
            Event::new(EventType::SegmentComplete, s.room.clone()).with_segment(s.segment.clone());
        self.targets
            .iter()
            .filter(|t| t.wants(&event))
            .map(|t| t.name.clone())
            .collect()
    }
}
