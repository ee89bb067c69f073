//! The writer of one session: a blocking thread that owns the session's [`Output`] and its
//! pipeline. The async puller hands it chunks through a bounded channel, so a slow disk slows
//! the download instead of growing a buffer, and no disk call ever blocks the async runtime.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::flv::{FlvPipeline, Limits};
use super::hls_writer::{HlsSegment, HlsWriter};
use super::pipeline::{Flow, Pipeline};
use crate::segment::files::{Output, OutputSpec, Progress, SinkError, SinkEvent};

/// Messages in flight between puller and writer. Each is ~64 KiB of stream but may keep alive
/// the network read buffer it was sliced from (up to ~400 KiB): a short queue bounds that.
const CHANNEL_CHUNKS: usize = 4;

/// How a connection's bytes are packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Flv,
    Ts,
    Fmp4,
}

impl Container {
    pub fn extension(self) -> &'static str {
        match self {
            Container::Flv => "flv",
            Container::Ts => "ts",
            Container::Fmp4 => "mp4",
        }
    }

    fn pipeline(self, spec: &OutputSpec) -> Box<dyn Pipeline> {
        match self {
            Container::Flv => Box::new(FlvPipeline::new(Limits::from_spec(spec))),
            Container::Ts | Container::Fmp4 => Box::new(HlsWriter::new(self)),
        }
    }
}

#[derive(Debug)]
pub enum SinkMsg {
    /// A new connection starts; its bytes follow.
    Connect(Container),
    /// Bytes of the connection, in order: several network reads when they came faster than
    /// they could be handed over one by one.
    Data(Vec<Bytes>),
    /// A whole HLS media segment (after `Connect(Ts | Fmp4)`).
    Segment(HlsSegment),
    /// The connection ended.
    Disconnect,
}

/// Requests to the writer from the room. They travel beside the stream, not in its bounded
/// queue: that queue is full whenever the disk is the bottleneck, and a split, a title or a
/// reload must neither be dropped nor wait behind megabytes of stream. The writer takes them
/// before its next stream message.
#[derive(Debug)]
pub enum Control {
    /// Start a new file at the next possible point.
    Split,
    /// New title/streamer for the names of later segments.
    Meta { title: String, streamer: String },
    /// Reloaded settings: the room name, file name template and split limits of later
    /// segments.
    Settings {
        name: String,
        template: crate::template::Template,
        segment_duration: std::time::Duration,
        segment_size: u64,
    },
}

/// The async side's end of a session writer.
pub struct Sink {
    tx: mpsc::Sender<SinkMsg>,
    ctl: mpsc::UnboundedSender<Control>,
    join: JoinHandle<()>,
}

impl Sink {
    pub fn spawn(
        spec: OutputSpec,
        events: mpsc::UnboundedSender<SinkEvent>,
        progress: Arc<Progress>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let out = Output::new(spec, events, progress);
        let join = tokio::task::spawn_blocking(move || run(rx, ctl_rx, out));
        Self { tx, ctl, join }
    }

    pub fn sender(&self) -> mpsc::Sender<SinkMsg> {
        self.tx.clone()
    }

    /// Hands the writer a request; it never waits and is never dropped while the writer runs.
    pub fn control(&self, c: Control) {
        let _ = self.ctl.send(c);
    }

    /// Closes the session's last file and waits for the writer to finish.
    pub async fn close(self) {
        drop(self.tx);
        drop(self.ctl);
        if let Err(e) = self.join.await {
            tracing::error!("session writer ended abnormally: {e}");
        }
    }
}

struct Writer {
    out: Output,
    pipeline: Option<(Container, Box<dyn Pipeline>)>,
    /// After a failure, bytes are dropped until the next connection.
    failed: bool,
}

impl Writer {
    fn handle(&mut self, msg: SinkMsg) -> Result<(), SinkError> {
        match msg {
            SinkMsg::Connect(container) => {
                self.failed = false;
                if self.pipeline.as_ref().is_none_or(|(c, _)| *c != container) {
                    self.close()?;
                    self.out.set_extension(container.extension());
                    self.pipeline = Some((container, container.pipeline(self.out.spec())));
                }
                self.out.new_connection();
            }
            SinkMsg::Data(chunks) if !self.failed => {
                if let Some((_, p)) = self.pipeline.as_mut() {
                    for bytes in chunks {
                        if let Flow::Reconnect(reason) = p.push(&bytes, &mut self.out)? {
                            self.failed = true;
                            self.out.send(SinkEvent::Reconnect(reason));
                            break;
                        }
                    }
                }
            }
            SinkMsg::Data(_) => {}
            SinkMsg::Segment(seg) if !self.failed => {
                if let Some((_, p)) = self.pipeline.as_mut() {
                    if let Flow::Reconnect(reason) = p.push_segment(seg, &mut self.out)? {
                        self.failed = true;
                        self.out.send(SinkEvent::Reconnect(reason));
                    }
                }
            }
            SinkMsg::Segment(_) => {}
            SinkMsg::Disconnect => self.finish()?,
        }
        Ok(())
    }

    fn control(&mut self, c: Control) {
        match c {
            Control::Split => {
                if let Some((_, p)) = self.pipeline.as_mut() {
                    p.request_split();
                }
            }
            Control::Meta { title, streamer } => self.out.set_meta(title, streamer),
            Control::Settings {
                name,
                template,
                segment_duration,
                segment_size,
            } => {
                self.out
                    .set_settings(name, template, segment_duration, segment_size);
                if let Some((_, p)) = self.pipeline.as_mut() {
                    p.reconfigure(self.out.spec());
                }
            }
        }
    }

    /// The connection ended.
    fn finish(&mut self) -> Result<(), SinkError> {
        match self.pipeline.as_mut() {
            Some((_, p)) => p.finish_connection(&mut self.out),
            None => self.out.close(None).map(|_| ()),
        }
    }

    /// The session (or this container) is over: nothing may stay held back.
    fn close(&mut self) -> Result<(), SinkError> {
        let r = match self.pipeline.as_mut() {
            Some((_, p)) => p.close(&mut self.out),
            None => Ok(()),
        };
        r.and(self.out.close(None).map(|_| ()))
    }
}

fn run(mut rx: mpsc::Receiver<SinkMsg>, mut ctl: mpsc::UnboundedReceiver<Control>, out: Output) {
    let mut w = Writer {
        out,
        pipeline: None,
        failed: false,
    };
    while let Some(msg) = rx.blocking_recv() {
        // Requests sent before this message apply to it.
        while let Ok(c) = ctl.try_recv() {
            w.control(c);
        }
        match catch_unwind(AssertUnwindSafe(|| w.handle(msg))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!("{e}");
                let _ = w.close();
                w.failed = true;
                w.out.send(SinkEvent::Failed(e));
            }
            Err(_) => {
                // The panic hook logged the details; keep what was written and stop this stream.
                let _ = catch_unwind(AssertUnwindSafe(|| w.close()));
                w.failed = true;
                w.pipeline = None;
                w.out.send(SinkEvent::Failed(SinkError::Stream(
                    "internal error in the writer (logged)".into(),
                )));
            }
        }
        // Idle means caught up: hand what gathered to the OS (see `Output::flush_idle`).
        if rx.is_empty() {
            if let Err(e) = w.out.flush_idle() {
                tracing::error!("{e}");
                let _ = w.close();
                w.failed = true;
                w.out.send(SinkEvent::Failed(e));
            }
        }
    }
    if let Err(e) = catch_unwind(AssertUnwindSafe(|| w.close())).unwrap_or(Ok(())) {
        tracing::error!("closing the last segment: {e}");
    }
}
