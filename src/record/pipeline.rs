//! A pipeline turns one container's bytes into segment files through an [`Output`]: it decides
//! where files may be split and what each must start with.

use super::hls_writer::HlsSegment;
use super::output::{Output, SinkError};

/// What the pipeline wants from the puller after a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Drop this connection and open a fresh one, for the given reason.
    Reconnect(String),
}

pub trait Pipeline: Send {
    /// Bytes of the current connection, in order, in chunks of any size.
    fn push(&mut self, data: &[u8], out: &mut Output) -> Result<Flow, SinkError>;

    /// A whole HLS media segment, in order (only the TS and fMP4 pipelines take these).
    fn push_segment(&mut self, seg: HlsSegment, out: &mut Output) -> Result<Flow, SinkError> {
        let _ = (seg, out);
        Err(SinkError::Stream(
            "this pipeline takes a byte stream, not HLS segments".into(),
        ))
    }

    /// The connection ended or the session is closing: write what is buffered, close the file.
    fn finish_connection(&mut self, out: &mut Output) -> Result<(), SinkError>;

    /// Start a new file at the next point where one may start.
    fn request_split(&mut self);
}

/// Appends bytes as they come: for containers whose segments are already self-contained units
/// (HLS-TS segments), and where no parsing is wanted.
#[derive(Debug, Default)]
pub struct Passthrough {
    split: bool,
}

impl Pipeline for Passthrough {
    fn push(&mut self, data: &[u8], out: &mut Output) -> Result<Flow, SinkError> {
        if std::mem::take(&mut self.split) {
            out.close(None)?;
        }
        out.write(data)?;
        Ok(Flow::Continue)
    }

    fn finish_connection(&mut self, out: &mut Output) -> Result<(), SinkError> {
        out.close(None).map(|_| ())
    }

    fn request_split(&mut self) {
        self.split = true;
    }
}
