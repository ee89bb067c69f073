use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::*;

fn rec(s: &str) -> Option<Locator> {
    recognize(&url::Url::parse(s).unwrap()).map(|(_, l)| l)
}

#[test]
fn url_forms() {
    assert_eq!(
        rec("https://live.douyin.com/742345678901?a=b"),
        Some(Locator::Id("742345678901".into()))
    );
    assert_eq!(
        rec("https://live.douyin.com/?live_web_rid=123"),
        Some(Locator::Id("123".into()))
    );
    assert_eq!(
        rec("https://www.douyin.com/root/live/55"),
        Some(Locator::Id("55".into()))
    );
    assert!(matches!(
        rec("https://v.douyin.com/iRNBho6u/"),
        Some(Locator::Share(_))
    ));
    assert_eq!(rec("https://live.douyin.com/a/b"), None);
    // Custom ids (抖音号) hold dots and dashes.
    assert_eq!(
        rec("https://live.douyin.com/yyds.tv-01_x"),
        Some(Locator::Id("yyds.tv-01_x".into()))
    );
    assert_eq!(rec("https://live.douyin.com/..."), None);
    assert_eq!(
        rec(&format!("https://live.douyin.com/{}", "1".repeat(33))),
        None
    );
    assert_eq!(rec("https://live.douyin.com/a%20b"), None);
    // Profiles and profile share pages are links to resolve.
    for profile in [
        "https://www.douyin.com/user/MS4wLjABAAAAtest_-x?from_tab_name=main",
        "https://www.iesdouyin.com/share/user/MS4wLjABAAAAtest?sec_uid=MS4wLjABAAAAtest",
    ] {
        assert!(
            matches!(rec(profile), Some(Locator::Share(ref u)) if u.contains("MS4wLjABAAAAtest")),
            "{profile}"
        );
    }
    assert_eq!(rec("https://www.douyin.com/user/bad%20uid"), None);
    assert_eq!(
        rec("https://www.douyin.com/video/7300000000000000000"),
        None
    );
}

#[test]
fn the_public_api_base_routes_like_none() {
    let cfg = |base: Option<&str>| PlatformConfig {
        api_base: base.map(str::to_string),
        ..PlatformConfig::default()
    };
    let hosts = |base: Option<&str>| Hosts::new(&cfg(base), DEFAULT_API_BASE);
    let real = hosts(None);
    assert_eq!(real.api, "https://live.douyin.com");
    assert_eq!(
        real.page(PROFILE_HOST, "/user/MS4w"),
        "https://www.douyin.com/user/MS4w"
    );
    assert_eq!(
        real.page(REFLOW_HOST, REFLOW_PATH),
        "https://webcast.amemv.com/webcast/room/reflow/info/"
    );
    for spelled in ["https://live.douyin.com", "https://live.douyin.com/"] {
        assert_eq!(hosts(Some(spelled)), real, "{spelled}");
    }
    let m = hosts(Some("http://127.0.0.1:9/"));
    assert_eq!(m.api, "http://127.0.0.1:9");
    assert_eq!(
        m.page(PROFILE_HOST, "/user/MS4w"),
        "http://127.0.0.1:9/www.douyin.com/user/MS4w"
    );
    assert_eq!(
        m.page("ttwid.bytedance.com", "/ttwid/union/register/"),
        "http://127.0.0.1:9/ttwid.bytedance.com/ttwid/union/register/"
    );
}

fn douyin(ua: Option<&str>, cookie: Option<&str>) -> Douyin {
    let cfg = PlatformConfig {
        user_agent: ua.map(str::to_string),
        cookie: cookie.map(Secret::new),
        ..PlatformConfig::default()
    };
    Douyin::with_dice(
        crate::http::client().unwrap(),
        &cfg,
        Dice::fixed(1, 1_767_225_600_000),
    )
}

