use super::*;
use serde_json::json;

#[test]
fn numbers_as_strings_and_nulls() {
    assert_eq!(int(&json!("12")), Some(12));
    assert_eq!(int(&json!(" 12 ")), Some(12));
    assert_eq!(int(&json!(12.0)), Some(12));
    assert_eq!(int(&json!("1.5")), None);
    assert_eq!(int(&json!(null)), None);
    assert_eq!(uint(&json!(-1)), None);
    assert_eq!(text(&json!(5)), Some("5".into()));
    assert_eq!(flag(&json!("true")), Some(true));
    assert_eq!(flag(&json!(0)), Some(false));
    assert_eq!(flag(&json!(null)), None);
    assert_eq!(at(&json!({"a": {"b": 1}}), "/a/b"), &json!(1));
    assert_eq!(at(&json!({"a": null}), "/a/b"), &Value::Null);
}

#[test]
fn bodies_that_are_not_json() {
    assert!(matches!(
        parse_body(b"", "x"),
        Err(PlatformError::Blocked(_))
    ));
    assert!(matches!(
        parse_body(b" \n", "x"),
        Err(PlatformError::Blocked(_))
    ));
    let e = parse_body(b"\xEF\xBB\xBF<!DOCTYPE html><html>", "x").unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("HTML")),
        "{e}"
    );
    let e = parse_body(br#"{"code":0,"data":{"#, "x").unwrap_err();
    assert!(
        matches!(&e, PlatformError::Malformed(m) if m.contains("truncated")),
        "{e}"
    );
    let e = parse_body(b"\x00\x01garbage", "x").unwrap_err();
    assert!(matches!(e, PlatformError::Malformed(_)));
    assert_eq!(short(&"é".repeat(300)).chars().count(), 101);
}
