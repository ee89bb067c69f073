//! The client against a local fake API: which calls it makes, in which order, and what it
//! concludes. Bodies are the fixtures of `tests/fixtures/platforms/bilibili`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::platform::StreamFormat;

fn rec(s: &str) -> Option<Locator> {
    recognize(&url::Url::parse(s).unwrap()).map(|(_, l)| l)
}

#[test]
fn url_forms() {
    assert_eq!(
        rec("https://live.bilibili.com/21452505"),
        Some(Locator::MaybeShort("21452505".into()))
    );
    assert_eq!(
        rec("https://live.bilibili.com/h5/76?x=1"),
        Some(Locator::MaybeShort("76".into()))
    );
    assert!(matches!(
        rec("https://b23.tv/AbC1234"),
        Some(Locator::Share(_))
    ));
    assert_eq!(rec("https://live.bilibili.com/"), None);
    assert_eq!(rec("https://space.bilibili.com/123"), None);
    assert_eq!(rec("https://b23.tv/"), None);
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/platforms/bilibili/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn edited(name: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

const NAV: &str = "/x/web-interface/nav";
const INIT: &str = "/room/v1/Room/room_init";
const PLAY_URL: &str = "/room/v1/Room/playUrl";

/// The bodies of one path: for signed requests, and for the rest.
type Bodies = (Vec<u8>, Vec<u8>);

/// A fake API: per path, one body for signed requests (with `w_rid`) and one for the rest;
/// every request is counted by path and by whether it was signed.
#[derive(Default)]
struct Fake {
    routes: Mutex<HashMap<String, Bodies>>,
    hits: Mutex<Vec<(String, bool)>>,
}

impl Fake {
    fn set(&self, path: &str, body: Vec<u8>) {
        self.set_split(path, body.clone(), body);
    }

    fn set_split(&self, path: &str, signed: Vec<u8>, unsigned: Vec<u8>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), (signed, unsigned));
    }

    /// Requests to `path`; `signed` picks signed or unsigned ones only.
    fn hits(&self, path: &str, signed: Option<bool>) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, s)| p == path && signed.is_none_or(|want| want == *s))
            .count()
    }
}