#[test]
fn the_user_agent_is_signed_for_and_named_in_browser_version() {
    let d = douyin(None, None);
    assert_eq!(d.ua.text, http::BROWSER_UA);
    assert_eq!(d.ua.version, "156.0.0.0");
    assert_eq!(d.signer, abogus::Signer::new(http::BROWSER_UA));
    let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                Chrome/150.0.0.0 Safari/537.36 Edg/150.0.0.0";
    let d = douyin(Some(edge), None);
    assert!(d.ua.configured);
    assert_eq!(d.ua.version, "150.0.0.0");
    assert_eq!(d.signer, abogus::Signer::new(edge));
    assert_eq!(d.stream_headers()[header::USER_AGENT], edge);
    let fresh = d.dice.fresh();
    let url = d.enter_url("61234567890", &fresh);
    assert!(url.contains("&browser_version=150.0.0.0&"), "{url}");
    assert!(url.contains(&format!("&msToken={}&a_bogus=", fresh.ms_token)));
    // One the config would refuse still never reaches the wire.
    let d = douyin(Some("Firefox/128.0"), None);
    assert!(!d.ua.configured);
    assert_eq!(d.ua.text, http::BROWSER_UA);
}

#[test]
fn api_calls_carry_a_browsers_cookies_and_the_users_win() {
    let d = douyin(None, Some("sessionid=S; __ac_nonce=MINE"));
    let h = d.headers(d.cookie.as_ref(), Some("T"), "NONCE").unwrap();
    let c = h[header::COOKIE].to_str().unwrap();
    assert_eq!(
        c,
        format!(
            "sessionid=S; __ac_nonce=MINE; ttwid=T; odin_ttid={}; hevc_supported=true",
            d.odin_ttid
        )
    );
    assert!(h[header::COOKIE].is_sensitive());
    assert_eq!(d.odin_ttid.len(), 160);
}

fn spec(cookie: Option<&str>, quality: &[&str]) -> RoomSpec {
    RoomSpec {
        key: RoomKey::new(PlatformKind::Douyin, "61234567890"),
        url: "https://live.douyin.com/61234567890".into(),
        quality: quality.iter().map(|q| q.to_string()).collect(),
        formats: PlatformKind::Douyin.default_formats(),
        codecs: Vec::new(),
        cookie: cookie.map(Secret::new),
    }
}

/// The probe lines for an answer, as `label: text` lines.
fn probe_text(d: &Douyin, spec: &RoomSpec, trace: &Trace, answer: &[u8]) -> String {
    let room = api::web_enter(answer).unwrap();
    d.diagnosis(spec, trace, &Ok(room))
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}

