//! The segments of one session: naming, opening, writing, closing, and telling the room about
//! each step. Pipelines (FLV, TS, fMP4) decide *when* to split; this decides *how*.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, FixedOffset};
use tokio::sync::mpsc::UnboundedSender;

use super::intent::{self, Intent, Intents, Stage};
use super::naming::{self, NameFields};
use super::part::PartFile;
use crate::event::{Event, EventType, RoomRef, SegmentRef, SessionRef};
use crate::template::Template;
use crate::util::units::format_size;

/// An idle writer hands its buffer to the OS once it holds this much...
const IDLE_FLUSH_BYTES: usize = 64 * 1024;
/// ...or once the last hand-over is this old.
const IDLE_FLUSH_AGE: std::time::Duration = std::time::Duration::from_millis(200);

/// How often free space is checked while a segment grows: after this many bytes or this much
/// time, whichever comes first (a statvfs call is cheap; a full disk mid-file is not).
const SPACE_CHECK_EVERY: u64 = 64 << 20;
const SPACE_CHECK_AGE: std::time::Duration = std::time::Duration::from_secs(5);

/// A finished segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDone {
    pub(crate) index: u32,
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
    pub duration_s: f64,
    pub(crate) start: DateTime<FixedOffset>,
    pub(crate) end: DateTime<FixedOffset>,
    /// The id its `segment_complete` must carry: the one its intent names (see `intent`).
    pub(crate) event_id: Option<uuid::Uuid>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("free space under {} is {} (min_free_space is {}): not writing until space returns", dir.display(), format_size(*free), format_size(*need))]
    DiskLow { dir: PathBuf, free: u64, need: u64 },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the stream is not usable: {0}")]
    Stream(String),
}

/// What the writer tells its room.
#[derive(Debug)]
pub enum WriterEvent {
    /// The first bytes of a connection reached a file.
    Flowing,
    Opened {
        index: u32,
        part: PathBuf,
    },
    Closed(SegmentDone),
    /// The pipeline asks for a fresh connection (a CDN replaying old data, for instance).
    Reconnect(String),
    Failed(WriteError),
}

/// Byte counters the room reads for status without asking the writer.
#[derive(Debug, Default)]
pub struct Progress {
    pub(crate) session_bytes: AtomicU64,
    pub(crate) segment_bytes: AtomicU64,
    /// HLS media segments that were never recorded (slid out of the playlist, or failed every
    /// retry), for status and metrics.
    pub(crate) gaps: AtomicU64,
}

/// Where and how a session's files are named, and when they are split.
#[derive(Debug, Clone)]
pub struct SegmentSpec {
    pub output_dir: PathBuf,
    pub template: Template,
    /// Shared with the daemon, so a reload reaches open sessions at once.
    pub min_free_space: Arc<AtomicU64>,
    pub fields: NameFields,
    /// Split when the next unit would take a file past this media duration (zero: no split).
    pub segment_duration: std::time::Duration,
    /// Split when the next unit would take a file past this many bytes (zero: no split).
    pub segment_size: u64,
    /// Where each segment's intent is recorded, and the room and session its event names. None
    /// for files that raise no event (repairs, tools, benchmarks).
    pub intents: Option<IntentSpec>,
}

/// What a recording session's segments need to record their intents.
#[derive(Debug, Clone)]
pub struct IntentSpec {
    pub(crate) store: Arc<Intents>,
    pub(crate) room: RoomRef,
    pub(crate) session: SessionRef,
}

impl SegmentSpec {
    /// Files named by `template` alone in `dir`: no field values, no free-space check, no
    /// split limits. For repairs, tools and benchmarks that name files directly.
    pub fn plain(dir: PathBuf, template: Template) -> Self {
        Self {
            output_dir: dir,
            template,
            min_free_space: Arc::new(AtomicU64::new(0)),
            fields: NameFields {
                platform: String::new(),
                id: String::new(),
                key: String::new(),
                name: String::new(),
                streamer: String::new(),
                title: String::new(),
                session: String::new(),
                session_start: crate::event::now(),
            },
            segment_duration: std::time::Duration::ZERO,
            segment_size: 0,
            intents: None,
        }
    }
}

struct OpenSegment {
    file: PartFile,
    /// Recorded on disk; `None` when there is no store or it could not be written.
    intent: Option<Intent>,
    index: u32,
    start: DateTime<FixedOffset>,
    started: Instant,
}

pub struct SegmentFiles {
    spec: SegmentSpec,
    ext: &'static str,
    next_index: u32,
    open: Option<OpenSegment>,
    events: UnboundedSender<WriterEvent>,
    progress: Arc<Progress>,
    flow_announced: bool,
    unchecked_bytes: u64,
    last_space_check: Instant,
    /// The floor at the last check: a reload that changes it is checked at the next write.
    checked_floor: u64,
    last_flush: Instant,
}

