use super::*;
use crate::platform::bilibili::api::{Refusal, batch_status, room_base_info};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/platforms/bilibili/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn status(name: &str) -> Result<Signed<Vec<BatchStatus>>, PlatformError> {
    batch_status(&fixture(name), "get_status_info_by_uids")
}

const LIVE_UID: u64 = 3141592;
const OFFLINE_UID: u64 = 2718281;

#[test]
fn the_queries_name_every_room_of_the_request() {
    assert_eq!(status_query(&[1, 22]), "uids%5B%5D=1&uids%5B%5D=22");
    assert_eq!(
        base_info_query(&["77".into(), "7734200".into()]),
        "room_ids=77&room_ids=7734200&req_biz=web_room_componet"
    );
}

#[test]
fn one_anchor_live_one_offline_and_one_missing() {
    let v = judge_status(
        &[OFFLINE_UID, 42, LIVE_UID],
        status("get_status_info_by_uids.json"),
    );
    let Verdict::Found(off) = &v[0] else {
        panic!("{v:?}")
    };
    assert_eq!((off.room_id, off.live_status), (5550001, 0));
    assert_eq!(v[1], Verdict::Missing, "a uid the answer leaves out");
    let Verdict::Found(live) = &v[2] else {
        panic!("{v:?}")
    };
    assert_eq!(
        (live.room_id, live.live_status, live.live_time),
        (7734200, 1, 1763712000)
    );
    let now = Instant::now();
    // Offline: the status, no request of its own.
    assert_eq!(
        decide("5550001", v[0].clone(), None, now),
        Next::Status(RoomStatus {
            live: false,
            title: "周末录播间".into(),
            streamer: "测试主播丙".into(),
            ..RoomStatus::default()
        })
    );
    // Missing: asked on its own.
    assert_eq!(
        decide("1", v[1].clone(), None, now),
        Next::AskRoom { live_time: None }
    );
    // Live and new to us: asked on its own, remembering the broadcast's start.
    assert_eq!(
        decide("7734200", v[2].clone(), None, now),
        Next::AskRoom {
            live_time: Some(1763712000)
        }
    );
    // A uid whose entry names another room: asked on its own.
    assert_eq!(
        decide("999", v[2].clone(), None, now),
        Next::AskRoom { live_time: None }
    );
}

#[test]
fn no_anchor_known_answers_an_empty_list() {
    let v = judge_status(&[1, 2], status("get_status_info_by_uids-none.json"));
    assert_eq!(v, [Verdict::Missing, Verdict::Missing]);
}

#[test]
fn a_refused_batch_sends_every_room_to_its_own_check() {
    let v = judge_status(&[1, 2], status("error-352-bare.json"));
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|x| matches!(x, Verdict::Fallback(_))), "{v:?}");
    assert_eq!(
        v[0],
        Verdict::Fallback("get_status_info_by_uids: code -352".into())
    );
    assert_eq!(
        status("error-352-voucher.json").unwrap(),
        Signed::Refused(Refusal::Code352("风控校验失败".into()))
    );
    // Any other failure too; a block (an HTML page, HTTP 412) stops everything instead.
    let v = judge_status(&[1], Err(PlatformError::Network("timed out".into())));
    assert_eq!(v, [Verdict::Fallback("request failed: timed out".into())]);
    let v = judge_status(
        &[1],
        batch_status(b"<html>captcha</html>", "get_status_info_by_uids"),
    );
    assert!(
        matches!(&v[0], Verdict::Blocked(PlatformError::Blocked(_))),
        "{v:?}"
    );
    assert!(matches!(
        decide("1", v[0].clone(), None, Instant::now()),
        Next::Fail(PlatformError::Blocked(_))
    ));
}

