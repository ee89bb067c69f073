//! Chat (danmaku) end to end: the real binary against the fake Bilibili API, a fake chat
//! server (WebSocket on 127.0.0.1:0) and a local FLV server. Checked: the auth packet and the
//! handshake, heartbeats, frames in protocol versions 0, 2 and 3 and garbage between them, a
//! pushed LIVE starting the recording, the chat files beside the video segments (a real XML
//! parser, DanmakuFactory's scanner rules, times within each segment), the events that name
//! them, fresh tokens across reconnects, a refused token, and a chat server killed again and
//! again during a recording that loses no video frame.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::chat_server::{self, ChatServer, Fault, brotli, command, danmu, zlib};
use crate::support::daemon::{Daemon, config, control_get, files, wait_until};
use crate::support::douyin_chat::{ClientFrame, chat_message, control_message, msg_frame};
use crate::support::flv;
use crate::support::platform_server::{BiliRoom, DouyinRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const ROOM: u64 = 7734200;
const PATH: &str = "live-bvc/7734200/live.flv";
const INFO: &str = "/xlive/web-room/v1/index/getInfoByRoom";
const BATCH: &str = "/room/v1/Room/get_status_info_by_uids";

fn bili(streams: &StreamServer, live: bool) -> BiliRoom {
    BiliRoom {
        short_id: 0,
        live_status: i64::from(live),
        title: "弹幕测试".into(),
        uname: "主播".into(),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: PATH.into(),
    }
}

/// The stream, `speed` x real time, once; then the live is over.
fn finite(speed: f64) -> Answer {
    let mut a = Answer::flv(FIXTURE, speed, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

struct Setup {
    dir: tempfile::TempDir,
    streams: StreamServer,
    api: PlatformServer,
    chat: ChatServer,
    daemon: Daemon,
}

async fn setup(live: bool, room_extra: &str, top_extra: &str) -> Setup {
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let chat = ChatServer::start().await;
    api.set_chat_port(Some(chat.port));
    api.set_bili(ROOM, bili(&streams, live));
    let dir = tempfile::tempdir().unwrap();
    let rooms = format!(
        "[[rooms]]\nname = \"dm\"\nurl = \"https://live.bilibili.com/{ROOM}\"\n{room_extra}"
    );
    let extra = format!(
        "{top_extra}[platforms.bilibili]\napi_base = \"{}\"\n",
        api.base()
    );
    let daemon = Daemon::start(dir.path(), "chat", &config(dir.path(), &rooms, &extra));
    Setup {
        dir,
        streams,
        api,
        chat,
        daemon,
    }
}

async fn status(dir: &Path) -> Value {
    serde_json::from_str(&control_get(dir, "/api/status").await).unwrap_or(Value::Null)
}

async fn events(dir: &Path) -> Vec<Value> {
    serde_json::from_str(&control_get(dir, "/api/events").await).unwrap_or_default()
}

/// Polls an async condition every 100 ms until it holds or `timeout` passes.
async fn eventually<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The record lines of a chat file, checked against DanmakuFactory's scanner: a tag runs
/// from `<` to the first `>`, so no `>` may sit inside an attribute, and `key="value"` has no
/// spaces around `=`.
fn df_lines(text: &str) -> Vec<&str> {
    let head = &text.as_bytes()[..text.len().min(1024)];
    assert!(
        String::from_utf8_lossy(head).contains("<BililiveRecorderRecordInfo"),
        "DanmakuFactory looks for <BililiveRecorder in the first 1024 bytes"
    );
    let records: Vec<&str> = text
        .lines()
        .filter(|l| {
            ["  <d ", "  <sc ", "  <gift ", "  <guard "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    for l in &records {
        let close = l.find('>').unwrap();
        let tag = &l[..close];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "a > inside an attribute: {l}"
        );
        assert!(!tag.contains(" =") && !tag.contains("= "), "{l}");
    }
    records
}

/// Every `<d>`/`<sc>` text and its time, from a strict XML parse.
fn parsed(path: &Path) -> Vec<(String, String, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    df_lines(&text);
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "i");
    let info = doc
        .descendants()
        .find(|n| n.has_tag_name("BililiveRecorderRecordInfo"))
        .expect("the record info");
    chrono::DateTime::parse_from_rfc3339(info.attribute("start_time").unwrap())
        .expect("start_time with its UTC offset");
    assert_eq!(info.attribute("roomid"), Some(ROOM.to_string().as_str()));
    doc.descendants()
        .filter(|n| n.has_tag_name("d") || n.has_tag_name("sc") || n.has_tag_name("guard"))
        .map(|n| {
            let t = match n.attribute("p") {
                Some(p) => p.split(',').next().unwrap().parse().unwrap(),
                None => n.attribute("ts").unwrap().parse().unwrap(),
            };
            (
                n.tag_name().name().to_string(),
                n.text().unwrap_or_default().to_string(),
                t,
            )
        })
        .collect()
}

fn xml_of(video: &Path) -> PathBuf {
    video.with_extension("xml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_live_start_records_and_chat_lands_beside_each_segment() {
    // Polls are ten minutes apart: only the push can start this recording in time.
    let s = setup(
        false,
        "poll_interval = \"10m\"\nsegment_duration = \"8s\"\n",
        "",
    )
    .await;
    let log = || s.daemon.log_text();
    assert!(
        wait_until(Duration::from_secs(15), || s.chat.authenticated() >= 1).await,
        "chat never authenticated:\n{}",
        log()
    );
    // The handshake and the auth packet, as the web client sends them.
    let (auth, header_ok) = s.chat.auths()[0].clone();
    assert!(
        header_ok,
        "auth header (op 7, ver 1, seq 1, length): {auth}"
    );
    assert_eq!(auth["uid"], 0);
    assert_eq!(auth["roomid"], ROOM);
    assert_eq!(auth["protover"], 3);
    assert_eq!(auth["platform"], "web");
    assert_eq!(auth["type"], 2);
    assert_eq!(auth["key"], s.api.chat_tokens()[0].as_str());
    assert!(auth["buvid"].as_str().is_some_and(|b| !b.is_empty()));
    let (ua, cookie, path) = s.chat.handshakes()[0].clone();
    assert_eq!(path, "/sub");
    assert!(ua.contains("Mozilla"), "{ua}");
    assert_eq!(cookie, None, "no cookie goes to the chat host");
    assert!(wait_until(Duration::from_secs(5), || s.chat.heartbeats() >= 1).await);
    let st = status(s.dir.path()).await;
    assert_eq!(st["rooms"][0]["chat"], "connected", "{st}");
    assert_eq!(st["rooms"][0]["state"], "idle", "{st}");
    // The first poll (jittered over 20 s) finds the room offline. Wait for its answer to be
    // taken in (the streamer's name shows in status), not for its request: a push that meets
    // a poll in flight is a different case (the state machine's unit tests cover it).
    let dir = s.dir.path().to_path_buf();
    assert!(
        eventually(Duration::from_secs(40), || {
            let dir = dir.clone();
            async move { status(&dir).await["rooms"][0]["streamer"] == "主播" }
        })
        .await,
        "the first poll was never answered:\n{}",
        log()
    );
    let since = Instant::now();

    s.streams.set(PATH, finite(1.0));
    s.api.edit_bili(ROOM, |r| r.live_status = 1);
    s.chat.push(command(
        &json!({"cmd": "LIVE", "roomid": ROOM, "live_time": 1763712000}),
    ));
    assert!(
        eventually(Duration::from_secs(30), || {
            let dir = dir.clone();
            async move { status(&dir).await["rooms"][0]["state"] == "recording" }
        })
        .await,
        "no recording after the LIVE push:\n{}",
        log()
    );
    let seen = Instant::now();
    // The clock starts when the fake chat server handed the push to the socket, not when the
    // test queued it: on a loaded machine the server task itself may run late, and that is
    // the harness's time, not the daemon's. What is left is the daemon's reaction (chat frame
    // -> poll -> session -> stream -> bytes in a file) plus at most one status round trip.
    let sent = *s.chat.sent_times().last().expect("the push was sent");
    let took = seen.saturating_duration_since(sent);
    let after = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(sent));
    let poll = s
        .api
        .requests()
        .into_iter()
        .find(|(t, p)| *t >= since && (p.starts_with(INFO) || p.starts_with(BATCH)))
        .map(|(t, _)| t);
    let stream = s.streams.request_times(PATH).first().copied();
    assert!(
        took <= Duration::from_secs(5),
        "recording {took:?} after the LIVE push (target 5 s); queued -> sent {:?}, \
         sent -> poll {:?}, sent -> stream request {:?}:\n{}",
        sent.saturating_duration_since(since),
        after(poll),
        after(stream),
        log()
    );
    eprintln!(
        "LIVE push -> recording: {took:?} (poll after {:?}, stream request after {:?})",
        after(poll),
        after(stream)
    );

    // Chat in every protocol version, with garbage between; the connection survives it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.chat
        .push(command(&danmu(11, "alice", "v0 <&> \"quoted\" 'x'")));
    s.chat.push(zlib(&command(&danmu(12, "bob", "v2 zlib"))));
    s.chat
        .push(b"\x00\x00\x00\x05garbage that is no packet".to_vec());
    let mut v3 = command(&danmu(13, "carol > dave", "v3 brotli"));
    v3.extend(command(&json!({"cmd": "SUPER_CHAT_MESSAGE", "data": {
        "uid": 294094150, "price": 30, "time": 60, "message": "sc text",
        "user_info": {"uname": "界原虚"}}})));
    v3.extend(command(&json!({"cmd": "GUARD_BUY", "data": {
        "uid": 14225357, "username": "guard", "guard_level": 3, "num": 1}})));
    s.chat.push(brotli(&v3));
    // After the split (segment_duration 8 s): a line for the second file.
    let rec = s.dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec, ".flv").is_empty()).await,
        "{}",
        log()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.chat.push(command(&danmu(14, "erin", "after the split")));

    // The live ends: a pushed PREPARING makes the room look now, not in ten minutes.
    let whole = flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(30), || {
            s.streams.bodies(PATH).iter().any(|b| b.len() >= whole)
        })
        .await,
        "{}",
        log()
    );
    s.api.edit_bili(ROOM, |r| r.live_status = 0);
    s.chat.push(command(
        &json!({"cmd": "PREPARING", "roomid": ROOM.to_string()}),
    ));
    assert!(
        eventually(Duration::from_secs(40), || {
            let dir = dir.clone();
            async move { events(&dir).await.iter().any(|e| e["type"] == "live_end") }
        })
        .await,
        "{}",
        log()
    );
    let evs = events(s.dir.path()).await;
    let complete: Vec<&Value> = evs
        .iter()
        .filter(|e| e["type"] == "segment_complete")
        .collect();
    assert!(
        complete.len() >= 2,
        "a split into two files at least: {evs:?}"
    );
    let mut all = Vec::new();
    for (n, e) in complete.iter().enumerate() {
        let video = PathBuf::from(e["segment"]["path"].as_str().unwrap());
        let xml = xml_of(&video);
        assert_eq!(
            e["segment"]["danmaku"]["path"].as_str(),
            Some(xml.to_str().unwrap()),
            "segment_complete names the chat file beside its video: {e}"
        );
        let lines = parsed(&xml);
        assert_eq!(e["segment"]["danmaku"]["messages"], lines.len(), "{e}");
        let duration = e["segment"]["duration_s"].as_f64().unwrap();
        for (_, text, t) in &lines {
            assert!(
                *t >= 0.0 && *t <= duration + 1.0,
                "{text:?} at {t}s, outside its file {n} ({duration}s)"
            );
        }
        all.push(lines);
    }
    let texts: Vec<&str> = all.iter().flatten().map(|(_, t, _)| t.as_str()).collect();
    for want in [
        "v0 <&> \"quoted\" 'x'",
        "v2 zlib",
        "v3 brotli",
        "sc text",
        "after the split",
    ] {
        assert!(texts.contains(&want), "{want:?} missing from {texts:?}");
    }
    assert!(all[0].iter().any(|(k, _, _)| k == "guard"));
    let second: Vec<&str> = all[1..]
        .iter()
        .flatten()
        .map(|(_, t, _)| t.as_str())
        .collect();
    assert!(
        second.contains(&"after the split"),
        "a line pushed after the split is in a later file: {second:?}"
    );
    assert!(files(&rec, ".part").is_empty(), "{:?}", files(&rec, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_chat_server_again_and_again_costs_no_video_frame() {
    let s = setup(true, "", "").await;
    s.streams.set(PATH, finite(2.0));
    let log = || s.daemon.log_text();
    assert!(
        wait_until(Duration::from_secs(15), || s.chat.authenticated() >= 1).await,
        "{}",
        log()
    );
    // Cut chat every second while the stream plays (10 s at 2x), and refuse a token once.
    for n in 0..8 {
        if n == 3 {
            s.chat.fault(Some(Fault::TokenError));
        }
        if n == 5 {
            s.chat.fault(None);
        }
        s.chat.drop_all();
        s.chat.push(command(&danmu(1, "x", "between cuts")));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let whole = flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(30), || {
            s.streams.bodies(PATH).iter().any(|b| b.len() >= whole)
        })
        .await,
        "{}",
        log()
    );
    s.api.edit_bili(ROOM, |r| r.live_status = 0);
    let rec = s.dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(20), || {
            files(&rec, ".part").is_empty() && !files(&rec, ".flv").is_empty()
        })
        .await,
        "{}",
        log()
    );
    let done = files(&rec, ".flv");
    let got = flv::recorded_frames(&done);
    let want: Vec<(u8, Vec<u8>)> = s
        .streams
        .bodies(PATH)
        .iter()
        .flat_map(|b| flv::frames_of(b))
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "every served frame, once:\n{}",
        log()
    );
    assert!(got == want, "recorded frames differ from the served ones");
    for f in &done {
        let errors = crate::support::media::decode_errors(f);
        assert!(errors.is_empty(), "{}: {errors}", f.display());
    }
    // Each connection asked for a token of its own.
    let tokens = s.api.chat_tokens();
    let keys: Vec<String> = s
        .chat
        .auths()
        .iter()
        .map(|(a, _)| a["key"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(keys.len() >= 3, "reconnected after the cuts: {keys:?}");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "a fresh token for every connect");
    assert!(keys.iter().all(|k| tokens.contains(k)));
    // Chat came back after the refused token.
    assert!(
        wait_until(Duration::from_secs(90), || s.chat.open() >= 1).await,
        "{}",
        log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_off_opens_no_connection_and_check_refuses_chat_on_a_direct_url() {
    let s = setup(false, "danmaku = false\nlive_push = false\n", "").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.chat.authenticated(), 0);
    assert!(s.api.chat_tokens().is_empty());
    let st = status(s.dir.path()).await;
    assert_eq!(st["rooms"][0]["chat"], "off", "{st}");

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[[rooms]]\nurl = \"http://127.0.0.1:1/a.flv\"\ndanmaku = true\n\
         [[rooms]]\nurl = \"https://live.douyin.com/61234567890\"\nlive_push = true\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["check", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("rooms[0].danmaku"), "{err}");
    assert!(err.contains("rooms[1].live_push"), "{err}");
    let _ = chat_server::packet;
}

/// The fixture's tags with timestamps below `until_ms`, as a connection that then ends
/// (mid-GOP unless `until_ms` falls on a keyframe), its timestamps starting at `start_ms`.
fn part_of_stream(until_ms: i32, start_ms: i32, offline_after: bool) -> Answer {
    let tags = flv::walk(&flv::fixture(FIXTURE)).expect("fixture is valid FLV");
    let tags: Vec<flv::Tag> = tags.into_iter().filter(|t| t.ts < until_ms).collect();
    Answer::Flv {
        tags: std::sync::Arc::new(tags),
        speed: 1.0,
        loops: 1,
        stall_after: None,
        cut_after: None,
        offline_after,
        start_ms,
    }
}

/// The `<d>` text -> time pairs of a chat file.
fn times_in(xml: &Path) -> Vec<(String, f64)> {
    parsed(xml)
        .into_iter()
        .filter(|(k, _, _)| k == "d")
        .map(|(_, text, t)| (text, t))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_times_follow_the_media_across_a_video_reconnect() {
    let s = setup(true, "", "").await;
    // The CDN ends the connection 6.5 s in (mid-GOP), answers 404 three times (the daemon
    // backs off 1 s, 2 s, 4 s: a 7 s outage), then the stream goes on for 7 s with later
    // timestamps.
    let set_at = Instant::now();
    s.streams.set_sequence(
        PATH,
        vec![
            part_of_stream(6_500, 0, false),
            Answer::Offline,
            Answer::Offline,
            Answer::Offline,
            part_of_stream(7_000, 60_000, true),
        ],
    );
    let log = || s.daemon.log_text();
    let requests = || -> Vec<Instant> {
        s.streams
            .request_times(PATH)
            .into_iter()
            .filter(|t| *t >= set_at)
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(15), || s.chat.authenticated() >= 1
            && !requests().is_empty())
        .await,
        "{}",
        log()
    );
    let r1 = requests()[0];
    tokio::time::sleep_until((r1 + Duration::from_secs(4)).into()).await;
    s.chat.push(command(&danmu(21, "a", "before the cut")));
    // During the outage: the video has no picture for it, so it stays where the media stopped.
    // Late in it (after the third refused request; the fourth is 4 s later), so that the
    // wall clock is well past the media.
    assert!(
        wait_until(Duration::from_secs(20), || requests().len() >= 4).await,
        "{}",
        log()
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    s.chat.push(command(&danmu(22, "c", "during the outage")));
    assert!(
        wait_until(Duration::from_secs(30), || requests().len() >= 5).await,
        "{}",
        log()
    );
    let r5 = requests()[4];
    tokio::time::sleep_until((r5 + Duration::from_secs(4)).into()).await;
    s.chat.push(command(&danmu(23, "b", "after the reconnect")));

    // The second connection (7 s) ends the live.
    tokio::time::sleep_until((r5 + Duration::from_secs(8)).into()).await;
    s.api.edit_bili(ROOM, |r| r.live_status = 0);
    let dir = s.dir.path().to_path_buf();
    assert!(
        eventually(Duration::from_secs(40), || {
            let dir = dir.clone();
            async move { events(&dir).await.iter().any(|e| e["type"] == "live_end") }
        })
        .await,
        "{}",
        log()
    );
    let sent = s.chat.sent_times();
    assert_eq!(sent.len(), 3, "one connection took the three pushes");
    let (a, c, b) = (sent[0], sent[1], sent[2]);
    assert!(c < r5, "the second push fell in the outage");

    let evs = events(s.dir.path()).await;
    let files: Vec<(PathBuf, f64)> = evs
        .iter()
        .filter(|e| e["type"] == "segment_complete")
        .map(|e| {
            (
                xml_of(Path::new(e["segment"]["path"].as_str().unwrap())),
                e["segment"]["duration_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(files.len(), 2, "the cut ends the first file: {evs:?}");
    let first = times_in(&files[0].0);
    let second = times_in(&files[1].0);
    let at = |lines: &[(String, f64)], text: &str| {
        lines
            .iter()
            .find(|(t, _)| t == text)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("{text:?} not in {lines:?}"))
    };
    let secs = |d: Duration| d.as_secs_f64();
    // Paced at real time from its request, the first connection's media is at a - r1.
    let t_a = at(&first, "before the cut");
    assert!(
        (t_a - secs(a - r1)).abs() <= 1.5,
        "{t_a} s, the media was at {:?}",
        a - r1
    );
    // The wall clock says c came long after the media stopped; the media timeline pins it
    // at the file's end, not past it.
    let (d1, t_c) = (files[0].1, at(&first, "during the outage"));
    assert!(
        secs(c - r1) > d1 + 3.0,
        "the outage was long enough to tell the clocks apart: c at {:?}, the first file {d1} s, \
         requests at {:?}:\n{}",
        c - r1,
        requests().iter().map(|t| *t - r1).collect::<Vec<_>>(),
        log()
    );
    assert!(
        t_c <= d1 + 0.5 && t_c >= d1 - 2.5,
        "{t_c} s in a file of {d1} s (wall clock: {:?})",
        c - r1
    );
    // The second file starts with the second connection's media.
    let t_b = at(&second, "after the reconnect");
    assert!(
        (t_b - secs(b - r5)).abs() <= 1.5,
        "{t_b} s, the second connection's media was at {:?}",
        b - r5
    );
    assert!(t_b <= files[1].1 + 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_chat_connection_is_dropped_within_35_s_and_made_anew() {
    // An idle room with live_push: its chat connection is open before any live. Polls are ten
    // minutes apart, so a poll after the reconnect is the reconnect's.
    let s = setup(false, "poll_interval = \"10m\"\n", "").await;
    let log = || s.daemon.log_text();
    assert!(
        wait_until(Duration::from_secs(15), || s.chat.heartbeats() >= 1
            && s.chat.last_sent().is_some())
        .await,
        "{}",
        log()
    );
    // The path dies without a TCP error: nothing more comes, heartbeats go unanswered.
    s.chat.fault(Some(Fault::Silent));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let silent_from = s.chat.last_sent().expect("sent before");
    assert!(
        wait_until(Duration::from_secs(50), || s.chat.authenticated() >= 2).await,
        "no new connection after the silence:\n{}",
        log()
    );
    s.chat.fault(None);
    let closed = s.chat.closed_times();
    let dropped = closed
        .first()
        .expect("the silent connection was closed")
        .saturating_duration_since(silent_from);
    // 35 s is the bound (a heartbeat every 30 s, and its reply); one second more
    // allows for the scheduling of a loaded machine. It must not be much sooner: one missed
    // reply within the heartbeat interval is no reason to drop the connection.
    assert!(
        dropped >= Duration::from_secs(30) && dropped <= Duration::from_secs(36),
        "the silent connection was dropped {dropped:?} after the last frame:\n{}",
        log()
    );
    // A fresh token, and a poll for the live starts pushed during the gap.
    let tokens = s.api.chat_tokens();
    assert!(tokens.len() >= 2, "{tokens:?}");
    let keys: Vec<String> = s
        .chat
        .auths()
        .iter()
        .map(|(a, _)| a["key"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_ne!(keys[0], keys[1], "a fresh token for the new connection");
    assert!(
        wait_until(Duration::from_secs(10), || s.api.count(INFO, closed[0])
            + s.api.count(BATCH, closed[0])
            >= 1)
        .await,
        "the reconnect polled the room:\n{}",
        log()
    );
    let st = status(s.dir.path()).await;
    assert_eq!(st["rooms"][0]["chat"], "connected", "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_chat_is_signed_and_acked_and_its_end_of_live_message_polls() {
    const WEB_RID: &str = "61234567890";
    const SESSION: &str = "7300000000000000099";
    const DY_PATH: &str = "dy/chat.flv";
    const ENTER: &str = "/webcast/room/web/enter/";
    let streams = StreamServer::start().await;
    // 8 s of stream, then the CDN has nothing more (404) while the API still says live.
    streams.set(DY_PATH, part_of_stream(8_000, 0, true));
    let api = PlatformServer::start().await;
    api.set_douyin(
        WEB_RID,
        DouyinRoom {
            live: true,
            title: "抖音弹幕".into(),
            nickname: "抖音主播".into(),
            session: SESSION.into(),
            sec_uid: "MS4wLjABAAAAchat".into(),
            flv_url: streams.url(DY_PATH),
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("[[rooms]]\nname = \"dy\"\nurl = \"https://live.douyin.com/{WEB_RID}\"\n"),
        &format!(
            "[platforms.douyin]\napi_base = \"{}\"\ndanmaku = true\n",
            api.base()
        ),
    );
    let daemon = Daemon::start(dir.path(), "dychat", &cfg);
    let log = || daemon.log_text();
    let chat = &api.douyin_chat;
    assert!(
        wait_until(Duration::from_secs(20), || chat.open() >= 1).await,
        "no chat connection (refused {}):\n{}",
        chat.refused(),
        log()
    );
    // The push URL names the live broadcast and carries a signature computed without
    // JavaScript; the ttwid the API issued goes with it, and nothing else of a cookie.
    let hs = chat.handshakes()[0].clone();
    assert_eq!(hs.query["room_id"], SESSION, "{hs:?}");
    assert!(
        hs.query["user_unique_id"]
            .bytes()
            .all(|b| b.is_ascii_digit()),
        "{hs:?}"
    );
    assert!(hs.raw_query.contains("&signature="), "{hs:?}");
    assert_eq!(hs.query["compress"], "gzip");
    assert!(
        hs.user_agent.contains("Chrome/"),
        "the API's browser: {hs:?}"
    );
    assert_eq!(hs.cookie.as_deref(), Some("ttwid=1%7Cfake-ttwid-0"));
    assert_eq!(chat.refused(), 0);
    let has = |want: &ClientFrame| chat.frames().iter().any(|(_, f)| f == want);
    assert!(
        wait_until(Duration::from_secs(5), || has(&ClientFrame::Heartbeat)).await,
        "a heartbeat at once: {:?}",
        chat.frames()
    );
    // A chat message in a frame that asks for an ack, once a segment is open (chat before
    // the first file has no place): the ack carries its log id and internal_ext back as
    // they came.
    let dir_path = dir.path().to_path_buf();
    assert!(
        eventually(Duration::from_secs(10), || {
            let dir = dir_path.clone();
            async move { status(&dir).await["rooms"][0]["state"] == "recording" }
        })
        .await,
        "{}",
        log()
    );
    let ext: &[u8] = b"internal-ext-77\x00\xff";
    chat.push(msg_frame(
        77,
        &[chat_message(4242, "抖音用户", "douyin says <hi> & bye")],
        Some(ext),
    ));
    assert!(
        wait_until(Duration::from_secs(5), || has(&ClientFrame::Ack(
            77,
            ext.to_vec()
        )))
        .await,
        "no ack: {:?}",
        chat.frames()
    );

    // The stream ends; the API still says live, so the daemon reconnects after growing pauses
    // (at once, 1 s, 2 s, 4 s, 8 s), each attempt asking the API for the stream first. After
    // the fifth request the next attempt is 8 s off.
    assert!(
        wait_until(Duration::from_secs(40), || streams
            .request_times(DY_PATH)
            .len()
            >= 5)
        .await,
        "{}",
        log()
    );
    let fifth = streams.request_times(DY_PATH)[4];
    assert!(
        wait_until(Duration::from_secs(5), || api.count(ENTER, fifth) >= 1).await,
        "{}",
        log()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let pushed = Instant::now();
    chat.push(msg_frame(78, &[control_message(3)], None));
    assert!(
        wait_until(Duration::from_secs(6), || api.count(ENTER, pushed) >= 1).await,
        "the end-of-live message did not poll:\n{}",
        log()
    );
    let poll = api
        .requests()
        .into_iter()
        .find(|(t, p)| *t >= pushed && p.starts_with(ENTER))
        .map(|(t, _)| t)
        .unwrap();
    // Not the next attempt's own request: that one was due 8 s after the fifth failure.
    assert!(
        poll < fifth + Duration::from_secs(7),
        "the API was asked {:?} after the fifth attempt, as the next attempt would:\n{}",
        poll - fifth,
        log()
    );
    // Offline: the session ends after offline_grace, without another reconnect.
    assert!(
        eventually(Duration::from_secs(20), || {
            let dir = dir_path.clone();
            async move { events(&dir).await.iter().any(|e| e["type"] == "live_end") }
        })
        .await,
        "{}",
        log()
    );
    assert!(
        streams.request_times(DY_PATH).iter().all(|t| *t < poll),
        "a stream request after the live ended:\n{}",
        log()
    );
    // The chat line is in the segment's chat file.
    let evs = events(dir.path()).await;
    let complete: Vec<&Value> = evs
        .iter()
        .filter(|e| e["type"] == "segment_complete")
        .collect();
    assert_eq!(complete.len(), 1, "{evs:?}");
    let xml = PathBuf::from(
        complete[0]["segment"]["danmaku"]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("no chat file: {}", complete[0])),
    );
    let text = std::fs::read_to_string(&xml).unwrap();
    df_lines(&text);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let d: Vec<(String, Option<&str>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("d"))
        .map(|n| {
            (
                n.text().unwrap_or_default().to_string(),
                n.attribute("user"),
            )
        })
        .collect();
    assert_eq!(
        d,
        [("douyin says <hi> & bye".to_string(), Some("抖音用户"))],
        "{text}"
    );
}