#[test]
fn probe_lines_say_how_the_room_was_reached_without_secrets() {
    let d = douyin(None, Some("ttwid=SECRET"));
    let mut trace = Trace::default();
    trace.note(ENTER, "empty body");
    trace.note(PAGE, "live, with stream URLs");
    trace.answered = Some(PAGE);
    let text = probe_text(
        &d,
        &spec(Some("ttwid=SECRET"), &["origin"]),
        &trace,
        &dy_fixture("web_enter-live.json"),
    );
    for want in [
        "endpoint: room page (__ac_nonce) answered",
        "calls: web/enter (a_bogus): empty body; room page (__ac_nonce): live, with stream URLs",
        "login: own cookie configured (Douyin does not say whether it is logged in)",
        "cookie: own ttwid (from the configured cookie)",
        "a_bogus signer present",
        "browser_version 156.0.0.0",
        &format!("browser: {} (built in)", http::BROWSER_UA),
        "answer: live",
        "quality: wanted origin, offered origin, hd, sd, ld, md; records origin flv first\n",
        "special: none\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("SECRET"), "{text}");
    let lines = d.diagnosis(
        &spec(None, &["origin"]),
        &Trace::default(),
        &Err(PlatformError::Blocked(
            "web/enter (a_bogus): HTTP 444".into(),
        )),
    );
    assert_eq!(
        lines[0].1,
        "none answered: blocked by risk control: web/enter (a_bogus): HTTP 444"
    );
    assert_eq!(
        lines[2],
        ("login", "anonymous: no cookie configured".into())
    );
    assert!(lines[3].1.starts_with("no ttwid"), "{lines:?}");
    assert!(!lines.iter().any(|(k, _)| *k == "quality"), "{lines:?}");
}

#[test]
fn probe_lines_name_the_quality_on_offer_and_special_lives() {
    let d = douyin(None, None);
    let t = Trace::default();
    // A lower quality wanted: recorded at it.
    let text = probe_text(
        &d,
        &spec(None, &["hd"]),
        &t,
        &dy_fixture("web_enter-live.json"),
    );
    assert!(
        text.contains("quality: wanted hd, offered origin, hd, sd, ld, md; records hd flv first\n"),
        "{text}"
    );
    // A radio live: only its audio stream.
    let text = probe_text(
        &d,
        &spec(None, &["origin"]),
        &t,
        &dy_fixture("web_enter-radio.json"),
    );
    assert!(
        text.contains("quality: wanted origin, offered ao; records ao flv first\n"),
        "{text}"
    );
    assert!(
        text.contains("special: a radio live: audio only, recorded from its audio stream\n"),
        "{text}"
    );
    // Hidden from this viewer.
    let text = probe_text(
        &d,
        &spec(None, &["origin"]),
        &t,
        &dy_fixture("web_enter-not-visible.json"),
    );
    assert!(
        text.contains("special: hidden from this viewer (\"你不在主播设置的可见范围内"),
        "{text}"
    );
    assert!(
        text.contains("quality: wanted origin; nothing on offer"),
        "{text}"
    );
    assert!(text.contains("recordable: no: "), "{text}");
    // Every stream encrypted.
    let mut v: serde_json::Value =
        serde_json::from_slice(&dy_fixture("web_enter-live.json")).unwrap();
    let sd = v["data"]["data"][0]["stream_url"]["live_core_sdk_data"]["pull_data"]["stream_data"]
        .as_str()
        .unwrap()
        .replace("\"enableEncryption\":false", "\"enableEncryption\":true");
    v["data"]["data"][0]["stream_url"]["live_core_sdk_data"]["pull_data"]["stream_data"] =
        serde_json::json!(sd);
    if let Some(o) = v["data"]["data"][0]["stream_url"].as_object_mut() {
        o.remove("flv_pull_url");
        o.remove("hls_pull_url_map");
        o.remove("hls_pull_url");
    }
    let text = probe_text(
        &d,
        &spec(None, &["origin"]),
        &t,
        &serde_json::to_vec(&v).unwrap(),
    );
    assert!(
        text.contains("special: encrypted: every stream is (a paid live?)\n"),
        "{text}"
    );
    // Not live.
    let text = probe_text(
        &d,
        &spec(None, &["origin"]),
        &t,
        &dy_fixture("web_enter-offline.json"),
    );
    assert!(
        text.contains("quality: not live: streams are offered only while live\n"),
        "{text}"
    );
    assert!(text.contains("special: none\n"), "{text}");
}

/// A local fake of the Douyin endpoints a profile link leads to: fixed bodies by path (and, for
/// web/enter, by `web_rid`), every request noted as `path` or `path?web_rid=<id>`.
struct FakeDouyin {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

fn dy_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/platforms/douyin/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn fake_douyin(routes: Vec<(&str, Vec<u8>)>) -> FakeDouyin {
    use axum::response::IntoResponse;
    let routes: Arc<HashMap<String, Vec<u8>>> = Arc::new(
        routes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    );
    let hits = Arc::new(Mutex::new(Vec::new()));
    let seen = hits.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let routes = routes.clone();
        let seen = seen.clone();
        async move {
            let path = req.uri().path().to_string();
            let web_rid = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .find(|(k, _)| k == "web_rid")
                .map(|(_, v)| v.into_owned());
            let key = match web_rid {
                Some(id) => format!("{path}?web_rid={id}"),
                None => path.clone(),
            };
            seen.lock().unwrap().push(key.clone());
            if path == "/" {
                return ([(header::SET_COOKIE, "ttwid=1%7Cfake; Path=/")], "home").into_response();
            }
            match routes.get(&key).or_else(|| routes.get(&path)) {
                Some(b) => b.clone().into_response(),
                None => reqwest::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeDouyin { base, hits }
}

impl FakeDouyin {
    fn douyin(&self) -> Douyin {
        let cfg = PlatformConfig {
            api_base: Some(self.base.clone()),
            ..PlatformConfig::default()
        };
        Douyin::with_dice(
            crate::http::client().unwrap(),
            &cfg,
            Dice::fixed(1, 1_767_225_600_000),
        )
    }

    fn hits(&self, key: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|k| *k == key)
            .count()
    }
}

fn profile_link(sec_uid: &str) -> RoomTarget {
    crate::platform::recognize(&format!("https://www.douyin.com/user/{sec_uid}"), None).unwrap()
}

const ENTER_PATH: &str = "/webcast/room/web/enter/";
const REFLOW_FAKE: &str = "/webcast.amemv.com/webcast/room/reflow/info/";
/// The owner of `web_enter-live.json`'s room 61234567890.
const OWNER: &str = "MS4wLjABAAAAtestSecUid_000000000000000000000000000000000000000";
const NOT_LIVE: &str = "MS4wLjABAAAAofflineStreamer_00000000000000000000000000000000";

#[tokio::test]
async fn a_profile_page_naming_only_another_streamers_room_does_not_resolve_to_it() {
    let fake = fake_douyin(vec![
        (REFLOW_FAKE, dy_fixture("reflow-profile-not-live.json")),
        (
            &format!("/www.douyin.com/user/{NOT_LIVE}"),
            dy_fixture("profile-other-room.html"),
        ),
        (ENTER_PATH, dy_fixture("web_enter-live.json")),
    ])
    .await;
    let e = fake
        .douyin()
        .resolve(&profile_link(NOT_LIVE))
        .await
        .unwrap_err();
    // Not the recommended room: the streamer is not live, which is asked again later.
    assert!(matches!(e, PlatformError::NotLiveYet(_)), "{e}");
    // Whose room it is was asked of web/enter.
    assert_eq!(fake.hits(&format!("{ENTER_PATH}?web_rid=61234567890")), 1);
}

#[tokio::test]
async fn a_profile_page_naming_the_streamers_own_room_resolves_to_it() {
    // The reflow API refuses; the profile page names the room, and web/enter says whose it is.
    let fake = fake_douyin(vec![
        (REFLOW_FAKE, dy_fixture("reflow-rejected.json")),
        (
            &format!("/www.douyin.com/user/{OWNER}"),
            dy_fixture("profile-other-room.html"),
        ),
        (ENTER_PATH, dy_fixture("web_enter-live.json")),
    ])
    .await;
    let key = fake.douyin().resolve(&profile_link(OWNER)).await.unwrap();
    assert_eq!(key.to_string(), "douyin:61234567890");
    // A refused reflow and no page: unknown (retried with a growing pause), not "not live".
    let fake = fake_douyin(vec![(REFLOW_FAKE, dy_fixture("reflow-rejected.json"))]).await;
    let e = fake
        .douyin()
        .resolve(&profile_link(OWNER))
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::Malformed(_)), "{e}");
    // The reflow API saying "not live" is enough, whatever the page does.
    let fake = fake_douyin(vec![(
        REFLOW_FAKE,
        dy_fixture("reflow-profile-not-live.json"),
    )])
    .await;
    let e = fake
        .douyin()
        .resolve(&profile_link(OWNER))
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::NotLiveYet(_)), "{e}");
}

