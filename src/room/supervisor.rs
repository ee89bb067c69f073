//! The async shell of a room: runs polls and recording attempts as child tasks, feeds what they
//! report into the pure [`Machine`], and carries out the steps it returns. It owns the session:
//! the room lock, the `max_recordings` slot, and the writer. Polls are [`poll`]'s part, opening
//! and closing a session [`session`]'s, the published snapshot [`status`]'s.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::lock::RoomLock;
use super::state::{Do, Machine, Timing};
use super::{RoomCmd, RoomDeps, RoomSnapshot};

mod chat;
mod cover;
mod poll;
mod quality;
mod rules;
mod session;
mod status;
use crate::capture::end::PullEnd;
use crate::config::RoomConfig;
use crate::event::{Event, EventType, RoomRef, SessionRef};
use crate::platform::{PlatformError, RoomKey, RoomSpec, RoomStatus};
use crate::segment::files::{Progress, WriterEvent};
use crate::writer::handle::{Control, WriterHandle};
#[cfg(test)]
pub(super) use cover::LIVE_START_WAIT;

/// A status check's own time limit; time it spends waiting for the platform's request budget
/// does not count (each request has its own timeout as well).
const POLL_TIMEOUT: Duration = Duration::from_secs(30);
/// A room task that panicked is restarted after this pause.
pub(super) const PANIC_PAUSE: Duration = Duration::from_secs(5);
/// How long a stopping room waits for its attempt to hand over its last bytes.
const ATTEMPT_STOP: Duration = Duration::from_secs(5);

/// A child task that is aborted if its owner is dropped (a panic, a stop).
struct Child<T>(JoinHandle<T>);

impl<T> Drop for Child<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Child<T> {
    /// Waits for the task; an aborted or panicked task gives `None`.
    async fn join(&mut self) -> Option<T> {
        (&mut self.0).await.ok()
    }
}

/// Awaits an optional child; pending forever when there is none (for `select!`).
async fn next_of<T>(child: &mut Option<Child<T>>) -> Option<T> {
    match child {
        Some(c) => c.join().await,
        None => std::future::pending().await,
    }
}

struct Session {
    id: Uuid,
    start: chrono::DateTime<chrono::FixedOffset>,
    /// Shared with the blocking threads that rewrite its text (see [`RoomLock::note_part`]).
    /// None for a notify-only session, which records nothing and so locks nothing.
    lock: Option<Arc<RoomLock>>,
    _slot: Option<OwnedSemaphorePermit>,
    /// Taken when the session closes.
    writer: Option<WriterHandle>,
    progress: Arc<Progress>,
    /// The writer's events; none for a notify-only session.
    events: Option<mpsc::UnboundedReceiver<WriterEvent>>,
    /// Stream connections made in this session (the first is not a reconnect).
    connects: u32,
    /// The cluster claim's owner (none with the local backend).
    owner: Option<crate::event::OwnerRef>,
    /// Another instance took the room over: its takeover record stays for it.
    handed_over: bool,
    /// Stream hosts that failed and HLS playlists recorded to their end, in this session, and
    /// whether the source being pulled is below the wanted quality (set by the attempt).
    attempts: crate::capture::SessionSide,
    /// The session's cover (`cover = true`): fetched once, from the session's start.
    cover: cover::SessionCover,
}

impl Session {
    fn reference(&self) -> SessionRef {
        SessionRef {
            id: self.id,
            start: self.start,
            owner: self.owner.clone(),
        }
    }
}

struct Supervisor {
    key: RoomKey,
    cfg: RoomConfig,
    deps: RoomDeps,
    machine: Machine,
    status: watch::Sender<RoomSnapshot>,
    snap: RoomSnapshot,
    poll: Option<Child<Result<RoomStatus, PlatformError>>>,
    attempt: Option<(Child<PullEnd>, CancellationToken)>,
    session: Option<Session>,
    /// For the bitrate shown in status.
    rate_sample: (Instant, u64),
    /// Last logged poll error, so a failing API logs once per change, not once per poll.
    logged_error: Option<String>,
    /// Bytes and HLS gaps of the sessions that ended, for the running totals.
    totals: (u64, u64),
    /// The platform's session hint of the last live answer, and of the open session: when it
    /// changes during a session, a new broadcast began.
    last_hint: Option<String>,
    session_hint: Option<String>,
    /// The room's chat task, when chat is on for it.
    chat: Option<crate::chat::ChatHandle>,
    /// What the cluster tells the open session (a new fence, a handover).
    orders: Option<mpsc::UnboundedReceiver<crate::cluster::Order>>,
    /// Whether the open session records below the wanted quality.
    degrade: crate::room::degrade::Tracker,
    /// The live's cover image URL, from the last status that named one.
    cover_url: Option<String>,
    /// The open session's `live_start`, while it waits for the cover.
    held_start: Option<cover::HeldStart>,
    /// Where the room stands against its `record_window`.
    window: rules::WindowClock,
}

