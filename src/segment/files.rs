//! The segments of one session: naming, opening, writing, closing, and telling the room about
//! each step. Pipelines (FLV, TS, fMP4) decide *when* to split; this decides *how*.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::intent::{self, Intent, Intents, Stage};
use super::naming;
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
    /// A segment opened: its `segment_start`, for the room to forward as it is.
    Opened(Event),
    /// A segment is complete and renamed: its `segment_complete`, the very event its intent
    /// records, for the room to forward as it is.
    Closed(Event),
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
    /// Where the open segment's media timeline stands, for chat to place its records on it.
    pub(crate) media: std::sync::Mutex<MediaMark>,
}

/// The end of the media last written to a segment, and when: pipelines report it after each
/// unit they write (an FLV GOP, an HLS segment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaMark {
    /// The segment's index in its session.
    pub(crate) index: u32,
    /// Milliseconds from the segment's start.
    pub(crate) media_ms: u64,
    pub(crate) at: Option<Instant>,
}

/// Where and how a session's files are named, and when they are split.
#[derive(Debug, Clone)]
pub struct SegmentSpec {
    pub output_dir: PathBuf,
    pub template: Template,
    /// The first segment's path without extension, when the room decided it at the session's
    /// start (so that the session's cover could be named after it before it opens); None: it
    /// is rendered from `template` when it opens, like every later one. Either way a name
    /// already taken then gets `_1` (see [`PartFile::create`]).
    pub first_stem: Option<PathBuf>,
    /// Shared with the daemon, so a reload reaches open sessions at once.
    pub min_free_space: Arc<AtomicU64>,
    /// The room and session the files are named after and their events are about: the one
    /// copy, kept current by the room ([`SegmentFiles::set_room`]).
    pub room: RoomRef,
    pub session: SessionRef,
    /// Split when the next unit would take a file past this media duration (zero: no split).
    pub segment_duration: std::time::Duration,
    /// Split when the next unit would take a file past this many bytes (zero: no split).
    pub segment_size: u64,
    /// Where each segment's intent is recorded. None for files whose events go nowhere
    /// (repairs, tools, benchmarks).
    pub intents: Option<Arc<Intents>>,
    /// The index of the session's first segment here: 1, or where a cluster takeover
    /// continues another instance's session.
    pub first_index: u32,
    /// Files hold only the audio track (`audio_only`).
    pub audio_only: bool,
}

impl SegmentSpec {
    /// Files named by `template` alone in `dir`: no room, no free-space check, no split
    /// limits. For repairs, tools and benchmarks that name files directly.
    pub fn plain(dir: PathBuf, template: Template) -> Self {
        Self {
            output_dir: dir,
            template,
            first_stem: None,
            min_free_space: Arc::new(AtomicU64::new(0)),
            room: RoomRef::none(),
            session: SessionRef {
                id: uuid::Uuid::nil(),
                start: crate::event::now(),
                owner: None,
            },
            segment_duration: std::time::Duration::ZERO,
            segment_size: 0,
            intents: None,
            first_index: 1,
            audio_only: false,
        }
    }
}

/// Room changes recorded in one open segment's intent; later ones reach it at close only, so
/// that a room whose title flips all day cannot grow its intent without bound.
const MAX_ROOM_UPDATES: u32 = 64;

struct OpenSegment {
    file: PartFile,
    /// The `segment_complete` this segment will raise (room, session, index, start; size and
    /// end at close), in its intent. The intent on disk and the event the room gets are this one
    /// value, so a crash-recovered event cannot disagree with a live one.
    intent: Intent,
    /// Whether `intent` is on disk: false without a store, or when recording it failed.
    recorded: bool,
    room_updates: u32,
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
    /// Set when the recording stops while the stream goes on ([`Self::make_last`]).
    last: Last,
}

/// Whether more files may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    No,
    /// The open file is the session's last: once it closes, nothing opens.
    Open,
    /// The last file is closed; what the pipelines still write goes nowhere.
    Closed,
}

impl SegmentFiles {
    pub fn new(
        spec: SegmentSpec,
        events: UnboundedSender<WriterEvent>,
        progress: Arc<Progress>,
    ) -> Self {
        let next_index = spec.first_index.max(1);
        Self {
            spec,
            ext: "flv",
            next_index,
            open: None,
            events,
            progress,
            flow_announced: false,
            unchecked_bytes: 0,
            last_space_check: Instant::now(),
            checked_floor: 0,
            last_flush: Instant::now(),
            last: Last::No,
        }
    }

    /// The open file is the last of the session: it closes at the pipeline's next split, and
    /// whatever comes after is not written. Without an open file, nothing opens any more.
    pub(crate) fn make_last(&mut self) {
        self.last = if self.open.is_some() {
            Last::Open
        } else {
            Last::Closed
        };
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
        template: Template,
        segment_duration: std::time::Duration,
        segment_size: u64,
    ) {
        self.spec.template = template;
        self.spec.segment_duration = segment_duration;
        self.spec.segment_size = segment_size;
    }

    /// The session as it is now (a cluster claim renewed under a new fence): for the events of
    /// later segments; the open one keeps the owner it was opened with.
    pub(crate) fn set_session(&mut self, session: SessionRef) {
        self.spec.session = session;
    }

