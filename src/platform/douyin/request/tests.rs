use super::*;

const UA: &str = crate::http::BROWSER_UA;

#[test]
fn the_enter_query_is_the_peers_list_with_the_ua_version() {
    let v = browser_version(UA).unwrap();
    assert_eq!(v, "156.0.0.0");
    let q = enter_query("a.b-c_1", &v, "TOKEN");
    assert_eq!(
        q,
        "app_name=douyin_web&enter_from=web_live&live_id=1&aid=6383&compress=gzip\
             &device_platform=web&browser_language=zh-CN&browser_platform=Win32\
             &browser_name=Mozilla&browser_version=156.0.0.0&web_rid=a.b-c_1\
             &is_need_double_stream=false&msToken=TOKEN"
    );
    let r = reflow_query("73", "MS4w", "verify_x", "T");
    assert_eq!(
        r,
        "room_id=73&sec_user_id=MS4w&type_id=0&live_id=1&version_code=99.99.99\
             &app_id=1128&aid=6383&verifyFp=verify_x&msToken=T"
    );
}

#[test]
fn browser_versions_are_chrome_numbers() {
    assert_eq!(
        browser_version("Mozilla/5.0 (X11) Chrome/99.0.1.2 Safari/537.36").as_deref(),
        Some("99.0.1.2")
    );
    assert_eq!(browser_version("Mozilla/5.0 Firefox/128.0"), None);
    assert_eq!(browser_version("x Chrome/abc y"), None);
    assert_eq!(browser_version("x Chrome/.1 y"), None);
}

#[test]
fn fixed_dice_sign_the_same_way_every_time() {
    let signer = Signer::new(UA);
    let run = || {
        let dice = Dice::fixed(7, 1_767_225_600_000);
        let f = dice.fresh();
        let q = enter_query("61234567890", "156.0.0.0", &f.ms_token);
        (dice.odin_ttid(), sign(&signer, &q, &f.entropy), f)
    };
    let (odin_a, signed_a, fresh) = run();
    let (odin_b, signed_b, _) = run();
    assert_eq!(odin_a, odin_b);
    assert_eq!(signed_a, signed_b);
    assert_eq!(odin_a.len(), 160);
    assert_eq!(fresh.ms_token.len(), 184);
    assert_eq!(fresh.ac_nonce.len(), 21);
    assert!(fresh.verify_fp.starts_with("verify_"));
    // The signature goes last, after the msToken it covers.
    let (q, sig) = signed_a.rsplit_once("&a_bogus=").unwrap();
    assert!(q.ends_with(&format!("msToken={}", fresh.ms_token)));
    assert!(!sig.is_empty());
    assert_eq!(
        sig,
        signer.sign(q, "", &fresh.entropy),
        "signed over the query as sent"
    );
    // Other dice, other values.
    let other = Dice::fixed(8, 1_767_225_600_000).fresh();
    assert_ne!(other.ms_token, fresh.ms_token);
    let system = Dice::system();
    assert_ne!(system.fresh().ms_token, system.fresh().ms_token);
}

#[test]
fn cookies_a_browser_sends() {
    let c = browser_cookies("ODIN", "NONCE");
    assert_eq!(
        c,
        [
            ("odin_ttid", "ODIN"),
            ("__ac_nonce", "NONCE"),
            ("hevc_supported", "true")
        ]
    );
}
