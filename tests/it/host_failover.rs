//! Host failover inside one attempt, end to end: the fake Bilibili API lists a dead CDN host
//! first and the real stream second. The daemon must move on to the second host within the
//! stall timeout, and try the dead one last for the rest of the session.

use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, config, control_get, files, room, wait_until};
use crate::support::flv::{self, Tag};
use crate::support::media;
use crate::support::platform_server::{BiliRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const LONG_ID: u64 = 7734200;
const BILI_PATH: &str = "live-bvc/7734200/live.flv";
/// The `stall_timeout` of the test config.
const STALL: Duration = Duration::from_secs(3);

/// The fixture as one live that the CDN ends once and serves again: the first connection
/// sends the first five GOPs, the second (its own FLV header, metadata and sequence headers
/// first, as a CDN does) the rest, with timestamps going on.
fn two_parts() -> (Vec<u8>, Vec<u8>) {
    let tags = flv::walk(&flv::fixture("flv_640x360_20s.flv")).unwrap();
    let cut = flv::keyframe_index(&tags, 5);
    let heads: Vec<Tag> = tags.iter().take_while(|t| !t.is_frame()).cloned().collect();
    assert!(!heads.is_empty() && heads.len() < cut);
    let mut second = heads;
    second.extend_from_slice(&tags[cut..]);
    (
        flv::encode_stream(&tags[..cut]),
        flv::encode_stream(&second),
    )
}

/// The live_end event of the room has been raised (read from the control API).
async fn live_ended(dir: &std::path::Path) -> bool {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        let events: Vec<serde_json::Value> =
            serde_json::from_str(&control_get(dir, "/api/events").await).unwrap();
        if events.iter().any(|e| e["type"] == "live_end") {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

struct Outcome {
    /// From the first request to the dead host to the first request to the good one.
    failover: Duration,
    log: String,
}

/// One session of a room whose first FLV host answers `dead`, and whose second serves the
/// live in two connections (two attempts). Checks what holds whatever the dead host does.
async fn session_with_a_dead_first_host(dead_answer: Answer) -> Outcome {
    let dead = StreamServer::start().await;
    dead.set(BILI_PATH, dead_answer);
    let good = StreamServer::start().await;
    let (first, second) = two_parts();
    good.set_sequence(
        BILI_PATH,
        vec![
            Answer::Raw(first.into()),
            // Slow enough for the test to end the live while it is still being served.
            Answer::Paced {
                data: second.into(),
                rate: 500_000,
            },
        ],
    );
    let api = PlatformServer::start().await;
    api.set_bili(
        LONG_ID,
        BiliRoom {
            short_id: 0,
            live_status: 1,
            title: "换线测试".into(),
            uname: "测试主播乙".into(),
            live_start_time: 1763712000,
            stream_host: format!("http://{}", good.addr),
            stream_path: BILI_PATH.into(),
        },
    );
    api.set_bili_flv_hosts(
        LONG_ID,
        vec![
            format!("http://{}", dead.addr),
            format!("http://{}", good.addr),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("failover", "https://live.bilibili.com/7734200"),
        &format!(
            "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n",
            api.base()
        ),
    );
    let d = Daemon::start(dir.path(), "failover", &cfg);

    // The second connection to the good host is the second attempt.
    let good_asked = || good.request_times(BILI_PATH);
    assert!(
        wait_until(Duration::from_secs(30), || good_asked().len() >= 2).await,
        "{}",
        d.log_text()
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    assert!(live_ended(dir.path()).await, "{}", d.log_text());
    let log = d.log_text();

    let dead_asked = dead.request_times(BILI_PATH);
    let good_asked = good_asked();
    assert!(
        !dead_asked.is_empty(),
        "the dead host was never tried:\n{log}"
    );
    // The first attempt asked the dead host first, then the good one.
    assert!(dead_asked[0] < good_asked[0], "{log}");
    // The second attempt went to the good host without asking the dead one again: once in the
    // whole session.
    assert_eq!(dead_asked.len(), 1, "the dead host was asked again:\n{log}");
    assert_eq!(good_asked.len(), 2, "{log}");
    assert!(
        log.contains(&format!(
            "trying last the stream hosts that failed earlier in this session: {}",
            dead.addr
        )),
        "{log}"
    );
    assert!(!log.contains("sign="), "a signed query was logged:\n{log}");

    // The recording holds every frame the good host served, once, in order, and plays.
    let rec = dir.path().join("rec");
    assert!(files(&rec, ".part").is_empty(), "{:?}", files(&rec, ""));
    let mut done = files(&rec, ".flv");
    done.sort_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok());
    assert!(!done.is_empty(), "no recording:\n{log}");
    let want: Vec<(u8, Vec<u8>)> = good
        .bodies(BILI_PATH)
        .iter()
        .flat_map(|b| flv::frames_of(b))
        .collect();
    assert_eq!(
        want.len(),
        flv::frames_of(&flv::fixture("flv_640x360_20s.flv")).len(),
        "both parts were served whole"
    );
    let got = flv::recorded_frames(&done);
    assert_eq!(got.len(), want.len(), "every served frame, once:\n{log}");
    assert!(got == want, "recorded frames differ from the served ones");
    for f in &done {
        assert_eq!(media::decode_errors(f), "", "{}", f.display());
    }
    Outcome {
        failover: good_asked[0].duration_since(dead_asked[0]),
        log,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_host_that_answers_and_then_sends_nothing_is_left_within_the_stall_timeout() {
    let o = session_with_a_dead_first_host(Answer::Silent).await;
    // It was given the whole stall timeout, and not more than a second beyond it.
    assert!(
        o.failover >= STALL && o.failover <= STALL + Duration::from_secs(1),
        "moved on after {:?}:\n{}",
        o.failover,
        o.log
    );
    assert!(
        o.log
            .contains("source refused: connected, but no bytes for 3s"),
        "{}",
        o.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_host_that_closes_at_once_is_left_at_once() {
    let o = session_with_a_dead_first_host(Answer::Closed).await;
    // No stall timeout to wait for: the next host is asked straight away.
    assert!(
        o.failover < STALL,
        "moved on after {:?}:\n{}",
        o.failover,
        o.log
    );
    assert!(
        o.log.contains(
            "source refused: the stream server closed the connection before the first byte"
        ),
        "{}",
        o.log
    );
}
