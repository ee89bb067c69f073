//! Hooks and webhooks end to end: the real binary records from local servers and delivers its
//! events to small scripts (run by liverec without a shell) and to a webhook receiver on
//! loopback. Retries are made quick with LIVEREC_HOOK_BACKOFF_MS.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use liverec::hooks::journal::Journal;
use serde_json::Value;
use sha2::Sha256;

use crate::support::daemon::{
    Daemon, bin, config, control_address, files, room, status_when, wait_events, wait_until,
};
use crate::support::flv;
use crate::support::platform_server::{BiliRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const FAST: &[(&str, &str)] = &[("LIVEREC_HOOK_BACKOFF_MS", "200")];

/// A short live: 20x real time, once, then offline.
fn finite() -> Answer {
    let mut a = Answer::flv(FIXTURE, 20.0, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

/// Writes an executable /bin/sh script; liverec runs it directly (the kernel reads the #!).
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Stops the daemon with SIGTERM and checks that its journal holds no pending delivery.
async fn stop_with_nothing_pending(d: &mut Daemon, state: &Path) {
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(15)).await.is_some());
    let pending = Journal::open(state).unwrap().1;
    assert!(pending.is_empty(), "left in the journal: {pending:?}");
}

/// Waits until hook `name` of the daemon in `dir` has finished `done` deliveries (succeeded or
/// given up) and has none pending or running (from `GET /api/status`): nothing more runs for it
/// until another event comes.
async fn settled(dir: &Path, name: &str, done: u64) -> bool {
    let (ok, _) = status_when(dir, Duration::from_secs(30), |s| {
        s["hooks"].as_array().into_iter().flatten().any(|h| {
            let finished =
                h["succeeded"].as_u64().unwrap_or(0) + h["gave_up"].as_u64().unwrap_or(0);
            h["name"] == name && finished >= done && h["pending"] == 0 && h["running"] == 0
        })
    })
    .await;
    ok
}

/// Every process whose command line mentions `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) {
                out.push(format!("{}: {cmd}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

/// One request a webhook receiver got.
#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inbox {
    hits: Mutex<Vec<Hit>>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Mutex<Vec<u16>>,
}

/// A webhook receiver on 127.0.0.1:0.
struct Receiver {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> Self {
        let inbox = Arc::new(Inbox::default());
        *inbox.script.lock().unwrap() = statuses.iter().rev().copied().collect();
        async fn take(
            State(inbox): State<Arc<Inbox>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            inbox.hits.lock().unwrap().push(Hit { headers, body });
            let code = inbox.script.lock().unwrap().pop().unwrap_or(200);
            StatusCode::from_u16(code).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inbox }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.inbox.hits.lock().unwrap().clone()
    }

    fn of(&self, kind: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.header("x-liverec-event") == kind)
            .collect()
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_fails_twice_then_succeeds_runs_three_times_in_order() {
    let streams = StreamServer::start().await;
    streams.set("live/a.flv", finite());
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    let count = dir.path().join("count");
    // Fails the first two segment_complete attempts; records every call.
    let hook = script(
        dir.path(),
        "flaky.sh",
        &format!(
            r#"echo "$LIVEREC_EVENT_TYPE $LIVEREC_ATTEMPT $1" >> {calls}
[ "$LIVEREC_EVENT_TYPE" = segment_complete ] || exit 0
n=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count}
[ $n -ge 3 ]"#,
            calls = calls.display(),
            count = count.display()
        ),
    );
    let hooks = format!(
        "[[hooks]]\nname = \"flaky\"\nevents = [\"segment_complete\", \"live_end\"]\ncommand = [{}, \"{{path}}\"]\nretries = 3\ntimeout = \"10s\"\n",
        toml_str(hook.to_str().unwrap())
    );
    let mut d = Daemon::start_env(
        dir.path(),
        "flaky",
        &config(
            dir.path(),
            &format!("{hooks}{}", room("a", &streams.url("live/a.flv"))),
            "",
        ),
        FAST,
    );
    assert!(
        wait_until(Duration::from_secs(30), || lines(&calls).len() >= 4).await,
        "{}",
        d.log_text()
    );
    assert!(settled(dir.path(), "flaky", 2).await, "{}", d.log_text());
    let done = files(&dir.path().join("rec"), ".flv");
    assert_eq!(done.len(), 1, "{}", d.log_text());
    let path = done[0].display().to_string();
    // live_end waited for segment_complete (same hook, same room) to succeed.
    assert_eq!(
        lines(&calls),
        [
            format!("segment_complete 1 {path}"),
            format!("segment_complete 2 {path}"),
            format!("segment_complete 3 {path}"),
            "live_end 1 ".to_string(),
        ],
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    assert!(
        log.contains("failed (attempt 1 of 4): exited with status 1"),
        "{log}"
    );
    assert!(
        log.contains("delivered segment_complete (attempt 3 of 4)"),
        "{log}"
    );
    stop_with_nothing_pending(&mut d, &dir.path().join("state")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_hook_is_killed_with_its_children_and_hook_failed_is_delivered() {
    let streams = StreamServer::start().await;
    streams.set("live/h.flv", finite());
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("98{}", std::process::id() % 10_000 + 1000);
    // A child in the background, then the hook itself hangs.
    let hook = script(
        dir.path(),
        "hang.sh",
        &format!("sleep {marker}1 &\nsleep {marker}2\n"),
    );
    let cfg = format!(
        r#"[[hooks]]
name = "hang"
events = ["live_start"]
command = [{hook}]
timeout = "1s"
retries = 1

[[webhooks]]
name = "alerts"
url = "{url}"
events = ["hook_failed"]
"#,
        hook = toml_str(hook.to_str().unwrap()),
        url = receiver.url()
    );
    let d = Daemon::start_env(
        dir.path(),
        "hang",
        &config(
            dir.path(),
            &format!("{cfg}{}", room("h", &streams.url("live/h.flv"))),
            "",
        ),
        FAST,
    );
    assert!(
        wait_until(Duration::from_secs(20), || processes_with(&marker).len()
            == 2)
        .await,
        "the hook and its child never ran: {}",
        d.log_text()
    );
    assert!(
        wait_until(Duration::from_secs(30), || !receiver
            .of("hook_failed")
            .is_empty())
        .await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    let attempts = log
        .lines()
        .filter(|l| l.contains("timed out after 1s; its process group was killed"))
        .filter(|l| !l.contains("event hook_failed"))
        .filter(|l| l.contains("failed (attempt") || l.contains("gave up on live_start after 2"))
        .count();
    assert_eq!(attempts, 2, "{log}");
    assert!(log.contains("event hook_failed"), "{log}");
    let failed = receiver.of("hook_failed")[0].json();
    assert_eq!(failed["hook"]["name"], "hang");
    assert_eq!(failed["hook"]["event"], "live_start");
    assert_eq!(failed["hook"]["attempts"], 2);
    assert!(failed["error"].as_str().unwrap().contains("timed out"));
    // Neither the hook nor its background child survived.
    let left = processes_with(&marker);
    assert!(
        wait_until(Duration::from_secs(3), || processes_with(&marker)
            .is_empty())
        .await,
        "left running: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_pending_at_kill_9_run_after_the_restart() {
    let streams = StreamServer::start().await;
    streams.set("live/k.flv", Answer::flv(FIXTURE, 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let hook = script(
        dir.path(),
        "later.sh",
        &format!(
            "echo \"$LIVEREC_EVENT_TYPE $LIVEREC_DELIVERY\" >> {}",
            out.display()
        ),
    );
    let now = chrono::Local::now();
    let hhmm = |h: i64| {
        (now + chrono::Duration::hours(h))
            .format("%H:%M")
            .to_string()
    };
    // A window that is closed now, then one that is open.
    let closed = format!("{}-{}", hhmm(2), hhmm(3));
    let open = format!("{}-{}", hhmm(-1), hhmm(1));
    let cfg = |window: &str| {
        config(
            dir.path(),
            &format!(
                "[[hooks]]\nname = \"later\"\nevents = [\"live_start\", \"segment_start\"]\ncommand = [{}]\nwindow = \"{window}\"\n{}",
                toml_str(hook.to_str().unwrap()),
                room("k", &streams.url("live/k.flv"))
            ),
            "",
        )
    };
    let mut d = Daemon::start(dir.path(), "kill", &cfg(&closed));
    let journal = dir.path().join("state/hooks.journal");
    let journaled = || {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        text.lines().filter(|l| l.contains(r#""op":"add""#)).count()
    };
    assert!(
        wait_until(Duration::from_secs(20), || journaled() == 2).await,
        "{}",
        d.log_text()
    );
    assert!(!out.exists(), "ran outside its window");
    d.kill9();

    streams.set("live/k.flv", Answer::Offline);
    std::fs::write(&d.config, cfg(&open)).unwrap();
    let mut d2 = Daemon::start_file(&d.config, "kill-restart");
    assert!(settled(dir.path(), "later", 2).await, "{}", d2.log_text());
    let got = lines(&out);
    let kinds: Vec<&str> = got.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(kinds, ["live_start", "segment_start"], "{got:?}");
    assert!(d2.log_text().contains("2 pending deliveries resumed"));
    stop_with_nothing_pending(&mut d2, &dir.path().join("state")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_title_reaches_the_hook_as_one_literal_argument() {
    let title = "live $(touch x); `touch x` 'single' \"double\"\nsecond line ../../x";
    let streams = StreamServer::start().await;
    streams.set("live-bvc/7734200/live.flv", finite());
    let api = PlatformServer::start().await;
    api.set_bili(
        7734200,
        BiliRoom {
            short_id: 77,
            live_status: 1,
            title: title.into(),
            uname: "主播".into(),
            live_start_time: 1763712000,
            stream_host: format!("http://{}", streams.addr),
            stream_path: "live-bvc/7734200/live.flv".into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("got");
    std::fs::create_dir(&got).unwrap();
    let hook = script(
        dir.path(),
        "args.sh",
        &format!(
            r#"echo $# > {g}/argc
printf '%s' "$1" > {g}/title
printf '%s' "$2" > {g}/path
printf '%s' "$3" > {g}/name"#,
            g = got.display()
        ),
    );
    let cfg = config(
        dir.path(),
        &format!(
            "[[hooks]]\nname = \"args\"\nevents = [\"segment_complete\"]\ncommand = [{}, \"{{title}}\", \"{{path}}\", \"--name={{name}} {{title}}\"]\n{}",
            toml_str(hook.to_str().unwrap()),
            room("bili", "https://live.bilibili.com/77")
        ),
        &format!("[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n", api.base()),
    )
    .replace(
        "filename = \"{name}/{index}\"",
        "filename = \"{name}/{title}/{title}_{index}\"",
    );
    let d = Daemon::start(dir.path(), "hostile", &cfg);
    // The live ends on the platform once its stream was sent: the session (and segment) close.
    let whole = flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(20), || {
            streams
                .bodies("live-bvc/7734200/live.flv")
                .iter()
                .any(|b| b.len() >= whole)
        })
        .await,
        "{}",
        d.log_text()
    );
    api.edit_bili(7734200, |r| r.live_status = 0);
    assert!(
        wait_until(Duration::from_secs(30), || got.join("name").exists()).await,
        "{}",
        d.log_text()
    );
    let read = |n: &str| std::fs::read_to_string(got.join(n)).unwrap();
    assert_eq!(read("argc").trim(), "3");
    assert_eq!(read("title"), title);
    assert_eq!(read("name"), format!("--name=bili {title}"));
    let path = PathBuf::from(read("path"));
    let rec = dir.path().join("rec").canonicalize().unwrap();
    assert!(path.is_file(), "{path:?}");
    assert!(
        path.canonicalize().unwrap().starts_with(&rec),
        "{path:?} is outside {rec:?}"
    );
    flv::walk(&std::fs::read(&path).unwrap()).expect("a whole FLV file");
    // Nothing ran the title as shell code.
    assert!(
        files(dir.path(), "/x").is_empty(),
        "{:?}",
        files(dir.path(), "")
    );
    assert!(!Path::new("x").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_signed_and_retried_with_the_same_delivery_id() {
    let streams = StreamServer::start().await;
    streams.set("live/w.flv", finite());
    let receiver = Receiver::start(&[500, 500]).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-\"quoted\"";
    let cfg = format!(
        "[[webhooks]]\nname = \"chat\"\nurl = \"{}\"\nevents = [\"live_start\"]\nsecret = {}\nretries = 3\n",
        receiver.url(),
        toml_str(secret)
    );
    let d = Daemon::start_env(
        dir.path(),
        "webhook",
        &config(
            dir.path(),
            &format!("{cfg}{}", room("w", &streams.url("live/w.flv"))),
            "",
        ),
        FAST,
    );
    assert!(
        wait_until(Duration::from_secs(20), || receiver.hits().len() >= 3).await,
        "{}",
        d.log_text()
    );
    assert!(settled(dir.path(), "chat", 1).await, "{}", d.log_text());
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "500, 500, then 200: no more attempts");
    let delivery = hits[0].header("x-liverec-delivery");
    assert!(uuid::Uuid::parse_str(&delivery).is_ok(), "{delivery:?}");
    for h in &hits {
        assert_eq!(h.header("x-liverec-delivery"), delivery);
        assert_eq!(h.header("x-liverec-event"), "live_start");
        assert_eq!(h.header("content-type"), "application/json");
        let sig = h.header("x-liverec-signature");
        assert_eq!(sig, format!("sha256={}", hmac_hex(secret, &h.body)));
        assert_ne!(sig, format!("sha256={}", hmac_hex("wrong", &h.body)));
        let e = h.json();
        assert_eq!(e["type"], "live_start");
        assert_eq!(e["room"]["name"], "w");
    }
    let log = d.log_text();
    assert!(log.contains("answered HTTP 500"), "{log}");
    assert!(!log.contains(secret), "the secret must never be logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_webhook_gives_up_and_raises_hook_failed_while_recording_goes_on() {
    let streams = StreamServer::start().await;
    streams.set("live/r.flv", finite());
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!(
        "http://user:pw@{}/hook?token=abc",
        dead.local_addr().unwrap()
    );
    drop(dead);
    let dir = tempfile::tempdir().unwrap();
    let failed = dir.path().join("failed.json");
    let hook = script(
        dir.path(),
        "on_failed.sh",
        &format!("cat >> {}", failed.display()),
    );
    let cfg = format!(
        r#"[[webhooks]]
name = "down"
url = "{dead_url}"
events = ["segment_complete"]
retries = 2

[[hooks]]
name = "alarm"
events = ["hook_failed"]
command = [{hook}]
"#,
        hook = toml_str(hook.to_str().unwrap())
    );
    let d = Daemon::start_env(
        dir.path(),
        "refused",
        &config(
            dir.path(),
            &format!("{cfg}{}", room("r", &streams.url("live/r.flv"))),
            "",
        ),
        FAST,
    );
    assert!(
        wait_until(Duration::from_secs(30), || !lines(&failed).is_empty()).await,
        "{}",
        d.log_text()
    );
    let e: Value = serde_json::from_str(&lines(&failed)[0]).unwrap();
    assert_eq!(e["type"], "hook_failed");
    assert_eq!(e["hook"]["name"], "down");
    assert_eq!(e["hook"]["event"], "segment_complete");
    assert_eq!(e["hook"]["attempts"], 3);
    assert!(e["segment"]["path"].as_str().unwrap().ends_with(".flv"));
    let log = d.log_text();
    let attempts = log
        .lines()
        .filter(|l| l.contains("connection failed"))
        .filter(|l| !l.contains("event hook_failed"))
        .filter(|l| l.contains("failed (attempt") || l.contains("gave up on"))
        .count();
    assert_eq!(attempts, 3, "{log}");
    assert!(
        log.contains("gave up on segment_complete after 3 attempt(s)"),
        "{log}"
    );
    assert!(log.contains("event hook_failed"), "{log}");
    assert!(
        !log.contains("token=abc") && !log.contains("pw@"),
        "credentials logged: {log}"
    );
    // Recording was not affected: one complete file, no .part.
    let rec = dir.path().join("rec");
    assert!(files(&rec, ".part").is_empty());
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1);
    let served = streams
        .bodies("live/r.flv")
        .into_iter()
        .max_by_key(Vec::len)
        .unwrap();
    assert!(
        flv::recorded_frames(&done) == flv::frames_of(&served),
        "every served frame, once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_hook_program_fails_check_and_a_deleted_one_fails_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    // At check time.
    let bad = config(
        dir.path(),
        "[[hooks]]\nname = \"up\"\nevents = [\"segment_complete\"]\ncommand = [\"/opt/nowhere/uploader\", \"{path}\"]\n",
        "",
    );
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hooks[0].command") && err.contains("\"/opt/nowhere/uploader\" cannot be run"),
        "{err}"
    );

    // At run time: the program is deleted after the daemon started.
    let streams = StreamServer::start().await;
    streams.set("live/g.flv", finite());
    let hook = script(dir.path(), "gone.sh", "exit 0");
    let cfg = config(
        dir.path(),
        &format!(
            "[[hooks]]\nname = \"gone\"\nevents = [\"live_start\"]\ncommand = [{}]\nretries = 1\n{}",
            toml_str(hook.to_str().unwrap()),
            room("g", &streams.url("live/g.flv"))
        ),
        "",
    );
    let cfg_path = dir.path().join("good.toml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let check = Command::new(bin())
        .args(["check", "-c"])
        .arg(&cfg_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Not live until the hook is gone.
    streams.set("live/g.flv", Answer::Offline);
    let d = Daemon::start_file_env(&cfg_path, "gone", FAST);
    // Running (its API answers): the config, hook program included, was checked at start.
    control_address(dir.path()).await;
    std::fs::remove_file(&hook).unwrap();
    streams.set("live/g.flv", finite());
    assert!(
        wait_events(dir.path(), "hook_failed", 1, Duration::from_secs(30)).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    let reason = format!(
        "cannot start {:?}: No such file or directory",
        hook.display().to_string()
    );
    assert!(
        log.contains(&format!("failed (attempt 1 of 2): {reason}")),
        "{log}"
    );
    assert!(
        log.contains("gave up on live_start after 2 attempt(s)"),
        "{log}"
    );
    // The recording went on.
    assert!(
        wait_events(dir.path(), "segment_complete", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_failed_and_recovered_reach_a_webhook() {
    let streams = StreamServer::start().await;
    // Live on the platform, but the CDN refuses the stream.
    streams.set("live-bvc/7734200/live.flv", Answer::Status(403));
    let api = PlatformServer::start().await;
    api.set_bili(
        7734200,
        BiliRoom {
            short_id: 77,
            live_status: 1,
            title: "t".into(),
            uname: "u".into(),
            live_start_time: 1763712000,
            stream_host: format!("http://{}", streams.addr),
            stream_path: "live-bvc/7734200/live.flv".into(),
        },
    );
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "[[webhooks]]\nname = \"ops\"\nurl = \"{}\"\nevents = [\"recording_failed\", \"recording_recovered\"]\n{}",
            receiver.url(),
            room("bili", "https://live.bilibili.com/77")
        ),
        &format!("[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n", api.base()),
    )
    .replace("alert_after = \"5s\"", "alert_after = \"2s\"");
    let d = Daemon::start(dir.path(), "alerts", &cfg);
    assert!(
        wait_until(Duration::from_secs(20), || !receiver
            .of("recording_failed")
            .is_empty())
        .await,
        "{}",
        d.log_text()
    );
    let failed = receiver.of("recording_failed")[0].json();
    assert_eq!(failed["room"]["key"], "bilibili:7734200");
    let why = failed["error"].as_str().unwrap();
    // The reason is the last source's error (the platform offers several; the 403 is one).
    assert!(why.contains("live but nothing written for 2s"), "{why}");
    // Bytes flow again.
    streams.set("live-bvc/7734200/live.flv", Answer::flv(FIXTURE, 1.0, 0));
    assert!(
        wait_until(Duration::from_secs(30), || !receiver
            .of("recording_recovered")
            .is_empty())
        .await,
        "{}",
        d.log_text()
    );
    assert_eq!(
        receiver.of("recording_failed").len(),
        1,
        "repeated too soon"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_cut_in_half_is_replayed_with_a_warning() {
    use liverec::event::{Event, EventType, RoomRef};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let hook = script(
        dir.path(),
        "late.sh",
        &format!("echo \"$LIVEREC_DELIVERY $1\" >> {}", out.display()),
    );
    // What a daemon killed in the middle of a write leaves: two whole records (one for a hook
    // that the config no longer has) and half of a third.
    let event = Event::new(
        EventType::LiveEnd,
        Some(RoomRef {
            key: "direct:0123456789abcdef".into(),
            platform: "direct".into(),
            id: "0123456789abcdef".into(),
            name: "gone-room".into(),
            url: "http://127.0.0.1:9/a.flv".into(),
            streamer: String::new(),
            title: "before the crash".into(),
        }),
    );
    let record = |target: &str, id: uuid::Uuid| {
        serde_json::json!({"op": "add", "id": id, "target": target, "event": event}).to_string()
    };
    let (kept, parked) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let torn = record("late", uuid::Uuid::new_v4());
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("hooks.journal"),
        format!(
            "{}\n{}\n{}",
            record("late", kept),
            record("removed", parked),
            &torn[..torn.len() / 2]
        ),
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "[[hooks]]\nname = \"late\"\nevents = [\"live_end\"]\ncommand = [{}, \"{{title}}\"]\n",
            toml_str(hook.to_str().unwrap())
        ),
        "",
    );
    let mut d = Daemon::start(dir.path(), "journal", &cfg);
    assert!(
        wait_until(Duration::from_secs(15), || !lines(&out).is_empty()).await,
        "{}",
        d.log_text()
    );
    // The delivery keeps its id across the restart.
    assert_eq!(lines(&out), [format!("{kept} before the crash")]);
    let log = d.log_text();
    assert!(
        log.contains("hooks.journal:3: skipped a line that is not a journal record"),
        "{log}"
    );
    assert!(
        log.contains("1 pending deliveries of \"removed\" are parked"),
        "{log}"
    );
    // Parked, not dropped: after a clean stop only the removed hook's delivery is left.
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(15)).await.is_some());
    let pending = Journal::open(&state).unwrap().1;
    assert_eq!(
        pending.iter().map(|p| p.id).collect::<Vec<_>>(),
        [parked],
        "{pending:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_a_hook_and_status_and_metrics_count_its_deliveries() {
    let server = StreamServer::start().await;
    server.set("live/r.flv", Answer::Offline);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ran.txt");
    let hook = script(
        dir.path(),
        "record.sh",
        &format!("echo \"$1 $2\" >> {}", out.display()),
    );
    let base = config(dir.path(), &room("r", &server.url("live/r.flv")), "");
    let d = Daemon::start_env(dir.path(), "reload-hook", &base, FAST);
    // Ready: it watches its config file now.
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    let with_hook = format!(
        "{base}\n[[hooks]]\nname = \"h\"\nevents = [\"segment_complete\"]\ncommand = [{}, \"{{type}}\", \"{{path}}\"]\ntimeout = \"10s\"\n",
        toml_str(&hook.display().to_string())
    );
    std::fs::write(&d.config, with_hook).unwrap();
    // Reloaded: the hook is listed.
    let (added, last) = status_when(dir.path(), Duration::from_secs(10), |s| {
        s["hooks"]
            .as_array()
            .is_some_and(|hooks| hooks.iter().any(|h| h["name"] == "h"))
    })
    .await;
    assert!(added, "{last:#}\n{}", d.log_text());
    server.set("live/r.flv", finite());
    assert!(
        wait_until(Duration::from_secs(30), || lines(&out).len() == 1).await,
        "{}",
        d.log_text()
    );
    let ran = lines(&out);
    assert!(
        ran[0].starts_with("segment_complete ") && ran[0].ends_with(".flv"),
        "{ran:?}"
    );
    // /metrics and status know about the hook's delivery.
    let status = std::process::Command::new(crate::support::daemon::bin())
        .args(["status", "-c"])
        .arg(&d.config)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(table.contains("hook h: 1 done, 0 pending"), "{table}");
    let note: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("state/control.json")).unwrap(),
    )
    .unwrap();
    let metrics = reqwest::get(format!(
        "http://{}/metrics",
        note["listen"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        metrics.contains("liverec_hook_deliveries_total{hook=\"h\",result=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("liverec_hook_pending{hook=\"h\"} 0"),
        "{metrics}"
    );
}

/// A `segment_complete` as a writer prepares it for `alice`'s file `part`.
fn segment_event(part: &Path, index: u32) -> liverec::event::Event {
    use liverec::event::{Event, EventType, RoomRef, SegmentRef};
    let now = liverec::event::now();
    Event::new(
        EventType::SegmentComplete,
        Some(RoomRef {
            key: "direct:0123456789abcdef".into(),
            platform: "direct".into(),
            id: "0123456789abcdef".into(),
            name: "alice".into(),
            url: String::new(),
            streamer: String::new(),
            title: String::new(),
        }),
    )
    .with_segment(SegmentRef {
        path: part.to_path_buf(),
        index,
        bytes: 0,
        duration_s: 60.0,
        start: now,
        end: now,
        recovered: false,
        danmaku: None,
    })
}

/// What a writer killed between the rename of `<n>.flv.part` and the hook journal leaves: the
/// finished file and its intent. Returns the event id and the final path.
fn killed_after_rename(state: &Path, rec: &Path, n: u32) -> (uuid::Uuid, PathBuf) {
    use liverec::segment::intent::{Intent, Intents, Stage, identity};
    let part = rec.join(format!("alice/{n}.flv.part"));
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, b"recorded bytes").unwrap();
    let store = Intents::open(&state.join("segments")).unwrap();
    let (dev, ino) = identity(&std::fs::metadata(&part).unwrap());
    let intent = Intent {
        stage: Stage::Closing,
        part: part.clone(),
        dev,
        ino,
        event: segment_event(&part, n),
    };
    store.begin(&intent).unwrap();
    let done =
        liverec::segment::part::rename_no_replace(&part, &rec.join(format!("alice/{n}")), "flv")
            .unwrap();
    (intent.event.id, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_renamed_just_before_kill_9_is_delivered_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (state, rec) = (dir.path().join("state"), dir.path().join("rec"));
    let out = dir.path().join("out");
    // Killed after the rename, before the journal: the event was lost.
    let (lost, lost_path) = killed_after_rename(&state, &rec, 7);
    // Killed after the journal, before the intent was removed: the event is safe already.
    let (safe, _) = killed_after_rename(&state, &rec, 8);
    {
        let (mut j, _) = Journal::open(&state).unwrap();
        let e = {
            let mut e = segment_event(&rec.join("alice/8.flv"), 8);
            e.id = safe;
            e
        };
        let id = uuid::Uuid::new_v4();
        j.add(&[liverec::hooks::journal::NewDelivery {
            id,
            target: "upload",
            event: &e,
        }])
        .unwrap();
        j.done(id).unwrap();
    }
    let hook = script(
        dir.path(),
        "upload.sh",
        &format!("cat >> {}", out.display()),
    );
    let cfg = format!(
        "[[hooks]]\nname = \"upload\"\nevents = [\"segment_complete\"]\ncommand = [{}]\nrooms = [\"alice\"]\n",
        toml_str(hook.to_str().unwrap())
    );
    let mut d = Daemon::start(dir.path(), "lost", &config(dir.path(), &cfg, ""));
    assert!(settled(dir.path(), "upload", 1).await, "{}", d.log_text());
    let got = lines(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    let e: Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(e["id"], lost.to_string(), "the id it would have had");
    assert_eq!(e["segment"]["path"], lost_path.to_str().unwrap());
    assert_eq!(e["segment"]["bytes"], 14);
    assert_eq!(e["room"]["name"], "alice");
    assert!(
        d.log_text()
            .contains("its segment_complete never reached the hook journal: raising it now")
    );
    assert_eq!(
        std::fs::read_dir(state.join("segments")).unwrap().count(),
        0,
        "both intents are settled"
    );
    stop_with_nothing_pending(&mut d, &state).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_left_by_kill_9_goes_to_its_rooms_hooks_only() {
    let streams = StreamServer::start().await;
    streams.set("live/alice.flv", Answer::flv(FIXTURE, 1.0, 0));
    streams.set("live/bob.flv", Answer::Offline);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let hook = |name: &str| {
        let out = dir.path().join(format!("{name}.json"));
        let path = script(
            dir.path(),
            &format!("{name}.sh"),
            &format!("cat >> {}", out.display()),
        );
        (
            format!(
                "[[hooks]]\nname = \"{name}\"\nevents = [\"segment_complete\"]\ncommand = [{}]\nrooms = [\"{name}\"]\n",
                toml_str(path.to_str().unwrap())
            ),
            out,
        )
    };
    let (alice_hook, alice_out) = hook("alice");
    let (bob_hook, bob_out) = hook("bob");
    // A template that does not tell the two rooms apart.
    let same = "filename = \"{platform}/{start:%H%M%S%f}-{index}\"\n";
    let rooms = format!(
        "{alice_hook}{bob_hook}{}{same}{}{same}",
        room("alice", &streams.url("live/alice.flv")),
        room("bob", &streams.url("live/bob.flv")),
    );
    let mut d = Daemon::start(dir.path(), "routed", &config(dir.path(), &rooms, ""));
    let rec = dir.path().join("rec");
    // Some bytes in the part, and the segment's record (the only thing that will name its
    // room) written.
    let grown = || {
        files(&rec, ".part")
            .first()
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() > 100_000)
    };
    assert!(
        wait_until(Duration::from_secs(20), || grown()
            && !files(&state.join("segments"), ".json").is_empty())
        .await,
        "{}",
        d.log_text()
    );
    d.kill9();
    // The lock files that named the part are gone too (a wiped lock_dir): only the segment's
    // own record says whose it is.
    std::fs::remove_dir_all(state.join("locks")).unwrap();
    streams.set("live/alice.flv", Answer::Offline);
    let mut d2 = Daemon::start_file(&d.config, "routed-restart");
    assert!(
        settled(dir.path(), "alice", 1).await && settled(dir.path(), "bob", 0).await,
        "{}",
        d2.log_text()
    );
    let got = lines(&alice_out);
    assert_eq!(got.len(), 1, "{got:?}");
    let e: Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(e["room"]["name"], "alice");
    assert!(e["room"]["key"].as_str().unwrap().starts_with("direct:"));
    assert_eq!(e["segment"]["index"], 1, "indexes start at 1");
    assert_eq!(e["segment"]["recovered"], true);
    assert!(e["session"]["id"].is_string());
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1);
    assert_eq!(e["segment"]["path"], done[0].to_str().unwrap());
    assert!(lines(&bob_out).is_empty(), "bob's hook got alice's file");
    stop_with_nothing_pending(&mut d2, &state).await;
}

/// The bug the architecture review found: a reload renamed a room while its segment was open,
/// the daemon was killed, and the recovered `segment_complete` carried the old name while the
/// room's live events carried the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_recovered_after_a_rename_by_reload_names_the_room_as_its_live_events_do() {
    let streams = StreamServer::start().await;
    streams.set("live/a.flv", Answer::flv(FIXTURE, 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let (state, rec) = (dir.path().join("state"), dir.path().join("rec"));
    let out = dir.path().join("events.json");
    let hook = script(dir.path(), "all.sh", &format!("cat >> {}", out.display()));
    let hooks = format!(
        "[[hooks]]\nname = \"all\"\nevents = [\"segment_complete\"]\ncommand = [{}]\n",
        toml_str(hook.to_str().unwrap())
    );
    let with_name = |name: &str| {
        let rooms = format!("{hooks}{}", room(name, &streams.url("live/a.flv")));
        config(dir.path(), &rooms, "")
    };
    let mut d = Daemon::start(dir.path(), "renamed", &with_name("before"));
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    std::fs::write(&d.config, with_name("after")).unwrap();
    let addr = crate::support::daemon::control_address(dir.path()).await;
    let reload = reqwest::Client::new()
        .post(format!("http://{addr}/api/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status().as_u16(), 200);
    // The open segment's record takes the new name before anything else happens to it.
    let recorded_as = |name: &str| {
        let needle = format!("\"name\":\"{name}\"");
        files(&state.join("segments"), ".json")
            .iter()
            .any(|f| lines(f).last().is_some_and(|l| l.contains(&needle)))
    };
    assert!(
        wait_until(Duration::from_secs(10), || recorded_as("after")).await,
        "{}",
        d.log_text()
    );
    d.kill9();

    // Restarted on the renamed config: the cut segment is recovered, and the room, live all
    // along, records a new one, whose live ends soon (its segment completes before the stop:
    // an event raised by the stop itself is journaled for the next start, not delivered).
    streams.set("live/a.flv", finite());
    let mut d2 = Daemon::start_file(&d.config, "renamed-restart");
    assert!(
        wait_until(Duration::from_secs(30), || lines(&out).len() == 2).await,
        "{}",
        d2.log_text()
    );
    assert!(settled(dir.path(), "all", 2).await, "{}", d2.log_text());
    assert_eq!(
        files(&rec.join("after"), ".flv").len(),
        1,
        "{}",
        d2.log_text()
    );
    stop_with_nothing_pending(&mut d2, &state).await;
    let events: Vec<Value> = lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:#?}");
    let (recovered, live) = match events[0]["segment"]["recovered"].as_bool() {
        Some(true) => (&events[0], &events[1]),
        _ => (&events[1], &events[0]),
    };
    assert_eq!(recovered["segment"]["recovered"], true, "{events:#?}");
    assert_eq!(live["segment"]["recovered"], false, "{events:#?}");
    assert_eq!(recovered["room"]["name"], "after");
    assert_eq!(
        recovered["room"], live["room"],
        "the same room, described alike"
    );
    // Its file kept the name it was opened under.
    assert!(
        recovered["segment"]["path"]
            .as_str()
            .unwrap()
            .starts_with(rec.join("before/").to_str().unwrap())
    );
}
