use super::*;
use proptest::prelude::*;

fn base() -> Url {
    Url::parse("https://cdn.example/live/room/index.m3u8?expires=1&sign=abc").unwrap()
}

fn media(text: &str) -> MediaPlaylist {
    match parse(text.as_bytes(), &base()) {
        Ok(Playlist::Media(m)) => m,
        other => panic!("not a media playlist: {other:?}"),
    }
}

fn err(text: &str) -> ParseError {
    parse(text.as_bytes(), &base()).expect_err("must be refused")
}

#[test]
fn the_ts_fixture_playlist() {
    let text = include_str!("../../../tests/fixtures/media/hls_ts/live.m3u8");
    let m = media(text);
    assert_eq!(m.target_duration, 2.0);
    assert_eq!(m.media_sequence, 2);
    assert!(!m.ended);
    assert_eq!(m.segments.len(), 4);
    let seqs: Vec<u64> = m.segments.iter().map(|s| s.sequence).collect();
    assert_eq!(seqs, [2, 3, 4, 5]);
    assert_eq!(
        m.segments[0].uri.as_str(),
        "https://cdn.example/live/room/seg_002.ts"
    );
    assert_eq!(m.segments[3].duration, 1.98);
    assert!(
        m.segments
            .iter()
            .all(|s| s.map.is_none() && s.key.is_none())
    );
    assert_eq!(m.last_sequence(), Some(5));
    let total: f64 = m.segments.iter().map(|s| s.duration).sum();
    assert!((total - 7.98).abs() < 1e-9);
}

#[test]
fn the_fmp4_fixture_playlist() {
    let text = include_str!("../../../tests/fixtures/media/hls_fmp4/live.m3u8");
    let m = media(text);
    let map = m.segments[0].map.as_ref().expect("EXT-X-MAP applies");
    assert_eq!(map.uri.as_str(), "https://cdn.example/live/room/init.mp4");
    assert!(m.segments.iter().all(|s| s.map.as_ref() == Some(map)));
}

#[test]
fn every_media_tag() {
    let m = media(
        "\u{feff}#EXTM3U\r\n\
         #EXT-X-VERSION:7\r\n\
         #EXT-X-TARGETDURATION:6\r\n\
         #EXT-X-MEDIA-SEQUENCE:100\r\n\
         #EXT-X-DISCONTINUITY-SEQUENCE:3\r\n\
         #EXT-X-PLAYLIST-TYPE:EVENT\r\n\
         #EXT-X-MAP:URI=\"init-a.mp4\",BYTERANGE=\"720@0\"\r\n\
         #EXT-X-KEY:METHOD=AES-128,URI=\"/keys/k1?t=9\",IV=0x000102030405060708090a0B0c0d0e0F\r\n\
         #EXT-X-PROGRAM-DATE-TIME:2026-11-21T21:04:05.123+08:00\r\n\
         #EXTINF:5.005,title, with comma\r\n\
         #EXT-X-BYTERANGE:1000@720\r\n\
         media.mp4\r\n\
         #EXTINF:5.005,\r\n\
         #EXT-X-BYTERANGE:2000\r\n\
         media.mp4\r\n\
         # a comment\r\n\
         #EXT-X-UNKNOWN-TAG:whatever\r\n\
         #EXT-X-DISCONTINUITY\r\n\
         #EXT-X-KEY:METHOD=NONE\r\n\
         #EXT-X-MAP:URI=\"https://other.example/init-b.mp4\"\r\n\
         #EXT-X-PROGRAM-DATE-TIME:not a date\r\n\
         #EXTINF:4\r\n\
         //third.example/abs/seg.m4s?sig=1\r\n\
         #EXT-X-GAP\r\n\
         #EXTINF:4,\r\n\
         http://fourth.example/gone.m4s\r\n\
         #EXT-X-ENDLIST\r\n",
    );
    assert_eq!(m.target_duration, 6.0);
    assert_eq!(m.media_sequence, 100);
    assert_eq!(m.discontinuity_sequence, 3);
    assert_eq!(m.playlist_type, Some(PlaylistType::Event));
    assert!(m.ended);
    let s = &m.segments;
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].sequence, 100);
    assert_eq!(s[3].sequence, 103);
    assert_eq!(s[0].duration, 5.005);
    assert_eq!(
        s[0].byterange,
        Some(ByteRange {
            length: 1000,
            offset: 720
        })
    );
    assert_eq!(s[0].byterange.unwrap().header(), "bytes=720-1719");
    // An implicit offset continues the previous range of the same resource.
    assert_eq!(
        s[1].byterange,
        Some(ByteRange {
            length: 2000,
            offset: 1720
        })
    );
    let map = s[0].map.as_ref().unwrap();
    assert_eq!(map.uri.as_str(), "https://cdn.example/live/room/init-a.mp4");
    assert_eq!(
        map.byterange,
        Some(ByteRange {
            length: 720,
            offset: 0
        })
    );
    let key = s[0].key.as_ref().unwrap();
    assert_eq!(key.method, KeyMethod::Aes128);
    assert_eq!(
        key.uri.as_ref().unwrap().as_str(),
        "https://cdn.example/keys/k1?t=9"
    );
    assert_eq!(
        key.iv,
        Some([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    );
    assert_eq!(s[1].key, s[0].key, "a key applies until the next EXT-X-KEY");
    assert!(s[0].program_date_time.is_some());
    assert!(s[1].program_date_time.is_none());
    assert!(!s[0].discontinuity && !s[1].discontinuity);
    assert!(s[2].discontinuity);
    assert!(s[2].key.is_none(), "METHOD=NONE ends encryption");
    assert_eq!(
        s[2].map.as_ref().unwrap().uri.as_str(),
        "https://other.example/init-b.mp4"
    );
    assert!(s[2].program_date_time.is_none(), "a bad date is dropped");
    assert_eq!(s[2].uri.as_str(), "https://third.example/abs/seg.m4s?sig=1");
    assert!(!s[2].gap && s[3].gap);
    assert_eq!(s[3].uri.as_str(), "http://fourth.example/gone.m4s");
}

#[test]
fn relative_and_absolute_uris_mixed() {
    let m = media(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n\
         #EXTINF:2,\na.ts\n\
         #EXTINF:2,\n../other/b.ts?x=1\n\
         #EXTINF:2,\n/root/c.ts\n\
         #EXTINF:2,\nhttps://mirror.example/d.ts\n",
    );
    let uris: Vec<&str> = m.segments.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "https://cdn.example/live/room/a.ts",
            "https://cdn.example/live/other/b.ts?x=1",
            "https://cdn.example/root/c.ts",
            "https://mirror.example/d.ts",
        ]
    );
}

