//! Several instances sharing one set of rooms through a real etcd (`[cluster] backend =
//! "etcd"`), started by each test on free loopback ports. Each test skips itself, saying so,
//! only when the `etcd` binary is absent (Debian: `apt-get install etcd-server`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, config, control_get, events, files, room, wait_until};
use crate::support::etcd::etcd_or_skip;
use crate::support::platform_server::{BiliRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const TTL: Duration = Duration::from_secs(2);

fn live_room(streams: &StreamServer, id: u64, live: bool) -> BiliRoom {
    BiliRoom {
        short_id: 0,
        live_status: i64::from(live),
        title: format!("cluster {id}"),
        uname: format!("streamer {id}"),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: format!("live-bvc/{id}/live.flv"),
    }
}

/// Rooms `ids` on the fakes (live ones streaming the fixture) and their `[[rooms]]` lines.
fn serve_rooms(streams: &StreamServer, api: &PlatformServer, ids: &[u64], live: bool) -> String {
    let mut rooms = String::new();
    for &id in ids {
        if live {
            streams.set(
                &format!("live-bvc/{id}/live.flv"),
                Answer::flv(FIXTURE, 1.0, 0),
            );
        }
        api.set_bili(id, live_room(streams, id, live));
        rooms.push_str(&room(
            &format!("r{id}"),
            &format!("https://live.bilibili.com/{id}"),
        ));
    }
    rooms
}

/// The config of instance `name` under `dir/<name>`.
fn instance_config(
    dir: &Path,
    name: &str,
    etcd: &str,
    api: &PlatformServer,
    rooms: &str,
) -> (PathBuf, String) {
    let home = dir.join(name);
    std::fs::create_dir_all(&home).unwrap();
    let extra = format!(
        "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n\
         [cluster]\nbackend = \"etcd\"\nendpoints = [\"{etcd}\"]\nname = \"test\"\n\
         instance = \"{name}\"\nlease_ttl = \"2s\"\nhandover_overlap = \"3s\"\n",
        api.base()
    );
    let cfg = config(&home, rooms, &extra);
    (home, cfg)
}

/// The room names with a `.part` being written under `home/rec`.
fn recording(home: &Path) -> BTreeSet<String> {
    files(&home.join("rec"), ".part")
        .iter()
        .filter_map(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
        .collect()
}

/// The segment indexes written for `room` under `home/rec` (finished and open).
fn indexes(home: &Path, room: &str) -> Vec<u32> {
    let mut v: Vec<u32> = files(&home.join("rec").join(room), "")
        .iter()
        .filter_map(|p| p.file_name()?.to_str()?.split('.').next()?.parse().ok())
        .collect();
    v.sort();
    v
}

/// The sum of `liverec_poll_requests_total` in a daemon's `/metrics`.
async fn polls(home: &Path) -> f64 {
    control_get(home, "/metrics")
        .await
        .lines()
        .filter(|l| l.starts_with("liverec_poll_requests_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_rooms_and_take_over_from_a_killed_one() {
    let etcd = etcd_or_skip!();
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let live: Vec<u64> = (0..12).map(|i| 5_560_001 + i).collect();
    let idle: Vec<u64> = (0..6).map(|i| 5_570_001 + i).collect();
    let mut rooms = serve_rooms(&streams, &api, &live, true);
    rooms.push_str(&serve_rooms(&streams, &api, &idle, false));
    let dir = tempfile::tempdir().unwrap();
    let mut daemons = BTreeMap::new();
    let mut homes = BTreeMap::new();
    for name in ["nas-1", "nas-2", "nas-3"] {
        let (home, cfg) = instance_config(dir.path(), name, &etcd.url, &api, &rooms);
        daemons.insert(name, Daemon::start(&home, name, &cfg));
        homes.insert(name, home);
    }
    let logs = |daemons: &BTreeMap<&str, Daemon>| {
        daemons
            .iter()
            .map(|(n, d)| format!("==== {n}\n{}", d.log_text()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Every live room recorded, each by exactly one instance.
    let all: BTreeSet<String> = live.iter().map(|id| format!("r{id}")).collect();
    let covered = || {
        let mut seen = BTreeSet::new();
        for home in homes.values() {
            seen.extend(recording(home));
        }
        seen == all
    };
    assert!(
        wait_until(Duration::from_secs(30), covered).await,
        "not every live room is recorded:\n{}",
        logs(&daemons)
    );
    let by: BTreeMap<&str, BTreeSet<String>> =
        homes.iter().map(|(n, h)| (*n, recording(h))).collect();
    let total: usize = by.values().map(BTreeSet::len).sum();
    assert_eq!(
        total,
        12,
        "a room is recorded twice: {by:?}\n{}",
        logs(&daemons)
    );
    assert!(
        by.values().all(|r| !r.is_empty()),
        "the rooms are not spread: {by:?}"
    );
    // Another instance's status names the recorder of a room it does not record.
    let (r, recorder) = by
        .iter()
        .find_map(|(n, rooms)| {
            (*n != "nas-1")
                .then(|| rooms.iter().next().map(|r| (r.clone(), *n)))
                .flatten()
        })
        .expect("a room recorded by nas-2 or nas-3");
    let (named, st) =
        crate::support::daemon::status_when(&homes["nas-1"], Duration::from_secs(10), |s| {
            s["rooms"].as_array().into_iter().flatten().any(|x| {
                x["name"] == r.as_str()
                    && x["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains(&format!("recorded by {recorder}")))
            })
        })
        .await;
    assert!(named, "{st}");
    // Events say who records, with the claim's fencing token.
    let ev = events(&homes["nas-2"]).await;
    let start = ev
        .iter()
        .find(|e| e["type"] == "segment_start")
        .expect("a segment_start on nas-2");
    assert_eq!(start["session"]["owner"]["instance"], "nas-2", "{start}");
    assert!(
        start["session"]["owner"]["fence"].as_i64().unwrap() > 0,
        "{start}"
    );

    // The idle rooms are polled about once per interval in all, not once per instance.
    let before: f64 = {
        let mut s = 0.0;
        for h in homes.values() {
            s += polls(h).await;
        }
        s
    };
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut after = 0.0;
    for h in homes.values() {
        after += polls(h).await;
    }
    let per_room_per_interval = (after - before) / idle.len() as f64 / t0.elapsed().as_secs_f64();
    eprintln!(
        "measured: {per_room_per_interval:.2} status checks per idle room per 1 s interval, 3 instances"
    );
    assert!(
        (0.6..=1.5).contains(&per_room_per_interval),
        "{per_room_per_interval:.2} status checks per idle room per second (1 s interval)"
    );

    // kill -9 of nas-1: its rooms are taken within a lease TTL and two polls.
    let victim = by["nas-1"].clone();
    daemons.get_mut("nas-1").unwrap().kill9();
    let killed = Instant::now();
    let others = ["nas-2", "nas-3"];
    // Claimed (etcd's owner keys) within a lease TTL and two polls...
    let client = etcd.client();
    let keys: Vec<String> = victim
        .iter()
        .map(|r| {
            format!(
                "/liverec/test/owners/bilibili:{}",
                r.trim_start_matches('r')
            )
        })
        .collect();
    let mut claimed = None;
    while killed.elapsed() < Duration::from_secs(20) {
        let owners = client.get_prefix("/liverec/test/owners/").await.unwrap();
        let by_other = |k: &String| {
            owners
                .kvs
                .iter()
                .any(|kv| kv.key == *k && !String::from_utf8_lossy(&kv.value).contains("\"nas-1\""))
        };
        if keys.iter().all(by_other) {
            claimed = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let claimed = claimed.unwrap_or_else(|| panic!("{victim:?} not claimed:\n{}", logs(&daemons)));
    eprintln!(
        "measured: rooms claimed {claimed:?} after kill -9 (lease_ttl 2 s, poll_interval 1 s)"
    );
    assert!(
        claimed <= TTL + Duration::from_secs(2) + Duration::from_millis(2500),
        "claimed after {claimed:?}"
    );
    // ... and recorded soon after (each room's stream lookup goes through the platform's
    // request budget).
    let taken = || {
        victim
            .iter()
            .all(|r| others.iter().any(|n| recording(&homes[n]).contains(r)))
    };
    assert!(
        wait_until(Duration::from_secs(20), taken).await,
        "{victim:?} not taken over:\n{}",
        logs(&daemons)
    );
    let took = killed.elapsed();
    eprintln!("measured: first bytes written {took:?} after kill -9");
    assert!(took <= Duration::from_secs(15), "takeover took {took:?}");
    // The session goes on where nas-1 left it: the next segment index, not 1.
    for r in &victim {
        let old = indexes(&homes["nas-1"], r);
        let new: Vec<u32> = others.iter().flat_map(|n| indexes(&homes[n], r)).collect();
        assert!(
            !new.is_empty() && new[0] > *old.last().unwrap_or(&0),
            "{r}: nas-1 wrote {old:?}, its successor {new:?}"
        );
    }
    // A continued session raises no second live_start.
    for n in others {
        let again: Vec<_> = events(&homes[n])
            .await
            .into_iter()
            .filter(|e| e["type"] == "live_start")
            .filter(|e| victim.contains(e["room"]["name"].as_str().unwrap_or_default()))
            .collect();
        assert!(again.is_empty(), "{n}: {again:?}");
    }
    // Still one recorder per room.
    let mut seen = 0;
    for n in others {
        seen += recording(&homes[n]).len();
    }
    assert_eq!(seen, 12, "{}", logs(&daemons));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_instance_hands_its_rooms_over_when_it_wakes() {
    let etcd = etcd_or_skip!();
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let live: Vec<u64> = (0..4).map(|i| 5_580_001 + i).collect();
    let rooms = serve_rooms(&streams, &api, &live, true);
    let dir = tempfile::tempdir().unwrap();
    let (home_a, cfg_a) = instance_config(dir.path(), "nas-a", &etcd.url, &api, &rooms);
    let (home_b, cfg_b) = instance_config(dir.path(), "nas-b", &etcd.url, &api, &rooms);
    // a records every room before b joins: a joining instance takes no live session.
    let a = Daemon::start(&home_a, "nas-a", &cfg_a);
    assert!(
        wait_until(Duration::from_secs(30), || recording(&home_a).len() == 4).await,
        "{}",
        a.log_text()
    );
    let b = Daemon::start(&home_b, "nas-b", &cfg_b);
    let logs = || format!("==== a\n{}\n==== b\n{}", a.log_text(), b.log_text());
    let client = etcd.client();
    let mut members = 0;
    for _ in 0..100 {
        members = client
            .get_prefix("/liverec/test/members/")
            .await
            .unwrap()
            .kvs
            .len();
        if members == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(members, 2, "{}", logs());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        recording(&home_b).is_empty(),
        "a live session moved to b:\n{}",
        logs()
    );
    let a_rooms = recording(&home_a);
    a.signal(libc::SIGSTOP);
    tokio::time::sleep(2 * TTL + Duration::from_millis(500)).await;
    // b took a's rooms while a was frozen.
    assert!(
        wait_until(Duration::from_secs(10), || recording(&home_b).len() == 4).await,
        "{}",
        logs()
    );
    a.signal(libc::SIGCONT);
    let resumed = Instant::now();
    // a finds its lease gone, sees b writing, finalizes and stops: no .part left, within a
    // renewal, the overlap and some slack.
    assert!(
        wait_until(Duration::from_secs(15), || recording(&home_a).is_empty()).await,
        "{}",
        logs()
    );
    let overlap = resumed.elapsed();
    eprintln!("measured: the woken instance stopped {overlap:?} after SIGCONT");
    assert!(
        overlap <= Duration::from_secs(3) + TTL + Duration::from_secs(3),
        "a overlapped b for {overlap:?}"
    );
    // What a wrote plays.
    for r in &a_rooms {
        for f in files(&home_a.join("rec").join(r), ".flv") {
            assert!(crate::support::media::duration(&f) > 0.5, "{}", f.display());
            let errors = crate::support::media::decode_errors(&f);
            assert!(errors.trim().is_empty(), "{}: {errors}", f.display());
        }
    }
    let ends: Vec<_> = events(&home_a)
        .await
        .into_iter()
        .filter(|e| e["type"] == "live_end")
        .collect();
    assert_eq!(ends.len(), a_rooms.len(), "{ends:?}\n{}", logs());
    assert!(
        ends.iter().all(|e| e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("handover to nas-b")),
        "{ends:?}"
    );
    // b keeps every room.
    assert_eq!(recording(&home_b).len(), 4, "{}", logs());
    drop(a);
}

/// `liverec cluster <args> -c <config>`: (exit code, stdout, stderr).
fn cli(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(crate::support::daemon::bin())
        .arg("cluster")
        .args(args)
        .arg("-c")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lease of instance `name`'s member key.
async fn member_lease(client: &liverec::cluster::etcd::EtcdClient, name: &str) -> i64 {
    client
        .get(&format!("/liverec/test/members/{name}"))
        .await
        .unwrap()
        .map_or(0, |kv| kv.lease)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_instance_takes_nothing_new_and_exits_when_its_live_ends() {
    let etcd = etcd_or_skip!();
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let live_id = 5_590_001u64;
    // The live's stream ends by itself (10 s of media at 2x), then answers 404.
    let mut finite = Answer::flv(FIXTURE, 2.0, 1);
    if let Answer::Flv { offline_after, .. } = &mut finite {
        *offline_after = true;
    }
    streams.set(&format!("live-bvc/{live_id}/live.flv"), finite);
    api.set_bili(live_id, live_room(&streams, live_id, true));
    let mut rooms = room(
        &format!("r{live_id}"),
        &format!("https://live.bilibili.com/{live_id}"),
    );
    for id in 5_590_002..5_590_006u64 {
        api.set_bili(id, live_room(&streams, id, false));
        rooms.push_str(&room(
            &format!("r{id}"),
            &format!("https://live.bilibili.com/{id}"),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let (home_a, cfg_a) = instance_config(dir.path(), "nas-a", &etcd.url, &api, &rooms);
    let (home_b, cfg_b) = instance_config(dir.path(), "nas-b", &etcd.url, &api, &rooms);
    let mut a = Daemon::start(&home_a, "nas-a", &cfg_a);
    assert!(
        wait_until(Duration::from_secs(30), || recording(&home_a).len() == 1).await,
        "{}",
        a.log_text()
    );
    let b = Daemon::start(&home_b, "nas-b", &cfg_b);
    let client = etcd.client();
    let mut both = false;
    for _ in 0..100 {
        if member_lease(&client, "nas-b").await != 0 {
            both = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(both, "{}", b.log_text());
    // `cluster status` reads etcd: both members, and who records the live room.
    let (code, out, err) = cli(&["status"], &a.config);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nas-a") && out.contains("nas-b"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(&format!("bilibili:{live_id}")))
        .unwrap_or_else(|| panic!("no owner line in {out}"));
    assert!(line.contains("nas-a") && line.contains("fence"), "{out}");

    let (code, out, err) = cli(&["drain"], &a.config);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("draining"), "{out}");
    // a takes no idle room any more: its member key says so.
    let mut refusing = false;
    for _ in 0..50 {
        let kv = client.get("/liverec/test/members/nas-a").await.unwrap();
        if kv.is_some_and(|kv| String::from_utf8_lossy(&kv.value).contains("\"accepting\":false")) {
            refusing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refusing, "{}", a.log_text());
    // Its live session goes on until the live ends; then a exits 0.
    assert_eq!(recording(&home_a).len(), 1);
    api.edit_bili(live_id, |r| r.live_status = 0);
    let status = a.wait_exit(Duration::from_secs(30)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        a.log_text()
    );
    assert!(recording(&home_a).is_empty(), "a left a .part");
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_lease_is_renewed_without_cutting_the_recordings() {
    let etcd = etcd_or_skip!();
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let live: Vec<u64> = (0..2).map(|i| 5_591_001 + i).collect();
    let rooms = serve_rooms(&streams, &api, &live, true);
    let dir = tempfile::tempdir().unwrap();
    let (home, cfg) = instance_config(dir.path(), "nas-a", &etcd.url, &api, &rooms);
    let a = Daemon::start(&home, "nas-a", &cfg);
    assert!(
        wait_until(Duration::from_secs(30), || recording(&home).len() == 2).await,
        "{}",
        a.log_text()
    );
    let fences = |s: &serde_json::Value| -> Vec<i64> {
        s["rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["session"]["owner"]["fence"].as_i64())
            .collect()
    };
    let before = fences(&crate::support::daemon::status(&home).await);
    assert_eq!(before.len(), 2, "{}", a.log_text());
    let client = etcd.client();
    let lease = member_lease(&client, "nas-a").await;
    assert!(client.lease_revoke(lease).await.unwrap());
    // A new lease, the rooms claimed again under greater fences, the sessions untouched.
    let (renewed, after) =
        crate::support::daemon::status_when(&home, Duration::from_secs(15), |s| {
            let f = fences(s);
            f.len() == 2 && f.iter().all(|f| before.iter().all(|b| f > b))
        })
        .await;
    assert!(renewed, "{after}\n{}", a.log_text());
    assert_ne!(member_lease(&client, "nas-a").await, lease);
    let owners = client.get_prefix("/liverec/test/owners/").await.unwrap();
    assert_eq!(owners.kvs.len(), 2);
    assert!(
        !events(&home).await.iter().any(|e| e["type"] == "live_end"),
        "a session ended"
    );
    assert_eq!(recording(&home).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_stopped_and_resumed_leaves_the_recordings_alone() {
    let etcd = etcd_or_skip!();
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let live: Vec<u64> = (0..3).map(|i| 5_592_001 + i).collect();
    let rooms = serve_rooms(&streams, &api, &live, true);
    let dir = tempfile::tempdir().unwrap();
    let (home_a, cfg_a) = instance_config(dir.path(), "nas-a", &etcd.url, &api, &rooms);
    let (home_b, cfg_b) = instance_config(dir.path(), "nas-b", &etcd.url, &api, &rooms);
    let a = Daemon::start(&home_a, "nas-a", &cfg_a);
    let b = Daemon::start(&home_b, "nas-b", &cfg_b);
    let logs = || format!("==== a\n{}\n==== b\n{}", a.log_text(), b.log_text());
    let total = || recording(&home_a).len() + recording(&home_b).len();
    assert!(
        wait_until(Duration::from_secs(30), || total() == 3).await,
        "{}",
        logs()
    );
    let size = |home: &Path| -> u64 {
        files(&home.join("rec"), ".part")
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    };
    let before = size(&home_a) + size(&home_b);
    etcd.pause();
    // Both instances raise cluster_degraded after a lease TTL without etcd.
    let degraded = |home: PathBuf| async move {
        events(&home)
            .await
            .iter()
            .any(|e| e["type"] == "cluster_degraded")
    };
    let mut seen = false;
    for _ in 0..100 {
        if degraded(home_a.clone()).await && degraded(home_b.clone()).await {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "{}", logs());
    // The recordings went on all along.
    assert_eq!(total(), 3, "{}", logs());
    assert!(size(&home_a) + size(&home_b) > before);
    etcd.resume();
    // Afterwards: one owner key per room again, no room recorded twice.
    let client = etcd.client();
    let mut owners = 0;
    for _ in 0..100 {
        owners = client
            .get_prefix("/liverec/test/owners/")
            .await
            .map_or(0, |r| r.kvs.len());
        if owners == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(owners, 3, "{}", logs());
    assert_eq!(total(), 3, "{}", logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_412_seen_by_one_instance_pauses_every_instance() {
    let etcd = etcd_or_skip!();
    let streams = StreamServer::start().await;
    // Each instance asks its own copy of the platform, so a refusal reaches only one of them.
    let api_a = PlatformServer::start().await;
    let api_b = PlatformServer::start().await;
    let mut rooms = String::new();
    for id in 5_593_001..5_593_007u64 {
        api_a.set_bili(id, live_room(&streams, id, false));
        api_b.set_bili(id, live_room(&streams, id, false));
        rooms.push_str(&room(
            &format!("r{id}"),
            &format!("https://live.bilibili.com/{id}"),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let (home_a, cfg_a) = instance_config(dir.path(), "nas-a", &etcd.url, &api_a, &rooms);
    let (home_b, cfg_b) = instance_config(dir.path(), "nas-b", &etcd.url, &api_b, &rooms);
    let a = Daemon::start(&home_a, "nas-a", &cfg_a);
    let b = Daemon::start(&home_b, "nas-b", &cfg_b);
    let logs = || format!("==== a\n{}\n==== b\n{}", a.log_text(), b.log_text());
    let t0 = Instant::now();
    let asked = |api: &PlatformServer, since: Instant| {
        api.requests().iter().filter(|(t, _)| *t >= since).count()
    };
    assert!(
        wait_until(Duration::from_secs(20), || asked(&api_a, t0) > 0
            && asked(&api_b, t0) > 0)
        .await,
        "{}",
        logs()
    );
    api_a.set_mode(crate::support::platform_server::Mode::Status {
        code: 412,
        retry_after: Some(6),
    });
    let blocked = Instant::now();
    // a is refused; the pause reaches b through etcd, and b stops asking too.
    let client = etcd.client();
    let mut shared = None;
    for _ in 0..100 {
        if let Some(kv) = client.get("/liverec/test/throttle/bilibili").await.unwrap() {
            shared = Some(String::from_utf8_lossy(&kv.value).into_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shared = shared.unwrap_or_else(|| panic!("no shared pause:\n{}", logs()));
    assert!(shared.contains("\"by\":\"nas-a\""), "{shared}");
    let quiet_from = Instant::now() + Duration::from_millis(500);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = asked(&api_b, quiet_from);
    assert_eq!(
        during,
        0,
        "b asked {during} times during a's pause:\n{}",
        logs()
    );
    api_a.set_mode(crate::support::platform_server::Mode::Normal);
    // After the pause, b asks again.
    assert!(
        wait_until(Duration::from_secs(15), || asked(
            &api_b,
            blocked + Duration::from_secs(6)
        ) > 0)
        .await,
        "{}",
        logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_from_etcd_records_on_then_hands_over() {
    let etcd = etcd_or_skip!();
    let proxy = crate::support::etcd::CutProxy::start(&etcd.url).await;
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    let live: Vec<u64> = (0..3).map(|i| 5_594_001 + i).collect();
    let rooms = serve_rooms(&streams, &api, &live, true);
    let dir = tempfile::tempdir().unwrap();
    // a reaches etcd only through the proxy.
    let (home_a, cfg_a) = instance_config(dir.path(), "nas-a", &proxy.url, &api, &rooms);
    let (home_b, cfg_b) = instance_config(dir.path(), "nas-b", &etcd.url, &api, &rooms);
    let a = Daemon::start(&home_a, "nas-a", &cfg_a);
    assert!(
        wait_until(Duration::from_secs(30), || recording(&home_a).len() == 3).await,
        "{}",
        a.log_text()
    );
    let b = Daemon::start(&home_b, "nas-b", &cfg_b);
    let logs = || format!("==== a\n{}\n==== b\n{}", a.log_text(), b.log_text());
    let client = etcd.client();
    let mut joined = false;
    for _ in 0..100 {
        if member_lease(&client, "nas-b").await != 0 {
            joined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(joined, "{}", logs());
    proxy.cut();
    // b takes the rooms once a's lease runs out; a records on meanwhile (no gap).
    assert!(
        wait_until(Duration::from_secs(20), || recording(&home_b).len() == 3).await,
        "{}",
        logs()
    );
    assert_eq!(
        recording(&home_a).len(),
        3,
        "a stopped while cut off:\n{}",
        logs()
    );
    let mut degraded = false;
    for _ in 0..50 {
        if events(&home_a)
            .await
            .iter()
            .any(|e| e["type"] == "cluster_degraded")
        {
            degraded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(degraded, "{}", logs());
    proxy.heal();
    let healed = Instant::now();
    // a learns its lease is gone and that b writes: it finalizes and stops.
    assert!(
        wait_until(Duration::from_secs(20), || recording(&home_a).is_empty()).await,
        "{}",
        logs()
    );
    assert!(
        healed.elapsed() <= TTL + Duration::from_secs(3) + Duration::from_secs(5),
        "a took {:?} to hand over",
        healed.elapsed()
    );
    let ends: Vec<_> = events(&home_a)
        .await
        .into_iter()
        .filter(|e| e["type"] == "live_end")
        .collect();
    assert_eq!(ends.len(), 3, "{ends:?}");
    assert!(
        ends.iter().all(|e| e["error"]
            .as_str()
            .unwrap_or_default()
            .contains("handover to nas-b")),
        "{ends:?}"
    );
    assert_eq!(recording(&home_b).len(), 3);
}
