//! Douyin end to end, as it answers in 2026: the real binary against the fake Douyin API
//! (which refuses unsigned calls) and a local stream server, both on 127.0.0.1:0.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, config, control_get, files, room, wait_until};
use crate::support::flv;
use crate::support::media;
use crate::support::platform_server::{DouyinRoom, DyFault, DyKind, PlatformServer};
use crate::support::server::{Answer, StreamServer};
use serde_json::Value;

const FIXTURE: &str = "flv_640x360_20s.flv";
const WEB_RID: &str = "61234567890";
const SEC_UID: &str = "MS4wLjABAAAAtestSecUid_000000000000000000000000000000000000000";
const ENTER: &str = "/webcast/room/web/enter/";
const REFLOW: &str = "/webcast.amemv.com/webcast/room/reflow/info/";

fn douyin_section(api: &PlatformServer, extra: &str) -> String {
    format!("[platforms.douyin]\napi_base = \"{}\"\n{extra}", api.base())
}

/// A finite live: `speed` x real time, once, then the stream path answers 404.
fn finite(speed: f64) -> Answer {
    let mut a = Answer::flv(FIXTURE, speed, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

fn live_room(flv_url: String, session: &str, sec_uid: &str) -> DouyinRoom {
    DouyinRoom {
        live: true,
        title: "周末测试场".into(),
        nickname: "测试主播乙".into(),
        session: session.into(),
        sec_uid: sec_uid.into(),
        flv_url,
        ..Default::default()
    }
}

fn since_start() -> Instant {
    Instant::now() - Duration::from_secs(600)
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

/// The recording holds every frame served, once, in order.
fn check_recording(rec: &Path, served: Vec<Vec<u8>>, log: &str) {
    assert!(
        files(rec, ".part").is_empty(),
        "a .part was left: {:?}",
        files(rec, "")
    );
    let mut done = files(rec, ".flv");
    done.sort_by_key(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok());
    assert!(!done.is_empty(), "no recording:\n{log}");
    let got = flv::recorded_frames(&done);
    let want: Vec<(u8, Vec<u8>)> = served.iter().flat_map(|b| flv::frames_of(b)).collect();
    assert_eq!(got.len(), want.len(), "every served frame, once:\n{log}");
    assert!(got == want, "recorded frames differ from the served ones");
}

/// The daemon's recent events (`GET /api/events`) about room `key`, as `type` names.
async fn event_types(dir: &Path, key: &str) -> Vec<String> {
    let body = control_get(dir, "/api/events").await;
    let list: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    list.iter()
        .filter(|e| e["room"]["key"] == key)
        .filter_map(|e| e["type"].as_str().map(str::to_string))
        .collect()
}

/// The daemon's recent events of type `kind` about room `key`.
async fn events_of(dir: &Path, key: &str, kind: &str) -> Vec<Value> {
    let body = control_get(dir, "/api/events").await;
    let list: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    list.into_iter()
        .filter(|e| e["room"]["key"] == key && e["type"] == kind)
        .collect()
}

/// Waits until the daemon has raised an event of type `kind` for room `key`.
async fn wait_event(dir: &Path, key: &str, kind: &str, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    loop {
        if event_types(dir, key).await.iter().any(|t| t == kind) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `liverec_backoffs_total{platform="douyin"}` from the daemon's metrics (0 when absent).
async fn douyin_backoffs(dir: &Path) -> u64 {
    control_get(dir, "/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("liverec_backoffs_total{platform=\"douyin\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Nothing secret in a log: no cookie value, no signed query.
fn assert_no_secrets(log: &str) {
    for secret in [
        "ttwid=1",
        "a_bogus=",
        "msToken=",
        "odin_ttid=",
        "__ac_nonce=",
        "sign=",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_douyin_live_is_recorded_with_a_registered_ttwid_and_its_own_user_agent() {
    let streams = StreamServer::start().await;
    streams.set("dy/or4.flv", finite(5.0));
    let api = PlatformServer::start().await;
    // The home page hands out no ttwid: the register endpoint must.
    api.douyin_home_without_ttwid(true);
    api.set_douyin(
        WEB_RID,
        live_room(streams.url("dy/or4.flv"), "7300000000000000099", SEC_UID),
    );
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
              Chrome/150.0.0.0 Safari/537.36 Edg/150.0.0.0";
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
        &douyin_section(&api, &format!("user_agent = \"{ua}\"\n")),
    );
    let d = Daemon::start(dir.path(), "signed", &cfg);
    assert!(
        served_completely(&streams, "dy/or4.flv", 1).await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let key = format!("douyin:{WEB_RID}");
    assert!(
        wait_event(dir.path(), &key, "live_end", Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    check_recording(
        &dir.path().join("rec/dy"),
        streams.bodies("dy/or4.flv"),
        &log,
    );
    // Every call carried a_bogus, msToken and the browser_version of the UA it was sent with
    // (the fake answers anything else with an empty body).
    assert_eq!(api.unsigned_calls(), 0, "{log}");
    assert!(api.count(ENTER, since_start()) >= 2, "{log}");
    assert_eq!(api.last_douyin_ua(), ua);
    assert!(
        api.count("/ttwid.bytedance.com/ttwid/union/register/", since_start()) >= 1,
        "{log}"
    );
    assert_eq!(douyin_backoffs(dir.path()).await, 0, "{log}");
    assert_no_secrets(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_code_30003_ends_the_session() {
    let streams = StreamServer::start().await;
    streams.set("dy/or4.flv", finite(5.0));
    let api = PlatformServer::start().await;
    api.set_douyin(
        WEB_RID,
        live_room(streams.url("dy/or4.flv"), "7300000000000000099", SEC_UID),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
        &douyin_section(&api, ""),
    );
    let d = Daemon::start(dir.path(), "ended", &cfg);
    let key = format!("douyin:{WEB_RID}");
    assert!(
        wait_event(dir.path(), &key, "live_start", Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    // Once its stream is being pulled, the live ends the way Douyin says it in 2026:
    // status_code 30003, no room in the answer.
    assert!(
        wait_until(Duration::from_secs(15), || {
            streams
                .stats("dy/or4.flv")
                .requests
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        })
        .await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| {
        r.live = false;
        r.ended_as_30003 = true;
    });
    assert!(
        served_completely(&streams, "dy/or4.flv", 1).await,
        "{}",
        d.log_text()
    );
    // Not a zombie session that reconnects forever: it ends within offline_grace.
    assert!(
        wait_event(dir.path(), &key, "live_end", Duration::from_secs(15)).await,
        "{}",
        d.log_text()
    );
    // Ended as an answer says "offline", not for an unknown status.
    let ends = events_of(dir.path(), &key, "live_end").await;
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert!(ends[0]["error"].is_null(), "{}", ends[0]);
    let log = d.log_text();
    check_recording(
        &dir.path().join("rec/dy"),
        streams.bodies("dy/or4.flv"),
        &log,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_444_pauses_douyin_polling_until_the_block_lifts() {
    let api = PlatformServer::start().await;
    let mut rooms = String::new();
    for (i, id) in ["7001", "7002"].iter().enumerate() {
        let mut r = live_room(String::new(), &format!("73000000000000000{i}"), "");
        r.live = false;
        api.set_douyin(id, r);
        rooms.push_str(&room(
            &format!("idle{i}"),
            &format!("https://live.douyin.com/{id}"),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "block",
        &config(dir.path(), &rooms, &douyin_section(&api, "")),
    );
    // Both rooms poll every second.
    let t0 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || api.count(ENTER, t0) >= 4).await,
        "{}",
        d.log_text()
    );
    // Blocked for 3 s: HTTP 444 with an HTML body. (A real 444 has no Retry-After, and the
    // first pause is 60 s; this one says 3 s so that the test sees the end of it.)
    api.douyin_fault_for(
        DyFault::Http444 {
            retry_after: Some(3),
        },
        3,
    );
    assert!(
        wait_until(Duration::from_secs(10), || api
            .douyin_fault_start()
            .is_some())
        .await,
        "{}",
        d.log_text()
    );
    let start = api.douyin_fault_start().unwrap();
    let end = start + Duration::from_secs(3);
    // Polling resumes once the block is over...
    assert!(
        wait_until(Duration::from_secs(15), || api.count(ENTER, end) >= 3).await,
        "polling did not resume:\n{}",
        d.log_text()
    );
    // ...and nothing was asked while it lasted: only requests already on their way when the
    // first refusal came (two rooms polling every second would have asked ~5 times).
    let during: Vec<Duration> = api
        .requests()
        .iter()
        .filter(|(t, p)| p.starts_with(ENTER) && *t > start && *t < end)
        .map(|(t, _)| t.duration_since(start))
        .collect();
    assert!(
        during.iter().all(|d| *d < Duration::from_millis(500)),
        "polling went on during the pause: {during:?}\n{}",
        d.log_text()
    );
    // The first request after the block came at its end.
    let first_after = api
        .requests()
        .iter()
        .find(|(t, p)| p.starts_with(ENTER) && *t >= end)
        .map(|(t, _)| t.duration_since(end))
        .unwrap();
    assert!(
        first_after < Duration::from_millis(1500),
        "asked again {first_after:?} after the block ended\n{}",
        d.log_text()
    );
    // One backoff, and no room was taken for offline or ended.
    assert_eq!(douyin_backoffs(dir.path()).await, 1);
    for id in ["7001", "7002"] {
        assert!(
            event_types(dir.path(), &format!("douyin:{id}"))
                .await
                .is_empty()
        );
    }
}

/// The first request after a pause finds out whether the block has lifted. When web/enter
/// answers it like risk control (a captcha; an empty body, with the user's own ttwid so that no
/// new one is fetched), the room page decides; the page request must not wait for the verdict
/// of the web/enter request that sent it there (which once stalled every Douyin request for
/// good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_enter_refusing_the_first_request_after_a_pause_does_not_stall_douyin() {
    let api = PlatformServer::start().await;
    let mut r = live_room(String::new(), "7300000000000000099", SEC_UID);
    r.live = false;
    api.set_douyin(WEB_RID, r);
    let dir = tempfile::tempdir().unwrap();
    // The user's cookie holds the ttwid the fake accepts.
    let d = Daemon::start(
        dir.path(),
        "stall",
        &config(
            dir.path(),
            &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
            &douyin_section(&api, "cookie = \"ttwid=1%7Cfake-ttwid-0; sessionid=S\"\n"),
        ),
    );
    let t0 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || api.count(ENTER, t0) >= 2).await,
        "{}",
        d.log_text()
    );
    let page = format!("/{WEB_RID}");
    for (round, refusal) in ["captcha", "empty body"].into_iter().enumerate() {
        // HTTP 444 for 2 s (Retry-After: 2), then web/enter refuses: the first request after
        // the pause meets the refusal.
        match refusal {
            "captcha" => api.douyin_fault(Some(DyFault::CaptchaOnApi)),
            _ => api.douyin_page_only(true),
        }
        api.block_for(444, 2);
        assert!(
            wait_until(Duration::from_secs(10), || api.block_end().is_some()).await,
            "{refusal}: {}",
            d.log_text()
        );
        let end = api.block_end().unwrap();
        // After the pause: web/enter is asked and refuses, and the room page is read.
        assert!(
            wait_until(Duration::from_secs(15), || api.count(ENTER, end) >= 1
                && api.count(&page, end) >= 1)
            .await,
            "{refusal}: the room page was never asked for after the pause:\n{}",
            d.log_text()
        );
        // The refusal clears: web/enter is asked at every poll again.
        api.douyin_fault(None);
        api.douyin_page_only(false);
        let cleared = Instant::now();
        assert!(
            wait_until(Duration::from_secs(15), || api.count(ENTER, cleared) >= 3).await,
            "{refusal}: Douyin polling stalled:\n{}",
            d.log_text()
        );
        // Only the 444 paused the platform: the room page answered for the refused web/enter.
        assert_eq!(douyin_backoffs(dir.path()).await, round as u64 + 1);
    }
    let key = format!("douyin:{WEB_RID}");
    let status: Value =
        serde_json::from_str(&control_get(dir.path(), "/api/status").await).unwrap();
    assert_eq!(status["rooms"][0]["state"], "idle", "{status}");
    assert!(event_types(dir.path(), &key).await.is_empty());
    assert_eq!(api.challenges(), 0);
    assert_no_secrets(&d.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_hidden_from_this_viewer_is_not_recorded() {
    let streams = StreamServer::start().await;
    streams.set("dy/or4.flv", Answer::flv(FIXTURE, 1.0, 0));
    let api = PlatformServer::start().await;
    let mut r = live_room(streams.url("dy/or4.flv"), "7300000000000000099", SEC_UID);
    r.kind = DyKind::Hidden;
    api.set_douyin(WEB_RID, r);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "hidden",
        &config(
            dir.path(),
            &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
            &douyin_section(&api, ""),
        ),
    );
    let t0 = Instant::now();
    assert!(
        wait_until(Duration::from_secs(15), || api.count(ENTER, t0) >= 3).await,
        "{}",
        d.log_text()
    );
    // Polled and answered, and never recorded: no session, no file, no stream request.
    let key = format!("douyin:{WEB_RID}");
    let events = event_types(dir.path(), &key).await;
    assert!(
        !events.iter().any(|t| t == "live_start"),
        "{events:?}\n{}",
        d.log_text()
    );
    assert!(files(&dir.path().join("rec"), "").is_empty());
    assert!(streams.bodies("dy/or4.flv").is_empty());
    // The room says why in `status`, and one `recording_failed` event says it once.
    let status: Value =
        serde_json::from_str(&control_get(dir.path(), "/api/status").await).unwrap();
    let room = &status["rooms"][0];
    assert_eq!(room["state"], "unrecordable", "{status}");
    assert!(
        room["detail"]
            .as_str()
            .is_some_and(|d| d.contains("你不在主播设置的可见范围内")),
        "{status}"
    );
    let failed = events.iter().filter(|t| *t == "recording_failed").count();
    assert_eq!(failed, 1, "{events:?}");
    assert_eq!(douyin_backoffs(dir.path()).await, 0, "{}", d.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_page_stands_in_with_an_ac_nonce_when_web_enter_is_refused() {
    let streams = StreamServer::start().await;
    streams.set("dy/or4.flv", finite(5.0));
    let api = PlatformServer::start().await;
    api.set_douyin(
        WEB_RID,
        live_room(streams.url("dy/or4.flv"), "7300000000000000099", SEC_UID),
    );
    api.douyin_page_only(true);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "page",
        &config(
            dir.path(),
            &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
            &douyin_section(&api, ""),
        ),
    );
    assert!(
        served_completely(&streams, "dy/or4.flv", 1).await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let key = format!("douyin:{WEB_RID}");
    assert!(
        wait_event(dir.path(), &key, "live_end", Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    check_recording(
        &dir.path().join("rec/dy"),
        streams.bodies("dy/or4.flv"),
        &log,
    );
    assert!(
        api.count(&format!("/{WEB_RID}"), since_start()) >= 2,
        "{log}"
    );
    assert!(api.empty_answers() >= 2, "web/enter was refused");
    assert_eq!(api.challenges(), 0, "every page request had an __ac_nonce");
    assert_eq!(douyin_backoffs(dir.path()).await, 0, "{log}");
    assert_no_secrets(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_without_a_web_stream_url_is_recorded_through_the_reflow_api() {
    let streams = StreamServer::start().await;
    streams.set("dy/or4.flv", finite(5.0));
    let api = PlatformServer::start().await;
    let mut r = live_room(streams.url("dy/or4.flv"), "7300000000000000099", SEC_UID);
    r.kind = DyKind::NoStreamUrl;
    api.set_douyin(WEB_RID, r);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "reflow",
        &config(
            dir.path(),
            &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
            &douyin_section(&api, ""),
        ),
    );
    assert!(
        served_completely(&streams, "dy/or4.flv", 1).await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let key = format!("douyin:{WEB_RID}");
    assert!(
        wait_event(dir.path(), &key, "live_end", Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    check_recording(
        &dir.path().join("rec/dy"),
        streams.bodies("dy/or4.flv"),
        &log,
    );
    assert!(api.count(REFLOW, since_start()) >= 1, "{log}");
    assert_eq!(api.unsigned_calls(), 0, "the reflow call was signed too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_link_and_an_id_with_dots_are_recorded_and_a_profile_share_is_the_same_room() {
    const DOTTED: &str = "yyds.tv-01";
    const SEC_B: &str = "MS4wLjABAAAAstreamerB";
    let streams = StreamServer::start().await;
    streams.set("dy/a.flv", finite(5.0));
    streams.set("dy/b.flv", finite(5.0));
    let api = PlatformServer::start().await;
    api.set_douyin(
        WEB_RID,
        live_room(streams.url("dy/a.flv"), "7300000000000000099", SEC_UID),
    );
    api.set_douyin(
        DOTTED,
        live_room(streams.url("dy/b.flv"), "7300000000000000077", SEC_B),
    );
    // A profile shared from the app: v.douyin.com -> the iesdouyin share page of streamer B.
    api.set_share(
        "v.douyin.com/Prof1le",
        &format!("https://www.iesdouyin.com/share/user/{SEC_B}?sec_uid={SEC_B}&u_code=x"),
    );
    let rooms = format!(
        "{}{}{}",
        room("a", &format!("https://www.douyin.com/user/{SEC_UID}")),
        room("b", &format!("https://live.douyin.com/{DOTTED}")),
        room("b_again", "https://v.douyin.com/Prof1le/"),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "links",
        &config(dir.path(), &rooms, &douyin_section(&api, "")),
    );
    assert!(
        served_completely(&streams, "dy/a.flv", 1).await
            && served_completely(&streams, "dy/b.flv", 1).await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    api.edit_douyin(DOTTED, |r| r.live = false);
    for key in [format!("douyin:{WEB_RID}"), format!("douyin:{DOTTED}")] {
        assert!(
            wait_event(dir.path(), &key, "live_end", Duration::from_secs(20)).await,
            "{key}\n{}",
            d.log_text()
        );
    }
    let log = d.log_text();
    check_recording(&dir.path().join("rec/a"), streams.bodies("dy/a.flv"), &log);
    check_recording(&dir.path().join("rec/b"), streams.bodies("dy/b.flv"), &log);
    // The share link names streamer B's room: the same key, recorded once.
    assert!(
        log.contains(&format!("resolves to douyin:{DOTTED}, which rooms[1]")),
        "{log}"
    );
    assert!(files(&dir.path().join("rec/b_again"), "").is_empty());
    // Profiles are resolved by the signed reflow API: the profile pages were not needed.
    assert!(api.count(REFLOW, since_start()) >= 2, "{log}");
    assert_eq!(api.count("/www.douyin.com/user/", since_start()), 0);
    assert_eq!(api.unsigned_calls(), 0);
}

/// A profile whose streamer is not live names no room yet: asked again at the poll interval
/// (not after a growing pause), and never resolved to another streamer's live that the profile
/// page recommends; once the streamer is live, their room is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_whose_streamer_is_not_live_is_asked_again_at_the_poll_interval() {
    const OTHER: &str = "70012345678";
    let streams = StreamServer::start().await;
    streams.set("dy/a.flv", finite(5.0));
    streams.set("dy/other.flv", Answer::flv(FIXTURE, 1.0, 0));
    let api = PlatformServer::start().await;
    let mut r = live_room(streams.url("dy/a.flv"), "7300000000000000099", SEC_UID);
    r.live = false;
    api.set_douyin(WEB_RID, r);
    api.set_douyin(
        OTHER,
        live_room(
            streams.url("dy/other.flv"),
            "7300000000000000011",
            "MS4wLjABAAAAsomeoneElse",
        ),
    );
    // Every profile page recommends that other live.
    api.douyin_profile_recommends(Some(OTHER));
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "offprofile",
        &config(
            dir.path(),
            &room("a", &format!("https://www.douyin.com/user/{SEC_UID}")),
            &douyin_section(&api, "requests_per_second = 10\nburst = 4\n"),
        ),
    );
    // Asked of the reflow API, then of the profile page, whose only room is checked with
    // web/enter and found to be someone else's: not live. Again and again, every second (a
    // growing retry pause would ask after 15 s, then 30 s).
    let t0 = Instant::now();
    let profile = format!("/www.douyin.com/user/{SEC_UID}");
    let asked_other = || {
        api.answers()
            .iter()
            .filter(|(_, q, _)| q.starts_with(ENTER) && q.contains(&format!("web_rid={OTHER}")))
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(12), || api.count(REFLOW, t0) >= 4
            && api.count(&profile, t0) >= 3
            && asked_other() >= 3)
        .await,
        "reflow {} profile {} other {}:\n{}",
        api.count(REFLOW, t0),
        api.count(&profile, t0),
        asked_other(),
        d.log_text()
    );
    // Not started: not under the other streamer's key, nor any other.
    let status: Value =
        serde_json::from_str(&control_get(dir.path(), "/api/status").await).unwrap();
    assert_eq!(status["rooms"], serde_json::json!([]), "{status}");
    assert_eq!(
        streams
            .stats("dy/other.flv")
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(
        api.challenges(),
        0,
        "the profile page was asked with an __ac_nonce"
    );

    // The streamer goes live: their room is found and recorded.
    api.edit_douyin(WEB_RID, |r| r.live = true);
    assert!(
        served_completely(&streams, "dy/a.flv", 1).await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let key = format!("douyin:{WEB_RID}");
    assert!(
        wait_event(dir.path(), &key, "live_end", Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    check_recording(&dir.path().join("rec/a"), streams.bodies("dy/a.flv"), &log);
    assert_eq!(
        streams
            .stats("dy/other.flv")
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "the recommended live was never recorded"
    );
    // Said once, at INFO; not a failure.
    assert_eq!(
        log.matches("asked again every 1s until the streamer is live")
            .count(),
        1,
        "{log}"
    );
    assert!(!log.contains("cannot resolve"), "{log}");
}

/// The fixture without its video: what a radio live sends.
fn audio_only_flv(dir: &Path) -> Vec<u8> {
    let src = format!(
        "{}/tests/fixtures/media/{FIXTURE}",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = dir.join("radio.flv");
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-i", &src])
        .args(["-vn", "-c:a", "copy", "-f", "flv"])
        .arg(&out)
        .status()
        .expect("ffmpeg must be installed");
    assert!(st.success());
    std::fs::read(out).unwrap()
}

/// The kinds of streams (`video`, `audio`) ffprobe finds in a file.
fn stream_kinds(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_radio_live_is_recorded_from_its_audio_only_stream() {
    let work = tempfile::tempdir().unwrap();
    let audio = audio_only_flv(work.path());
    assert_eq!(stream_kinds(&work.path().join("radio.flv")), ["audio"]);
    let streams = StreamServer::start().await;
    streams.set(
        "dy/radio.flv",
        Answer::Paced {
            data: audio.clone().into(),
            rate: audio.len() / 4,
        },
    );
    let api = PlatformServer::start().await;
    let mut r = live_room(streams.url("dy/radio.flv"), "7300000000000000055", SEC_UID);
    r.kind = DyKind::Radio;
    r.title = "深夜电台".into();
    api.set_douyin(WEB_RID, r);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "radio",
        &config(
            dir.path(),
            &room("dy", &format!("https://live.douyin.com/{WEB_RID}")),
            &douyin_section(&api, ""),
        ),
    );
    assert!(
        wait_until(Duration::from_secs(20), || {
            streams
                .bodies("dy/radio.flv")
                .iter()
                .any(|b| b.len() >= audio.len())
        })
        .await,
        "{}",
        d.log_text()
    );
    api.edit_douyin(WEB_RID, |r| r.live = false);
    let key = format!("douyin:{WEB_RID}");
    assert!(
        wait_event(dir.path(), &key, "live_end", Duration::from_secs(20)).await,
        "{}",
        d.log_text()
    );
    let rec = dir.path().join("rec/dy");
    assert!(files(&rec, ".part").is_empty(), "{:?}", files(&rec, ""));
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    assert_eq!(stream_kinds(&done[0]), ["audio"], "only an audio stream");
    let errors = media::decode_errors(&done[0]);
    assert!(errors.is_empty(), "{errors}");
    // Every audio frame served, once.
    let got = flv::recorded_frames(&done);
    let want = flv::frames_of(&audio);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "recorded frames differ from the served ones");
}
