use super::{first_stem, is_cover_part, sniff, write};

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
fn a_cover_and_its_first_segment_get_a_stem_free_for_both() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("alice_20261203-040000_title");
    assert_eq!(first_stem(&stem), stem);
    // An earlier session's segment without a cover (or a cover without its segment) holds the
    // name for both: the new segment and its cover move to `_1` together.
    std::fs::write(dir.path().join("alice_20261203-040000_title.ts"), b"").unwrap();
    assert_eq!(
        first_stem(&stem),
        dir.path().join("alice_20261203-040000_title_1")
    );
    std::fs::write(dir.path().join("alice_20261203-040000_title_1.webp"), b"").unwrap();
    assert_eq!(
        first_stem(&stem),
        dir.path().join("alice_20261203-040000_title_2")
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
    // Saved before its segment opens, a cover may be the first file in its folder.
    let deeper = write(&dir.path().join("alice/2026-12/x"), "png", b"\x89PNG").unwrap();
    assert_eq!(deeper, dir.path().join("alice/2026-12/x.png"));
}
