use super::*;

#[test]
fn creates_writes_and_renames_without_overwriting() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("a/b/name");
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(dir.path().join("a/b/name.flv"), b"old").unwrap();
    let mut p = PartFile::create(&stem, "flv").unwrap();
    assert_eq!(p.part_path(), dir.path().join("a/b/name_1.flv.part"));
    p.write_unit(&[b"hello "]).unwrap();
    p.write_unit(&[&vec![b'x'; 100_000]]).unwrap();
    p.write_unit(&[b"!"]).unwrap();
    p.patch(0, b"H").unwrap();
    assert_eq!(p.len(), 100_007);
    // Someone takes our final name while we write: we must not replace it.
    std::fs::write(dir.path().join("a/b/name_1.flv"), b"theirs").unwrap();
    let final_path = p.finish().unwrap();
    assert_eq!(final_path, dir.path().join("a/b/name_1_1.flv"));
    let data = std::fs::read(&final_path).unwrap();
    assert!(data.starts_with(b"Hello x") && data.ends_with(b"x!"));
    assert_eq!(
        std::fs::read(dir.path().join("a/b/name.flv")).unwrap(),
        b"old"
    );
    assert_eq!(
        std::fs::read(dir.path().join("a/b/name_1.flv")).unwrap(),
        b"theirs"
    );
    assert!(!dir.path().join("a/b/name_1.flv.part").exists());
}

#[test]
fn an_existing_part_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("n");
    let a = PartFile::create(&stem, "flv").unwrap();
    let b = PartFile::create(&stem, "flv").unwrap();
    assert_ne!(a.part_path(), b.part_path());
    assert!(a.discard_if_empty().is_none());
    assert!(!dir.path().join("n.flv.part").exists());
}

#[test]
fn patches_cannot_grow_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = PartFile::create(&dir.path().join("n"), "flv").unwrap();
    p.write_unit(&[b"abc"]).unwrap();
    assert!(p.patch(2, b"xy").is_err());
}