async fn serve(fake: Arc<Fake>) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let fake = fake.clone();
        async move {
            let path = req.uri().path().to_string();
            let signed = req.uri().query().unwrap_or_default().contains("w_rid=");
            fake.hits.lock().unwrap().push((path.clone(), signed));
            let route = fake.routes.lock().unwrap().get(&path).cloned();
            match route {
                Some((s, u)) => (if signed { s } else { u }).into_response(),
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A fake whose answers are those of a live, recordable room with an anonymous `nav`.
async fn live_api() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    fake.set(NAV, fixture("nav-anonymous.json"));
    fake.set(INFO_PATH, fixture("getInfoByRoom-live.json"));
    fake.set(PLAY_PATH, fixture("getRoomPlayInfo-live.json"));
    fake.set(INIT, fixture("room_init-live.json"));
    fake.set(PLAY_URL, fixture("playUrl-v1.json"));
    let base = serve(fake.clone()).await;
    (fake, base)
}

fn with_base(base: Option<&str>) -> PlatformConfig {
    PlatformConfig {
        api_base: base.map(str::to_string),
        ..PlatformConfig::default()
    }
}

fn client(base: &str) -> Bilibili {
    Bilibili::new(crate::http::client().unwrap(), &with_base(Some(base)))
}

fn spec() -> RoomSpec {
    RoomSpec {
        key: RoomKey::new(PlatformKind::Bilibili, "7734200"),
        url: "https://live.bilibili.com/7734200".into(),
        quality: vec!["best".into()],
        formats: vec!["flv".into(), "hls-fmp4".into(), "hls-ts".into()],
        codecs: Vec::new(),
        cookie: None,
    }
}

#[tokio::test]
async fn nav_is_not_asked_again_within_the_retry_window() {
    let (fake, base) = live_api().await;
    fake.set(NAV, br#"{"code":0,"message":"0","data":{}}"#.to_vec());
    fake.set(INFO_PATH, fixture("wbi-voucher.json"));
    // nav fails: requests go unsigned, are refused, and the unsigned room_init answers; polls
    // within WBI_RETRY do not ask nav again.
    let b = client(&base);
    for _ in 0..3 {
        let st = b.status(&spec()).await.unwrap();
        assert!(st.live);
    }
    assert_eq!(fake.hits(NAV, None), 1);
    assert_eq!(fake.hits(INIT, None), 3);

    // nav works but the endpoint still refuses: the keys are fetched afresh once (signed
    // calls that answered, or had never been tried, start being refused), and not at every
    // poll after that; the signed call is not repeated at every poll either.
    fake.set(NAV, fixture("nav-anonymous.json"));
    let b = client(&base);
    let info_before = fake.hits(INFO_PATH, Some(true));
    for _ in 0..3 {
        assert!(b.status(&spec()).await.unwrap().live);
    }
    assert_eq!(fake.hits(NAV, None), 3);
    assert_eq!(fake.hits(INFO_PATH, Some(true)) - info_before, 2);
    assert_eq!(fake.hits(INIT, None), 6);
}

#[tokio::test]
async fn a_refused_signature_uses_the_unsigned_endpoints_without_pausing_the_platform() {
    let (fake, base) = live_api().await;
    // Signed calls get -352 (bare, and with a voucher); unsigned ones answer.
    fake.set_split(
        INFO_PATH,
        fixture("error-352-bare.json"),
        fixture("getInfoByRoom-live.json"),
    );
    fake.set_split(
        PLAY_PATH,
        fixture("error-352-voucher.json"),
        fixture("getRoomPlayInfo-live.json"),
    );
    let b = client(&base);
    let st = b.status(&spec()).await.unwrap();
    assert!(st.live && st.unrecordable.is_none());
    // getInfoByRoom: refused, nav asked again once, refused again -> room_init. Then
    // getRoomPlayInfo: refused (the keys were just fetched: not again) -> unsigned.
    assert_eq!(fake.hits(NAV, None), 2);
    assert_eq!(fake.hits(INFO_PATH, Some(true)), 2);
    assert_eq!(fake.hits(INIT, None), 1);
    assert_eq!(fake.hits(PLAY_PATH, Some(true)), 1);
    assert_eq!(fake.hits(PLAY_PATH, Some(false)), 1);
    // The sources call right after reuses that play info.
    let s = b.sources(&spec()).await.unwrap();
    assert!(
        s[0].url.contains("cn-test-ct-01-01.bilivideo.com"),
        "{}",
        s[0].url
    );
    assert_eq!(fake.hits(PLAY_PATH, None), 2);
    // Later polls skip the refused signed calls and are not paused.
    for _ in 0..2 {
        assert!(b.status(&spec()).await.unwrap().live);
    }
    assert_eq!(fake.hits(INFO_PATH, Some(true)), 2);
    assert_eq!(fake.hits(PLAY_PATH, Some(true)), 1);
    assert_eq!(fake.hits(INIT, None), 3);
    assert_eq!(fake.hits(NAV, None), 2);
    assert_eq!(
        b.signing.reason(Endpoint::Info).as_deref(),
        Some("code -352")
    );

    // The unsigned stand-in refused too: now that is risk control, and the platform pauses.
    fake.set(INIT, fixture("error-352-bare.json"));
    let e = b.status(&spec()).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("room_init (unsigned fallback)") && m.contains("-352")),
        "{e}"
    );
    let e = b.status(&spec()).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("backing off until")),
        "{e}"
    );
    assert_eq!(fake.hits(INIT, None), 4, "no request while paused");
}

#[tokio::test]
async fn an_http_412_on_a_signed_call_stays_a_block() {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::PRECONDITION_FAILED,
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            fixture("http-412.html"),
        )
            .into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let b = client(&format!("http://{addr}"));
    let e = b.status(&spec()).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("HTTP 412")),
        "{e}"
    );
    // Not mistaken for a refused signature: no fallback started.
    assert_eq!(b.signing.reason(Endpoint::Info), None);
}

