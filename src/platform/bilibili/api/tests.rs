//! Decoding tests on byte fixtures (`tests/fixtures/platforms/bilibili`, invented rooms shaped
//! like the real answers) and hand-made variants of them.

use serde_json::{Value, json};

use super::pick::wanted_qn;
use super::*;
use crate::platform::StreamFormat;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/platforms/bilibili/",
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

fn info(bytes: &[u8]) -> RoomInfo {
    match room_info(bytes).unwrap() {
        Signed::Data(i) => i,
        Signed::Refused(r) => panic!("refused: {r}"),
    }
}

fn play(bytes: &[u8]) -> PlayInfo {
    match play_info(bytes).unwrap() {
        Signed::Data(i) => i,
        Signed::Refused(r) => panic!("refused: {r}"),
    }
}

/// Preferences with the default codec order (no `codecs` key).
fn prefs<'a>(quality: &'a [String], formats: &'a [String]) -> Prefs<'a> {
    Prefs {
        quality,
        formats,
        codecs: &[],
    }
}

#[test]
fn room_init_resolves_a_short_id() {
    let r = room_init(fixture!("room_init-live.json")).unwrap();
    assert_eq!((r.room_id, r.short_id, r.uid), (7734200, 77, 3141592));
    assert_eq!(r.live_status, 1);
    let e = room_init(fixture!("room_init-not-found.json")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::NotFound(m) if m.contains("60004")),
        "{e}"
    );
    // Numbers as strings are read; a missing room id is an error, not room 0.
    let r = room_init(br#"{"code":"0","data":{"room_id":"5","live_status":"1"}}"#).unwrap();
    assert_eq!((r.room_id, r.live_status), (5, 1));
    for bad in [
        &br#"{"code":0,"data":{}}"#[..],
        br#"{"code":0,"data":null}"#,
        br#"{"code":0,"data":{"room_id":0}}"#,
        br#"{"data":{"room_id":5}}"#,
        br#"[1,2]"#,
    ] {
        assert!(
            matches!(room_init(bad), Err(PlatformError::Malformed(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn live_offline_and_round_play() {
    let live = info(fixture!("getInfoByRoom-live.json"));
    assert!(live.is_live());
    assert_eq!(live.room_id, 7734200);
    assert_eq!(live.title, "晚间测试直播");
    assert_eq!(live.streamer, "测试主播甲");
    assert_eq!(live.session_hint().as_deref(), Some("1763712000"));
    let st = live.status();
    assert!(st.live && st.title == live.title && st.streamer == live.streamer);

    let off = info(fixture!("getInfoByRoom-offline.json"));
    assert!(!off.is_live());
    assert_eq!(off.session_hint(), None);
    assert_eq!(off.streamer, "测试主播甲");

    // 2 is a replay loop of old videos: not live.
    let round = info(fixture!("getInfoByRoom-roundplay.json"));
    assert_eq!(round.live_status, 2);
    assert!(!round.is_live() && !round.status().live);
}

#[test]
fn a_new_broadcast_changes_the_session_hint() {
    let a = info(fixture!("getInfoByRoom-live.json"));
    let b = info(&edit(fixture!("getInfoByRoom-live.json"), |v| {
        v["data"]["room_info"]["live_start_time"] = json!(1763719999);
    }));
    assert_ne!(a.session_hint(), b.session_hint());
    // Without a start time the live id stands in.
    let c = info(&edit(fixture!("getInfoByRoom-live.json"), |v| {
        v["data"]["room_info"]["live_start_time"] = json!(0);
    }));
    assert_eq!(c.session_hint().as_deref(), Some("900000000000000001"));
}

#[test]
fn null_missing_and_string_fields() {
    let b = edit(fixture!("getInfoByRoom-live.json"), |v| {
        let r = &mut v["data"]["room_info"];
        r["live_status"] = json!("1");
        r["live_start_time"] = json!("1763712000");
        r["title"] = Value::Null;
        r.as_object_mut().unwrap().remove("live_id_str");
        v["data"]["anchor_info"] = Value::Null;
    });
    let i = info(&b);
    assert!(i.is_live());
    assert_eq!(i.live_start_time, 1763712000);
    assert_eq!((i.title.as_str(), i.streamer.as_str()), ("", ""));
    // Without live_status nobody can say: an error, never "offline".
    let b = edit(fixture!("getInfoByRoom-live.json"), |v| {
        v["data"]["room_info"]
            .as_object_mut()
            .unwrap()
            .remove("live_status");
    });
    assert!(matches!(room_info(&b), Err(PlatformError::Malformed(_))));
    let b = edit(fixture!("getInfoByRoom-live.json"), |v| {
        v["data"]["room_info"]["live_status"] = Value::Null;
    });
    assert!(matches!(room_info(&b), Err(PlatformError::Malformed(_))));
    assert!(matches!(
        room_info(br#"{"code":0,"data":null}"#),
        Err(PlatformError::Malformed(_))
    ));
}

#[test]
fn truncated_html_and_empty_bodies() {
    let whole = fixture!("getInfoByRoom-live.json");
    for cut in [1, 10, whole.len() / 2, whole.len() - 3] {
        let e = room_info(&whole[..cut]).unwrap_err();
        assert!(
            matches!(e, PlatformError::Malformed(_)),
            "cut at {cut}: {e}"
        );
    }
    let e = room_info(b"<html><body>412 Precondition Failed</body></html>").unwrap_err();
    assert!(matches!(e, PlatformError::Blocked(_)), "{e}");
    assert!(matches!(room_info(b""), Err(PlatformError::Blocked(_))));
    assert!(matches!(play_info(b"  "), Err(PlatformError::Blocked(_))));
    assert!(matches!(
        room_init(b"\xff\xfe\x00garbage"),
        Err(PlatformError::Malformed(_))
    ));
}

#[test]
fn risk_control_codes_of_unsigned_endpoints_are_blocks() {
    for body in [
        fixture!("error-352-voucher.json"),
        fixture!("error-352-bare.json"),
        fixture!("error-412.json"),
    ] {
        for e in [room_init(body).unwrap_err(), play_url_v1(body).unwrap_err()] {
            assert!(matches!(e, PlatformError::Blocked(_)), "{e}");
        }
    }
    // -412 is a block wherever it comes from.
    let body = fixture!("error-412.json");
    for e in [room_info(body).unwrap_err(), play_info(body).unwrap_err()] {
        assert!(
            matches!(&e, PlatformError::Blocked(m) if m.contains("-412")),
            "{e}"
        );
    }
    let e =
        room_info(r#"{"code":-799,"message":"请求过于频繁","data":null}"#.as_bytes()).unwrap_err();
    assert!(matches!(e, PlatformError::Blocked(_)));
    let e = play_info(r#"{"code":-400,"message":"参数错误","data":null}"#.as_bytes()).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Malformed(m) if m.contains("-400")),
        "{e}"
    );
}

#[test]
fn the_http_412_page_is_a_block() {
    // Bilibili's HTTP 412 comes with an HTML page; the status alone pauses the platform (see
    // web.rs), and the page read as an answer is a block too, never "malformed".
    let page = fixture!("http-412.html");
    for e in [
        room_info(page).unwrap_err(),
        play_info(page).unwrap_err(),
        room_init(page).unwrap_err(),
    ] {
        assert!(
            matches!(&e, PlatformError::Blocked(m) if m.contains("HTML")),
            "{e}"
        );
    }
}

#[test]
fn minus_352_on_a_signed_endpoint_is_a_refused_call_not_a_block() {
    // The bare form (BililiveRecorder #663) and the one with a voucher (downkyi #1157).
    let bare = fixture!("error-352-bare.json");
    let voucher = fixture!("error-352-voucher.json");
    assert_eq!(
        room_info(bare).unwrap(),
        Signed::Refused(Refusal::Code352("-352".into()))
    );
    assert_eq!(
        play_info(voucher).unwrap(),
        Signed::Refused(Refusal::Code352("风控校验失败".into()))
    );
    // How the refusal reads in a log line.
    assert_eq!(Refusal::Code352("-352".into()).to_string(), "code -352");
    assert_eq!(
        Refusal::Code352("风控校验失败".into()).to_string(),
        "code -352 \"风控校验失败\""
    );
    assert_eq!(Refusal::Voucher.to_string(), "a v_voucher instead of data");
}

#[test]
fn unknown_and_encrypted_rooms() {
    let e = room_info(br#"{"code":19002000,"message":"","data":null}"#).unwrap_err();
    assert!(matches!(e, PlatformError::NotFound(_)));
    let e = room_info(br#"{"code":19002005,"message":"","data":null}"#).unwrap_err();
    assert!(matches!(e, PlatformError::Unsupported(_)));
    let p = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["encrypted"] = json!(true);
        v["data"]["pwd_verified"] = json!(false);
    }));
    assert!(matches!(p.refusal(), Some(PlatformError::Unsupported(_))));
    assert!(p.unrecordable().unwrap().contains("password"));
    // Entered already (pwd_verified): recordable.
    let p = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["encrypted"] = json!(true);
    }));
    assert_eq!(p.unrecordable(), None);
}

#[test]
fn paid_and_password_lives_show_in_the_status() {
    // getInfoByRoom: special_type 1 on a live room.
    let paid = info(&edit(fixture!("getInfoByRoom-live.json"), |v| {
        v["data"]["room_info"]["special_type"] = json!(1);
    }));
    assert!(paid.is_paid());
    let st = paid.status();
    assert!(st.live);
    assert!(st.unrecordable.unwrap().contains("paid live"));
    // Offline, nothing to say.
    let off = info(&edit(fixture!("getInfoByRoom-offline.json"), |v| {
        v["data"]["room_info"]["special_type"] = json!(1);
    }));
    assert_eq!(off.status().unrecordable, None);
    assert_eq!(
        info(fixture!("getInfoByRoom-live.json"))
            .status()
            .unrecordable,
        None
    );

    // room_init (the unsigned stand-in): is_sp 1.
    let init = room_init(fixture!("room_init-paid.json")).unwrap();
    assert_eq!(init.is_sp, 1);
    assert!(init.status().unrecordable.unwrap().contains("paid live"));
    let only_is_sp = room_init(&edit(fixture!("room_init-paid.json"), |v| {
        v["data"]["special_type"] = json!(0);
    }))
    .unwrap();
    assert!(only_is_sp.unrecordable().is_some(), "is_sp alone says paid");
    let password = room_init(&edit(fixture!("room_init-live.json"), |v| {
        v["data"]["encrypted"] = json!(true);
    }))
    .unwrap();
    assert!(password.status().unrecordable.unwrap().contains("password"));
    let normal = room_init(fixture!("room_init-live.json")).unwrap();
    assert_eq!((normal.is_sp, normal.status().unrecordable), (0, None));
}

#[test]
fn drm_and_guard_only_lives_cannot_be_recorded() {
    let drm = play(fixture!("getRoomPlayInfo-drm-203.json"));
    assert_eq!(drm.special_types, [203]);
    let why = drm.unrecordable().unwrap();
    assert!(why.contains("DRM") && why.contains("203"), "{why}");
    assert!(matches!(drm.refusal(), Some(PlatformError::Unsupported(m)) if m == why));

    let guard = play(fixture!("getRoomPlayInfo-guard-only.json"));
    assert_eq!((guard.listed_streams, guard.streams.len()), (Some(0), 0));
    assert!(guard.unrecordable().unwrap().contains("guard-only"));
    assert!(matches!(
        guard.refusal(),
        Some(PlatformError::Unsupported(_))
    ));

    // Other special types (19 in a real answer) do not stop a recording; neither does a
    // stream list whose entries are all unusable (that is "no stream", not "guard-only").
    let p = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["all_special_types"] = json!([19]);
    }));
    assert_eq!(p.unrecordable(), None);
    let p = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["playurl_info"]["playurl"]["stream"] = json!([{"protocol_name": "rtmp"}]);
    }));
    assert_eq!((p.listed_streams, p.unrecordable()), (Some(1), None));
    // A `stream` that is not a list says nothing.
    let p = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["playurl_info"]["playurl"]["stream"] = json!("x");
    }));
    assert_eq!((p.listed_streams, p.unrecordable()), (None, None));
    // Offline rooms are offline, whatever their type.
    let p = play(&edit(fixture!("getRoomPlayInfo-offline.json"), |v| {
        v["data"]["all_special_types"] = json!([203]);
    }));
    assert_eq!(p.unrecordable(), None);
    assert!(matches!(p.refusal(), Some(PlatformError::NoStream(_))));
}