impl SegmentFiles {
    pub fn new(
        spec: SegmentSpec,
        events: UnboundedSender<WriterEvent>,
        progress: Arc<Progress>,
    ) -> Self {
        Self {
            spec,
            ext: "flv",
            next_index: 1,
            open: None,
            events,
            progress,
            flow_announced: false,
            unchecked_bytes: 0,
            last_space_check: Instant::now(),
            checked_floor: 0,
            last_flush: Instant::now(),
        }
    }

    pub(crate) fn spec(&self) -> &SegmentSpec {
        &self.spec
    }

    pub(crate) fn set_extension(&mut self, ext: &'static str) {
        self.ext = ext;
    }

    /// Counts media segments that will never be in the recording.
    pub(crate) fn count_gap(&self, segments: u64) {
        self.progress.gaps.fetch_add(segments, Ordering::Relaxed);
    }

    /// New naming and split settings, used from the next segment on.
    pub(crate) fn set_settings(
        &mut self,
        name: String,
        template: Template,
        segment_duration: std::time::Duration,
        segment_size: u64,
    ) {
        self.spec.fields.name = name;
        self.spec.template = template;
        self.spec.segment_duration = segment_duration;
        self.spec.segment_size = segment_size;
    }

    pub(crate) fn set_meta(&mut self, title: String, streamer: String) {
        if let Some(i) = self.spec.intents.as_mut() {
            i.room.title = title.clone();
            i.room.streamer = streamer.clone();
        }
        self.spec.fields.title = title;
        self.spec.fields.streamer = streamer;
    }

    /// A new connection begins; its first bytes will be announced as flowing.
    pub fn new_connection(&mut self) {
        self.flow_announced = false;
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Length of the open segment.
    pub(crate) fn len(&self) -> u64 {
        self.open.as_ref().map_or(0, |o| o.file.len())
    }

    fn check_space(&mut self) -> Result<(), WriteError> {
        let need = self.spec.min_free_space.load(Ordering::Relaxed);
        self.checked_floor = need;
        self.unchecked_bytes = 0;
        self.last_space_check = Instant::now();
        if need == 0 {
            return Ok(());
        }
        let dir = &self.spec.output_dir;
        match fs2::available_space(dir) {
            Ok(free) if free < need => Err(WriteError::DiskLow {
                dir: dir.clone(),
                free,
                need,
            }),
            _ => Ok(()),
        }
    }

    /// Opens the next segment file.
    pub fn open(&mut self) -> Result<(), WriteError> {
        if self.open.is_some() {
            return Ok(());
        }
        self.check_space()?;
        let start = crate::event::now();
        let rel = naming::render(
            &self.spec.template,
            &self.spec.fields,
            self.next_index,
            start,
        );
        let stem = self.spec.output_dir.join(rel);
        let file = PartFile::create(&stem, self.ext).map_err(|source| WriteError::Io {
            path: stem.clone(),
            source,
        })?;
        let index = self.next_index;
        self.next_index += 1;
        let intent = self.begin_intent(&file, index, start);
        self.progress.segment_bytes.store(0, Ordering::Relaxed);
        self.unchecked_bytes = 0;
        tracing::info!(file = %file.part_path().display(), index, "segment opened");
        let _ = self.events.send(WriterEvent::Opened {
            index,
            part: file.part_path().to_path_buf(),
        });
        self.open = Some(OpenSegment {
            file,
            intent,
            index,
            start,
            started: Instant::now(),
        });
        Ok(())
    }

    /// Records the intent of a segment just opened. A failure is logged, not fatal: the
    /// recording matters more; only this segment's event is then not crash-safe.
    fn begin_intent(
        &self,
        file: &PartFile,
        index: u32,
        start: DateTime<FixedOffset>,
    ) -> Option<Intent> {
        let spec = self.spec.intents.as_ref()?;
        let part = file.part_path().to_path_buf();
        let made = file.metadata().and_then(|meta| {
            let (dev, ino) = intent::identity(&meta);
            let event = Event::new(EventType::SegmentComplete, Some(spec.room.clone()))
                .with_session(Some(spec.session.clone()))
                .with_segment(SegmentRef::opened(part.clone(), index, start));
            let intent = Intent {
                stage: Stage::Open,
                part: part.clone(),
                dev,
                ino,
                event,
            };
            spec.store.begin(&intent).map(|()| intent)
        });
        match made {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(
                    file = %part.display(),
                    "cannot record the segment in {} ({e}): a crash could lose its segment_complete",
                    spec.store.dir().display()
                );
                None
            }
        }
    }

