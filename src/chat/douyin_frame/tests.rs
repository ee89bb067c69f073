use super::super::inflate::gzip;
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

const LOG_ID: u64 = 7_400_000_000_000_000_123;
const INTERNAL_EXT: &[u8] = b"internal_src:dim|wss_push_room_id:7400000000000000000|seq:1";

fn message(method: &str, payload: &[u8], msg_id: u64) -> Vec<u8> {
    Writer::new()
        .bytes(1, method.as_bytes())
        .bytes(2, payload)
        .varint(3, msg_id)
        .finish()
}

fn user(id: u64, nickname: &str) -> Vec<u8> {
    Writer::new()
        .varint(1, id)
        .bytes(3, nickname.as_bytes())
        .finish()
}

/// The chat message of DANMAKU.md §F.3; field order chosen so that every length matches the
/// notes' bytes (`0a 72 … 12 52 0a 2f 10 81 …`).
fn chat_message() -> Vec<u8> {
    let common = Writer::new()
        .varint(2, 7_400_000_000_000_000_001)
        .varint(3, 7_400_000_000_000_000_000)
        .varint(4, 1_723_979_200_649)
        .bytes(1, b"WebcastChatMessage")
        .finish();
    let chat = Writer::new()
        .bytes(1, &common)
        .bytes(2, &user(111_222_333, "viewer"))
        .bytes(3, "你好 <b>".as_bytes())
        .varint(15, 1_723_979_200)
        .finish();
    message("WebcastChatMessage", &chat, 7_400_000_000_000_000_001)
}

fn gift_message(combo: bool, combo_count: u64, repeat_end: u64) -> Vec<u8> {
    let gift_struct = Writer::new()
        .varint(5, 463)
        .varint(10, u64::from(combo))
        .varint(12, 1)
        .bytes(16, "玫瑰".as_bytes())
        .finish();
    let gift = Writer::new()
        .varint(2, 463)
        .varint(6, combo_count)
        .bytes(7, &user(444, "giver"))
        .varint(9, repeat_end)
        .bytes(15, &gift_struct)
        .finish();
    message("WebcastGiftMessage", &gift, 2)
}

fn control_message(status: u64) -> Vec<u8> {
    let common = Writer::new().bytes(1, b"WebcastControlMessage").finish();
    let control = Writer::new().bytes(1, &common).varint(2, status).finish();
    message("WebcastControlMessage", &control, 3)
}

fn response(messages: &[Vec<u8>], need_ack: bool) -> Vec<u8> {
    let mut w = Writer::new();
    for m in messages {
        w.bytes(1, m);
    }
    w.bytes(2, b"t-1723979200649_r-1")
        .varint(3, 1000)
        .varint(4, 1_723_979_200_649)
        .bytes(5, INTERNAL_EXT)
        .varint(9, u64::from(need_ack));
    w.finish()
}

fn push_frame(payload: &[u8]) -> Vec<u8> {
    let header = Writer::new()
        .bytes(1, b"compress_type")
        .bytes(2, b"gzip")
        .finish();
    Writer::new()
        .varint(1, 1)
        .varint(2, LOG_ID)
        .bytes(5, &header)
        .bytes(6, b"pb")
        .bytes(7, b"msg")
        .bytes(8, payload)
        .finish()
}

fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
    decode_frame(bytes, &Limits::default())
}

