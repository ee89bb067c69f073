//! Bilibili and Douyin end to end: the real binary against a fake platform API and a local FLV
//! server, both on 127.0.0.1:0.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::daemon::{
    Daemon, bin, config, control_get, events, files, room, room_says, room_status, wait_events,
    wait_until,
};
use crate::support::flv;
use crate::support::hls_server::{Channel, HlsServer, Kind, fixture_init};
use crate::support::media;
use crate::support::platform_server::{
    BiliRoom, BiliShape, DouyinRoom, DyFault, Mode, PlatformServer,
};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const LONG_ID: u64 = 7734200;
const BILI_PATH: &str = "live-bvc/7734200/live.flv";
const WEB_RID: &str = "61234567890";

fn api_base(platform: &str, api: &PlatformServer) -> String {
    format!(
        "[platforms.{platform}]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n",
        api.base()
    )
}

/// A finite live: `speed` x real time, once, then the stream path answers 404.
fn finite(speed: f64) -> Answer {
    let mut a = Answer::flv(FIXTURE, speed, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

fn bili_room(streams: &StreamServer, live_status: i64) -> BiliRoom {
    BiliRoom {
        short_id: 77,
        live_status,
        title: "晚间测试直播".into(),
        uname: "测试主播甲".into(),
        live_start_time: 1763712000,
        stream_host: format!("http://{}", streams.addr),
        stream_path: BILI_PATH.into(),
    }
}

/// Waits until `n` whole copies of the fixture have been served on `path`.
async fn served_completely(streams: &StreamServer, path: &str, n: usize) -> bool {
    let whole = flv::fixture(FIXTURE).len();
    wait_until(Duration::from_secs(30), || {
        streams
            .bodies(path)
            .iter()
            .filter(|b| b.len() >= whole)
            .count()
            >= n
    })
    .await
}

/// The recording must hold every frame served, once, in order, across however many
/// connections (and so files) the live took.
fn check_recording(rec: &Path, served: Vec<Vec<u8>>, log: &str) {
    assert!(
        files(rec, ".part").is_empty(),
        "a .part was left: {:?}",
        files(rec, "")
    );
    // In the order they were written (names repeat across sessions: 1.flv, 1_1.flv, ...).
    let mut done = files(rec, ".flv");
    done.sort_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok());
    assert!(!done.is_empty(), "no recording:\n{log}");
    let got = flv::recorded_frames(&done);
    let want: Vec<(u8, Vec<u8>)> = served.iter().flat_map(|b| flv::frames_of(b)).collect();
    assert_eq!(got.len(), want.len(), "every served frame, once:\n{log}");
    assert!(got == want, "recorded frames differ from the served ones");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bilibili_live_by_short_id_is_recorded_and_ends_when_offline() {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, finite(20.0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/77"),
        &api_base("bilibili", &api),
    );
    let d = Daemon::start(dir.path(), "bili", &cfg);
    assert!(
        served_completely(&streams, BILI_PATH, 1).await,
        "{}",
        d.log_text()
    );
    // The streamer starts a new broadcast (a new live_start_time) before the old one is seen
    // offline: that is a new session.
    api.edit_bili(LONG_ID, |r| r.live_start_time += 3600);
    assert!(
        wait_events(dir.path(), "live_start", 2, Duration::from_secs(15)).await,
        "{}",
        d.log_text()
    );
    streams.set(BILI_PATH, finite(20.0));
    assert!(
        served_completely(&streams, BILI_PATH, 2).await,
        "{}",
        d.log_text()
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    assert!(
        wait_events(dir.path(), "live_end", 2, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let evs = events(dir.path()).await;
    assert_eq!(
        evs.iter().filter(|e| e["type"] == "live_start").count(),
        2,
        "{evs:#?}"
    );
    // Both ended as answers said: the new broadcast, then offline.
    assert!(
        evs.iter()
            .filter(|e| e["type"] == "live_end")
            .all(|e| e["error"].is_null()),
        "{evs:#?}"
    );
    let log = d.log_text();
    let served = streams.bodies(BILI_PATH);
    check_recording(&dir.path().join("rec/bili"), served, &log);
    for want in [
        "room 77 is a short id for room 7734200",
        "bilibili:7734200",
        "live: session started",
        "event live_start",
        "event live_end",
        "a new broadcast began (session hint 1763712000 -> 1763715600)",
    ] {
        assert!(log.contains(want), "missing {want:?} in:\n{log}");
    }
    // The first host of the list has no such stream: the next one is tried.
    assert!(
        log.contains("source refused: the stream server answered HTTP 404"),
        "{log}"
    );
    // The signatures the daemon sent were all accepted by the fake's own wbi check.
    assert_eq!(api.wbi_rejections(), 0);
    assert!(
        api.count(
            "/x/web-interface/nav",
            Instant::now() - Duration::from_secs(600)
        ) >= 1
    );
    // No signed query in the log.
    assert!(!log.contains("sign="), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_douyin_live_is_recorded_with_an_automatic_ttwid() {
    let streams = StreamServer::start().await;
    streams.set("douyin/or4.flv", finite(5.0));
    let api = PlatformServer::start().await;
    api.set_douyin(
        WEB_RID,
        DouyinRoom {
            live: true,
            title: "周末测试场".into(),
            nickname: "测试主播乙".into(),
            session: "7300000000000000099".into(),
            sec_uid: "MS4wLjABAAAAtest".into(),
            flv_url: streams.url("douyin/or4.flv"),
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
        &api_base("douyin", &api),
    );
    let d = Daemon::start(dir.path(), "dy", &cfg);
    let rec = dir.path().join("rec/dy");
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    // The ttwid goes stale mid-session: the next call gets an empty body, and the daemon must
    // fetch a new ttwid rather than back off or call the room offline.
    api.rotate_ttwid();
    assert!(
        served_completely(&streams, "douyin/or4.flv", 1).await,
        "{}",
        d.log_text()
    );
    // The stream is over but the API still says live: the daemon asks again (new ttwid).
    assert!(
        wait_until(Duration::from_secs(10), || api.empty_answers() >= 1
            && api.ttwids_issued() >= 2)
        .await,
        "empty answers {} ttwids {}:\n{}",
        api.empty_answers(),
        api.ttwids_issued(),
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    let served = streams.bodies("douyin/or4.flv");
    check_recording(&rec, served, &log);
    let ends: Vec<serde_json::Value> = events(dir.path())
        .await
        .into_iter()
        .filter(|e| e["type"] == "live_end")
        .collect();
    assert_eq!(ends[0]["room"]["key"], "douyin:61234567890");
    assert!(ends[0]["error"].is_null(), "ended as offline: {}", ends[0]);
    assert_eq!(
        backoffs(dir.path(), "douyin").await,
        0,
        "a stale ttwid is renewed, not a block:\n{log}"
    );
    assert!(
        !log.contains("ttwid=1"),
        "cookies never reach the log:\n{log}"
    );
}

const PLAY_INFO: &str = "/xlive/web-room/v2/index/getRoomPlayInfo";

/// A Bilibili room whose only format is HLS-fMP4, served by `hls` as channel `name`.
async fn bili_hls_room(
    name: &str,
    ch: Channel,
) -> (
    HlsServer,
    PlatformServer,
    StreamServer,
    tempfile::TempDir,
    Daemon,
) {
    let hls = HlsServer::start().await;
    hls.set(name, ch);
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_bili_hls(LONG_ID, &hls.url(name));
    let dir = tempfile::tempdir().unwrap();
    let rooms = format!(
        "{}formats = [\"hls-fmp4\"]\n",
        room(name, "https://live.bilibili.com/7734200")
    );
    let d = Daemon::start(
        dir.path(),
        name,
        &config(dir.path(), &rooms, &api_base("bilibili", &api)),
    );
    (hls, api, streams, dir, d)
}

/// Waits until channel `name` has served every fixture segment.
/// The Bilibili room goes offline; the daemon's session ends.
async fn end_live(api: &PlatformServer, d: &Daemon) {
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    let dir = d.config.parent().unwrap();
    assert!(
        wait_events(dir, "live_end", 1, Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
}

async fn served_all(hls: &HlsServer, name: &str) -> bool {
    wait_until(Duration::from_secs(30), || hls.served(name).len() == 6).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bilibili_live_over_hls_fmp4_is_recorded() {
    let (hls, api, _streams, dir, d) = bili_hls_room("bili", Channel::fixture(Kind::Fmp4)).await;
    assert!(served_all(&hls, "bili").await, "{}", d.log_text());
    // The playlist has ended but Bilibili still says live for a while: the reconnects do not
    // download its segments again.
    let (waiting, last) = status_when(dir.path(), Duration::from_secs(15), |s| {
        room_says(
            room_status(s, "bili"),
            "recorded to its end in this session",
        )
    })
    .await;
    assert!(waiting, "{last:#}\n{}", d.log_text());
    end_live(&api, &d).await;
    let rec = dir.path().join("rec/bili");
    assert!(files(&rec, ".part").is_empty(), "{:?}", files(&rec, ""));
    let done = files(&rec, ".mp4");
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    let mut want = fixture_init().to_vec();
    want.extend(hls.media("bili", 0..6));
    media::assert_fmp4_rebased(&std::fs::read(&done[0]).unwrap(), &want);
    let errors = media::decode_errors(&done[0]);
    assert!(errors.is_empty(), "{errors}");
    let dur = media::duration(&done[0]) - media::start_time(&done[0]);
    assert!((dur - 12.0).abs() < 0.2, "duration {dur}");
    for i in 0..6 {
        assert_eq!(
            hls.requests("bili", &format!("seg/{i}.m4s")),
            1,
            "segment {i}"
        );
    }
    let log = d.log_text();
    assert!(log.contains("HLS media playlist loaded"), "{log}");
    assert!(api.count(PLAY_INFO, Instant::now() - Duration::from_secs(600)) >= 2);
    assert!(!log.contains("sign="), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hls_playlist_url_is_signed_afresh_by_the_platform() {
    let mut ch = Channel::fixture(Kind::Fmp4);
    // The whole schedule stays listed (nothing can slide out while the URL is renewed), and
    // each signed playlist URL stops working 1.2 s after its first use.
    ch.window = 6;
    ch.expire_after = Some(Duration::from_millis(1200));
    let (hls, api, _streams, dir, d) = bili_hls_room("exp", ch).await;
    let t0 = Instant::now() - Duration::from_secs(600);
    assert!(served_all(&hls, "exp").await, "{}", d.log_text());
    // Recorded to its ENDLIST: the next attempt finds nothing new in it.
    let (waiting, last) = status_when(dir.path(), Duration::from_secs(15), |s| {
        room_says(room_status(s, "exp"), "recorded to its end in this session")
    })
    .await;
    assert!(waiting, "{last:#}\n{}", d.log_text());
    end_live(&api, &d).await;
    let log = d.log_text();
    // The expired URL ended the attempt; the next attempt asked the platform, which signed a
    // new URL, and that one recorded the rest up to the ENDLIST.
    assert!(hls.expired("exp") >= 3, "{log}");
    let at = |what: &str, nth: usize| {
        log.match_indices(what)
            .nth(nth)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("no {what:?} #{nth} in:\n{log}"))
    };
    let broken = at(
        "stream ended: the playlist server answered HTTP 403 (3 reloads in a row)",
        0,
    );
    let reloaded = at("HLS media playlist loaded", 1);
    let ended = at("HLS playlist ended (EXT-X-ENDLIST)", 0);
    assert!(broken < reloaded && reloaded < ended, "{log}");
    assert!(hls.signatures("exp") >= 2, "a freshly signed URL");
    assert!(api.count(PLAY_INFO, t0) >= 2, "{log}");
    // The new URL names the same playlist: the recording went on in the same file, every
    // segment once, nothing lost.
    let rec = dir.path().join("rec/exp");
    let done = files(&rec, ".mp4");
    assert_eq!(done.len(), 1, "{done:?}\n{log}");
    let mut want = fixture_init().to_vec();
    want.extend(hls.media("exp", 0..6));
    media::assert_fmp4_rebased(&std::fs::read(&done[0]).unwrap(), &want);
    let errors = media::decode_errors(&done[0]);
    assert!(errors.is_empty(), "{errors}");
    assert!(!log.contains("gap:"), "{log}");
}

fn part_size(rec: &Path) -> u64 {
    files(rec, ".part")
        .first()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_412_storm_slows_polling_and_does_not_end_the_recording() {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, Answer::flv(FIXTURE, 1.0, 0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    // Two offline rooms keep polling (a recording room does not poll while it records).
    let mut rooms = room("rec", "https://live.bilibili.com/7734200");
    for (i, id) in [5550001u64, 5550002].iter().enumerate() {
        let mut r = bili_room(&streams, 0);
        r.short_id = 0;
        api.set_bili(*id, r);
        rooms.push_str(&room(
            &format!("idle{i}"),
            &format!("https://live.bilibili.com/{id}"),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "storm",
        &config(dir.path(), &rooms, &api_base("bilibili", &api)),
    );
    let rec = dir.path().join("rec/rec");
    assert!(
        wait_until(Duration::from_secs(20), || part_size(&rec) > 50_000).await,
        "{}",
        d.log_text()
    );
    let t0 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || status_checks(&api, t0) >= 4).await,
        "{}",
        d.log_text()
    );

    // The storm: every API call answers HTTP 412 (Retry-After: 1 s, so the test stays short;
    // without it the first pause is 60 s), until three blocks in a row have paused Bilibili.
    api.set_mode(Mode::Status {
        code: 412,
        retry_after: Some(1),
    });
    let storm = Instant::now();
    let size_before = part_size(&rec);
    let mut blocks = 0;
    for _ in 0..150 {
        blocks = backoffs(dir.path(), "bilibili").await;
        if blocks >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.set_mode(Mode::Normal);
    let calm = Instant::now();
    let size_after = part_size(&rec);
    let log = d.log_text();
    assert!(blocks >= 3, "{blocks} backoffs:\n{log}");
    // Each block was met by the requests in flight and then one request at the pause's end:
    // the refusals come in bursts, each pause twice the one before (1 s, 2 s).
    let refused: Vec<Instant> = api
        .answers()
        .iter()
        .filter(|(t, _, code)| *code == 412 && *t >= storm)
        .map(|(t, _, _)| *t)
        .collect();
    let mut bursts: Vec<Instant> = Vec::new();
    for t in &refused {
        if bursts
            .last()
            .is_none_or(|b| t.duration_since(*b) > Duration::from_millis(500))
        {
            bursts.push(*t);
        }
    }
    assert!(
        refused.len() <= 2 * bursts.len() && bursts.len() >= 3,
        "{} refusals in {} bursts:\n{log}",
        refused.len(),
        bursts.len()
    );
    let gaps: Vec<Duration> = bursts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] >= Duration::from_millis(900) && gaps[1] >= Duration::from_millis(1900),
        "the pauses did not double: {gaps:?}\n{log}"
    );
    // The recording went on all along, and no session ended.
    assert!(
        size_after > size_before,
        "the file stopped growing: {size_before} -> {size_after}"
    );
    assert!(
        events(dir.path())
            .await
            .iter()
            .all(|e| e["type"] != "live_end"),
        "{log}"
    );
    // Once the API answers again, the backoff lifts and polling resumes.
    assert!(
        wait_until(Duration::from_secs(10), || {
            api.answers()
                .iter()
                .filter(|(t, q, code)| {
                    *code == 200
                        && *t >= calm
                        && (q.starts_with(ROOM_INFO) || q.starts_with(BATCH_STATUS))
                })
                .count()
                >= 2
        })
        .await,
        "polling did not resume:\n{}",
        d.log_text()
    );
    assert!(part_size(&rec) > size_after);
    assert_eq!(files(&rec, ".flv").len(), 0, "still one open segment");
    assert!(log.contains("polling resumes at"), "{log}");
}

const ROOM_INFO: &str = "/xlive/web-room/v1/index/getInfoByRoom";
const ROOM_INIT: &str = "/room/v1/Room/room_init";
const BATCH_STATUS: &str = "/room/v1/Room/get_status_info_by_uids";

/// Status checks since `t`: a room's own (getInfoByRoom) and batches of idle rooms.
fn status_checks(api: &PlatformServer, t: Instant) -> usize {
    api.count(ROOM_INFO, t) + api.count(BATCH_STATUS, t)
}
const NAV: &str = "/x/web-interface/nav";

/// The daemon's `/api/status` once `cond` holds for it (polled every 100 ms), or the last one.
async fn status_when(
    dir: &Path,
    timeout: Duration,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> (bool, serde_json::Value) {
    let until = Instant::now() + timeout;
    loop {
        let v: serde_json::Value =
            serde_json::from_str(&control_get(dir, "/api/status").await).unwrap();
        if cond(&v) {
            return (true, v);
        }
        if Instant::now() >= until {
            return (false, v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `liverec_backoffs_total{platform="<platform>"}` from the daemon's metrics (0 when absent).
async fn backoffs(dir: &Path, platform: &str) -> u64 {
    let prefix = format!("liverec_backoffs_total{{platform=\"{platform}\"}} ");
    control_get(dir, "/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_signature_records_through_the_unsigned_endpoints_without_pausing_bilibili() {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, finite(20.0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    // No batch endpoints: every poll is the room's own, through the signed endpoints and
    // their stand-ins.
    api.bili_refuse_batch(Some(""));
    // Every signed call is refused with -352: getInfoByRoom with the bare form,
    // getRoomPlayInfo with a voucher. The unsigned endpoints answer.
    api.bili_refuse_signed_info(Some("error-352-bare.json"));
    api.bili_refuse_signed_play(Some("error-352-voucher.json"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/7734200"),
        &api_base("bilibili", &api),
    );
    let d = Daemon::start(dir.path(), "refused", &cfg);
    let t0 = Instant::now() - Duration::from_secs(600);
    assert!(
        served_completely(&streams, BILI_PATH, 1).await,
        "{}",
        d.log_text()
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    let rec = dir.path().join("rec/bili");
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec, ".flv").is_empty()
            && files(&rec, ".part").is_empty())
        .await,
        "{}",
        d.log_text()
    );
    // Offline now, polled through room_init at the usual pace: no pause.
    let t1 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || api.count(ROOM_INIT, t1) >= 3).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    // nav was asked again once when the signed calls started being refused; the refused
    // signed calls were not repeated at every poll.
    assert_eq!(api.count(NAV, t0), 2, "{log}");
    assert_eq!(api.count_query(ROOM_INFO, "w_rid=", t0), 2, "{log}");
    assert_eq!(api.count_query(PLAY_INFO, "w_rid=", t0), 1, "{log}");
    assert!(
        api.count(PLAY_INFO, t0) >= 2,
        "the unsigned getRoomPlayInfo answered"
    );
    assert_eq!(backoffs(dir.path(), "bilibili").await, 0, "{log}");
    assert!(!log.contains("backing off"), "{log}");
    // One line per endpoint that fell back, not one per poll.
    assert_eq!(
        log.matches("refused the wbi-signed call").count(),
        2,
        "{log}"
    );
    assert!(
        log.contains("getInfoByRoom refused the wbi-signed call (code -352, fresh keys too)"),
        "{log}"
    );
    assert!(
        log.contains("getRoomPlayInfo refused the wbi-signed call (code -352 \"风控校验失败\")"),
        "{log}"
    );
    let served = streams.bodies(BILI_PATH);
    check_recording(&rec, served, &log);

    // The unsigned stand-in is refused too: that is risk control, and Bilibili pauses.
    api.bili_refuse_room_init(Some("error-352-bare.json"));
    let mut paused = false;
    for _ in 0..100 {
        if backoffs(dir.path(), "bilibili").await >= 1 {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(paused, "{}", d.log_text());
    // The line naming the refused call is the effect under test here; the limiter counts the
    // backoff a moment before it writes that line, so wait for it.
    assert!(
        d.wait_log(
            "room_init (unsigned fallback): code -352 (risk-control check)",
            Duration::from_secs(5)
        )
        .await,
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_quality_is_warned_about_once_per_room() {
    let capped = "live-bvc/7734200/live_2500.flv";
    let streams = StreamServer::start().await;
    streams.set(capped, finite(20.0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_bili_shape(
        LONG_ID,
        BiliShape {
            cap_qn: Some(250),
            ..BiliShape::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/7734200"),
        &api_base("bilibili", &api),
    );
    let d = Daemon::start(dir.path(), "capped", &cfg);
    let t0 = Instant::now() - Duration::from_secs(600);
    assert!(
        served_completely(&streams, capped, 1).await,
        "{}",
        d.log_text()
    );
    // The stream is over but the room still says live: the daemon reconnects, asking for
    // stream URLs again each time, and polls.
    assert!(
        wait_until(Duration::from_secs(30), || api.count(PLAY_INFO, t0) >= 4).await,
        "{}",
        d.log_text()
    );
    end_live(&api, &d).await;
    let log = d.log_text();
    let warned = "bilibili: asked for qn 10000 原画, Bilibili offers 250 超清: log in (cookie_file) for the source quality";
    assert_eq!(log.matches(warned).count(), 1, "{log}");
    assert_eq!(
        log.matches("bilibili: no login cookie (or it expired)")
            .count(),
        1,
        "{log}"
    );
    // The WARN names its room (the room's span).
    let line = log.lines().find(|l| l.contains(warned)).unwrap();
    assert!(line.contains("bilibili:7734200"), "{line}");
    // Capped and anonymous: asking for more cannot help, so nothing but qn 10000 is asked.
    assert_eq!(
        api.count(PLAY_INFO, t0),
        api.count_query(PLAY_INFO, "qn=10000", t0),
        "{log}"
    );
    let served = streams.bodies(capped);
    check_recording(&dir.path().join("rec/bili"), served, &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drm_live_is_not_recorded_and_says_why() {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, finite(20.0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_bili_shape(
        LONG_ID,
        BiliShape {
            special_types: vec![203],
            ..BiliShape::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/7734200"),
        &api_base("bilibili", &api),
    );
    let d = Daemon::start(dir.path(), "drm", &cfg);
    let (ok, status) = status_when(dir.path(), Duration::from_secs(20), |v| {
        v["rooms"][0]["state"] == "unrecordable"
    })
    .await;
    assert!(ok, "{status}\n{}", d.log_text());
    let why = status["rooms"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        why.contains("a DRM-protected \"charging\" live (all_special_types has 203)"),
        "{why}"
    );
    // Nothing was asked of the CDN, and nothing was written.
    assert_eq!(
        streams
            .stats(BILI_PATH)
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    let rec = dir.path().join("rec");
    assert!(files(&rec, ".part").is_empty() && files(&rec, ".flv").is_empty());
    // `probe` says the same, and exits 0: the room's status is known.
    let cfg_path = dir.path().join("drm.toml");
    let (code, out, err) = probe(&[
        "https://live.bilibili.com/7734200",
        "-c",
        cfg_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    for want in [
        "special   a DRM-protected \"charging\" live",
        "streams   none: not recordable: a DRM-protected",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drm_live_shows_as_unrecordable_in_the_status() {
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_bili_shape(
        LONG_ID,
        BiliShape {
            special_types: vec![203],
            ..BiliShape::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/7734200"),
        &api_base("bilibili", &api),
    );
    let d = Daemon::start(dir.path(), "drm-state", &cfg);
    let (ok, status) = status_when(dir.path(), Duration::from_secs(20), |v| {
        v["rooms"][0]["state"] == "unrecordable"
    })
    .await;
    assert!(ok, "{status}\n{}", d.log_text());
    let room = &status["rooms"][0];
    let reason = format!("{}{}", room["detail"], room["last_error"]);
    assert!(reason.contains("all_special_types has 203"), "{status}");
    assert!(files(&dir.path().join("rec"), ".part").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codecs_avc_hevc_records_the_hevc_only_4k_stream() {
    let hevc = "live-bvc/7734200/live_prohevc_4000.flv";
    let streams = StreamServer::start().await;
    // The media fixtures are H.264 only: which URL the daemon opened tells the codec. Both
    // streams would play; the HEVC one keeps flowing, so one connection records it all.
    streams.set(hevc, Answer::flv(FIXTURE, 1.0, 0));
    streams.set(BILI_PATH, Answer::flv(FIXTURE, 1.0, 0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_bili_shape(
        LONG_ID,
        BiliShape {
            hevc_4k_path: Some(hevc.into()),
            ..BiliShape::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let rooms = format!(
        "{}codecs = [\"avc\", \"hevc\"]\n",
        room("bili", "https://live.bilibili.com/7734200")
    );
    let d = Daemon::start(
        dir.path(),
        "hevc",
        &config(dir.path(), &rooms, &api_base("bilibili", &api)),
    );
    let t0 = Instant::now() - Duration::from_secs(600);
    let rec = dir.path().join("rec/bili");
    assert!(
        wait_until(Duration::from_secs(20), || part_size(&rec) > 50_000).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    let requests = |p: &str| {
        streams
            .stats(p)
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    // Asked at 10000 first, then again at 20000, which only HEVC offers; the AVC stream at
    // 10000 was never opened.
    assert!(api.count_query(PLAY_INFO, "qn=20000", t0) >= 1, "{log}");
    assert_eq!(requests(hevc), 1, "{log}");
    assert_eq!(requests(BILI_PATH), 0, "{log}");
    assert!(
        !log.contains("Bilibili offers"),
        "4K HEVC is no capped quality:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_id_and_its_long_id_are_one_room() {
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 0));
    // No batch endpoints: each room is resolved and polled on its own, so the requests show
    // how many rooms run.
    api.bili_refuse_batch(Some(""));
    let dir = tempfile::tempdir().unwrap();
    let rooms = format!(
        "{}{}",
        room("short", "https://live.bilibili.com/77"),
        room("long", "https://live.bilibili.com/7734200?spm_id_from=x")
    );
    let d = Daemon::start(
        dir.path(),
        "dup",
        &config(dir.path(), &rooms, &api_base("bilibili", &api)),
    );
    // Both ids were resolved; one room was started.
    assert!(
        wait_until(Duration::from_secs(15), || api
            .count(ROOM_INIT, since_start())
            >= 2)
        .await,
        "{}",
        d.log_text()
    );
    let (ok, status) = status_when(dir.path(), Duration::from_secs(10), |v| {
        v["rooms"].as_array().is_some_and(|r| r.len() == 1)
    })
    .await;
    assert!(ok, "{status}\n{}", d.log_text());
    assert_eq!(status["rooms"][0]["key"], "bilibili:7734200");
    // One room polls: its status requests come at the pace of one room (every second, where
    // two rooms would ask twice as often).
    let t0 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || api.count(ROOM_INFO, t0) >= 5).await,
        "{}",
        d.log_text()
    );
    let polls: Vec<Instant> = api
        .requests()
        .iter()
        .filter(|(t, p)| *t >= t0 && p == ROOM_INFO)
        .map(|(t, _)| *t)
        .take(5)
        .collect();
    let span = polls[4] - polls[0];
    assert!(span >= Duration::from_millis(3000), "5 polls in {span:?}");
    let log = d.log_text();
    assert_eq!(
        log.matches("resolves to bilibili:7734200, which rooms[")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("already records; ignored"), "{log}");
}

fn since_start() -> Instant {
    Instant::now() - Duration::from_secs(600)
}

fn probe(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .arg("probe")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_prints_the_key_status_and_every_source() {
    let streams = StreamServer::start().await;
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_douyin(
        WEB_RID,
        DouyinRoom {
            live: true,
            title: "周末测试场".into(),
            nickname: "测试主播乙".into(),
            session: "7300000000000000099".into(),
            sec_uid: "MS4wLjABAAAAtest".into(),
            flv_url: streams.url("douyin/or4.flv"),
            ..Default::default()
        },
    );
    api.set_share(
        "b23.tv/AbC1234",
        "https://live.bilibili.com/77?broadcast_type=0",
    );
    api.set_share(
        "b23.tv/Video12",
        "https://www.bilibili.com/video/BV1xx411c7mD",
    );
    api.set_share("b23.tv/Loop123", "https://b23.tv/Loop123");
    api.set_share(
        "v.douyin.com/iRNBho6u",
        "https://webcast.amemv.com/douyin/webcast/reflow/7300000000000000099?u_code=x&sec_user_id=MS4wLjABAAAAtest",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("probe.toml");
    std::fs::write(
        &cfg_path,
        config(
            dir.path(),
            "",
            // Douyin's default budget (one request a second) would make each probe take
            // seconds; the calls made are the same.
            &format!(
                "{}{}requests_per_second = 50\nburst = 20\n",
                api_base("bilibili", &api),
                api_base("douyin", &api)
            ),
        ),
    )
    .unwrap();
    let c = cfg_path.to_str().unwrap();

    let (code, out, err) = probe(&["https://live.bilibili.com/77", "-c", c]);
    assert_eq!(code, 0, "{out}\n{err}");
    for want in [
        "key       bilibili:7734200",
        "live      yes",
        "title     晚间测试直播",
        "streamer  测试主播甲",
        "session   1763712000",
        "flv  flv 10000 原画 avc",
        "hls  hls-fmp4 10000 原画 avc",
        "hls  hls-ts 10000 原画 avc",
        &format!("http://{}/{BILI_PATH}?…", streams.addr),
        "--show-urls",
        // What the platform makes of the room, for a bug report.
        "login     anonymous",
        "quality   wanted 10000 原画, offered 10000 原画",
        "special   none",
        "signature ",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("sign="),
        "tokens are hidden by default:\n{out}"
    );
    // The order liverec tries: the P2P node last among the FLV hosts.
    let flv_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" flv  flv 10000"))
        .collect();
    assert_eq!(flv_lines.len(), 3, "{out}");
    assert!(flv_lines[2].contains("127.0.0.1:9"), "{out}");
    // Every other quality on offer, each asked for separately.
    assert!(out.contains("also on offer:"), "{out}");
    assert!(out.contains("flv 400 蓝光 avc"), "{out}");
    assert!(out.contains("flv 150 高清 avc"), "{out}");

    let (code, out, _) = probe(&["https://live.bilibili.com/77", "-c", c, "--show-urls"]);
    assert_eq!(code, 0);
    assert!(out.contains("sign="), "{out}");

    // A share link resolves to the same key; links to videos and loops are refused.
    let (code, out, err) = probe(&["https://b23.tv/AbC1234", "-c", c]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("key       bilibili:7734200"), "{out}");
    let (code, _, err) = probe(&["https://b23.tv/Video12", "-c", c]);
    assert_eq!(code, 1);
    assert!(err.contains("not a live room"), "{err}");
    let (code, _, err) = probe(&["https://b23.tv/Loop123", "-c", c]);
    assert_eq!(code, 1);
    assert!(err.contains("loop"), "{err}");
    let (code, _, err) = probe(&["https://live.bilibili.com/999", "-c", c]);
    assert_eq!(code, 1);
    assert!(err.contains("not found") && err.contains("60004"), "{err}");

    // Douyin, through a v.douyin.com share link to the app's reflow page: the signed reflow
    // API names the room (the streamer's profile page is not needed).
    let before = Instant::now();
    let (code, out, err) = probe(&["https://v.douyin.com/iRNBho6u/", "-c", c]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        api.count("/webcast.amemv.com/webcast/room/reflow/info/", before),
        1
    );
    assert_eq!(
        api.count("/www.douyin.com/user/MS4wLjABAAAAtest", before),
        0
    );
    assert_eq!(api.unsigned_calls(), 0, "every Douyin call was signed");
    for want in [
        "key       douyin:61234567890",
        "live      yes",
        "title     周末测试场",
        "streamer  测试主播乙",
        "session   7300000000000000099",
        "flv  origin h264",
        &format!("{}?…", streams.url("douyin/or4.flv")),
        "flv  hd h264",
        // What Douyin makes of the room, under Bilibili's labels.
        "login     anonymous: no cookie configured",
        "quality   wanted origin, offered origin, hd, sd, ld, md; records origin flv first",
        "special   none",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }

    // The same link once the live has ended: the reflow API still names its room.
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let (code, out, err) = probe(&["https://v.douyin.com/iRNBho6u/", "-c", c]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("key       douyin:61234567890"), "{out}");
    assert!(out.contains("live      no"), "{out}");
    api.edit_douyin(WEB_RID, |r| r.live = true);

    // web/enter answers only empty bodies: the room page stands in, no backoff.
    api.douyin_page_only(true);
    let before = Instant::now();
    let (code, out, err) = probe(&[&format!("https://live.douyin.com/{WEB_RID}"), "-c", c]);
    assert_eq!(code, 0, "{out}\n{err}");
    for want in [
        "key       douyin:61234567890",
        "live      yes",
        "title     周末测试场",
        "streamer  测试主播乙",
        &format!("{}?…", streams.url("douyin/or4.flv")),
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!err.contains("backing off"), "{err}");
    let endpoint = out
        .lines()
        .find(|l| l.starts_with("endpoint"))
        .unwrap_or_default();
    assert!(
        endpoint.contains("room page"),
        "which endpoint answered:\n{out}"
    );
    assert!(
        api.count(&format!("/{WEB_RID}"), before) >= 1,
        "the page was read"
    );
    assert_eq!(api.challenges(), 0, "the page was asked with an __ac_nonce");
    api.douyin_page_only(false);

    // A captcha page where the API should be: risk control, exit 1 with the reason.
    api.douyin_fault(Some(DyFault::Captcha));
    let (code, out, err) = probe(&[&format!("https://live.douyin.com/{WEB_RID}"), "-c", c]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("captcha"), "{out}\n{err}");
    api.douyin_fault(None);

    // Offline is an answer, not an error.
    api.edit_bili(LONG_ID, |r| r.live_status = 2);
    let (code, out, _) = probe(&["https://live.bilibili.com/7734200", "-c", c]);
    assert_eq!(code, 0);
    assert!(out.contains("live      no"), "{out}");
    assert!(
        out.contains("streams   none: the room is not live"),
        "{out}"
    );

    // Risk control: exit 1 with the reason.
    api.set_mode(Mode::Status {
        code: 412,
        retry_after: None,
    });
    let (code, out, err) = probe(&["https://live.bilibili.com/7734200", "-c", c]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("HTTP 412"), "{err}");
}

#[test]
fn check_refuses_a_cookie_that_is_no_header_value() {
    let dir = tempfile::tempdir().unwrap();
    // A browser export in the Netscape format, where one Cookie header line belongs.
    std::fs::write(
        dir.path().join("cookies.txt"),
        "# Netscape HTTP Cookie File\n.bilibili.com\tTRUE\t/\tFALSE\t0\tSESSDATA\tsecret-value\n",
    )
    .unwrap();
    let path = dir.path().join("cookie.toml");
    std::fs::write(
        &path,
        "[platforms.bilibili]\ncookie_file = \"cookies.txt\"\n[[rooms]]\nurl = \"https://live.bilibili.com/7734200\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("platforms.bilibili.cookie_file: not usable as a Cookie header"),
        "{err}"
    );
    assert!(!err.contains("secret-value"), "{err}");
}

/// A live Bilibili room of this shape is reported as not recordable, with `reason`, and left
/// alone: polled on, no session, no file, no request to the CDN.
async fn a_bilibili_live_is_unrecordable(name: &str, shape: BiliShape, reason: &str) {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, finite(20.0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.set_bili_shape(LONG_ID, shape);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/7734200"),
        &api_base("bilibili", &api),
    );
    let d = Daemon::start(dir.path(), name, &cfg);
    let (ok, status) = status_when(dir.path(), Duration::from_secs(20), |v| {
        v["rooms"][0]["state"] == "unrecordable"
    })
    .await;
    assert!(ok, "{status}\n{}", d.log_text());
    let detail = status["rooms"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(reason), "{name}: {detail}");
    // Polled on (in batches: the per-room check of this broadcast said why), and still left
    // alone.
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || status_checks(&api, t) >= 3).await,
        "{}",
        d.log_text()
    );
    let (ok, status) = status_when(dir.path(), Duration::from_secs(1), |v| {
        v["rooms"][0]["state"] == "unrecordable"
    })
    .await;
    assert!(ok, "{status}");
    assert_eq!(
        streams
            .stats(BILI_PATH)
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "{name}: the CDN was asked"
    );
    assert!(
        files(&dir.path().join("rec"), "").is_empty(),
        "{name}: a file was written"
    );
    let evs = events(dir.path()).await;
    let failed: Vec<&serde_json::Value> = evs
        .iter()
        .filter(|e| e["type"] == "recording_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{name}: reported once: {evs:#?}");
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("not recordable: ") && e.contains(reason)),
        "{evs:#?}"
    );
    assert!(
        evs.iter().all(|e| e["type"] != "live_start"),
        "{name}: no session: {evs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_only_live_is_not_recorded_and_says_why() {
    let shape = BiliShape {
        guard_only: true,
        ..BiliShape::default()
    };
    a_bilibili_live_is_unrecordable("guard", shape, "a guard-only live").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_live_is_not_recorded_and_says_why() {
    let shape = BiliShape {
        is_sp: true,
        ..BiliShape::default()
    };
    a_bilibili_live_is_unrecordable("paid", shape, "a paid live").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_room_is_not_recorded_and_says_why() {
    let shape = BiliShape {
        password: true,
        ..BiliShape::default()
    };
    a_bilibili_live_is_unrecordable("password", shape, "a password-protected room").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_cookie_is_said_once() {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, finite(20.0));
    let api = PlatformServer::start().await;
    api.set_bili(LONG_ID, bili_room(&streams, 1));
    api.bili_login(true);
    // Signed getInfoByRoom calls are refused: nav is asked again for fresh keys, and says the
    // same again.
    api.bili_refuse_signed_info(Some("error-352-bare.json"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("bili", "https://live.bilibili.com/7734200"),
        &format!(
            "{}cookie = \"SESSDATA=fake-sessdata-value; bili_jct=x\"\n",
            api_base("bilibili", &api)
        ),
    );
    let d = Daemon::start(dir.path(), "login", &cfg);
    let t0 = Instant::now() - Duration::from_secs(600);
    assert!(
        served_completely(&streams, BILI_PATH, 1).await,
        "{}",
        d.log_text()
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    assert!(
        wait_until(Duration::from_secs(20), || api.count(NAV, t0) >= 2).await,
        "{}",
        d.log_text()
    );
    let key = "bilibili:7734200";
    let mut ended = false;
    for _ in 0..200 {
        if events(dir.path())
            .await
            .iter()
            .any(|e| e["type"] == "live_end" && e["room"]["key"] == key)
        {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "{}", d.log_text());
    let log = d.log_text();
    assert_eq!(
        log.matches("bilibili: logged in as 录播测试号 (uid 271828")
            .count(),
        1,
        "{log}"
    );
    assert!(!log.contains("no login cookie"), "{log}");
    assert!(!log.contains("fake-sessdata-value"), "{log}");
    // Logged in: not capped, the source quality was recorded.
    assert!(!log.contains("Bilibili offers"), "{log}");
    let served = streams.bodies(BILI_PATH);
    check_recording(&dir.path().join("rec/bili"), served, &log);
}
