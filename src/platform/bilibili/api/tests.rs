//! Decoding tests on byte fixtures (`tests/fixtures/platforms/bilibili`, invented rooms shaped
//! like the real answers) and hand-made variants of them.

use serde_json::{Value, json};

use super::*;

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
        Signed::WbiRefused => panic!("voucher"),
    }
}

fn play(bytes: &[u8]) -> PlayInfo {
    match play_info(bytes).unwrap() {
        Signed::Data(i) => i,
        Signed::WbiRefused => panic!("voucher"),
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
fn risk_control_codes_are_blocks() {
    for body in [fixture!("error-352.json"), fixture!("error-412.json")] {
        for e in [
            room_info(body).unwrap_err(),
            play_info(body).unwrap_err(),
            room_init(body).unwrap_err(),
        ] {
            assert!(matches!(e, PlatformError::Blocked(_)), "{e}");
        }
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
fn a_voucher_only_answer_is_a_refused_signature() {
    assert_eq!(
        room_info(fixture!("wbi-voucher.json")).unwrap(),
        Signed::WbiRefused
    );
    assert_eq!(
        play_info(fixture!("wbi-voucher.json")).unwrap(),
        Signed::WbiRefused
    );
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
    // A paid live is refused at status time.
    let paid = info(&edit(fixture!("getInfoByRoom-live.json"), |v| {
        v["data"]["room_info"]["special_type"] = json!(1);
    }));
    assert!(paid.is_paid());
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
    let c = candidates(&p, &s(&["flv", "hls-fmp4", "hls-ts"]));
    let hosts: Vec<String> = c
        .iter()
        .map(|c| {
            let u = url::Url::parse(&c.url).unwrap();
            format!("{} {} {}", c.format.name(), c.codec, u.host_str().unwrap())
        })
        .collect();
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
    let only = candidates(&p, &s(&["hls-ts", "flv"]));
    assert_eq!(only[0].format, BiliFormat::HlsTs);
    assert!(only[1..].iter().all(|c| c.format == BiliFormat::Flv));
    assert!(candidates(&p, &s(&["hls-fmp4"])).len() == 1);
}

#[test]
fn quality_choice_and_rerequest() {
    let p = play(fixture!("getRoomPlayInfo-live.json")); // current 10000, accept 10000/400/250/150
    assert_eq!(first_qn(&s(&["best"])), 10000);
    assert_eq!(first_qn(&s(&["400", "best"])), 400);
    assert_eq!(first_qn(&[]), 10000);
    assert_eq!(wanted_qn(&s(&["best"]), &p.accept_qn()), Some(10000));
    assert_eq!(wanted_qn(&s(&["20000", "400"]), &p.accept_qn()), Some(400));
    // Nothing asked for is there: the best there is.
    assert_eq!(wanted_qn(&s(&["30000"]), &p.accept_qn()), Some(10000));
    assert_eq!(wanted_qn(&s(&["best"]), &[]), None);
    assert_eq!(rerequest_qn(&p, &s(&["best"])), None);
    assert_eq!(rerequest_qn(&p, &s(&["250"])), Some(250));
    // A 4K room answered at 10000: ask again for 20000.
    let k4 = play(&edit(fixture!("getRoomPlayInfo-live.json"), |v| {
        v["data"]["playurl_info"]["playurl"]["stream"][0]["format"][0]["codec"][1]["accept_qn"] =
            json!([20000, 10000, 400]);
    }));
    assert_eq!(rerequest_qn(&k4, &s(&["best"])), Some(20000));
    assert_eq!(rerequest_qn(&k4, &s(&["10000"])), None);
}

#[test]
fn nav_gives_the_wbi_keys_even_when_logged_out() {
    let k = nav(fixture!("nav-anonymous.json")).unwrap();
    assert_eq!(k.img_key, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    assert_eq!(k.sub_key, "f9e8d7c6b5a4938271605f4e3d2c1b0a");
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
    let b = status_by_uids(
        br#"{"code":0,"data":{"9":{"room_id":"90","live_status":1,"title":"t","uname":"u","live_time":5},
        "8":{"room_id":80,"live_status":2}}}"#,
    )
    .unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].uid, b[0].room_id, b[0].live_status), (8, 80, 2));
    assert_eq!((b[1].uid, b[1].title.as_str()), (9, "t"));
    assert!(
        status_by_uids(br#"{"code":0,"data":[]}"#)
            .unwrap()
            .is_empty()
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