    /// Writes bytes to the open segment, opening one first if needed.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        self.write_unit(&[data])
    }

    /// Writes the parts as one unit (see [`PartFile::write_unit`]).
    pub(crate) fn write_unit(&mut self, parts: &[&[u8]]) -> Result<(), WriteError> {
        if self.open.is_none() {
            self.open()?;
        }
        if self.unchecked_bytes >= SPACE_CHECK_EVERY
            || self.last_space_check.elapsed() >= SPACE_CHECK_AGE
            || self.spec.min_free_space.load(Ordering::Relaxed) != self.checked_floor
        {
            // The segment stays open: its pipeline closes it, so that the file gets its final
            // metadata and the pipeline never writes on into a file it did not open.
            self.check_space()?;
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        if let Err(source) = open.file.write_unit(parts) {
            // The file was cut back to its last whole unit; the pipeline closes it (see above).
            let path = open.file.part_path().to_path_buf();
            return Err(WriteError::Io { path, source });
        }
        let n = parts.iter().map(|p| p.len() as u64).sum::<u64>();
        self.unchecked_bytes += n;
        self.progress.session_bytes.fetch_add(n, Ordering::Relaxed);
        self.progress.segment_bytes.fetch_add(n, Ordering::Relaxed);
        if !self.flow_announced {
            self.flow_announced = true;
            let _ = self.events.send(WriterEvent::Flowing);
        }
        Ok(())
    }

    /// Overwrites already written bytes of the open segment (metadata at close).
    pub(crate) fn patch(&mut self, offset: u64, data: &[u8]) -> Result<(), WriteError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        open.file
            .patch(offset, data)
            .map_err(|source| WriteError::Io {
                path: open.file.part_path().to_path_buf(),
                source,
            })
    }

    /// Hands buffered bytes to the OS when enough has gathered or it has waited long enough:
    /// called whenever the writer is idle, it bounds what a kill -9 can lose without a write
    /// call per network read.
    pub(crate) fn flush_idle(&mut self) -> Result<(), WriteError> {
        let Some(open) = self.open.as_ref() else {
            return Ok(());
        };
        let due =
            open.file.buffered() >= IDLE_FLUSH_BYTES || self.last_flush.elapsed() >= IDLE_FLUSH_AGE;
        if due && open.file.buffered() > 0 {
            self.last_flush = Instant::now();
            return self.flush();
        }
        Ok(())
    }

    /// Hands buffered bytes to the OS (a killed process then loses nothing it had received).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        open.file.flush().map_err(|source| WriteError::Io {
            path: open.file.part_path().to_path_buf(),
            source,
        })
    }

    /// Closes the open segment: fsync, rename, report. `duration_s` is the media duration when
    /// the pipeline knows it; otherwise wall-clock time is used.
    pub(crate) fn close(
        &mut self,
        duration_s: Option<f64>,
    ) -> Result<Option<SegmentDone>, WriteError> {
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        let store = self.spec.intents.as_ref().map(|i| &i.store);
        let Some(file) = open.file.discard_if_empty() else {
            if let (Some(store), Some(i)) = (store, &open.intent) {
                store.settle(i.id());
            }
            return Ok(None);
        };
        let bytes = file.len();
        let part = file.part_path().to_path_buf();
        let duration_s = duration_s.unwrap_or_else(|| open.started.elapsed().as_secs_f64());
        let end = crate::event::now();
        let event_id = match (self.spec.intents.as_ref(), open.intent) {
            (Some(spec), Some(mut intent)) => {
                // Synced before the rename: this is what makes the event survive a crash
                // between the rename and the hook journal (see `intent`).
                intent.stage = Stage::Closing;
                if let Some(room) = intent.event.room.as_mut() {
                    room.title = spec.room.title.clone();
                    room.streamer = spec.room.streamer.clone();
                }
                if let Some(s) = intent.event.segment.as_mut() {
                    s.bytes = bytes;
                    s.duration_s = if duration_s.is_finite() {
                        duration_s
                    } else {
                        0.0
                    };
                    s.end = end;
                }
                if let Err(e) = spec.store.update(&intent) {
                    tracing::warn!(
                        file = %part.display(),
                        "cannot record the segment's end ({e}): a crash could lose its segment_complete"
                    );
                }
                Some(intent.id())
            }
            _ => None,
        };
        let path = file
            .finish()
            .map_err(|source| WriteError::Io { path: part, source })?;
        let done = SegmentDone {
            index: open.index,
            path,
            bytes,
            duration_s,
            start: open.start,
            end,
            event_id,
        };
        tracing::info!(file = %done.path.display(), bytes, duration_s = format!("{duration_s:.1}"), "segment complete");
        let _ = self.events.send(WriterEvent::Closed(done.clone()));
        Ok(Some(done))
    }

    pub(crate) fn send(&self, event: WriterEvent) {
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests;
