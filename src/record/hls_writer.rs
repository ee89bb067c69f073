//! The writer side of HLS: whole media segments (TS, or fMP4 fragments with their init section)
//! into segment files.
//!
//! - A file opens lazily, at the first segment; an fMP4 file starts with the init section,
//!   **every** file, so each one plays on its own.
//! - A new file starts at a discontinuity or a sequence reset (`boundary`), when the init section
//!   changes, on a split request, and at a segment boundary when the next segment would take the
//!   file past `segment_duration` (sum of `EXTINF`) or `segment_size`. A single segment longer
//!   than a limit still gets a file of its own: files are never empty and never cut a segment.
//! - Segments are never written twice: a reconnect re-fetches the playlist window, and segments
//!   already written (same sequence number, same bytes) are dropped here.
//! - Sequence numbers that jump forward within one numbering are a **gap**: logged with the
//!   numbers and counted in [`super::output::Progress::gaps`].
//! - The duration passed to [`Output::close`] is the sum of the segments' `EXTINF`.
//! - A TS segment whose program map (PMT stream types or PIDs) differs from the file's starts a
//!   new file, even without `EXT-X-DISCONTINUITY`: a codec change the playlist did not announce.
//! - **Timestamps are rebased per file**, so every file starts at 0: the first segment of a file
//!   chooses the offset ([`ts::earliest`] of its clocks, or [`fmp4::earliest`] of its decode
//!   times), and every segment written to the file is rewritten in place with it (the init
//!   section is not changed). A segment that cannot be read for that (not TS, boxes that do not
//!   add up, a track the init section does not know) is written unchanged, with one WARN per
//!   file: media is never dropped for the sake of its timestamps.

use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::OwnedSemaphorePermit;

use super::output::{Output, SinkError};
use super::pipeline::{Flow, Pipeline};
use super::sink::Container;
use crate::media::{fmp4, ts};

/// Segments remembered for dropping re-fetched duplicates (more than any live window a reconnect
/// re-reads: the puller re-reads at most about 30 s).
const RECENT: usize = 64;
/// A forward jump of more sequence numbers than this is a new numbering, not a gap.
const MAX_GAP: u64 = 100_000;
/// Bytes hashed at each end of a segment to recognise it.
const HASH_SPAN: usize = 64 * 1024;
/// Slack when comparing summed `EXTINF` durations with `segment_duration`.
const DURATION_SLACK: f64 = 0.001;

/// One HLS media segment, whole and in order.
pub struct HlsSegment {
    /// Decrypted media bytes.
    pub data: Bytes,
    /// `EXTINF`, seconds.
    pub duration: f64,
    pub sequence: u64,
    /// The numbering `sequence` belongs to (the media playlist path, plus a count of sequence
    /// resets): gaps are only counted within one numbering.
    pub stream: Arc<str>,
    /// Must not continue the current file: a discontinuity or a sequence reset.
    pub boundary: bool,
    /// The init section this segment needs (fMP4 `ftyp`+`moov`); `None` for TS.
    pub init: Option<Bytes>,
    /// The puller's memory budget for this segment, released once it is written.
    pub permit: Option<OwnedSemaphorePermit>,
}

impl fmt::Debug for HlsSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HlsSegment")
            .field("bytes", &self.data.len())
            .field("duration", &self.duration)
            .field("sequence", &self.sequence)
            .field("stream", &self.stream)
            .field("boundary", &self.boundary)
            .field("init_bytes", &self.init.as_ref().map(Bytes::len))
            .finish()
    }
}

/// What identifies a written segment for duplicate detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    sequence: u64,
    len: usize,
    hash: u64,
}

impl Fingerprint {
    fn of(seg: &HlsSegment) -> Self {
        let d = &seg.data;
        let mut h = std::hash::DefaultHasher::new();
        d[..d.len().min(HASH_SPAN)].hash(&mut h);
        d[d.len().saturating_sub(HASH_SPAN)..].hash(&mut h);
        Self {
            sequence: seg.sequence,
            len: d.len(),
            hash: h.finish(),
        }
    }
}

/// What a segment's timestamps are, read before it is written.
enum Clocks {
    Ts(ts::TsScan),
    Fmp4(Vec<fmp4::TimeField>),
    /// Cannot be rebased: written as it is.
    Unreadable(String),
}

