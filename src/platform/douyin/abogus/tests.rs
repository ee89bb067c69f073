use super::*;

const CHROME_142: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone17,1; CPU iPhone OS 18_2_1 like Mac OS X) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Mohegan Sun/4.7.4";
const EDGE_131: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Deterministic `[0, 1)` source for the tests (xorshift64*).
fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed | 1;
    move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sm3_known_vectors() {
    assert_eq!(
        hex(&sm3(b"abc")),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    assert_eq!(
        hex(&sm3("abcd".repeat(16).as_bytes())),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
}

#[test]
fn rc4_known_vector() {
    let mut rc4 = Rc4::new(b"Key");
    let out: Vec<u8> = b"Plaintext".iter().map(|b| b ^ rc4.next_byte()).collect();
    assert_eq!(hex(&out), "bbf316e8d940af0ad3");
}

/// Produced by running f2's `f2/utils/abogus.py` (Johnserf-Seed/f2 at
/// 93a4e09a6fc69401bfc7537286cf2fe9176c3660, gmssl 3.2.2, Python 3.11) with
/// `ABogus(fp=<fingerprint>, user_agent=<ua>)` freshly built per vector,
/// `time.time()` fixed to `now_ms / 1000` and `random.random()` returning
/// `prefix / 10000` (0.1234, 0.5678, 0.9999 for the first vector), then taking
/// `generate_abogus(query, body)[1]`.
fn golden(ua: &str, query: &str, body: &str, fp: &str, now_ms: u64, prefix: [u16; 3]) -> String {
    let fingerprint = fp.to_owned();
    Signer::new(ua).sign(
        query,
        body,
        &Entropy {
            now_ms,
            prefix,
            fingerprint,
        },
    )
}

#[test]
fn golden_vectors_match_f2() {
    let enter = "app_name=douyin_web&enter_from=web_live&live_id=1&aid=6383&compress=gzip\
            &device_platform=web&browser_language=zh-CN&browser_platform=Win32\
            &browser_name=Mozilla&browser_version=142.0.0.0&web_rid=123456789\
            &is_need_double_stream=false&msToken=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-\
            AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-\
            AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdEfGhIjKlMnOpQrStUvWx";
    let fp = "1536|747|1560|834|0|30|0|0|1536|864|1536|824|1536|747|24|24|Win32";
    assert_eq!(
        golden(
            CHROME_142,
            enter,
            "",
            fp,
            1_767_225_600_123,
            [1234, 5678, 9999]
        ),
        "E7mhBdu2krjBknWz5lQLfY3q61Z3YQQT0SVkMD2fZxV11L39HMTa9exobRhvwFEjiG/BIeYjy4hbT3oh\
             rQ2y8qwf9W4x/25gsDSkKl12so0j53inCLf/E0iw5hsAtFH8svrUiKi8owVtSYyhldAJ5kIlO62-zo0/96E="
    );
    let reflow = "room_id=7300000000000000000&sec_user_id=MS4wLjABAAAAexample&type_id=0\
            &live_id=1&version_code=99.99.99&app_id=1128&aid=6383\
            &verifyFp=verify_mj7k2x9a_AbCdEfGh_IjKl_4MnO_9PqR_StUvWxYz0123";
    let fp = "1920|1080|1946|1165|0|0|0|0|1920|1080|1920|1040|1920|1080|24|24|MacIntel";
    assert_eq!(
        golden(IPHONE, reflow, "", fp, 1_780_000_000_999, [0, 4200, 7300]),
        "DfmhQdwdk3xkkEyS5lVLfY3q6lF3Y8YH0SVkMD2fxnVfl639HMPq9exoGJtvzIfjET//Ie8jy4hbO3xp\
             rQAjM36UHWwoWxQ2m66gKl5Q5xSSs1feeLbQrsJx-k4lFeep5JV3EcvsqJKczbEk09Or4hqvPjoja3Lk\
             TiyxypaC3pyH"
    );
    let body = "aweme_type=0&item_id=7467485482314763572&play_delta=1&source=0";
    let fp = "1024|768|1050|850|0|30|0|0|1024|768|1280|800|1024|768|24|24|Win32";
    assert_eq!(
        golden(
            EDGE_131,
            "keyword=直播&aid=6383",
            body,
            fp,
            1_700_000_000_000,
            [5000, 2500, 1250]
        ),
        "xfmZ/Rh2pVoNfE6u56KLfY3q6XvwYDOI0SVkMD2f3cZGqL39HMYD9exoIBGvXY8jwG/-IeYjy4hbYpxZ\
             rQ29M1wfH8Xx/25dmDSkKl12so0j53iney68E0Uw4hsASl-QsvrlEKi8q7IeSYyZWnAJ5kIlO62-zo0/9WL="
    );
    let fp = "1280|800|1304|880|0|0|0|0|1280|800|1280|800|1280|800|24|24|Win32";
    assert_eq!(
        golden(FIREFOX, "", "", fp, 1_767_225_600_000, [9000, 8000, 7000]),
        "QfmqQfhdprys6ESG5lQLfY3q6fe3YdCT0SVkMD2fvxVh1L39HMYD9exobRhvwY8jiG/BIeujy4hbYNQp\
             rQcj01wfHSko/25MmDSkKl5Q5xSSs1XJtyUgJ0kNmktUCec2Rv3lrOXMw7lHzYYk09oHmhK4bIOwu3GM4j=="
    );
}

#[test]
fn any_input_gives_well_formed_signature() {
    let mut r = rng(7);
    let big = "x=".to_owned() + &"é中&%\u{0}\u{10ffff}".repeat(900);
    assert!(big.len() > 10 * 1024);
    let mut queries = vec![String::new(), big, "a_bogus=".into(), "\u{fffd}".into()];
    for n in 0..200 {
        let len = pick(&mut r, 300);
        queries.push(
            (0..len)
                .map(|_| char::from_u32(pick(&mut r, 0x3000) as u32).unwrap_or('?'))
                .collect::<String>()
                + &n.to_string(),
        );
    }
    let agents = [CHROME_142, IPHONE, "", "ü\u{0}\u{ffff}"];
    for (i, query) in queries.iter().enumerate() {
        let mut entropy = Entropy::from_rng(r().to_bits() >> (i % 64), &mut r);
        if i % 50 == 0 {
            entropy.now_ms = u64::MAX;
            entropy.prefix = [u16::MAX; 3];
        }
        if i % 70 == 1 {
            entropy.fingerprint = "ß".repeat(300);
        }
        let sig = Signer::new(agents[i % agents.len()]).sign(query, query, &entropy);
        let values = 12 + 44 + entropy.fingerprint.len() + 1;
        assert_eq!(sig.len(), values.div_ceil(3) * 4);
        let digits = sig.trim_end_matches('=');
        assert!(sig.len() - digits.len() <= 2);
        assert!(digits.bytes().all(|b| SIG_ALPHABET.contains(&b)), "{sig}");
    }
}

#[test]
fn entropy_from_rng_uses_peer_scaling() {
    let mut seq = [0.1234, 0.5678, 0.9999]
        .into_iter()
        .chain(std::iter::repeat(0.5));
    let entropy = Entropy::from_rng(42, &mut || seq.next().unwrap_or(0.0));
    assert_eq!(entropy.prefix, [1234, 5678, 9999]);
    assert_eq!(
        entropy.fingerprint,
        "1472|924|1500|1007|0|30|0|0|1472|924|1600|940|1472|924|24|24|Win32"
    );
    let mut ones = || 1.0;
    let fp = random_fingerprint(&mut ones);
    assert!(fp.starts_with("1920|1080|1952|1170|0|30|0|0|1920|1080|1920|1080|"));
}

#[test]
fn signed_query_appends_raw_signature() {
    let entropy = Entropy::from_rng(1_767_225_600_000, &mut rng(3));
    let signer = Signer::new(CHROME_142);
    let sig = signer.sign("a=1", "", &entropy);
    assert_eq!(
        signer.signed_query("a=1", "", &entropy),
        format!("a=1&a_bogus={sig}")
    );
    assert!(
        signer
            .signed_query("", "", &entropy)
            .starts_with("a_bogus=")
    );
}

#[test]
fn browser_versions() {
    assert_eq!(browser_version_of(CHROME_142).as_deref(), Some("142.0.0.0"));
    assert_eq!(browser_version_of(EDGE_131).as_deref(), Some("131.0.0.0"));
    assert_eq!(browser_version_of("x Chrome/99.1"), Some("99.1".into()));
    assert_eq!(browser_version_of(IPHONE), None);
    assert_eq!(browser_version_of(FIREFOX), None);
    assert_eq!(browser_version_of("Chrome/ x"), None);
    assert_eq!(browser_version_of(""), None);
}

#[test]
fn tokens_have_peer_shapes() {
    let mut r = rng(11);
    let token = ms_token(&mut r);
    assert_eq!(token.len(), 184);
    assert!(token.bytes().all(|b| MS_TOKEN_CHARS.contains(&b)));
    for (s, len) in [(odin_ttid(&mut r), 160), (ac_nonce(&mut r), 21)] {
        assert_eq!(s.len(), len);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    let mut nan = || f64::NAN;
    assert_eq!(ac_nonce(&mut nan), "a".repeat(21));

    let fp = verify_fp(1_767_225_600_000, &mut r);
    let (stamp, uuid) = fp
        .strip_prefix("verify_")
        .and_then(|s| s.split_once('_'))
        .unwrap();
    assert_eq!(u64::from_str_radix(stamp, 36).unwrap(), 1_767_225_600_000);
    assert_eq!(uuid.len(), 36);
    let parts: Vec<usize> = uuid.split('_').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert_eq!(&uuid[14..15], "4");
    assert!("89AB".contains(&uuid[19..20]));
    assert_eq!(verify_fp(0, &mut r).len(), "verify_0_".len() + 36);
}
