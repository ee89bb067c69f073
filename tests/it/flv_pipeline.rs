//! The FLV segment writer on real and faulted streams: every file is checked with an independent
//! tag walk and with ffmpeg, and the files together must hold every source frame exactly once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::support::flv::{self, Tag};
use crate::support::media;
use liverec::config::filename_template;
use liverec::segment::files::{Progress, SegmentFiles, SegmentSpec, WriterEvent};
use liverec::writer::flv::{FlvPipeline, Limits};
use liverec::writer::pipeline::{Flow, Pipeline};

struct Run {
    _dir: tempfile::TempDir,
    files: Vec<PathBuf>,
    flows: Vec<Flow>,
    events: Vec<WriterEvent>,
}

/// Feeds each connection's bytes (in `chunk`-sized pieces) through one pipeline.
fn record(connections: &[&[u8]], limits: Limits, chunk: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = SegmentSpec {
        segment_duration: Duration::from_millis(limits.duration_ms as u64),
        segment_size: limits.size,
        ..SegmentSpec::plain(
            dir.path().to_path_buf(),
            filename_template("seg_{index}").unwrap(),
        )
    };
    let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    let mut p = FlvPipeline::new(limits);
    let mut flows = Vec::new();
    for conn in connections {
        out.new_connection();
        for c in conn.chunks(chunk.max(1)) {
            let f = p.push(c, &mut out).unwrap();
            if f != Flow::Continue {
                flows.push(f);
            }
        }
        p.finish_connection(&mut out).unwrap();
    }
    p.close(&mut out).unwrap();
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    let files = crate::support::daemon::files(dir.path(), ".flv");
    assert!(
        crate::support::daemon::files(dir.path(), ".part").is_empty(),
        "no .part may remain"
    );
    Run {
        _dir: dir,
        files,
        flows,
        events,
    }
}

/// Everything a finished file must satisfy on its own.
fn check_file(path: &Path) -> Vec<Tag> {
    let data = std::fs::read(path).unwrap();
    let tags = flv::walk(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        tags[0].kind,
        18,
        "{}: the first tag is the metadata",
        path.display()
    );
    assert_eq!(
        tags.iter().filter(|t| t.kind == 18).count(),
        1,
        "{}: exactly one script tag",
        path.display()
    );
    for t in tags.iter().take_while(|t| !t.is_frame()) {
        assert_eq!(t.ts, 0, "{}: headers at timestamp 0", path.display());
    }
    let first = tags
        .iter()
        .find(|t| t.is_frame())
        .expect("media in every file");
    assert!(
        first.ts < 100,
        "{}: starts near 0, got {}",
        path.display(),
        first.ts
    );
    if let Some(v) = tags.iter().find(|t| t.is_video() && t.is_frame()) {
        assert!(
            v.is_keyframe(),
            "{}: the first video frame is a keyframe",
            path.display()
        );
    }
    let errors = media::decode_errors(path);
    assert!(
        errors.trim().is_empty(),
        "{}: ffmpeg says:\n{errors}",
        path.display()
    );
    let packets = media::first_packets(path, "v", 1);
    if let Some((pts, key)) = packets.first() {
        assert!(
            *key,
            "{}: ffprobe's first video packet is a keyframe",
            path.display()
        );
        assert!(*pts < 0.2, "{}: first packet at {pts}", path.display());
    }
    tags
}

fn frames_of_files(files: &[PathBuf]) -> Vec<(u8, Vec<u8>)> {
    files
        .iter()
        .flat_map(|f| flv::frames_of(&std::fs::read(f).unwrap()))
        .collect()
}

fn base() -> Vec<u8> {
    flv::fixture("flv_640x360_20s.flv")
}

fn no_limits() -> Limits {
    Limits::default()
}