#[test]
fn play_info_reads_every_stream_and_skips_empty_codecs() {
    let p = play(fixture!("getRoomPlayInfo-live.json"));
    assert!(p.is_live() && p.refusal().is_none());
    // flv hevc, flv avc, ts avc, fmp4 avc; the empty fmp4 hevc entry (url_info null) is skipped.
    let kinds: Vec<(&str, &str)> = p
        .streams
        .iter()
        .map(|s| (s.format.name(), s.codec.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("flv", "hevc"),
            ("flv", "avc"),
            ("hls-ts", "avc"),
            ("hls-fmp4", "avc")
        ]
    );
    assert_eq!(p.accept_qn(), [10000, 400, 250, 150]);
    assert_eq!(p.qn_label(10000), "10000 原画");
    assert_eq!(p.qn_label(1), "1");
}

#[test]
fn offline_play_info_has_no_stream() {
    let p = play(fixture!("getRoomPlayInfo-offline.json"));
    assert!(!p.is_live() && !p.has_playurl);
    assert!(matches!(p.refusal(), Some(PlatformError::NoStream(_))));
    // Live, but no playurl: area-blocked.
    let p = play(&edit(fixture!("getRoomPlayInfo-offline.json"), |v| {
        v["data"]["live_status"] = json!(1);
    }));
    assert!(matches!(p.refusal(), Some(PlatformError::NoStream(m)) if m.contains("region")));
}

