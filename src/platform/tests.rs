use super::*;

#[test]
fn recognizes_each_platform() {
    let t = recognize("https://live.bilibili.com/21452505?spm_id_from=x", None).unwrap();
    assert_eq!(t.platform, PlatformKind::Bilibili);
    assert_eq!(t.locator, Locator::MaybeShort("21452505".into()));
    let t = recognize("live.douyin.com/742345678901", None).unwrap();
    assert_eq!(t.known_key().unwrap().to_string(), "douyin:742345678901");
    let t = recognize("http://127.0.0.1:8080/live/a.flv?token=x", None).unwrap();
    assert_eq!(t.platform, PlatformKind::Direct);
    assert_eq!(t.known_key().unwrap().id.len(), 16);
    assert!(recognize("https://www.youtube.com/watch?v=x", None).is_err());
    assert!(recognize("ftp://x/a.flv", None).is_err());
    assert!(recognize("https://example.com/live?id=1", Some(PlatformKind::Direct)).is_ok());
}

#[test]
fn keys_parse() {
    assert_eq!(
        RoomKey::parse("bilibili:1").unwrap().to_string(),
        "bilibili:1"
    );
    assert!(RoomKey::parse("nope:1").is_none());
    assert!(RoomKey::parse("bilibili:").is_none());
}

#[test]
fn direct_ids_are_stable() {
    assert_eq!(direct_id("http://a/b.flv"), direct_id("http://a/b.flv"));
    assert_ne!(direct_id("http://a/b.flv"), direct_id("http://a/c.flv"));
}