#[tokio::test]
async fn only_the_legacy_play_url_is_left_when_getroomplayinfo_wants_a_signature_unsigned_too() {
    let (fake, base) = live_api().await;
    fake.set(PLAY_PATH, fixture("wbi-voucher.json"));
    let b = client(&base);
    let s = b.sources(&spec()).await.unwrap();
    assert_eq!(s.len(), 2);
    assert!(s.iter().all(|s| s.format == StreamFormat::Flv));
    assert!(
        s[0].url.starts_with("https://d1--cn-gotcha09"),
        "{}",
        s[0].url
    );
    assert_eq!(fake.hits(PLAY_URL, None), 1);
    // The legacy endpoint has FLV only.
    let mut hls = spec();
    hls.formats = vec!["hls-fmp4".into()];
    let e = b.sources(&hls).await.unwrap_err();
    assert!(matches!(e, PlatformError::NoStream(_)), "{e}");
}

#[tokio::test]
async fn lives_that_cannot_be_recorded_are_told_by_the_status_and_the_sources() {
    let (fake, base) = live_api().await;
    fake.set(PLAY_PATH, fixture("getRoomPlayInfo-drm-203.json"));
    let b = client(&base);
    let st = b.status(&spec()).await.unwrap();
    assert!(st.live);
    let why = st.unrecordable.unwrap();
    assert!(why.contains("DRM"), "{why}");
    assert_eq!(fake.hits(PLAY_PATH, None), 1);
    let e = b.sources(&spec()).await.unwrap_err();
    assert_eq!(e, PlatformError::Unsupported(why));
    assert_eq!(
        fake.hits(PLAY_PATH, None),
        1,
        "the status check's answer is reused"
    );

    fake.set(PLAY_PATH, fixture("getRoomPlayInfo-guard-only.json"));
    let st = b.status(&spec()).await.unwrap();
    assert!(st.unrecordable.unwrap().contains("guard-only"));

    // Paid, through the unsigned stand-in: room_init says so, getRoomPlayInfo is not asked.
    fake.set(INFO_PATH, fixture("wbi-voucher.json"));
    fake.set(INIT, fixture("room_init-paid.json"));
    let plays = fake.hits(PLAY_PATH, None);
    let st = b.status(&spec()).await.unwrap();
    assert!(st.unrecordable.unwrap().contains("paid"));
    assert_eq!(fake.hits(PLAY_PATH, None), plays);

    // An offline room is asked nothing more.
    fake.set(
        INIT,
        edited("room_init-live.json", |v| {
            v["data"]["live_status"] = 0.into()
        }),
    );
    let st = b.status(&spec()).await.unwrap();
    assert!(!st.live && st.unrecordable.is_none());
    assert_eq!(fake.hits(PLAY_PATH, None), plays);
}

/// The capped answer of a 4K room: 20000 is on offer, 250 is served.
fn capped_4k() -> Vec<u8> {
    edited("getRoomPlayInfo-capped-250.json", |v| {
        for e in v["data"]["playurl_info"]["playurl"]["stream"]
            .as_array_mut()
            .unwrap()
        {
            e["format"][0]["codec"][0]["accept_qn"] = serde_json::json!([20000, 10000, 400, 250]);
        }
    })
}

#[tokio::test]
async fn a_capped_anonymous_answer_is_not_asked_for_again() {
    let (fake, base) = live_api().await;
    fake.set(PLAY_PATH, capped_4k());
    let b = client(&base);
    b.wbi_keys().await;
    let s = b.sources(&spec()).await.unwrap();
    assert!(s[0].url.contains("_2500.flv?"), "{}", s[0].url);
    assert_eq!(
        fake.hits(PLAY_PATH, None),
        1,
        "anonymous and capped: no second call"
    );

    // Logged in, the same answer is worth a second call at the wanted qn.
    fake.set(NAV, fixture("nav-logged-in.json"));
    let b = client(&base);
    b.wbi_keys().await;
    b.sources(&spec()).await.unwrap();
    assert_eq!(fake.hits(PLAY_PATH, None), 3);
}