/// The open file's timestamp offset, chosen by its first segment that has a clock.
#[derive(Debug, Default)]
struct FileClock {
    /// 90 kHz ticks subtracted from every TS clock.
    ts: Option<u64>,
    fmp4: Option<fmp4::Offset>,
    /// A segment of this file could not be rebased (and that was logged).
    warned: bool,
}

#[derive(Debug)]
pub struct HlsWriter {
    container: Container,
    split: bool,
    /// The init section at the head of the open file.
    file_init: Option<Bytes>,
    /// Sum of `EXTINF` in the open file.
    file_duration: f64,
    file_segments: u32,
    /// Last segment written: (numbering, sequence).
    last: Option<(Arc<str>, u64)>,
    recent: VecDeque<Fingerprint>,
    clock: FileClock,
    /// What the TS PATs and PMTs said so far.
    ts_state: ts::TsState,
    /// The programs of the open TS file, as its latest PMT gave them.
    file_programs: Option<ts::ProgramMap>,
    /// The track timescales of the latest fMP4 init section (or why there are none).
    tracks: Option<(Bytes, Result<fmp4::Tracks, fmp4::Error>)>,
}

impl HlsWriter {
    /// A writer for TS or fMP4 segments.
    pub fn new(container: Container) -> Self {
        Self {
            container,
            split: false,
            file_init: None,
            file_duration: 0.0,
            file_segments: 0,
            last: None,
            recent: VecDeque::new(),
            clock: FileClock::default(),
            ts_state: ts::TsState::new(),
            file_programs: None,
            tracks: None,
        }
    }

    fn close(&mut self, out: &mut Output) -> Result<(), SinkError> {
        let duration = self.file_duration;
        self.file_init = None;
        self.file_duration = 0.0;
        self.file_segments = 0;
        self.clock = FileClock::default();
        self.file_programs = None;
        out.close(Some(duration)).map(|_| ())
    }

    /// Reads the timestamps of a segment (and, for TS, its program map).
    fn clocks(&mut self, seg: &HlsSegment) -> Clocks {
        match self.container {
            Container::Fmp4 => {
                if let Some(init) = &seg.init {
                    if self.tracks.as_ref().is_none_or(|(i, _)| i != init) {
                        self.tracks = Some((init.clone(), fmp4::tracks(init)));
                    }
                }
                let (tracks, init_error) = match (&seg.init, &self.tracks) {
                    (Some(_), Some((_, Ok(t)))) => (Some(t), None),
                    (Some(_), Some((_, Err(e)))) => (None, Some(e)),
                    _ => (None, None),
                };
                match fmp4::scan(&seg.data, tracks) {
                    Ok(fields) => Clocks::Fmp4(fields),
                    Err(e) => Clocks::Unreadable(match init_error {
                        Some(ie) => format!("{e} (the init section: {ie})"),
                        None => e.to_string(),
                    }),
                }
            }
            _ => {
                // A TS init section (EXT-X-MAP) holds the PAT and PMT the segments may lack.
                if let Some(init) = &seg.init {
                    if self.file_init.as_ref() != Some(init) {
                        ts::scan(init, &mut self.ts_state);
                    }
                }
                let scan = ts::scan(&seg.data, &mut self.ts_state);
                match scan.problem(seg.data.len()) {
                    Some(why) => Clocks::Unreadable(why),
                    None => Clocks::Ts(scan),
                }
            }
        }
    }

    /// Does this TS segment change the open file's programs?
    fn programs_changed(&self, clocks: &Clocks) -> bool {
        let (Clocks::Ts(scan), Some(old)) = (clocks, &self.file_programs) else {
            return false;
        };
        let Some(new) = &scan.first_map else {
            return false;
        };
        if new == old {
            return false;
        }
        tracing::info!(
            "new file: the TS program map changed without EXT-X-DISCONTINUITY (a codec or PID \
             change the playlist did not announce): {old} -> {new}"
        );
        true
    }