#[test]
fn keys_and_ivs() {
    let m = media(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n\
         #EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://x\",KEYFORMAT=\"com.apple.streamingkeydelivery\"\n\
         #EXTINF:2,\na.ts\n",
    );
    let key = m.segments[0].key.as_ref().unwrap();
    assert_eq!(key.method, KeyMethod::SampleAes);
    assert_eq!(key.uri.as_ref().unwrap().as_str(), "skd://x");
    assert_eq!(
        key.keyformat.as_deref(),
        Some("com.apple.streamingkeydelivery")
    );
    assert!(matches!(
        err("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"data:text/plain;base64,AAAA\"\n"),
        ParseError::Bad { line: 2, .. }
    ));
    assert!(matches!(
        err("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128\n#EXTINF:2,\na.ts\n"),
        ParseError::Bad { line: 2, .. }
    ));
    assert!(matches!(
        err("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0xZZ\n"),
        ParseError::Bad { .. }
    ));
    let m = media(
        "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x1\n#EXTINF:2,\na.ts\n\
         #EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI=\"k2\"\n#EXTINF:2,\nb.ts\n",
    );
    let mut one = [0u8; 16];
    one[15] = 1;
    assert_eq!(m.segments[0].key.as_ref().unwrap().iv, Some(one));
    assert_eq!(
        m.segments[1].key.as_ref().unwrap().method,
        KeyMethod::Other("SAMPLE-AES-CTR".into())
    );
}

