use super::super::inflate::{brotli_stored, zlib};
use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|c| (c as char).to_digit(16).unwrap() as u8)
        .collect();
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

fn decode(message: &[u8]) -> Decoded {
    decode_message(message, &Limits::default())
}

fn command(json: &str) -> Vec<u8> {
    encode(version::JSON, op::COMMAND, 0, json.as_bytes()).unwrap()
}

#[test]
fn header_round_trips() {
    let h = Header {
        packet_len: 0x1234_5678,
        header_len: 16,
        version: 3,
        operation: 5,
        sequence: 9,
    };
    assert_eq!(Header::read(&h.to_bytes()), Some(h));
    assert_eq!(Header::read(&[0; 15]), None);
}

#[test]
fn auth_packet_matches_the_notes_layout() {
    // DANMAKU.md §F.3: length 0x94, header len 16, version 1, op 7, seq 1, then the JSON.
    let packet = auth_packet(&Auth {
        uid: 0,
        room_id: 21452505,
        key: "TOKEN",
        buvid: Some("6F1E2D3C-0000-1111-2222-333344445555infoc"),
    })
    .unwrap();
    assert_eq!(
        packet[..32],
        hex("00 00 00 94 00 10 00 01 00 00 00 07 00 00 00 01
             7b 22 75 69 64 22 3a 30 2c 22 72 6f 6f 6d 69 64")[..]
    );
    assert_eq!(packet.len(), 0x94);
    assert_eq!(
        &packet[16..],
        br#"{"uid":0,"roomid":21452505,"protover":3,"platform":"web","type":2,"key":"TOKEN","buvid":"6F1E2D3C-0000-1111-2222-333344445555infoc"}"#
    );
}

#[test]
fn auth_escapes_the_token_and_omits_a_missing_buvid() {
    let packet = auth_packet(&Auth {
        uid: 42,
        room_id: 1,
        key: "a\"b\\c",
        buvid: None,
    })
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&packet[16..]).unwrap();
    assert_eq!(body["key"], "a\"b\\c");
    assert_eq!(body["uid"], 42);
    assert!(body.get("buvid").is_none());
}

