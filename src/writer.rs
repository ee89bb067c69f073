//! The writer of a recording session: a blocking thread per session ([`thread`]) behind a
//! handle the room holds ([`handle`]), and the pipelines that decide where each container's
//! stream may be split and what every file must start with ([`pipeline`]: [`flv`] for FLV,
//! [`hls`] for TS and fMP4 segments). How a file is written is [`crate::segment`]'s job.

pub mod flv;
pub(crate) mod handle;
pub(crate) mod hls;
pub mod pipeline;
mod thread;
