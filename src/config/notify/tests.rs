use super::*;
use crate::config::{Config, parse};

fn ok_in(dir: &Path, text: &str) -> Config {
    parse(text, &dir.join("recorder.toml")).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

fn ok(text: &str) -> Config {
    ok_in(Path::new("/etc/liverec"), text)
}

fn problems_in(dir: &Path, text: &str) -> Vec<String> {
    match parse(text, &dir.join("recorder.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.lines().collect(),
    }
}

fn problems(text: &str) -> Vec<String> {
    problems_in(Path::new("/etc/liverec"), text)
}

fn has(all: &[String], want: &str) {
    assert!(
        all.iter().any(|l| l.contains(want)),
        "no problem saying {want:?} in {all:#?}"
    );
}

#[test]
fn the_shapes_of_the_issue_are_read_with_their_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tg.token"), "123456:ABC-def_ghi\n").unwrap();
    let c = ok_in(
        dir.path(),
        r#"
[[notify]]
name = "phone"
kind = "ntfy"
url = "https://ntfy.sh/my-topic"
events = ["live_start", "recording_failed"]
message = "{name} is live: {title}"

[[notify]]
name = "tg"
kind = "telegram"
bot_token_file = "tg.token"
chat_id = 123456
"#,
    );
    let [phone, tg] = c.notify.as_slice() else {
        panic!("{:?}", c.notify)
    };
    assert_eq!(
        phone.events,
        [EventType::LiveStart, EventType::RecordingFailed]
    );
    assert_eq!(
        phone.message.as_ref().map(|t| t.as_str()),
        Some("{name} is live: {title}")
    );
    assert_eq!(phone.endpoint.describe(), "ntfy https://ntfy.sh/…");
    assert_eq!(tg.events, DEFAULT_EVENTS);
    assert_eq!(tg.retries, 8);
    assert_eq!(tg.timeout, Duration::from_secs(10));
    match &tg.endpoint {
        Endpoint::Telegram {
            api_base,
            bot_token,
            chat_id,
        } => {
            assert_eq!(api_base, "https://api.telegram.org");
            assert_eq!(bot_token.expose(), "123456:ABC-def_ghi");
            assert_eq!(chat_id, "123456");
        }
        other => panic!("{other:?}"),
    }
    // Secrets never print, not even in Debug.
    let debug = format!("{:?}", c.notify);
    assert!(
        !debug.contains("ABC-def") && !debug.contains("my-topic"),
        "{debug}"
    );
}

#[test]
fn every_kind_takes_its_own_keys() {
    let c = ok(r#"
[[notify]]
kind = "gotify"
url = "https://gotify.example.com/"
token = "AbC.123"
[[notify]]
kind = "bark"
device_key = "k3y"
[[notify]]
kind = "discord"
url = "https://discord.com/api/webhooks/1/secret"
[[notify]]
kind = "slack"
url = "https://hooks.slack.com/services/T/B/X"
window = "08:00-23:00"
rooms = ["alice"]
"#);
    let names: Vec<_> = c.notify.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["notify-0", "notify-1", "notify-2", "notify-3"]);
    assert_eq!(
        c.notify[0].endpoint,
        Endpoint::Gotify {
            url: "https://gotify.example.com".into(),
            token: Secret::new("AbC.123")
        }
    );
    assert_eq!(c.notify[1].endpoint.describe(), "bark https://api.day.app");
    assert_eq!(
        c.notify[2].endpoint.describe(),
        "discord https://discord.com/…"
    );
    assert_eq!(c.notify[3].endpoint.kind(), NotifyKind::Slack);
    assert!(c.notify[3].window.is_some());
}

#[test]
fn mistakes_are_problems_with_their_lines() {
    let all = problems(
        r#"
[[notify]]
kind = "telgram"
[[notify]]
kind = "telegram"
bot_token = "1:x"
[[notify]]
kind = "ntfy"
url = "ntfy.sh/topic"
[[notify]]
kind = "ntfy"
url = "https://ntfy.sh/topic"
chat_id = "1"
[[notify]]
kind = "gotify"
url = "https://g.example"
[[notify]]
kind = "discord"
[[notify]]
kind = "bark"
device_key = "a b"
[[notify]]
kind = "slack"
url = "https://hooks.slack.com/x"
message = "{name} {nope}"
events = ["live_begin"]
"#,
    );
    has(
        &all,
        r#"recorder.toml:3: notify[0].kind: "telgram" is not a kind of notification (did you mean "telegram"?)"#,
    );
    has(
        &all,
        "notify[1].chat_id: missing; the chat, group or @channel",
    );
    // A topic URL is a secret: not quoted even when it is wrong.
    has(&all, "recorder.toml:9: notify[2].url: not a URL (");
    has(
        &all,
        "recorder.toml:13: notify[3].chat_id: not a key of ntfy notifications (ntfy takes url, token, token_file)",
    );
    has(&all, "notify[4].token: missing; set token or token_file");
    has(&all, "notify[5].url: missing; set url or url_file");
    has(
        &all,
        "recorder.toml:21: notify[6].device_key: the device_key must be one word of printable ASCII",
    );
    has(
        &all,
        "recorder.toml:25: notify[7].message: unknown placeholder {nope}",
    );
    has(&all, r#"notify[7].events: unknown event "live_begin""#);
}

#[test]
fn token_files_must_be_readable_and_one_word() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    std::fs::write(dir.path().join("two"), "a\nb\n").unwrap();
    let all = problems_in(
        dir.path(),
        r#"
[[notify]]
kind = "telegram"
bot_token_file = "missing.token"
chat_id = "1"
[[notify]]
kind = "gotify"
url = "https://g.example"
token_file = "empty"
[[notify]]
kind = "ntfy"
url = "https://ntfy.sh/t"
token_file = "two"
[[notify]]
kind = "ntfy"
url = "https://ntfy.sh/t"
token = "x"
token_file = "two"
[[notify]]
kind = "slack"
url_file = "two"
"#,
    );
    has(
        &all,
        "recorder.toml:4: notify[0].bot_token_file: cannot read ",
    );
    has(&all, "missing.token: No such file or directory");
    has(&all, "recorder.toml:9: notify[1].token_file: ");
    has(&all, "empty is empty");
    has(
        &all,
        "recorder.toml:13: notify[2].token_file: the token must be one word of printable ASCII",
    );
    has(
        &all,
        "notify[3].token_file: set either token or token_file, not both",
    );
    has(&all, "notify[4].url_file: not a URL (");
    // The token file's text is never in a message.
    assert!(
        !all.iter().any(|l| l.contains("a\nb") || l.contains("\"a")),
        "{all:#?}"
    );
}

#[test]
fn a_url_with_a_secret_path_is_never_in_a_problem() {
    let all = problems(
        r#"
[[notify]]
kind = "discord"
url = "ftp://discord.com/api/webhooks/1/TOPSECRET"
"#,
    );
    has(
        &all,
        "not an http or https URL with a host (scheme \"ftp\")",
    );
    assert!(!all.iter().any(|l| l.contains("TOPSECRET")), "{all:#?}");
}

#[test]
fn names_are_unique_among_hooks_webhooks_and_notifications() {
    let all = problems(
        r#"
[[webhooks]]
name = "tell"
url = "http://127.0.0.1:1/x"
events = ["live_start"]
[[notify]]
name = "tell"
kind = "bark"
device_key = "k"
"#,
    );
    has(
        &all,
        r#"the name "tell" is used by two hooks, webhooks or notifications"#,
    );
}

#[test]
fn an_ntfy_url_must_name_a_topic() {
    let all = problems("[[notify]]\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/\"\n");
    has(&all, "names no topic");
}

#[test]
fn a_rooms_filter_naming_no_room_is_a_warning() {
    let c = ok("[[notify]]\nkind = \"bark\"\ndevice_key = \"k\"\nrooms = [\"nobody\"]\n");
    assert!(
        c.warnings
            .iter()
            .any(|w| w.key == "notify \"notify-0\".rooms"),
        "{:?}",
        c.warnings
    );
}
