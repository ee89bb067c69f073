//! The writer of one session: a blocking thread that owns the session's [`SegmentFiles`] and its
//! pipeline, fed by the handle's bounded channel ([`super::handle`]).

use std::panic::{AssertUnwindSafe, catch_unwind};

use tokio::sync::mpsc;

use super::handle::{Container, Control, WriterMsg};
use super::pipeline::{Active, Flow, Pipeline, mismatch};
use crate::segment::files::{SegmentFiles, WriteError, WriterEvent};

struct Writer {
    out: SegmentFiles,
    pipeline: Option<(Container, Active)>,
    /// After a failure, bytes are dropped until the next connection.
    failed: bool,
}

impl Writer {
    fn handle(&mut self, msg: WriterMsg) -> Result<(), WriteError> {
        match msg {
            WriterMsg::Connect(container) => {
                self.failed = false;
                if self.pipeline.as_ref().is_none_or(|(c, _)| *c != container) {
                    self.close()?;
                    self.out.set_extension(container.extension());
                    self.pipeline = Some((container, Active::new(container, self.out.spec())));
                }
                self.out.new_connection();
            }
            WriterMsg::Data(chunks) if !self.failed => match self.pipeline.as_mut() {
                Some((_, Active::Flv(p))) => {
                    for bytes in chunks {
                        if let Flow::Reconnect(reason) = p.push(&bytes, &mut self.out)? {
                            self.failed = true;
                            self.out.send(WriterEvent::Reconnect(reason));
                            break;
                        }
                    }
                }
                Some((c, Active::Hls(_))) => return Err(mismatch("a byte stream", *c)),
                None => {}
            },
            WriterMsg::Data(_) => {}
            WriterMsg::Segment(seg) if !self.failed => match self.pipeline.as_mut() {
                Some((_, Active::Hls(p))) => {
                    if let Flow::Reconnect(reason) = p.push(seg, &mut self.out)? {
                        self.failed = true;
                        self.out.send(WriterEvent::Reconnect(reason));
                    }
                }
                Some((c, Active::Flv(_))) => return Err(mismatch("an HLS segment", *c)),
                None => {}
            },
            WriterMsg::Segment(_) => {}
            WriterMsg::Disconnect => self.finish()?,
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
            Control::Meta(room) => self.out.set_room(room),
            Control::Session(session) => self.out.set_session(session),
            Control::Last => {
                self.out.make_last();
                if let Some((_, p)) = self.pipeline.as_mut() {
                    p.request_split();
                }
            }
            Control::Settings {
                room,
                template,
                segment_duration,
                segment_size,
            } => {
                self.out.set_room(room);
                self.out
                    .set_settings(template, segment_duration, segment_size);
                if let Some((_, p)) = self.pipeline.as_mut() {
                    p.reconfigure(self.out.spec());
                }
            }
        }
    }

    /// The connection ended.
    fn finish(&mut self) -> Result<(), WriteError> {
        match self.pipeline.as_mut() {
            Some((_, p)) => p.finish_connection(&mut self.out),
            None => self.out.close(None).map(|_| ()),
        }
    }

    /// The session (or this container) is over: nothing may stay held back.
    fn close(&mut self) -> Result<(), WriteError> {
        let r = match self.pipeline.as_mut() {
            Some((_, p)) => p.close(&mut self.out),
            None => Ok(()),
        };
        r.and(self.out.close(None).map(|_| ()))
    }
}

pub(super) fn run(
    mut rx: mpsc::Receiver<WriterMsg>,
    mut ctl: mpsc::UnboundedReceiver<Control>,
    out: SegmentFiles,
) {
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
                w.out.send(WriterEvent::Failed(e));
            }
            Err(_) => {
                // The panic hook logged the details; keep what was written and stop this stream.
                let _ = catch_unwind(AssertUnwindSafe(|| w.close()));
                w.failed = true;
                w.pipeline = None;
                w.out.send(WriterEvent::Failed(WriteError::Stream(
                    "internal error in the writer (logged)".into(),
                )));
            }
        }
        // Idle means caught up: hand what gathered to the OS (see `SegmentFiles::flush_idle`).
        if rx.is_empty() {
            if let Err(e) = w.out.flush_idle() {
                tracing::error!("{e}");
                let _ = w.close();
                w.failed = true;
                w.out.send(WriterEvent::Failed(e));
            }
        }
    }
    if let Err(e) = catch_unwind(AssertUnwindSafe(|| w.close())).unwrap_or(Ok(())) {
        tracing::error!("closing the last segment: {e}");
    }
}