#[test]
fn a_clean_stream_becomes_one_clean_file_with_an_index() {
    let src = base();
    let run = record(&[&src], no_limits(), 16 * 1024);
    assert_eq!(run.files.len(), 1);
    let tags = check_file(&run.files[0]);
    assert_eq!(frames_of_files(&run.files), flv::frames_of(&src));
    // The metadata was patched with the real duration, size and keyframes.
    let meta = liverec::media::flv::amf0::decode(&tags[0].body).unwrap();
    let m = &meta[1];
    let num = |k: &str| m.get(k).and_then(|v| v.as_number()).unwrap();
    assert!(
        (num("duration") - 20.0).abs() < 0.2,
        "duration {}",
        num("duration")
    );
    assert_eq!(
        num("filesize") as u64,
        std::fs::metadata(&run.files[0]).unwrap().len()
    );
    assert_eq!(num("width"), 640.0);
    let kf = m.get("keyframes").unwrap();
    let Some(liverec::media::flv::amf0::Value::StrictArray(times)) = kf.get("times") else {
        panic!()
    };
    let Some(liverec::media::flv::amf0::Value::StrictArray(pos)) = kf.get("filepositions") else {
        panic!()
    };
    assert_eq!(times.len(), 10);
    // Each indexed position is the start of a keyframe tag.
    for p in pos {
        let at = p.as_number().unwrap() as usize;
        assert!(
            tags.iter().any(|t| t.offset == at && t.is_keyframe()),
            "index points at {at}"
        );
    }
    assert!((media::duration(&run.files[0]) - 20.0).abs() < 0.3);
    // The segment_complete carries the media duration.
    let durations: Vec<f64> = run
        .events
        .iter()
        .filter_map(|e| match e {
            WriterEvent::Closed(e) => e.segment().map(|s| s.duration_s),
            _ => None,
        })
        .collect();
    assert_eq!(durations.len(), 1);
    assert!((durations[0] - 20.0).abs() < 0.2);
}

#[test]
fn any_chunking_gives_the_same_files() {
    let src = base();
    let a = record(
        &[&src],
        Limits {
            duration_ms: 5000,
            size: 0,
        },
        1 << 20,
    );
    let b = record(
        &[&src],
        Limits {
            duration_ms: 5000,
            size: 0,
        },
        977,
    );
    let c = record(
        &[&src],
        Limits {
            duration_ms: 5000,
            size: 0,
        },
        13,
    );
    assert_eq!(a.files.len(), b.files.len());
    for ((x, y), z) in a.files.iter().zip(&b.files).zip(&c.files) {
        let (x, y, z) = (
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            std::fs::read(z).unwrap(),
        );
        assert!(x == y && y == z, "files differ between chunkings");
    }
}

#[test]
fn time_splits_land_on_keyframes_and_lose_nothing() {
    let src = base();
    let run = record(
        &[&src],
        Limits {
            duration_ms: 5000,
            size: 0,
        },
        64 * 1024,
    );
    // Keyframes every 2 s: the first GOP starting at or after 5 s starts a new file.
    assert_eq!(run.files.len(), 4, "{:?}", run.files);
    let mut total = 0.0;
    for f in &run.files {
        check_file(f);
        total += media::duration(f);
    }
    assert!((total - 20.0).abs() < 0.5, "durations add up to {total}");
    assert_eq!(
        frames_of_files(&run.files),
        flv::frames_of(&src),
        "every frame exactly once, in order"
    );
}

#[test]
fn size_splits_land_on_keyframes_and_lose_nothing() {
    let src = base();
    let run = record(
        &[&src],
        Limits {
            duration_ms: 0,
            size: 1 << 20,
        },
        64 * 1024,
    );
    assert!(run.files.len() >= 3, "{:?}", run.files);
    for f in &run.files {
        check_file(f);
        // At most one GOP (~250 KB) over the limit.
        assert!(std::fs::metadata(f).unwrap().len() < (1 << 20) + 400_000);
    }
    assert_eq!(frames_of_files(&run.files), flv::frames_of(&src));
}