#[test]
fn candidates_follow_formats_codecs_and_put_mcdn_last() {
    let p = play(fixture!("getRoomPlayInfo-live.json"));
    let best = s(&["best"]);
    let all = s(&["flv", "hls-fmp4", "hls-ts"]);
    let c = candidates(&p, &prefs(&best, &all));
    let hosts: Vec<String> = c
        .iter()
        .map(|c| {
            let u = url::Url::parse(&c.url).unwrap();
            format!("{} {} {}", c.format.name(), c.codec, u.host_str().unwrap())
        })
        .collect();
    // The avc entry lists a P2P node on :4483 first: it goes last.
    assert_eq!(
        hosts,
        [
            "flv avc cn-test-ct-01-01.bilivideo.com",
            "flv avc d1--cn-gotcha09.bilivideo.com",
            "flv avc xy1x2x3x4xy.mcdn.bilivideo.cn",
            "flv hevc cn-test-ct-01-02.bilivideo.com",
            "hls-fmp4 avc cn-test-ct-01-01.bilivideo.com",
            "hls-ts avc cn-test-ct-01-01.bilivideo.com",
        ]
    );
    // host + base_url + extra, untouched (the signature covers the query).
    assert_eq!(
        c[0].url,
        "https://cn-test-ct-01-01.bilivideo.com/live-bvc/000001/live_3141592_0000001.flv?expires=1763715600&len=0&oi=0&pt=web&qn=10000&trid=1000aa&sigparams=cdn,expires,len,oi,pt,qn,trid&cdn=cn-gotcha01&sign=00000000000000000000000000000002&p2p_type=1&src=5&sl=1&order=1"
    );
    assert_eq!(c[0].format.stream_format(), StreamFormat::Flv);
    assert_eq!(c[4].format.stream_format(), StreamFormat::Hls);
    assert_eq!(c[0].quality, "10000 原画 avc");
    // Only the configured formats, in the configured order.
    let order = s(&["hls-ts", "flv"]);
    let only = candidates(&p, &prefs(&best, &order));
    assert_eq!(only[0].format, BiliFormat::HlsTs);
    assert!(only[1..].iter().all(|c| c.format == BiliFormat::Flv));
    assert!(candidates(&p, &prefs(&best, &s(&["hls-fmp4"]))).len() == 1);
}

