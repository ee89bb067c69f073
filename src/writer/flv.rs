//! The FLV pipeline: parses a connection's bytes, buffers one GOP at a time, and writes files
//! that each play on their own.
//!
//! Every file starts with an FLV header, liverec's `onMetaData` (fixed size, patched with the
//! real duration, size and keyframe index before the file is closed), and the current video and
//! audio sequence headers, all at timestamp 0; its first media tag is a keyframe and its
//! timestamps start at 0. Files are split only before a keyframe (audio-only streams: between
//! any tags), so each source tag lands in exactly one file. Writing a file is [`file`]'s part,
//! the GOP buffer [`gop`]'s.

use std::collections::VecDeque;

use crate::media::flv::amf0::{self, Value};
use crate::media::flv::tag::{TagInfo, TagKind, VideoCodec};
use crate::media::flv::timeline::{Fix, Timeline, Track};
use crate::media::flv::{Item, Parser, Tag};
use crate::segment::files::{SegmentFiles, SegmentSpec, WriteError};

mod file;
mod gop;
use super::pipeline::{Flow, Pipeline};
use file::OpenFile;
use gop::{Gop, Held};

/// A GOP buffer never holds more than this; a stream without (recognisable) keyframes is
/// flushed in pieces of this size instead of growing a buffer.
const MAX_GOP_TAGS: usize = 8192;
const MAX_GOP_BYTES: usize = 32 << 20;
/// Streams without keyframes to align to (audio-only, or keyframes never recognised) are
/// written in pieces of about this much media time.
const UNALIGNED_PIECE_MS: i64 = 1000;
/// GOP fingerprints remembered for spotting a CDN replaying data after a reconnect.
const RECENT_GOPS: usize = 16;
/// This many replayed GOPs in a row means the CDN is stuck: ask for a fresh connection.
const MAX_REPLAYED_GOPS: u32 = 10;
/// Video tags dropped while waiting for the first keyframe of a connection before giving up
/// (the keyframes may be unrecognisable: encrypted payloads, an unknown codec).
const MAX_WAIT_FOR_KEYFRAME: usize = 300;
/// Audio tags dropped while waiting for a keyframe before deciding there is no video at all.
const MAX_AUDIO_WITHOUT_VIDEO: usize = 250;
/// Keyframe index entries are at least this far apart.
const KEYFRAME_SPACING_MS: i64 = 1000;
const MIN_INDEX: usize = 256;
const MAX_INDEX: usize = 20_000;
/// Timestamp repairs logged per connection (then only counted).
const LOGGED_FIXES: u32 = 5;

/// When files are split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Milliseconds of media per file; 0 = no limit.
    pub duration_ms: i64,
    /// Bytes per file; 0 = no limit.
    pub size: u64,
}

impl Limits {
    pub(crate) fn from_spec(spec: &SegmentSpec) -> Self {
        Self {
            duration_ms: i64::try_from(spec.segment_duration.as_millis()).unwrap_or(i64::MAX),
            size: spec.segment_size,
        }
    }

    /// Keyframe index entries to reserve in each file's metadata.
    fn index_capacity(&self) -> usize {
        if self.duration_ms <= 0 {
            return MAX_INDEX;
        }
        let n = self.duration_ms * 6 / 5 / KEYFRAME_SPACING_MS + 16;
        (n as usize).clamp(MIN_INDEX, MAX_INDEX)
    }
}

/// Per-connection state, reset when a connection ends.
#[derive(Default)]
struct Connection {
    saw_header: bool,
    saw_media: bool,
    /// Frames are dropped until the first keyframe of the connection.
    waiting_keyframe: bool,
    dropped_video: usize,
    dropped_audio: usize,
    audio_without_header: usize,
    video_without_header: usize,
    empty_tags: usize,
    fixes: u32,
}

pub struct FlvPipeline {
    limits: Limits,
    parser: Parser,
    timeline: Timeline,
    conn: Connection,
    video_header: Option<Tag>,
    audio_header: Option<Tag>,
    source_meta: Option<Value>,
    has_video: bool,
    has_audio: bool,
    gop: Gop,
    file: Option<OpenFile>,
    split: Option<String>,
    recent: VecDeque<u64>,
    replayed: u32,
    held: Option<Held>,
}