    /// The room as it is now (a new title, a name changed by a reload): named in the events of
    /// the open segment and in the names and events of later ones. The open segment's intent is
    /// rewritten, so that a crash now recovers the event the room would have raised.
    pub(crate) fn set_room(&mut self, room: RoomRef) {
        if self.spec.room == room {
            return;
        }
        self.spec.room = room;
        let Some(open) = self.open.as_mut() else {
            return;
        };
        open.intent.event.room = Some(self.spec.room.clone());
        let Some(store) = self.spec.intents.as_ref() else {
            return;
        };
        if open.recorded && open.room_updates < MAX_ROOM_UPDATES {
            open.room_updates += 1;
            if let Err(e) = store.update(&open.intent) {
                tracing::warn!(
                    file = %open.intent.part.display(),
                    "cannot record the room's new name or title ({e}): a crash now would recover this segment with the old one"
                );
            }
        }
    }

    /// The open segment's media now reaches `media_ms` (see [`MediaMark`]).
    pub(crate) fn note_media(&self, media_ms: u64) {
        if self.open.is_none() {
            return;
        }
        let mark = MediaMark {
            index: self.next_index.saturating_sub(1),
            media_ms,
            at: Some(Instant::now()),
        };
        *self
            .progress
            .media
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = mark;
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
        if self.open.is_some() || self.last == Last::Closed {
            return Ok(());
        }
        self.check_space()?;
        let start = crate::event::now();
        let stem = match self.spec.first_stem.as_ref() {
            Some(stem) if self.next_index == 1 => stem.clone(),
            _ => self.spec.output_dir.join(naming::render(
                &self.spec.template,
                &self.spec.room,
                &self.spec.session,
                self.next_index,
                start,
            )),
        };
        let file = PartFile::create(&stem, self.ext).map_err(|source| WriteError::Io {
            path: stem.clone(),
            source,
        })?;
        let index = self.next_index;
        self.next_index += 1;
        let part = file.part_path().to_path_buf();
        let segment = SegmentRef::opened(part.clone(), index, start);
        let (intent, recorded) = self.begin_intent(&file, segment.clone());
        self.progress.segment_bytes.store(0, Ordering::Relaxed);
        self.unchecked_bytes = 0;
        tracing::info!(file = %part.display(), index, "segment opened");
        let _ = self.events.send(WriterEvent::Opened(
            self.event(EventType::SegmentStart, segment),
        ));
        self.open = Some(OpenSegment {
            file,
            intent,
            recorded,
            room_updates: 0,
            started: Instant::now(),
        });
        Ok(())
    }

    /// An event about a segment of this session.
    fn event(&self, kind: EventType, segment: SegmentRef) -> Event {
        Event::new(kind, Some(self.spec.room.clone()))
            .with_session(Some(self.spec.session.clone()))
            .with_segment(segment)
    }

    /// The intent of a segment just opened, and whether it is on disk. A failure is logged,
    /// not fatal: the recording matters more; only this segment's event is then not
    /// crash-safe.
    fn begin_intent(&self, file: &PartFile, segment: SegmentRef) -> (Intent, bool) {
        let meta = file.metadata();
        let (dev, ino) = meta.as_ref().map(intent::identity).unwrap_or_default();
        let intent = Intent {
            stage: Stage::Open,
            part: file.part_path().to_path_buf(),
            dev,
            ino,
            event: self.event(EventType::SegmentComplete, segment),
        };
        let Some(store) = self.spec.intents.as_ref() else {
            return (intent, false);
        };
        match meta.and_then(|_| store.begin(&intent)) {
            Ok(()) => (intent, true),
            Err(e) => {
                tracing::warn!(
                    file = %intent.part.display(),
                    "cannot record the segment in {} ({e}): a crash could lose its segment_complete",
                    store.dir().display()
                );
                (intent, false)
            }
        }
    }

    /// Writes bytes to the open segment, opening one first if needed.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), WriteError> {
        self.write_unit(&[data])
    }

    /// Writes the parts as one unit (see [`PartFile::write_unit`]).
    pub(crate) fn write_unit(&mut self, parts: &[&[u8]]) -> Result<(), WriteError> {
        if self.last == Last::Closed {
            return Ok(());
        }
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
    ) -> Result<Option<SegmentRef>, WriteError> {
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        if self.last == Last::Open {
            self.last = Last::Closed;
        }
        let store = self.spec.intents.as_ref().filter(|_| open.recorded);
        let mut intent = open.intent;
        let Some(file) = open.file.discard_if_empty() else {
            if let Some(store) = store {
                store.settle(intent.id());
            }
            return Ok(None);
        };
        let bytes = file.len();
        let part = file.part_path().to_path_buf();
        let duration_s = duration_s.unwrap_or_else(|| open.started.elapsed().as_secs_f64());
        let end = crate::event::now();
        intent.stage = Stage::Closing;
        intent.event.time = end;
        if let Some(s) = intent.event.segment.as_mut() {
            s.bytes = bytes;
            s.duration_s = if duration_s.is_finite() {
                duration_s
            } else {
                0.0
            };
            s.end = end;
        }
        if let Some(store) = store {
            // Synced before the rename: this is what makes the event survive a crash between
            // the rename and the hook journal (see `intent`).
            if let Err(e) = store.update(&intent) {
                tracing::warn!(
                    file = %part.display(),
                    "cannot record the segment's end ({e}): a crash could lose its segment_complete"
                );
            }
        }
        let path = file
            .finish()
            .map_err(|source| WriteError::Io { path: part, source })?;
        let mut event = intent.event;
        let Some(segment) = event.segment.as_mut() else {
            return Ok(None);
        };
        segment.path = path;
        let done = segment.clone();
        tracing::info!(file = %done.path.display(), bytes, duration_s = format!("{:.1}", done.duration_s), "segment complete");
        let _ = self.events.send(WriterEvent::Closed(event));
        Ok(Some(done))
    }

    pub(crate) fn send(&self, event: WriterEvent) {
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests;
