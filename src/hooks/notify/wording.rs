//! What a notification says: a title and a message per event type (or the entry's `message`
//! template), cut to what the service takes, and a title made fit for an HTTP header.

use crate::config::NotifyConfig;
use crate::event::{Event, EventType};
use crate::hooks::placeholders;
use crate::util::units::{format_duration, format_size};

/// The room's name, or `liverec` for daemon-wide events.
fn who(event: &Event) -> String {
    event
        .room
        .as_ref()
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "liverec".to_string())
}

/// The event's error, or `fallback`.
fn error_or(event: &Event, fallback: &str) -> String {
    event
        .error
        .clone()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// A short title (ntfy, Gotify and Bark show one above the message).
pub(crate) fn title(event: &Event) -> String {
    let who = who(event);
    match event.kind {
        EventType::LiveStart => format!("{who} is live"),
        EventType::LiveEnd => format!("{who}: live ended"),
        EventType::SegmentStart => format!("{who}: new file"),
        EventType::SegmentComplete => format!("{who}: file finished"),
        EventType::RecordingFailed => format!("{who}: recording failed"),
        EventType::RecordingRecovered if event.quality.is_some() => {
            format!("{who}: wanted quality again")
        }
        EventType::RecordingRecovered => format!("{who}: recording again"),
        EventType::DiskLow => "liverec: disk space low".to_string(),
        EventType::HookFailed => "liverec: a delivery gave up".to_string(),
        EventType::SegmentDeleted => format!("{who}: file deleted"),
        EventType::ClusterDegraded => "liverec: cluster degraded".to_string(),
        EventType::QualityDegraded => format!("{who}: quality degraded"),
        EventType::LoginLost => format!("liverec: {} login lost", platform(event)),
        EventType::LoginRestored => format!("liverec: {} login restored", platform(event)),
    }
}

/// The platform a login event is about.
fn platform(event: &Event) -> String {
    event.platform.clone().unwrap_or_else(|| "platform".into())
}

/// The message: the entry's template filled from the event, else the event type's own words.
pub(crate) fn message(cfg: &NotifyConfig, event: &Event) -> String {
    if let Some(t) = &cfg.message {
        return t.render(|name, format| placeholders::value(event, name, format));
    }
    let who = who(event);
    let title = event
        .room
        .as_ref()
        .map(|r| r.title.as_str())
        .unwrap_or_default();
    let file = event.segment.as_ref().map(|s| {
        (
            s.path.display().to_string(),
            format_size(s.bytes),
            format_duration(std::time::Duration::from_secs_f64(
                s.duration_s.clamp(0.0, 1e9),
            )),
        )
    });
    match event.kind {
        EventType::LiveStart if title.is_empty() => format!("{who} is live"),
        EventType::LiveStart => format!("{who} is live: {title}"),
        EventType::LiveEnd => match &event.error {
            Some(e) => format!("{who}'s live ended: {e}"),
            None => format!("{who}'s live ended"),
        },
        EventType::SegmentStart => match file {
            Some((path, ..)) => format!("{who}: recording {path}"),
            None => format!("{who}: recording"),
        },
        EventType::SegmentComplete => match file {
            Some((path, size, duration)) => {
                format!("{who}: {path} is finished ({size}, {duration})")
            }
            None => format!("{who}: a file is finished"),
        },
        EventType::RecordingFailed => format!("{who}: {}", error_or(event, "recording failed")),
        EventType::RecordingRecovered => match &event.quality {
            Some(q) => format!("{who}: recording at the wanted quality {} again", q.wanted),
            None => format!("{who}: recording again"),
        },
        EventType::DiskLow => format!("liverec: {}", error_or(event, "disk space low")),
        EventType::HookFailed => format!("liverec: {}", error_or(event, "a delivery gave up")),
        EventType::SegmentDeleted => {
            let why = event.deletion.as_ref().map_or("", |d| d.reason.as_str());
            match file {
                Some((path, size, _)) => format!("{who}: {path} deleted ({size}, {why})"),
                None => format!("{who}: a file was deleted ({why})"),
            }
        }
        EventType::ClusterDegraded => {
            format!("liverec: {}", error_or(event, "etcd is unreachable"))
        }
        EventType::QualityDegraded => format!(
            "{who}: {}",
            error_or(event, "recording below the wanted quality")
        ),
        EventType::LoginLost => format!(
            "liverec: {}",
            error_or(event, "the login cookie is answered as logged out")
        ),
        EventType::LoginRestored => format!(
            "liverec: the {} login cookie is logged in again",
            platform(event)
        ),
    }
}

/// `text` cut to at most `max` characters, with `…` where it was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A header value for any text: one line, and non-ASCII text as an RFC 2047 encoded word
/// (`=?UTF-8?B?…?=`), which ntfy decodes (HTTP headers carry no UTF-8 of their own).
pub(crate) fn header_text(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.is_ascii() {
        return line;
    }
    format!("=?UTF-8?B?{}?=", base64(line.as_bytes()))
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Slack reads `&`, `<` and `>` as markup (`<!channel>` pings a whole channel): a title must
/// not be able to do that.
pub(crate) fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Whether the event is a failure (louder on services that have priorities).
pub(crate) fn is_alarm(event: &Event) -> bool {
    matches!(
        event.kind,
        EventType::RecordingFailed
            | EventType::DiskLow
            | EventType::HookFailed
            | EventType::QualityDegraded
            | EventType::LoginLost
    )
}
