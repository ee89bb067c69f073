//! Waiting is not failing, and a room that cannot be recorded is said so once: the real binary
//! against the fake platform API and a local stream server, both on 127.0.0.1:0.
//!
//! - a platform backoff (HTTP 412 with `Retry-After`) is waited out to its end, and a live room
//!   records right then, not a poll interval later;
//! - forty rooms behind a small request budget all get polled, nobody errors, and a room that
//!   goes live is recorded;
//! - a live that cannot be recorded shows `unrecordable` with its reason, raises one
//!   `recording_failed`, opens no session, and is recorded once it can be;
//! - a session whose status stays unknown with no stream ends after `offline_grace`, with the
//!   reason in `live_end`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::daemon::{
    Daemon, bin, config, control_address, control_get, files, wait_for, wait_until,
};
use crate::support::platform_server::{BiliRoom, Mode, PlatformServer, bili_uid};
use crate::support::server::{Answer, StreamServer};
use serde_json::Value;

const FIXTURE: &str = "flv_640x360_20s.flv";
const INFO: &str = "/xlive/web-room/v1/index/getInfoByRoom";
const BATCH: &str = "/room/v1/Room/get_status_info_by_uids";

fn bili_room(streams: &StreamServer, id: u64, live_status: i64) -> BiliRoom {
    BiliRoom {
        short_id: 0,
        live_status,
        title: format!("room {id}"),
        uname: format!("streamer {id}"),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: format!("live-bvc/{id}/live.flv"),
    }
}

fn bili_entry(name: &str, id: u64, extra: &str) -> String {
    format!("[[rooms]]\nname = \"{name}\"\nurl = \"https://live.bilibili.com/{id}\"\n{extra}")
}

/// Size of the `.part` being written under `dir`, if any.
fn part_size(dir: &Path) -> u64 {
    files(dir, ".part")
        .first()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

async fn status(dir: &Path) -> Value {
    serde_json::from_str(&control_get(dir, "/api/status").await).unwrap()
}

async fn events(dir: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&control_get(dir, "/api/events").await).unwrap();
    v.as_array().cloned().unwrap_or_default()
}

/// The room `key` in the daemon's status, if it has it yet.
async fn room_status(dir: &Path, key: &str) -> Option<Value> {
    status(dir).await["rooms"]
        .as_array()?
        .iter()
        .find(|r| r["key"] == key)
        .cloned()
}

