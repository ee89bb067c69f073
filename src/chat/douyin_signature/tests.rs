//! Golden vectors, produced on this machine (node v20, python 3) by running
//! saermart/DouyinLiveWebFetcher @ c7be5dd: `sign.js` (blob eef79183, "1.0.0.53"), whose
//! `get_sign(stub)` returns `crawler({"X-MS-STUB": stub})["X-Bogus"]`.
//!
//! - `sdk(...)` vectors: `sign.js` evaluated in a fresh `vm` context per run, with
//!   `Math.random = () => R` set before it loads, then `get_sign(stub)` called n times
//!   (call n has counter n). For a pinned R the SDK's key and salt are both
//!   `floor(R * 255)`; its header was `0x40` or `0x50` (the value is in each vector).
//! - `unpinned` vectors: the same with the real `Math.random`; their key is the second byte
//!   of the output and their salt was read back by decrypting it, so they check everything
//!   but the salt's origin, and show that the SDK's salt is not its key.
//! - `dlwf_end_to_end` vectors: DouyinLiveWebFetcher's own `generateSignature(wss)` from
//!   `liveMan.py`, extracted with `ast` and run under py_mini_racer (as upstream runs it) on
//!   its own WebSocket URL template with the room id and user id substituted, `sign.js`
//!   prefixed with `Math.random = function () { return R; };`.
//!
//! The stubs hash these sources (biliup's and rust-srec's parameter values):
//! - `ad7fc084289cd052b467b5bde7111eea`: `live_id=1,aid=6383,version_code=180800,
//!   webcast_sdk_version=1.0.15,room_id=7400000000000000000,sub_room_id=,sub_channel_id=,
//!   did_rule=3,user_unique_id=7300000000000000001,device_platform=web,device_type=,ac=,
//!   identity=audience` (also DANMAKU.md §D.3's stub);
//! - `0aa1e66eed6c29a5502220db19d22741`: the same with `room_id=7512345678901234567`,
//!   `user_unique_id=7319483754668557238`.
use super::*;