#[tokio::test]
async fn diagnose_names_login_quality_codecs_special_lives_and_the_signature_path() {
    let (fake, base) = live_api().await;
    fake.set(PLAY_PATH, fixture("getRoomPlayInfo-capped-250.json"));
    let b = client(&base);
    let lines: HashMap<&str, String> = b.diagnose(&spec()).await.into_iter().collect();
    let line = |k: &str| {
        lines
            .get(k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k}: {lines:?}"))
    };
    assert!(line("login").starts_with("anonymous: nav says not logged in"));
    assert_eq!(
        line("quality"),
        "wanted 10000 原画, offered 250 超清 (capped)"
    );
    assert_eq!(line("special"), "none");
    assert_eq!(
        line("codecs"),
        "offered: avc qn 250 (accepts 10000, 400, 250, 150); default: avc first, hevc as the fallback; records avc qn 250 first"
    );
    assert_eq!(
        line("signature"),
        "wbi keys from nav; getInfoByRoom (wbi) answered; getRoomPlayInfo (wbi) answered"
    );

    fake.set(NAV, fixture("nav-logged-in.json"));
    fake.set_split(
        INFO_PATH,
        fixture("error-352-bare.json"),
        fixture("getInfoByRoom-live.json"),
    );
    fake.set(PLAY_PATH, fixture("getRoomPlayInfo-drm-203.json"));
    let b = client(&base);
    let lines: HashMap<&str, String> = b.diagnose(&spec()).await.into_iter().collect();
    assert_eq!(
        lines["login"],
        "logged in as 录播测试号 (uid 271828, 大会员)"
    );
    assert!(lines["special"].starts_with("a DRM-protected"), "{lines:?}");
    assert!(
        lines["special"].ends_with("(all_special_types [203])"),
        "{lines:?}"
    );
    assert_eq!(
        lines["signature"],
        "wbi keys from nav; getInfoByRoom refused signed calls (code -352): room_init (unsigned fallback) answered; getRoomPlayInfo (wbi) answered"
    );
}

#[test]
fn the_public_api_base_routes_like_none() {
    let hosts = |base: Option<&str>| Hosts::new(&with_base(base), DEFAULT_API_BASE);
    let real = hosts(None);
    assert_eq!(real.api, "https://api.live.bilibili.com");
    assert_eq!(real.other_api(DEFAULT_NAV_BASE), "https://api.bilibili.com");
    assert_eq!(real.page("b23.tv", "/AbC1234"), "https://b23.tv/AbC1234");
    for spelled in [
        "https://api.live.bilibili.com",
        "https://api.live.bilibili.com/",
        "https://API.live.bilibili.com:443/",
        "http://api.live.bilibili.com",
    ] {
        assert_eq!(hosts(Some(spelled)), real, "{spelled}");
    }
    // A mirror takes every request, nav and share links included.
    let m = hosts(Some("http://127.0.0.1:8080/"));
    assert_eq!(m.api, "http://127.0.0.1:8080");
    assert_eq!(m.other_api(DEFAULT_NAV_BASE), "http://127.0.0.1:8080");
    assert_eq!(
        m.page("b23.tv", "/AbC1234"),
        "http://127.0.0.1:8080/b23.tv/AbC1234"
    );
    // Another path on the public host is a mirror too.
    assert_eq!(
        hosts(Some("https://api.live.bilibili.com/proxy")).other_api(DEFAULT_NAV_BASE),
        "https://api.live.bilibili.com/proxy"
    );
}

#[test]
fn the_configured_user_agent_goes_with_api_calls_and_stream_requests() {
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
    let cfg = PlatformConfig {
        user_agent: Some(firefox.into()),
        ..PlatformConfig::default()
    };
    let b = Bilibili::new(crate::http::client().unwrap(), &cfg);
    let api = b.api_headers(None).unwrap();
    assert_eq!(api[header::USER_AGENT], firefox);
    assert_eq!(b.stream_headers()[header::USER_AGENT], firefox);
    let built_in = Bilibili::new(crate::http::client().unwrap(), &PlatformConfig::default());
    assert_eq!(
        built_in.stream_headers()[header::USER_AGENT],
        crate::http::BROWSER_UA
    );
}

const BATCH: &str = "/room/v1/Room/get_status_info_by_uids";
const BASE_INFO: &str = "/xlive/web-room/v1/index/getRoomBaseInfo";

fn target(id: &str) -> RoomTarget {
    RoomTarget {
        platform: PlatformKind::Bilibili,
        url: format!("https://live.bilibili.com/{id}"),
        locator: Locator::MaybeShort(id.into()),
    }
}