async fn post(dir: &Path, path: &str) {
    let addr = control_address(dir).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "POST {path}: {}", resp.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_room_records_as_soon_as_a_412_block_lifts() {
    const ID: u64 = 7734200;
    let streams = StreamServer::start().await;
    let path = format!("live-bvc/{ID}/live.flv");
    streams.set(&path, Answer::flv(FIXTURE, 1.0, 0));
    let api = PlatformServer::start().await;
    api.set_bili(ID, bili_room(&streams, ID, 0));
    let dir = tempfile::tempdir().unwrap();
    // A long poll interval: a retry "a poll interval later" would come a minute after the block.
    let cfg = config(
        dir.path(),
        &bili_entry("b", ID, "poll_interval = \"60s\"\n"),
        &format!(
            "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n",
            api.base()
        ),
    );
    let d = Daemon::start(dir.path(), "block", &cfg);
    let key = format!("bilibili:{ID}");
    assert!(
        wait_for(Duration::from_secs(15), || async {
            room_status(dir.path(), &key).await.is_some()
        })
        .await,
        "{}",
        d.log_text()
    );
    // One normal poll first (in a batch: the room is offline).
    post(dir.path(), &format!("/api/rooms/{key}/check")).await;
    let start = Instant::now() - Duration::from_secs(600);
    assert!(
        wait_until(Duration::from_secs(10), || api.count(INFO, start)
            + api.count(BATCH, start)
            >= 1)
        .await,
        "{}",
        d.log_text()
    );

    // The streamer goes live while the API refuses everything for 3 s (`Retry-After: 3`).
    api.edit_bili(ID, |r| r.live_status = 1);
    api.block_for(412, 3);
    post(dir.path(), &format!("/api/rooms/{key}/check")).await;
    let rec = dir.path().join("rec/b");
    let mut recording_at = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            if part_size(&rec) > 0 {
                recording_at = Some(Instant::now());
            }
            recording_at.is_some()
        })
        .await,
        "not recording:\n{}",
        d.log_text()
    );
    let (Some(block_end), Some(recording_at)) = (api.block_end(), recording_at) else {
        panic!("the block never started:\n{}", d.log_text())
    };
    let log = d.log_text();
    let answers = api.answers();
    let refused = answers.iter().filter(|(_, _, s)| *s == 412).count();
    assert!(
        (1..=2).contains(&refused),
        "{refused} requests were refused: nothing is sent while paused\n{log}"
    );
    // The first answer after the block is the daemon asking again right at its end.
    let (first_normal, what, _) = answers
        .iter()
        .find(|(t, _, s)| *s == 200 && *t >= block_end)
        .expect("an answer after the block");
    let late = first_normal.duration_since(block_end);
    assert!(
        late <= Duration::from_secs(1),
        "asked again {late:?} after the block ended ({what})\n{log}"
    );
    // And the live is being recorded soon after: the first file opens once the stream's first
    // whole GOP (2 s in this fixture) is in, so "soon" is that plus what a loaded 2-core
    // machine adds; not the poll interval (60 s here) and not a growing backoff.
    let late = recording_at.saturating_duration_since(block_end);
    assert!(
        late <= Duration::from_secs(5),
        "recording began {late:?} after the block ended\n{log}"
    );
    assert!(log.contains("polling resumes at"), "{log}");
    assert!(!log.contains("budget exhausted"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_rooms_share_a_small_budget_without_errors() {
    const FIRST: u64 = 5_560_001;
    const ROOMS: u64 = 40;
    const GOES_LIVE: u64 = FIRST + 17;
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let mut rooms = String::new();
    for id in FIRST..FIRST + ROOMS {
        api.set_bili(id, bili_room(&streams, id, 0));
        rooms.push_str(&bili_entry(&format!("r{id}"), id, ""));
    }
    streams.set(
        &format!("live-bvc/{GOES_LIVE}/live.flv"),
        Answer::flv(FIXTURE, 1.0, 0),
    );
    let dir = tempfile::tempdir().unwrap();
    // Forty rooms polling every second ask for eight times what five requests a second allow.
    let cfg = config(
        dir.path(),
        &rooms,
        &format!(
            "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\nrequests_per_second = 5\nburst = 2\n",
            api.base()
        ),
    );
    let d = Daemon::start(dir.path(), "budget", &cfg);
    // Polled: on its own (getInfoByRoom) or in a batch (by its anchor's uid).
    let polled = |id: u64| {
        let own = format!("room_id={id}&");
        let batched = format!("={}", bili_uid(id));
        api.answers().iter().any(|(_, q, s)| {
            *s == 200
                && ((q.starts_with(INFO) && q.contains(&own))
                    || (q.starts_with(BATCH) && q.contains(&batched)))
        })
    };
    assert!(
        wait_until(Duration::from_secs(40), || (FIRST..FIRST + ROOMS)
            .all(polled))
        .await,
        "not every room was polled: {:?}\n{}",
        (FIRST..FIRST + ROOMS)
            .filter(|id| !polled(*id))
            .collect::<Vec<_>>(),
        d.log_text()
    );
    // The budget held: never more than 5 a second (plus the burst) reached the API.
    let answers = api.answers();
    let t0 = answers.first().unwrap().0;
    let t1 = answers.last().unwrap().0;
    let secs = t1.duration_since(t0).as_secs_f64();
    assert!(
        answers.len() as f64 <= secs * 5.0 + 2.0 + 1.0,
        "{} requests in {secs:.1}s",
        answers.len()
    );
    // A room goes live: it is recorded, though every request waits its turn.
    api.edit_bili(GOES_LIVE, |r| r.live_status = 1);
    let rec = dir.path().join(format!("rec/r{GOES_LIVE}"));
    assert!(
        wait_until(Duration::from_secs(40), || part_size(&rec) > 0).await,
        "not recorded:\n{}",
        d.log_text()
    );
    let log = d.log_text();
    for bad in [
        "budget exhausted",
        "status check failed",
        "timed out",
        "cannot resolve",
    ] {
        assert!(!log.contains(bad), "{bad:?} in:\n{log}");
    }
    let st = status(dir.path()).await;
    for r in st["rooms"].as_array().unwrap() {
        assert!(r["last_error"].is_null(), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_that_cannot_be_recorded_is_reported_once_and_recorded_when_it_can() {
    let streams = StreamServer::start().await;
    // A direct stream that refuses access: live, but nothing can be recorded.
    streams.set("locked.flv", Answer::Status(403));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "[[rooms]]\nname = \"locked\"\nurl = \"{}\"\n",
            streams.url("locked.flv")
        ),
        "",
    );
    let d = Daemon::start(dir.path(), "locked", &cfg);
    let stats = streams.stats("locked.flv");
    let requests = || stats.requests.load(std::sync::atomic::Ordering::Relaxed);
    // Polled several times (every second) while it stays unrecordable.
    assert!(
        wait_until(Duration::from_secs(15), || requests() >= 5).await,
        "{}",
        d.log_text()
    );
    let st = status(dir.path()).await;
    let room = &st["rooms"][0];
    assert_eq!(room["state"], "unrecordable", "{room}");
    assert_eq!(
        room["detail"], "the server refused access (HTTP 403)",
        "{room}"
    );
    let evs = events(dir.path()).await;
    let failed: Vec<&Value> = evs
        .iter()
        .filter(|e| e["type"] == "recording_failed")
        .collect();
    assert_eq!(failed.len(), 1, "reported once: {evs:#?}");
    assert_eq!(
        failed[0]["error"],
        "not recordable: the server refused access (HTTP 403)"
    );
    assert!(
        evs.iter().all(|e| e["type"] != "live_start"),
        "no session: {evs:#?}"
    );
    let metrics = control_get(dir.path(), "/metrics").await;
    assert!(
        metrics.contains("liverec_rooms{state=\"unrecordable\"} 1"),
        "{metrics}"
    );
    let out = Command::new(bin())
        .args(["status", "-c"])
        .arg(&d.config)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("unrecordable") && table.contains("the server refused access (HTTP 403)"),
        "{table}"
    );
    let log = d.log_text();
    assert_eq!(
        log.matches("live, but not recordable").count(),
        1,
        "one WARN line:\n{log}"
    );
    assert!(files(&dir.path().join("rec"), "").is_empty(), "no files");

    // Access is granted: the live is recorded from the next poll on.
    streams.set("locked.flv", Answer::flv(FIXTURE, 1.0, 0));
    let rec = dir.path().join("rec/locked");
    assert!(
        wait_until(Duration::from_secs(10), || part_size(&rec) > 0).await,
        "{}",
        d.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(5), || async {
            status(dir.path()).await["rooms"][0]["state"] == "recording"
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_status_stays_unknown_ends_after_offline_grace() {
    const ID: u64 = 7734201;
    let streams = StreamServer::start().await;
    let path = format!("live-bvc/{ID}/live.flv");
    // A short live at 20x: it ends (the stream answers 404) while the API still says live.
    let mut live = Answer::flv(FIXTURE, 20.0, 1);
    if let Answer::Flv { offline_after, .. } = &mut live {
        *offline_after = true;
    }
    streams.set(&path, live);
    let api = PlatformServer::start().await;
    api.set_bili(ID, bili_room(&streams, ID, 1));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &bili_entry("u", ID, ""),
        &format!(
            "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n",
            api.base()
        ),
    );
    let d = Daemon::start(dir.path(), "unknown", &cfg);
    let rec = dir.path().join("rec/u");
    assert!(
        wait_until(Duration::from_secs(20), || part_size(&rec) > 0).await,
        "{}",
        d.log_text()
    );
    // From now on the API only answers HTTP 500: the status is unknown, forever.
    api.set_mode(Mode::Status {
        code: 500,
        retry_after: None,
    });
    let ended = || async {
        events(dir.path())
            .await
            .into_iter()
            .find(|e| e["type"] == "live_end")
    };
    assert!(
        wait_for(Duration::from_secs(20), || async {
            ended().await.is_some()
        })
        .await,
        "the session never ended:\n{}",
        d.log_text()
    );
    let end = ended().await.unwrap();
    let why = end["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("stayed unknown for 2s") && why.contains("HTTP 500"),
        "{end}"
    );
    let log = d.log_text();
    assert!(
        log.contains("session ended: no stream, and the live status stayed unknown for 2s"),
        "{log}"
    );
    // The file was closed and renamed; the room waits for a real answer.
    assert!(
        wait_until(Duration::from_secs(5), || files(&rec, ".part").is_empty()
            && !files(&rec, ".flv").is_empty())
        .await
    );
    assert_eq!(status(dir.path()).await["rooms"][0]["state"], "idle");
}
