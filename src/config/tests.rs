use super::*;

fn parse_ok(text: &str) -> Config {
    match parse(text, Path::new("/etc/liverec/recorder.toml")) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

fn parse_err(text: &str) -> Vec<String> {
    let e = parse(text, Path::new("/etc/liverec/recorder.toml")).expect_err("expected errors");
    e.to_string().lines().map(str::to_string).collect()
}

#[test]
fn an_empty_file_is_a_valid_config_with_defaults() {
    let c = parse_ok("");
    assert_eq!(c.output_dir, Path::new("/etc/liverec/recordings"));
    assert_eq!(c.state_dir, Path::new("/etc/liverec/recordings/.liverec"));
    assert_eq!(
        c.lock_dir,
        Path::new("/etc/liverec/recordings/.liverec/locks")
    );
    assert_eq!(c.min_free_space, 2 << 30);
    assert_eq!(c.control.listen.to_string(), "127.0.0.1:8787");
    assert!(c.rooms.is_empty());
}

#[test]
fn room_overrides_beat_top_level_keys_which_beat_defaults() {
    let c = parse_ok(
        r#"
        poll_interval = "10s"
        segment_duration = "30m"
        [platforms.bilibili]
        quality = [10000, 400]
        [[rooms]]
        url = "https://live.bilibili.com/21452505"
        segment_duration = "0s"
        [[rooms]]
        url = "https://live.bilibili.com/1"
        quality = "best"
        formats = ["hls-fmp4"]
        "#,
    );
    let (a, b) = (&c.rooms[0].settings, &c.rooms[1].settings);
    assert_eq!(a.poll_interval, Duration::from_secs(10));
    assert_eq!(a.segment_duration, Duration::ZERO);
    assert_eq!(b.segment_duration, Duration::from_secs(1800));
    assert_eq!(a.quality, ["10000", "400"]);
    assert_eq!(b.quality, ["best"]);
    assert_eq!(a.formats, ["flv", "hls-fmp4", "hls-ts"]);
    assert_eq!(b.formats, ["hls-fmp4"]);
    assert_eq!(a.stall_timeout, Duration::from_secs(15));
}

#[test]
fn every_mistake_is_reported_at_once_with_its_key_and_line() {
    let lines = parse_err(
        r#"poll_intervall = "30s"
offline_grace = 60
[[rooms]]
url = "https://live.bilibili.com/1"
[[rooms]]
url = "https://www.youtube.com/watch?v=x"
[[rooms]]
url = "https://live.douyin.com/123"
segment_duration = "1hour"
quality = "ultra"
"#,
    );
    let expect = [
        r#"/etc/liverec/recorder.toml:1: poll_intervall: unknown key (did you mean "poll_interval"?)"#,
        "/etc/liverec/recorder.toml:2: offline_grace: expected a duration string like \"30s\" or \"1h30m\", found integer 60",
        "/etc/liverec/recorder.toml:6: rooms[1].url: no platform knows",
        r#"/etc/liverec/recorder.toml:9: rooms[2].segment_duration: "1hour" is not a duration (try "1h")"#,
        r#"/etc/liverec/recorder.toml:10: rooms[2].quality: "ultra" is not a douyin quality"#,
    ];
    assert_eq!(lines.len(), expect.len(), "{lines:#?}");
    for e in expect {
        assert!(
            lines.iter().any(|l| l.starts_with(e)),
            "missing {e:?} in {lines:#?}"
        );
    }
}

#[test]
fn the_same_room_twice_is_reported_and_runs_once() {
    let c = parse_ok(
        r#"
        [[rooms]]
        url = "https://live.bilibili.com/21452505"
        [[rooms]]
        url = "live.bilibili.com/h5/21452505?broadcast_type=0"
        "#,
    );
    assert_eq!(c.rooms.len(), 1);
    assert_eq!(c.duplicates.len(), 1);
    assert_eq!(c.duplicates[0].first_index, 0);
    assert!(c.warnings[0].reason.contains("same room as rooms[0]"));
}

#[test]
fn a_remote_control_address_needs_a_token() {
    let lines = parse_err("[control]\nlisten = \"0.0.0.0:8787\"\n");
    assert!(lines[0].contains("control.token: required"), "{lines:?}");
    let c = parse_ok("[control]\nlisten = \"0.0.0.0:8787\"\ntoken = \"s3cret\"\n");
    assert_eq!(format!("{:?}", c.control.token), "Some([redacted])");
    let c = parse_ok("[control]\nlisten = \"unix:/run/liverec/control.sock\"\n");
    assert_eq!(
        c.control.listen,
        Listen::Unix("/run/liverec/control.sock".into())
    );
}

#[test]
fn filename_templates_cannot_escape_the_output_dir() {
    for bad in [
        "../{name}",
        "/abs/{name}",
        "{name}/../../x",
        "a//b",
        ".hidden/{name}",
        "{nope}",
    ] {
        let lines = parse_err(&format!("filename = {bad:?}\n"));
        assert!(lines[0].contains("filename:"), "{bad}: {lines:?}");
    }
    parse_ok("filename = \"{platform}/{name}/{start:%Y-%m-%d}/{title}..{index}\"\n");
}

#[test]
fn hooks_are_checked_offline() {
    let lines = parse_err(
        r#"
        [[hooks]]
        name = "upload"
        events = ["segment_complete", "segment_done"]
        command = "rclone move {path}"
        [[hooks]]
        name = "x"
        events = ["live_start"]
        command = ["/definitely/not/here", "{nope}"]
        window = "25:00-07:00"
        [[webhooks]]
        url = "htp//127.0.0.1:9000"
        events = ["live_end"]
        "#,
    );
    let joined = lines.join("\n");
    for want in [
        r#"hooks[0].events: unknown event "segment_done""#,
        "hooks[0].command: must be a list of arguments",
        r#"hooks[1].command: "/definitely/not/here" cannot be run"#,
        "hooks[1].command[1]: unknown placeholder {nope}",
        r#"hooks[1].window: "25:00-07:00" is not a time window"#,
        "webhooks[0].url:",
    ] {
        assert!(joined.contains(want), "missing {want:?} in\n{joined}");
    }
}

#[test]
fn valid_hooks_parse() {
    let c = parse_ok(
        r#"
        [[rooms]]
        url = "https://live.douyin.com/1"
        name = "alice"
        [[hooks]]
        name = "upload"
        events = ["segment_complete"]
        command = ["true", "{path}", "{start:%Y}"]
        window = "22:00-02:00"
        rooms = ["alice"]
        [[webhooks]]
        url = "http://127.0.0.1:9000/x"
        events = ["live_start"]
        secret = "k"
        "#,
    );
    let w = c.hooks[0].window.unwrap();
    assert!(w.contains(23 * 60) && w.contains(60) && !w.contains(12 * 60));
    assert_eq!(c.webhooks[0].name, "webhook-0");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn cookies_come_from_a_file_and_never_print() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cookie.txt"), "SESSDATA=abc\n").unwrap();
    let text = "[platforms.bilibili]\ncookie_file = \"cookie.txt\"\n[[rooms]]\nurl = \"https://live.bilibili.com/1\"\n";
    let c = parse(text, &dir.path().join("recorder.toml")).unwrap();
    let cookie = c.rooms[0].settings.cookie.as_ref().unwrap();
    assert_eq!(cookie.expose(), "SESSDATA=abc");
    assert!(!format!("{c:?}").contains("SESSDATA"));
    let lines = parse_err("[platforms.douyin]\ncookie_file = \"/nonexistent/c\"\n");
    assert!(lines[0].contains("platforms.douyin.cookie_file: cannot read /nonexistent/c"));
}

#[test]
fn a_cookie_that_is_no_header_value_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    // A Netscape cookies.txt: several lines, tabs and all.
    std::fs::write(
        dir.path().join("cookies.txt"),
        "# Netscape HTTP Cookie File\n.bilibili.com\tTRUE\t/\tFALSE\t0\tSESSDATA\tabc\n",
    )
    .unwrap();
    let text = "[platforms.bilibili]\ncookie_file = \"cookies.txt\"\n[[rooms]]\nurl = \"https://live.bilibili.com/1\"\n";
    let e = parse(text, &dir.path().join("recorder.toml")).unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("platforms.bilibili.cookie_file: not usable as a Cookie header"),
        "{e}"
    );
    assert!(!e.contains("SESSDATA"), "never the value: {e}");
    // A room's own cookie, with a control character.
    let lines = parse_err(
        "[[rooms]]\nurl = \"https://live.douyin.com/1\"\ncookie = \"sessionid=a\\u0001b\"\n",
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cookie: not usable as a Cookie header")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains("sessionid")), "{lines:?}");
}

