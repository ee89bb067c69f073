use std::path::Path;

use super::{is_cover_part, sniff, stem_of, write};

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];

#[test]
fn images_are_recognised_by_their_bytes_not_by_what_the_server_claims() {
    assert_eq!(sniff(JPEG), Some("jpg"));
    assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("png"));
    assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("webp"));
    assert_eq!(sniff(b"<!DOCTYPE html><html>"), None);
    assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
    assert_eq!(sniff(b""), None);
}

#[test]
fn a_cover_takes_its_segments_stem_whatever_the_title_held() {
    let seg = Path::new("/rec/bilibili/a/x_20261203-040000_..%2F$(rm -rf ~); x.flv.part");
    assert_eq!(
        stem_of(seg).unwrap(),
        Path::new("/rec/bilibili/a/x_20261203-040000_..%2F$(rm -rf ~); x")
    );
    assert_eq!(
        stem_of(Path::new("/rec/a/b.c.ts")).unwrap(),
        Path::new("/rec/a/b.c")
    );
    assert!(is_cover_part("/rec/a/b.jpg.part"));
    assert!(is_cover_part("/rec/a/b.webp.part"));
    assert!(!is_cover_part("/rec/a/b.flv.part"));
    assert!(!is_cover_part("/rec/a/b.jpg"));
}

#[test]
fn a_cover_is_written_whole_and_never_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("alice_20261203-040000_title");
    let first = write(&stem, "jpg", JPEG).unwrap();
    assert_eq!(first, dir.path().join("alice_20261203-040000_title.jpg"));
    assert_eq!(std::fs::read(&first).unwrap(), JPEG);
    let second = write(&stem, "jpg", b"\xFF\xD8\xFFother").unwrap();
    assert_eq!(second, dir.path().join("alice_20261203-040000_title_1.jpg"));
    assert_eq!(std::fs::read(&first).unwrap(), JPEG);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
