use super::*;

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

fn live() -> (Live, mpsc::Receiver<SinkMsg>) {
    let ctx = Arc::new(Ctx {
        client: reqwest::Client::new(),
        headers: HeaderMap::new(),
        keys: Mutex::new(HashMap::new()),
        inits: Mutex::new(HashMap::new()),
    });
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
