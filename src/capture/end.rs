//! How one pull of a stream ended: what the room machine and the host failover judge it by.

use std::time::Duration;

/// Why a connection ended.
///
/// `Refused` is the only end that comes before any media reached the writer (besides
/// `Cancelled`, `WriterGone` and `NothingNew`); `Eof`, `Stalled` and `Broken` mean the source
/// delivered media. [`super::failover`] judges hosts by this.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PullEnd {
    /// The server closed the stream.
    Eof,
    /// No bytes for the stall timeout.
    Stalled(Duration),
    Cancelled,
    /// The connection could not be opened, was not a stream, or ended before its first media
    /// byte; nothing was written.
    Refused(String),
    /// The source answered properly but has nothing this session has not recorded (an HLS
    /// playlist it already recorded to its end); nothing was written.
    NothingNew(String),
    /// The connection broke after bytes had flowed.
    Broken(String),
    /// The writer went away (it reports its own reason).
    WriterGone,
    /// The platform says this live cannot be recorded (DRM, paid, guard-only...): the reason.
    Unrecordable(String),
}

impl PullEnd {
    /// Text for logs and the status "last error"; `None` for an ordinary end of stream.
    pub(crate) fn error(&self) -> Option<String> {
        match self {
            PullEnd::Eof | PullEnd::Cancelled => None,
            PullEnd::Stalled(d) => Some(format!(
                "stalled: no bytes for {}",
                crate::util::units::format_duration(*d)
            )),
            PullEnd::Refused(e) | PullEnd::NothingNew(e) | PullEnd::Broken(e) => Some(e.clone()),
            PullEnd::WriterGone => Some("the writer stopped".into()),
            PullEnd::Unrecordable(why) => Some(format!("not recordable: {why}")),
        }
    }
}