#[test]
fn master_playlists_and_variant_choice() {
    let text = "#EXTM3U\n\
        #EXT-X-INDEPENDENT-SEGMENTS\n\
        #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"x\",URI=\"audio.m3u8\"\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\",BILI-QN=150\n\
        low/index.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=6000000,AVERAGE-BANDWIDTH=5000000,RESOLUTION=1920x1080,FRAME-RATE=30.000,CODECS=\"hev1.1.6.L120.90,mp4a.40.2\",BILI-QN=10000\n\
        https://other.example/high/index.m3u8?sign=1\n\
        #EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,BILI-QN=400\n\
        mid/index.m3u8\n\
        #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI=\"iframes.m3u8\"\n";
    let Ok(Playlist::Master(v)) = parse(text.as_bytes(), &base()) else {
        panic!("master expected");
    };
    assert_eq!(v.len(), 3);
    assert_eq!(
        v[0].uri.as_str(),
        "https://cdn.example/live/room/low/index.m3u8"
    );
    assert_eq!(v[0].resolution, Some((640, 360)));
    assert_eq!(v[0].codecs.as_deref(), Some("avc1.4d401e,mp4a.40.2"));
    assert_eq!(v[1].average_bandwidth, Some(5_000_000));
    assert_eq!(v[1].frame_rate, Some(30.0));
    assert_eq!(v[1].qn, Some(10000));
    let prefs = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let pick = |p: &[&str]| pick_variant(&v, &prefs(p)).unwrap().qn;
    assert_eq!(pick(&["best"]), Some(10000));
    assert_eq!(pick(&[]), Some(10000));
    assert_eq!(pick(&["origin"]), Some(10000));
    assert_eq!(pick(&["400"]), Some(400));
    assert_eq!(pick(&["250", "150"]), Some(150), "first preference present");
    assert_eq!(
        pick(&["30000"]),
        Some(10000),
        "unknown qn falls back to best"
    );
    assert!(pick_variant(&[], &prefs(&["best"])).is_none());
    assert_eq!(pick(&["worst"]), Some(150));
    assert_eq!(pick(&["720p"]), Some(400));
    assert_eq!(pick(&["1080p"]), Some(10000));
    assert_eq!(
        pick(&["700p"]),
        Some(150),
        "the best at most 700 lines high"
    );
    assert_eq!(
        pick(&["240p", "720p"]),
        Some(400),
        "nothing that low: the next preference"
    );
    assert_eq!(pick(&["240p"]), Some(10000), "nothing matches: the best");
    for p in ["best", "worst", "720p", "10000", "origin"] {
        assert!(is_variant_preference(p), "{p}");
    }
    for p in ["", "p", "720", "hd", "-1p", "720px"] {
        assert_eq!(is_variant_preference(p), p == "720", "{p}");
    }
}

