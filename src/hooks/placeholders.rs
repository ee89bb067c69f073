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
    let text = match name {
        "path" => seg.map(|s| s.path.display().to_string()),
        "index" => seg.map(|s| s.index.to_string()),
        "bytes" => seg.map(|s| s.bytes.to_string()),
        "duration_s" => seg.map(|s| format!("{:.3}", s.duration_s)),
        "type" => Some(event.kind.as_str().to_string()),
        "key" => room_field(|r| &r.key),
        "name" => room_field(|r| &r.name),
        "streamer" => room_field(|r| &r.streamer),
        "title" => room_field(|r| &r.title),
        "platform" => room_field(|r| &r.platform),
        "id" => room_field(|r| &r.id),
        "url" => room_field(|r| &r.url),
        "session" => event.session.as_ref().map(|s| s.id.to_string()),
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
mod tests {
    use super::*;
    use crate::config::{HOOK_FIELDS, TIME_FIELDS};
    use crate::event::{EventType, RoomRef, SegmentRef, SessionRef};

    pub(crate) const HOSTILE: &str = "a $(touch x); b `id` 'q' \"dq\" \\ \n../../etc/passwd * ?";

    fn event(title: &str) -> Event {
        let t = DateTime::parse_from_rfc3339("2026-11-21T21:04:05+08:00").unwrap();
        let mut e = Event::new(
            EventType::SegmentComplete,
            Some(RoomRef {
                key: "bilibili:1".into(),
                platform: "bilibili".into(),
                id: "1".into(),
                name: "alice".into(),
                url: "https://live.bilibili.com/1".into(),
                streamer: "A; rm -rf /".into(),
                title: title.into(),
            }),
        )
        .with_session(Some(SessionRef {
            id: uuid::Uuid::nil(),
            start: t,
        }))
        .with_segment(SegmentRef {
            path: "/rec/alice/1 two.flv".into(),
            index: 3,
            bytes: 123456,
            duration_s: 3600.25,
            start: t + chrono::Duration::hours(1),
            end: t + chrono::Duration::hours(2),
            recovered: false,
        });
        e.time = t;
        e
    }

    fn templates(args: &[&str]) -> Vec<Template> {
        args.iter()
            .map(|a| Template::parse(a, HOOK_FIELDS, TIME_FIELDS).unwrap())
            .collect()
    }

    #[test]
    fn hostile_values_stay_one_literal_argument_each() {
        let e = event(HOSTILE);
        let args = argv(
            &templates(&["prog", "{title}", "--name={name}", "{streamer}", "{path}"]),
            &e,
        );
        assert_eq!(
            args,
            [
                "prog",
                HOSTILE,
                "--name=alice",
                "A; rm -rf /",
                "/rec/alice/1 two.flv"
            ]
        );
    }

    #[test]
    fn every_field_renders() {
        let e = event("T");
        let all: Vec<String> = HOOK_FIELDS.iter().map(|f| format!("{{{f}}}")).collect();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let args = argv(&templates(&all), &e);
        assert_eq!(
            args,
            [
                "/rec/alice/1 two.flv",
                "3",
                "123456",
                "3600.250",
                "segment_complete",
                "bilibili:1",
                "alice",
                "A; rm -rf /",
                "T",
                "00000000-0000-0000-0000-000000000000",
                "bilibili",
                "1",
                "https://live.bilibili.com/1",
            ]
        );
        let times = argv(
            &templates(&["{start:%Y-%m-%d %H:%M}", "{session_start:%H%M}", "{start}"]),
            &e,
        );
        assert_eq!(times, ["2026-11-21 22:04", "2104", "20261121-220405"]);
    }

    #[test]
    fn missing_fields_are_empty_and_nul_is_dropped() {
        let mut e = Event::new(EventType::DiskLow, None);
        e.error = Some("x".into());
        let args = argv(&templates(&["{path}", "{title}", "{type}", "{index}"]), &e);
        assert_eq!(args, ["", "", "disk_low", ""]);
        let e = event("a\0b");
        assert_eq!(argv(&templates(&["{title}"]), &e), ["ab"]);
    }

    #[test]
    fn environment_names_the_event() {
        let e = event("T");
        let env = env(&e, "upload", uuid::Uuid::nil(), 2);
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("LIVEREC_EVENT_TYPE"), "segment_complete");
        assert_eq!(get("LIVEREC_PATH"), "/rec/alice/1 two.flv");
        assert_eq!(get("LIVEREC_ROOM"), "bilibili:1");
        assert_eq!(get("LIVEREC_ATTEMPT"), "2");
    }
}
