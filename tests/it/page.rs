//! The status page and the event stream: served by the real daemon recording a live room on the
//! fake Bilibili, read by a script (SSE frames, headers, the browser guard) and rendered by a
//! real headless Chromium (the room recording, its bitrate updating, an event arriving without
//! a reload). The browser test saves its screenshots in the target folder; with
//! `LIVEREC_UPDATE_SCREENSHOTS=1` it also writes the ones the README shows (`docs/`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::daemon::{Daemon, config, control_address, room, wait_until};
use crate::support::platform_server::{BiliRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const LONG_ID: u64 = 7734200;
const BILI_PATH: &str = "live-bvc/7734200/live.flv";
const TOKEN: &str = "s3cret-page-token";

/// A daemon with a token, recording a live Bilibili room in real time (an endless stream), an
/// offline plain URL, one that refuses access, and an upload hook whose window is closed now
/// (its queue waits).
struct Setup {
    // Dropped in this order: the daemon stops before its folder goes.
    daemon: Daemon,
    _dir: tempfile::TempDir,
    _streams: StreamServer,
    _api: PlatformServer,
    addr: String,
    key: String,
}

async fn start() -> Setup {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, Answer::flv(FIXTURE, 1.0, 0));
    let api = PlatformServer::start().await;
    api.set_bili(
        LONG_ID,
        BiliRoom {
            short_id: 77,
            live_status: 1,
            title: "晚间测试直播".into(),
            uname: "测试主播甲".into(),
            live_start_time: 1763712000,
            stream_host: format!("http://{}", streams.addr),
            stream_path: BILI_PATH.into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Local::now();
    let later = |h: i64| (now + chrono::Duration::hours(h)).format("%H:00");
    let extra = format!(
        "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n\n[[hooks]]\nname = \"upload\"\nevents = [\"segment_complete\"]\ncommand = [\"true\"]\nwindow = \"{}-{}\"\n",
        api.base(),
        later(2),
        later(3),
    );
    streams.set("backup/live.flv", Answer::Status(403));
    let rooms = format!(
        "{}{}{}",
        room("alice", "https://live.bilibili.com/7734200"),
        room("studio", &streams.url("studio/live.flv")),
        room("backup", &streams.url("backup/live.flv")),
    );
    let cfg = config(dir.path(), &rooms, &extra).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\""),
    );
    let daemon = Daemon::start(dir.path(), "page", &cfg);
    let addr = control_address(dir.path()).await;
    let key = format!("bilibili:{LONG_ID}");
    let recording = wait_until(Duration::from_secs(30), || {
        crate::support::daemon::files(&dir.path().join("rec"), ".part").len() == 1
    })
    .await;
    assert!(recording, "no recording started:\n{}", daemon.log_text());
    Setup {
        daemon,
        _dir: dir,
        _streams: streams,
        _api: api,
        addr,
        key,
    }
}

