use std::time::Instant;

use super::fetch::{StartsWithBox, decrypt, looks_like_mp4, looks_like_ts, supported};
use super::live::backfill_start;
use super::*;
use crate::media::m3u8::MediaPlaylist;

fn seg(sequence: u64, duration: f64) -> MediaSegment {
    MediaSegment {
        uri: Url::parse(&format!("http://x/{sequence}.ts")).unwrap(),
        duration,
        sequence,
        discontinuity: false,
        byterange: None,
        key: None,
        map: None,
        program_date_time: None,
        gap: false,
    }
}

fn playlist(first: u64, n: u64, extra: &str) -> MediaPlaylist {
    let mut text =
        format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n{extra}");
    for i in first..first + n {
        text.push_str(&format!("#EXTINF:2,\n{i}.ts?tok={first}\n"));
    }
    match m3u8::parse(
        text.as_bytes(),
        &Url::parse("http://x/live/a.m3u8").unwrap(),
    ) {
        Ok(m3u8::Playlist::Media(m)) => m,
        other => panic!("{other:?}"),
    }
}

/// A playlist whose segments starting at `first` have these URIs (relative to
/// `http://x/live/a.m3u8`), 2 s each.
fn named(first: u64, uris: &[&str], extra: &str) -> MediaPlaylist {
    let mut text =
        format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n{extra}");
    for u in uris {
        text.push_str(&format!("#EXTINF:2,\n{u}\n"));
    }
    match m3u8::parse(
        text.as_bytes(),
        &Url::parse("http://x/live/a.m3u8").unwrap(),
    ) {
        Ok(m3u8::Playlist::Media(m)) => m,
        other => panic!("{other:?}"),
    }
}

fn live() -> (Live, mpsc::Receiver<WriterMsg>) {
    let ctx = Arc::new(Ctx::new(
        reqwest::Client::new(),
        "http://x/live/a.m3u8?sign=1",
        HeaderMap::new(),
    ));
    let (tx, rx) = mpsc::channel(4);
    let url = Url::parse("http://x/live/a.m3u8?sign=1").unwrap();
    (Live::new(ctx, tx, url, Duration::from_secs(3)), rx)
}

fn queued(l: &mut Live) -> Vec<(u64, bool, String)> {
    l.queue
        .drain(..)
        .map(|j| (j.seg.sequence, j.boundary, j.stream.to_string()))
        .collect()
}

#[test]
fn reloads_schedule_each_sequence_once_and_notice_resets() {
    let (mut l, _rx) = live();
    assert!(l.apply(playlist(10, 4, "")).unwrap());
    assert_eq!(l.target, Duration::from_secs(2));
    let a = "/live/a.m3u8".to_string();
    assert_eq!(
        queued(&mut l),
        [
            (10, false, a.clone()),
            (11, false, a.clone()),
            (12, false, a.clone()),
            (13, false, a.clone())
        ]
    );
    // Unchanged (the signed query rotated, the window did not move): nothing new.
    assert!(!l.apply(playlist(10, 4, "")).unwrap());
    assert!(queued(&mut l).is_empty());
    // 14 and 15 slid out unseen; 16.. are scheduled (the writer counts the gap).
    assert!(l.apply(playlist(16, 3, "")).unwrap());
    assert_eq!(
        queued(&mut l).iter().map(|q| q.0).collect::<Vec<_>>(),
        [16, 17, 18]
    );
    // The sequence goes back: a new numbering, and a new file.
    assert!(l.apply(playlist(0, 2, "")).unwrap());
    let b = "/live/a.m3u8#1".to_string();
    assert_eq!(queued(&mut l), [(0, true, b.clone()), (1, false, b)]);
    // ENDLIST is a change too.
    assert!(l.apply(playlist(0, 2, "#EXT-X-ENDLIST\n")).unwrap());
    assert!(l.ended);
}

