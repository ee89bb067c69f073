//! A room's chat task: it keeps the connection ([`super::link`]) open while the room wants it,
//! writes each record into the open segment's chat file at its place on the media timeline,
//! finishes the file when the room says the segment closed, and tells the room what the
//! connection pushed about the live.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::bili_commands::RoomSignal;
use super::event::ChatEvent;
use super::file::{self, ChatFile};
use super::link::{self, Incoming, LinkSpec};
use super::timeline::Timeline;
use super::xml::{RecordInfo, XmlOptions, XmlWriter};
use super::{ChatCmd, ChatSettings, ChatSignal, ChatState, SegmentOpened};
use crate::event::DanmakuRef;
use crate::platform::{Platform, PlatformKind, RoomSpec};
use crate::segment::files::Progress;

/// Records waiting for the task, per room.
const INCOMING: usize = 256;

struct Open {
    file: Option<ChatFile>,
    timeline: Timeline,
    index: u32,
    progress: Arc<Progress>,
    last_mark: Option<Instant>,
}

struct Link {
    task: JoinHandle<()>,
    rx: mpsc::Receiver<Incoming>,
    hint: Option<String>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) struct ChatTask {
    platform: Arc<dyn Platform>,
    spec: RoomSpec,
    settings: ChatSettings,
    state: Arc<AtomicU8>,
    signals: mpsc::Sender<ChatSignal>,
    in_session: bool,
    hint: Option<String>,
    link: Option<Link>,
    open: Option<Open>,
    areas: (String, String),
}

impl ChatTask {
    pub(super) fn new(
        platform: Arc<dyn Platform>,
        spec: RoomSpec,
        settings: ChatSettings,
        state: Arc<AtomicU8>,
        signals: mpsc::Sender<ChatSignal>,
    ) -> Self {
        Self {
            platform,
            spec,
            settings,
            state,
            signals,
            in_session: false,
            hint: None,
            link: None,
            open: None,
            areas: Default::default(),
        }
    }

    pub(super) async fn run(mut self, mut cmds: mpsc::Receiver<ChatCmd>) {
        self.reconcile();
        loop {
            let due = self
                .open
                .as_ref()
                .and_then(|o| o.file.as_ref())
                .map(|f| f.due());
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None | Some(ChatCmd::Stop) => break,
                    Some(cmd) => self.on_command(cmd).await,
                },
                item = async {
                    match self.link.as_mut() {
                        Some(l) => l.rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => match item {
                    Some(item) => self.on_incoming(item).await,
                    None => self.link = None,
                },
                _ = tokio::time::sleep(super::file::FLUSH_AGE), if due.is_some() => {
                    if let Some(f) = self.open.as_mut().and_then(|o| o.file.as_mut()) {
                        if f.due() {
                            f.flush().await;
                        }
                    }
                }
            }
            self.reconcile();
        }
        self.link = None;
        // Stopping without the segment's close (a shutdown that ran out of time): the file
        // is finished under its own name.
        if let Some(open) = self.open.take() {
            self.finish(open, None).await;
        }
        self.set_state(ChatState::Off);
    }

    /// Whether the connection should be open now, and for which broadcast.
    fn wanted(&self) -> Option<Option<String>> {
        let s = &self.settings;
        // A chat file already open is recorded to its segment's end even when `danmaku` was
        // just turned off: the key applies from the next segment.
        let record = s.record || self.open.as_ref().is_some_and(|o| o.file.is_some());
        match self.spec.key.platform {
            PlatformKind::Bilibili => (s.live_push || (record && self.in_session)).then_some(None),
            PlatformKind::Douyin => {
                (record && self.in_session && self.hint.is_some()).then(|| self.hint.clone())
            }
            PlatformKind::Direct => None,
        }
    }

    /// Opens or closes the connection to match what is wanted.
    fn reconcile(&mut self) {
        let want = self.wanted();
        match (&self.link, want) {
            (Some(l), Some(hint)) if l.hint == hint => {}
            (None, None) => {}
            (_, None) => {
                self.link = None;
                self.set_state(ChatState::Off);
            }
            (_, Some(hint)) => {
                let (tx, rx) = mpsc::channel(INCOMING);
                let spec = LinkSpec {
                    room: self.spec.clone(),
                    hint: hint.clone(),
                    raw: self.settings.raw,
                };
                let task =
                    tokio::spawn(link::run(self.platform.clone(), spec, tx).in_current_span());
                self.link = Some(Link { task, rx, hint });
            }
        }
    }

    fn set_state(&self, s: ChatState) {
        let old = self.state.swap(s.to_u8(), Ordering::Relaxed);
        if old != s.to_u8() {
            let _ = self.signals.try_send(ChatSignal::State);
        }
    }

    fn signal(&self, s: ChatSignal) {
        if self.signals.try_send(s).is_err() {
            tracing::debug!("chat: the room is busy; a chat signal was dropped");
        }
    }

    async fn on_command(&mut self, cmd: ChatCmd) {
        match cmd {
            ChatCmd::Opened(seg) => {
                if let Some(old) = self.open.take() {
                    self.finish(old, None).await;
                }
                self.open = Some(self.start_file(*seg).await);
            }
            ChatCmd::Closed { video, reply } => {
                let done = match self.open.take() {
                    Some(open) => self.finish(open, Some(file::stem_of(&video))).await,
                    None => None,
                };
                let _ = reply.send(done);
            }
            ChatCmd::StreamLost => {
                if let Some(o) = self.open.as_mut() {
                    o.timeline.stream_lost(None, Instant::now());
                }
            }
            ChatCmd::Session(on) => self.in_session = on,
            ChatCmd::Broadcast(hint) => self.hint = hint,
            ChatCmd::Settings(settings, spec) => {
                if settings.raw != self.settings.raw || spec.cookie != self.spec.cookie {
                    // The connection is made anew with them.
                    self.link = None;
                }
                self.settings = settings;
                self.spec = *spec;
            }
            ChatCmd::Stop => {}
        }
    }