#[test]
fn the_notes_frame_decodes() {
    let resp = response(&[chat_message(), gift_message(false, 1, 0)], true);
    assert_eq!(
        resp[..32],
        hex("0a 72 0a 12 57 65 62 63 61 73 74 43 68 61 74 4d
             65 73 73 61 67 65 12 52 0a 2f 10 81 80 90 cf b0")[..]
    );
    let frame_bytes = push_frame(&gzip(&resp));
    // The notes' frame up to the payload length, which depends on the gzip encoder.
    assert_eq!(
        frame_bytes[..0x2d],
        hex("08 01 10 fb 80 90 cf b0 99 85 d9 66 2a 15 0a 0d
             63 6f 6d 70 72 65 73 73 5f 74 79 70 65 12 04 67
             7a 69 70 32 02 70 62 3a 03 6d 73 67 42")[..]
    );
    let frame = decode(&frame_bytes).unwrap();
    assert_eq!((frame.seq_id, frame.log_id), (1, LOG_ID));
    assert_eq!(frame.payload_type, "msg");
    assert_eq!(frame.skipped, 0);
    assert_eq!(
        frame.events,
        vec![
            DouyinEvent::Chat(Danmaku {
                user: User {
                    uid: 111_222_333,
                    name: "viewer".into()
                },
                text: "你好 <b>".into(),
                mode: 1,
                size: 25,
                color: 0xFFFFFF,
                sent_ms: 1_723_979_200_649,
                raw: None,
            }),
            DouyinEvent::Gift(Gift {
                user: User {
                    uid: 444,
                    name: "giver".into()
                },
                gift_id: 463,
                name: "玫瑰".into(),
                count: 1,
                value_milli_cny: None,
                tid: None,
                raw: None,
            }),
        ]
    );
    // The ack of the notes, byte for byte: log_id, "ack", internal_ext as raw bytes.
    let ack = frame.ack.unwrap();
    assert_eq!(
        ack[..32],
        hex("10 fb 80 90 cf b0 99 85 d9 66 3a 03 61 63 6b 42
             3b 69 6e 74 65 72 6e 61 6c 5f 73 72 63 3a 64 69")[..]
    );
    assert_eq!(&ack[17..], INTERNAL_EXT);
}

#[test]
fn heartbeat_bytes() {
    assert_eq!(HEARTBEAT_FRAME, hex("3a 02 68 62"));
    assert_eq!(HEARTBEAT_FRAME, Writer::new().bytes(7, b"hb").finish());
}

#[test]
fn control_message_from_the_notes() {
    let control = control_message(3);
    // `Message {1 method, 2 payload}`: the payload is the notes' bytes.
    let payload = [
        hex("0a 17 0a 15"),
        b"WebcastControlMessage".to_vec(),
        hex("10 03"),
    ]
    .concat();
    assert!(control.windows(payload.len()).any(|w| w == payload));
    let frame = decode(&push_frame(&gzip(&response(&[control], false)))).unwrap();
    assert_eq!(frame.events, vec![DouyinEvent::LiveEnded]);
    assert_eq!(frame.ack, None, "no ack unless asked");
    let other = decode(&push_frame(&gzip(&response(&[control_message(1)], false)))).unwrap();
    assert_eq!(other.events, vec![DouyinEvent::Control { status: 1 }]);
}

#[test]
fn combo_gifts_are_recorded_once_at_the_end() {
    let messages = [
        gift_message(true, 1, 0),
        gift_message(true, 2, 0),
        gift_message(true, 3, 1),
    ];
    let frame = decode(&push_frame(&gzip(&response(&messages, false)))).unwrap();
    let gifts: Vec<_> = frame
        .events
        .iter()
        .map(|e| match e {
            DouyinEvent::Gift(g) => g.count,
            other => panic!("not a gift: {other:?}"),
        })
        .collect();
    assert_eq!(gifts, vec![3]);
}

#[test]
fn other_methods_and_frame_types() {
    let member = message("WebcastMemberMessage", b"\x08\x01", 9);
    let frame = decode(&push_frame(&gzip(&response(&[member], false)))).unwrap();
    assert_eq!(
        frame.events,
        vec![DouyinEvent::Other("WebcastMemberMessage".into())]
    );
    let hb = decode(HEARTBEAT_FRAME).unwrap();
    assert_eq!(hb.payload_type, "hb");
    assert!(hb.events.is_empty() && hb.ack.is_none());
}

#[test]
fn an_uncompressed_payload_is_read_as_is() {
    let frame = decode(&push_frame(&response(&[chat_message()], false))).unwrap();
    assert_eq!(frame.events.len(), 1);
}

#[test]
fn a_bad_message_is_skipped_not_fatal() {
    let truncated = message("WebcastChatMessage", b"\x1a\x10abc", 1);
    let frame = decode(&push_frame(&gzip(&response(
        &[truncated, chat_message()],
        true,
    ))))
    .unwrap();
    assert_eq!(frame.skipped, 1);
    assert_eq!(frame.events.len(), 1);
    assert!(frame.ack.is_some());
}

#[test]
fn the_message_count_is_capped() {
    let messages = vec![chat_message(); 10];
    let limits = Limits {
        max_messages: 4,
        ..Limits::default()
    };
    let frame = decode_frame(&push_frame(&gzip(&response(&messages, false))), &limits).unwrap();
    assert_eq!((frame.events.len(), frame.skipped), (4, 6));
}

#[test]
fn faults_from_the_notes() {
    // A truncated varint in the frame itself.
    assert!(matches!(
        decode(&hex("08 01 10 fb 80")),
        Err(FrameError::PushFrame(ProtoError::Truncated { .. }))
    ));
    // gzip magic, then garbage.
    assert!(matches!(
        decode(&push_frame(b"\x1f\x8b\x08\x00garbage")),
        Err(FrameError::Payload(InflateError::Corrupt { .. }))
    ));
    // A non-gzip payload that is not protobuf either.
    assert!(matches!(
        decode(&push_frame(b"\xff\xff\xff")),
        Err(FrameError::Response(_))
    ));
}

#[test]
fn a_gzip_bomb_stops_at_the_cap() {
    let bomb = gzip(&vec![0u8; 16 << 20]);
    assert!(matches!(
        decode(&push_frame(&bomb)),
        Err(FrameError::Payload(InflateError::TooLarge { .. }))
    ));
}

#[test]
fn a_user_known_only_by_id_str() {
    let u = Writer::new()
        .varint(1, 0)
        .bytes(3, b"n")
        .bytes(1028, b"987654321")
        .finish();
    let chat = Writer::new()
        .bytes(2, &u)
        .bytes(3, b"hi")
        .varint(15, 5)
        .finish();
    let frame = decode(&push_frame(&response(
        &[message("WebcastChatMessage", &chat, 1)],
        false,
    )))
    .unwrap();
    let DouyinEvent::Chat(d) = &frame.events[0] else {
        panic!("not chat")
    };
    assert_eq!(d.user.uid, 987_654_321);
    assert_eq!(d.sent_ms, 5000, "event_time when there is no create_time");
}

fn arbitrary_frame() -> impl Strategy<Value = Vec<u8>> {
    let valid = push_frame(&gzip(&response(
        &[chat_message(), gift_message(true, 2, 1), control_message(3)],
        true,
    )));
    let plain = push_frame(&response(
        &[chat_message(), gift_message(false, 1, 0)],
        true,
    ));
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        // Random bytes as a gzip'd or raw payload.
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| push_frame(&gzip(&b))),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| push_frame(&b)),
        // Valid frames with bytes flipped.
        (
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            any::<bool>()
        )
            .prop_map(move |(flips, pick)| {
                let mut m = if pick { valid.clone() } else { plain.clone() };
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
    fn never_panics_on_garbage(bytes in arbitrary_frame()) {
        if let Ok(frame) = decode(&bytes) {
            prop_assert!(frame.events.len() <= Limits::default().max_messages);
        }
    }
}