#[test]
fn syntax_errors_stop_early_with_a_line() {
    let lines = parse_err("[[rooms]]\nurl = \"x\n");
    assert!(
        lines[0].starts_with("/etc/liverec/recorder.toml:2: TOML syntax error"),
        "{lines:?}"
    );
}

#[test]
fn the_public_api_base_is_the_same_as_none() {
    // The example config spells out the public bases: they must not count as mirrors.
    let c = parse_ok(
        r#"
        [platforms.bilibili]
        api_base = "https://api.live.bilibili.com/"
        [platforms.douyin]
        api_base = "https://live.douyin.com"
        "#,
    );
    assert_eq!(c.platforms.bilibili.api_base, None);
    assert_eq!(c.platforms.douyin.api_base, None);
    assert_eq!(c.platforms, parse_ok("").platforms);
    let c = parse_ok("[platforms.bilibili]\napi_base = \"http://127.0.0.1:8080/\"\n");
    assert_eq!(
        c.platforms
            .bilibili
            .api_override(crate::platform::bilibili::DEFAULT_API_BASE)
            .as_deref(),
        Some("http://127.0.0.1:8080")
    );
    let lines = parse_err("[platforms.douyin]\napi_base = \"ftp://live.douyin.com\"\n");
    assert!(lines[0].contains("is not an http(s) base URL"), "{lines:?}");
}

