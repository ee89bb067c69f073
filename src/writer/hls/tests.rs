use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use super::*;
use crate::event::{RoomRef, SegmentRef};
use crate::segment::files::{Progress, SegmentSpec, WriterEvent};

struct Rig {
    out: SegmentFiles,
    events: mpsc::UnboundedReceiver<WriterEvent>,
    progress: Arc<Progress>,
    w: HlsWriter,
}

fn rig(dir: &Path, ext: &'static str, duration: u64, size: u64) -> Rig {
    let spec = SegmentSpec {
        room: RoomRef {
            platform: "direct".into(),
            id: "x".into(),
            key: "direct:x".into(),
            name: "n".into(),
            streamer: "s".into(),
            title: "t".into(),
            url: String::new(),
        },
        segment_duration: Duration::from_secs(duration),
        segment_size: size,
        ..SegmentSpec::plain(
            dir.to_path_buf(),
            crate::config::filename_template("{name}/{index}").unwrap(),
        )
    };
    let (tx, events) = mpsc::unbounded_channel();
    let progress = Arc::new(Progress::default());
    let mut out = SegmentFiles::new(spec, tx, progress.clone());
    out.set_extension(ext);
    let container = if ext == "mp4" {
        Container::Fmp4
    } else {
        Container::Ts
    };
    Rig {
        out,
        events,
        progress,
        w: HlsWriter::new(container),
    }
}

impl Rig {
    fn push(&mut self, seg: HlsSegment) {
        assert_eq!(self.w.push(seg, &mut self.out).unwrap(), Flow::Continue);
    }

    fn finish(&mut self) -> Vec<SegmentRef> {
        self.w.finish_connection(&mut self.out).unwrap();
        let mut done = Vec::new();
        while let Ok(ev) = self.events.try_recv() {
            if let WriterEvent::Closed(e) = ev {
                done.extend(e.segment);
            }
        }
        done
    }
}

fn seg(sequence: u64, body: &str) -> HlsSegment {
    HlsSegment {
        data: Bytes::from(body.to_string()),
        duration: 2.0,
        sequence,
        stream: Arc::from("/live/a.m3u8"),
        boundary: false,
        init: None,
        _permit: None,
    }
}

fn fmp4(sequence: u64, body: &str, init: &'static str) -> HlsSegment {
    HlsSegment {
        init: Some(Bytes::from_static(init.as_bytes())),
        ..seg(sequence, body)
    }
}

fn contents(done: &[SegmentRef]) -> Vec<String> {
    done.iter()
        .map(|d| String::from_utf8(std::fs::read(&d.path).unwrap()).unwrap())
        .collect()
}

#[test]
fn the_init_section_heads_every_fmp4_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "mp4", 0, 0);
    r.push(fmp4(1, "[f1]", "<I>"));
    r.push(fmp4(2, "[f2]", "<I>"));
    r.w.request_split();
    r.push(fmp4(3, "[f3]", "<I>"));
    // A changed init section starts a new file that begins with it.
    r.push(fmp4(4, "[f4]", "<J>"));
    r.push(fmp4(5, "[f5]", "<J>"));
    let done = r.finish();
    assert_eq!(contents(&done), ["<I>[f1][f2]", "<I>[f3]", "<J>[f4][f5]"]);
    assert!(done.iter().all(|d| d.path.extension().unwrap() == "mp4"));
    assert_eq!(done[0].duration_s, 4.0);
    assert_eq!(done[1].duration_s, 2.0);
    assert_eq!(done.iter().map(|d| d.index).collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn boundaries_start_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 0, 0);
    r.push(seg(1, "a"));
    r.push(seg(2, "b"));
    r.push(HlsSegment {
        boundary: true,
        ..seg(3, "c")
    });
    r.push(seg(4, "d"));
    let done = r.finish();
    assert_eq!(contents(&done), ["ab", "cd"]);
    assert!(r.finish().is_empty(), "nothing left open, no empty file");
    assert_eq!(r.progress.gaps.load(Ordering::Relaxed), 0);
}

#[test]
fn splits_by_duration_at_segment_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 4, 0);
    for (i, b) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        r.push(seg(i as u64, b));
    }
    let done = r.finish();
    assert_eq!(contents(&done), ["ab", "cd", "e"]);
    assert_eq!(
        done.iter().map(|d| d.duration_s).collect::<Vec<_>>(),
        [4.0, 4.0, 2.0]
    );
    // A segment longer than the limit gets a file of its own.
    let mut r = rig(dir.path(), "ts", 1, 0);
    r.push(seg(1, "x"));
    r.push(seg(2, "y"));
    assert_eq!(contents(&r.finish()), ["x", "y"]);
}

