//! Many rooms on one budget: 200 Bilibili rooms against the fake API, polled in batches (one
//! `get_status_info_by_uids` per 100 rooms polled together), resolved in bulk
//! (`getRoomBaseInfo`), each polled once per interval, and a room that goes live recorded
//! within one interval. Counts come from the fake's request log; waits are for effects.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, config, control_get, files, wait_until};
use crate::support::platform_server::{BiliRoom, PlatformServer, bili_uid};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const BATCH: &str = "/room/v1/Room/get_status_info_by_uids";
const BASE_INFO: &str = "/xlive/web-room/v1/index/getRoomBaseInfo";
const ROOM_INIT: &str = "/room/v1/Room/room_init";
const ROOM_INFO: &str = "/xlive/web-room/v1/index/getInfoByRoom";
const FIRST: u64 = 6_100_001;
const ROOMS: u64 = 200;
const INTERVAL: Duration = Duration::from_secs(4);

fn bili_room(streams: &StreamServer, id: u64) -> BiliRoom {
    BiliRoom {
        short_id: 0,
        live_status: 0,
        title: format!("room {id}"),
        uname: format!("streamer {id}"),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: format!("live-bvc/{id}/live.flv"),
    }
}

/// When each uid was in a batch status request answered at or after `since`.
fn batched(api: &PlatformServer, since: Instant) -> HashMap<u64, Vec<Instant>> {
    let mut out: HashMap<u64, Vec<Instant>> = HashMap::new();
    for (t, q, status) in api.answers() {
        if t < since || status != 200 || !q.starts_with(BATCH) {
            continue;
        }
        let query = q.split_once('?').map_or("", |(_, q)| q);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if let (true, Ok(uid)) = (k == "uids[]", v.parse::<u64>()) {
                out.entry(uid).or_default().push(t);
            }
        }
    }
    out
}

/// When each room id was in a `getRoomBaseInfo` request answered at or after `since` (its
/// resolution, whose answer is an offline room's first check).
fn resolved(api: &PlatformServer, since: Instant) -> HashMap<u64, Instant> {
    let mut out = HashMap::new();
    for (t, q, status) in api.answers() {
        if t < since || status != 200 || !q.starts_with(BASE_INFO) {
            continue;
        }
        let query = q.split_once('?').map_or("", |(_, q)| q);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if let (true, Ok(id)) = (k == "room_ids", v.parse::<u64>()) {
                out.entry(id).or_insert(t);
            }
        }
    }
    out
}

/// Requests whose path starts with `path`, answered at or after `since`.
fn answered(api: &PlatformServer, path: &str, since: Instant) -> usize {
    api.answers()
        .iter()
        .filter(|(t, q, _)| *t >= since && q.starts_with(path))
        .count()
}

