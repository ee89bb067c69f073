//! The FLV pipeline: parses a connection's bytes, buffers one GOP at a time, and writes files
//! that each play on their own.
//!
//! Every file starts with an FLV header, liverec's `onMetaData` (fixed size, patched with the
//! real duration, size and keyframe index before the file is closed), and the current video and
//! audio sequence headers, all at timestamp 0; its first media tag is a keyframe and its
//! timestamps start at 0. Files are split only before a keyframe (audio-only streams: between
//! any tags), so each source tag lands in exactly one file.
//!
//! It is one pass over the tags, composed of parts that each own their state: the
//! [`headers`] tracker (decoder configurations, tracks, the source's metadata), the keyframe
//! [`gate`], the [`timestamps`] repair, the [`gop`] buffer, the [`replay`] filter (a CDN's GOP
//! cache sent again after a reconnect), the [`split`] policy, and the [`file`] being written.

use crate::media::flv::tag::TagKind;
use crate::media::flv::{Item, Parser, Tag};
use crate::segment::files::{SegmentFiles, SegmentSpec, WriteError};

pub(crate) mod file;
mod gate;
mod gop;
mod headers;
mod replay;
#[cfg(test)]
mod sample;
mod split;
mod timestamps;

use super::pipeline::{Flow, Pipeline};
use file::FlvFile;
use gate::{KeyframeGate, Pass};
use gop::Gop;
use headers::{Change, HeaderTracker};
use replay::{Held, ReplayFilter, Settle, Verdict};
pub use split::Limits;
use split::SplitPolicy;
use timestamps::TimestampRepair;

/// Per-connection state, reset when a connection ends.
#[derive(Default)]
struct Connection {
    saw_header: bool,
    saw_media: bool,
    empty_tags: usize,
}

pub struct FlvPipeline {
    parser: Parser,
    conn: Connection,
    headers: HeaderTracker,
    gate: KeyframeGate,
    timestamps: TimestampRepair,
    gop: Gop,
    replay: ReplayFilter,
    split: SplitPolicy,
    file: Option<FlvFile>,
    /// `audio_only`: video tags are dropped as they arrive, so the pipeline sees an audio-only
    /// stream (files split between any tags, metadata without video).
    audio_only: bool,
}

impl FlvPipeline {
    pub fn new(limits: Limits) -> Self {
        Self {
            parser: Parser::default(),
            conn: Connection::default(),
            headers: HeaderTracker::default(),
            gate: KeyframeGate::default(),
            timestamps: TimestampRepair::default(),
            gop: Gop::default(),
            replay: ReplayFilter::default(),
            split: SplitPolicy::new(limits),
            file: None,
            audio_only: false,
        }
    }

    /// Files of the audio track alone.
    pub fn audio_only(mut self, on: bool) -> Self {
        self.audio_only = on;
        self
    }

    fn on_item(&mut self, item: Item, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        match item {
            Item::Header { has_video, .. } => self.on_flv_header(has_video, out),
            Item::Skipped { bytes, reason } => {
                tracing::warn!("skipped {bytes} bytes of the stream: {reason}");
                Ok(Flow::Continue)
            }
            Item::Tag(tag) => self.on_tag(tag, out),
        }
    }

    /// An FLV header: the connection's first, or a spliced stream's mid-connection.
    fn on_flv_header(
        &mut self,
        has_video: bool,
        out: &mut SegmentFiles,
    ) -> Result<Flow, WriteError> {
        if self.conn.saw_header || self.conn.saw_media {
            let flow = self.flush_gop(out)?;
            self.split
                .stream_changed(|| "a new FLV header arrived mid-stream".into());
            // The spliced stream has its own clock; it starts a file of its own.
            self.timestamps.restart();
            self.gate.rearm();
            self.conn.saw_media = false;
            if flow != Flow::Continue {
                return Ok(flow);
            }
        }
        self.conn.saw_header = true;
        self.headers.announced(has_video && !self.audio_only);
        Ok(Flow::Continue)
    }