#[test]
fn splits_by_size_at_segment_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "mp4", 0, 10);
    r.push(fmp4(1, "1234", "<I>"));
    r.push(fmp4(2, "56", "<I>"));
    // 3 + 4 + 2 = 9 bytes; 4 more would make 13 > 10.
    r.push(fmp4(3, "7890", "<I>"));
    r.push(fmp4(4, "too-long-alone", "<I>"));
    r.push(fmp4(5, "z", "<I>"));
    let done = r.finish();
    assert_eq!(
        contents(&done),
        ["<I>123456", "<I>7890", "<I>too-long-alone", "<I>z"]
    );
    assert_eq!(r.progress.session_bytes.load(Ordering::Relaxed), 37);
}

#[test]
fn re_read_segments_are_dropped_and_gaps_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 0, 0);
    r.push(seg(10, "a"));
    r.push(seg(11, "b"));
    // A reconnect re-reads the window: 10 and 11 again, then new ones.
    r.push(seg(10, "a"));
    r.push(seg(11, "b"));
    r.push(seg(12, "c"));
    // 13 and 14 never arrive.
    r.push(seg(15, "f"));
    assert_eq!(r.progress.gaps.load(Ordering::Relaxed), 2);
    // Sequence numbers that go back with other bytes (a stream restarted between two
    // connections) start a new file, and count no gap.
    r.push(seg(3, "p"));
    r.push(seg(4, "q"));
    // A reset the puller saw (a new numbering, marked as a boundary) is no gap, and the
    // same bytes under another sequence number are new media.
    r.push(HlsSegment {
        stream: Arc::from("/live/a.m3u8#1"),
        boundary: true,
        ..seg(0, "a")
    });
    // A jump far beyond any live window is a new numbering too, not a gap.
    r.push(HlsSegment {
        stream: Arc::from("/live/a.m3u8#1"),
        ..seg(1_000_000, "z")
    });
    let done = r.finish();
    assert_eq!(contents(&done), ["abcf", "pq", "a", "z"]);
    assert_eq!(r.progress.gaps.load(Ordering::Relaxed), 2);
}

const TS: [&[u8]; 6] = [
    include_bytes!("../../../tests/fixtures/media/hls_ts/seg_000.ts"),
    include_bytes!("../../../tests/fixtures/media/hls_ts/seg_001.ts"),
    include_bytes!("../../../tests/fixtures/media/hls_ts/seg_002.ts"),
    include_bytes!("../../../tests/fixtures/media/hls_ts/seg_003.ts"),
    include_bytes!("../../../tests/fixtures/media/hls_ts/seg_004.ts"),
    include_bytes!("../../../tests/fixtures/media/hls_ts/seg_005.ts"),
];
const INIT: &[u8] = include_bytes!("../../../tests/fixtures/media/hls_fmp4/init.mp4");
const M4S: [&[u8]; 2] = [
    include_bytes!("../../../tests/fixtures/media/hls_fmp4/seg_003.m4s"),
    include_bytes!("../../../tests/fixtures/media/hls_fmp4/seg_004.m4s"),
];

fn media(sequence: u64, data: &[u8]) -> HlsSegment {
    HlsSegment {
        data: Bytes::copy_from_slice(data),
        ..seg(sequence, "")
    }
}

/// Checks that `file` is `served` with every clock moved back by one offset, and that the
/// file's earliest clock is 0.
fn assert_ts_rebased(file: &[u8], served: &[u8]) {
    assert_eq!(file.len(), served.len());
    let got = ts::scan(file, &mut ts::TsState::new()).clocks;
    let want = ts::scan(served, &mut ts::TsState::new()).clocks;
    assert_eq!(got.len(), want.len());
    assert!(!got.is_empty());
    assert_eq!(ts::earliest(&got), Some(0));
    let off = ts::earliest(&want).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.at, g.kind), (w.at, w.kind));
        assert_eq!(g.value, (w.value + ts::WRAP - off) % ts::WRAP);
    }
    let at: std::collections::HashSet<usize> = got.iter().flat_map(|c| c.at).collect();
    for (i, (a, b)) in file.iter().zip(served).enumerate() {
        assert!(a == b || at.contains(&i), "byte {i}");
    }
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn every_ts_file_is_rebased_from_its_first_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 4, 0);
    // Joining mid-stream (7.4 s in), then a split by duration before seg 5.
    r.push(media(3, TS[3]));
    r.push(media(4, TS[4]));
    r.push(media(5, TS[5]));
    let done = r.finish();
    assert_eq!(done.len(), 2);
    let files: Vec<Vec<u8>> = done
        .iter()
        .map(|d| std::fs::read(&d.path).unwrap())
        .collect();
    assert_ts_rebased(&files[0], &concat(&[TS[3], TS[4]]));
    assert_ts_rebased(&files[1], TS[5]);
    // The first clock of each file (its first PCR) is 0.
    for f in &files {
        let first = ts::scan(f, &mut ts::TsState::new()).clocks[0];
        assert_eq!((first.kind, first.value), (ts::ClockKind::Pcr, 0));
    }
}