#[test]
fn a_live_room_checked_for_this_broadcast_keeps_what_its_check_said() {
    let v = judge_status(&[LIVE_UID], status("get_status_info_by_uids.json"));
    let t0 = Instant::now();
    let memory = Memory::default();
    let checked = RoomStatus {
        live: true,
        title: "晚间测试直播".into(),
        streamer: "测试主播甲".into(),
        session_hint: Some("1763712000".into()),
        unrecordable: Some("a paid live".into()),
        cover: None,
    };
    memory.checked("bilibili:7734200", 1763712000, &checked, t0);
    let seen = memory.seen("bilibili:7734200");
    assert_eq!(
        decide(
            "7734200",
            v[0].clone(),
            seen.as_ref(),
            t0 + Duration::from_secs(30)
        ),
        Next::Status(checked.clone())
    );
    // Another broadcast (another live_time): asked again.
    let mut next = v[0].clone();
    if let Verdict::Found(e) = &mut next {
        e.live_time += 3600;
    }
    assert!(matches!(
        decide("7734200", next, seen.as_ref(), t0),
        Next::AskRoom { live_time: Some(_) }
    ));
    // The same broadcast, but the check is old: asked again.
    assert!(matches!(
        decide("7734200", v[0].clone(), seen.as_ref(), t0 + SEEN_TTL),
        Next::AskRoom { .. }
    ));
    // Offline: forgotten.
    memory.offline("bilibili:7734200");
    assert_eq!(memory.seen("bilibili:7734200"), None);
}

#[test]
fn base_info_resolves_long_and_short_ids_and_leaves_the_rest_to_room_init() {
    let asked: Vec<String> = ["77", "5550001", "123456"].map(String::from).to_vec();
    let found = judge_base(&asked, room_base_info(&fixture("getRoomBaseInfo.json")));
    let rooms: Vec<(u64, u64, bool)> = found
        .iter()
        .filter_map(|f| match f {
            Found::Room {
                room_id,
                uid,
                status,
            } => Some((*room_id, *uid, status.live)),
            _ => None,
        })
        .collect();
    // The short id, answered under the long one; and the status the answer gives.
    assert_eq!(rooms, [(7734200, 3141592, true), (5550001, 2718281, false)]);
    assert_eq!(found[2], Found::Missing);
    let Found::Room { status, .. } = &found[1] else {
        panic!()
    };
    assert_eq!(
        (status.title.as_str(), status.streamer.as_str()),
        ("周末录播间", "测试主播丙")
    );
    let refused = judge_base(&asked[..1], room_base_info(&fixture("error-352-bare.json")));
    assert_eq!(
        refused,
        [Found::Fallback("getRoomBaseInfo: code -352".into())]
    );
    // Nothing known: an empty map.
    let empty = br#"{"code":0,"message":"0","ttl":1,"data":{"by_uids":{},"by_room_ids":{}}}"#;
    assert_eq!(
        judge_base(&asked[..1], room_base_info(empty)),
        [Found::Missing]
    );
}

#[test]
fn the_memory_stays_bounded() {
    let m = Memory::default();
    for i in 0..(MEMORY_CAP + 10) {
        m.learn_uid(&i.to_string(), i as u64 + 1);
    }
    assert!(lock(&m.uids).len() <= MEMORY_CAP);
    // A uid of 0 is no uid.
    m.learn_uid("x", 0);
    assert_eq!(m.uid("x"), None);
}

#[test]
fn an_offline_rooms_resolution_is_its_first_check_while_fresh() {
    let m = Memory::default();
    let t0 = Instant::now();
    let offline = RoomStatus {
        title: "t".into(),
        ..RoomStatus::default()
    };
    m.resolved("1", offline.clone(), t0);
    m.resolved(
        "2",
        RoomStatus {
            live: true,
            ..RoomStatus::default()
        },
        t0,
    );
    m.resolved("3", offline.clone(), t0);
    assert_eq!(
        m.take_resolved("1", t0 + Duration::from_millis(500)),
        Some(offline)
    );
    // Once.
    assert_eq!(m.take_resolved("1", t0 + Duration::from_millis(500)), None);
    // A live room is asked on its own: nothing kept.
    assert_eq!(m.take_resolved("2", t0), None);
    // Too old.
    assert_eq!(m.take_resolved("3", t0 + FRESH), None);
}