    async fn start_file(&self, seg: SegmentOpened) -> Open {
        let mut timeline = Timeline::new();
        timeline.open_segment(Duration::ZERO, Instant::now());
        let mut open = Open {
            file: None,
            timeline,
            index: seg.index,
            progress: seg.progress.clone(),
            last_mark: None,
        };
        if !self.settings.record {
            return open;
        }
        let Some(part) = file::part_for_video(&seg.video_part) else {
            return open;
        };
        let room = &seg.room;
        let streamer = if room.streamer.is_empty() {
            &room.name
        } else {
            &room.streamer
        };
        let session = seg.session.to_string();
        let header = XmlWriter::header(&RecordInfo {
            room_id: room.id.parse().unwrap_or(0),
            short_id: 0,
            name: streamer,
            title: &room.title,
            area_parent: &self.areas.0,
            area_child: &self.areas.1,
            start_time: seg.start,
            recorder_version: crate::build_info::VERSION,
            platform: &room.platform,
            room: &room.key,
            session: &session,
            index: seg.index,
        });
        match ChatFile::create(part.clone(), header).await {
            Ok(f) => open.file = Some(f),
            Err(e) => tracing::warn!(
                "chat: cannot create {}: {e}; this segment gets no chat file",
                part.display()
            ),
        }
        open
    }

    /// Finishes a chat file, named after `stem` (the video's final name) or its own.
    async fn finish(&self, open: Open, stem: Option<std::path::PathBuf>) -> Option<DanmakuRef> {
        let f = open.file?;
        let stem = stem.unwrap_or_else(|| {
            let p = f.part().to_string_lossy();
            std::path::PathBuf::from(p.trim_end_matches(file::XML_PART).to_string())
        });
        let part = f.part().to_path_buf();
        match f.finish(stem).await {
            Ok((path, messages)) => Some(DanmakuRef { path, messages }),
            Err(e) => {
                tracing::warn!("chat: cannot finish {}: {e}", part.display());
                None
            }
        }
    }

    async fn on_incoming(&mut self, item: Incoming) {
        match item {
            Incoming::State(s) => self.set_state(s),
            Incoming::Reconnected => {
                if self.settings.live_push {
                    self.signal(ChatSignal::CheckNow(
                        "chat reconnected (live pushes during the gap are lost)".into(),
                    ));
                }
            }
            Incoming::Chat(ev, at) => self.record(ev, at).await,
            Incoming::Room(sig) => self.on_room(sig),
            Incoming::LiveEnded => self.signal(ChatSignal::CheckNow(
                "chat says the live ended (Douyin control message)".into(),
            )),
        }
    }

    fn on_room(&mut self, sig: RoomSignal) {
        let s = match sig {
            RoomSignal::Live { .. } if self.settings.live_push => ChatSignal::Live,
            RoomSignal::Live { .. } => return,
            RoomSignal::Preparing { round, .. } => ChatSignal::CheckNow(if round {
                "chat pushed PREPARING (the room switched to its replay loop)".into()
            } else {
                "chat pushed PREPARING (the stream stopped)".into()
            }),
            RoomSignal::CutOff { reason, .. } => {
                ChatSignal::CheckNow(format!("chat pushed CUT_OFF (cut by an admin: {reason})"))
            }
            RoomSignal::RoomLock { .. } => {
                ChatSignal::CheckNow("chat pushed ROOM_LOCK (the room was banned)".into())
            }
            RoomSignal::RoomChange {
                title,
                area,
                parent_area,
            } => {
                self.areas = (parent_area.unwrap_or_default(), area.unwrap_or_default());
                ChatSignal::Title(title)
            }
            RoomSignal::Warning { message } => {
                ChatSignal::Notice(format!("chat pushed WARNING: {message}"))
            }
        };
        self.signal(s);
    }

    async fn record(&mut self, ev: ChatEvent, at: Instant) {
        let kind = match &ev {
            ChatEvent::Danmaku(_) => "danmaku",
            ChatEvent::SuperChat(_) => "super_chat",
            ChatEvent::Gift(_) => "gift",
            ChatEvent::Guard(_) => "guard",
        };
        crate::metrics::count(
            "liverec_chat_messages_total",
            "Chat records received, by kind.",
            &[("room", &self.spec.key.to_string()), ("kind", kind)],
            1,
        );
        let options = XmlOptions {
            gifts: self.settings.gifts,
            raw: self.settings.raw,
            ..XmlOptions::default()
        };
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let mark = *open
            .progress
            .media
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(t) = mark.at.filter(|_| mark.index == open.index) {
            if open.last_mark != Some(t) {
                open.last_mark = Some(t);
                open.timeline.mark(Duration::from_millis(mark.media_ms), t);
            }
        }
        let Some(offset) = open.timeline.offset_at(at) else {
            return;
        };
        let Some(file) = open.file.as_mut() else {
            return;
        };
        if let Some(line) = XmlWriter::new(options).element(&ev, offset) {
            if file.push(&line) {
                file.flush().await;
            }
        }
    }
}
