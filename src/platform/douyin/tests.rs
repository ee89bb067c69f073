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
    let real = Hosts::new(&cfg(None));
    assert_eq!(real.api, "https://live.douyin.com");
    assert_eq!(real.via, None);
    assert_eq!(
        real.page(PROFILE_HOST, "/user/MS4w"),
        "https://www.douyin.com/user/MS4w"
    );
    assert_eq!(
        real.page(REFLOW_HOST, REFLOW_PATH),
        "https://webcast.amemv.com/webcast/room/reflow/info/"
    );
    for spelled in ["https://live.douyin.com", "https://live.douyin.com/"] {
        assert_eq!(Hosts::new(&cfg(Some(spelled))), real, "{spelled}");
    }
    let m = Hosts::new(&cfg(Some("http://127.0.0.1:9/")));
    assert_eq!(m.api, "http://127.0.0.1:9");
    assert_eq!(m.via.as_deref(), Some("http://127.0.0.1:9"));
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
    assert_eq!(d.signer.user_agent(), http::BROWSER_UA);
    let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                Chrome/150.0.0.0 Safari/537.36 Edg/150.0.0.0";
    let d = douyin(Some(edge), None);
    assert!(d.ua.configured);
    assert_eq!(d.ua.version, "150.0.0.0");
    assert_eq!(d.signer.user_agent(), edge);
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

#[test]
fn probe_lines_say_how_the_room_was_reached_without_secrets() {
    let d = douyin(None, Some("ttwid=SECRET"));
    let mut trace = Trace::default();
    trace.note(ENTER, "empty body");
    trace.note(PAGE, "live, with stream URLs");
    trace.answered = Some(PAGE);
    let room = api::DyRoom {
        status: Some(2),
        ..api::DyRoom::default()
    };
    let lines = d.diagnosis(d.cookie.as_ref(), &trace, &Ok(room));
    let text: String = lines.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    for want in [
        "endpoint: room page (__ac_nonce) answered",
        "calls: web/enter (a_bogus): empty body; room page (__ac_nonce): live, with stream URLs",
        "cookie: own ttwid (from the configured cookie)",
        "a_bogus signer present",
        "browser_version 156.0.0.0",
        &format!("browser: {} (built in)", http::BROWSER_UA),
        "answer: live",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("SECRET"), "{text}");
    let lines = d.diagnosis(
        None,
        &Trace::default(),
        &Err(PlatformError::Blocked(
            "web/enter (a_bogus): HTTP 444".into(),
        )),
    );
    assert_eq!(
        lines[0].1,
        "none answered: blocked by risk control: web/enter (a_bogus): HTTP 444"
    );
    assert!(lines[2].1.starts_with("no ttwid"), "{lines:?}");
}
