//! A pipeline turns one container's stream into segment files through a [`SegmentFiles`]: it
//! decides where files may be split and what each must start with.

use super::flv::{FlvPipeline, Limits};
use super::handle::Container;
use super::hls::HlsWriter;
use crate::segment::files::{SegmentFiles, SegmentSpec, WriteError};

/// What the pipeline wants from the puller after a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Drop this connection and open a fresh one, for the given reason.
    Reconnect(String),
}

pub trait Pipeline: Send {
    /// What the stream arrives as: a connection's bytes in chunks of any size (FLV), or whole
    /// media segments (HLS). A pipeline cannot be handed the other kind.
    type Input<'a>;

    /// The next piece of the current connection, in order.
    fn push(&mut self, input: Self::Input<'_>, out: &mut SegmentFiles) -> Result<Flow, WriteError>;

    /// The connection ended. The pipeline may keep the file open until the next connection
    /// shows how it continues; [`Pipeline::close`] ends everything.
    fn finish_connection(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError>;

    /// The session is closing: write everything that is held back and close the file.
    fn close(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        self.finish_connection(out)
    }

    /// Start a new file at the next point where one may start.
    fn request_split(&mut self);

    /// Settings changed (a reload): pipelines that copied split limits take the new ones.
    fn reconfigure(&mut self, spec: &SegmentSpec) {
        let _ = spec;
    }
}

/// The pipeline of a connection's container; each takes its own kind of input. (Boxed: one
/// allocation per session, and the two differ in size.)
pub(super) enum Active {
    Flv(Box<FlvPipeline>),
    Hls(Box<HlsWriter>),
}

impl Active {
    pub(super) fn new(container: Container, spec: &SegmentSpec) -> Self {
        match container {
            Container::Flv => Active::Flv(Box::new(
                FlvPipeline::new(Limits::from_spec(spec)).audio_only(spec.audio_only),
            )),
            Container::Ts | Container::Fmp4 => Active::Hls(Box::new(
                HlsWriter::new(container).audio_only(spec.audio_only),
            )),
        }
    }

    pub(super) fn finish_connection(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        match self {
            Active::Flv(p) => p.finish_connection(out),
            Active::Hls(p) => p.finish_connection(out),
        }
    }

    pub(super) fn close(&mut self, out: &mut SegmentFiles) -> Result<(), WriteError> {
        match self {
            Active::Flv(p) => p.close(out),
            Active::Hls(p) => p.close(out),
        }
    }

    pub(super) fn request_split(&mut self) {
        match self {
            Active::Flv(p) => p.request_split(),
            Active::Hls(p) => p.request_split(),
        }
    }

    pub(super) fn reconfigure(&mut self, spec: &SegmentSpec) {
        match self {
            Active::Flv(p) => p.reconfigure(spec),
            Active::Hls(p) => p.reconfigure(spec),
        }
    }
}

/// The puller sent a kind of input its connection's container does not have.
pub(super) fn mismatch(what: &str, container: Container) -> WriteError {
    WriteError::Stream(format!(
        "{what} on a {} connection (an internal error)",
        container.extension()
    ))
}
