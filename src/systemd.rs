//! systemd integration through `sd_notify`: READY, RELOADING, STOPPING, STATUS and watchdog
//! pings. Every call is a no-op when the daemon does not run under systemd (no NOTIFY_SOCKET).

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!("sd_notify: {e}");
    }
}

/// The service is up: config loaded, rooms started.
pub(crate) fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Asks for `by` more time before systemd gives up on the current start or stop.
pub(crate) fn extend_timeout(by: Duration) {
    let usec = u32::try_from(by.as_micros()).unwrap_or(u32::MAX);
    send(&[NotifyState::ExtendTimeoutUsec(usec)]);
}

pub(crate) fn reloading() {
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub(crate) fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: closing open segments"),
    ]);
}

/// How often to ping the watchdog (half its timeout), when systemd asked for pings.
pub(crate) fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

pub(crate) fn watchdog_ping() {
    send(&[NotifyState::Watchdog]);
}