#[tokio::test]
async fn sources_below_the_wanted_quality_say_so_and_the_cover_is_read() {
    let body = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/platforms/douyin/web_enter-live.json"
    ));
    let room = api::web_enter(body).unwrap();
    assert_eq!(room.cover.as_deref(), Some("https://p3.example/cover.jpeg"));
    assert_eq!(
        room.status().cover.as_deref(),
        Some("https://p3.example/cover.jpeg")
    );
    let d = douyin(None, None);
    let flv = ["flv".to_string()];
    let sources = d.to_sources(&room, &["origin".to_string()], &flv).unwrap();
    // The wanted quality first, not below; the others, tried when it fails, are.
    assert!(sources[0].quality.starts_with("origin"), "{sources:?}");
    let mut lower = 0;
    for s in &sources {
        match &s.below {
            None => assert!(s.quality.starts_with("origin"), "{s:?}"),
            Some(below) => {
                lower += 1;
                assert_eq!(below.wanted, "origin");
                assert!(s.quality.starts_with(&below.recorded), "{s:?}");
            }
        }
    }
    assert!(lower > 0, "{sources:?}");
    // Asking for hd: the hd sources are the wanted ones.
    let hd = d.to_sources(&room, &["hd".to_string()], &flv).unwrap();
    assert!(
        hd[0].quality.starts_with("hd") && hd[0].below.is_none(),
        "{hd:?}"
    );
}