impl FlvPipeline {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            parser: Parser::default(),
            timeline: Timeline::default(),
            conn: Connection {
                waiting_keyframe: true,
                ..Connection::default()
            },
            video_header: None,
            audio_header: None,
            source_meta: None,
            has_video: false,
            has_audio: false,
            gop: Gop::default(),
            file: None,
            split: None,
            recent: VecDeque::with_capacity(RECENT_GOPS),
            replayed: 0,
            held: None,
        }
    }

    fn on_item(&mut self, item: Item, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        match item {
            Item::Header { has_video, .. } => {
                if self.conn.saw_header || self.conn.saw_media {
                    let flow = self.flush_gop(out)?;
                    self.split
                        .get_or_insert_with(|| "a new FLV header arrived mid-stream".into());
                    // The spliced stream has its own clock; it starts a file of its own.
                    self.timeline = Timeline::default();
                    self.conn.waiting_keyframe = true;
                    self.conn.saw_media = false;
                    if flow != Flow::Continue {
                        return Ok(flow);
                    }
                }
                self.conn.saw_header = true;
                self.has_video |= has_video;
                Ok(Flow::Continue)
            }
            Item::Skipped { bytes, reason } => {
                tracing::warn!("skipped {bytes} bytes of the stream: {reason}");
                Ok(Flow::Continue)
            }
            Item::Tag(tag) => self.on_tag(tag, out),
        }
    }

    fn on_tag(&mut self, tag: Tag, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        if tag.kind == TagKind::Script {
            self.on_script(&tag);
            return Ok(Flow::Continue);
        }
        if tag.is_sequence_header() {
            return self.on_sequence_header(tag, out);
        }
        if tag.is_end_of_sequence() {
            let flow = self.flush_gop(out)?;
            self.split
                .get_or_insert_with(|| "the stream sent an end-of-sequence".into());
            return Ok(flow);
        }
        if tag.body.is_empty() {
            // Some CDNs pad with empty tags; they carry nothing a player could use.
            if self.conn.empty_tags == 0 {
                tracing::debug!("dropping empty {:?} tags (no payload)", tag.kind);
            }
            self.conn.empty_tags += 1;
            return Ok(Flow::Continue);
        }
        let mut flow = Flow::Continue;
        match tag.kind {
            TagKind::Video => {
                let needs_header = matches!(
                    tag.info,
                    TagInfo::Video {
                        codec: VideoCodec::Avc | VideoCodec::Hevc | VideoCodec::Av1,
                        ..
                    }
                );
                if needs_header && self.video_header.is_none() {
                    // Undecodable without the decoder configuration: a file of such frames
                    // fails to play. Audio records on its own meanwhile.
                    if self.conn.video_without_header == 0 {
                        tracing::warn!(
                            "video before its sequence header: dropping video until the header arrives"
                        );
                    }
                    self.conn.video_without_header += 1;
                    return Ok(Flow::Continue);
                }
                self.has_video = true;
                if tag.is_keyframe() {
                    flow = self.flush_gop(out)?;
                    self.conn.waiting_keyframe = false;
                } else if self.conn.waiting_keyframe {
                    self.conn.dropped_video += 1;
                    if self.conn.dropped_video < MAX_WAIT_FOR_KEYFRAME {
                        return Ok(Flow::Continue);
                    }
                    tracing::warn!(
                        "no keyframe recognised in the first {} video frames; recording without keyframe alignment (files split at twice the limits)",
                        self.conn.dropped_video
                    );
                    self.conn.waiting_keyframe = false;
                }
            }
            TagKind::Audio => {
                self.has_audio = true;
                let aac = matches!(
                    tag.info,
                    TagInfo::Audio {
                        codec: crate::media::flv::tag::AudioCodec::Aac,
                        ..
                    }
                );
                if aac && self.audio_header.is_none() {
                    // AAC frames are undecodable without their AudioSpecificConfig.
                    if self.conn.audio_without_header == 0 {
                        tracing::warn!(
                            "AAC audio before its sequence header: dropping audio until the header arrives"
                        );
                    }
                    self.conn.audio_without_header += 1;
                    return Ok(Flow::Continue);
                }
                // Waiting for a keyframe makes no sense while the video cannot be decoded.
                if self.conn.waiting_keyframe
                    && self.conn.video_without_header == 0
                    && (self.has_video || self.video_header.is_some())
                {
                    self.conn.dropped_audio += 1;
                    if self.conn.dropped_audio < MAX_AUDIO_WITHOUT_VIDEO
                        || self.conn.dropped_video > 0
                    {
                        return Ok(Flow::Continue);
                    }
                    tracing::warn!(
                        "the stream announces video but sends only audio; recording the audio"
                    );
                    self.has_video = false;
                    self.conn.waiting_keyframe = false;
                }
                if self.conn.waiting_keyframe && !self.has_video {
                    self.conn.waiting_keyframe = false;
                }
            }
            TagKind::Script => {}
        }
        self.conn.saw_media = true;
        let track = if tag.kind == TagKind::Video {
            Track::Video
        } else {
            Track::Audio
        };
        let (ts, fix) = self.timeline.map(track, tag.timestamp);
        if let Fix::Jump(by) = fix {
            self.conn.fixes += 1;
            if self.conn.fixes <= LOGGED_FIXES {
                tracing::info!(
                    "timestamp jump of {by} ms in the source repaired (continuing at {ts} ms)"
                );
            }
        }
        self.gop.push(tag, ts);
        // Without a keyframe to align to (audio-only, or keyframes never recognised) there is
        // nothing to wait for: write in pieces of about a second.
        let unaligned = !self.has_video || !self.gop.starts_with_keyframe;
        let piece_done = unaligned && self.gop.span_ms() >= UNALIGNED_PIECE_MS;
        if piece_done || self.gop.tags.len() >= MAX_GOP_TAGS || self.gop.bytes >= MAX_GOP_BYTES {
            let f = self.flush_gop(out)?;
            if flow == Flow::Continue {
                flow = f;
            }
        }
        Ok(flow)
    }

    fn on_script(&mut self, tag: &Tag) {
        let values = match amf0::decode(&tag.body) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!("ignored a script tag: {e}");
                return;
            }
        };
        if values.first().and_then(Value::as_str) != Some("onMetaData") {
            return;
        }
        if self.conn.saw_media {
            // The edge reconnected to its upstream: the stream goes on, the file keeps its one
            // script tag (a second one confuses players and ffprobe).
            tracing::info!(
                "dropped a later onMetaData in the stream (the CDN may have reconnected upstream)"
            );
            return;
        }
        if let Some(obj) = values.into_iter().nth(1) {
            self.source_meta = Some(obj);
        }
    }

    fn on_sequence_header(&mut self, tag: Tag, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        let slot = if tag.kind == TagKind::Video {
            &self.video_header
        } else {
            &self.audio_header
        };
        match slot {
            Some(old) if old.config_bytes() == tag.config_bytes() => return Ok(Flow::Continue),
            None => {}
            Some(_) => {
                let flow = self.flush_gop(out)?;
                let what = if tag.kind == TagKind::Video {
                    "video"
                } else {
                    "audio"
                };
                // The first reason is the cause (a spliced stream brings new headers too).
                self.split.get_or_insert(format!(
                    "the {what} decoder configuration changed (a resolution or codec change)"
                ));
                self.store_header(tag);
                return Ok(flow);
            }
        }
        self.store_header(tag);
        Ok(Flow::Continue)
    }

    fn store_header(&mut self, tag: Tag) {
        if tag.kind == TagKind::Video {
            self.has_video = true;
            self.video_header = Some(tag);
        } else {
            self.has_audio = true;
            self.audio_header = Some(tag);
        }
    }

    fn flush_gop(&mut self, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        if self.gop.tags.is_empty() {
            return Ok(Flow::Continue);
        }
        let fp = self.gop.fingerprint();
        if self.recent.contains(&fp) {
            self.replayed += 1;
            tracing::debug!(
                "dropped a GOP the CDN sent again ({} in a row)",
                self.replayed
            );
            self.gop.clear();
            if self.replayed > MAX_REPLAYED_GOPS {
                self.replayed = 0;
                return Ok(Flow::Reconnect(format!(
                    "the CDN sent more than {MAX_REPLAYED_GOPS} GOPs it had already sent"
                )));
            }
            return Ok(Flow::Continue);
        }
        if self.replayed > 0 {
            tracing::info!("dropped {} GOP(s) the CDN replayed", self.replayed);
        }
        self.replayed = 0;
        if let Some(held) = self.held.take() {
            if self.gop.extends(&held.fingerprints) {
                tracing::debug!("the new connection replayed the interrupted GOP in full");
                self.close_file(out)?;
            } else {
                self.write_and_close(held.gop, out)?;
            }
        }
        self.remember(fp);
        let mut gop = std::mem::take(&mut self.gop);
        let written = self.write_gop(&gop, out);
        gop.clear();
        self.gop = gop;
        written.map(|_| Flow::Continue)
    }

    fn remember(&mut self, fp: u64) {
        if self.recent.len() == RECENT_GOPS {
            self.recent.pop_front();
        }
        self.recent.push_back(fp);
    }

    /// Writes a GOP (splitting first if due) and closes the file.
    fn write_and_close(&mut self, gop: Gop, out: &mut SegmentFiles) -> Result<(), WriteError> {
        if !gop.tags.is_empty() {
            self.remember(gop.fingerprint());
            self.write_gop(&gop, out)?;
        }
        self.close_file(out)
    }

    fn split_reason(&self, gop: &Gop, f: &OpenFile, file_len: u64) -> Option<String> {
        let aligned = gop.starts_with_keyframe || !self.has_video;
        let factor = if aligned { 1 } else { 2 };
        let elapsed = gop.first_ts() - f.base;
        let d = self.limits.duration_ms;
        if d > 0 && elapsed >= d.saturating_mul(factor) {
            return Some(format!(
                "segment_duration reached ({:.1}s)",
                elapsed as f64 / 1000.0
            ));
        }
        let s = self.limits.size;
        if s > 0
            && f.meta_body_at + (f.meta_len as u64) < file_len
            && file_len + gop.bytes as u64 > s.saturating_mul(factor as u64)
        {
            return Some(format!("segment_size reached ({file_len} bytes)"));
        }
        None
    }

    /// Writes a GOP, first starting a new file if a split is due.
    fn write_gop(&mut self, gop: &Gop, out: &mut SegmentFiles) -> Result<(), WriteError> {
        if gop.tags.is_empty() {
            return Ok(());
        }
        if !out.is_open() {
            // Closed under us (a session that failed): what follows needs a new file header.
            self.file = None;
        }
        if let Some(f) = &self.file {
            let reason = self
                .split
                .take()
                .or_else(|| self.split_reason(gop, f, out.len()));
            if let Some(r) = reason {
                tracing::info!("new file: {r}");
                self.close_file(out)?;
            }
        }
        if self.file.is_none() {
            self.split = None;
            self.open_file(out, gop.first_ts())?;
        }
        for (tag, ts) in &gop.tags {
            self.write_tag(out, tag, *ts)?;
        }
        if let Some(f) = &self.file {
            out.note_media(u64::try_from(f.last_ts - f.base).unwrap_or(0));
        }
        Ok(())
    }
}

