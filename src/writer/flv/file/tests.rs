use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::super::headers::HeaderTracker;
use super::super::sample::{aac, aac_header, avc_header, frame, keyframe, mp3, on_metadata};
use super::*;
use crate::media::flv::amf0::{self, Value};
use crate::media::flv::tag::decode_header;
use crate::segment::files::{Progress, SegmentSpec, WriterEvent};

struct Rig {
    _dir: tempfile::TempDir,
    out: SegmentFiles,
    events: tokio::sync::mpsc::UnboundedReceiver<WriterEvent>,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let template = crate::config::filename_template("f_{index}").unwrap();
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let spec = SegmentSpec::plain(dir.path().to_path_buf(), template);
    let out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    Rig {
        _dir: dir,
        out,
        events,
    }
}

impl Rig {
    /// The files closed so far, with their reported durations.
    fn closed(&mut self) -> Vec<(PathBuf, f64)> {
        let mut done = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            if let WriterEvent::Closed(e) = e {
                done.extend(e.segment.map(|s| (s.path, s.duration_s)));
            }
        }
        done
    }
}

/// Every tag of a file: (kind byte, timestamp, offset of its header, first body byte).
fn tags_of(path: &Path) -> (Vec<(u8, i32, u64, u8)>, Value) {
    let data = std::fs::read(path).unwrap();
    let mut at = 13;
    let mut tags = Vec::new();
    let mut meta = None;
    while at + TAG_HEADER <= data.len() {
        let (t, size, ts, _) = decode_header(&data[at..]);
        let body = &data[at + TAG_HEADER..at + TAG_HEADER + size];
        if t == 18 {
            meta = amf0::decode(body).unwrap().into_iter().nth(1);
        }
        tags.push((t, ts, at as u64, body.first().copied().unwrap_or(0)));
        at += TAG_HEADER + size + PREV_SIZE;
    }
    assert_eq!(at, data.len(), "whole tags only");
    (tags, meta.unwrap())
}

fn num(meta: &Value, key: &str) -> f64 {
    meta.get(key).and_then(Value::as_number).unwrap()
}

fn array(meta: &Value, key: &str) -> Vec<f64> {
    match meta.get("keyframes").and_then(|k| k.get(key)) {
        Some(Value::StrictArray(a)) => a.iter().filter_map(Value::as_number).collect(),
        _ => panic!("no keyframes.{key}"),
    }
}

#[test]
fn a_file_starts_with_its_headers_and_closes_with_its_real_numbers() {
    let mut r = rig();
    let mut h = HeaderTracker::default();
    h.on_script(&on_metadata(640.0), false);
    h.store(avc_header(b"cfg"));
    h.store(aac_header(&[0x12, 0x10]));
    let mut f = FlvFile::open(&mut r.out, &h.file_start(), 16, 10_000).unwrap();
    assert_eq!(f.base(), 10_000);
    for i in 0..50 {
        let ts = 10_000 + 40 * i;
        let v = if i % 25 == 0 { keyframe(ts) } else { frame(ts) };
        f.write_tag(&mut r.out, &v, i64::from(ts)).unwrap();
        f.write_tag(&mut r.out, &aac(ts + 5), i64::from(ts + 5))
            .unwrap();
    }
    f.close(&mut r.out).unwrap();
    let closed = r.closed();
    assert_eq!(closed.len(), 1);
    let (path, reported) = &closed[0];
    let (tags, meta) = tags_of(path);
    // Metadata, then the two decoder configurations, all at 0; media relative to the base.
    assert_eq!(tags[0].0, 18);
    assert_eq!((tags[1].0, tags[1].1, tags[2].0, tags[2].1), (9, 0, 8, 0));
    assert_eq!(tags[3].1, 0);
    let last = tags.iter().map(|t| t.1).max().unwrap();
    assert_eq!(last, 49 * 40 + 5);
    assert_eq!(num(&meta, "lasttimestamp"), f64::from(last) / 1000.0);
    // One video frame after the last timestamp.
    let duration = num(&meta, "duration");
    let past = duration * 1000.0 - f64::from(last);
    assert!((30.0..=40.0).contains(&past), "duration {duration}");
    assert_eq!(*reported, duration);
    assert_eq!(
        num(&meta, "filesize"),
        std::fs::metadata(path).unwrap().len() as f64
    );
    assert_eq!(num(&meta, "width"), 640.0);
    assert_eq!(num(&meta, "videocodecid"), 7.0);
    assert_eq!(meta.get("hasVideo"), Some(&Value::Bool(true)));
    assert_eq!(meta.get("hasAudio"), Some(&Value::Bool(true)));
    // Both keyframes indexed, each pointing at its tag.
    assert_eq!(array(&meta, "times"), [0.0, 1.0]);
    let at: Vec<f64> = tags[3..]
        .iter()
        .filter(|t| t.0 == 9 && t.3 == 0x17)
        .map(|t| t.2 as f64)
        .collect();
    assert_eq!(array(&meta, "filepositions"), at);
    assert_eq!(num(&meta, "lastkeyframelocation"), at[1]);
}

