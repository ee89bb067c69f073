//! What happens when an attempt reports back: the outcome is journaled (done), or the delivery
//! waits for its next try, or it gives up and raises `hook_failed`. Attempts of a name that was
//! removed meanwhile are settled the same way, their deliveries staying parked.

use tokio::time::Instant;
use uuid::Uuid;

use super::ledgering::note_outcome;
use super::{Core, Finished, Running};
use crate::event::{Event, EventType, HookRef};
use crate::hooks::command::Outcome;
use crate::hooks::target::TargetCfg;

impl Core {
    pub(super) async fn on_finished(&mut self, f: Finished) {
        let Some(run) = self.running.remove(&f.id) else {
            return;
        };
        let id = f.id;
        let room_log = if run.room.is_empty() {
            "-"
        } else {
            run.room.as_str()
        };
        if !self.targets.contains_key(&run.target) {
            return self.finished_parked(run, f).await;
        }
        let target = self.targets.get_mut(&run.target).filter(|t| {
            t.queues
                .get(&run.room)
                .is_some_and(|q| q.iter().any(|i| i.id == id))
        });
        let Some(t) = target else {
            return;
        };
        t.running = t.running.saturating_sub(1);
        let cfg = t.cfg.clone();
        let Some(item) = t.item_mut(&run.room, id) else {
            return;
        };
        item.running = false;
        let attempt = item.attempts + 1;
        let of = cfg.retries + 1;
        let why = match f.outcome {
            Outcome::Cancelled => return,
            Outcome::Success => {
                t.remove(&run.room, id);
                t.counters.succeeded += 1;
                tracing::info!(
                    hook = %cfg.name,
                    room = %room_log,
                    delivery = %id,
                    "delivered {} (attempt {attempt} of {of})",
                    f.event.kind
                );
                let ledger = self.ledger_of(&f.event);
                let done = move |j: &mut crate::hooks::journal::Journal| {
                    note_outcome(ledger.as_deref(), id, true);
                    j.done(id)
                };
                if let Err(e) = self.io(done).await {
                    tracing::error!(
                        "cannot mark delivery {id} done in the hook journal ({e}); it may run again after a restart"
                    );
                }
                return;
            }
            Outcome::Failed(why) => why,
        };
        item.attempts = attempt;
        let pause = self.backoff.delay(attempt);
        let retry = attempt <= cfg.retries;
        if retry {
            item.not_before = Some(Instant::now() + pause);
        }
        t.counters.attempts_failed += 1;
        if retry {
            tracing::warn!(
                hook = %cfg.name,
                room = %room_log,
                delivery = %id,
                "{} failed (attempt {attempt} of {of}): {why}; retrying in {}",
                cfg.describe(),
                crate::util::units::format_duration(pause)
            );
            if let Err(e) = self.io(move |j| j.failed(id, attempt, &why)).await {
                tracing::error!("cannot write the hook journal: {e}");
            }
            return;
        }
        t.remove(&run.room, id);
        t.counters.gave_up += 1;
        tracing::error!(
            hook = %cfg.name,
            room = %room_log,
            delivery = %id,
            "{} gave up on {} after {attempt} attempt(s): {why}",
            cfg.describe(),
            f.event.kind
        );
        let reason = why.clone();
        let ledger = self.ledger_of(&f.event);
        let gave_up = move |j: &mut crate::hooks::journal::Journal| {
            note_outcome(ledger.as_deref(), id, false);
            j.gave_up(id, &reason)
        };
        if let Err(e) = self.io(gave_up).await {
            tracing::error!("cannot write the hook journal: {e}");
        }
        if f.event.kind == EventType::HookFailed {
            // No hook_failed about a hook_failed: two failing hooks would feed each other.
            return;
        }
        let failed = hook_failed(&f.event, &cfg, id, attempt, &why);
        self.on_event(failed, Some(&cfg.name)).await;
    }

    /// An attempt that was running when its hook was removed from the config: a success is
    /// done; anything else stays parked with the attempt counted, for the hook's return.
    pub(super) async fn finished_parked(&mut self, run: Running, f: Finished) {
        let id = f.id;
        let Some(p) = self.parked.get_mut(&run.target) else {
            return;
        };
        let Some(item) = p
            .queues
            .get_mut(&run.room)
            .and_then(|q| q.iter_mut().find(|i| i.id == id))
        else {
            return;
        };
        item.running = false;
        let result = match f.outcome {
            Outcome::Success => {
                p.remove(&run.room, id);
                if p.queues.is_empty() {
                    self.parked.remove(&run.target);
                }
                tracing::info!(
                    hook = %run.target,
                    delivery = %id,
                    "delivered {} (its hook has been removed from the config meanwhile)",
                    f.event.kind
                );
                let ledger = self.ledger_of(&f.event);
                self.io(move |j| {
                    note_outcome(ledger.as_deref(), id, true);
                    j.done(id)
                })
                .await
            }
            Outcome::Failed(why) => {
                item.attempts += 1;
                let attempt = item.attempts;
                tracing::warn!(
                    hook = %run.target,
                    delivery = %id,
                    "{} failed (attempt {attempt}): {why}; parked until a hook named {:?} is configured again",
                    f.event.kind,
                    run.target
                );
                self.io(move |j| j.failed(id, attempt, &why)).await
            }
            Outcome::Cancelled => Ok(()),
        };
        if let Err(e) = result {
            tracing::error!("cannot write the hook journal: {e}");
        }
    }
}

/// The `hook_failed` event for a delivery of `event` that ran out of retries: same room,
/// session and segment, the reason in `error`, the delivery in `hook`.
fn hook_failed(event: &Event, cfg: &TargetCfg, id: Uuid, attempts: u32, why: &str) -> Event {
    let mut e = Event::new(EventType::HookFailed, event.room.clone())
        .with_session(event.session.clone())
        .with_error(format!(
            "{} gave up on {} after {attempts} attempt(s): {why}",
            cfg.describe(),
            event.kind
        ));
    e.segment = event.segment.clone();
    e.hook = Some(HookRef {
        name: cfg.name.clone(),
        delivery: id,
        event: event.kind,
        event_id: event.id,
        attempts,
    });
    e
}