pub(super) fn spawn(
    key: RoomKey,
    cfg: RoomConfig,
    deps: RoomDeps,
    mut cmds: mpsc::Receiver<RoomCmd>,
    status: watch::Sender<RoomSnapshot>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let span = tracing::info_span!("room", key = %key);
    tokio::spawn(
        async move {
            let mut cfg = cfg;
            loop {
                let sup = Supervisor::new(key.clone(), cfg.clone(), deps.clone(), status.clone());
                let run = AssertUnwindSafe(sup.run(&mut cmds, &cancel, &mut cfg)).catch_unwind();
                match run.await {
                    Ok(()) => break,
                    Err(_) => {
                        // The panic hook logged the message and location. Everything the task
                        // owned (lock, writer, children) was dropped while unwinding: files are
                        // closed by their writer, the lock is free. Start over.
                        tracing::error!(
                            "room task panicked; restarting it in {}s",
                            PANIC_PAUSE.as_secs()
                        );
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep(PANIC_PAUSE) => {}
                        }
                    }
                }
            }
        }
        .instrument(span),
    )
}

fn timing(cfg: &RoomConfig) -> Timing {
    Timing {
        poll_interval: cfg.settings.poll_interval,
        offline_grace: cfg.settings.offline_grace,
        alert_after: cfg.settings.alert_after,
        max_session: cfg.settings.rules.max_session,
    }
}

impl Supervisor {
    fn new(
        key: RoomKey,
        cfg: RoomConfig,
        deps: RoomDeps,
        status: watch::Sender<RoomSnapshot>,
    ) -> Self {
        let now = now();
        let mut snap = status.borrow().clone();
        snap.session = None;
        snap.file = None;
        let snap_totals = (snap.bytes_total, snap.gaps_total);
        let mut machine = Machine::new(timing(&cfg), cfg.enabled, now);
        machine.set_watch_only(!cfg.record);
        // Rooms started together (daemon start, a reload) poll each at its own slot, spread
        // over the interval.
        if let Some(seat) = &deps.seat {
            machine.set_grid(seat.grid(cfg.settings.poll_interval), now);
        }
        Self {
            machine,
            key,
            cfg,
            deps,
            status,
            snap,
            poll: None,
            attempt: None,
            session: None,
            rate_sample: (now, 0),
            logged_error: None,
            totals: (snap_totals.0, snap_totals.1),
            last_hint: None,
            session_hint: None,
            chat: None,
            orders: None,
            degrade: Default::default(),
            cover_url: None,
            held_start: None,
            window: Default::default(),
        }
    }

    fn spec(&self) -> RoomSpec {
        RoomSpec {
            key: self.key.clone(),
            url: self.cfg.url().to_string(),
            quality: self.cfg.settings.quality.clone(),
            formats: self.cfg.settings.formats.clone(),
            codecs: self.cfg.settings.codecs.clone(),
            cookie: self.cfg.settings.cookie.clone(),
        }
    }

    fn room_ref(&self) -> RoomRef {
        RoomRef {
            key: self.key.to_string(),
            platform: self.key.platform.to_string(),
            id: self.key.id.clone(),
            name: self.display_name(),
            url: self.cfg.url().to_string(),
            streamer: self.snap.streamer.clone(),
            title: self.snap.title.clone(),
        }
    }

    fn display_name(&self) -> String {
        super::display_name(self.cfg.name.as_deref(), &self.snap.streamer, &self.key.id)
    }

    /// An event about the room and its open session.
    fn event(&self, kind: EventType, f: impl FnOnce(Event) -> Event) -> Event {
        let session = self.session.as_ref().map(Session::reference);
        f(Event::new(kind, Some(self.room_ref())).with_session(session))
    }

    fn emit(&mut self, kind: EventType, f: impl FnOnce(Event) -> Event) {
        let event = self.event(kind, f);
        self.send(event);
    }

