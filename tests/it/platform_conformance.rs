//! Conformance with real answers: decodes every sample under `../shared/fixtures/platforms/`
//! (beside the repository; CI has it) and checks the status and URLs liverec reads from each.
//! The samples are partly captured from public sources and stay outside the repository; when
//! the folder is absent this test says so and passes.

use std::path::{Path, PathBuf};

use liverec::platform::bilibili::api as bili;
use liverec::platform::douyin::api as dy;
use liverec::platform::{PlatformError, StreamFormat};

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/platforms")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A stream URL that a recorder could open: http(s), a host, a path.
fn check_url(u: &str, what: &str) {
    let p = url::Url::parse(u).unwrap_or_else(|e| panic!("{what}: {u:?} is not a URL: {e}"));
    assert!(matches!(p.scheme(), "http" | "https"), "{what}: {u}");
    assert!(p.host_str().is_some_and(|h| !h.is_empty()), "{what}: {u}");
    assert!(p.path().len() > 1, "{what}: {u}");
}

fn info(b: &[u8]) -> bili::RoomInfo {
    match bili::room_info(b).unwrap() {
        bili::Signed::Data(d) => d,
        bili::Signed::Refused(r) => panic!("refused: {r}"),
    }
}

fn play(b: &[u8]) -> bili::PlayInfo {
    match bili::play_info(b).unwrap() {
        bili::Signed::Data(d) => d,
        bili::Signed::Refused(r) => panic!("refused: {r}"),
    }
}

/// Preferences with the default codec order.
fn prefs<'a>(quality: &'a [String], formats: &'a [String]) -> bili::Prefs<'a> {
    bili::Prefs {
        quality,
        formats,
        codecs: &[],
    }
}

fn check_bilibili(name: &str, b: &[u8]) -> bool {
    let all_formats = s(&["flv", "hls-fmp4", "hls-ts"]);
    let best = s(&["best"]);
    let all = prefs(&best, &all_formats);
    match name {
        "room_init-live.json" => {
            let r = bili::room_init(b).unwrap();
            assert_eq!((r.room_id, r.short_id, r.live_status), (14073662, 76, 1));
            assert!(r.status().live);
        }
        "room_init-offline-synthetic.json" => {
            let r = bili::room_init(b).unwrap();
            assert_eq!(r.room_id, 14073662);
            assert!(!r.status().live);
            assert_eq!(r.status().session_hint, None);
        }
        "room_init-not-found-synthetic.json" => {
            assert!(matches!(
                bili::room_init(b),
                Err(PlatformError::NotFound(_))
            ));
        }
        "getInfoByRoom-live.json" => {
            let i = info(b);
            assert!(i.is_live());
            assert_eq!(i.room_id, 23075997);
            assert!(!i.title.is_empty() && !i.streamer.is_empty());
            assert_eq!(i.session_hint().as_deref(), Some("1718281912"));
        }
        "getInfoByRoom-roundplay.json" => {
            let i = info(b);
            assert_eq!(i.live_status, 2);
            assert!(!i.status().live, "round-play is not live");
        }
        "getInfoByRoom-offline.json" => {
            let i = info(b);
            assert_eq!(i.room_id, 466988);
            assert!(!i.status().live);
            assert!(!i.streamer.is_empty());
        }
        "getRoomPlayInfo-live.json" => {
            let p = play(b);
            assert!(p.refusal().is_none());
            assert_eq!(p.room_id, 23058);
            let c = bili::candidates(&p, &all);
            // one FLV, two fMP4 hosts, one TS; in the configured format order
            let kinds: Vec<&str> = c.iter().map(|c| c.format.name()).collect();
            assert_eq!(kinds, ["flv", "hls-fmp4", "hls-fmp4", "hls-ts"]);
            assert!(c.iter().all(|c| c.qn == 10000));
            assert!(c[0].url.contains(".flv?") && c[0].url.contains("expires="));
            assert_eq!(c[0].format.stream_format(), StreamFormat::Flv);
            assert!(c[1].url.contains("index.m3u8?"));
            for x in &c {
                check_url(&x.url, name);
            }
            assert_eq!(bili::rerequest_qn(&p, &all), None);
            let q150 = s(&["150"]);
            assert_eq!(
                bili::rerequest_qn(&p, &prefs(&q150, &all_formats)),
                Some(150)
            );
        }
        "getRoomPlayInfo-live-avc-hevc.json" => {
            let p = play(b);
            assert!(p.refusal().is_none());
            assert_eq!(p.special_types, [19]);
            let flv = s(&["flv"]);
            let c = bili::candidates(&p, &prefs(&best, &flv));
            let codecs: Vec<&str> = c.iter().map(|c| c.codec.as_str()).collect();
            assert_eq!(codecs, ["avc", "hevc"], "AVC first");
            for x in bili::candidates(&p, &all) {
                check_url(&x.url, name);
            }
        }
        "getRoomPlayInfo-offline.json" => {
            let p = play(b);
            assert!(!p.is_live() && !p.has_playurl);
            assert!(matches!(p.refusal(), Some(PlatformError::NoStream(_))));
        }
        "getRoomPlayInfo-bad-params.json" => {
            assert!(matches!(
                bili::play_info(b),
                Err(PlatformError::Malformed(m)) if m.contains("-400")
            ));
        }
        "error-352-risk-control.json" => {
            // On a signed endpoint -352 refuses the call (signature or cookie); on an unsigned
            // one it is risk control.
            let refused = bili::Signed::Refused(bili::Refusal::Code352("风控校验失败".into()));
            assert_eq!(bili::room_info(b).unwrap(), refused);
            assert!(matches!(bili::room_init(b), Err(PlatformError::Blocked(_))));
        }
        "error-412-blocked.json" => {
            assert!(matches!(bili::room_info(b), Err(PlatformError::Blocked(_))));
            assert!(matches!(bili::play_info(b), Err(PlatformError::Blocked(_))));
        }
        "wbi-missing-voucher.json" => {
            let voucher = bili::Refusal::Voucher;
            assert_eq!(
                bili::room_info(b).unwrap(),
                bili::Signed::Refused(voucher.clone())
            );
            assert_eq!(bili::play_info(b).unwrap(), bili::Signed::Refused(voucher));
        }
        "nav-anonymous.json" => {
            // The documented keys, and the documented mixin key.
            let n = bili::nav(b).unwrap();
            assert_eq!(n.keys.mixin_key(), "ea1db124af3c7062474693fa704f4ff8");
            assert!(!n.login.logged_in);
        }
        "get_status_info_by_uids.json" => {
            let st = bili::status_by_uids(b).unwrap();
            assert_eq!(st.len(), 2);
            assert!(st.iter().all(|e| e.room_id > 0 && e.live_status != 1));
        }
        "playUrl-v1-live.json" => {
            let l = bili::play_url_v1(b).unwrap();
            assert_eq!(l.urls.len(), 4);
            for u in &l.urls {
                check_url(u, name);
                assert!(u.contains(".flv?"));
            }
        }
        "playUrl-v1-live-qn10000.json" => {
            let l = bili::play_url_v1(b).unwrap();
            assert_eq!(l.current_qn, 10000);
            assert_eq!(l.urls.len(), 1);
            check_url(&l.urls[0], name);
        }
        _ => return false,
    }
    true
}

