//! Filling a hook's argument templates from an event: each template gives exactly one argument,
//! whatever the values hold (spaces, quotes, `$(...)`, `;`, newlines, `../`). Nothing here goes
//! through a shell, so nothing needs quoting; the values are only stripped of NUL bytes, which an
//! argument cannot carry.

use chrono::{DateTime, FixedOffset};

use crate::event::Event;
use crate::template::{Template, format_time};

/// The text of one placeholder for `event`. Fields the event does not have are empty.
pub(crate) fn value(event: &Event, name: &str, format: Option<&str>) -> String {
    let room = event.room.as_ref();
    let seg = event.segment.as_ref();
    let room_field = |f: fn(&crate::event::RoomRef) -> &String| room.map(f).cloned();
    let owner = event.session.as_ref().and_then(|s| s.owner.as_ref());
    let text = match name {
        "path" => seg.map(|s| s.path.display().to_string()),
        "index" => seg.map(|s| s.index.to_string()),
        "bytes" => seg.map(|s| s.bytes.to_string()),
        "duration_s" => seg.map(|s| format!("{:.3}", s.duration_s)),
        "danmaku_path" => seg
            .and_then(|s| s.danmaku.as_ref())
            .map(|d| d.path.display().to_string()),
        "cover_path" => event.cover_path.as_ref().map(|p| p.display().to_string()),
        "type" => Some(event.kind.as_str().to_string()),
        "key" => room_field(|r| &r.key),
        "name" => room_field(|r| &r.name),
        "streamer" => room_field(|r| &r.streamer),
        "title" => room_field(|r| &r.title),
        // A login event names its platform and no room.
        "platform" => room_field(|r| &r.platform).or_else(|| event.platform.clone()),
        "id" => room_field(|r| &r.id),
        "url" => room_field(|r| &r.url),
        "session" => event.session.as_ref().map(|s| s.id.to_string()),
        // A cluster session's owner and fence (empty with the local backend).
        "owner_instance" => owner.map(|o| o.instance.clone()),
        "fence" => owner.map(|o| o.fence.to_string()),
        // Notification messages only (hooks get the event's error on stdin).
        "error" => event.error.clone(),
        "start" => Some(time(start_of(event), format)),
        "session_start" => Some(time(
            event.session.as_ref().map_or(event.time, |s| s.start),
            format,
        )),
        _ => None,
    };
    text.unwrap_or_default().replace('\0', "")
}

/// The segment's start, else the session's, else the event's time.
fn start_of(event: &Event) -> DateTime<FixedOffset> {
    event
        .segment
        .as_ref()
        .map(|s| s.start)
        .or(event.session.as_ref().map(|s| s.start))
        .unwrap_or(event.time)
}

fn time(t: DateTime<FixedOffset>, format: Option<&str>) -> String {
    format_time(&t, format.unwrap_or(crate::template::DEFAULT_TIME_FORMAT))
}

/// The argument vector of a hook for `event`: one argument per template, always.
pub(crate) fn argv(command: &[Template], event: &Event) -> Vec<String> {
    command
        .iter()
        .map(|t| t.render(|name, format| value(event, name, format)))
        .collect()
}

/// The `LIVEREC_*` environment of a hook run.
pub(crate) fn env(
    event: &Event,
    hook: &str,
    delivery: uuid::Uuid,
    attempt: u32,
) -> Vec<(&'static str, String)> {
    vec![
        ("LIVEREC_EVENT_TYPE", event.kind.as_str().to_string()),
        ("LIVEREC_PATH", value(event, "path", None)),
        ("LIVEREC_ROOM", value(event, "key", None)),
        ("LIVEREC_HOOK", hook.replace('\0', "")),
        ("LIVEREC_DELIVERY", delivery.to_string()),
        ("LIVEREC_ATTEMPT", attempt.to_string()),
    ]
}

#[cfg(test)]
mod tests;
