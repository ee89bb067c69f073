//! The async side of a session's writer: the handle a room holds, and the messages that reach
//! the writer thread ([`super::thread`]). The puller hands it chunks through a bounded channel,
//! so a slow disk slows the download instead of growing a buffer, and no disk call ever blocks
//! the async runtime.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::hls::HlsSegment;
use super::thread::run;
use crate::event::RoomRef;
use crate::segment::files::{Progress, SegmentFiles, SegmentSpec, WriterEvent};

/// Messages in flight between puller and writer. Each is ~64 KiB of stream but may keep alive
/// the network read buffer it was sliced from (up to ~400 KiB): a short queue bounds that.
const CHANNEL_CHUNKS: usize = 4;

/// How a connection's bytes are packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Flv,
    Ts,
    Fmp4,
}

impl Container {
    /// Every container: a name decided ahead for a segment must be free for all of them.
    pub(crate) const ALL: [Container; 3] = [Container::Flv, Container::Ts, Container::Fmp4];

    pub(crate) fn extension(self) -> &'static str {
        match self {
            Container::Flv => "flv",
            Container::Ts => "ts",
            Container::Fmp4 => "mp4",
        }
    }
}

#[derive(Debug)]
pub(crate) enum WriterMsg {
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
pub(crate) enum Control {
    /// Start a new file at the next possible point.
    Split,
    /// The room as it is now, after a new title or streamer: for the events of the open
    /// segment and the names of later ones.
    Meta(RoomRef),
    /// Reloaded settings: the room as it is now (its name may have changed), for the events of
    /// the open segment; the file name template and split limits of later segments.
    Settings {
        room: RoomRef,
        template: crate::template::Template,
        segment_duration: std::time::Duration,
        segment_size: u64,
    },
    /// The session as it is now (its cluster owner's new fence), for later segments.
    Session(crate::event::SessionRef),
    /// The recording stops while the stream goes on: the open file ends at the next point a
    /// split may fall (a keyframe), and no file opens after it.
    Last,
}

/// The async side's end of a session writer.
pub(crate) struct WriterHandle {
    tx: mpsc::Sender<WriterMsg>,
    ctl: mpsc::UnboundedSender<Control>,
    join: JoinHandle<()>,
}

impl WriterHandle {
    pub(crate) fn spawn(
        spec: SegmentSpec,
        events: mpsc::UnboundedSender<WriterEvent>,
        progress: Arc<Progress>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let out = SegmentFiles::new(spec, events, progress);
        // A blocking thread starts with neither the room's span nor the caller's subscriber:
        // without both, "segment opened" in a log of fifty rooms would not say whose.
        let span = tracing::Span::current();
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let join = tokio::task::spawn_blocking(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                span.in_scope(|| run(rx, ctl_rx, out));
            })
        });
        Self { tx, ctl, join }
    }

    pub(crate) fn sender(&self) -> mpsc::Sender<WriterMsg> {
        self.tx.clone()
    }

    /// Hands the writer a request; it never waits and is never dropped while the writer runs.
    pub(crate) fn control(&self, c: Control) {
        let _ = self.ctl.send(c);
    }

    /// Closes the session's last file and waits for the writer to finish.
    pub(crate) async fn close(self) {
        drop(self.tx);
        drop(self.ctl);
        if let Err(e) = self.join.await {
            tracing::error!("session writer ended abnormally: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
