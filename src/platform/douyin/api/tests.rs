//! Decoding tests on byte fixtures (`tests/fixtures/platforms/douyin`, an invented room shaped
//! like the real answers) and hand-made variants of them.

use serde_json::{Value, json};

use super::page::{MAX_PROFILE_ROOMS, MAX_STORES, percent_decode, room_stores_in};
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/platforms/douyin/",
            $name
        ))
        .as_slice()
    };
}

fn edit(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn names(streams: &[DyStream]) -> Vec<String> {
    streams
        .iter()
        .map(|s| {
            let host = url::Url::parse(&s.url)
                .unwrap()
                .host_str()
                .unwrap()
                .to_string();
            format!("{} {} {}", s.quality, s.format_name(), &host[..10])
        })
        .collect()
}

#[test]
fn a_live_room() {
    let r = web_enter(fixture!("web_enter-live.json")).unwrap();
    assert!(r.is_live());
    assert_eq!(r.title, "周末测试场");
    assert_eq!(r.streamer, "测试主播乙");
    assert_eq!(r.room_id.as_deref(), Some("7300000000000000001"));
    assert_eq!(r.web_rid.as_deref(), Some("61234567890"));
    let st = r.status();
    assert!(st.live);
    assert_eq!(st.session_hint.as_deref(), Some("7300000000000000001"));
    assert!(r.refusal().is_none());
}

#[test]
fn stream_data_is_json_in_a_string_and_comes_first() {
    let r = web_enter(fixture!("web_enter-live.json")).unwrap();
    // stream_data: 5 qualities x flv+hls (ao is audio only and skipped); then the legacy maps:
    // 4 flv + 4 hls on other hosts; hls_pull_url repeats FULL_HD1 and is dropped.
    assert_eq!(r.streams.len(), 18, "{:#?}", names(&r.streams));
    assert!(
        r.streams[..10]
            .iter()
            .all(|s| s.origin == Origin::StreamData)
    );
    assert!(r.streams[10..].iter().all(|s| s.origin == Origin::Legacy));
    assert_eq!(r.streams[0].quality, "origin");
    assert_eq!(r.streams[0].codec.as_deref(), Some("h264"));
    assert!(r.streams[0].url.contains("_or4.flv?"));
    assert!(r.streams.iter().all(|s| !s.url.contains("only_audio")));
    // The legacy keys map to qualities: FULL_HD1 origin, HD1 hd, SD1 ld, SD2 sd.
    let legacy: Vec<(&str, bool)> = r.streams[10..14]
        .iter()
        .map(|s| {
            (
                s.quality,
                s.url.contains(&format!(
                    "_{}.flv",
                    match s.quality {
                        "origin" => "or4",
                        q => q,
                    }
                )),
            )
        })
        .collect();
    assert_eq!(
        legacy,
        [("origin", true), ("hd", true), ("sd", true), ("ld", true)]
    );
}

#[test]
fn quality_and_format_order() {
    let r = web_enter(fixture!("web_enter-live.json")).unwrap();
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv", "hls"]));
    assert_eq!(
        names(&o[..5]),
        [
            "origin flv pull-flv-t",
            "origin flv pull-flv-t",
            "origin hls pull-hls-t",
            "origin hls pull-hls-t",
            "hd flv pull-flv-t",
        ]
    );
    assert!(o[0].url.contains("pull-flv-t2"), "stream_data first");
    assert!(o[1].url.contains("pull-flv-t1"));
    // hls only, and a lower preference: hd, then the lower ones, then the higher ones.
    let o = ordered(&r.streams, &s(&["hd"]), &s(&["hls"]));
    let q: Vec<&str> = o.iter().map(|s| s.quality).collect();
    let mut dedup = q.clone();
    dedup.dedup();
    assert_eq!(dedup, ["hd", "sd", "ld", "md", "origin"]);
    assert!(o.iter().all(|s| s.format == StreamFormat::Hls));
    assert_eq!(
        quality_order(&s(&["sd", "origin"])),
        ["sd", "origin", "uhd", "hd", "ld", "md"]
    );
    assert_eq!(quality_order(&[]), QUALITIES);
}

#[test]
fn stream_data_as_an_object_with_missing_and_empty_entries() {
    let b = edit(fixture!("web_enter-live.json"), |v| {
        let su = &mut v["data"]["data"][0]["stream_url"];
        su["live_core_sdk_data"]["pull_data"]["stream_data"] = json!({"data": {
            "hd": {"main": {"flv": "https://x.example/hd.flv", "hls": ""}},
            "uhd": null,
            "origin": {"main": {"flv": "https://x.example/or.flv", "enableEncryption": true}}
        }});
        su.as_object_mut().unwrap().remove("flv_pull_url");
        su["hls_pull_url_map"] = Value::Null;
        su.as_object_mut().unwrap().remove("hls_pull_url");
    });
    let r = web_enter(&b).unwrap();
    assert_eq!(r.streams.len(), 2);
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv", "hls"]));
    assert_eq!(o.len(), 1, "encrypted streams are skipped");
    assert_eq!(o[0].url, "https://x.example/hd.flv");
    // A broken stream_data string is skipped, the legacy maps still count.
    let b = edit(fixture!("web_enter-live.json"), |v| {
        v["data"]["data"][0]["stream_url"]["live_core_sdk_data"]["pull_data"]["stream_data"] =
            json!("{\"data\":{\"origin\":");
    });
    let r = web_enter(&b).unwrap();
    assert!(!r.streams.is_empty());
    assert!(r.streams.iter().all(|s| s.origin == Origin::Legacy));
}

#[test]
fn ended_rooms() {
    let r = web_enter(fixture!("web_enter-offline.json")).unwrap();
    assert_eq!(r.status, Some(4));
    assert!(!r.is_live() && !r.status().live);
    assert_eq!(r.status().session_hint, None);
    assert_eq!(r.streamer, "测试主播乙");
    assert!(matches!(r.refusal(), Some(PlatformError::NoStream(_))));
    let r = web_enter(fixture!("web_enter-ended-prompts.json")).unwrap();
    assert!(!r.is_live());
    assert_eq!(r.status, None);
    // Empty data array, user missing entirely.
    let b = edit(fixture!("web_enter-ended-prompts.json"), |v| {
        v["data"].as_object_mut().unwrap().remove("user");
    });
    assert!(!web_enter(&b).unwrap().is_live());
}

#[test]
fn live_without_stream_url_is_live_but_has_no_stream() {
    let b = edit(fixture!("web_enter-live.json"), |v| {
        v["data"]["data"][0]
            .as_object_mut()
            .unwrap()
            .remove("stream_url");
    });
    let r = web_enter(&b).unwrap();
    assert!(r.is_live());
    assert!(matches!(r.refusal(), Some(PlatformError::NoStream(_))));
}

#[test]
fn numbers_as_strings_nulls_and_missing_fields() {
    let b = edit(fixture!("web_enter-live.json"), |v| {
        let room = &mut v["data"]["data"][0];
        room["status"] = json!("2");
        room["title"] = Value::Null;
        v["data"]["user"]["nickname"] = Value::Null;
        v["status_code"] = json!("0");
    });
    let r = web_enter(&b).unwrap();
    assert!(r.is_live());
    assert_eq!(r.title, "");
    assert_eq!(r.streamer, "测试主播乙", "falls back to owner.nickname");
    // status only in status_str
    let b = edit(fixture!("web_enter-offline.json"), |v| {
        v["data"]["data"][0]
            .as_object_mut()
            .unwrap()
            .remove("status");
    });
    assert_eq!(web_enter(&b).unwrap().status, Some(4));
    // no status at all: nobody can tell
    let b = edit(&b, |v| {
        v["data"]["data"][0]
            .as_object_mut()
            .unwrap()
            .remove("status_str");
    });
    assert!(matches!(web_enter(&b), Err(PlatformError::Malformed(_))));
}

#[test]
fn risk_control_shapes_are_never_offline() {
    // The measured answer without a valid ttwid: HTTP 200, empty body.
    assert!(matches!(web_enter(b""), Err(PlatformError::Blocked(_))));
    assert!(matches!(
        web_enter(b"<html><script>__ac_nonce</script></html>"),
        Err(PlatformError::Blocked(_))
    ));
    // No room, no user, no prompts.
    let e = web_enter(br#"{"data":{"data":[]},"status_code":0}"#).unwrap_err();
    assert!(matches!(e, PlatformError::Malformed(_)), "{e}");
    let e = web_enter(br#"{"data":{"message":"x"},"status_code":10037}"#).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Malformed(m) if m.contains("10037")),
        "{e}"
    );
    let whole = fixture!("web_enter-live.json");
    for cut in [1, 100, whole.len() / 2, whole.len() - 2] {
        assert!(matches!(
            web_enter(&whole[..cut]),
            Err(PlatformError::Malformed(_))
        ));
    }
}

#[test]
fn a_cancelled_account_is_not_found() {
    let b = edit(fixture!("web_enter-offline.json"), |v| {
        v["data"]["user"]["nickname"] = json!("账号已注销");
    });
    assert!(matches!(web_enter(&b), Err(PlatformError::NotFound(_))));
}

#[test]
fn reflow_gives_the_web_rid_and_the_streams() {
    let r = reflow(fixture!("reflow-live.json")).unwrap();
    assert_eq!(r.web_rid.as_deref(), Some("61234567890"));
    assert!(r.is_live());
    assert_eq!(r.room_id.as_deref(), Some("7300000000000000001"));
    assert!(!r.streams.is_empty());
    assert!(r.refusal().is_none());
    // Refused (unsigned, or a signature it does not take): unknown, never a fact.
    let e = reflow(fixture!("reflow-rejected.json")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Malformed(m) if m.contains("10011")),
        "{e}"
    );
    // Ended: still names the room.
    let r = reflow(fixture!("reflow-offline.json")).unwrap();
    assert!(!r.is_live());
    assert_eq!(r.web_rid.as_deref(), Some("61234567890"));
    // A profile whose streamer is not live: the user, no room.
    let r = reflow(fixture!("reflow-profile-not-live.json")).unwrap();
    assert_eq!(r.web_rid, None);
    assert_eq!(r.streamer, "测试主播乙");
    assert!(!r.is_live());
    assert!(reflow(br#"{"data":{},"status_code":0}"#).is_err());
    assert!(matches!(reflow(b""), Err(PlatformError::Blocked(_))));
    assert!(matches!(
        reflow(fixture!("captcha.html")),
        Err(PlatformError::Blocked(m)) if m.contains("captcha")
    ));
}

#[test]
fn the_page_takes_the_second_room_store() {
    let r = page(fixture!("page-live.html")).unwrap();
    assert!(r.is_live());
    assert_eq!(r.web_rid.as_deref(), Some("61234567890"));
    assert_eq!(r.streamer, "测试主播乙");
    assert_eq!(r.title, "周末测试场");
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv"]));
    assert!(o[0].url.contains("_or4.flv?"), "{:?}", o[0].url);
    // Escapes are undone properly: the URL's & and the title's characters are intact.
    assert!(o[0].url.contains("&sign="));
}

#[test]
fn pages_without_state_offline_and_unknown_rooms() {
    assert!(matches!(
        page(b"<html><script>var __ac_nonce='x'</script></html>"),
        Err(PlatformError::Blocked(_))
    ));
    let offline = br#"{"roomStore":{"roomInfo":{"room":{"id_str":"1","status":4,"title":"t"},"web_rid":"5","anchor":{"nickname":"n"},"web_stream_url":null}}}"#;
    let r = page_state(offline).unwrap();
    assert!(!r.is_live());
    assert_eq!(r.streamer, "n");
    // A page that names no room says nothing about the room: unknown, never "no such room"
    // (which would end a recording).
    let unknown = br#"{"roomStore":{"roomInfo":{"web_rid":"999","web_stream_url":null}}}"#;
    assert!(matches!(
        page_state(unknown),
        Err(PlatformError::Malformed(_))
    ));
    // The old RENDER_DATA form: URL-encoded JSON.
    let json = r#"{"app":{"initialState":{"roomStore":{"roomInfo":{"room":{"id_str":"7","status":2,"title":"a b"},"web_rid":"5","anchor":{"nickname":"n"}}}}}}"#;
    let enc: String = json
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let html =
        format!("<html><script id=\"RENDER_DATA\" type=\"application/json\">{enc}</script></html>");
    let r = page(html.as_bytes()).unwrap();
    assert!(r.is_live());
    assert_eq!(r.title, "a b");
}

#[test]
fn ttwid_from_set_cookie_lines() {
    assert_eq!(
        ttwid_from_set_cookie("ttwid=1%7Cabc%7C123; Path=/; Domain=douyin.com; HttpOnly"),
        Some("1%7Cabc%7C123".into())
    );
    assert_eq!(ttwid_from_set_cookie("other=1; Path=/"), None);
    assert_eq!(ttwid_from_set_cookie("ttwid=; Path=/"), None);
}

#[test]
fn nothing_panics_on_odd_shapes() {
    let odd: &[&[u8]] = &[
        br#"{"status_code":0,"data":{"data":[{"status":2,"stream_url":{"flv_pull_url":[1,2],"live_core_sdk_data":{"pull_data":{"stream_data":5}}}}]}}"#,
        br#"{"status_code":0,"data":{"data":[null],"user":"x"}}"#,
        br#"{"status_code":0,"data":null}"#,
        br#"[]"#,
        br#"self.__pace_f.push([1,"\u00"#,
        b"self.__pace_f.push([1,\"\\\"roomStore\\\":{\"])",
        b"id=\"RENDER_DATA\">%E4%B8%</script>",
        b"id=\"RENDER_DATA\"></script>>",
    ];
    for b in odd {
        let _ = web_enter(b);
        let _ = reflow(b);
        let _ = page(b);
        let _ = page_state(b);
    }
    assert_eq!(percent_decode("%"), "%");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%41%zz"), "A%zz");
}

#[test]
fn nested_and_repeated_room_stores_are_bounded() {
    // Each roomStore nested in the previous one: parsed once, as part of the outermost.
    let depth = 100;
    let mut nested = String::from("{}");
    for _ in 0..depth {
        nested = format!("{{\"x\":1,\"roomStore\":{nested}}}");
    }
    let text = format!("\"roomStore\":{nested}");
    let mut found = Vec::new();
    room_stores_in(&text, &mut found);
    assert_eq!(found.len(), 1);
    // Thousands of them one after the other: at most MAX_STORES are kept.
    let many = "\"roomStore\":{\"roomInfo\":{}},".repeat(5000);
    let mut found = Vec::new();
    room_stores_in(&many, &mut found);
    assert_eq!(found.len(), MAX_STORES);
    // The same inside page chunks, and the page is still judged (nothing in them).
    let push = |chunk: &str| {
        format!(
            "<script>self.__pace_f.push([1,{}])</script>",
            serde_json::to_string(chunk).unwrap()
        )
    };
    let html = format!("<html>{}{}</html>", push(&text), push(&many)).repeat(50);
    assert!(page(html.as_bytes()).is_err());
}

fn url_encoded(json: &str) -> String {
    json.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn a_profile_page_names_the_live_rooms_it_shows() {
    let render = |json: &str| {
        format!(
            "<html><script id=\"RENDER_DATA\" type=\"application/json\">{}</script></html>",
            url_encoded(json)
        )
    };
    let rooms = |html: &str| profile_rooms(html.as_bytes());
    let live = render(
        r#"{"app":{"user":{"secUid":"MS4w","nickname":"n","roomData":{"status":2,"owner":{"web_rid":"61234567890"}}}}}"#,
    );
    assert_eq!(rooms(&live), Some(vec!["61234567890".to_string()]));
    // The same id twice is one room; a number is read too.
    let twice = render(r#"{"a":{"web_rid":"5"},"b":{"web_rid":5}}"#);
    assert_eq!(rooms(&twice), Some(vec!["5".to_string()]));
    // In a pace_f chunk.
    let chunk = serde_json::to_string("d:[\"$\",null,{\"web_rid\":\"77\"}]").unwrap();
    let paced = format!("<script>self.__pace_f.push([1,{chunk}])</script>");
    assert_eq!(rooms(&paced), Some(vec!["77".to_string()]));
    // Not live: the state names no room. No state at all (a challenge page): nothing known.
    let offline = render(r#"{"app":{"user":{"secUid":"MS4w","nickname":"n","web_rid":""}}}"#);
    assert_eq!(rooms(&offline), Some(vec![]));
    assert_eq!(profile_rooms(b"<html>__ac_nonce</html>"), None);
    // Several rooms (the streamer's and recommended ones): all of them, in page order, for
    // the caller to tell whose is whose.
    let others = render(r#"{"rec":[{"web_rid":"1"},{"web_rid":"2"}],"me":{"web_rid":"3"}}"#);
    assert_eq!(
        rooms(&others),
        Some(vec!["1".to_string(), "2".to_string(), "3".to_string()])
    );
    // Thousands of different ids: a bounded few.
    let many: String = (0..5000).map(|i| format!("\"web_rid\":\"{i}\",")).collect();
    let got = rooms(&render(&format!("{{{many}}}"))).unwrap();
    assert_eq!(got.len(), MAX_PROFILE_ROOMS);
}

#[test]
fn a_profile_page_of_a_streamer_not_live_may_name_another_streamers_room() {
    // The page of a streamer who is not live, recommending someone else's live: the only room
    // it names is not theirs (the resolver checks whose it is before taking it).
    let got = profile_rooms(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/platforms/douyin/profile-other-room.html"
    )));
    assert_eq!(got, Some(vec!["61234567890".to_string()]));
}

#[test]
fn an_empty_body_and_html_444_and_captcha_pages_are_blocks() {
    assert!(fixture!("web_enter-empty.txt").is_empty());
    let e = web_enter(fixture!("web_enter-empty.txt")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("empty")),
        "{e}"
    );
    // A 444's body never reaches a parser (the status is the block); were it read, it would
    // still not be taken for an answer.
    assert!(matches!(
        web_enter(fixture!("http-444.html")),
        Err(PlatformError::Blocked(_))
    ));
    let e = web_enter(fixture!("captcha.html")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("captcha (验证码)") || m.contains("captcha page")),
        "{e}"
    );
    assert!(is_captcha(fixture!("captcha.html")));
    assert!(!is_captcha(fixture!("page-live-2026.html")));
    let e = page(fixture!("captcha.html")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("captcha")),
        "{e}"
    );
    let e = page(fixture!("page-challenge.html")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("challenge")),
        "{e}"
    );
}

#[test]
fn status_code_30003_is_a_live_that_ended() {
    let r = web_enter(fixture!("web_enter-ended-30003.json")).unwrap();
    assert!(!r.is_live());
    assert!(!r.status().live);
    assert!(r.prompts.contains("30003"));
    assert!(r.unrecordable().is_none());
    assert!(matches!(r.refusal(), Some(PlatformError::NoStream(_))));
    // Whatever the data holds.
    let b = edit(fixture!("web_enter-live.json"), |v| {
        v["status_code"] = json!(30003);
    });
    assert!(!web_enter(&b).unwrap().is_live());
}

#[test]
fn a_live_hidden_from_this_viewer_is_not_recordable_with_the_reason() {
    let r = web_enter(fixture!("web_enter-not-visible.json")).unwrap();
    assert_eq!(r.hidden.as_deref(), Some(NOT_VISIBLE));
    assert_eq!(r.streamer, "测试主播丙");
    let why = r.unrecordable().unwrap();
    assert!(why.contains(NOT_VISIBLE) && why.contains("cookie"), "{why}");
    assert!(matches!(r.refusal(), Some(PlatformError::Unsupported(m)) if m == why));
    // The same prompt beside a room object.
    let b = edit(fixture!("web_enter-live.json"), |v| {
        v["data"]["prompts"] = json!(NOT_VISIBLE);
    });
    assert!(web_enter(&b).unwrap().unrecordable().is_some());
}

#[test]
fn ws_secret_urls_without_or4_and_bytevc1() {
    let r = web_enter(fixture!("web_enter-live-wssecret-bytevc1.json")).unwrap();
    assert!(r.is_live());
    assert!(r.streams.iter().all(|s| !s.url.contains("_or4")));
    assert!(r.streams.iter().all(|s| s.url.contains("wsSecret=")));
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv", "hls"]));
    assert_eq!(o[0].quality, "origin");
    assert_eq!(o[0].format, StreamFormat::Flv);
    assert_eq!(o[0].codec.as_deref(), Some("bytevc1"));
    assert_eq!(o[0].origin, Origin::StreamData);
    assert!(
        o[0].url.contains("/stream-118000000000000001.flv?"),
        "{}",
        o[0].url
    );
    // The audio-only entry of a video live is left out.
    assert!(r.streams.iter().all(|s| s.quality != AUDIO_ONLY));
    // stream_data: 5 qualities x 2 formats; legacy: 4 + 4 (hls_pull_url repeats FULL_HD1).
    assert_eq!(r.streams.len(), 18, "{:#?}", names(&r.streams));
}

#[test]
fn a_double_screen_lives_raw_stream_comes_first() {
    let r = web_enter(fixture!("web_enter-live-pull_datas.json")).unwrap();
    let ds: Vec<&DyStream> = r
        .streams
        .iter()
        .filter(|s| s.origin == Origin::DoubleScreen)
        .collect();
    assert_eq!(ds.len(), 6, "3 qualities x flv + hls");
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv"]));
    assert_eq!(o[0].origin, Origin::DoubleScreen);
    assert!(o[0].url.contains("stream-100000000000000009_or4.flv"));
    // Then the usual origin FLVs, then the lower qualities (double screen first again).
    assert_eq!(o[1].origin, Origin::StreamData);
    assert_eq!(o[1].quality, "origin");
    let hd: Vec<Origin> = o
        .iter()
        .filter(|s| s.quality == "hd")
        .map(|s| s.origin)
        .collect();
    assert_eq!(
        hd,
        [Origin::DoubleScreen, Origin::StreamData, Origin::Legacy]
    );
    // An empty pull_datas (as in most answers) adds nothing.
    let plain = web_enter(fixture!("web_enter-live.json")).unwrap();
    assert!(
        plain
            .streams
            .iter()
            .all(|s| s.origin != Origin::DoubleScreen)
    );
}

#[test]
fn a_radio_live_offers_its_audio_only_stream() {
    let r = web_enter(fixture!("web_enter-radio.json")).unwrap();
    assert!(r.radio);
    assert!(r.is_live());
    assert!(r.refusal().is_none());
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv", "hls"]));
    assert_eq!(o.len(), 2);
    assert_eq!(o[0].quality, AUDIO_ONLY);
    assert_eq!(o[0].format, StreamFormat::Flv);
    assert!(o[0].url.contains("only_audio=1"));
    assert_eq!(o[1].format, StreamFormat::Hls);
    // A radio room that says 4 has ended like any other.
    let b = edit(fixture!("web_enter-radio.json"), |v| {
        v["data"]["data"][0]["status"] = json!(4);
    });
    assert!(!web_enter(&b).unwrap().is_live());
}

#[test]
fn a_live_listed_without_a_stream_url() {
    let r = web_enter(fixture!("web_enter-live-no-stream-url.json")).unwrap();
    assert!(r.is_live());
    assert!(r.streams.is_empty());
    assert_eq!(r.room_id.as_deref(), Some("7300000000000000001"));
    assert_eq!(
        r.sec_uid.as_deref(),
        Some("MS4wLjABAAAAtestSecUid_000000000000000000000000000000000000000"),
        "what the reflow API is asked by"
    );
    assert!(matches!(r.refusal(), Some(PlatformError::NoStream(_))));
    assert!(r.unrecordable().is_none());
}

#[test]
fn the_2026_page_has_no_anchor_and_any_push_index() {
    let r = page(fixture!("page-live-2026.html")).unwrap();
    assert!(r.is_live());
    assert_eq!(r.streamer, "测试主播乙", "from room.owner.nickname");
    assert_eq!(r.title, "周末测试场");
    assert_eq!(r.room_id.as_deref(), Some("7300000000000000001"));
    let o = ordered(&r.streams, &s(&["origin"]), &s(&["flv"]));
    assert_eq!(o.len(), 4);
    assert!(o[0].url.contains("stream-118000000000000001.flv?"));
    assert!(
        o[0].url.contains("&wsSecret="),
        "escapes undone: {}",
        o[0].url
    );
    // The chunk index is not always 1.
    let html =
        String::from_utf8_lossy(fixture!("page-live-2026.html")).replace("push([1,", "push([12,");
    assert!(page(html.as_bytes()).unwrap().is_live());
    // A page whose state has no room at all: unknown, not "no such room".
    let html = String::from_utf8_lossy(fixture!("page-live-2026.html"))
        .replace("\\\"room\\\":", "\\\"gone\\\":");
    let e = page(html.as_bytes()).unwrap_err();
    assert!(matches!(e, PlatformError::Malformed(_)), "{e}");
}

#[test]
fn a_ttwid_from_the_register_endpoint() {
    let line = String::from_utf8_lossy(fixture!("ttwid_register-set-cookie.txt"));
    let v = ttwid_from_set_cookie(line.trim()).unwrap();
    assert!(v.starts_with("1%7Cfake-register-ttwid%7C"), "{v}");
}
