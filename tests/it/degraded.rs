//! Degraded recordings and covers end to end (issue 16, points 3 and 4): the real binary
//! against the fake Bilibili API and a local stream server. A capped stream raises one
//! `quality_degraded` after `degraded_after` and one `recording_recovered` once the source
//! quality flows again; a platform cookie answered as logged out raises `login_lost`; both
//! show in `/api/status` and `/metrics`. With `cover = true` the live's cover lands beside the
//! first segment under its stem, and `live_end` names it (`{cover_path}`); a cover that
//! fails leaves the recording alone.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;

use crate::support::daemon::{
    Daemon, config, control_address, control_get, events, files, room, room_status, status_when,
    wait_events, wait_until,
};
use crate::support::platform_server::{BiliRoom, BiliShape, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const LONG_ID: u64 = 7734200;
const KEY: &str = "bilibili:7734200";
const WANTED: &str = "live-bvc/7734200/live.flv";
/// What the fake serves a capped (anonymous) viewer: qn 250.
const CAPPED: &str = "live-bvc/7734200/live_2500.flv";
/// A JPEG's first bytes and then some: what the daemon must save byte for byte.
const JPEG: &[u8] =
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00fake cover";
/// A title a file name must survive: the cover's name comes from the segment's, never from it.
const HOSTILE: &str = "../../$(rm -rf ~); x";

fn bili_room(streams: &StreamServer, path: &str) -> BiliRoom {
    BiliRoom {
        short_id: 0,
        live_status: 1,
        title: HOSTILE.into(),
        uname: "测试主播甲".into(),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: path.into(),
    }
}

/// A hook that appends `<type> <cover_path>` to `out`, one line per event.
fn cover_hook(dir: &Path, out: &Path) -> String {
    let path = dir.join("cover-hook.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nprintf '%s %s\\n' \"$1\" \"$2\" >> '{}'\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "[[hooks]]\nname = \"cover\"\nevents = [\"live_end\"]\ncommand = [\"{}\", \"{{type}}\", \"{{cover_path}}\"]\n",
        path.display()
    )
}

async fn control_post(dir: &Path, path: &str) {
    let addr = control_address(dir).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "POST {path}");
}