#[test]
fn an_empty_live_playlist_is_a_media_playlist() {
    let m = media("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    assert!(m.segments.is_empty());
    assert_eq!(m.last_sequence(), None);
    // No TARGETDURATION: the longest segment, rounded up.
    let m = media("#EXTM3U\n#EXTINF:2.5,\na.ts\n#EXTINF:3.2,\nb.ts\n");
    assert_eq!(m.target_duration, 4.0);
}

#[test]
fn bad_values_are_errors() {
    let cases = [
        "#EXTM3U\n#EXTINF:-2,\na.ts\n",
        "#EXTM3U\n#EXTINF:NaN,\na.ts\n",
        "#EXTM3U\n#EXTINF:inf,\na.ts\n",
        "#EXTM3U\n#EXTINF:1e300,\na.ts\n",
        "#EXTM3U\n#EXTINF:86400,\na.ts\n",
        "#EXTM3U\n#EXTINF:two,\na.ts\n",
        "#EXTM3U\n#EXT-X-TARGETDURATION:-1\n",
        "#EXTM3U\n#EXT-X-TARGETDURATION:100000\n",
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-5\n",
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n",
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:99999999999999999999999\n",
        "#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:12\na.ts\n",
        "#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:18446744073709551615@2\na.ts\n",
        "#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:x@y\na.ts\n",
        "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE\n",
        "#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1@0\"\n",
        "#EXTM3U\n#EXT-X-MAP:URI=\"unterminated\n",
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n",
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=lots\nv.m3u8\n",
        "#EXTM3U\n#EXTINF:2,\nfile:///etc/passwd\n",
        "#EXTM3U\n#EXTINF:2,\njavascript:alert(1)\n",
        "#EXTM3U\nseg.ts\n",
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n#EXTINF:2,\na.ts\n",
    ];
    for c in cases {
        assert!(parse(c.as_bytes(), &base()).is_err(), "accepted: {c:?}");
    }
    assert_eq!(
        err("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n").to_string(),
        "line 2: EXT-X-MEDIA-SEQUENCE: \"18446744073709551615\" is absurd"
    );
}

#[test]
fn empty_and_overflowing_byte_ranges_are_refused() {
    assert_eq!(
        err("#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:0@18446744073709551615\na.ts\n").to_string(),
        "line 3: empty byte range \"0@18446744073709551615\""
    );
    assert_eq!(
        err("#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\",BYTERANGE=\"0@5\"\n").to_string(),
        "line 2: empty byte range \"0@5\""
    );
    assert!(
        err("#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:1@18446744073709551615\na.ts\n")
            .to_string()
            .contains("overflows")
    );
    assert!(
        err("#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\",BYTERANGE=\"2@18446744073709551615\"\n")
            .to_string()
            .contains("overflows")
    );
    // The last byte of the address space is still a range.
    let m = media("#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:1@18446744073709551614\na.ts\n");
    assert_eq!(
        m.segments[0].byterange.unwrap().header(),
        "bytes=18446744073709551614-18446744073709551614"
    );
    // Built by hand past the end: a header, not an overflow.
    let r = ByteRange {
        length: 10,
        offset: u64::MAX - 2,
    };
    assert_eq!(r.header(), format!("bytes={}-{}", u64::MAX - 2, u64::MAX));
    let r = ByteRange {
        length: 0,
        offset: u64::MAX,
    };
    assert_eq!(r.header(), format!("bytes={0}-{0}", u64::MAX));
}

#[test]
fn garbage_and_oversize_are_refused() {
    assert!(matches!(
        err("<!DOCTYPE html><html>403 Forbidden</html>"),
        ParseError::NotPlaylist(_)
    ));
    assert!(matches!(err(""), ParseError::NotPlaylist(_)));
    assert!(matches!(err("#EXTM3Ux\n"), ParseError::NotPlaylist(_)));
    assert!(matches!(
        parse(b"#EXTM3U\n\xff\xfe\n", &base()),
        Err(ParseError::NotPlaylist(_))
    ));
    let huge = format!("#EXTM3U\n{}", "#".repeat(MAX_PLAYLIST_BYTES));
    assert_eq!(err(&huge), ParseError::TooLarge(MAX_PLAYLIST_BYTES));
    let long = format!("#EXTM3U\n#EXTINF:2,\n{}.ts\n", "a".repeat(MAX_LINE));
    assert_eq!(err(&long), ParseError::LineTooLong(3));
    let mut many = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:1\n");
    for i in 0..=MAX_SEGMENTS {
        many.push_str(&format!("#EXTINF:1,\n{i}.ts\n"));
    }
    assert_eq!(err(&many), ParseError::TooMany(MAX_SEGMENTS));
    let mut variants = String::from("#EXTM3U\n");
    for i in 0..=MAX_VARIANTS {
        variants.push_str(&format!("#EXT-X-STREAM-INF:BANDWIDTH={i}\n{i}.m3u8\n"));
    }
    assert_eq!(err(&variants), ParseError::TooMany(MAX_VARIANTS));
}

#[test]
fn attribute_lists() {
    assert_eq!(
        attributes(1, "A=1,B=\"x, y=z\", C = 0x1F ,D=\"\"").unwrap(),
        [("A", "1"), ("B", "x, y=z"), ("C", "0x1F"), ("D", "")]
    );
    assert!(attributes(1, "A").is_err());
    assert!(attributes(1, "A=\"x\"junk").is_err());
    assert!(attributes(1, "").unwrap().is_empty());
}

fn tag_soup() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("#EXTINF:2,".to_string()),
        Just("#EXT-X-DISCONTINUITY".to_string()),
        Just("#EXT-X-ENDLIST".to_string()),
        Just("#EXT-X-GAP".to_string()),
        Just("#EXT-X-KEY:METHOD=NONE".to_string()),
        "[a-z0-9./?=&:%-]{0,20}",
        "#EXTINF:[-0-9.e]{0,8},.{0,5}",
        "#EXT-X-(MEDIA-SEQUENCE|TARGETDURATION|DISCONTINUITY-SEQUENCE):[-0-9]{0,22}",
        "#EXT-X-BYTERANGE:[0-9@]{0,25}",
        "#EXT-X-(KEY|MAP|STREAM-INF):[A-Z=\",0-9xX@-]{0,40}",
        ".{0,30}",
    ];
    proptest::collection::vec(line, 0..40).prop_map(|l| format!("#EXTM3U\n{}", l.join("\n")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&body, &base());
        let mut with_header = b"#EXTM3U\n".to_vec();
        with_header.extend_from_slice(&body);
        let _ = parse(&with_header, &base());
    }

    #[test]
    fn random_tag_soup_never_panics(text in tag_soup()) {
        if let Ok(Playlist::Media(m)) = parse(text.as_bytes(), &base()) {
            for (i, s) in m.segments.iter().enumerate() {
                prop_assert_eq!(s.sequence, m.media_sequence + i as u64);
                prop_assert!(s.duration.is_finite() && s.duration >= 0.0);
                for r in s.byterange.iter().chain(s.map.iter().filter_map(|m| m.byterange.as_ref())) {
                    prop_assert!(r.length > 0);
                    let _ = r.header();
                }
            }
        }
    }
}
