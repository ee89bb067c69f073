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
//!   numbers and counted in [`crate::segment::files::Progress::gaps`].
//! - The duration passed to [`SegmentFiles::close`] is the sum of the segments' `EXTINF`.
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

use super::handle::Container;
use super::pipeline::{Flow, Pipeline};
use crate::media::{fmp4, ts};
use crate::segment::files::{SegmentFiles, WriteError};

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
    pub(crate) data: Bytes,
    /// `EXTINF`, seconds.
    pub(crate) duration: f64,
    pub(crate) sequence: u64,
    /// The numbering `sequence` belongs to (the media playlist path, plus a count of sequence
    /// resets): gaps are only counted within one numbering.
    pub(crate) stream: Arc<str>,
    /// Must not continue the current file: a discontinuity or a sequence reset.
    pub(crate) boundary: bool,
    /// The init section this segment needs (fMP4 `ftyp`+`moov`); `None` for TS.
    pub(crate) init: Option<Bytes>,
    /// The puller's memory budget for this segment, released once it is written.
    pub(crate) _permit: Option<OwnedSemaphorePermit>,
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
pub(crate) struct HlsWriter {
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
    /// `audio_only`: the video is dropped from the segments before anything else reads them.
    audio: Option<AudioFilter>,
}

/// `audio_only`'s filter for the writer's container.
#[derive(Debug)]
enum AudioFilter {
    Ts(ts::AudioOnly),
    /// `warned`: a segment was recorded whole (logged once per session).
    Fmp4 {
        filter: fmp4::AudioOnly,
        warned: bool,
    },
}

impl AudioFilter {
    /// The segment without its video (fMP4 that cannot be rewritten: whole, with a warning).
    fn apply(&mut self, seg: &mut HlsSegment) {
        match self {
            AudioFilter::Ts(f) => {
                // A TS init section (EXT-X-MAP) holds the PAT and PMT: it loses the video too.
                if let Some(init) = &seg.init {
                    seg.init = Some(Bytes::from(f.filter(init)));
                }
                seg.data = Bytes::from(f.filter(&seg.data));
            }
            AudioFilter::Fmp4 { filter, warned } => {
                let init = seg.init.as_ref().map(|i| filter.init(i));
                let done = match init {
                    Some(Err(e)) => Err(e),
                    _ => filter.segment(&seg.data).map(|d| (init, d)),
                };
                match done {
                    Ok((init, data)) => {
                        if let Some(Ok(i)) = init {
                            seg.init = Some(Bytes::from(i));
                        }
                        seg.data = Bytes::from(data);
                    }
                    Err(e) if !std::mem::replace(warned, true) => tracing::warn!(
                        sequence = seg.sequence,
                        "audio_only: cannot drop the video of this fMP4 segment ({e}); it is \
                         recorded whole (logged once per session)"
                    ),
                    Err(e) => tracing::debug!(sequence = seg.sequence, "recorded whole: {e}"),
                }
            }
        }
    }
}

impl HlsWriter {
    /// A writer for TS or fMP4 segments.
    pub(crate) fn new(container: Container) -> Self {
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
            audio: None,
        }
    }

    /// Files of the audio track alone: the segments lose their video (TS: its elementary
    /// streams, the PMTs naming only the rest; fMP4: its tracks and their samples).
    pub(crate) fn audio_only(mut self, on: bool) -> Self {
        self.audio = on.then(|| match self.container {
            Container::Fmp4 => AudioFilter::Fmp4 {
                filter: fmp4::AudioOnly::default(),
                warned: false,
            },
            _ => AudioFilter::Ts(ts::AudioOnly::default()),
        });
        self
    }

    fn close(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
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
    fn over_limit(&self, seg: &HlsSegment, out: &SegmentFiles) -> Option<&'static str> {
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

    fn note_gap(&self, seg: &HlsSegment, out: &SegmentFiles) {
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
    type Input<'a> = HlsSegment;

    fn push(&mut self, mut seg: HlsSegment, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        let print = Fingerprint::of(&seg);
        if let Some(filter) = &mut self.audio {
            filter.apply(&mut seg);
        }
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
        out.note_media((self.file_duration * 1000.0) as u64);
        self.file_segments += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(print);
        self.last = Some((seg.stream, seg.sequence));
        Ok(Flow::Continue)
    }

    fn finish_connection(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        self.close(out)
    }

    fn request_split(&mut self) {
        self.split = true;
    }
}

#[cfg(test)]
mod tests;
