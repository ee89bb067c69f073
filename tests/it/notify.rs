//! Notifications end to end: the real binary records (or only watches) a direct FLV room on a
//! local stream server and notifies a local receiver standing in for Telegram, ntfy, Gotify,
//! Bark, Discord and Slack; each request is checked for its method, path, headers and body.
//! Retries are made quick with LIVEREC_HOOK_BACKOFF_MS.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use liverec::hooks::journal::Journal;
use serde_json::{Value, json};

use crate::support::daemon::{Daemon, bin, config, control_get, files, room, wait_until};
use crate::support::receiver::{Hit, Receiver};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const FAST: &[(&str, &str)] = &[("LIVEREC_HOOK_BACKOFF_MS", "200")];
const STREAM: &str = "live/alice.flv";

/// A short live: 20x real time, once, then offline.
fn finite() -> Answer {
    let mut a = Answer::flv(FIXTURE, 20.0, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The six kinds, each on its own path of `r`; every secret has SECRET in it.
fn every_kind(r: &Receiver, dir: &Path) -> String {
    std::fs::write(dir.join("gotify.token"), "GOTIFY-SECRET\n").unwrap();
    std::fs::write(
        dir.join("slack.url"),
        format!("{}\n", r.url("/slack/services/T0/B0/SLACK-SECRET")),
    )
    .unwrap();
    format!(
        r#"
[[notify]]
name = "tg"
kind = "telegram"
api_base = {tg}
bot_token = "123456:TG-SECRET"
chat_id = -1001
events = ["live_start"]

[[notify]]
name = "phone"
kind = "ntfy"
url = {ntfy}
token = "tk_NTFY-SECRET"
events = ["live_start"]

[[notify]]
name = "gotify"
kind = "gotify"
url = {gotify}
token_file = "gotify.token"
events = ["live_start"]

[[notify]]
name = "bark"
kind = "bark"
url = {bark}
device_key = "BARK-SECRET"
events = ["live_start"]

[[notify]]
name = "discord"
kind = "discord"
url = {discord}
events = ["live_start"]

[[notify]]
name = "slack"
kind = "slack"
url_file = "slack.url"
events = ["live_start"]
message = "{{name}} <is> live & well"
"#,
        tg = toml_str(&r.url("/tg")),
        ntfy = toml_str(&r.url("/ntfy/topic-NTFYTOPIC-SECRET")),
        gotify = toml_str(&r.url("/gotify")),
        bark = toml_str(&r.url("/bark/")),
        discord = toml_str(&r.url("/discord/api/webhooks/1/DISCORD-SECRET")),
    )
}

/// The one request under `prefix`, once it came.
async fn one(r: &Receiver, prefix: &str, log: impl Fn() -> String) -> Hit {
    assert!(
        wait_until(Duration::from_secs(20), || !r.hits(prefix).is_empty()).await,
        "nothing reached {prefix}:\n{}",
        log()
    );
    let hits = r.hits(prefix);
    assert_eq!(hits.len(), 1, "{prefix}: {hits:#?}");
    let h = hits[0].clone();
    assert_eq!(h.method, "POST", "{prefix}");
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_sent_in_its_services_shape_and_no_secret_is_logged() {
    let streams = StreamServer::start().await;
    streams.set(STREAM, finite());
    let r = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("alice", &streams.url(STREAM)),
        &every_kind(&r, dir.path()),
    );
    let path = dir.path().join("notify.toml");
    std::fs::write(&path, &cfg).unwrap();

    // `check` lists every entry by kind and server, and no secret.
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{check}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "notify:",
        "tg: on live_start send to telegram http://127.0.0.1",
        "phone: on live_start send to ntfy http://127.0.0.1",
        "slack: on live_start send to slack http://127.0.0.1",
    ] {
        assert!(check.contains(want), "check lacks {want:?}:\n{check}");
    }
    assert!(!check.contains("SECRET"), "check shows a secret:\n{check}");

    let d = Daemon::start_file_env(&path, "notify", FAST);
    let log = || d.log_text();

    let tg = one(&r, "/tg/", log).await;
    assert_eq!(tg.path, "/tg/bot123456:TG-SECRET/sendMessage");
    assert_eq!(tg.header("content-type"), "application/json");
    let body = tg.json();
    assert_eq!(body["chat_id"], "-1001");
    assert!(
        body["text"].as_str().unwrap().starts_with("alice is live"),
        "{body}"
    );
    assert!(body.get("parse_mode").is_none(), "{body}");

    let ntfy = one(&r, "/ntfy/", log).await;
    assert_eq!(ntfy.path, "/ntfy/topic-NTFYTOPIC-SECRET");
    assert_eq!(ntfy.header("title"), "alice is live");
    assert_eq!(ntfy.header("authorization"), "Bearer tk_NTFY-SECRET");
    assert_eq!(ntfy.header("content-type"), "text/plain; charset=utf-8");
    assert!(ntfy.text().starts_with("alice is live"), "{}", ntfy.text());

    let gotify = one(&r, "/gotify", log).await;
    assert_eq!(gotify.path, "/gotify/message");
    assert_eq!(gotify.header("x-gotify-key"), "GOTIFY-SECRET");
    let body = gotify.json();
    assert_eq!(body["title"], "alice is live");
    assert_eq!(body["priority"], 5);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("alice is live")
    );

    let bark = one(&r, "/bark", log).await;
    assert_eq!(bark.path, "/bark/push");
    let body = bark.json();
    assert_eq!(body["device_key"], "BARK-SECRET");
    assert_eq!(body["title"], "alice is live");
    assert_eq!(body["group"], "liverec");
    assert!(body["body"].as_str().unwrap().starts_with("alice is live"));

    let discord = one(&r, "/discord/", log).await;
    assert_eq!(discord.path, "/discord/api/webhooks/1/DISCORD-SECRET");
    let body = discord.json();
    assert!(
        body["content"]
            .as_str()
            .unwrap()
            .starts_with("alice is live")
    );
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));

    let slack = one(&r, "/slack/", log).await;
    assert_eq!(slack.path, "/slack/services/T0/B0/SLACK-SECRET");
    assert_eq!(
        slack.json(),
        json!({"text": "alice &lt;is&gt; live &amp; well"})
    );

    // Every delivery is done; the log names each entry and never a secret.
    let status = || async {
        serde_json::from_str::<Value>(&control_get(dir.path(), "/api/status").await).unwrap()
    };
    let mut done = false;
    for _ in 0..100 {
        let s = status().await;
        let hooks = s["hooks"].as_array().cloned().unwrap_or_default();
        done = hooks.len() == 6
            && hooks
                .iter()
                .all(|h| h["kind"] == "notify" && h["succeeded"] == 1 && h["pending"] == 0);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "{}", status().await);
    let text = log();
    assert!(text.contains("notifying ntfy http://127.0.0.1"), "{text}");
    assert!(!text.contains("SECRET"), "a secret in the log:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_notification_is_retried_and_delivered_after_kill_9() {
    let streams = StreamServer::start().await;
    streams.set(STREAM, Answer::flv(FIXTURE, 1.0, 0));
    let r = Receiver::start().await;
    r.fail("/ntfy/", Some(503));
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = {}\nevents = [\"live_start\"]\nmessage = \"{{name}} is live ({{session}})\"\n",
        toml_str(&r.url("/ntfy/alerts"))
    );
    let cfg = config(dir.path(), &room("alice", &streams.url(STREAM)), &extra);
    let mut d = Daemon::start_env(dir.path(), "retry", &cfg, FAST);
    // Refused, then retried with the same message.
    assert!(
        wait_until(Duration::from_secs(30), || r.hits("/ntfy/").len() >= 2).await,
        "no retry:\n{}",
        d.log_text()
    );
    let refused = r.hits("/ntfy/");
    assert!(refused.iter().all(|h| h.status == 503));
    assert_eq!(refused[0].body, refused[1].body);
    assert!(
        d.log_text()
            .contains("answered HTTP 503 Service Unavailable: try again later"),
        "{}",
        d.log_text()
    );
    d.kill9();
    // While liverec is down the receiver recovers and the live ends: the next start raises no
    // new live_start, and still delivers the one the journal holds.
    streams.set(STREAM, Answer::Offline);
    r.fail("/ntfy/", None);
    let before = r.hits("/ntfy/").len();
    let mut d = Daemon::start_env(dir.path(), "retry", &cfg, FAST);
    assert!(
        wait_until(Duration::from_secs(30), || r
            .hits("/ntfy/")
            .iter()
            .any(|h| h.status == 200))
        .await,
        "not delivered after the restart:\n{}",
        d.log_text()
    );
    let after = r.hits("/ntfy/");
    let delivered: Vec<&Hit> = after.iter().filter(|h| h.status == 200).collect();
    assert_eq!(delivered.len(), 1, "{after:#?}");
    assert_eq!(delivered[0].body, refused[0].body, "the same notification");
    assert!(after.len() > before);
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(15)).await.is_some());
    let pending = Journal::open(&dir.path().join("state")).unwrap().1;
    assert!(pending.is_empty(), "left in the journal: {pending:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_only_room_is_watched_and_notified_but_not_recorded() {
    let streams = StreamServer::start().await;
    streams.set(STREAM, Answer::flv(FIXTURE, 1.0, 0));
    let r = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[notify]]\nname = \"phone\"\nkind = \"ntfy\"\nurl = {}\nevents = [\"live_start\", \"live_end\"]\n",
        toml_str(&r.url("/ntfy/alerts"))
    );
    let rooms = format!("{}record = false\n", room("alice", &streams.url(STREAM)));
    let cfg = config(dir.path(), &rooms, &extra);
    let d = Daemon::start_env(dir.path(), "watch", &cfg, FAST);
    let start = one(&r, "/ntfy/", || d.log_text()).await;
    assert_eq!(start.header("title"), "alice is live");
    let s: Value = serde_json::from_str(&control_get(dir.path(), "/api/status").await).unwrap();
    let alice = &s["rooms"][0];
    assert_eq!(alice["state"], "live", "{s}");
    assert_eq!(
        alice["detail"], "live; not recorded (record = false)",
        "{s}"
    );
    assert!(alice["session"].is_object(), "{s}");
    // Polled (a direct room's poll opens its stream), never pulled: after a few more polls,
    // still no lock and no file.
    let polls = streams.stats(STREAM).requests.load(Ordering::Relaxed);
    assert!(
        wait_until(Duration::from_secs(20), || {
            streams.stats(STREAM).requests.load(Ordering::Relaxed) >= polls + 3
        })
        .await
    );
    let locks = dir.path().join("state/locks");
    assert!(files(&locks, ".lock").is_empty(), "{:?}", files(&locks, ""));
    assert!(files(&dir.path().join("rec"), "").is_empty());
    // The live ends: live_end after offline_grace (2s), and still no file.
    streams.set(STREAM, Answer::Offline);
    assert!(
        wait_until(Duration::from_secs(20), || r.hits("/ntfy/").len() >= 2).await,
        "no live_end:\n{}",
        d.log_text()
    );
    let end = &r.hits("/ntfy/")[1];
    assert_eq!(end.header("title"), "alice: live ended");
    assert_eq!(end.text(), "alice's live ended");
    assert!(files(&dir.path().join("rec"), "").is_empty());
    assert_eq!(r.hits("/ntfy/").len(), 2);
}