#[test]
fn the_mcdn_host_of_a_capped_answer_goes_last_too() {
    let p = play(fixture!("getRoomPlayInfo-capped-250.json"));
    let (best, flv) = (s(&["best"]), s(&["flv"]));
    let c = candidates(&p, &prefs(&best, &flv));
    assert_eq!(c.len(), 2);
    assert!(
        c[0].url
            .starts_with("https://cn-test-ct-01-01.bilivideo.com/")
    );
    assert!(
        c[1].url
            .starts_with("https://xy9x8x7x6xy.mcdn.bilivideo.cn:4483/")
    );
    assert!(
        c.iter()
            .all(|c| c.url.contains("_2500.flv?") && c.qn == 250)
    );
}

#[test]
fn quality_choice_and_rerequest() {
    let p = play(fixture!("getRoomPlayInfo-live.json")); // current 10000, accept 10000/400/250/150
    let flv = s(&["flv"]);
    let (best, q250) = (s(&["best"]), s(&["250"]));
    assert_eq!(first_qn(&s(&["best"])), 10000);
    assert_eq!(first_qn(&s(&["400", "best"])), 400);
    assert_eq!(first_qn(&[]), 10000);
    assert_eq!(wanted_qn(&s(&["best"]), &p.accept_qn()), Some(10000));
    assert_eq!(wanted_qn(&s(&["20000", "400"]), &p.accept_qn()), Some(400));
    // Nothing asked for is there: the best there is.
    assert_eq!(wanted_qn(&s(&["30000"]), &p.accept_qn()), Some(10000));
    assert_eq!(wanted_qn(&s(&["best"]), &[]), None);
    assert_eq!(rerequest_qn(&p, &prefs(&best, &flv)), None);
    assert_eq!(rerequest_qn(&p, &prefs(&q250, &flv)), Some(250));
    // A 4K room answered at 10000: ask again for 20000.
    let k4 = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["playurl_info"]["playurl"]["stream"][0]["format"][0]["codec"][1]["accept_qn"] =
            json!([20000, 10000, 400]);
    }));
    assert_eq!(rerequest_qn(&k4, &prefs(&best, &flv)), Some(20000));
    assert_eq!(rerequest_qn(&k4, &prefs(&s(&["10000"]), &flv)), None);
}