    /// The segment's bytes with the file's offset subtracted from its timestamps (the first
    /// segment with a clock chooses the offset). In place when the bytes are not shared.
    fn rebase(&mut self, data: Bytes, clocks: Clocks, sequence: u64) -> Bytes {
        match clocks {
            Clocks::Unreadable(why) => {
                if std::mem::replace(&mut self.clock.warned, true) {
                    tracing::debug!(sequence, "segment written unchanged: {why}");
                } else {
                    tracing::warn!(
                        sequence,
                        "cannot rebase the timestamps of this segment ({why}); it is written \
                         as the server sent it (logged once per file)"
                    );
                }
                data
            }
            Clocks::Ts(scan) => {
                if self.clock.ts.is_none() {
                    self.clock.ts = ts::earliest(&scan.clocks);
                    if let Some(off) = self.clock.ts {
                        tracing::debug!(
                            sequence,
                            offset_s = ts::seconds(off),
                            "file timestamps rebased to 0"
                        );
                    }
                }
                match self.clock.ts {
                    Some(off) if off != 0 && !scan.clocks.is_empty() => {
                        let mut buf = owned(data);
                        ts::rebase(&mut buf, &scan.clocks, off);
                        buf.freeze()
                    }
                    _ => data,
                }
            }
            Clocks::Fmp4(fields) => {
                if self.clock.fmp4.is_none() {
                    self.clock.fmp4 = fmp4::earliest(&fields);
                    if let Some(off) = self.clock.fmp4 {
                        tracing::debug!(
                            sequence,
                            offset_s = off.seconds(),
                            "file timestamps rebased to 0"
                        );
                    }
                }
                match self.clock.fmp4 {
                    Some(off) if off.value != 0 && !fields.is_empty() => {
                        let mut buf = owned(data);
                        fmp4::rebase(&mut buf, &fields, off);
                        buf.freeze()
                    }
                    _ => data,
                }
            }
        }
    }

    /// Would this segment take the open file past a limit?
    fn over_limit(&self, seg: &HlsSegment, out: &Output) -> Option<&'static str> {
        if self.file_segments == 0 {
            return None;
        }
        let spec = out.spec();
        let max_s = spec.segment_duration.as_secs_f64();
        if max_s > 0.0 && self.file_duration + seg.duration > max_s + DURATION_SLACK {
            return Some("segment_duration");
        }
        let max_b = spec.segment_size;
        if max_b > 0 && out.len() + seg.data.len() as u64 > max_b {
            return Some("segment_size");
        }
        None
    }

    fn note_gap(&self, seg: &HlsSegment, out: &Output) {
        let Some((stream, last)) = &self.last else {
            return;
        };
        if *stream != seg.stream || seg.sequence <= last.saturating_add(1) {
            return;
        }
        let missing = seg.sequence - last - 1;
        if missing > MAX_GAP {
            return;
        }
        let range = if missing == 1 {
            format!("{}", last + 1)
        } else {
            format!("{}..={}", last + 1, seg.sequence - 1)
        };
        tracing::warn!(
            missing,
            "gap: {missing} media segment(s) missing from the recording (media sequence {range})"
        );
        out.count_gap(missing);
    }
}

/// The segment's bytes, owned for rewriting: without a copy when nothing else holds them (the
/// writer receives each downloaded body whole and alone).
fn owned(data: Bytes) -> BytesMut {
    data.try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]))
}

impl Pipeline for HlsWriter {
    fn push(&mut self, _data: &[u8], _out: &mut Output) -> Result<Flow, SinkError> {
        Err(SinkError::Stream(
            "the HLS writer takes whole segments, not a byte stream".into(),
        ))
    }

