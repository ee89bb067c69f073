//! The dispatcher's side of the segment ledger (see `hooks::ledger`): a `segment_complete` is
//! recorded with its deliveries before they are journaled, a delivery's end before the
//! journal's line, and a `segment_deleted` once it is journaled. Retention asks for a
//! [`HookView`]: what is pending and who subscribes now.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;

use uuid::Uuid;

use super::Core;
use crate::event::{Event, EventType};
use crate::hooks::ledger::Ledger;
use crate::hooks::view::HookView;

/// The ledger records that go with one event's journal lines.
pub(super) struct LedgerNote {
    ledger: Option<Arc<Ledger>>,
    deliveries: Vec<(Uuid, String)>,
}

impl LedgerNote {
    /// Runs `journal` (the event's journal lines) between the ledger's records. A failed ledger
    /// write is logged and costs only a file kept longer; a failed journal write is returned.
    pub(super) fn record<T>(
        &self,
        event: &Event,
        journal: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<T> {
        let Some(ledger) = &self.ledger else {
            return journal();
        };
        if event.kind == EventType::SegmentComplete {
            if let Err(e) = ledger.segment(event, &self.deliveries) {
                tracing::error!(
                    "cannot write {} ({e}): retention will keep this segment",
                    ledger.path().display()
                );
            }
        }
        let out = journal()?;
        if event.kind == EventType::SegmentDeleted {
            if let Err(e) = ledger.deleted(event.id) {
                tracing::error!("cannot write {} ({e})", ledger.path().display());
            }
        }
        Ok(out)
    }
}

/// Records how delivery `id` of a `segment_complete` ended, before the journal does.
pub(super) fn note_outcome(ledger: Option<&Ledger>, id: Uuid, done: bool) {
    if let Some(l) = ledger {
        if let Err(e) = l.outcome(id, done) {
            tracing::error!(
                "cannot write {} ({e}): retention will keep this segment",
                l.path().display()
            );
        }
    }
}

impl Core {
    pub(in crate::hooks) fn keep_ledger(&mut self, ledger: Arc<Ledger>) {
        self.ledger = Some(ledger);
    }

    pub(super) fn ledger_note(
        &self,
        event: &Event,
        targets: &[String],
        ids: &[Uuid],
    ) -> LedgerNote {
        let wanted = matches!(
            event.kind,
            EventType::SegmentComplete | EventType::SegmentDeleted
        );
        LedgerNote {
            ledger: self.ledger.clone().filter(|_| wanted),
            deliveries: ids.iter().copied().zip(targets.iter().cloned()).collect(),
        }
    }

    /// The ledger, when `event`'s deliveries are recorded in it.
    pub(super) fn ledger_of(&self, event: &Event) -> Option<Arc<Ledger>> {
        self.ledger
            .clone()
            .filter(|_| event.kind == EventType::SegmentComplete)
    }

    /// What is pending now (parked deliveries included) and who is configured.
    pub(super) fn view(&self) -> HookView {
        let pending: HashSet<Uuid> = self
            .targets
            .values()
            .flat_map(|t| t.queues.values().flatten())
            .chain(
                self.parked
                    .values()
                    .flat_map(|p| p.queues.values().flatten()),
            )
            .map(|i| i.id)
            .collect();
        HookView::new(
            pending,
            self.targets.values().map(|t| t.cfg.clone()).collect(),
        )
    }
}