#[test]
fn ordinary_reloads_and_stale_copies_are_not_restarts() {
    let (mut l, _rx) = live();
    l.apply(playlist(10, 4, "")).unwrap();
    assert_eq!(queued(&mut l).len(), 4);
    // The same segments, with absolute URIs and another signed query.
    let abs: Vec<String> = (10..15)
        .map(|i| format!("http://cdn2.x/live/{i}.ts?sign=other"))
        .collect();
    let abs: Vec<&str> = abs.iter().map(String::as_str).collect();
    assert!(l.apply(named(10, &abs, "")).unwrap());
    assert_eq!(queued(&mut l).iter().map(|q| q.0).collect::<Vec<_>>(), [14]);
    // An older copy from another CDN edge (its window starts earlier and ends before what
    // is already scheduled, every segment unchanged): set aside, nothing scheduled again.
    assert!(!l.apply(playlist(9, 4, "")).unwrap());
    assert!(queued(&mut l).is_empty());
    assert!(!l.apply(playlist(11, 3, "")).unwrap());
    assert!(queued(&mut l).is_empty());
    assert!(!l.apply(playlist(11, 3, "")).unwrap());
    assert!(queued(&mut l).is_empty());
    // A current copy: only what is new, in the same numbering.
    assert!(l.apply(playlist(12, 5, "")).unwrap());
    let a = "/live/a.m3u8".to_string();
    assert_eq!(queued(&mut l), [(15, false, a.clone()), (16, false, a)]);
    assert_eq!(l.resets, 0);
}

#[test]
fn a_young_stream_restarting_at_0_is_noticed_and_taken_whole() {
    // Other segment names after the restart: noticed at once.
    let (mut l, _rx) = live();
    l.apply(playlist(0, 6, "")).unwrap();
    assert_eq!(queued(&mut l).len(), 6);
    assert!(l.apply(named(0, &["r0.ts", "r1.ts"], "")).unwrap());
    let b = "/live/a.m3u8#1".to_string();
    assert_eq!(queued(&mut l), [(0, true, b.clone()), (1, false, b)]);

    // The same names (a packager that names segments by number): the first load looks like a
    // stale copy; the next one, still behind, is the restart, and all of it is taken.
    let (mut l, _rx) = live();
    l.apply(playlist(0, 6, "")).unwrap();
    queued(&mut l);
    assert!(!l.apply(playlist(0, 2, "")).unwrap());
    assert!(queued(&mut l).is_empty());
    l.apply(playlist(0, 3, "")).unwrap();
    let b = "/live/a.m3u8#1".to_string();
    assert_eq!(
        queued(&mut l),
        [(0, true, b.clone()), (1, false, b.clone()), (2, false, b)]
    );
}

#[test]
fn discontinuity_sequences_must_stay_coherent() {
    let parse =
        |t: &str| match m3u8::parse(t.as_bytes(), &Url::parse("http://x/live/a.m3u8").unwrap()) {
            Ok(m3u8::Playlist::Media(m)) => m,
            other => panic!("{other:?}"),
        };
    let tagged = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:11\n\
        #EXTINF:2,\n11.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2,\n12.ts\n#EXTINF:2,\n13.ts\n";
    // 12 is first now: its tag is gone and EXT-X-DISCONTINUITY-SEQUENCE counts it (RFC 8216).
    let slid = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:12\n\
        #EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXTINF:2,\n12.ts\n#EXTINF:2,\n13.ts\n#EXTINF:2,\n14.ts\n";
    let (mut l, _rx) = live();
    l.apply(parse(tagged)).unwrap();
    queued(&mut l);
    l.apply(parse(slid)).unwrap();
    assert_eq!(l.resets, 0);
    assert_eq!(
        queued(&mut l)
            .iter()
            .map(|q| (q.0, q.1))
            .collect::<Vec<_>>(),
        [(14, false)]
    );
    // An older copy again: set aside, not a restart.
    l.apply(parse(tagged)).unwrap();
    assert_eq!(l.resets, 0);
    assert!(queued(&mut l).is_empty());

    // The same segments, each in another discontinuity sequence: a new stream.
    let (mut l, _rx) = live();
    l.apply(named(10, &["10.ts", "11.ts", "12.ts"], ""))
        .unwrap();
    queued(&mut l);
    l.apply(named(
        10,
        &["10.ts", "11.ts", "12.ts", "13.ts"],
        "#EXT-X-DISCONTINUITY-SEQUENCE:4\n",
    ))
    .unwrap();
    assert_eq!(l.resets, 1);
    assert_eq!(queued(&mut l).first().map(|q| (q.0, q.1)), Some((10, true)));
    // A discontinuity appears before a segment seen without one: another segment.
    let (mut l, _rx) = live();
    l.apply(named(10, &["10.ts", "11.ts", "12.ts"], ""))
        .unwrap();
    queued(&mut l);
    l.apply(parse(tagged)).unwrap();
    assert_eq!(l.resets, 1);
}

