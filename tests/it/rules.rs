//! Recording rules end to end (issue 16): the real binary against the fake Bilibili and a
//! local stream server. A room outside its `record_window` asks nothing, and records when the
//! window opens; `at_window_end = "stop"` and `max_session_duration` close valid files; a title
//! that `title_exclude` turns down records nothing until the title changes; `audio_only` files
//! hold one audio stream (FLV and HLS TS).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::support::daemon::{
    Daemon, config, events, files, room, room_says, room_status, status_when, wait_events,
    wait_until,
};
use crate::support::flv;
use crate::support::hls_server::{Channel, HlsServer, Kind, fixture_duration};
use crate::support::media;
use crate::support::platform_server::{BiliRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const LONG_ID: u64 = 7734200;
const BILI_PATH: &str = "live-bvc/7734200/live.flv";
const URL: &str = "https://live.bilibili.com/7734200";

fn api_base(api: &PlatformServer) -> String {
    format!(
        "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n",
        api.base()
    )
}

fn bili_room(streams: &StreamServer) -> BiliRoom {
    BiliRoom {
        short_id: 0,
        live_status: 1,
        title: "晚间测试直播".into(),
        uname: "测试主播甲".into(),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: BILI_PATH.into(),
    }
}

/// The fixture once at `speed` x real time, then 404: a live that ends.
fn finite(speed: f64) -> Answer {
    let mut a = Answer::flv(FIXTURE, speed, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

/// A live room on the fake Bilibili, streaming `live`.
async fn live_room(live: Answer) -> (StreamServer, PlatformServer) {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, live);
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams));
    (streams, api)
}

/// The fake's requests that ask about the room: everything but the login check and the
/// resolution of its id to its uid (`room_init`, `getRoomBaseInfo`), which a room is given once
/// when it starts, whatever its window.
fn room_requests(api: &PlatformServer, since: Instant) -> Vec<(Instant, String)> {
    api.requests()
        .into_iter()
        .filter(|(t, p)| {
            *t >= since
                && !p.starts_with("/x/web-interface/nav")
                && !p.contains("room_init")
                && !p.contains("getRoomBaseInfo")
        })
        .collect()
}