fn spec_of(id: &str) -> RoomSpec {
    RoomSpec {
        key: RoomKey::new(PlatformKind::Bilibili, id),
        url: format!("https://live.bilibili.com/{id}"),
        ..spec()
    }
}

/// The live API, with the batch endpoints: 7734200 (short id 77, uid 3141592) live, 5550001
/// (uid 2718281) offline.
async fn batch_api() -> (Arc<Fake>, String) {
    let (fake, base) = live_api().await;
    fake.set(BATCH, fixture("get_status_info_by_uids.json"));
    fake.set(BASE_INFO, fixture("getRoomBaseInfo.json"));
    (fake, base)
}

#[tokio::test]
async fn idle_rooms_are_checked_in_one_batch_and_a_new_live_on_its_own() {
    let (fake, base) = batch_api().await;
    let b = client(&base);
    // Both ids resolved by one request (the short one to its long id), with their uids.
    let (t77, t555) = (target("77"), target("5550001"));
    let (a, c) = tokio::join!(b.resolve(&t77), b.resolve(&t555));
    assert_eq!(a.unwrap().to_string(), "bilibili:7734200");
    assert_eq!(c.unwrap().to_string(), "bilibili:5550001");
    assert_eq!(fake.hits(BASE_INFO, None), 1);
    assert_eq!(fake.hits(INIT, None), 0);

    // Both polled together: one batch. The offline room costs nothing more; the live one,
    // new to us, is asked on its own (getInfoByRoom, and its play info).
    let (s77, s555) = (spec_of("7734200"), spec_of("5550001"));
    let (live, off) = tokio::join!(b.status(&s77), b.status(&s555));
    let (live, off) = (live.unwrap(), off.unwrap());
    assert!(live.live && !off.live);
    assert_eq!(off.title, "周末录播间");
    assert_eq!(fake.hits(BATCH, None), 1);
    assert_eq!(fake.hits(INFO_PATH, None), 1);
    assert_eq!(fake.hits(PLAY_PATH, None), 1);
    let hint = live.session_hint.clone();
    assert!(hint.is_some());

    // Polled again, the same broadcast: the batch alone, and the same session hint (the
    // per-room check's, not the batch's).
    let again = b.status(&spec_of("7734200")).await.unwrap();
    assert!(again.live);
    assert_eq!(again.session_hint, hint);
    assert_eq!(fake.hits(BATCH, None), 2);
    assert_eq!(fake.hits(INFO_PATH, None), 1);

    // A new broadcast (another live_time): asked on its own again.
    fake.set(
        BATCH,
        edited("get_status_info_by_uids.json", |v| {
            v["data"]["3141592"]["live_time"] = serde_json::json!(1763715600);
        }),
    );
    assert!(b.status(&spec_of("7734200")).await.unwrap().live);
    assert_eq!(fake.hits(INFO_PATH, None), 2);

    // A live room's own check (a session is open) skips the batch.
    let batches = fake.hits(BATCH, None);
    let own = crate::platform::limiter::in_lane(
        crate::platform::limiter::Lane::Live,
        b.status(&spec_of("7734200")),
    )
    .await
    .unwrap();
    assert!(own.live);
    assert_eq!(fake.hits(BATCH, None), batches);
    assert_eq!(fake.hits(INFO_PATH, None), 3);
    // A room whose uid is not known yet is asked on its own.
    assert!(b.status(&spec()).await.is_ok());
    assert_eq!(fake.hits(BATCH, None), batches + 1);
}