async fn room_state(dir: &Path, key: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&control_get(dir, "/api/status").await).unwrap();
    v["rooms"]
        .as_array()
        .and_then(|rooms| rooms.iter().find(|r| r["key"] == key))
        .and_then(|r| r["state"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_rooms_are_polled_in_batches_and_a_live_is_recorded_within_an_interval() {
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let mut rooms = String::new();
    for id in FIRST..FIRST + ROOMS {
        api.set_bili(id, bili_room(&streams, id));
        rooms.push_str(&format!(
            "[[rooms]]\nname = \"r{id}\"\nurl = \"https://live.bilibili.com/{id}\"\npoll_interval = \"4s\"\n"
        ));
    }
    const LIVE: u64 = FIRST + 123;
    streams.set(
        &format!("live-bvc/{LIVE}/live.flv"),
        Answer::flv(FIXTURE, 1.0, 0),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &rooms,
        &format!("[platforms.bilibili]\napi_base = \"{}\"\n", api.base()),
    );
    let start = Instant::now();
    let d = Daemon::start(dir.path(), "scale", &cfg);

    // Every room is polled within one interval of the start (resolving 200 ids takes two
    // requests, not 200), and keeps being polled: wait until each has been in three batches.
    let uids: Vec<u64> = (FIRST..FIRST + ROOMS).map(bili_uid).collect();
    assert!(
        wait_until(Duration::from_secs(30), || {
            let b = batched(&api, start);
            uids.iter().all(|u| b.get(u).is_some_and(|t| t.len() >= 3))
        })
        .await,
        "not every room was polled three times:\n{}",
        d.log_text()
    );
    let b = batched(&api, start);
    let log = d.log_text();
    assert_eq!(answered(&api, BASE_INFO, start), 2, "{log}");
    assert_eq!(answered(&api, ROOM_INIT, start), 0, "{log}");
    assert_eq!(
        answered(&api, ROOM_INFO, start),
        0,
        "offline rooms cost no own call\n{log}"
    );
    // Start-up: each room is checked within one interval of the start (the process starting
    // and the bulk resolution included), and never waits more than an interval for its next
    // check. The resolution's answer counts: it is an offline room's first check when its
    // slot passed while it was being resolved.
    let r = resolved(&api, start);
    for id in FIRST..FIRST + ROOMS {
        let mut checks = vec![r[&id]];
        checks.extend(&b[&bili_uid(id)]);
        assert!(
            checks[0] - start <= INTERVAL,
            "room {id} resolved {:?} after the start\n{log}",
            checks[0] - start
        );
        for w in checks.windows(2) {
            assert!(
                w[1] - w[0] <= INTERVAL + Duration::from_millis(500),
                "room {id}: {:?} without a check\n{log}",
                w[1] - w[0]
            );
        }
    }
    // Once per interval each, in batches: a room's polls are one interval apart (its slot,
    // however late the answer), and the batches hold up to 100 rooms each.
    for u in &uids {
        let t = &b[u];
        for w in t[1..].windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap >= INTERVAL - Duration::from_millis(300)
                    && gap <= INTERVAL + Duration::from_millis(300),
                "uid {u}: polls {gap:?} apart\n{log}"
            );
        }
    }
    let polls: usize = b.values().map(Vec::len).sum();
    let requests = answered(&api, BATCH, start);
    assert!(
        requests * 100 >= polls && polls >= requests * 60,
        "{polls} room polls in {requests} batch requests\n{log}"
    );

    // A room goes live: it is recorded within one interval (plus the stream's first bytes).
    api.edit_bili(LIVE, |r| r.live_status = 1);
    let went_live = Instant::now();
    let key = format!("bilibili:{LIVE}");
    let rec = dir.path().join(format!("rec/r{LIVE}"));
    let mut recording = false;
    for _ in 0..200 {
        if room_state(dir.path(), &key).await == "recording"
            && files(&rec, ".part")
                .first()
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| m.len() > 0)
        {
            recording = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = went_live.elapsed();
    assert!(recording, "not recording:\n{}", d.log_text());
    assert!(
        took <= INTERVAL + Duration::from_secs(3),
        "recording {took:?} after going live\n{}",
        d.log_text()
    );
    // The live room was asked on its own once (its new broadcast); the others still only in
    // batches.
    let own: Vec<String> = api
        .answers()
        .into_iter()
        .filter(|(_, q, _)| q.starts_with(ROOM_INFO))
        .map(|(_, q, _)| q)
        .collect();
    assert!(
        !own.is_empty() && own.iter().all(|q| q.contains(&format!("room_id={LIVE}&"))),
        "{own:?}"
    );
    let log = d.log_text();
    for bad in [
        "status check failed",
        "timed out",
        "cannot resolve",
        "batch request",
    ] {
        assert!(!log.contains(bad), "{bad:?} in:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_id_and_its_long_id_resolved_in_one_batch_are_one_room() {
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let mut room = bili_room(&streams, 7734200);
    room.short_id = 77;
    api.set_bili(7734200, room);
    let dir = tempfile::tempdir().unwrap();
    let rooms = "[[rooms]]\nname = \"short\"\nurl = \"https://live.bilibili.com/77\"\n\
                 [[rooms]]\nname = \"long\"\nurl = \"https://live.bilibili.com/7734200\"\n";
    let start = Instant::now();
    let d = Daemon::start(
        dir.path(),
        "dup",
        &config(
            dir.path(),
            rooms,
            &format!("[platforms.bilibili]\napi_base = \"{}\"\n", api.base()),
        ),
    );
    assert!(
        d.wait_log("already records; ignored", Duration::from_secs(15))
            .await,
        "{}",
        d.log_text()
    );
    // Both ids in one request; one room polls (in batches).
    assert!(
        wait_until(Duration::from_secs(10), || batched(&api, start)
            .get(&bili_uid(7734200))
            .is_some_and(|t| t.len() >= 2))
        .await,
        "{}",
        d.log_text()
    );
    let v: serde_json::Value =
        serde_json::from_str(&control_get(dir.path(), "/api/status").await).unwrap();
    let keys: Vec<&str> = v["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, ["bilibili:7734200"]);
    let log = d.log_text();
    assert_eq!(answered(&api, BASE_INFO, start), 1, "{log}");
    assert_eq!(answered(&api, ROOM_INIT, start), 0, "{log}");
    assert!(
        log.contains("room 77 is a short id for room 7734200"),
        "{log}"
    );
    assert_eq!(log.matches("already records; ignored").count(), 1, "{log}");
}