#[test]
fn a_direct_hls_room_takes_a_variant_quality() {
    let c = parse_ok(
        r#"
        [[rooms]]
        url = "https://example.com/live/master.m3u8"
        quality = ["720p", "worst"]
        "#,
    );
    assert_eq!(c.rooms[0].settings.quality, ["720p", "worst"]);
    let lines = parse_err(
        r#"
[[rooms]]
url = "https://example.com/live/master.m3u8"
quality = "ultra"
[[rooms]]
url = "https://example.com/live/a.flv"
quality = "best"
"#,
    );
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains("rooms[0].quality: \"ultra\" is not a direct quality")
            && lines[0].contains("\"720p\""),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("rooms[1].quality: an HTTP-FLV URL has a single quality"),
        "{lines:#?}"
    );
}

#[test]
fn each_platform_can_send_its_own_user_agent() {
    let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36 Edg/150.0.0.0";
    let c = parse_ok(&format!(
        "[platforms.douyin]\nuser_agent = \"  {edge} \"\n[platforms.bilibili]\nuser_agent = \"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0\"\n"
    ));
    assert_eq!(c.platforms.douyin.user_agent.as_deref(), Some(edge));
    assert!(
        c.platforms
            .bilibili
            .user_agent
            .as_deref()
            .is_some_and(|u| u.contains("Firefox/140.0"))
    );
    assert_eq!(parse_ok("").platforms.douyin.user_agent, None);
    let lines = parse_err(
        "[platforms.douyin]\nuser_agent = \"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0\"\n\
         [platforms.bilibili]\nuser_agent = \"a\\nb\"\n",
    );
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(":2: platforms.douyin.user_agent:")
                && l.contains("names no Chrome version")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(":4: platforms.bilibili.user_agent: holds '\\n'")),
        "{lines:#?}"
    );
    let lines = parse_err("[platforms.bilibili]\nuser_agent = \"\"\n");
    assert!(lines[0].contains("is empty"), "{lines:#?}");
    let lines = parse_err("[platforms.douyin]\nuser_agnet = \"x\"\n");
    assert!(
        lines[0].contains("did you mean \"user_agent\""),
        "{lines:#?}"
    );
}

