use super::*;

#[test]
fn part_names_split() {
    assert_eq!(
        split_part_name(Path::new("/a/b.c.flv.part")),
        Some((PathBuf::from("/a/b.c"), "flv".into()))
    );
    assert_eq!(split_part_name(Path::new("/a/b.part")), None);
}

#[test]
fn ts_and_mp4_are_cut_to_whole_units() {
    let dir = tempfile::tempdir().unwrap();
    let ts = dir.path().join("x.ts.part");
    std::fs::write(&ts, vec![0x47; 188 * 3 + 50]).unwrap();
    let done = finalize_part(&ts).unwrap();
    assert_eq!(done[0].bytes, 188 * 3);
    assert_eq!(done[0].path, dir.path().join("x.ts"));
    let mp4 = dir.path().join("y.mp4.part");
    let mut data = Vec::new();
    for (size, kind) in [(16u32, b"ftyp"), (12, b"moof"), (40, b"mdat")] {
        data.extend_from_slice(&size.to_be_bytes());
        data.extend_from_slice(kind);
        data.extend(std::iter::repeat_n(0u8, size as usize - 8));
    }
    data.truncate(data.len() - 5);
    std::fs::write(&mp4, &data).unwrap();
    assert_eq!(finalize_part(&mp4).unwrap()[0].bytes, 28);
}
