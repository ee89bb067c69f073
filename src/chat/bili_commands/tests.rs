use super::super::protobuf::Writer;
use super::*;
use proptest::prelude::*;

fn parse(json: &str) -> Result<Command, CommandError> {
    parse_command(json.as_bytes(), false)
}

fn danmaku(json: &str) -> Danmaku {
    match parse(json).unwrap() {
        Command::Chat(ChatEvent::Danmaku(d)) => d,
        other => panic!("not a danmaku: {other:?}"),
    }
}

fn gifts(json: &str) -> Vec<Gift> {
    match parse(json).unwrap() {
        Command::Gifts { gifts, .. } => gifts,
        other => panic!("not gifts: {other:?}"),
    }
}

// DANMAKU.md §A.5, copied from bilibili-API-collect `message_stream.md`.
const DANMU_MSG: &str = r#"{"cmd":"DANMU_MSG","dm_v2":"","info":[[0,1,25,9920249,1723979200649,-1312973962,0,"0bc8acd0",0,0,0,"",0,"{}","{}",{"extra":"{\"send_from_me\":false,\"mode\":0,\"color\":9920249,\"dm_type\":0,\"font_size\":25,\"content\":\"白花300块[热]\",\"emoticon_unique\":\"\",\"id_str\":\"364b06e3c561af3d5921f1253d66c1d575\"}","mode":0,"show_player_type":0,"user":{"uid":6088969,"base":{"name":"tim1997","face":"https://i1.hdslb.com/bfs/face/5a9b….jpg"}}},{"activity_identity":"","activity_source":0,"not_show":0},0],"白花300块[热]",[6088969,"tim1997",0,0,0,10000,1,""],[29,"果咩吖","果宝Official",31180317,2951253,"",0,16771156,2951253,10329087,1,1,3546569288714792],[39,0,10512625,42523,2],["",""],0,0,null,{"ct":"AFFF4206","ts":1723979200},0,0,null,null,0,1040,[49],null]}"#;
const SUPER_CHAT: &str = r#"{"cmd":"SUPER_CHAT_MESSAGE","data":{"id":6522809,"uid":294094150,"price":30,"time":60,"start_time":1677069035,"end_time":1677069095,"ts":1677069035,"message":"猪播完美预测自己第一个死，这就是鹅鸭杀高玩吗","message_trans":"","gift":{"gift_id":12000,"gift_name":"醒目留言","num":1},"user_info":{"uname":"界原虚","guard_level":3,"user_level":6}},"roomid":6154037}"#;
const GUARD_BUY: &str = r#"{"cmd":"GUARD_BUY","data":{"uid":14225357,"username":"妙妙喵喵妙妙喵O_O","guard_level":3,"num":1,"price":198000,"gift_id":10003,"gift_name":"舰长","start_time":1677069316,"end_time":1677069316}}"#;
const SEND_GIFT: &str = r#"{"cmd":"SEND_GIFT","data":{"action":"投喂","coin_type":"gold","giftId":31036,"giftName":"小花花","num":1,"price":100,"total_coin":100,"timestamp":1673622464,"uid":510149209,"uname":"12138额83121","guard_level":0,"batch_combo_id":"batch:gift:combo_id:510149209:36047134:31036:1673622464.8445"}}"#;
const LIVE: &str = r#"{"cmd":"LIVE","live_key":"234304209915761953","voice_background":"","sub_session_key":"234304209915761953sub_time:1651036923","live_platform":"pc","live_model":0,"live_time":1651036923,"roomid":23614753}"#;
const PREPARING: &str = r#"{"cmd":"PREPARING","msg_id":"26964930181741056:1000:1000","p_is_ack":true,"p_msg_type":1,"roomid":"1899237171","round":1,"send_time":1739985402716}"#;
const ROOM_CHANGE: &str = r#"{"cmd":"ROOM_CHANGE","data":{"title":"开始白给CS","area_id":371,"parent_area_id":9,"area_name":"虚拟主播","parent_area_name":"虚拟主播","live_key":"320830629635915849","sub_session_key":"320830629635915849sub_time:1673690546"}}"#;
const CUT_OFF: &str = r#"{"cmd":"CUT_OFF","msg":"违反直播言论规范，请立即调整","roomid":23993070}"#;
const WARNING: &str = r#"{"cmd":"WARNING","msg":"图片内容不适宜，请立即调整","roomid":22195814}"#;

#[test]
fn danmu_msg_full_sample() {
    let d = danmaku(DANMU_MSG);
    assert_eq!(
        d,
        Danmaku {
            user: User {
                uid: 6088969,
                name: "tim1997".into()
            },
            text: "白花300块[热]".into(),
            mode: 1,
            size: 25,
            color: 9920249,
            sent_ms: 1723979200649,
            raw: None,
        }
    );
}