#[test]
fn codecs_are_a_bilibili_preference_per_platform_and_per_room() {
    let c = parse_ok(
        r#"
        [platforms.bilibili]
        codecs = ["hevc", "avc"]
        [[rooms]]
        url = "https://live.bilibili.com/1"
        [[rooms]]
        url = "https://live.bilibili.com/2"
        codecs = ["AVC"]
        [[rooms]]
        url = "https://live.douyin.com/123"
        "#,
    );
    assert_eq!(
        c.platforms.bilibili.codecs,
        Some(vec!["hevc".into(), "avc".into()])
    );
    assert_eq!(c.rooms[0].settings.codecs, ["hevc", "avc"]);
    assert_eq!(c.rooms[1].settings.codecs, ["avc"]);
    // No key: the platform's default order (AVC first, HEVC as the fallback).
    assert!(c.rooms[2].settings.codecs.is_empty());
    assert!(parse_ok("").platforms.bilibili.codecs.is_none());

    let lines = parse_err(
        r#"[platforms.douyin]
codecs = ["avc"]
[platforms.bilibili]
codecs = ["av1"]
[[rooms]]
url = "https://live.bilibili.com/1"
codecs = ["avc", "avc"]
[[rooms]]
url = "https://live.bilibili.com/2"
codecs = []
[[rooms]]
url = "http://127.0.0.1/a.flv"
codecs = ["avc"]
"#,
    );
    let expect = [
        "recorder.toml:2: platforms.douyin.codecs: Douyin offers one codec per quality, chosen by Douyin: remove `codecs`",
        r#"recorder.toml:4: platforms.bilibili.codecs: "av1" is not a codec liverec records (use avc, hevc)"#,
        r#"recorder.toml:7: rooms[0].codecs: "avc" is listed twice"#,
        "recorder.toml:10: rooms[1].codecs: needs at least one codec",
        "recorder.toml:13: rooms[2].codecs: a direct URL has one stream: remove `codecs`",
    ];
    assert_eq!(lines.len(), expect.len(), "{lines:#?}");
    for want in expect {
        assert!(
            lines.iter().any(|l| l.contains(want)),
            "{want}\n  missing in {lines:#?}"
        );
    }
}

#[test]
fn the_request_budget_is_per_platform_with_its_own_defaults() {
    use crate::platform::PlatformKind;
    use crate::platform::limiter::Budget;
    let c = parse_ok("");
    let budget = |c: &Config, k| {
        let p = match k {
            PlatformKind::Douyin => &c.platforms.douyin,
            _ => &c.platforms.bilibili,
        };
        Budget::configured(k, p)
    };
    assert_eq!(
        budget(&c, PlatformKind::Bilibili),
        Budget {
            per_second: 4.0,
            burst: 4
        }
    );
    assert_eq!(
        budget(&c, PlatformKind::Douyin),
        Budget {
            per_second: 1.0,
            burst: 2
        }
    );
    let c = parse_ok(
        "[platforms.bilibili]\nrequests_per_second = 0.5\nburst = 1\n[platforms.douyin]\nrequests_per_second = 3\n",
    );
    assert_eq!(
        budget(&c, PlatformKind::Bilibili),
        Budget {
            per_second: 0.5,
            burst: 1
        }
    );
    assert_eq!(
        budget(&c, PlatformKind::Douyin),
        Budget {
            per_second: 3.0,
            burst: 2
        }
    );
    let lines = parse_err(
        "[platforms.bilibili]\nrequests_per_second = 0\nburst = 0\n[platforms.douyin]\nrequests_per_second = \"fast\"\nburst = 1.5\n",
    );
    let want = [
        "platforms.bilibili.requests_per_second: 0 is out of range (0.01 to 1000 requests per second)",
        "platforms.bilibili.burst: must be at least 1",
        "platforms.douyin.requests_per_second: expected a number, found a string",
        "platforms.douyin.burst: expected a whole number, found float 1.5",
    ];
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    for (line, want) in lines.iter().zip(want) {
        assert!(line.contains(want), "{line:?} lacks {want:?}");
    }
}