#[test]
fn after_a_noticed_restart_the_whole_window_is_recorded() {
    let (mut l, _rx) = live();
    l.apply(playlist(1000, 4, "")).unwrap();
    queued(&mut l);
    // 100 segments of 2 s in the new numbering, far more than the 30 s taken on a first load.
    l.apply(playlist(0, 100, "")).unwrap();
    let q = queued(&mut l);
    assert_eq!(q.len(), 100);
    assert_eq!((q[0].0, q[0].1), (0, true));
    assert_eq!(q[99].0, 99);
}

#[test]
fn drm_ends_the_attempt_and_server_gaps_are_skipped() {
    let (mut l, _rx) = live();
    let end = l
        .apply(playlist(
            1,
            2,
            "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"\n",
        ))
        .unwrap_err();
    assert!(
        matches!(&end, PullEnd::Refused(e) if e.contains("unsupported encryption: METHOD=SAMPLE-AES")),
        "{end:?}"
    );
    let (mut l, _rx) = live();
    let mut p = playlist(1, 3, "");
    p.segments[1].gap = true;
    p.segments[2].discontinuity = true;
    l.apply(p).unwrap();
    assert_eq!(
        queued(&mut l)
            .iter()
            .map(|q| (q.0, q.1))
            .collect::<Vec<_>>(),
        [(1, false), (3, true)]
    );
}

#[test]
fn backfill_is_bounded() {
    let short: Vec<_> = (0..4).map(|i| seg(i, 2.0)).collect();
    assert_eq!(backfill_start(&short), 0, "a short window is taken whole");
    let long: Vec<_> = (0..100).map(|i| seg(i, 2.0)).collect();
    assert_eq!(backfill_start(&long), 85, "about 30 s back");
    let huge: Vec<_> = (0..10).map(|i| seg(i, 60.0)).collect();
    assert_eq!(backfill_start(&huge), 7, "at least three segments");
    assert_eq!(backfill_start(&[]), 0);
}

#[test]
fn sniffing() {
    let mut ts = vec![0u8; 188 * 5];
    for i in (0..ts.len()).step_by(188) {
        ts[i] = 0x47;
    }
    assert!(looks_like_ts(&ts));
    assert!(!looks_like_mp4(&ts));
    ts[376] = 0;
    assert!(!looks_like_ts(&ts));
    assert!(!looks_like_ts(b"<!DOCTYPE html>"));
    let moof = [0, 0, 0, 16, b'm', b'o', b'o', b'f', 0, 0, 0, 0, 0, 0, 0, 0];
    assert!(looks_like_mp4(&moof));
    assert!(!looks_like_mp4(b"<!DOCTYPE html><html>"));
    assert!(!looks_like_mp4(&[0, 0, 0, 4, b'm', b'o', b'o', b'f']));
    let init = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/hls_fmp4/init.mp4"
    ))
    .unwrap();
    assert!(looks_like_mp4(&init) && init.starts_with_box(b"ftyp"));
    let frag = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/hls_fmp4/seg_000.m4s"
    ))
    .unwrap();
    assert!(looks_like_mp4(&frag));
    let ts = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/hls_ts/seg_000.ts"
    ))
    .unwrap();
    assert!(looks_like_ts(&ts));
}

#[test]
fn aes_128_round_trip() {
    use aes::cipher::BlockModeEncrypt;
    let key = [7u8; 16];
    let iv = u128::from(42u64).to_be_bytes();
    let plain = b"0123456789abcdef-and-a-tail".to_vec();
    let mut buf = vec![0u8; 32];
    buf[..plain.len()].copy_from_slice(&plain);
    let ct = cbc::Encryptor::<aes::Aes128>::new((&key).into(), (&iv).into())
        .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
        .unwrap()
        .to_vec();
    assert_eq!(decrypt(&key, &iv, &ct).unwrap(), plain);
    assert_ne!(
        decrypt(&[8u8; 16], &iv, &ct).ok(),
        Some(Bytes::from(plain.clone()))
    );
    assert!(decrypt(&key, &iv, &ct[..20]).is_err());
    assert!(decrypt(&key, &iv, &[]).is_err());
}

#[test]
fn only_aes_128_is_supported() {
    let key = |method, keyformat: Option<&str>| Key {
        method,
        uri: None,
        iv: None,
        keyformat: keyformat.map(str::to_string),
    };
    assert!(supported(&key(KeyMethod::Aes128, None)).is_ok());
    let e = supported(&key(KeyMethod::SampleAes, None)).unwrap_err();
    assert!(
        e.contains("unsupported encryption: METHOD=SAMPLE-AES"),
        "{e}"
    );
    let e = supported(&key(KeyMethod::Aes128, Some("com.widevine"))).unwrap_err();
    assert!(e.contains("DRM"), "{e}");
    assert!(supported(&key(KeyMethod::Other("SAMPLE-AES-CTR".into()), None)).is_err());
}