#[test]
fn danmu_msg_with_a_suffix_and_raw() {
    let json = DANMU_MSG.replace(r#""cmd":"DANMU_MSG""#, r#""cmd":"DANMU_MSG:4:0:2:2:2:0""#);
    let Command::Chat(ChatEvent::Danmaku(d)) = parse_command(json.as_bytes(), true).unwrap() else {
        panic!("not a danmaku")
    };
    assert_eq!(d.text, "白花300块[热]");
    let raw: Value = serde_json::from_str(d.raw.as_deref().unwrap()).unwrap();
    assert_eq!(raw[1], "白花300块[热]", "raw is the `info` array");
}

#[test]
fn danmu_msg_masked_and_short() {
    // An anonymous connection: uid 0 and a starred name; trailing items cut off.
    let d = danmaku(r#"{"cmd":"DANMU_MSG","info":[[0,4,25,16777215],"hi",[0,"t***"]]}"#);
    assert!(d.user.is_masked());
    assert_eq!(d.user.name, "t***");
    assert_eq!((d.mode, d.size, d.color, d.sent_ms), (4, 25, 0xFFFFFF, 0));
    // Only meta and text: defaults everywhere.
    let d = danmaku(r#"{"cmd":"DANMU_MSG","info":[[],"x"]}"#);
    assert_eq!((d.user.uid, d.mode, d.size), (0, 1, 25));
    // info[2] missing, the user only in info[0][15].
    let d = danmaku(
        r#"{"cmd":"DANMU_MSG","info":[[0,1,25,1,2,3,0,"",0,0,0,"",0,"{}","{}",{"user":{"uid":"77","base":{"name":"n"}}}],"x"]}"#,
    );
    assert_eq!(
        d.user,
        User {
            uid: 77,
            name: "n".into()
        }
    );
}

#[test]
fn danmu_msg_without_text_is_an_error() {
    assert_eq!(
        parse(r#"{"cmd":"DANMU_MSG","info":[[0,1,25]]}"#),
        Err(CommandError::Missing {
            cmd: "DANMU_MSG",
            field: "info[1]"
        })
    );
    assert!(parse(r#"{"cmd":"DANMU_MSG","info":{"a":1}}"#).is_err());
}

#[test]
fn super_chat_sample() {
    let Command::Chat(ChatEvent::SuperChat(sc)) = parse(SUPER_CHAT).unwrap() else {
        panic!("not a super chat")
    };
    assert_eq!(
        sc.user,
        User {
            uid: 294094150,
            name: "界原虚".into()
        }
    );
    assert_eq!(sc.message, "猪播完美预测自己第一个死，这就是鹅鸭杀高玩吗");
    assert_eq!((sc.price_yuan, sc.duration_s), (30, 60));
}

#[test]
fn guard_buy_sample() {
    let Command::Chat(ChatEvent::Guard(g)) = parse(GUARD_BUY).unwrap() else {
        panic!("not a guard")
    };
    assert_eq!(
        g.user,
        User {
            uid: 14225357,
            name: "妙妙喵喵妙妙喵O_O".into()
        }
    );
    assert_eq!((g.level, g.months), (3, 1));
}

#[test]
fn send_gift_gold_and_silver() {
    let g = gifts(SEND_GIFT);
    assert_eq!(g.len(), 1);
    assert_eq!(
        g[0].user,
        User {
            uid: 510149209,
            name: "12138额83121".into()
        }
    );
    assert_eq!(
        (g[0].gift_id, g[0].name.as_str(), g[0].count),
        (31036, "小花花", 1)
    );
    assert_eq!(g[0].value_milli_cny, Some(100));
    assert_eq!(g[0].tid, None);
    let silver = SEND_GIFT
        .replace(r#""coin_type":"gold""#, r#""coin_type":"silver""#)
        .replace(r#""num":1"#, r#""num":3,"tid":"1673622464120300001""#);
    let g = gifts(&silver);
    assert_eq!(g[0].value_milli_cny, Some(0));
    assert_eq!(g[0].count, 3);
    assert_eq!(g[0].tid.as_deref(), Some("1673622464120300001"));
    // No total_coin: unit price times count.
    let g = gifts(
        r#"{"cmd":"SEND_GIFT","data":{"giftName":"x","num":3,"price":100,"coin_type":"gold"}}"#,
    );
    assert_eq!(g[0].value_milli_cny, Some(300));
}

/// A `SEND_GIFT_V2` body built by hand (DANMAKU.md §F.1): field 1 uid, 2 uname,
/// 10 {1 id, 2 name, 3 num, 5 price, 7 total_coin, 8 coin_type, 9 tid}, 11 switch.
fn send_gift_v2(switch: bool, entries: usize) -> String {
    let entry = Writer::new()
        .varint(1, 31036)
        .bytes(2, "小花花".as_bytes())
        .varint(3, 2)
        .varint(5, 100)
        .varint(7, 200)
        .bytes(8, b"gold")
        .bytes(9, b"1723979200120300001")
        .varint(10, 1723979200)
        .finish();
    let mut w = Writer::new();
    w.varint(1, 510149209)
        .bytes(2, "送礼人".as_bytes())
        .bytes(3, b"https://face");
    for _ in 0..entries {
        w.bytes(10, &entry);
    }
    w.varint(11, u64::from(switch));
    let pb = base64::engine::general_purpose::STANDARD.encode(w.finish());
    format!(r#"{{"cmd":"SEND_GIFT_V2","data":{{"pb":"{pb}"}}}}"#)
}

#[test]
fn send_gift_v2_decodes_the_protobuf() {
    let Command::Gifts { source, gifts } = parse(&send_gift_v2(true, 2)).unwrap() else {
        panic!("not gifts")
    };
    assert_eq!(source, GiftSource::SendGiftV2);
    assert_eq!(gifts.len(), 2);
    assert_eq!(
        gifts[0],
        Gift {
            user: User {
                uid: 510149209,
                name: "送礼人".into()
            },
            gift_id: 31036,
            name: "小花花".into(),
            count: 2,
            value_milli_cny: Some(200),
            tid: Some("1723979200120300001".into()),
            raw: None,
        }
    );
}

#[test]
fn send_gift_v2_switch_off_and_caps() {
    assert!(gifts(&send_gift_v2(false, 1)).is_empty());
    assert_eq!(gifts(&send_gift_v2(true, 300)).len(), MAX_GIFTS_PER_MESSAGE);
    // Unpadded base64 is accepted.
    let json = send_gift_v2(true, 1).replace('=', "");
    assert_eq!(gifts(&json).len(), 1);
}

#[test]
fn send_gift_v2_garbage_is_an_error() {
    assert!(matches!(
        parse(r#"{"cmd":"SEND_GIFT_V2","data":{"pb":"!!!"}}"#),
        Err(CommandError::BadPayload { .. })
    ));
    // Valid base64 of a truncated varint.
    assert!(matches!(
        parse(r#"{"cmd":"SEND_GIFT_V2","data":{"pb":"CIA="}}"#),
        Err(CommandError::BadPayload { .. })
    ));
    assert!(matches!(
        parse(r#"{"cmd":"SEND_GIFT_V2","data":{}}"#),
        Err(CommandError::Missing { .. })
    ));
}

#[test]
fn gift_dedup_across_sources() {
    let mut dedup = GiftDedup::default();
    let v1 = gifts(&SEND_GIFT.replace(r#""num":1"#, r#""num":1,"tid":"T1""#)).remove(0);
    let mut v2 = v1.clone();
    v2.tid = Some("T1".into());
    assert!(dedup.admit(&v1, GiftSource::SendGift));
    assert!(
        !dedup.admit(&v2, GiftSource::SendGiftV2),
        "same tid from the other command"
    );
    assert!(
        dedup.admit(&v1, GiftSource::SendGift),
        "same command repeats are kept"
    );
    let no_tid = gifts(SEND_GIFT).remove(0);
    assert!(dedup.admit(&no_tid, GiftSource::SendGift));
    assert!(dedup.admit(&no_tid, GiftSource::SendGiftV2));
    for i in 0..2000 {
        let mut g = v1.clone();
        g.tid = Some(format!("X{i}"));
        dedup.admit(&g, GiftSource::SendGift);
    }
    assert!(dedup.recent.len() <= GiftDedup::WINDOW);
}

#[test]
fn room_state_commands() {
    assert_eq!(
        parse(LIVE).unwrap(),
        Command::Room(RoomSignal::Live {
            room_id: Some(23614753),
            live_time: Some(1651036923)
        })
    );
    assert_eq!(
        parse(r#"{"cmd":"LIVE","roomid":1}"#).unwrap(),
        Command::Room(RoomSignal::Live {
            room_id: Some(1),
            live_time: None
        })
    );
    assert_eq!(
        parse(PREPARING).unwrap(),
        Command::Room(RoomSignal::Preparing {
            room_id: Some(1899237171),
            round: true
        })
    );
    assert_eq!(
        parse(r#"{"cmd":"PREPARING","roomid":"5"}"#).unwrap(),
        Command::Room(RoomSignal::Preparing {
            room_id: Some(5),
            round: false
        })
    );
    assert_eq!(
        parse(ROOM_CHANGE).unwrap(),
        Command::Room(RoomSignal::RoomChange {
            title: "开始白给CS".into(),
            area: Some("虚拟主播".into()),
            parent_area: Some("虚拟主播".into()),
        })
    );
    assert_eq!(
        parse(CUT_OFF).unwrap(),
        Command::Room(RoomSignal::CutOff {
            room_id: Some(23993070),
            reason: "违反直播言论规范，请立即调整".into()
        })
    );
    assert_eq!(
        parse(r#"{"cmd":"CUT_OFF_V2","data":{"cut_off_scene":1,"cut_off_data":{"cut_off_message_list":[{"label":"原因","content":"违规"}]}}}"#).unwrap(),
        Command::Room(RoomSignal::CutOff { room_id: None, reason: "原因 违规".into() })
    );
    assert_eq!(
        parse(r#"{"cmd":"ROOM_LOCK","expire":"2024-01-01 00:00:00","roomid":42}"#).unwrap(),
        Command::Room(RoomSignal::RoomLock { room_id: Some(42) })
    );
    assert_eq!(
        parse(WARNING).unwrap(),
        Command::Room(RoomSignal::Warning {
            message: "图片内容不适宜，请立即调整".into()
        })
    );
    assert!(matches!(
        parse(r#"{"cmd":"ROOM_CHANGE","data":{}}"#),
        Err(CommandError::Missing { .. })
    ));
}

#[test]
fn unknown_and_invalid() {
    assert_eq!(
        parse(r#"{"cmd":"WATCHED_CHANGE","data":{"num":5}}"#).unwrap(),
        Command::Other("WATCHED_CHANGE".into())
    );
    assert_eq!(
        parse(r#"{"cmd":"DANMU_MSG_MIRROR","info":[]}"#).unwrap(),
        Command::Other("DANMU_MSG_MIRROR".into()),
        "cross-room chat is not this room's"
    );
    let long = format!(r#"{{"cmd":"{}"}}"#, "A".repeat(10_000));
    assert!(matches!(parse(&long).unwrap(), Command::Other(n) if n.len() == 64));
    assert!(matches!(parse("{not json"), Err(CommandError::Json(_))));
    assert_eq!(parse(r#"{"data":1}"#), Err(CommandError::NoCmd));
    assert_eq!(parse(r#"[1,2]"#), Err(CommandError::NoCmd));
    assert_eq!(parse(r#"{"cmd":5}"#), Err(CommandError::NoCmd));
}

#[test]
fn hostile_values_do_not_panic() {
    let d = danmaku(
        r#"{"cmd":"DANMU_MSG","info":[[1e300,-1,99999999999999999999999,1.5,"x"],"t",["-5",{"a":1}]]}"#,
    );
    assert_eq!(
        (d.mode, d.size, d.color, d.sent_ms, d.user.uid),
        (1, 25, 0xFFFFFF, 0, 0)
    );
}

#[test]
fn hostile_numbers_are_defaults_not_errors() {
    // 1e400 is out of range for serde_json: an error, not a panic.
    assert!(parse(r#"{"cmd":"LIVE","roomid":1e400}"#).is_err());
    assert_eq!(
        parse(r#"{"cmd":"LIVE","roomid":-3,"live_time":"soon"}"#).unwrap(),
        Command::Room(RoomSignal::Live {
            room_id: None,
            live_time: None
        })
    );
    let g = gifts(
        r#"{"cmd":"SEND_GIFT","data":{"giftName":"x","num":18446744073709551615,"price":18446744073709551615,"coin_type":"gold"}}"#,
    );
    assert_eq!(g[0].value_milli_cny, Some(u64::MAX), "saturates");
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z0-9:]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("info".to_owned()),
                    Just("data".to_owned()),
                    Just("pb".to_owned()),
                    Just("roomid".to_owned()),
                    Just("title".to_owned()),
                    "[a-z_]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn never_panics_on_hostile_json(
        cmd in prop_oneof![Just("DANMU_MSG"), Just("SUPER_CHAT_MESSAGE"), Just("SEND_GIFT"),
                           Just("SEND_GIFT_V2"), Just("GUARD_BUY"), Just("LIVE"), Just("PREPARING"),
                           Just("CUT_OFF"), Just("CUT_OFF_V2"), Just("ROOM_LOCK"), Just("ROOM_CHANGE"),
                           Just("WARNING"), Just("X")],
        info in json_value(),
        data in json_value(),
    ) {
        let body = serde_json::json!({"cmd": cmd, "info": info, "data": data, "roomid": data});
        let _ = parse_command(body.to_string().as_bytes(), true);
    }

    #[test]
    fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_command(&bytes, false);
    }
}
