//! `liverec repair` (and the start-up recovery that shares its code) on files a crash left.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{flv, media};
use liverec::config::filename_template;
use liverec::segment::files::{Progress, SegmentFiles, SegmentSpec};
use liverec::writer::flv::{FlvPipeline, Limits};
use liverec::writer::pipeline::Pipeline;

/// Writes the first `fraction` of the fixture through the real pipeline and then "crashes":
/// nothing is closed, the metadata keeps its placeholder, and the last tag is torn.
fn crashed_part(dir: &Path, fraction: f64) -> std::path::PathBuf {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = SegmentSpec {
        segment_duration: Duration::ZERO,
        segment_size: 0,
        ..SegmentSpec::plain(dir.to_path_buf(), filename_template("crashed").unwrap())
    };
    let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    let mut p = FlvPipeline::new(Limits::default());
    let src = flv::fixture("flv_640x360_20s.flv");
    let n = (src.len() as f64 * fraction) as usize;
    out.new_connection();
    p.push(&src[..n], &mut out).unwrap();
    out.flush().unwrap();
    // kill -9: no close, no rename, no metadata patch.
    std::mem::forget(p);
    std::mem::forget(out);
    let part = dir.join("crashed.flv.part");
    let len = std::fs::metadata(&part).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
    f.set_len(len - 7).unwrap();
    part
}

fn repair(args: &[&Path]) -> (bool, String) {
    let out = Command::new(crate::support::daemon::bin())
        .arg("repair")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn assert_valid(path: &Path) -> Vec<flv::Tag> {
    let data = std::fs::read(path).unwrap();
    let tags = flv::walk(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let errors = media::decode_errors(path);
    assert!(errors.trim().is_empty(), "{}: {errors}", path.display());
    tags
}

#[test]
fn a_crashed_part_is_cut_to_whole_tags_indexed_and_renamed() {
    let dir = tempfile::tempdir().unwrap();
    let part = crashed_part(dir.path(), 0.6);
    let (ok, text) = repair(&[&part]);
    assert!(ok, "{text}");
    assert!(!part.exists());
    let done = dir.path().join("crashed.flv");
    assert!(text.contains("repaired:"), "{text}");
    let tags = assert_valid(&done);
    let meta = liverec::media::flv::amf0::decode(&tags[0].body).unwrap();
    let duration = meta[1].get("duration").and_then(|v| v.as_number()).unwrap();
    let last = tags.iter().map(|t| t.ts).max().unwrap() as f64 / 1000.0;
    assert!(
        duration > 8.0 && (duration - last).abs() < 0.1,
        "metadata duration {duration}, last tag {last}"
    );
    let filesize = meta[1].get("filesize").and_then(|v| v.as_number()).unwrap();
    assert_eq!(filesize as u64, std::fs::metadata(&done).unwrap().len());
    let kf = meta[1].get("keyframes").unwrap();
    let Some(liverec::media::flv::amf0::Value::StrictArray(pos)) = kf.get("filepositions") else {
        panic!()
    };
    assert!(pos.len() >= 5);
    for p in pos {
        let at = p.as_number().unwrap() as usize;
        assert!(tags.iter().any(|t| t.offset == at && t.is_keyframe()));
    }
    // Nothing but the torn tag was lost.
    let served = flv::frames_of(&flv::fixture("flv_640x360_20s.flv"));
    let got = flv::frames_of(&std::fs::read(&done).unwrap());
    assert!(
        served.starts_with(&got) && got.len() + 200 > served.len() * 6 / 10,
        "{} of {}",
        got.len(),
        served.len()
    );
}

#[test]
fn a_foreign_flv_with_a_spliced_header_is_remuxed_into_playable_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("other {recorder}.flv");
    std::fs::write(&f, flv::fixture("flv_res_change_concat.flv")).unwrap();
    let (ok, text) = repair(&[&f]);
    assert!(ok, "{text}");
    let a = dir.path().join("other {recorder}.repaired.flv");
    let b = dir.path().join("other {recorder}.repaired_1.flv");
    assert_valid(&a);
    assert_valid(&b);
    assert!(f.exists(), "the original is kept");
    assert!(text.contains("re-muxed into"), "{text}");
}

#[test]
fn a_truncated_foreign_part_becomes_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("cut.flv.part");
    let src = flv::fixture("flv_640x360_20s.flv");
    std::fs::write(&part, &src[..src.len() / 3 + 5]).unwrap();
    let (ok, text) = repair(&[&part]);
    assert!(ok, "{text}");
    assert!(!part.exists());
    assert_valid(&dir.path().join("cut.flv"));
}