#[test]
fn a_capped_answer_is_below_the_wanted_quality() {
    let (best, all) = (s(&["best"]), s(&["flv", "hls-fmp4", "hls-ts"]));
    let p = play(fixture!("getRoomPlayInfo-capped-250.json"));
    assert_eq!(capped(&p, &prefs(&best, &all)), Some((10000, 250)));
    assert!(served_below(&p, &prefs(&best, &all), 10000));
    assert_eq!(p.qn_label(250), "250 超清");
    // Asking for what was served is no cap.
    let q250 = s(&["250"]);
    assert_eq!(capped(&p, &prefs(&q250, &all)), None);
    assert!(!served_below(&p, &prefs(&q250, &all), 250));
    // Nor is a full answer.
    let full = play(fixture!("getRoomPlayInfo-live.json"));
    assert_eq!(capped(&full, &prefs(&best, &all)), None);
    assert!(!served_below(&full, &prefs(&best, &all), 10000));
    // A room whose 4K is HEVC-only is not "capped" for a room that records AVC first.
    let k4 = play(fixture!("getRoomPlayInfo-hevc-20000.json"));
    assert_eq!(capped(&k4, &prefs(&best, &all)), None);
}

#[test]
fn with_a_codecs_list_quality_comes_first() {
    let k4 = play(fixture!("getRoomPlayInfo-hevc-20000.json"));
    let (best, all) = (s(&["best"]), s(&["flv", "hls-fmp4", "hls-ts"]));
    let kinds = |c: &[Candidate]| -> Vec<String> {
        c.iter()
            .map(|c| format!("{} {} {}", c.format.name(), c.codec, c.qn))
            .collect()
    };
    // Default (no key): AVC first at whatever quality, format by format.
    let d = candidates(&k4, &prefs(&best, &all));
    assert_eq!(
        kinds(&d),
        [
            "flv avc 10000",
            "flv hevc 20000",
            "hls-fmp4 avc 10000",
            "hls-fmp4 hevc 20000"
        ]
    );
    // codecs = ["avc", "hevc"]: the wanted 20000 first (it is HEVC-only), in format order.
    let both = s(&["avc", "hevc"]);
    let with = |codecs: &'static [&'static str]| -> Vec<String> {
        let codecs = s(codecs);
        let p = Prefs {
            quality: &best,
            formats: &all,
            codecs: &codecs,
        };
        kinds(&candidates(&k4, &p))
    };
    assert_eq!(
        with(&["avc", "hevc"]),
        [
            "flv hevc 20000",
            "hls-fmp4 hevc 20000",
            "flv avc 10000",
            "hls-fmp4 avc 10000"
        ]
    );
    // Only avc listed: 10000 is the best it offers; HEVC only after every AVC entry.
    assert_eq!(
        with(&["avc"]),
        [
            "flv avc 10000",
            "hls-fmp4 avc 10000",
            "flv hevc 20000",
            "hls-fmp4 hevc 20000"
        ]
    );
    // A 10000 wanted: the codec order breaks the tie... there is no HEVC 10000 here, so AVC.
    let q10k = s(&["10000"]);
    let p = Prefs {
        quality: &q10k,
        formats: &all,
        codecs: &s(&["hevc", "avc"]),
    };
    assert_eq!(kinds(&candidates(&k4, &p))[0], "flv avc 10000");
    let p = Prefs {
        quality: &best,
        formats: &all,
        codecs: &both,
    };
    assert_eq!(capped(&k4, &p), None);

    // The same room answered at 10000 (both codecs at 10000): the re-request qn comes from
    // the listed codecs' accept_qn only.
    let at10k = play(&edit(fixture!("getRoomPlayInfo-hevc-20000.json"), |v| {
        for e in v["data"]["playurl_info"]["playurl"]["stream"]
            .as_array_mut()
            .unwrap()
        {
            e["format"][0]["codec"][1]["current_qn"] = json!(10000);
        }
    }));
    let avc = s(&["avc"]);
    let only_avc = Prefs {
        quality: &best,
        formats: &all,
        codecs: &avc,
    };
    let both_p = Prefs {
        quality: &best,
        formats: &all,
        codecs: &both,
    };
    assert_eq!(rerequest_qn(&at10k, &only_avc), None);
    assert_eq!(rerequest_qn(&at10k, &both_p), Some(20000));
    // Tie at 10000 between the codecs: the listed order decides.
    let hevc_first = s(&["hevc", "avc"]);
    let p = Prefs {
        quality: &q10k,
        formats: &all,
        codecs: &hevc_first,
    };
    assert_eq!(kinds(&candidates(&at10k, &p))[0], "flv hevc 10000");
    assert_eq!(kinds(&candidates(&at10k, &both_p))[0], "flv avc 10000");
}