fn post(addr: &str, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(TOKEN)
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    let body = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
    serde_json::from_str(&body.text().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_public_the_api_is_not_and_the_stream_sends_each_event_as_it_happens() {
    let mut s = start().await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", s.addr);

    // The page's files: no token, locked-down headers, the right types.
    for (path, kind) in [
        ("/", "text/html"),
        ("/page.css", "text/css"),
        ("/page.js", "text/javascript"),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        let h = r.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains(TOKEN) && !body.contains("7734200"),
            "{path} holds no data"
        );
    }

    // The stream needs the token like every API call.
    let r = http
        .get(format!("{base}/api/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let r = http
        .get(format!("{base}/api/events/stream"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = r.bytes_stream();

    // A foreign page's POST is refused even with the token; the page's own passes.
    let split = format!("/api/rooms/{}/split", s.key);
    let r = post(&s.addr, &split)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("evil.example"));
    let r = post(&s.addr, &split)
        .header("origin", &base)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", s.daemon.log_text());

    // The split closes the file at its next keyframe: segment_complete then segment_start
    // arrive on the open stream, each as `event: <type>` and one `data:` line of the event JSON
    // (the one /api/events lists, with the same id).
    let mut sse = Sse {
        body: Box::pin(body),
        text: String::new(),
    };
    let mut frames: Vec<(String, Value)> = Vec::new();
    while !frames.iter().any(|(t, _)| t == "segment_start") {
        match sse.next(Duration::from_secs(30)).await {
            Some(f) => frames.push(f),
            None => panic!("the stream ended or went quiet:\n{}", s.daemon.log_text()),
        }
    }
    let kinds: Vec<&str> = frames.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(kinds, ["segment_complete", "segment_start"], "{frames:?}");
    let done = &frames[0].1;
    assert_eq!(done["room"]["key"], s.key.as_str());
    let listed: Vec<Value> = get_json(&http, &format!("{base}/api/events")).await;
    assert!(
        listed.iter().any(|e| e == done),
        "the same event in /api/events"
    );

    // What the page draws from: disk size and the sampled bitrate history.
    // (The API samples every 5 s: the room appears once a sample saw it writing.)
    let until = Instant::now() + Duration::from_secs(30);
    let st = loop {
        let st: Value = get_json(&http, &format!("{base}/api/status")).await;
        let hist = st["bitrate_history"]["rooms"][&s.key].as_array().cloned();
        if hist.is_some_and(|h| h.iter().any(|v| v.as_u64() > Some(0)) && h.len() <= 120) {
            break st;
        }
        assert!(Instant::now() < until, "no bitrate history: {st}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(st["disk_total_bytes"].as_u64().unwrap() >= st["disk_free_bytes"].as_u64().unwrap());
    assert_eq!(st["bitrate_history"]["interval_s"], 5);

    // Stopping the daemon: the events of the shutdown (the open file's segment_complete) still
    // arrive, then the stream ends and the daemon exits (an open stream does not hold it).
    s.daemon.signal(libc::SIGTERM);
    let mut last = Vec::new();
    while let Some((kind, _)) = sse.next(Duration::from_secs(30)).await {
        last.push(kind);
    }
    assert!(
        last.iter().any(|k| k == "segment_complete"),
        "{last:?}\n{}",
        s.daemon.log_text()
    );
    let exit = s.daemon.wait_exit(Duration::from_secs(30)).await;
    assert!(exit.is_some_and(|e| e.success()), "{exit:?}");
}

type Body =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Reads server-sent events, checking each frame's shape.
struct Sse {
    body: Body,
    text: String,
}

impl Sse {
    /// The next event (type, JSON), skipping comments; None when the stream ends or nothing
    /// comes for `quiet`.
    async fn next(&mut self, quiet: Duration) -> Option<(String, Value)> {
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let frame: String = self.text.drain(..end + 2).collect();
                if frame.starts_with(':') {
                    continue; // a comment: the greeting or a keepalive
                }
                let mut lines = frame.trim_end().lines();
                let kind = lines.next().and_then(|l| l.strip_prefix("event: "));
                let data = lines.next().and_then(|l| l.strip_prefix("data: "));
                let (Some(kind), Some(data)) = (kind, data) else {
                    panic!("not an event frame: {frame:?}");
                };
                assert_eq!(lines.next(), None, "one data line: {frame:?}");
                let v: Value = serde_json::from_str(data).unwrap();
                assert_eq!(v["type"], kind);
                return Some((kind.to_string(), v));
            }
            let chunk = tokio::time::timeout(quiet, self.body.next()).await;
            let Ok(Some(Ok(chunk))) = chunk else {
                return None;
            };
            self.text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_a_page_on_a_rebound_name_is_refused() {
    let server = StreamServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &room("a", &server.url("a.flv")), "");
    let d = Daemon::start(dir.path(), "notoken", &cfg);
    let addr = control_address(dir.path()).await;
    let port = addr.rsplit_once(':').unwrap().1;
    let http = reqwest::Client::new();
    let get = |host: String| {
        http.get(format!("http://{addr}/api/status"))
            .header("host", host)
            .send()
    };
    assert_eq!(get(addr.clone()).await.unwrap().status().as_u16(), 200);
    assert_eq!(
        get(format!("localhost:{port}"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    // A DNS-rebinding page: its own name, pointed at 127.0.0.1.
    let r = get(format!("rebound.example:{port}")).await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "{}", d.log_text());
    assert!(r.text().await.unwrap().contains("set [control] token"));
    // The page itself is still served (it holds no data), and `liverec status` still works.
    assert_eq!(
        http.get(format!("http://{addr}/"))
            .header("host", "rebound.example")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["status", "-c"])
        .arg(dir.path().join("notoken.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the screenshots go: the target folder always; `docs/` when asked to update them.
fn screenshot_paths(name: &str) -> Vec<PathBuf> {
    let mut out = vec![Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"))];
    if std::env::var_os("LIVEREC_UPDATE_SCREENSHOTS").is_some() {
        out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/{name}.png")));
    }
    out
}

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_shows_the_room_recording_its_bitrate_and_events_without_a_reload() {
    let s = start().await;
    let url = format!("http://{}/", s.addr);
    let key = s.key.clone();
    let update = std::env::var_os("LIVEREC_UPDATE_SCREENSHOTS").is_some();
    let result = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let browser = Browser::launch()?;
        let run = || -> Result<(), String> {
            let page = browser.new_page(1280, 900)?;
            page.navigate(&url)?;
            let by_id = |id: &str| format!("document.getElementById({})", json!(id));

            // The token is asked for once; a wrong one is refused, the right one kept.
            page.wait(
                "the token form",
                &format!("!{}.hidden", by_id("token-form")),
                LONG,
            )?;
            let submit = |t: &str| {
                format!(
                    "(() => {{ {}.value = {}; {}.requestSubmit(); return true; }})()",
                    by_id("token-input"),
                    json!(t),
                    by_id("token-form")
                )
            };
            page.eval(&submit("wrong"))?;
            page.wait(
                "the form again after a wrong token",
                &format!(
                    "!{}.hidden && {}.textContent",
                    by_id("token-form"),
                    by_id("token-note")
                ),
                LONG,
            )?;
            page.eval(&submit(TOKEN))?;
            page.wait(
                "the form gone",
                &format!("{}.hidden", by_id("token-form")),
                LONG,
            )?;
            page.eval("window.__notReloaded = 'yes'; true")?;

            // The room's card says recording, with a bitrate.
            let card = format!(
                "[...document.querySelectorAll('.room')].find(c => c.dataset.key === {})",
                json!(key)
            );
            let rate = page.wait(
                "the room recording with a bitrate",
                &format!(
                    "(() => {{ const c = {card}; if (!c || c.dataset.state !== 'recording' || c.querySelector('.state').textContent !== 'recording') return null;
                       const r = c.querySelector('.rate-text').textContent; return /^\\d+(\\.\\d)? [kM]b\\/s$/.test(r) ? r : null; }})()"
                ),
                LONG,
            )?;
            // Updating: another value on a later poll, and the sparkline drawn from the
            // daemon's samples (one every 5 s).
            page.wait(
                "the bitrate to change",
                &format!(
                    "(() => {{ const r = {card}.querySelector('.rate-text').textContent; return r !== {rate} && /b\\/s$/.test(r) ? r : null; }})()"
                ),
                LONG,
            )?;
            let points = if update { 12 } else { 2 };
            page.wait(
                "the sparkline",
                &format!(
                    "{card}.querySelector('.spark-line').getAttribute('points').split(' ').filter(Boolean).length >= {points}"
                ),
                Duration::from_secs(points * 5 + 60),
            )?;
            let shown = page.eval(&format!(
                "(() => {{ const c = {card}; return [c.querySelector('.room-title').textContent, c.querySelector('.f.file dd').textContent]; }})()"
            ))?;
            assert!(
                shown[0].as_str().unwrap().contains("晚间测试直播")
                    && shown[1].as_str().unwrap().ends_with(".part"),
                "{shown}"
            );

            // Split, from the page: accepted, and its segment_complete arrives through the
            // event stream without a reload; the hook's queue shows the delivery waiting for
            // its window.
            let before = page.eval("[...document.querySelectorAll('#events li')].map(li => li.dataset.id)")?;
            page.eval(&format!(
                "{card}.querySelector('button[data-action=split]').click(); true"
            ))?;
            let res = page.wait(
                "the split's result",
                &format!(
                    "(() => {{ const r = {card}.querySelector('.result').textContent; return /accepted|failed/.test(r) ? r : null; }})()"
                ),
                LONG,
            )?;
            assert!(res.as_str().unwrap().contains("accepted"), "{res}");
            page.wait(
                "segment_complete through the stream",
                &format!(
                    "(() => {{ const seen = new Set({before});
                       return [...document.querySelectorAll('#events li[data-via=sse][data-type=segment_complete]')]
                         .some(li => !seen.has(li.dataset.id) && li.dataset.room === {}); }})()",
                    json!(key)
                ),
                LONG,
            )?;
            page.wait(
                "the upload hook waiting for its window",
                "(() => { const row = document.querySelector('#hooks tr[data-name=upload]');
                   const cell = row && [...row.querySelectorAll('td')].find(td => td.dataset.label === 'waiting for window');
                   return cell && Number(cell.textContent) >= 1; })()",
                LONG,
            )?;
            let same = page.eval("window.__notReloaded")?;
            assert_eq!(same, json!("yes"), "the page reloaded");
            // The other room is there, idle; the daemon's line and the disk gauge are filled.
            page.wait(
                "the idle room, version and free space",
                "document.querySelector('.room[data-state=idle] .room-name')?.textContent === 'studio'
                   && /^\\d/.test(document.getElementById('version').textContent)
                   && /free of/.test(document.getElementById('disk-label').textContent)",
                LONG,
            )?;

            // (A split can leave a second without writes: the bitrate reads "-" until the next poll.)
            page.wait(
                "a bitrate again after the split",
                &format!("/b\\/s$/.test({card}.querySelector('.rate-text').textContent)"),
                LONG,
            )?;
            // Screenshots; the phone layout must not scroll sideways.
            for p in screenshot_paths("status-page") {
                page.screenshot(&p, 1280, 800, 1.0, false)?;
            }
            for p in screenshot_paths("status-page-phone") {
                page.screenshot(&p, 360, 740, 1.0, true)?;
            }
            let over = page.eval("document.documentElement.scrollWidth - window.innerWidth")?;
            assert!(over.as_i64().unwrap_or(1) <= 0, "the 360 px layout is {over} px too wide");
            let problems = browser.problems();
            assert!(problems.is_empty(), "the page reported problems: {problems:#?}");
            Ok(())
        };
        run().map_err(|e| format!("{e}\n--- chromium log (tail) ---\n{}", tail(&browser.log_text())))
    })
    .await
    .unwrap();
    if let Err(e) = result {
        panic!("{e}\n--- liverec log ---\n{}", s.daemon.log_text());
    }
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}