/// The file's streams as `index,codec_type` (a TS program lists its streams again: once each).
fn ffprobe_streams(f: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=index,codec_type"])
        .args(["-of", "csv=p=0"])
        .arg(f)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Finished files: no `.part` left, each decodes without an error and starts near 0.
fn valid_files(rec: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    assert!(
        files(rec, ".part").is_empty(),
        "a .part was left: {:?}",
        files(rec, "")
    );
    let done = files(rec, ext);
    for f in &done {
        let errors = media::decode_errors(f);
        assert!(errors.is_empty(), "{}: {errors}", f.display());
        let start = media::start_time(f);
        assert!(
            (0.0..=1.5).contains(&start),
            "{}: starts at {start}",
            f.display()
        );
    }
    done
}

fn live_ends(evs: &[serde_json::Value]) -> Vec<String> {
    evs.iter()
        .filter(|e| e["type"] == "live_end")
        .map(|e| e["error"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_outside_its_window_asks_nothing_records_when_it_opens_and_stops_when_it_ends() {
    let (_streams, api) = live_room(Answer::flv(FIXTURE, 1.0, 0)).await;
    let dir = tempfile::tempdir().unwrap();
    // A window opening in 5 s and closing 9 s later, in UTC (the daemon's TZ is pinned).
    let t0 = (Instant::now(), Utc::now());
    let opens = t0.1 + chrono::Duration::seconds(5);
    let closes = opens + chrono::Duration::seconds(9);
    let opens_at = t0.0 + Duration::from_secs(5);
    let window = format!("{}-{}", opens.format("%H:%M:%S"), closes.format("%H:%M:%S"));
    let rules = format!("record_window = [\"{window}\"]\nat_window_end = \"stop\"\n");
    let cfg = config(
        dir.path(),
        &format!("{}{rules}", room("bili", URL)),
        &api_base(&api),
    );
    let d = Daemon::start_env(dir.path(), "window", &cfg, &[("TZ", "UTC")]);
    let (outside, s) = status_when(dir.path(), Duration::from_secs(4), |s| {
        room_status(s, "bili")["state"] == "outside"
    })
    .await;
    assert!(outside, "{s:#}\n{}", d.log_text());
    assert!(
        room_says(room_status(&s, "bili"), "the next window opens"),
        "{s:#}"
    );
    // Recording starts once the window opens: promptly, and not a request before.
    let rec = dir.path().join("rec/bili");
    assert!(
        wait_until(Duration::from_secs(12), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    assert!(
        Instant::now() < opens_at + Duration::from_secs(5),
        "recorded promptly after the window opened"
    );
    let asked = room_requests(&api, t0.0);
    assert!(!asked.is_empty());
    // A second's slack: the window's edges are whole seconds of the wall clock.
    let early: Vec<_> = asked
        .iter()
        .filter(|(t, _)| *t + Duration::from_secs(1) < opens_at)
        .collect();
    assert!(early.is_empty(), "asked before the window: {early:?}");
    // The window ends: the file is closed and the session ends with the reason.
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let ended = Instant::now();
    let ends = live_ends(&events(dir.path()).await);
    assert!(ends[0].contains("record_window ended"), "{ends:?}");
    assert!(
        wait_events(dir.path(), "segment_complete", 1, Duration::from_secs(5)).await,
        "{}",
        d.log_text()
    );
    let done = valid_files(&rec, ".flv");
    assert_eq!(done.len(), 1, "{done:?}");
    let (outside, s) = status_when(dir.path(), Duration::from_secs(4), |s| {
        room_status(s, "bili")["state"] == "outside"
    })
    .await;
    assert!(outside, "{s:#}");
    // Nothing is asked after the window (three poll intervals).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = room_requests(&api, ended + Duration::from_millis(500));
    assert!(after.is_empty(), "asked after the window: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excluded_title_is_skipped_until_the_title_changes() {
    let (streams, api) = live_room(finite(20.0)).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = "title_exclude = \"测试|replay\"\n";
    let cfg = config(
        dir.path(),
        &format!("{}{rules}", room("bili", URL)),
        &api_base(&api),
    );
    let d = Daemon::start(dir.path(), "title", &cfg);
    let (skipped, s) = status_when(dir.path(), Duration::from_secs(10), |s| {
        room_status(s, "bili")["state"] == "skipped"
    })
    .await;
    assert!(skipped, "{s:#}\n{}", d.log_text());
    assert!(
        room_says(
            room_status(&s, "bili"),
            "skipped: title \"晚间测试直播\" matches title_exclude"
        ),
        "{s:#}"
    );
    // It is polled on (three more checks), and nothing is recorded.
    let since = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || room_requests(&api, since).len()
            >= 3)
        .await,
        "{}",
        d.log_text()
    );
    let rec = dir.path().join("rec/bili");
    assert!(files(&rec, "").is_empty(), "{:?}", files(&rec, ""));
    assert!(
        events(dir.path())
            .await
            .iter()
            .all(|e| e["type"] != "live_start")
    );
    assert_eq!(
        streams
            .stats(BILI_PATH)
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // The streamer renames the live: it passes, and is recorded.
    api.edit_bili(LONG_ID, |r| r.title = "正式直播".into());
    assert!(
        wait_events(dir.path(), "live_start", 1, Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    assert!(
        wait_until(Duration::from_secs(10), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    // The live ends; the file is whole.
    let whole = crate::support::flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(20), || streams
            .bodies(BILI_PATH)
            .iter()
            .any(|b| b.len() >= whole))
        .await,
        "{}",
        d.log_text()
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    assert!(!valid_files(&rec, ".flv").is_empty());
    let log = d.log_text();
    assert_eq!(
        log.matches("to=\"skipped\"").count() + log.matches("to=skipped").count(),
        1,
        "logged once:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_session_duration_ends_the_recording_and_skips_the_rest_of_the_live() {
    let (streams, api) = live_room(Answer::flv(FIXTURE, 1.0, 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("{}max_session_duration = \"4s\"\n", room("bili", URL)),
        &api_base(&api),
    );
    let d = Daemon::start(dir.path(), "limit", &cfg);
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let ends = live_ends(&events(dir.path()).await);
    assert_eq!(ends, ["max_session_duration (4s) reached"]);
    let (skipped, s) = status_when(dir.path(), Duration::from_secs(4), |s| {
        room_status(s, "bili")["state"] == "skipped"
    })
    .await;
    assert!(skipped, "{s:#}");
    assert!(
        room_says(room_status(&s, "bili"), "session limit reached"),
        "{s:#}"
    );
    // The same live goes on and is polled (three checks): no second session.
    let since = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || room_requests(&api, since).len()
            >= 3)
        .await,
        "{}",
        d.log_text()
    );
    let evs = events(dir.path()).await;
    assert_eq!(
        evs.iter().filter(|e| e["type"] == "live_start").count(),
        1,
        "{evs:#?}"
    );
    let done = valid_files(&dir.path().join("rec/bili"), ".flv");
    assert_eq!(done.len(), 1, "{done:?}");
    let first = media::first_packets(&done[0], "v", 1);
    assert!(first[0].1, "starts with a keyframe: {first:?}");
    let secs = media::duration(&done[0]);
    assert!((3.0..=6.5).contains(&secs), "{secs} s recorded");
    // The file ends where a split would: what was served up to the next video keyframe.
    let got = flv::recorded_frames(&done);
    let served = flv::frames_of(&streams.bodies(BILI_PATH)[0]);
    assert!(
        !got.is_empty() && served.starts_with(&got),
        "a prefix of what was served"
    );
    let next_video = served[got.len()..].iter().find(|(kind, _)| *kind == 9);
    assert!(
        next_video.is_some_and(|(_, body)| body[0] >> 4 == 1),
        "the file ends right before a keyframe"
    );
    // A new broadcast is a new session, recorded again.
    api.edit_bili(LONG_ID, |r| r.live_start_time += 3600);
    assert!(
        wait_events(dir.path(), "live_start", 2, Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_flv_files_hold_only_the_audio() {
    let (streams, api) = live_room(finite(20.0)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("{}audio_only = true\n", room("bili", URL)),
        &api_base(&api),
    );
    let d = Daemon::start(dir.path(), "audio", &cfg);
    let whole = crate::support::flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(30), || streams
            .bodies(BILI_PATH)
            .iter()
            .any(|b| b.len() >= whole))
        .await,
        "{}",
        d.log_text()
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let done = valid_files(&dir.path().join("rec/bili"), ".flv");
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    let f = &done[0];
    assert_eq!(ffprobe_streams(f), ["0,audio"]);
    let bytes = std::fs::read(f).unwrap();
    assert_eq!(bytes[4], 0x04, "the FLV header says audio only");
    assert!(
        !bytes.windows(5).any(|w| w == b"width"),
        "no video properties in onMetaData"
    );
    let secs = media::duration(f);
    assert!((19.0..=21.0).contains(&secs), "{secs} s of the 20 s live");
}

/// An HLS live of `kind` recorded with `audio_only`: one file of `ext` with one audio stream,
/// as long as the live.
async fn audio_only_hls(kind: Kind, ext: &str) {
    let server = HlsServer::start().await;
    server.set("live", Channel::fixture(kind));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!("{}audio_only = true\n", room("hls", &server.url("live"))),
        "",
    );
    let d = Daemon::start(dir.path(), "audio-hls", &cfg);
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(40)).await,
        "{}",
        d.log_text()
    );
    let done = valid_files(&dir.path().join("rec"), ext);
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    let f = &done[0];
    assert_eq!(ffprobe_streams(f), ["0,audio"]);
    let want: f64 = (0..6).map(|i| fixture_duration(kind, i)).sum();
    let secs = media::duration(f);
    assert!((secs - want).abs() < 1.0, "{secs} s of {want} s");
    let log = d.log_text();
    assert!(!log.contains("recorded whole"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_hls_ts_files_hold_only_the_audio() {
    audio_only_hls(Kind::Ts, ".ts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_hls_fmp4_files_hold_only_the_audio() {
    audio_only_hls(Kind::Fmp4, ".mp4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_window_acts_on_the_running_room_without_a_second_recorder() {
    let server = StreamServer::start().await;
    server.set("live/w.flv", Answer::flv(FIXTURE, 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &room("w", &server.url("live/w.flv")), "");
    let d = Daemon::start_env(dir.path(), "reload", &cfg, &[("TZ", "UTC")]);
    let rec = dir.path().join("rec/w");
    assert!(
        wait_until(Duration::from_secs(15), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    // A window that is not now, ending what is recorded.
    let later = Utc::now() + chrono::Duration::hours(2);
    let window = format!(
        "{}-{}",
        later.format("%H:%M"),
        (later + chrono::Duration::hours(1)).format("%H:%M")
    );
    let path = dir.path().join("reload.toml");
    let rules = format!("record_window = [\"{window}\"]\nat_window_end = \"stop\"\n");
    std::fs::write(
        &path,
        cfg.replace("[[rooms]]\n", &format!("[[rooms]]\n{rules}")),
    )
    .unwrap();
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(15)).await,
        "{}",
        d.log_text()
    );
    assert_eq!(
        live_ends(&events(dir.path()).await),
        ["record_window ended (at_window_end = \"stop\")"]
    );
    let (outside, s) = status_when(dir.path(), Duration::from_secs(5), |s| {
        room_status(s, "w")["state"] == "outside"
    })
    .await;
    assert!(outside, "{s:#}");
    assert_eq!(valid_files(&rec, ".flv").len(), 1);
    // The window goes again: the same room task records anew, one session at a time.
    std::fs::write(&path, &cfg).unwrap();
    assert!(
        wait_events(dir.path(), "live_start", 2, Duration::from_secs(15)).await,
        "{}",
        d.log_text()
    );
    assert!(
        wait_until(Duration::from_secs(15), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    assert_eq!(files(&rec, ".part").len(), 1);
    let evs = events(dir.path()).await;
    let kinds: Vec<&str> = evs
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("live_"))
        .collect();
    assert_eq!(kinds, ["live_start", "live_end", "live_start"], "{evs:#?}");
}
