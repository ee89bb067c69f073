use super::*;
use crate::config::parse;
use crate::event::{EventType, RoomRef};
use serde_json::Value;
use std::path::Path;

fn entry(toml: &str) -> NotifyConfig {
    let c = parse(
        &format!("[[notify]]\n{toml}"),
        Path::new("/etc/liverec/recorder.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.notify.into_iter().next().expect("one entry")
}

fn room(name: &str, title: &str) -> RoomRef {
    RoomRef {
        key: "bilibili:1".into(),
        platform: "bilibili".into(),
        id: "1".into(),
        name: name.into(),
        url: "https://live.bilibili.com/1".into(),
        streamer: "主播".into(),
        title: title.into(),
    }
}

fn live(title: &str) -> Event {
    Event::new(EventType::LiveStart, Some(room("alice", title)))
}

fn json(r: &Request) -> Value {
    assert_eq!(r.content_type, "application/json");
    serde_json::from_slice(&r.body).expect("a JSON body")
}

#[test]
fn telegram_sends_the_message_as_plain_text_to_send_message() {
    let cfg = entry(
        "kind = \"telegram\"\nbot_token = \"123:AB-c\"\nchat_id = \"-10042\"\napi_base = \"http://127.0.0.1:9/tg/\"",
    );
    let r = request(&cfg, &live("<b>晚上好</b>"));
    assert_eq!(r.url, "http://127.0.0.1:9/tg/bot123:AB-c/sendMessage");
    assert!(r.headers.is_empty());
    let body = json(&r);
    assert_eq!(body["chat_id"], "-10042");
    assert_eq!(body["text"], "alice is live: <b>晚上好</b>");
    assert!(body.get("parse_mode").is_none(), "{body}");
}

#[test]
fn ntfy_posts_text_with_the_title_in_a_header() {
    let cfg = entry("kind = \"ntfy\"\nurl = \"https://ntfy.example/topic\"\ntoken = \"tk_1\"");
    let r = request(&cfg, &live("x"));
    assert_eq!(r.url, "https://ntfy.example/topic");
    assert_eq!(r.content_type, "text/plain; charset=utf-8");
    assert_eq!(r.body, b"alice is live: x");
    assert!(
        r.headers.contains(&("Title", "alice is live".into())),
        "{:?}",
        r.headers
    );
    assert!(r.headers.contains(&("Authorization", "Bearer tk_1".into())));
    // A failure is louder.
    let failed = Event::new(EventType::RecordingFailed, Some(room("alice", "x")))
        .with_error("live but nothing written for 1m30s: HTTP 403");
    let r = request(&cfg, &failed);
    assert!(
        r.headers.contains(&("Priority", "high".into())),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.body,
        b"alice: live but nothing written for 1m30s: HTTP 403"
    );
}

#[test]
fn a_non_ascii_title_is_an_rfc_2047_encoded_word() {
    let cfg = entry("kind = \"ntfy\"\nurl = \"https://ntfy.sh/t\"");
    let e = Event::new(EventType::LiveStart, Some(room("测试", "")));
    let r = request(&cfg, &e);
    let title = &r.headers.iter().find(|h| h.0 == "Title").unwrap().1;
    // base64 of "测试 is live"
    assert_eq!(title, "=?UTF-8?B?5rWL6K+VIGlzIGxpdmU=?=");
    assert!(reqwest::header::HeaderValue::from_str(title).is_ok());
    assert_eq!(wording::header_text("a\nb"), "a b");
}

#[test]
fn gotify_posts_json_with_the_token_in_a_header() {
    let cfg = entry("kind = \"gotify\"\nurl = \"https://g.example/sub/\"\ntoken = \"AppTok\"");
    let r = request(&cfg, &live("t"));
    assert_eq!(r.url, "https://g.example/sub/message");
    assert_eq!(r.headers, [("X-Gotify-Key", "AppTok".to_string())]);
    let body = json(&r);
    assert_eq!(body["title"], "alice is live");
    assert_eq!(body["message"], "alice is live: t");
    assert_eq!(body["priority"], 5);
}

#[test]
fn bark_posts_json_to_push_with_the_key_in_the_body() {
    let cfg = entry("kind = \"bark\"\ndevice_key = \"DevKey\"");
    let r = request(&cfg, &live("t"));
    assert_eq!(r.url, "https://api.day.app/push");
    let body = json(&r);
    assert_eq!(body["device_key"], "DevKey");
    assert_eq!(body["title"], "alice is live");
    assert_eq!(body["body"], "alice is live: t");
    assert_eq!(body["group"], "liverec");
    assert_eq!(bark_refused(br#"{"code":200,"message":"success"}"#), None);
    assert_eq!(
        bark_refused(br#"{"code":400,"message":"failed to get device token"}"#).as_deref(),
        Some("answered code 400: failed to get device token")
    );
}

#[test]
fn discord_mentions_nobody_and_stays_under_its_limit() {
    let cfg = entry("kind = \"discord\"\nurl = \"https://discord.com/api/webhooks/1/s\"");
    let long = "x".repeat(5000);
    let r = request(&cfg, &live(&format!("@everyone {long}")));
    assert_eq!(r.url, "https://discord.com/api/webhooks/1/s");
    let body = json(&r);
    let content = body["content"].as_str().unwrap();
    assert!(content.starts_with("alice is live: @everyone"));
    assert_eq!(content.chars().count(), 2000);
    assert!(content.ends_with('…'));
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[test]
fn slack_escapes_its_markup() {
    let cfg = entry("kind = \"slack\"\nurl = \"https://hooks.slack.com/services/A/B/C\"");
    let r = request(&cfg, &live("<!channel> & co"));
    assert_eq!(json(&r)["text"], "alice is live: &lt;!channel&gt; &amp; co");
}

#[test]
fn a_message_template_is_filled_from_the_event() {
    let cfg = entry(
        "kind = \"bark\"\ndevice_key = \"k\"\nmessage = \"{type} {name} {streamer} {error} {start:%Y}\"",
    );
    let e = Event::new(EventType::RecordingFailed, Some(room("bob", "t"))).with_error("boom");
    let body = json(&request(&cfg, &e));
    let year = e.time.format("%Y").to_string();
    assert_eq!(
        body["body"],
        format!("recording_failed bob 主播 boom {year}")
    );
}

#[test]
fn each_event_type_has_its_own_words() {
    let cfg = entry("kind = \"bark\"\ndevice_key = \"k\"");
    let text = |e: &Event| wording::message(&cfg, e);
    let end = Event::new(EventType::LiveEnd, Some(room("a", "t")));
    assert_eq!(text(&end), "a's live ended");
    assert_eq!(
        text(&end.clone().with_error("not recordable: paid")),
        "a's live ended: not recordable: paid"
    );
    let disk = Event::new(EventType::DiskLow, None).with_error("1.0GiB free, below 2GiB");
    assert_eq!(text(&disk), "liverec: 1.0GiB free, below 2GiB");
    assert_eq!(wording::title(&disk), "liverec: disk space low");
    for kind in EventType::ALL {
        let e = Event::new(kind, Some(room("a", "t")));
        assert!(
            !text(&e).is_empty() && !wording::title(&e).is_empty(),
            "{kind}"
        );
    }
}

#[test]
fn errors_are_scrubbed_of_the_entrys_secrets() {
    let cfg = entry("kind = \"telegram\"\nbot_token = \"999:SECRET\"\nchat_id = \"1\"");
    let scrubbed = scrub(
        &cfg,
        "error sending request for url (https://api.telegram.org/bot999:SECRET/sendMessage)\n",
    );
    assert!(!scrubbed.contains("SECRET"), "{scrubbed}");
    assert!(scrubbed.contains("[redacted]"), "{scrubbed}");
    assert_eq!(
        refusal(br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#),
        "Bad Request: chat not found"
    );
}

#[test]
fn degraded_recordings_and_lost_logins_have_their_own_words_and_buzz() {
    let cfg = entry("kind = \"bark\"\ndevice_key = \"k\"");
    let text = |e: &Event| wording::message(&cfg, e);
    let mut degraded = Event::new(EventType::QualityDegraded, Some(room("a", "t")))
        .with_error("recording 250 超清, below the wanted quality 10000 原画 for 1m");
    degraded.quality = Some(crate::event::QualityRef {
        wanted: "10000 原画".into(),
        recorded: "250 超清".into(),
    });
    assert_eq!(wording::title(&degraded), "a: quality degraded");
    assert_eq!(
        text(&degraded),
        "a: recording 250 超清, below the wanted quality 10000 原画 for 1m"
    );
    assert!(wording::is_alarm(&degraded));
    let mut back = Event::new(EventType::RecordingRecovered, Some(room("a", "t")));
    assert_eq!(wording::title(&back), "a: recording again");
    back.quality = degraded.quality.clone();
    assert_eq!(wording::title(&back), "a: wanted quality again");
    assert_eq!(
        text(&back),
        "a: recording at the wanted quality 10000 原画 again"
    );
    let mut lost = Event::new(EventType::LoginLost, None).with_error("the cookie expired");
    lost.platform = Some("bilibili".into());
    assert_eq!(wording::title(&lost), "liverec: bilibili login lost");
    assert_eq!(text(&lost), "liverec: the cookie expired");
    assert!(wording::is_alarm(&lost));
    let mut restored = Event::new(EventType::LoginRestored, None);
    restored.platform = Some("bilibili".into());
    assert_eq!(
        text(&restored),
        "liverec: the bilibili login cookie is logged in again"
    );
    assert!(!wording::is_alarm(&restored));
    let default = entry("kind = \"bark\"\ndevice_key = \"k\"");
    assert!(default.events.contains(&EventType::LoginLost));
    assert!(default.events.contains(&EventType::QualityDegraded));
}
