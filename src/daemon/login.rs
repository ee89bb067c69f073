//! The login state of each platform's own cookie, watched for the daemon: `login_lost` when a
//! configured cookie is answered as logged out (Bilibili's `nav` -101 / `isLogin` false),
//! `login_restored` when it is logged in again, and the state for `status` and `/metrics`.
//! The platform asks (at start-up, then at most every `LOGIN_RECHECK`); this only listens.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::control::ControlState;
use crate::event::{Event, EventTx, EventType};
use crate::platform::{PlatformKind, Platforms};

/// How often the platform is reminded to check (it asks only when its last answer is old).
const REMIND: Duration = Duration::from_secs(5 * 60);

/// The event a change of a configured cookie's login state raises, if any. Unknown (`None`,
/// before the first answer, or a failed one) raises nothing; a first answer of "logged out"
/// is a loss: the cookie was configured to be logged in.
pub(crate) fn change(before: Option<bool>, now: Option<bool>) -> Option<EventType> {
    match (before, now) {
        (Some(false), Some(true)) => Some(EventType::LoginRestored),
        (None | Some(true), Some(false)) => Some(EventType::LoginLost),
        _ => None,
    }
}

/// One task per platform whose cookie can be checked; they end when the daemon drops them.
pub(super) fn watch(
    platforms: &Platforms,
    events: &EventTx,
    shared: &Arc<ControlState>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for kind in PlatformKind::ALL {
        let platform = platforms.get(kind);
        let Some(mut rx) = platform.login() else {
            continue;
        };
        let events = events.clone();
        let shared = shared.clone();
        shared.set_login(kind.as_str(), None);
        tasks.push(tokio::spawn(async move {
            let mut known: Option<bool> = None;
            let mut remind = tokio::time::interval(REMIND);
            loop {
                tokio::select! {
                    _ = remind.tick() => platform.check_login().await,
                    changed = rx.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let now = *rx.borrow_and_update();
                        if let Some(kind_of) = change(known, now) {
                            let error = match kind_of {
                                EventType::LoginLost => Some(format!(
                                    "the {kind} login cookie is answered as logged out (expired or revoked?): recordings may be capped; renew cookie / cookie_file"
                                )),
                                _ => None,
                            };
                            let mut e = Event::new(kind_of, None);
                            e.platform = Some(kind.as_str().to_string());
                            e.error = error;
                            events.emit(e);
                        }
                        if now.is_some() {
                            known = now;
                        }
                        shared.set_login(kind.as_str(), known);
                    }
                }
            }
        }));
    }
    tasks
}

#[cfg(test)]
mod tests;
