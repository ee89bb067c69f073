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

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/flv_640x360_20s.flv"
    ))
    .unwrap()
}

/// The stream at twice the speed: every timestamp halved (60 fps video), so that the frame
/// interval that ends a file's duration is not the 33 ms a guess would give.
fn double_speed(src: &[u8]) -> Vec<u8> {
    let mut p = crate::media::flv::Parser::default();
    p.push(src);
    let mut out = src[..13].to_vec();
    while let Some(item) = p.next_item() {
        if let crate::media::flv::Item::Tag(t) = item {
            out.extend_from_slice(&tag::encode_header(t.kind, t.body.len(), t.timestamp / 2));
            out.extend_from_slice(&t.body);
            out.extend_from_slice(&((t.body.len() + TAG_HEADER) as u32).to_be_bytes());
        }
    }
    out
}

/// Records `src` through the pipeline with splits every `split_ms`, then takes each file back
/// to what a crash leaves (the metadata as reserved at open) and repairs it. Recording and
/// repair must compute the same metadata, so the repaired file is the recorded one, byte for
/// byte. Returns the number of files.
fn repair_matches_recording(src: &[u8], split_ms: i64) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let template = crate::config::filename_template("rec_{index}").unwrap();
    let spec = SegmentSpec::plain(dir.path().to_path_buf(), template);
    let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    let mut p = FlvPipeline::new(Limits {
        duration_ms: split_ms,
        size: 0,
    });
    out.new_connection();
    for c in src.chunks(64 << 10) {
        p.push(c, &mut out).unwrap();
    }
    p.close(&mut out).unwrap();
    let mut checked = 0;
    for i in 1.. {
        let recorded = dir.path().join(format!("rec_{i}.flv"));
        let Ok(want) = std::fs::read(&recorded) else {
            break;
        };
        let (_, size, _, _) = tag::decode_header(&want[13..]);
        let at = META_BODY_AT as usize;
        let (source, capacity) = Metadata::decode_ours(&want[at..at + size]).unwrap();
        let reserved = source.encode(capacity);
        assert_eq!(reserved.len(), size);
        assert_ne!(
            reserved,
            want[at..at + size],
            "the recording patched its metadata"
        );
        let mut crashed = want.clone();
        crashed[at..at + size].copy_from_slice(&reserved);
        let copy = dir.path().join(format!("crashed_{i}.flv"));
        std::fs::write(&copy, &crashed).unwrap();
        assert_eq!(fix_flv_in_place(&copy).unwrap(), Some(want.len() as u64));
        assert!(
            std::fs::read(&copy).unwrap() == want,
            "file {i} differs after repair"
        );
        checked += 1;
    }
    checked
}

#[test]
fn a_repaired_file_gets_the_metadata_its_recording_gave_it() {
    assert_eq!(repair_matches_recording(&fixture(), 5000), 4);
    assert_eq!(repair_matches_recording(&double_speed(&fixture()), 2500), 4);
}
