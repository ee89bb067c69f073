use super::*;

#[test]
fn sniff_is_printable_and_short() {
    assert_eq!(
        sniff(b"<!DOCTYPE html>\n<html>"),
        "\"<!DOCTYPE html>.<html>\""
    );
    assert_eq!(sniff(&[0u8; 100]).len(), 26);
}