#[test]
fn heartbeat_matches_the_notes_bytes() {
    assert_eq!(
        HEARTBEAT_PACKET,
        hex("00 00 00 1f 00 10 00 01 00 00 00 02 00 00 00 01
             5b 6f 62 6a 65 63 74 20 4f 62 6a 65 63 74 5d")
    );
    assert_eq!(
        HEARTBEAT_PACKET,
        encode(version::PLAIN, op::HEARTBEAT, 1, b"[object Object]").unwrap()
    );
}

#[test]
fn auth_reply_from_the_notes() {
    let d = decode(&hex(
        "00 00 00 1a 00 10 00 01 00 00 00 08 00 00 00 01 7b 22 63 6f 64 65 22 3a 30 7d",
    ));
    assert_eq!(d.packets, vec![Packet::AuthReply { code: Some(0) }]);
    assert_eq!(d.error, None);
    let refused = encode(version::PLAIN, op::AUTH_REPLY, 1, br#"{"code":-101}"#).unwrap();
    assert_eq!(
        decode(&refused).packets,
        vec![Packet::AuthReply { code: Some(-101) }]
    );
    let junk = encode(version::PLAIN, op::AUTH_REPLY, 1, b"nope").unwrap();
    assert_eq!(
        decode(&junk).packets,
        vec![Packet::AuthReply { code: None }]
    );
}

#[test]
fn heartbeat_reply_quirk_from_the_notes() {
    // pack_len says 20, yet 35 bytes follow: popularity 0x9a2, then the echoed body.
    let reply = hex("00 00 00 14 00 10 00 01 00 00 00 03 00 00 00 00 00 00 09 a2
                     5b 6f 62 6a 65 63 74 20 4f 62 6a 65 63 74 5d");
    let d = decode(&reply);
    assert_eq!(d.packets, vec![Packet::HeartbeatReply { popularity: 2466 }]);
    assert_eq!(d.error, None, "the echo after the 4 bytes is not an error");
}

#[test]
fn heartbeat_reply_stops_the_message() {
    let mut message = hex("00 00 00 14 00 10 00 01 00 00 00 03 00 00 00 00 00 00 00 07");
    message.extend(command(r#"{"cmd":"LIVE"}"#));
    assert_eq!(
        decode(&message).packets,
        vec![Packet::HeartbeatReply { popularity: 7 }]
    );
    let short = hex("00 00 00 14 00 10 00 01 00 00 00 03 00 00 00 00 00 00");
    assert!(matches!(
        decode(&short).error,
        Some(PacketError::Truncated { .. })
    ));
}

#[test]
fn version_0_command_from_the_notes() {
    // DANMAKU.md §F.3 shows the first 32 bytes of a 0x97-byte PREPARING packet.
    let body = br#"{"cmd":"PREPARING","msg_id":"26964930181741056:1000:1000","p_is_ack":true,"p_msg_type":1,"roomid":"1899237171","round":1,"send_time":1739985402716}"#;
    let packet = command(std::str::from_utf8(body).unwrap());
    // Its script's exact body is not recorded, so the length (bytes 0..4) is ours.
    let notes = hex("00 00 00 97 00 10 00 00 00 00 00 05 00 00 00 00
                     7b 22 63 6d 64 22 3a 22 50 52 45 50 41 52 49 4e");
    assert_eq!(packet[4..32], notes[4..]);
    assert_eq!(packet[..4], ((16 + body.len()) as u32).to_be_bytes());
    assert_eq!(
        decode(&packet).packets,
        vec![Packet::Command(body.to_vec())]
    );
}

#[test]
fn several_packets_in_one_message() {
    let mut message = command(r#"{"cmd":"A"}"#);
    message.extend(command(r#"{"cmd":"B"}"#));
    message.extend(encode(version::JSON, op::COMMAND, 0, b"").unwrap()); // skipped
    message.extend(encode(9, op::COMMAND, 0, b"x").unwrap()); // unknown version
    let d = decode(&message);
    assert_eq!(
        d.packets,
        vec![
            Packet::Command(br#"{"cmd":"A"}"#.to_vec()),
            Packet::Command(br#"{"cmd":"B"}"#.to_vec()),
            Packet::Unhandled {
                version: 9,
                operation: 5
            },
        ]
    );
    assert_eq!(d.error, None);
}

#[test]
fn bad_lengths_keep_what_came_before() {
    let good = command(r#"{"cmd":"A"}"#);

    let mut short_len = good.clone();
    short_len.extend(hex("00 00 00 0f 00 10 00 00 00 00 00 05 00 00 00 00"));
    let d = decode(&short_len);
    assert_eq!(d.packets.len(), 1);
    assert!(matches!(d.error, Some(PacketError::BadLength { offset, .. }) if offset == good.len()));

    let mut past_end = good.clone();
    past_end.extend(hex("00 00 01 00 00 10 00 00 00 00 00 05 00 00 00 00 7b"));
    let d = decode(&past_end);
    assert_eq!(d.packets.len(), 1);
    assert!(matches!(d.error, Some(PacketError::Truncated { .. })));

    let mut stray = good.clone();
    stray.extend([1, 2, 3]);
    let d = decode(&stray);
    assert_eq!(d.packets.len(), 1);
    assert_eq!(
        d.error,
        Some(PacketError::ShortHeader {
            offset: good.len(),
            available: 3
        })
    );

    let mut bad_header_len = good;
    bad_header_len.extend(hex("00 00 00 10 00 08 00 00 00 00 00 05 00 00 00 00"));
    assert!(matches!(
        decode(&bad_header_len).error,
        Some(PacketError::BadLength { .. })
    ));
}

#[test]
fn version_2_zlib_from_the_notes() {
    // DANMAKU.md §F.3: a version-2 packet wrapping one version-0 LIVE packet, body `78 9c`...
    let live = br#"{"cmd":"LIVE","live_key":"234304209915761953","voice_background":"","sub_session_key":"234304209915761953sub_time:1651036923","live_platform":"pc","live_model":0,"live_time":1651036923,"roomid":23614753}"#;
    let inner = command(std::str::from_utf8(live).unwrap());
    let outer = encode(version::ZLIB, op::COMMAND, 0, &zlib(&inner)).unwrap();
    // As above, the notes' compressed length (0x89) depends on a body not recorded there.
    let notes = hex("00 00 00 89 00 10 00 02 00 00 00 05 00 00 00 00 78 9c");
    assert_eq!(outer[4..18], notes[4..]);
    assert_eq!(outer[..4], (outer.len() as u32).to_be_bytes());
    assert_eq!(decode(&outer).packets, vec![Packet::Command(live.to_vec())]);
}

#[test]
fn version_3_brotli_stored_meta_block_from_the_notes() {
    // BAC's real-server frame shape: outer header, `8b 38 80`, a 114-byte inner packet, `03`.
    let body = br#"{"cmd":"WATCHED_CHANGE","data":{"num":12345,"text_small":"12","text_large":"5\u4eba\u770b\u8fc7"}}"#;
    assert_eq!(body.len(), 114 - 16);
    let inner = command(std::str::from_utf8(body).unwrap());
    let outer = encode(version::BROTLI, op::COMMAND, 0, &brotli_stored(&inner)).unwrap();
    assert_eq!(
        outer[..19],
        hex("00 00 00 86 00 10 00 03 00 00 00 05 00 00 00 00 8b 38 80")[..]
    );
    assert_eq!(outer.last(), Some(&0x03));
    assert_eq!(decode(&outer).packets, vec![Packet::Command(body.to_vec())]);
}

#[test]
fn version_3_with_two_inner_packets() {
    let mut inner = command(r#"{"cmd":"DANMU_MSG","info":[]}"#);
    inner.extend(command(r#"{"cmd":"SEND_GIFT","data":{}}"#));
    let outer = encode(version::BROTLI, op::COMMAND, 0, &brotli_stored(&inner)).unwrap();
    assert_eq!(decode(&outer).packets.len(), 2);
}

#[test]
fn nesting_is_capped() {
    let leaf = command(r#"{"cmd":"X"}"#);
    let one = encode(version::ZLIB, op::COMMAND, 0, &zlib(&leaf)).unwrap();
    let two = encode(version::BROTLI, op::COMMAND, 0, &brotli_stored(&one)).unwrap();
    let three = encode(version::ZLIB, op::COMMAND, 0, &zlib(&two)).unwrap();
    assert_eq!(decode(&two).packets.len(), 1, "depth 2 is allowed");
    assert_eq!(
        decode(&three).error,
        Some(PacketError::TooDeep { max_depth: 2 })
    );
}

#[test]
fn a_zlib_bomb_is_an_error_and_keeps_earlier_packets() {
    // 9 MiB of packets inflate past the 8 MiB cap from well under 100 KiB.
    let filler = encode(version::JSON, op::COMMAND, 0, &vec![b' '; 1 << 20]).unwrap();
    let bomb = zlib(&filler.repeat(9));
    assert!(bomb.len() < 100_000);
    let mut message = command(r#"{"cmd":"A"}"#);
    message.extend(encode(version::ZLIB, op::COMMAND, 0, &bomb).unwrap());
    let d = decode(&message);
    assert_eq!(d.packets.len(), 1);
    assert_eq!(
        d.error,
        Some(PacketError::InflatedTooLarge { limit: 8 << 20 })
    );
}

#[test]
fn the_inflate_cap_counts_every_nested_body() {
    // Two bodies of 600 KiB each under a 1 MiB cap: the second one trips it.
    let filler = encode(version::JSON, op::COMMAND, 0, &vec![b' '; 600 << 10]).unwrap();
    let packet = encode(version::ZLIB, op::COMMAND, 0, &zlib(&filler)).unwrap();
    let limits = Limits {
        max_inflated: 1 << 20,
        ..Limits::default()
    };
    assert_eq!(decode_message(&packet, &limits).error, None);
    let d = decode_message(&packet.repeat(2), &limits);
    assert_eq!(d.packets.len(), 1);
    assert_eq!(
        d.error,
        Some(PacketError::InflatedTooLarge { limit: 1 << 20 })
    );
}

#[test]
fn packet_count_is_capped() {
    let message = command(r#"{"cmd":"A"}"#).repeat(10);
    let limits = Limits {
        max_packets: 4,
        ..Limits::default()
    };
    let d = decode_message(&message, &limits);
    assert_eq!(d.packets.len(), 4);
    assert_eq!(d.error, Some(PacketError::TooManyPackets { limit: 4 }));
}

#[test]
fn corrupt_compressed_bodies_are_errors() {
    let bad_zlib = encode(version::ZLIB, op::COMMAND, 0, b"\x78\x9cgarbage").unwrap();
    assert!(matches!(
        decode(&bad_zlib).error,
        Some(PacketError::Inflate(_))
    ));
    let bad_brotli = encode(version::BROTLI, op::COMMAND, 0, b"\xff\xff\xff").unwrap();
    assert!(decode(&bad_brotli).error.is_some());
}

fn arbitrary_message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Pure noise.
        proptest::collection::vec(any::<u8>(), 0..300),
        // A plausible header over a noisy body, so the nested decoders see garbage too.
        (
            0u16..5,
            0u32..10,
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(v, o, body)| encode(v, o, 0, &body).unwrap()),
        // A valid compressed frame with random bytes flipped.
        (proptest::collection::vec((0usize..64, any::<u8>()), 1..6)).prop_map(|flips| {
            let inner = command(r#"{"cmd":"DANMU_MSG","info":[[0,1,25],"hi",[1,"a"]]}"#);
            let mut m = encode(version::BROTLI, op::COMMAND, 0, &brotli_stored(&inner)).unwrap();
            for (i, b) in flips {
                let n = m.len();
                m[i % n] ^= b;
            }
            m
        }),
    ]
}

proptest! {
    #[test]
    fn never_panics_on_garbage(message in arbitrary_message()) {
        let d = decode(&message);
        prop_assert!(d.packets.len() <= Limits::default().max_packets);
    }
}
