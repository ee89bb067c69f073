use super::{Signature, signature};

#[test]
fn a_body_is_flv_by_its_first_three_bytes() {
    for head in [
        &b"FLV"[..],
        b"FLV\x01\x05",
        b"FLV\x01\x05\0\0\0\x09\0\0\0\0",
    ] {
        assert_eq!(signature(head), Signature::Flv, "{head:?}");
    }
    for head in [&b""[..], b"F", b"FL"] {
        assert_eq!(signature(head), Signature::TooShort, "{head:?}");
    }
    for head in [
        &b"<"[..],
        b"FX",
        b"FLX",
        b"flv",
        b"<!DOCTYPE html>",
        b"#EXTM3U\n",
    ] {
        assert_eq!(signature(head), Signature::Other, "{head:?}");
    }
}
