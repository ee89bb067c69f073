//! liverec: a live-recording daemon.
//!
//! A poll loop checks each configured room (Bilibili, Douyin, plain stream URLs) and hands it to
//! one supervisor task per canonical room key. The supervisor takes an OS lock on the room before
//! it records, pulls the stream into `.part` files, and renames each atomically when complete.
//!
//! # Layout
//! One module, one job. They are listed from the top of the dependency graph down: a module
//! uses only modules listed after it (`src/tests.rs` checks that the graph has no cycle).
//!
//! - `cli`: the command line (run, check, probe, status, repair), logging, the runtime, signals.
//! - `daemon`: start-up, the main loop, reloads applied as a diff by room key (`rooms`), the
//!   free-space monitor, the config-file watcher, ordered shutdown with one deadline. It builds
//!   the control state and runs recovery; it owns neither.
//! - `control`: the HTTP API, `/metrics` and the `status` client. `ControlState` is what the API
//!   knows of the daemon (built and kept current by the daemon, reached through methods) and
//!   `DaemonCmd` what it may ask of it.
//! - `retention`: deleting finished segments once their hooks are done ("upload, then
//!   delete"), by age and for free space, from the hooks' segment ledger; its own task.
//! - `room`: one task per room: the pure state machine (`state`), its async supervisor, the
//!   room lock (`lock`, which owns the lock file's text), and each platform's polling
//!   schedule (`schedule`: every room's slot of its interval, spread evenly), the rule that
//!   calls a recording degraded (`degrade`, pure) and the session's cover (`cover`). It drives
//!   capture and the writer; how bytes are pulled or written is not its business.
//! - `hooks`: the event dispatcher: the log line, command hooks, webhooks, the durable delivery
//!   journal with per-room order, windows and retries; it settles a segment's intent once its
//!   event is journaled.
//! - `recovery`: crash recovery in one place: at start-up, intents whose event was lost and
//!   `.part` files no live process writes (`startup`, `leftovers`, `owner`), and `repair`
//!   (also behind `liverec repair`).
//! - `chat`: chat (danmaku), a side channel of each room: its own task per room, the Bilibili
//!   and Douyin WebSocket clients, the XML file beside each segment, and pushed live starts as
//!   typed signals to the room; pure cores for packets, commands, protobuf and the signature.
//! - `capture`: pulling a live stream into a session's writer: one `attempt` over the
//!   platform's sources, the FLV and HLS pullers, the session's host failover, and `PullEnd`.
//! - `writer`: the session's writer thread and the handle the room holds, and the pipelines
//!   (`flv`; `hls` for TS and fMP4) that decide where a stream may split and what each file
//!   starts with.
//! - `segment`: the files of one session: `.part` -> fsync -> rename (`part`), names from the
//!   template (`naming`), the intent recorded before each rename (`intent`), and `files`, which
//!   ties them together and reports to the room.
//! - `config`: the TOML file, read in two phases (typed raw values with every problem collected,
//!   then validated settings with per-room overrides merged); `config::keys` is the table of
//!   every key (scope, default, limit, when a change applies). It checks rooms with the
//!   platforms' knowledge; the `[platforms.*]` settings types belong to `platform`.
//! - `cluster`: several instances sharing one archive through etcd (`[cluster] backend =
//!   "etcd"`): membership on one lease per process, which instance polls which idle room
//!   (weighted rendezvous hashing), claiming a live room with a fencing token, handing rooms
//!   over when a lease is lost, the shared risk-control pause. The rooms reach it through a
//!   `Coordinator` handle; the default `local` backend is the room lock directory alone.
//! - `platform`: URL recognition, the `Platform` trait (resolve, status, stream sources), the
//!   Bilibili, Douyin and direct-URL implementations, their settings, the request limiter
//!   (a budget with a live lane before the idle one), gathering many rooms' asks into one
//!   request (`coalesce`), what rooms ask of a budget (`demand`),
//!   and the share of it chat's token requests take turns in.
//! - `media`: pure parsers, bytes in and structure out: FLV (tags, AMF0, metadata, timeline),
//!   m3u8, MPEG-TS, fMP4.
//! - Leaves: `event` (the one event shape for hooks, webhooks, logs and the API), `template`
//!   (`{field:FMT}`), `util` (secrets and redaction, units, file-system primitives, the retry
//!   backoff), `http` (the shared client, capped reads), `metrics` (counters, Prometheus text),
//!   `systemd` (`sd_notify`), `build_info`.
//!
//! Only what the integration tests, the benchmarks and the fuzz target use is `pub`; the rest is
//! `pub(crate)`, so the compiler reports what nothing uses.

mod build_info;
mod capture;
mod chat;
pub mod cli;
pub mod cluster;
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
mod retention;
mod room;
pub mod segment;
mod systemd;
mod template;
mod util;
pub mod writer;

#[cfg(test)]
mod tests;
