//! liverec: a live-recording daemon.
//!
//! A poll loop checks each configured room (Bilibili, Douyin, plain stream URLs) and hands it to
//! one supervisor task per canonical room key. The supervisor takes an OS lock on the room before
//! it records, pulls the stream into `.part` files, and renames each atomically when complete.
//!
//! # Layout
//! - [`config`]: the TOML file, read in two phases (typed raw values with every problem
//!   collected, then validated settings with per-room overrides merged).
//! - [`platform`]: URL recognition and the [`platform::Platform`] trait (resolve, status,
//!   stream sources) with its implementations.
//! - [`room`]: the per-room task: a pure state machine ([`room::state`]), its async supervisor,
//!   and the room lock ([`room::lock`]).
//! - [`record`]: pulling streams, the session writer thread, segment files (`.part` -> fsync ->
//!   rename), the segment intents that make every finished file's event survive a crash
//!   ([`record::intent`]), naming, and start-up recovery.
//! - [`media`]: pure parsers (FLV, AMF0, m3u8) and repair.
//! - [`event`]: the one event shape for hooks, webhooks, logs and the API.
//! - [`hooks`]: the event dispatcher: the log, command hooks, webhooks, and the durable
//!   delivery journal with per-room ordering, windows and retries.
//! - [`daemon`]: the room map, start-up, and ordered shutdown with one deadline.
//! - [`cli`]: the command line.

mod build_info;
mod capture;
pub mod cli;
pub mod config;
mod control;
mod daemon;
pub mod event;
pub mod hooks;
mod http;
pub mod media;
mod metrics;
pub mod platform;
mod recovery;
mod room;
pub mod segment;
mod systemd;
mod template;
mod util;
pub mod writer;

#[cfg(test)]
mod tests;