#[test]
fn nav_gives_the_wbi_keys_even_when_logged_out() {
    let n = nav(fixture!("nav-anonymous.json")).unwrap();
    assert_eq!(n.keys.img_key, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(n.keys.sub_key, "f9e8d7c6b5a4938271605f4e3d2c1b0a");
    assert_eq!(n.login, Login::default());
    assert_eq!(n.login.describe(), "anonymous");
    assert!(matches!(
        nav(br#"{"code":-101,"data":{"isLogin":false}}"#),
        Err(PlatformError::Malformed(_))
    ));
    assert!(matches!(
        nav(fixture!("error-412.json")),
        Err(PlatformError::Blocked(_))
    ));
}

#[test]
fn nav_tells_who_is_logged_in() {
    let n = nav(fixture!("nav-logged-in.json")).unwrap();
    assert_eq!(n.keys, nav(fixture!("nav-anonymous.json")).unwrap().keys);
    assert_eq!(
        n.login,
        Login {
            logged_in: true,
            uid: 271828,
            uname: "录播测试号".into(),
            vip: true,
        }
    );
    assert_eq!(
        n.login.describe(),
        "logged in as 录播测试号 (uid 271828, 大会员)"
    );
    // -101 is "not logged in", whatever isLogin says; a missing isLogin is not a login.
    let n = nav(&edit(fixture!("nav-logged-in.json"), |v| {
        v["code"] = json!(-101);
    }))
    .unwrap();
    assert!(!n.login.logged_in);
    let n = nav(&edit(fixture!("nav-logged-in.json"), |v| {
        v["data"].as_object_mut().unwrap().remove("isLogin");
    }))
    .unwrap();
    assert!(!n.login.logged_in);
    let n = nav(&edit(fixture!("nav-logged-in.json"), |v| {
        v["data"]["uname"] = json!("");
        v["data"]["vipStatus"] = json!(0);
    }))
    .unwrap();
    assert_eq!(
        n.login.describe(),
        "logged in as an unnamed account (uid 271828)"
    );
}

#[test]
fn legacy_play_url_orders_mirrors() {
    let l = play_url_v1(fixture!("playUrl-v1.json")).unwrap();
    assert_eq!(l.current_qn, 10000);
    assert_eq!(l.accept_qn, [4, 3]);
    assert_eq!(l.urls.len(), 2);
    assert!(
        l.urls[0].starts_with("https://d1--cn-gotcha09"),
        "{:?}",
        l.urls
    );
}

#[test]
fn batch_status_is_keyed_by_uid() {
    // One live anchor, one offline, as the real answer has them: keyed by uid.
    let b = status_by_uids(fixture!("get_status_info_by_uids.json")).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(
        b[0],
        BatchStatus {
            uid: 2718281,
            room_id: 5550001,
            live_status: 0,
            title: "周末录播间".into(),
            streamer: "测试主播丙".into(),
            live_time: 0,
        }
    );
    assert_eq!(
        b[1],
        BatchStatus {
            uid: 3141592,
            room_id: 7734200,
            live_status: 1,
            title: "晚间测试直播".into(),
            streamer: "测试主播甲".into(),
            live_time: 1763712000,
        }
    );
    // A room id sent as a string, a uid only in the key: read all the same.
    let odd = edit(fixture!("get_status_info_by_uids.json"), |v| {
        v["data"]["3141592"]["room_id"] = json!("7734200");
        v["data"]["3141592"].as_object_mut().unwrap().remove("uid");
    });
    assert_eq!(status_by_uids(&odd).unwrap()[1].room_id, 7734200);
    // No anchors asked for: `data: []`.
    let empty = edit(fixture!("get_status_info_by_uids.json"), |v| {
        v["data"] = json!([]);
    });
    assert!(status_by_uids(&empty).unwrap().is_empty());
    // -352 on this unsigned endpoint is risk control.
    let e = status_by_uids(fixture!("error-352-bare.json")).unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("-352")),
        "{e}"
    );
}

