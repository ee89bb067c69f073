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

#[test]
fn a_stem_decided_ahead_is_free_for_every_extension_that_will_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("alice_20261203-040000");
    let exts = ["flv", "ts", "jpg"];
    assert_eq!(free_stem(&stem, &exts), stem);
    // A segment of another kind, a cover alone, a `.part` left by a crash: each takes its
    // stem for all of them, so a segment and its cover never part ways.
    std::fs::write(dir.path().join("alice_20261203-040000.ts"), b"").unwrap();
    std::fs::write(dir.path().join("alice_20261203-040000_1.jpg"), b"").unwrap();
    std::fs::write(dir.path().join("alice_20261203-040000_2.flv.part"), b"").unwrap();
    let free = free_stem(&stem, &exts);
    assert_eq!(free, dir.path().join("alice_20261203-040000_3"));
    // An extension not asked about takes nothing.
    assert_eq!(free_stem(&stem, &["flv"]), stem);
    // The decided stem is where a segment opens.
    let p = PartFile::create(&free, "flv").unwrap();
    assert_eq!(
        p.part_path(),
        dir.path().join("alice_20261203-040000_3.flv.part")
    );
}