    fn on_tag(&mut self, tag: Tag, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        if self.audio_only && tag.kind == TagKind::Video {
            return Ok(Flow::Continue);
        }
        if tag.kind == TagKind::Script {
            self.headers.on_script(&tag, self.conn.saw_media);
            return Ok(Flow::Continue);
        }
        if tag.is_sequence_header() {
            return self.on_sequence_header(tag, out);
        }
        if tag.is_end_of_sequence() {
            let flow = self.flush_gop(out)?;
            self.split
                .stream_changed(|| "the stream sent an end-of-sequence".into());
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
        self.on_frame(tag, out)
    }

    fn on_sequence_header(&mut self, tag: Tag, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        match self.headers.compare(&tag) {
            Change::Same => Ok(Flow::Continue),
            Change::First => {
                self.headers.store(tag);
                Ok(Flow::Continue)
            }
            Change::Changed(what) => {
                // The GOP before the change still belongs to the old configuration.
                let flow = self.flush_gop(out)?;
                self.split.stream_changed(|| {
                    format!(
                        "the {what} decoder configuration changed (a resolution or codec change)"
                    )
                });
                self.headers.store(tag);
                Ok(flow)
            }
        }
    }

    /// An audio or video frame with a payload: past the gate, it joins the GOP buffer.
    fn on_frame(&mut self, tag: Tag, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        let pass = match tag.kind {
            TagKind::Video if self.headers.video_frame(&tag) => self.gate.video(tag.is_keyframe()),
            TagKind::Audio if self.headers.audio_frame(&tag) => self
                .gate
                .audio(self.headers.video_expected(), self.headers.has_video()),
            _ => Pass::Drop,
        };
        let mut flow = match pass {
            Pass::Drop => return Ok(Flow::Continue),
            Pass::Frame => Flow::Continue,
            Pass::Keyframe => self.flush_gop(out)?,
            Pass::NoVideo => {
                self.headers.no_video();
                Flow::Continue
            }
        };
        self.conn.saw_media = true;
        let ts = self.timestamps.map(&tag);
        self.gop.push(tag, ts);
        let aligned = self.headers.has_video() && self.gop.starts_with_keyframe;
        if self.gop.must_flush(aligned) {
            let f = self.flush_gop(out)?;
            if flow == Flow::Continue {
                flow = f;
            }
        }
        Ok(flow)
    }

    /// Writes the buffered GOP unless it is one the CDN sent before.
    fn flush_gop(&mut self, out: &mut SegmentFiles) -> Result<Flow, WriteError> {
        if self.gop.tags.is_empty() {
            return Ok(Flow::Continue);
        }
        let fp = self.gop.fingerprint();
        match self.replay.judge(fp) {
            Verdict::Fresh => {}
            Verdict::Replayed => {
                self.gop.clear();
                return Ok(Flow::Continue);
            }
            Verdict::Stuck(reason) => {
                self.gop.clear();
                return Ok(Flow::Reconnect(reason));
            }
        }
        match self.replay.settle_held(&self.gop) {
            Some(Held::Replayed) => self.close_file(out)?,
            Some(Held::Cut(held)) => self.write_and_close(held, out)?,
            None => {}
        }
        self.replay.remember(fp);
        let mut gop = std::mem::take(&mut self.gop);
        let written = self.write_gop(&gop, out);
        gop.clear();
        self.gop = gop;
        written.map(|_| Flow::Continue)
    }

    /// Writes a GOP (splitting first if due) and closes the file.
    fn write_and_close(&mut self, gop: Gop, out: &mut SegmentFiles) -> Result<(), WriteError> {
        if !gop.tags.is_empty() {
            self.replay.remember(gop.fingerprint());
            self.write_gop(&gop, out)?;
        }
        self.close_file(out)
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
            let aligned = gop.starts_with_keyframe || !self.headers.has_video();
            if let Some(r) = self.split.due(gop, aligned, f.base(), out.len()) {
                tracing::info!("new file: {r}");
                self.close_file(out)?;
            }
        }
        let f = match &mut self.file {
            Some(f) => f,
            None => {
                self.split.opened();
                let capacity = file::index_capacity(self.split.limits().duration_ms);
                let start = self.headers.file_start();
                self.file
                    .insert(FlvFile::open(out, &start, capacity, gop.first_ts())?)
            }
        };
        for (tag, ts) in &gop.tags {
            f.write_tag(out, tag, *ts)?;
        }
        // Once per GOP, not per tag: chat places its records on this mark (a second or two of
        // resolution is what a chat line needs).
        out.note_media(f.media_end_ms());
        Ok(())
    }

    fn close_file(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        match self.file.take() {
            Some(f) => f.close(out),
            None => Ok(()),
        }
    }
}

impl Pipeline for FlvPipeline {
    type Input<'a> = &'a [u8];

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
        let result = match self.replay.end_connection(gop, self.headers.has_video()) {
            Settle::Hold => Ok(()),
            Settle::Write(first, second) => {
                let r = self.write_and_close(first, out);
                match second {
                    Some(g) => r.and_then(|_| self.write_and_close(g, out)),
                    None => r,
                }
            }
            Settle::Flush(gop) => {
                self.gop = gop;
                let flushed = self.flush_gop(out).map(|_| ());
                flushed.and(self.close_file(out))
            }
        };
        self.timestamps.end_connection();
        self.gate.end_connection();
        self.headers.end_connection();
        self.conn = Connection::default();
        self.gop.clear();
        result
    }

    fn close(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        let result = self.finish_connection(out);
        let held = self
            .replay
            .take_held()
            .map_or(Ok(()), |g| self.write_and_close(g, out));
        result.and(held).and(self.close_file(out))
    }

    fn request_split(&mut self) {
        self.split.request();
    }

    fn reconfigure(&mut self, spec: &SegmentSpec) {
        self.split.set_limits(Limits::from_spec(spec));
    }
}