    fn push_segment(&mut self, seg: HlsSegment, out: &mut Output) -> Result<Flow, SinkError> {
        let print = Fingerprint::of(&seg);
        if self.recent.contains(&print) {
            tracing::debug!(
                sequence = seg.sequence,
                "segment already recorded (re-read after a reconnect); skipped"
            );
            return Ok(Flow::Continue);
        }
        self.note_gap(&seg, out);
        let clocks = self.clocks(&seg);
        // Within one numbering, a sequence that goes back (with other bytes) or leaps beyond
        // any window means the stream restarted (noticed across a reconnect): a new file.
        let restarted = self.last.as_ref().is_some_and(|(stream, last)| {
            *stream == seg.stream && (seg.sequence <= *last || seg.sequence - last > MAX_GAP)
        });
        if out.is_open() {
            let reason = if seg.boundary {
                Some("discontinuity")
            } else if restarted {
                Some("the media sequence restarted")
            } else if std::mem::take(&mut self.split) {
                Some("split requested")
            } else if seg.init != self.file_init {
                Some("new init section")
            } else if self.programs_changed(&clocks) {
                Some("the TS program map changed")
            } else {
                self.over_limit(&seg, out)
            };
            if let Some(reason) = reason {
                tracing::debug!(sequence = seg.sequence, "new file: {reason}");
                self.close(out)?;
            }
        }
        if !out.is_open() {
            self.split = false;
            out.open()?;
            if let Some(init) = &seg.init {
                // The fragments are rebased to 0; an edit list delaying playback would undo it.
                match fmp4::without_start_delay(init).filter(|_| self.container == Container::Fmp4)
                {
                    Some(fixed) => {
                        tracing::debug!(
                            "the init section's edit list delayed playback; the file's copy starts at 0"
                        );
                        out.write(&fixed)?;
                    }
                    None => out.write(init)?,
                }
            }
            self.file_init = seg.init.clone();
        }
        let data = self.rebase(seg.data, clocks, seg.sequence);
        out.write(&data)?;
        if self.container == Container::Ts {
            self.file_programs = self.ts_state.program_map();
        }
        self.file_duration += seg.duration;
        self.file_segments += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(print);
        self.last = Some((seg.stream, seg.sequence));
        Ok(Flow::Continue)
    }

    fn finish_connection(&mut self, out: &mut Output) -> Result<(), SinkError> {
        self.close(out)
    }

    fn request_split(&mut self) {
        self.split = true;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;
    use crate::record::naming::NameFields;
    use crate::record::output::{OutputSpec, Progress, SegmentDone, SinkEvent};

    struct Rig {
        out: Output,
        events: mpsc::UnboundedReceiver<SinkEvent>,
        progress: Arc<Progress>,
        w: HlsWriter,
    }

    fn rig(dir: &Path, ext: &'static str, duration: u64, size: u64) -> Rig {
        let spec = OutputSpec {
            output_dir: dir.to_path_buf(),
            template: crate::config::filename_template("{name}/{index}").unwrap(),
            min_free_space: 0,
            fields: NameFields {
                platform: "direct".into(),
                id: "x".into(),
                key: "direct:x".into(),
                name: "n".into(),
                streamer: "s".into(),
                title: "t".into(),
                session: "sess".into(),
                session_start: crate::event::now(),
            },
            segment_duration: Duration::from_secs(duration),
            segment_size: size,
        };
        let (tx, events) = mpsc::unbounded_channel();
        let progress = Arc::new(Progress::default());
        let mut out = Output::new(spec, tx, progress.clone());
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
            assert_eq!(
                self.w.push_segment(seg, &mut self.out).unwrap(),
                Flow::Continue
            );
        }

        fn finish(&mut self) -> Vec<SegmentDone> {
            self.w.finish_connection(&mut self.out).unwrap();
            let mut done = Vec::new();
            while let Ok(ev) = self.events.try_recv() {
                if let SinkEvent::Closed(d) = ev {
                    done.push(d);
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
            permit: None,
        }
    }

    fn fmp4(sequence: u64, body: &str, init: &'static str) -> HlsSegment {
        HlsSegment {
            init: Some(Bytes::from_static(init.as_bytes())),
            ..seg(sequence, body)
        }
    }

    fn contents(done: &[SegmentDone]) -> Vec<String> {
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
        include_bytes!("../../tests/fixtures/media/hls_ts/seg_000.ts"),
        include_bytes!("../../tests/fixtures/media/hls_ts/seg_001.ts"),
        include_bytes!("../../tests/fixtures/media/hls_ts/seg_002.ts"),
        include_bytes!("../../tests/fixtures/media/hls_ts/seg_003.ts"),
        include_bytes!("../../tests/fixtures/media/hls_ts/seg_004.ts"),
        include_bytes!("../../tests/fixtures/media/hls_ts/seg_005.ts"),
    ];
    const INIT: &[u8] = include_bytes!("../../tests/fixtures/media/hls_fmp4/init.mp4");
    const M4S: [&[u8]; 2] = [
        include_bytes!("../../tests/fixtures/media/hls_fmp4/seg_003.m4s"),
        include_bytes!("../../tests/fixtures/media/hls_fmp4/seg_004.m4s"),
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

    #[test]
    fn byte_streams_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = rig(dir.path(), "ts", 0, 0);
        assert!(r.w.push(b"abc", &mut r.out).is_err());
        assert!(r.finish().is_empty());
    }
}