fn resolutions(path: &Path) -> Vec<String> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_resolution_change_with_a_new_flv_header_starts_a_new_file() {
    let src = flv::fixture("flv_res_change_concat.flv");
    let run = record(&[&src], no_limits(), 32 * 1024);
    assert_eq!(run.files.len(), 2, "{:?}", run.files);
    for f in &run.files {
        check_file(f);
    }
    assert_eq!(resolutions(&run.files[0]), ["640,360"]);
    assert_eq!(resolutions(&run.files[1]), ["854,480"]);
    assert_eq!(frames_of_files(&run.files), flv::frames_of(&src));
    assert!((media::duration(&run.files[1]) - 10.0).abs() < 0.3);
}

#[test]
fn a_resolution_change_by_sequence_header_starts_a_new_file() {
    let src = flv::fixture("flv_res_change_seqhdr.flv");
    let run = record(&[&src], no_limits(), 32 * 1024);
    assert_eq!(run.files.len(), 2, "{:?}", run.files);
    for f in &run.files {
        check_file(f);
    }
    assert_eq!(resolutions(&run.files[1]), ["854,480"]);
    assert_eq!(frames_of_files(&run.files), flv::frames_of(&src));
}

#[test]
fn timestamp_jumps_are_repaired() {
    let tags = flv::walk(&base()).unwrap();
    let cut = flv::keyframe_index(&tags, 5);
    for delta in [3_600_000i32, -9_000, 5_000] {
        let mut t = tags.clone();
        for x in &mut t[cut..] {
            x.ts = x.ts.wrapping_add(delta);
        }
        let run = record(&[&flv::encode_stream(&t)], no_limits(), 8192);
        assert_eq!(run.files.len(), 1);
        let out = check_file(&run.files[0]);
        let mut last_v = 0;
        for x in out.iter().filter(|x| x.is_video() && x.is_frame()) {
            assert!(
                x.ts >= last_v && x.ts - last_v < 200,
                "delta {delta}: video step {last_v} -> {}",
                x.ts
            );
            last_v = x.ts;
        }
        assert!(
            (media::duration(&run.files[0]) - 20.0).abs() < 0.5,
            "delta {delta}"
        );
        assert_eq!(frames_of_files(&run.files), flv::frames_of(&base()));
    }
}

#[test]
fn garbage_between_tags_is_skipped_without_losing_tags() {
    let src = base();
    let tags = flv::walk(&src).unwrap();
    let at = tags[flv::keyframe_index(&tags, 3)].offset;
    let mut bad = src[..at].to_vec();
    bad.extend_from_slice(b"<html>502 Bad Gateway</html>\x09\x00\x00\x10\xff\xff");
    bad.extend_from_slice(&src[at..]);
    let run = record(&[&bad], no_limits(), 4096);
    assert_eq!(run.files.len(), 1);
    check_file(&run.files[0]);
    assert_eq!(frames_of_files(&run.files), flv::frames_of(&src));
}

#[test]
fn a_truncated_stream_ends_on_its_last_whole_tag() {
    let src = base();
    for cut in [src.len() / 2 + 7, src.len() - 3, 1000] {
        let run = record(&[&src[..cut]], no_limits(), 4096);
        for f in &run.files {
            check_file(f);
        }
        let got = frames_of_files(&run.files);
        let want = flv::frames_of(&src[..cut]);
        assert_eq!(got, want, "cut at {cut}");
    }
}

#[test]
fn a_gop_replayed_after_a_reconnect_is_dropped() {
    let src = base();
    let tags = flv::walk(&src).unwrap();
    let k4 = flv::keyframe_index(&tags, 4);
    let k6 = flv::keyframe_index(&tags, 6);
    // Connection 1 ends after GOP 5; the CDN's GOP cache makes connection 2 start by
    // replaying GOPs 4 and 5 (same bytes, same timestamps) before going on.
    let headers: Vec<Tag> = tags[..3].to_vec();
    let first = flv::encode_stream(&tags[..k6]);
    let mut second_tags = headers.clone();
    second_tags.extend_from_slice(&tags[k4..]);
    let second = flv::encode_stream(&second_tags);
    let run = record(&[&first, &second], no_limits(), 8192);
    assert_eq!(run.files.len(), 2, "a reconnect starts a new file");
    for f in &run.files {
        check_file(f);
    }
    assert_eq!(
        frames_of_files(&run.files),
        flv::frames_of(&src),
        "replayed GOPs are dropped, nothing else"
    );
}