#[test]
fn the_index_keeps_keyframes_a_second_apart_up_to_its_capacity() {
    let mut r = rig();
    let h = HeaderTracker::default();
    let mut f = FlvFile::open(&mut r.out, &h.file_start(), 3, 0).unwrap();
    for i in 0..20 {
        f.write_tag(&mut r.out, &keyframe(500 * i), i64::from(500 * i))
            .unwrap();
    }
    f.close(&mut r.out).unwrap();
    let (_, meta) = tags_of(&r.closed()[0].0);
    assert_eq!(array(&meta, "times"), [0.0, 1.0, 2.0]);
    assert_eq!(num(&meta, "lastkeyframetimestamp"), 2.0);
}

#[test]
fn what_comes_before_the_file_start_is_written_at_0() {
    let mut r = rig();
    let h = HeaderTracker::default();
    let mut f = FlvFile::open(&mut r.out, &h.file_start(), 16, 1000).unwrap();
    f.write_tag(&mut r.out, &mp3(990), 990).unwrap();
    f.write_tag(&mut r.out, &mp3(1016), 1016).unwrap();
    f.close(&mut r.out).unwrap();
    let (tags, _) = tags_of(&r.closed()[0].0);
    let ts: Vec<i32> = tags.iter().skip(1).map(|t| t.1).collect();
    assert_eq!(ts, [0, 16]);
}

#[test]
fn the_metadata_says_what_the_file_holds_not_what_was_announced() {
    let mut r = rig();
    let mut h = HeaderTracker::default();
    h.announced(true);
    let mut f = FlvFile::open(&mut r.out, &h.file_start(), 16, 0).unwrap();
    for i in 0..40 {
        f.write_tag(&mut r.out, &mp3(26 * i), i64::from(26 * i))
            .unwrap();
    }
    f.close(&mut r.out).unwrap();
    let (_, meta) = tags_of(&r.closed()[0].0);
    assert_eq!(meta.get("hasVideo"), Some(&Value::Bool(false)));
    // An audio-only file ends one audio frame after its last tag.
    let past = num(&meta, "duration") * 1000.0 - f64::from(39 * 26);
    assert!((20.0..=26.0).contains(&past), "{past}");
    assert_eq!(array(&meta, "times"), Vec::<f64>::new());
}

#[test]
fn a_file_of_headers_only_has_no_duration() {
    let body = Metadata::default().encode(4);
    let mut f = FlvFile::on_disk(Metadata::default(), 4, body.len());
    f.note(avc_header(b"cfg").info, 0, 37);
    let meta = f.finish(100).unwrap();
    assert_eq!(f.duration_s(), 0.0);
    let meta = amf0::decode(&meta).unwrap().into_iter().nth(1).unwrap();
    assert_eq!(meta.get("hasVideo"), Some(&Value::Bool(true)));
    assert_eq!(meta.get("canSeekToEnd"), Some(&Value::Bool(false)));
}

#[test]
fn metadata_that_would_not_fit_its_reserved_space_is_not_made() {
    let body = Metadata::default().encode(4);
    let mut f = FlvFile::on_disk(Metadata::default(), 4, body.len() + 1);
    assert!(f.finish(100).is_none());
}

#[test]
fn the_index_capacity_fits_the_duration_limit() {
    assert_eq!(index_capacity(0), MAX_INDEX);
    assert_eq!(index_capacity(60_000), MIN_INDEX);
    assert_eq!(index_capacity(3_600_000), 3600 * 6 / 5 + 16);
    assert_eq!(index_capacity(i64::MAX / 2), MAX_INDEX);
}
