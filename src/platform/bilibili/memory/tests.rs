use super::*;

#[test]
fn a_fallback_starts_once_and_rechecks_the_signed_call_now_and_then() {
    let s = SignStates::default();
    let t0 = Instant::now();
    assert_eq!(s.may_sign(Endpoint::Info, t0), Ok(()));
    assert!(s.refused(Endpoint::Info, "code -352", t0));
    // Refused again while in the fallback: no new start to log.
    assert!(!s.refused(Endpoint::Info, "code -352", t0));
    assert_eq!(s.reason(Endpoint::Info).as_deref(), Some("code -352"));
    // The other endpoint is not affected.
    assert_eq!(s.may_sign(Endpoint::Play, t0), Ok(()));
    // Signed calls are skipped until the recheck, which goes to one caller only.
    let soon = t0 + Duration::from_secs(10);
    assert_eq!(s.may_sign(Endpoint::Info, soon), Err("code -352".into()));
    let later = t0 + SIGNED_RECHECK;
    assert_eq!(s.may_sign(Endpoint::Info, later), Ok(()));
    assert!(s.may_sign(Endpoint::Info, later).is_err());
    // The recheck answered: the fallback ends, once.
    assert!(s.answered(Endpoint::Info));
    assert!(!s.answered(Endpoint::Info));
    assert_eq!(s.reason(Endpoint::Info), None);
}

#[test]
fn flags_report_changes_only() {
    let f = Flags::default();
    assert!(
        !f.set("bilibili:1", false),
        "not capped at first sight: nothing to say"
    );
    assert!(f.set("bilibili:1", true));
    assert!(!f.set("bilibili:1", true));
    assert!(f.set("bilibili:1", false));
    assert!(f.set("bilibili:1", true));
    assert!(f.set("bilibili:2", true));
}

fn info() -> PlayInfo {
    PlayInfo {
        room_id: 1,
        live_status: 1,
        encrypted: false,
        pwd_verified: true,
        special_types: Vec::new(),
        has_playurl: true,
        listed_streams: None,
        streams: Vec::new(),
        qn_desc: Vec::new(),
    }
}

#[test]
fn a_recent_play_info_is_used_once_and_only_while_fresh() {
    let r = RecentPlay::default();
    let t0 = Instant::now();
    r.put("a", info(), t0);
    assert!(r.take("a", t0 + Duration::from_secs(1)).is_some());
    assert!(r.take("a", t0 + Duration::from_secs(1)).is_none());
    r.put("a", info(), t0);
    assert!(r.take("a", t0 + PLAY_REUSE).is_none());
    // Old entries of other rooms go when a new one comes.
    r.put("b", info(), t0);
    r.put("c", info(), t0 + PLAY_REUSE);
    assert_eq!(lock(&r.map).len(), 1);
}