impl Pipeline for FlvPipeline {
    fn push(&mut self, data: &[u8], out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        self.parser.push(data);
        while let Some(item) = self.parser.next_item() {
            let flow = self.on_item(item, out)?;
            if flow != Flow::Continue {
                return Ok(flow);
            }
        }
        Ok(Flow::Continue)
    }

    fn finish_connection(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        if let Some(Item::Skipped { bytes, reason }) = self.parser.finish() {
            tracing::info!("dropped {bytes} bytes at the end of the connection: {reason}");
        }
        let gop = std::mem::take(&mut self.gop);
        let result = match self.held.take() {
            // A second connection ended before settling the first one's GOP: settle it now.
            Some(held) => {
                if gop.tags.is_empty() || self.recent.contains(&gop.fingerprint()) {
                    self.write_and_close(held.gop, out)
                } else if gop.extends(&held.fingerprints) {
                    self.write_and_close(gop, out)
                } else if Gop::is_prefix_of(&gop, &held) {
                    self.write_and_close(held.gop, out)
                } else {
                    self.write_and_close(held.gop, out)
                        .and_then(|_| self.write_and_close(gop, out))
                }
            }
            None if gop.starts_with_keyframe && self.has_video => {
                let fingerprints = gop.tag_fingerprints();
                self.held = Some(Held { gop, fingerprints });
                Ok(())
            }
            None => {
                self.gop = gop;
                let flushed = self.flush_gop(out).map(|_| ());
                flushed.and(self.close_file(out))
            }
        };
        if self.conn.fixes > LOGGED_FIXES {
            tracing::info!(
                "{} timestamp jumps repaired in this connection",
                self.conn.fixes
            );
        }
        if self.conn.dropped_video + self.conn.dropped_audio > 0 {
            tracing::debug!(
                "{} video and {} audio tags came before the first keyframe and were dropped",
                self.conn.dropped_video,
                self.conn.dropped_audio
            );
        }
        self.timeline = Timeline::default();
        self.conn = Connection {
            waiting_keyframe: true,
            ..Connection::default()
        };
        self.gop.clear();
        result
    }

    fn close(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        let result = self.finish_connection(out);
        let held = self
            .held
            .take()
            .map_or(Ok(()), |h| self.write_and_close(h.gop, out));
        result.and(held).and(self.close_file(out))
    }

    fn request_split(&mut self) {
        self.split = Some("a split was requested".into());
    }

    fn reconfigure(&mut self, spec: &SegmentSpec) {
        self.limits = Limits::from_spec(spec);
    }
}