fn check_douyin(name: &str, b: &[u8]) -> bool {
    let origin = s(&["origin"]);
    let both = s(&["flv", "hls"]);
    match name {
        "web_enter-live.json" => {
            let r = dy::web_enter(b).unwrap();
            assert!(r.is_live() && r.refusal().is_none());
            assert!(!r.title.is_empty() && !r.streamer.is_empty());
            assert_eq!(r.room_id.as_deref(), Some("7542418868329827091"));
            let o = dy::ordered(&r.streams, &origin, &both);
            assert!(o[0].url.contains("_or4.flv?"), "{}", o[0].url);
            assert_eq!(o[0].format, StreamFormat::Flv);
            assert_eq!(
                o.iter().filter(|s| s.format == StreamFormat::Flv).count(),
                4
            );
            assert_eq!(
                o.iter().filter(|s| s.format == StreamFormat::Hls).count(),
                4
            );
            for s in &o {
                check_url(&s.url, name);
            }
        }
        "web_enter-live-sdkdata-synthetic.json" => {
            let r = dy::web_enter(b).unwrap();
            assert!(r.is_live());
            let o = dy::ordered(&r.streams, &origin, &both);
            assert_eq!(o[0].origin, dy::Origin::StreamData);
            assert_eq!(o[0].quality, "origin");
            assert!(o[0].url.contains("_or4.flv?"));
            assert!(o.iter().all(|s| !s.url.contains("only_audio")));
            let q: Vec<&str> = o.iter().map(|s| s.quality).collect();
            for w in ["origin", "hd", "sd", "ld"] {
                assert!(q.contains(&w), "{w} missing: {q:?}");
            }
            for s in &o {
                check_url(&s.url, name);
            }
        }
        "web_enter-offline.json" => {
            let r = dy::web_enter(b).unwrap();
            assert_eq!(r.status, Some(4));
            assert!(!r.status().live);
        }
        "web_enter-ended-prompts-synthetic.json" => {
            assert!(!dy::web_enter(b).unwrap().status().live);
        }
        "web_enter-no-ttwid-empty-body.txt" => {
            assert!(matches!(dy::web_enter(b), Err(PlatformError::Blocked(_))));
        }
        "reflow-rejected-10011.json" => {
            // A refused (unsigned) request: unknown, so that resolving falls back and retries.
            assert!(
                matches!(dy::reflow(b), Err(PlatformError::Malformed(m)) if m.contains("10011"))
            );
        }
        "reflow-live-synthetic.json" => {
            let r = dy::reflow(b).unwrap();
            assert_eq!(r.web_rid.as_deref(), Some("44877280699"));
            assert!(r.is_live());
            let o = dy::ordered(&r.streams, &origin, &both);
            assert!(o[0].url.contains("_or4.flv?"));
        }
        "reflow-offline-synthetic.json" => {
            let r = dy::reflow(b).unwrap();
            assert_eq!(r.web_rid.as_deref(), Some("44877280699"));
            assert!(!r.is_live());
        }
        "page-roomStore-live.json" => {
            let r = dy::page_state(b).unwrap();
            assert!(r.is_live());
            assert_eq!(r.web_rid.as_deref(), Some("139902822326"));
            let o = dy::ordered(&r.streams, &origin, &both);
            assert!(o[0].url.contains("_or4.flv?"));
            for s in &o {
                check_url(&s.url, name);
            }
        }
        "page-roomStore-offline.json" => {
            let r = dy::page_state(b).unwrap();
            assert!(!r.is_live());
            assert!(!r.streamer.is_empty());
        }
        "page-roomStore-not-found.json" => {
            // A page that names no room says nothing about the room (2026 pages have no
            // `anchor`): unknown, never "no such room", which would end a recording.
            assert!(matches!(
                dy::page_state(b),
                Err(PlatformError::Malformed(_))
            ));
        }
        "page-live-pace_f-synthetic.html" => {
            let r = dy::page(b).unwrap();
            assert!(r.is_live());
            assert_eq!(r.web_rid.as_deref(), Some("139902822326"));
            assert!(!r.streamer.is_empty());
            let o = dy::ordered(&r.streams, &origin, &both);
            assert!(o[0].url.contains("_or4.flv?auth_key="), "{}", o[0].url);
        }
        "ttwid-register-synthetic.http" => {
            let text = String::from_utf8_lossy(b);
            let ttwid = text
                .lines()
                .filter_map(|l| l.strip_prefix("Set-Cookie:"))
                .find_map(dy::ttwid_from_set_cookie);
            assert!(ttwid.is_some_and(|t| t.len() > 20));
        }
        _ => return false,
    }
    true
}