#[test]
fn a_cdn_stuck_replaying_asks_for_a_reconnect() {
    let tags = flv::walk(&base()).unwrap();
    let k1 = flv::keyframe_index(&tags, 1);
    let k2 = flv::keyframe_index(&tags, 2);
    let mut t: Vec<Tag> = tags[..k2].to_vec();
    for _ in 0..12 {
        t.extend_from_slice(&tags[k1..k2]);
    }
    let run = record(&[&flv::encode_stream(&t)], no_limits(), 8192);
    assert!(
        matches!(run.flows.first(), Some(Flow::Reconnect(r)) if r.contains("already sent")),
        "{:?}",
        run.flows
    );
    check_file(&run.files[0]);
}

#[test]
fn a_stream_without_keyframes_is_still_split_and_bounded() {
    let mut tags = flv::walk(&base()).unwrap();
    for t in tags.iter_mut().filter(|t| t.is_video() && t.is_frame()) {
        t.body[0] = (t.body[0] & 0x0f) | 0x20;
    }
    let mut long = tags[..3].to_vec();
    for round in 0..3 {
        long.extend(tags[3..].iter().cloned().map(|mut t| {
            t.ts += round * 20_040;
            t
        }));
    }
    let run = record(
        &[&flv::encode_stream(&long)],
        Limits {
            duration_ms: 10_000,
            size: 0,
        },
        65536,
    );
    // Not aligned: files are cut at twice the limit (20 s) instead of at a keyframe.
    assert!(run.files.len() >= 2, "{:?}", run.files);
    for f in &run.files {
        let d = std::fs::read(f).unwrap();
        let t = flv::walk(&d).unwrap();
        let span = t.last().unwrap().ts;
        assert!(span <= 21_000, "{}: {span} ms", f.display());
    }
}

#[test]
fn an_audio_only_stream_splits_between_any_tags() {
    let tags = flv::walk(&base()).unwrap();
    let audio: Vec<Tag> = tags.iter().filter(|t| t.kind != 9).cloned().collect();
    let mut data = flv::encode_stream(&audio);
    data[4] = 4; // header: audio only
    let run = record(
        &[&data],
        Limits {
            duration_ms: 6000,
            size: 0,
        },
        4096,
    );
    assert!(run.files.len() >= 3, "{:?}", run.files);
    for f in &run.files {
        check_file(f);
        assert!(media::duration(f) < 8.0);
    }
    assert_eq!(frames_of_files(&run.files), flv::frames_of(&data));
}

#[test]
fn audio_before_its_sequence_header_is_dropped_until_the_header() {
    let tags = flv::walk(&base()).unwrap();
    // Move the AAC header after the first 20 tags.
    let mut t = tags.clone();
    let aac = t.remove(2);
    assert!(aac.kind == 8 && aac.is_seq_header());
    t.insert(20, aac);
    let run = record(&[&flv::encode_stream(&t)], no_limits(), 8192);
    assert_eq!(run.files.len(), 1);
    check_file(&run.files[0]);
}

#[test]
fn a_later_onmetadata_is_dropped() {
    let tags = flv::walk(&base()).unwrap();
    let mut t = tags.clone();
    let meta = t[0].clone();
    t.insert(
        200,
        Tag {
            ts: t[199].ts,
            ..meta
        },
    );
    let run = record(&[&flv::encode_stream(&t)], no_limits(), 8192);
    assert_eq!(run.files.len(), 1);
    check_file(&run.files[0]);
}

