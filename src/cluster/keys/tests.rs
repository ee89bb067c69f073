use super::*;

#[test]
fn keys_are_classified_by_their_place_under_the_prefix() {
    let l = Layout::new("home");
    assert_eq!(l.owner("bilibili:1"), "/liverec/home/owners/bilibili:1");
    assert_eq!(
        l.classify("/liverec/home/members/nas-1"),
        Some(KeyOf::Member("nas-1"))
    );
    assert_eq!(
        l.classify(&l.owner("douyin:a.b")),
        Some(KeyOf::Owner("douyin:a.b"))
    );
    assert_eq!(
        l.classify(&l.session("direct:x")),
        Some(KeyOf::Session("direct:x"))
    );
    assert_eq!(
        l.classify("/liverec/home/throttle/bilibili"),
        Some(KeyOf::Throttle("bilibili"))
    );
    assert_eq!(l.classify("/liverec/homer/owners/x"), None);
    assert_eq!(l.classify("/liverec/home/owners/"), None);
    assert_eq!(l.classify("/liverec/home/other/x"), None);
}

#[test]
fn a_session_continues_for_the_same_broadcast_only() {
    let s = SessionValue {
        session: Uuid::nil(),
        start: chrono::DateTime::parse_from_rfc3339("2026-12-01T20:00:00+08:00").unwrap(),
        next_index: 4,
        instance: "nas-1".into(),
        hint: Some("1764590400".into()),
        updated_ms: 1_000,
    };
    assert!(s.continues(Some("1764590400"), u64::MAX));
    assert!(!s.continues(Some("1764600000"), 2_000));
    assert!(!s.continues(None, 2_000));
    let unhinted = SessionValue { hint: None, ..s };
    assert!(unhinted.continues(None, 1_000 + UNHINTED_SESSION_AGE_MS));
    assert!(!unhinted.continues(None, 2_000 + UNHINTED_SESSION_AGE_MS));
    assert!(!unhinted.continues(Some("x"), 2_000));
}

#[test]
fn values_keep_their_shape() {
    let v = encode(&MemberValue {
        weight: 2.0,
        accepting: true,
    });
    assert_eq!(v, br#"{"weight":2.0,"accepting":true}"#);
    // A member written without the flag accepts rooms.
    let m: MemberValue = decode(br#"{"weight":1.5}"#).unwrap();
    assert!(m.accepting);
    let o: OwnerValue = decode(br#"{"instance":"nas-2"}"#).unwrap();
    assert!(!o.writing);
    assert_eq!(decode::<OwnerValue>(b"garbage"), None);
}