#[test]
fn garbage_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "hello").unwrap();
    let (ok, text) = repair(&[&f]);
    assert!(!ok);
    assert!(
        text.contains("only .flv files and .part files can be repaired"),
        "{text}"
    );
    let (ok, text) = repair(&[&dir.path().join("missing.flv")]);
    assert!(!ok && text.contains("missing.flv"), "{text}");
}

#[test]
fn a_part_damaged_in_the_middle_keeps_what_follows_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let part = crashed_part(dir.path(), 1.0);
    let data = std::fs::read(&part).unwrap();
    // A power cut's hole: zeros over a frame's tag header (past the metadata, with its
    // reserved index, and the decoder headers), megabytes before the end.
    let tags = flv::walk_lenient(&data);
    let hit = tags
        .iter()
        .find(|t| t.offset > 420_000 && t.is_video())
        .unwrap()
        .offset;
    assert!(
        data.len() - hit > 2 << 20,
        "the damage must be far from the end"
    );
    let f = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[0u8; 64], hit as u64).unwrap();
    drop(f);
    let (ok, text) = repair(&[&part]);
    assert!(ok, "{text}");
    assert!(!part.exists());
    let done: Vec<_> = crate::support::daemon::files(dir.path(), ".flv");
    assert!(!done.is_empty(), "{text}");
    let mut got = 0;
    for f in &done {
        assert_valid(f);
        got += flv::frames_of(&std::fs::read(f).unwrap()).len();
    }
    let served = flv::frames_of(&flv::fixture("flv_640x360_20s.flv")).len();
    // Only the damaged GOP may go; cutting at the damage would keep under 10%.
    assert!(
        got * 10 > served * 8,
        "{got} of {served} frames kept: {text}"
    );
    assert!(
        crate::support::daemon::files(dir.path(), ".part").is_empty(),
        "the source copy is removed once re-muxed"
    );
}

/// What a crash leaves (the reserved metadata, a torn tag) is repaired into the very file the
/// recording closes on the same tags: both compute duration, index and flags one way.
#[test]
fn a_repaired_part_is_the_file_its_recording_would_have_closed() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = SegmentSpec::plain(rec.clone(), filename_template("seg_{index}").unwrap());
    let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    let mut p = FlvPipeline::new(Limits::default());
    // At twice the speed (60 fps): a file's duration ends one real frame interval after its
    // last tag, not the 33 ms a guess would add.
    let mut tags = flv::walk(&flv::fixture("flv_640x360_20s.flv")).unwrap();
    for t in &mut tags {
        t.ts /= 2;
    }
    let src = flv::encode_stream(&tags);
    let n = src.len() * 6 / 10;
    out.new_connection();
    p.push(&src[..n], &mut out).unwrap();
    out.flush().unwrap();
    // A kill -9 now leaves the .part as it is, plus part of the tag being written.
    let mut crashed = std::fs::read(rec.join("seg_1.flv.part")).unwrap();
    crashed.extend_from_slice(&[9, 0, 0x20, 0, 0, 0, 0x30]);
    let part = dir.path().join("crashed.flv.part");
    std::fs::write(&part, &crashed).unwrap();
    // The recording goes on instead; a split closes the file on exactly those tags.
    p.request_split();
    p.push(&src[n..], &mut out).unwrap();
    p.close(&mut out).unwrap();
    let (ok, text) = repair(&[&part]);
    assert!(ok, "{text}");
    let repaired = std::fs::read(dir.path().join("crashed.flv")).unwrap();
    let recorded = std::fs::read(rec.join("seg_1.flv")).unwrap();
    assert_eq!(repaired.len(), recorded.len());
    assert!(
        repaired == recorded,
        "the repaired file differs from the recorded one"
    );
}