fn stub(hex: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn pinned(r: f64, header_low: u8) -> Entropy {
    let k = (r * 255.0).floor() as u8;
    Entropy {
        header_low,
        key: k,
        salt: k,
    }
}

const STUB_A: &str = "ad7fc084289cd052b467b5bde7111eea";
const STUB_B: &str = "0aa1e66eed6c29a5502220db19d22741";

#[test]
fn constants() {
    assert_eq!(md5(&md5(b""))[14..], EMPTY_BODY);
    // rust-srec's test vector for "MD5 of the decoded hex, last two bytes".
    assert_eq!(
        md5(&stub("56a634b4228ef02b53388ada4e6f76c7"))[14..],
        [0x26, 0x54]
    );
    let standard = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut sorted_a = *ALPHABET;
    let mut sorted_s = *standard;
    sorted_a.sort_unstable();
    sorted_s.sort_unstable();
    assert_eq!(sorted_a, sorted_s, "a permutation of the standard alphabet");
}

#[test]
fn stub_of_the_notes() {
    let query = [
        ("app_name", "douyin_web"),
        ("live_id", "1"),
        ("aid", "6383"),
        ("version_code", "180800"),
        ("webcast_sdk_version", "1.0.15"),
        ("room_id", "7400000000000000000"),
        ("did_rule", "3"),
        ("user_unique_id", "7300000000000000001"),
        ("device_platform", "web"),
        ("identity", "audience"),
    ];
    assert_eq!(
        stub_source(&query),
        "live_id=1,aid=6383,version_code=180800,webcast_sdk_version=1.0.15,\
         room_id=7400000000000000000,sub_room_id=,sub_channel_id=,did_rule=3,\
         user_unique_id=7300000000000000001,device_platform=web,device_type=,ac=,\
         identity=audience"
    );
    assert_eq!(x_ms_stub(&query), stub(STUB_A));
}

#[test]
fn sdk_with_math_random_pinned() {
    let vectors: &[(&str, f64, u8, u8, &str)] = &[
        // (stub, R, header_low, counter, sign.js output)
        (STUB_A, 0.0, 0x00, 1, "fDpl4KiMGEN8IKOk"),
        (STUB_A, 0.0, 0x00, 2, "fDpW4KiMGEN8IKOd"),
        (STUB_A, 0.1, 0x00, 1, "fko/DCJQEnfM8Szd"),
        (STUB_A, 0.25, 0x10, 1, "6pt0VC0aRZDnddMV"),
        (STUB_A, 0.25, 0x10, 2, "6pt/VC0aRZDnddMa"),
        (STUB_A, 0.5, 0x00, 1, "fZCpNb7LVQUKmnfM"),
        (STUB_A, 0.5, 0x00, 2, "fZCDNb7LVQUKmnf8"),
        (STUB_A, 0.75, 0x10, 1, "6BC/E3IwfRZ45xWb"),
        (STUB_A, 0.999, 0x10, 1, "6MVnhJc1lIUfe4Jy"),
        (STUB_A, 0.999, 0x10, 2, "6MVJhJc1lIUfe4JH"),
        (STUB_B, 0.3, 0x00, 1, "fgr7sRN7kxWWCMaE"),
        (STUB_B, 0.3, 0x00, 2, "fgrisRN7kxWWCMaN"),
        (STUB_B, 0.9, 0x00, 1, "f/IseWQcX+7TDuKt"),
        (STUB_B, 0.9, 0x00, 2, "f/IQeWQcX+7TDuKC"),
    ];
    for &(s, r, header_low, counter, expected) in vectors {
        assert_eq!(
            signature(&stub(s), counter, pinned(r, header_low)),
            expected,
            "stub {s} R {r} counter {counter}"
        );
    }
}

#[test]
fn sdk_unpinned() {
    let vectors: &[(u8, u8, u8, u8, &str)] = &[
        // (header_low, key, salt, counter, sign.js output), all for STUB_A.
        (0x00, 0x1d, 0x3f, 1, "fkHiU7eWU5VW/kxS"),
        (0x00, 0x35, 0x15, 2, "fpIyALuprSMR7RG4"),
        (0x00, 0xb3, 0x9e, 3, "fB8M1He1kk1fibzX"),
        (0x10, 0xec, 0xa3, 1, "6/JUX5iHYBVubG1R"),
        (0x10, 0xda, 0x33, 2, "60TdKr2DUzafd7pb"),
    ];
    for &(header_low, key, salt, counter, expected) in vectors {
        let entropy = Entropy {
            header_low,
            key,
            salt,
        };
        assert_eq!(signature(&stub(STUB_A), counter, entropy), expected);
    }
}

/// The query of DouyinLiveWebFetcher's WebSocket URL (`liveMan.py`), split on `&` and `=`
/// without decoding, as its `generateSignature` splits it.
fn dlwf_query(room_id: &str, user_id: &str) -> Vec<(String, String)> {
    let url = format!(
        "app_name=douyin_web&version_code=180800&webcast_sdk_version=1.0.14-beta.0\
         &update_version_code=1.0.14-beta.0&compress=gzip&device_platform=web&cookie_enabled=true\
         &screen_width=1536&screen_height=864&browser_language=zh-CN&browser_platform=Win32\
         &browser_name=Mozilla\
         &browser_version=5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,\
         %20like%20Gecko)%20Chrome/126.0.0.0%20Safari/537.36\
         &browser_online=true&tz_name=Asia/Shanghai\
         &cursor=d-1_u-1_fh-7392091211001140287_t-1721106114633_r-1\
         &internal_ext=internal_src:dim|wss_push_room_id:{room_id}|wss_push_did:{user_id}\
         |first_req_ms:1721106114541|fetch_time:1721106114633|seq:1|wss_info:0-1721106114633-0-0|\
         wrds_v:7392094459690748497\
         &host=https://live.douyin.com&aid=6383&live_id=1&did_rule=3&endpoint=live_pc&support_wrds=1\
         &user_unique_id={user_id}&im_path=/webcast/im/fetch/&identity=audience\
         &need_persist_msg_count=15&insert_task_id=&live_reason=&room_id={room_id}&heartbeatDuration=0"
    );
    url.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn dlwf_end_to_end() {
    let vectors = [
        // (room_id, user_unique_id, R, MD5(S) as DLWF computed it, DLWF's signature)
        (
            "7319483754668557238",
            "7319483754668557238",
            0.3,
            "b610a3f8bc41286a3f2c2f31bf033135",
            "fgr7sRN7kxA/HFG6",
        ),
        (
            "7400000000000000000",
            "7300000000000000001",
            0.9,
            "5ceb5d300db4da416e7250557e88ff35",
            "f/IseWQcX+EgVSsJ",
        ),
    ];
    for (room, user, r, expected_stub, expected) in vectors {
        let owned = dlwf_query(room, user);
        let query: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(stub_source(&query).contains("webcast_sdk_version=1.0.14-beta.0"));
        assert_eq!(x_ms_stub(&query), stub(expected_stub));
        assert_eq!(sign_query(&query, pinned(r, 0)), expected);
    }
}

#[test]
fn the_notes_transcription_vectors() {
    // DANMAKU.md §D.3, computed by the notes from rust-srec's formula (not by the SDK):
    // (r1 = 0x1f, r2_raw = 200) gives header_low 0x1f and key = salt = 200 * 255 / 256.
    let e = Entropy {
        header_low: 0x1f,
        key: 199,
        salt: 199,
    };
    assert_eq!(signature(&stub(STUB_A), 1, e), "1SWViIr+hAQFCf2v");
}

#[test]
fn entropy_from_random_bytes() {
    assert_eq!(
        Entropy::from_random([0xff, 0xff, 0x00]),
        Entropy {
            header_low: 0x10,
            key: 254,
            salt: 0
        }
    );
    for b in 0..=255u8 {
        let e = Entropy::from_random([b, b, b]);
        assert!(e.key < 255 && e.header_low & !0x10 == 0);
        let sig = signature(&[b; 16], 1, e);
        assert_eq!(sig.len(), 16);
        assert!(sig.bytes().all(|c| ALPHABET.contains(&c)));
    }
}

#[test]
fn user_unique_ids_have_19_digits() {
    assert_eq!(user_unique_id(0), 7_300_000_000_000_000_000);
    for nanos in [1u128, 1_723_979_200_649_000_000, u128::MAX] {
        let id = user_unique_id(nanos);
        assert!((7_300_000_000_000_000_000..8_000_000_000_000_000_000).contains(&id));
    }
}