#[test]
fn nothing_panics_on_odd_shapes() {
    let odd: &[&[u8]] = &[
        br#"{"code":0,"data":{"playurl_info":{"playurl":{"stream":"x"}},"live_status":1}}"#,
        br#"{"code":0,"data":{"playurl_info":{"playurl":{"stream":[{"format":[{"codec":[{"url_info":[{"host":5}]}]}]}]}},"live_status":1}}"#,
        br#"{"code":0,"data":{"live_status":1,"playurl_info":{"playurl":{"stream":[null,1,{"protocol_name":null}]}}}}"#,
        br#"{"code":1e400}"#,
        br#"{"code":0,"data":{"room_info":{"room_id":-1,"live_status":1}}}"#,
        br#"null"#,
        br#""a string""#,
    ];
    for b in odd {
        let _ = play_info(b);
        let _ = room_info(b);
        let _ = room_init(b);
        let _ = nav(b);
        let _ = play_url_v1(b);
        let _ = status_by_uids(b);
    }
}

fn danmu(bytes: &[u8]) -> Signed<DanmuInfo> {
    danmu_info_as(bytes, "getDanmuInfo").unwrap()
}

#[test]
fn danmu_info_gives_the_token_and_hosts() {
    let Signed::Data(info) = danmu(fixture!("getDanmuInfo.json")) else {
        panic!("refused")
    };
    assert_eq!(info.token, "gZ2Pp2T4rIc2HfD0e53F-fake-token-8xQ==");
    assert_eq!(info.hosts.len(), 3);
    assert_eq!(
        info.hosts[0],
        ChatHost {
            host: "zj-cn-live-comet.chat.bilibili.com".into(),
            ws_port: 2244,
            wss_port: 2245
        }
    );
}

#[test]
fn danmu_info_refusals_and_bad_answers() {
    assert!(matches!(
        danmu(fixture!("error-352-bare.json")),
        Signed::Refused(Refusal::Code352(_))
    ));
    assert!(matches!(
        danmu(fixture!("wbi-voucher.json")),
        Signed::Refused(Refusal::Voucher)
    ));
    let no_token = edit(fixture!("getDanmuInfo.json"), |v| {
        v["data"]["token"] = json!("")
    });
    assert!(danmu_info_as(&no_token, "getDanmuInfo").is_err());
    // A host that would smuggle a path or credentials into the URL is dropped.
    let odd = edit(fixture!("getDanmuInfo.json"), |v| {
        v["data"]["host_list"] = json!([
            {"host": "evil.example/x?", "ws_port": 1, "wss_port": 2},
            {"host": "user@evil", "ws_port": 1, "wss_port": 2},
            {"host": "ok.example", "ws_port": 99999, "wss_port": 443}
        ])
    });
    let Signed::Data(info) = danmu(&odd) else {
        panic!("refused")
    };
    assert_eq!(info.hosts.len(), 1);
    assert_eq!(info.hosts[0].ws_port, 2244, "an impossible port falls back");
    assert!(danmu_info_as(b"<html>", "getDanmuInfo").is_err());
}