#[test]
fn shared_segment_bytes_are_copied_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 0, 0);
    let data = Bytes::copy_from_slice(TS[3]);
    let keep = data.clone();
    r.push(HlsSegment { data, ..seg(3, "") });
    let done = r.finish();
    assert_eq!(&keep[..], TS[3], "the shared bytes are left alone");
    assert_ts_rebased(&std::fs::read(&done[0].path).unwrap(), TS[3]);
}

/// The segment with the stream type of its first elementary stream changed in every PMT.
fn with_stream_type(data: &[u8], stream_type: u8) -> Vec<u8> {
    let mut d = data.to_vec();
    for p in d.chunks_exact_mut(188) {
        // PMT PID 0x1000, payload unit start, no adaptation field: pointer 0, then the
        // section: 12 header bytes, then the first ES entry's stream type.
        if p[1] & 0x5F == 0x50 && p[2] == 0x00 && p[3] & 0x30 == 0x10 {
            let len = 3 + ((usize::from(p[6] & 0x0F) << 8) | usize::from(p[7]));
            let section = &mut p[5..5 + len];
            let info = (usize::from(section[10] & 0x0F) << 8) | usize::from(section[11]);
            section[12 + info] = stream_type;
            let crc = ts::crc32_mpeg(&section[..len - 4]);
            section[len - 4..].copy_from_slice(&crc.to_be_bytes());
        }
    }
    d
}

#[test]
fn an_unannounced_pmt_change_starts_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 0, 0);
    let hevc = with_stream_type(TS[4], 0x24);
    let map = |d: &[u8]| {
        ts::scan(d, &mut ts::TsState::new())
            .first_map
            .unwrap()
            .programs[0]
            .streams
            .clone()
    };
    assert_eq!(map(&hevc), [(0x100, 0x24), (0x101, 0x0F)]);
    r.push(media(3, TS[3]));
    // H.264 -> "HEVC" -> H.264 on the same PIDs, no discontinuity: three files.
    r.push(media(4, &hevc));
    r.push(media(5, TS[5]));
    let done = r.finish();
    assert_eq!(done.len(), 3);
    let files: Vec<Vec<u8>> = done
        .iter()
        .map(|d| std::fs::read(&d.path).unwrap())
        .collect();
    assert_ts_rebased(&files[0], TS[3]);
    assert_ts_rebased(&files[1], &hevc);
    assert_ts_rebased(&files[2], TS[5]);
    assert_eq!(r.progress.gaps.load(Ordering::Relaxed), 0);
}

#[test]
fn unreadable_segments_are_written_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "ts", 0, 0);
    let junk: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    r.push(media(3, TS[3]));
    r.push(media(4, &junk));
    r.push(media(5, TS[5]));
    let done = r.finish();
    assert_eq!(done.len(), 1);
    let file = std::fs::read(&done[0].path).unwrap();
    let (a, rest) = file.split_at(TS[3].len());
    let (b, c) = rest.split_at(junk.len());
    assert_eq!(b, &junk[..], "never dropped, never changed");
    // Before and after it, one offset: the file's.
    let mut both = a.to_vec();
    both.extend_from_slice(c);
    assert_ts_rebased(&both, &concat(&[TS[3], TS[5]]));
}

#[test]
fn every_fmp4_file_is_rebased_and_keeps_its_init_section() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rig(dir.path(), "mp4", 0, 0);
    let init = Bytes::from_static(INIT);
    let frag = |sequence, data: &[u8]| HlsSegment {
        init: Some(init.clone()),
        ..media(sequence, data)
    };
    r.push(frag(3, M4S[0]));
    r.push(frag(4, M4S[1]));
    r.w.request_split();
    r.push(frag(5, M4S[1]));
    let done = r.finish();
    assert_eq!(done.len(), 2);
    let tracks = fmp4::tracks(INIT).unwrap();
    let decode_times = |f: &[u8]| -> Vec<u64> {
        fmp4::scan(f, None)
            .unwrap()
            .iter()
            .filter(|f| matches!(f.kind, fmp4::FieldKind::Tfdt(_)))
            .map(|f| f.value)
            .collect()
    };
    let served = decode_times(&concat(&[INIT, M4S[0], M4S[1]]));
    let off = fmp4::earliest(&fmp4::scan(M4S[0], Some(&tracks)).unwrap()).unwrap();
    let file = std::fs::read(&done[0].path).unwrap();
    assert!(file.starts_with(INIT));
    assert_eq!(file.len(), INIT.len() + M4S[0].len() + M4S[1].len());
    let got = decode_times(&file);
    let want: Vec<u64> = served
        .iter()
        .zip([15360, 44100, 15360, 44100])
        .map(|(v, ts)| v - off.ticks(ts))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.iter().min(), Some(&0));
    // The file after the split starts at 0 too.
    let second = std::fs::read(&done[1].path).unwrap();
    assert!(second.starts_with(INIT));
    assert_eq!(decode_times(&second).iter().min(), Some(&0));
}