    async fn run(
        mut self,
        cmds: &mut mpsc::Receiver<RoomCmd>,
        cancel: &CancellationToken,
        cfg_out: &mut RoomConfig,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.sync_chat().await;
        let steps = self.check_window();
        Box::pin(self.execute(steps)).await;
        self.publish();
        loop {
            let wake = self.machine.next_wakeup();
            let mut steps = Vec::new();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => steps = self.on_command(cmd, cfg_out).await,
                    None => break,
                },
                sig = async {
                    match self.chat.as_mut() {
                        Some(c) => c.signal().await,
                        None => std::future::pending().await,
                    }
                } => match sig {
                    Some(sig) => steps = self.on_chat_signal(sig),
                    // The chat task is gone (it cannot end by itself): no chat for this room.
                    None => self.chat = None,
                },
                order = async {
                    match self.orders.as_mut() {
                        Some(o) => o.recv().await,
                        None => std::future::pending().await,
                    }
                } => match order {
                    Some(order) => steps = self.on_order(order),
                    None => self.orders = None,
                },
                ev = async {
                    match self.session.as_mut().and_then(|s| s.events.as_mut()) {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => if let Some(ev) = ev {
                    // Boxed, like every rarely taken step: a thousand idle rooms' tasks stay
                    // small.
                    steps = Box::pin(self.on_writer_event(ev)).await;
                },
                end = async {
                    match self.attempt.as_mut() {
                        Some((c, _)) => c.join().await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.attempt = None;
                    let end = end.unwrap_or_else(|| PullEnd::Broken("the recording task stopped unexpectedly".into()));
                    steps = self.on_attempt_end(end);
                }
                res = next_of(&mut self.poll) => {
                    self.poll = None;
                    let res = res.unwrap_or_else(|| Err(PlatformError::Network("the status check stopped unexpectedly".into())));
                    steps = Box::pin(self.on_poll(res)).await;
                }
                done = async {
                    match self.held_start.as_mut() {
                        Some(held) => held.due().await,
                        None => std::future::pending().await,
                    }
                } => self.raise_live_start(done),
                _ = sleep_until(wake) => steps = self.machine.on_timer(now()),
                _ = sleep_until(self.window.next_check) => steps = self.check_window(),
                _ = tick.tick(), if self.session.is_some() => {
                    self.sample_rate();
                    self.check_quality();
                }
            }
            if !steps.is_empty() {
                Box::pin(self.execute(steps)).await;
            }
            self.publish();
        }
        Box::pin(self.shutdown()).await;
    }

    async fn on_command(&mut self, cmd: RoomCmd, cfg_out: &mut RoomConfig) -> Vec<Do> {
        let now = now();
        match cmd {
            #[cfg(test)]
            RoomCmd::Panic => panic!("test panic in a room task"),
            RoomCmd::CheckNow => {
                tracing::info!("check requested");
                self.machine.on_check_now(now)
            }
            RoomCmd::Restart => {
                tracing::info!("restart requested");
                self.machine.on_restart(now)
            }
            RoomCmd::Split => {
                if let Some(writer) = self.session.as_ref().and_then(|s| s.writer.as_ref()) {
                    tracing::info!("split requested");
                    writer.control(Control::Split);
                }
                Vec::new()
            }
            RoomCmd::Reconfigure(cfg) => {
                tracing::info!("settings updated; they apply from the next segment");
                self.machine.set_timing(timing(&cfg));
                self.cfg = *cfg;
                *cfg_out = self.cfg.clone();
                let steps = self.check_window();
                if let Some(writer) = self.session.as_ref().and_then(|s| s.writer.as_ref()) {
                    let s = &self.cfg.settings;
                    writer.control(Control::Settings {
                        room: self.room_ref(),
                        template: s.filename.clone(),
                        segment_duration: s.segment_duration,
                        segment_size: s.segment_size,
                    });
                }
                self.sync_chat().await;
                steps
            }
        }
    }

    fn on_order(&mut self, order: crate::cluster::Order) -> Vec<Do> {
        match order {
            crate::cluster::Order::Fence(owner) => {
                if let Some(s) = self.session.as_mut() {
                    s.owner = Some(owner);
                    let reference = s.reference();
                    if let Some(w) = s.writer.as_ref() {
                        w.control(Control::Session(reference.clone()));
                    }
                    self.snap.session = Some(reference);
                }
                Vec::new()
            }
            crate::cluster::Order::HandOver { to, reason } => {
                if let Some(s) = self.session.as_mut() {
                    s.handed_over = true;
                }
                let why = format!("handover to {to} ({reason})");
                let at_once =
                    reason == crate::cluster::lease_fsm::HandoverReason::PolicyStop.as_str();
                self.machine.on_handed_over(&to, why, at_once, now())
            }
        }
    }

    fn on_attempt_end(&mut self, end: PullEnd) -> Vec<Do> {
        if self.session.is_some() {
            self.to_chat(crate::chat::ChatCmd::StreamLost);
        }
        if let PullEnd::Unrecordable(why) = end {
            self.snap.bitrate_kbps = 0.0;
            return self.machine.on_attempt_unrecordable(why, now());
        }
        match end.error() {
            Some(e) => {
                tracing::info!("stream ended: {e}");
                self.snap.last_error = Some(e);
            }
            None => tracing::info!("stream ended"),
        }
        self.snap.bitrate_kbps = 0.0;
        self.machine.on_attempt_ended(end.error(), now())
    }

    async fn on_writer_event(&mut self, ev: WriterEvent) -> Vec<Do> {
        match ev {
            WriterEvent::Flowing => return self.machine.on_flowing(now()),
            WriterEvent::Opened(event) => {
                let part = event.segment().map(|s| s.path.clone());
                if let Some(s) = self.session.as_ref() {
                    if let Some(lock) = s.lock.as_ref() {
                        lock.note_part(part.clone()).await;
                    }
                    if let (Some(seg), Some(video)) = (event.segment(), part.clone()) {
                        self.to_chat(crate::chat::ChatCmd::Opened(Box::new(
                            crate::chat::SegmentOpened {
                                video_part: video,
                                index: seg.index,
                                start: seg.start,
                                session: s.id,
                                room: self.room_ref(),
                                progress: s.progress.clone(),
                            },
                        )));
                    }
                }
                if let (Some(s), Some(seg)) = (self.session.as_ref(), event.segment()) {
                    let hint = self.session_hint.clone().or_else(|| self.last_hint.clone());
                    self.deps.cluster.progress(
                        &self.key.to_string(),
                        &s.reference(),
                        seg.index.saturating_add(1),
                        hint,
                    );
                }
                self.snap.file = part;
                self.send(event);
            }
            WriterEvent::Closed(event) => self.segment_complete(event).await,
            WriterEvent::Reconnect(reason) => {
                tracing::warn!("reconnecting: {reason}");
                self.snap.last_error = Some(reason);
                self.stop_attempt();
            }
            WriterEvent::Failed(err) => {
                let text = err.to_string();
                self.snap.last_error = Some(text.clone());
                // Low disk space is reported once by the daemon's disk monitor, not by every
                // room on every retry; here it is this room's reason for not writing.
                tracing::warn!("{text}");
                self.stop_attempt();
            }
        }
        Vec::new()
    }

    /// A segment is complete: its event, built by the writer and recorded in its intent, goes
    /// on as it is (the dispatcher settles the intent by its id).
    async fn segment_complete(&mut self, mut event: Event) {
        if let Some(lock) = self.session.as_ref().and_then(|s| s.lock.as_ref()) {
            lock.note_part(None).await;
        }
        if let (Some(chat), Some(seg)) = (self.chat.as_ref(), event.segment.as_mut()) {
            seg.danmaku = chat.close_segment(&seg.path).await;
        }
        event.cover_path = self.cover_now().await;
        self.snap.file = None;
        self.snap.segments += 1;
        self.snap.segments_total += 1;
        self.send(event);
    }

    fn stop_attempt(&mut self) {
        if let Some((_, cancel)) = &self.attempt {
            cancel.cancel();
        }
    }

    async fn execute(&mut self, steps: Vec<Do>) {
        let mut queue: VecDeque<Do> = steps.into();
        while let Some(step) = queue.pop_front() {
            match step {
                Do::Poll => self.start_poll(),
                Do::StartSession => queue.extend(self.start_session().await),
                Do::Connect => self.connect(),
                Do::StopAttempt => self.stop_attempt(),
                Do::EndSession(reason) => self.end_session(true, reason).await,
                Do::StopSession(reason) => {
                    self.close_at_keyframe().await;
                    self.end_session(true, Some(reason)).await
                }
                Do::Alert(reason) => {
                    tracing::warn!("ALERT {reason}");
                    self.emit(EventType::RecordingFailed, |e| e.with_error(reason));
                }
                Do::Recovered => {
                    tracing::info!("recording recovered: bytes are flowing again");
                    self.emit(EventType::RecordingRecovered, |e| e);
                }
                Do::NotRecordable(reason) => {
                    let error = format!("not recordable: {reason}");
                    tracing::warn!("live, but {error}; watching the room until it can be");
                    self.emit(EventType::RecordingFailed, |e| e.with_error(error));
                }
            }
        }
    }

    async fn shutdown(&mut self) {
        self.machine.on_shutdown();
        self.poll = None;
        if self.session.is_some() {
            tracing::info!("stopping: closing the open segment");
        }
        self.end_session(false, None).await;
        if let Some(c) = self.chat.take() {
            c.stop().await;
        }
        self.publish();
    }
}

/// A random delay in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    let ms = max.as_millis() as u64;
    if ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::random_range(0..ms))
}

/// The supervisor's clock: tokio's, which is the system's monotonic clock, except in tests on a
/// paused clock, where the machine's deadlines then move with the virtual time its timers use.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}