/// A sample nobody checks yet must at least not crash the decoders.
fn smoke(b: &[u8]) {
    let _ = bili::room_init(b);
    let _ = bili::room_info(b);
    let _ = bili::play_info(b);
    let _ = bili::nav(b);
    let _ = bili::play_url_v1(b);
    let _ = bili::status_by_uids(b);
    let _ = dy::web_enter(b);
    let _ = dy::reflow(b);
    let _ = dy::page(b);
    let _ = dy::page_state(b);
}

#[test]
fn every_shared_sample_decodes_as_expected() {
    let root = shared_dir();
    if !root.is_dir() {
        println!(
            "platform_conformance: {} is absent; skipping (CI has it)",
            root.display()
        );
        return;
    }
    let mut checked = 0;
    let mut unchecked = Vec::new();
    for platform in ["bilibili", "douyin"] {
        let dir = root.join(platform);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            println!("platform_conformance: no {}", dir.display());
            continue;
        };
        let mut names: Vec<String> = rd
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            let known = match platform {
                "bilibili" => check_bilibili(&name, &bytes),
                _ => check_douyin(&name, &bytes),
            };
            if known {
                checked += 1;
                println!("checked {platform}/{name}");
            } else {
                smoke(&bytes);
                unchecked.push(format!("{platform}/{name}"));
            }
        }
    }
    println!("platform_conformance: {checked} samples checked");
    if !unchecked.is_empty() {
        println!(
            "platform_conformance: decoded without checks (add expectations): {}",
            unchecked.join(", ")
        );
    }
    assert!(checked > 0, "no sample found under {}", root.display());
}