#[test]
fn rooms_beyond_their_platforms_budget_are_warned_about_with_the_real_interval() {
    let mut text = String::from("poll_interval = \"30s\"\n");
    for i in 0..300 {
        text.push_str(&format!(
            "[[rooms]]\nurl = \"https://live.douyin.com/{}\"\n",
            800_000_000 + i
        ));
    }
    // A disabled room does not poll: it asks nothing of the budget.
    text.push_str("[[rooms]]\nurl = \"https://live.douyin.com/1\"\nenabled = false\n");
    let c = parse_ok(&text);
    let w: Vec<String> = c
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.key, w.reason))
        .collect();
    assert_eq!(
        w,
        [
            "platforms.douyin: 300 douyin rooms at 30s need 10 requests/s; the douyin budget is 1/s: each room is checked about every 300s"
        ]
    );
    // A budget that covers them: nothing to say.
    let c = parse_ok(&text.replace(
        "poll_interval = \"30s\"\n",
        "poll_interval = \"30s\"\n[platforms.douyin]\nrequests_per_second = 10.0\n",
    ));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn chat_keys_default_by_platform_and_merge_room_over_platform() {
    let c = parse_ok(
        "[platforms.bilibili]\ndanmaku_gifts = true\nlive_push = false\n\
         [platforms.douyin]\ndanmaku = true\n\
         [[rooms]]\nurl = \"https://live.bilibili.com/1000\"\n\
         [[rooms]]\nurl = \"https://live.bilibili.com/2000\"\nlive_push = true\ndanmaku = false\n\
         [[rooms]]\nurl = \"https://live.douyin.com/61234567890\"\n\
         [[rooms]]\nurl = \"http://127.0.0.1:1/a.flv\"\n",
    );
    let chat: Vec<ChatConfig> = c.rooms.iter().map(|r| r.settings.chat).collect();
    let cc = |danmaku, live_push, danmaku_gifts| ChatConfig {
        danmaku,
        live_push,
        danmaku_gifts,
        danmaku_raw: false,
    };
    assert_eq!(chat[0], cc(true, false, true));
    assert_eq!(chat[1], cc(false, true, true));
    assert_eq!(chat[2], cc(true, false, false), "Douyin chat is opt-in");
    assert_eq!(chat[3], cc(false, false, false), "a direct URL has none");
}

#[test]
fn chat_keys_a_platform_cannot_honour_are_refused() {
    let errs = parse_err(
        "[platforms.douyin]\nlive_push = true\n\
         [[rooms]]\nurl = \"http://127.0.0.1:1/a.flv\"\ndanmaku = true\n\
         [[rooms]]\nurl = \"https://live.douyin.com/61234567890\"\nlive_push = true\n\
         [[rooms]]\nurl = \"https://live.bilibili.com/1000\"\ndanmaku = \"yes\"\n",
    );
    let all = errs.join("\n");
    assert!(all.contains("platforms.douyin.live_push"), "{all}");
    assert!(
        all.contains("rooms[0].danmaku: a direct stream URL has no chat"),
        "{all}"
    );
    assert!(all.contains("rooms[1].live_push"), "{all}");
    assert!(all.contains("rooms[2].danmaku"), "{all}");
    // Off is always allowed.
    parse_ok("[[rooms]]\nurl = \"http://127.0.0.1:1/a.flv\"\ndanmaku = false\nlive_push = false\n");
}