/// The `.part` path of the session's first segment, from its `segment_start`.
async fn first_segment(dir: &Path, key: &str) -> Option<PathBuf> {
    events(dir)
        .await
        .iter()
        .find(|e| e["type"] == "segment_start" && e["room"]["key"] == key)
        .and_then(|e| e["segment"]["path"].as_str().map(PathBuf::from))
}

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_live_is_degraded_then_recovered_and_its_cover_lands_beside_the_first_segment() {
    let streams = StreamServer::start().await;
    streams.set(CAPPED, Answer::flv(FIXTURE, 1.0, 0));
    // The source quality's stream goes on where the capped one is (the same fixture from 0
    // again would be taken for a CDN's replay and dropped).
    let mut wanted = Answer::flv(FIXTURE, 1.0, 0);
    if let Answer::Flv { start_ms, .. } = &mut wanted {
        *start_ms = 3_600_000;
    }
    streams.set(WANTED, wanted);
    streams.set("covers/a.jpg", Answer::Raw(Bytes::from_static(JPEG)));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, WANTED));
    api.set_bili_shape(
        LONG_ID,
        BiliShape {
            cap_qn: Some(250),
            cover: Some(format!("http://{}/covers/a.jpg", streams.addr)),
            ..BiliShape::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let hook_out = dir.path().join("hook.txt");
    let cfg = config(
        dir.path(),
        &format!(
            "{}{}",
            cover_hook(dir.path(), &hook_out),
            room("bili", "https://live.bilibili.com/7734200")
        ),
        &format!(
            "cover = true\ndegraded_after = \"2s\"\n[platforms.bilibili]\napi_base = \"{}\"\n\
             danmaku = false\nlive_push = false\ncookie = \"SESSDATA=expired-sessdata; bili_jct=x\"\n",
            api.base()
        ),
    )
    .replace("filename = \"{name}/{index}\"", "filename = \"{name}/{title}_{index}\"");
    let d = Daemon::start(dir.path(), "degraded", &cfg);

    // The cookie is answered as logged out (nav -101): login_lost, and the stream is capped.
    assert!(
        wait_events(dir.path(), "login_lost", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    assert!(
        wait_events(dir.path(), "quality_degraded", 1, Duration::from_secs(30)).await,
        "{}",
        d.log_text()
    );
    let all = events(dir.path()).await;
    let lost = all.iter().find(|e| e["type"] == "login_lost").unwrap();
    assert_eq!(lost["platform"], "bilibili", "{lost}");
    assert!(lost["room"].is_null(), "{lost}");
    let degraded = all
        .iter()
        .find(|e| e["type"] == "quality_degraded")
        .unwrap();
    assert_eq!(degraded["room"]["key"], KEY, "{degraded}");
    assert_eq!(degraded["quality"]["wanted"], "10000 原画", "{degraded}");
    assert_eq!(degraded["quality"]["recorded"], "250 超清", "{degraded}");
    assert!(
        degraded["error"]
            .as_str()
            .unwrap()
            .contains("below the wanted quality 10000 原画"),
        "{degraded}"
    );
    let (ok, st) = status_when(dir.path(), Duration::from_secs(5), |s| {
        !room_status(s, "bili")["degraded"].is_null()
    })
    .await;
    assert!(ok, "{st}");
    let room = room_status(&st, "bili");
    assert!(room["degraded"]["since"].is_string(), "{room}");
    assert_eq!(room["degraded"]["recorded"], "250 超清", "{room}");
    assert_eq!(st["logins"]["bilibili"], false, "{st}");
    let m = control_get(dir.path(), "/metrics").await;
    assert_eq!(
        metric(&m, &format!("liverec_room_degraded{{room=\"{KEY}\"}}")),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "liverec_platform_logged_in{platform=\"bilibili\"}"),
        Some(0.0),
        "{m}"
    );

    // The cover is the first segment's twin: same folder, same (sanitised) stem.
    let first = first_segment(dir.path(), KEY)
        .await
        .expect("a segment_start");
    let stem = first
        .to_str()
        .unwrap()
        .strip_suffix(".flv.part")
        .unwrap()
        .to_string();
    let cover = PathBuf::from(format!("{stem}.jpg"));
    assert!(
        wait_until(Duration::from_secs(10), || cover.exists()).await,
        "{:?}\n{}",
        files(&dir.path().join("rec"), ""),
        d.log_text()
    );
    assert_eq!(std::fs::read(&cover).unwrap(), JPEG);
    assert!(cover.starts_with(dir.path().join("rec/bili")), "{cover:?}");

    // Logged in again, a reconnect gets the source quality: one recording_recovered.
    api.bili_login(true);
    let mut recovered = false;
    for _ in 0..5 {
        control_post(dir.path(), &format!("/api/rooms/{KEY}/restart")).await;
        if wait_events(dir.path(), "recording_recovered", 1, Duration::from_secs(8)).await {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "{}", d.log_text());
    let all = events(dir.path()).await;
    let back: Vec<_> = all
        .iter()
        .filter(|e| e["type"] == "recording_recovered")
        .collect();
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["quality"]["recorded"], "10000 原画", "{back:?}");
    let (ok, st) = status_when(dir.path(), Duration::from_secs(5), |s| {
        room_status(s, "bili")["degraded"].is_null()
    })
    .await;
    assert!(ok, "{st}");
    assert_eq!(
        all.iter()
            .filter(|e| e["type"] == "quality_degraded")
            .count(),
        1
    );

    // The live ends: live_end carries the cover, in its JSON and to the hook.
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    streams.set(WANTED, Answer::Offline);
    // The open connection streams on: drop it, the reconnect finds the live over.
    control_post(dir.path(), &format!("/api/rooms/{KEY}/restart")).await;
    assert!(
        wait_until(Duration::from_secs(30), || hook_out.exists()).await,
        "{}",
        d.log_text()
    );
    let all = events(dir.path()).await;
    let end = all.iter().find(|e| e["type"] == "live_end").unwrap();
    assert_eq!(end["cover_path"], cover.to_str().unwrap(), "{end}");
    let line = std::fs::read_to_string(&hook_out).unwrap();
    assert_eq!(line.trim_end(), format!("live_end {}", cover.display()));
    let log = d.log_text();
    assert!(!log.contains("expired-sessdata"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_oversized_cover_leaves_the_recording_alone() {
    const OTHER_ID: u64 = 7734201;
    const OTHER: &str = "live-bvc/7734201/live.flv";
    let streams = StreamServer::start().await;
    streams.set(WANTED, Answer::flv(FIXTURE, 20.0, 1));
    streams.set(OTHER, Answer::flv(FIXTURE, 20.0, 1));
    streams.set("covers/missing.jpg", Answer::Status(404));
    // 11 MiB of "JPEG": over the 10 MiB cap.
    let mut big = JPEG.to_vec();
    big.resize(11 << 20, 0);
    streams.set("covers/big.jpg", Answer::Raw(Bytes::from(big)));
    let api = PlatformServer::start().await;
    api.bili_login(true);
    for (id, path, cover) in [
        (LONG_ID, WANTED, "missing.jpg"),
        (OTHER_ID, OTHER, "big.jpg"),
    ] {
        api.set_bili(id, bili_room(&streams, path));
        api.set_bili_shape(
            id,
            BiliShape {
                cover: Some(format!("http://{}/covers/{cover}", streams.addr)),
                ..BiliShape::default()
            },
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "{}{}",
            room("a", "https://live.bilibili.com/7734200"),
            room("b", "https://live.bilibili.com/7734201")
        ),
        &format!(
            "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\ncover = true\n",
            api.base()
        ),
    );
    let d = Daemon::start(dir.path(), "cover-faults", &cfg);
    let whole = crate::support::flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(30), || {
            [WANTED, OTHER]
                .iter()
                .all(|p| streams.bodies(p).iter().any(|b| b.len() >= whole))
        })
        .await,
        "{}",
        d.log_text()
    );
    for id in [LONG_ID, OTHER_ID] {
        api.edit_bili(id, |r| r.live_status = 0);
    }
    assert!(
        wait_events(dir.path(), "live_end", 2, Duration::from_secs(30)).await,
        "{}",
        d.log_text()
    );
    let all = events(dir.path()).await;
    for e in all.iter().filter(|e| e["type"] == "live_end") {
        assert!(e.get("cover_path").is_none(), "{e}");
    }
    // Both recorded whole, no image and no leftover beside them.
    for name in ["a", "b"] {
        let rec = dir.path().join("rec").join(name);
        assert_eq!(files(&rec, ".flv").len(), 1, "{:?}", files(&rec, ""));
        assert_eq!(files(&rec, "").len(), 1, "{:?}", files(&rec, ""));
    }
    assert_eq!(
        all.iter()
            .filter(|e| e["type"] == "segment_complete")
            .count(),
        2
    );
    let log = d.log_text();
    assert!(log.contains("answered HTTP 404"), "{log}");
    assert!(log.contains("larger than 10 MiB"), "{log}");
}
