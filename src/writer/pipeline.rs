//! A pipeline turns one container's bytes into segment files through an [`SegmentFiles`]: it decides
//! where files may be split and what each must start with.

use super::hls::HlsSegment;
use crate::segment::files::{SegmentFiles, SegmentSpec, WriteError};

/// What the pipeline wants from the puller after a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Drop this connection and open a fresh one, for the given reason.
    Reconnect(String),
}

pub trait Pipeline: Send {
    /// Bytes of the current connection, in order, in chunks of any size.
    fn push(&mut self, data: &[u8], out: &mut SegmentFiles) -> Result<Flow, WriteError>;

    /// A whole HLS media segment, in order (only the TS and fMP4 pipelines take these).
    fn push_segment(
        &mut self,
        seg: HlsSegment,
        out: &mut SegmentFiles,
    ) -> Result<Flow, WriteError> {
        let _ = (seg, out);
        Err(WriteError::Stream(
            "this pipeline takes a byte stream, not HLS segments".into(),
        ))
    }

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
