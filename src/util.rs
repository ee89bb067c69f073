//! Small helpers shared across the crate, with no dependency on any other liverec module:
//! secrets and redaction for log lines, durations and sizes as users write them, file-system
//! primitives for crash-safe files, and the retry backoff.

pub(crate) mod backoff;
pub(crate) mod fs;
pub(crate) mod secret;
pub(crate) mod units;