/// A server on 127.0.0.1:0 answering `routes` (path -> body), recording each request's path
/// and Cookie header.
async fn recording_server(
    routes: Vec<(&'static str, Bytes)>,
) -> (String, Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>) {
    use axum::extract::Request;
    use axum::response::IntoResponse;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let routes: HashMap<&'static str, Bytes> = routes.into_iter().collect();
    let app = axum::Router::new().fallback(move |req: Request| {
        let cookie = req
            .headers()
            .get(reqwest::header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let path = req.uri().path().to_string();
        log.lock().unwrap().push((path.clone(), cookie));
        let body = routes.get(path.as_str()).cloned();
        async move {
            match body {
                Some(b) => b.into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn the_cookie_goes_to_the_playlist_host_only() {
    let ts = Bytes::from(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/media/hls_ts/seg_000.ts"
        ))
        .unwrap(),
    );
    let (other, other_seen) = recording_server(vec![("/cdn/1.ts", ts.clone())]).await;
    let playlist = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXTINF:2,\n0.ts\n#EXTINF:2,\n{other}/cdn/1.ts\n#EXT-X-ENDLIST\n"
    );
    let (own, own_seen) = recording_server(vec![
        ("/live/a.m3u8", Bytes::from(playlist)),
        ("/live/0.ts", ts),
    ])
    .await;
    let mut headers = HeaderMap::new();
    let mut cookie = reqwest::header::HeaderValue::from_static("SESSDATA=secret");
    cookie.set_sensitive(true);
    headers.insert(reqwest::header::COOKIE, cookie);
    let source = StreamSource {
        below: None,
        url: format!("{own}/live/a.m3u8?sign=1"),
        format: StreamFormat::Hls,
        quality: "source".into(),
        headers,
    };
    let (tx, mut rx) = mpsc::channel(8);
    let drain = tokio::spawn(async move {
        let mut segments = 0;
        while let Some(m) = rx.recv().await {
            if let WriterMsg::Segment(_) = m {
                segments += 1;
            }
        }
        segments
    });
    let end = pull_hls(
        &reqwest::Client::new(),
        &source,
        &[],
        &EndedPlaylists::default(),
        &tx,
        Duration::from_secs(5),
        &CancellationToken::new(),
    )
    .await;
    drop(tx);
    assert_eq!(end, PullEnd::Eof);
    assert_eq!(drain.await.unwrap(), 2, "both segments recorded");
    let secret = Some("SESSDATA=secret".to_string());
    assert_eq!(
        *own_seen.lock().unwrap(),
        [
            ("/live/a.m3u8".to_string(), secret.clone()),
            ("/live/0.ts".to_string(), secret)
        ]
    );
    assert_eq!(
        *other_seen.lock().unwrap(),
        [("/cdn/1.ts".to_string(), None)]
    );
}

#[tokio::test]
async fn an_ended_playlist_is_not_downloaded_again_in_the_same_session() {
    let ts = Bytes::from(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/media/hls_ts/seg_000.ts"
        ))
        .unwrap(),
    );
    let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXTINF:2,\n0.ts\n#EXT-X-ENDLIST\n";
    let (base, seen) = recording_server(vec![
        ("/live/a.m3u8", Bytes::from(playlist)),
        ("/live/0.ts", ts),
    ])
    .await;
    let pull = |ended: EndedPlaylists, sign: u32| {
        let base = base.clone();
        async move {
            let source = StreamSource {
                below: None,
                // Another signed query (and it could be another host) at every attempt.
                url: format!("{base}/live/a.m3u8?sign={sign}"),
                format: StreamFormat::Hls,
                quality: "source".into(),
                headers: HeaderMap::new(),
            };
            let (tx, mut rx) = mpsc::channel(8);
            let drain = tokio::spawn(async move {
                let mut segments = 0;
                while let Some(m) = rx.recv().await {
                    segments += usize::from(matches!(m, WriterMsg::Segment(_)));
                }
                segments
            });
            let end = pull_hls(
                &reqwest::Client::new(),
                &source,
                &[],
                &ended,
                &tx,
                Duration::from_secs(5),
                &CancellationToken::new(),
            )
            .await;
            drop(tx);
            (end, drain.await.unwrap())
        }
    };
    let session = EndedPlaylists::default();
    assert_eq!(pull(session.clone(), 1).await, (PullEnd::Eof, 1));
    // The platform still says live: the reconnect reads the playlist, sees it is the one that
    // ended, and fetches nothing.
    let (end, segments) = pull(session.clone(), 2).await;
    assert!(
        matches!(&end, PullEnd::NothingNew(e) if e.contains("EXT-X-ENDLIST")),
        "{end:?}"
    );
    assert_eq!(segments, 0);
    let fetched = |path: &str| seen.lock().unwrap().iter().filter(|s| s.0 == path).count();
    assert_eq!(fetched("/live/0.ts"), 1);
    assert_eq!(fetched("/live/a.m3u8"), 2);
    // A new session records it again.
    assert_eq!(pull(EndedPlaylists::default(), 3).await, (PullEnd::Eof, 1));
}

/// Pulls `url` with a 1 s stall timeout; the end, and how many messages the writer got.
async fn pull_once(url: String) -> (PullEnd, usize) {
    let source = StreamSource {
        below: None,
        url,
        format: StreamFormat::Hls,
        quality: "source".into(),
        headers: HeaderMap::new(),
    };
    let (tx, mut rx) = mpsc::channel(8);
    let drain = tokio::spawn(async move {
        let mut messages = 0;
        while rx.recv().await.is_some() {
            messages += 1;
        }
        messages
    });
    let end = pull_hls(
        &reqwest::Client::new(),
        &source,
        &[],
        &EndedPlaylists::default(),
        &tx,
        Duration::from_secs(1),
        &CancellationToken::new(),
    )
    .await;
    drop(tx);
    (end, drain.await.unwrap())
}

#[tokio::test]
async fn a_playlist_host_that_answers_and_then_hangs_is_refused_within_the_stall_timeout() {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(|| async {
        let silent = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
        axum::body::Body::from_stream(silent).into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let started = Instant::now();
    let (end, messages) = pull_once(format!("http://{addr}/live/a.m3u8")).await;
    assert!(
        matches!(&end, PullEnd::Refused(e) if e.contains("no answer within 1s")),
        "{end:?}"
    );
    assert_eq!(messages, 0);
    // Not the 10 s a reload may take: the stall timeout (1 s) decides.
    assert!(
        started.elapsed() < PLAYLIST_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_playlist_that_never_delivers_a_segment_is_refused() {
    let empty = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n";
    let ended = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-ENDLIST\n";
    let missing = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n\
                   #EXTINF:1,\nnowhere.ts\n";
    let (base, _) = recording_server(vec![
        ("/live/empty.m3u8", Bytes::from(empty)),
        ("/live/ended.m3u8", Bytes::from(ended)),
        ("/live/missing.m3u8", Bytes::from(missing)),
    ])
    .await;
    for (name, want) in [
        // A live playlist that never lists a segment: nothing to wait for on this host.
        ("empty", &["listed no new segment"][..]),
        // Ended without a segment: nothing recorded, so nothing to remember as ended either.
        ("ended", &["ended (EXT-X-ENDLIST) before any media segment"]),
        // Its segment answers 404 and it never gains another (which of the two the stall
        // check notices first depends on a few microseconds).
        (
            "missing",
            &["listed no new segment", "no usable HLS segment"],
        ),
    ] {
        let (end, messages) = pull_once(format!("{base}/live/{name}.m3u8")).await;
        assert!(
            matches!(&end, PullEnd::Refused(e) if want.iter().any(|w| e.contains(w))),
            "{name}: {end:?}"
        );
        assert_eq!(messages, 0, "{name}");
    }
}

#[test]
fn reloads_that_fail_before_any_segment_refuse_the_source() {
    let (mut l, _rx) = live();
    for _ in 1..RELOAD_FAILURES {
        assert!(l.reload_failed(PlaylistError::Status(403)).is_ok());
    }
    assert!(matches!(
        l.reload_failed(PlaylistError::Status(403)),
        Err(PullEnd::Refused(e)) if e.contains("HTTP 403")
    ));
    // Once media flowed, the same failures break the connection instead.
    let (mut l, _rx) = live();
    l.container = Some(Container::Ts);
    for _ in 1..RELOAD_FAILURES {
        assert!(l.reload_failed(PlaylistError::Status(404)).is_ok());
    }
    assert!(matches!(
        l.reload_failed(PlaylistError::Status(404)),
        Err(PullEnd::Broken(_))
    ));
}