#[test]
fn random_damage_never_panics_and_never_writes_a_broken_file() {
    use proptest::prelude::*;
    let src = base();
    let len = src.len();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 24,
        ..Default::default()
    });
    runner
        .run(
            &(
                proptest::collection::vec((0..len, any::<u8>()), 0..40),
                1usize..70_000,
                proptest::collection::vec(any::<u8>(), 0..300),
                0..len,
            ),
            |(flips, chunk, junk, junk_at)| {
                let mut data = src.clone();
                for (at, b) in flips {
                    data[at] = b;
                }
                data.splice(junk_at..junk_at, junk);
                let run = record(
                    &[&data],
                    Limits {
                        duration_ms: 7000,
                        size: 0,
                    },
                    chunk,
                );
                for f in &run.files {
                    let d = std::fs::read(f).unwrap();
                    prop_assert!(flv::walk(&d).is_ok(), "{}", f.display());
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The disk falls under the floor mid-file: the write that notices it fails, and the writer then
/// closes the pipeline (as the session writer does). The file ends on whole tags with its final
/// metadata, and no further file opens while space is short.
#[test]
fn a_disk_falling_low_mid_file_closes_it_whole_with_its_metadata() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let src = base();
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let floor = Arc::new(AtomicU64::new(0));
    let spec = SegmentSpec {
        min_free_space: floor.clone(),
        ..SegmentSpec::plain(
            dir.path().to_path_buf(),
            filename_template("seg_{index}").unwrap(),
        )
    };
    let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    let mut p = FlvPipeline::new(no_limits());
    out.new_connection();
    let half = src.len() / 2;
    p.push(&src[..half], &mut out).unwrap();
    floor.store(u64::MAX, Ordering::Relaxed);
    let err = src[half..]
        .chunks(16 * 1024)
        .find_map(|c| p.push(c, &mut out).err())
        .expect("the write after the floor rose fails");
    assert!(
        err.to_string().contains("not writing until space returns"),
        "{err}"
    );
    p.close(&mut out).unwrap();
    let files = crate::support::daemon::files(dir.path(), ".flv");
    assert_eq!(files.len(), 1);
    assert!(crate::support::daemon::files(dir.path(), ".part").is_empty());
    let tags = check_file(&files[0]);
    let meta = liverec::media::flv::amf0::decode(&tags[0].body).unwrap();
    let duration = meta[1].get("duration").and_then(|v| v.as_number()).unwrap();
    let last = tags.iter().map(|t| t.ts).max().unwrap() as f64 / 1000.0;
    assert!(
        duration >= last && duration < last + 0.2,
        "metadata duration {duration} for a file whose last tag is at {last}"
    );
    assert_eq!(
        meta[1].get("filesize").and_then(|v| v.as_number()).unwrap() as u64,
        std::fs::metadata(&files[0]).unwrap().len()
    );
    // Nothing opens while space is short.
    assert!(out.open().is_err());
    assert!(crate::support::daemon::files(dir.path(), ".part").is_empty());
}

#[test]
fn video_without_its_decoder_header_is_dropped_and_the_audio_kept() {
    let tags: Vec<Tag> = flv::walk(&base())
        .unwrap()
        .into_iter()
        .filter(|t| !(t.is_video() && t.is_seq_header()))
        .collect();
    let src = flv::encode_stream(&tags);
    let run = record(&[&src], no_limits(), 16 * 1024);
    assert_eq!(run.files.len(), 1);
    let out = check_file(&run.files[0]);
    assert!(
        !out.iter().any(|t| t.is_video()),
        "undecodable video written"
    );
    let audio = |ts: &[Tag]| ts.iter().filter(|t| t.is_audio() && t.is_frame()).count();
    // At most the few audio frames before the first (undecodable) video frame wait and go.
    assert!(
        audio(&out) + 5 >= audio(&tags),
        "{} of {} audio frames",
        audio(&out),
        audio(&tags)
    );
}