#[tokio::test]
async fn a_refused_batch_stands_down_for_per_room_checks_without_pausing() {
    let (fake, base) = batch_api().await;
    fake.set(BATCH, fixture("error-352-bare.json"));
    let b = client(&base);
    b.resolve(&target("5550001")).await.unwrap();
    // Its first check is the resolution's answer (offline), a moment old: no request.
    assert!(!b.status(&spec_of("5550001")).await.unwrap().live);
    assert_eq!(fake.hits(BATCH, None) + fake.hits(INFO_PATH, None), 0);
    // Refused: the room is checked on its own (getInfoByRoom says live here), and Bilibili
    // does not pause.
    assert!(b.status(&spec_of("5550001")).await.unwrap().live);
    assert_eq!(fake.hits(BATCH, None), 1);
    assert_eq!(fake.hits(INFO_PATH, None), 1);
    assert_eq!(b.resume_at(), None);
    // Standing down: the next polls go straight to the room's own check.
    b.status(&spec_of("5550001")).await.unwrap();
    assert_eq!(fake.hits(BATCH, None), 1);
    assert_eq!(fake.hits(INFO_PATH, None), 2);

    // A base-info request refused: room_init resolves the id.
    fake.set(BASE_INFO, fixture("error-352-bare.json"));
    let b = client(&base);
    let key = b.resolve(&target("77")).await.unwrap();
    assert_eq!(key.to_string(), "bilibili:7734200");
    assert_eq!(fake.hits(INIT, None), 1);
    // An endpoint that is not there at all (404) stands down the same way.
    let (fake, base) = live_api().await;
    let b = client(&base);
    b.resolve(&target("77")).await.unwrap();
    assert_eq!(fake.hits(BASE_INFO, None), 1);
    assert_eq!(fake.hits(INIT, None), 1);
    b.resolve(&target("78")).await.unwrap();
    assert_eq!(
        fake.hits(BASE_INFO, None),
        1,
        "not asked again within the recheck"
    );
}

#[tokio::test]
async fn a_uid_the_batch_does_not_know_is_asked_on_its_own() {
    let (fake, base) = batch_api().await;
    fake.set(BATCH, fixture("get_status_info_by_uids-none.json"));
    let b = client(&base);
    b.resolve(&target("5550001")).await.unwrap();
    // (The first check is the resolution's answer.)
    assert!(!b.status(&spec_of("5550001")).await.unwrap().live);
    assert!(b.status(&spec_of("5550001")).await.unwrap().live);
    assert_eq!(fake.hits(BATCH, None), 1);
    assert_eq!(fake.hits(INFO_PATH, None), 1);
    // That was an answer, not a failure: the next poll asks the batch again.
    b.status(&spec_of("5550001")).await.unwrap();
    assert_eq!(fake.hits(BATCH, None), 2);
}

#[test]
fn chat_authenticates_as_the_login_user_only_with_sessdata() {
    use super::chat::login_uid;
    assert_eq!(
        login_uid("SESSDATA=abc; DedeUserID=12345; bili_jct=x"),
        12345
    );
    assert_eq!(login_uid("DedeUserID=12345; buvid3=x"), 0, "no SESSDATA");
    assert_eq!(
        login_uid("SESSDATA=; DedeUserID=12345"),
        0,
        "an empty SESSDATA"
    );
    assert_eq!(login_uid("SESSDATA=abc; DedeUserID=x12"), 0);
    assert_eq!(login_uid(""), 0);
}

#[tokio::test]
async fn sources_of_a_capped_answer_are_below_the_wanted_quality_and_the_cover_is_read() {
    let fixture = |name: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/platforms/bilibili")
                .join(name),
        )
        .unwrap()
    };
    let play = |name: &str| match api::play_info(&fixture(name)).unwrap() {
        api::Signed::Data(p) => p,
        api::Signed::Refused(r) => panic!("{r}"),
    };
    let b = client("http://127.0.0.1:1");
    let room = spec();
    let prefs = Prefs::of(&room);
    let capped = b.to_sources(&play("getRoomPlayInfo-capped-250.json"), &prefs);
    assert!(!capped.is_empty());
    for s in &capped {
        let below = s.below.as_ref().unwrap_or_else(|| panic!("{s:?}"));
        assert_eq!(below.wanted, "10000 原画");
        assert_eq!(below.recorded, "250 超清");
    }
    let full = b.to_sources(&play("getRoomPlayInfo-live.json"), &prefs);
    assert_eq!(full[0].below, None, "{full:?}");
    let info = match api::room_info(&fixture("getInfoByRoom-live.json")).unwrap() {
        api::Signed::Data(i) => i,
        api::Signed::Refused(r) => panic!("{r}"),
    };
    assert_eq!(
        info.status().cover.as_deref(),
        Some("https://i0.example/cover.jpg")
    );
}
