//! The room's side of a degraded recording: what the attempt pulls, judged while bytes flow
//! (every tick of an open session), into `quality_degraded` and `recording_recovered`.

use super::Supervisor;
use crate::event::EventType;
use crate::room::degrade::{Change, Seen};
use crate::room::state::Phase;

impl Supervisor {
    pub(super) fn check_quality(&mut self) {
        let Some(s) = &self.session else { return };
        let below = s.attempts.pulling.borrow().clone();
        let seen = match (self.machine.phase(), &below) {
            (Phase::Attempt { flowing: true, .. }, Some(q)) => Seen::Below(q),
            (Phase::Attempt { flowing: true, .. }, None) => Seen::Wanted,
            _ => Seen::NotRecording,
        };
        let after = self.cfg.settings.degraded_after;
        let change = self
            .degrade
            .observe(seen, after, super::now(), crate::event::now());
        self.snap.degraded = self.degrade.state().cloned();
        match change {
            None => {}
            Some(Change::Degraded(q)) => {
                let why = format!(
                    "{} for {}",
                    crate::room::degrade::Degraded::reason(&q),
                    crate::util::units::format_duration(after)
                );
                tracing::warn!("quality degraded: {why}");
                self.emit(EventType::QualityDegraded, |e| {
                    let mut e = e.with_error(why);
                    e.quality = Some(q);
                    e
                });
            }
            Some(Change::Recovered(was)) => {
                tracing::info!(
                    "recording recovered: back at the wanted quality {}",
                    was.wanted
                );
                self.emit(EventType::RecordingRecovered, |e| {
                    let mut e = e;
                    e.quality = Some(crate::event::QualityRef {
                        recorded: was.wanted.clone(),
                        wanted: was.wanted,
                    });
                    e
                });
            }
        }
    }
}
