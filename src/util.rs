//! Small helpers shared across the crate, with no dependency on any other liverec module:
//! secrets and redaction for log lines, durations and sizes as users write them, and file-system
//! primitives for crash-safe files.

pub(crate) mod fs;
pub(crate) mod secret;
pub(crate) mod units;
