//! The integration tests, in one binary (linked once): each module starts real local
//! servers on 127.0.0.1 and runs the real `liverec` binary against them, or checks what the
//! library writes with independent tools (ffprobe, an FLV walker).

mod support;

mod chat;
mod cli_docs;
mod cluster;
mod control;
mod daemon_basics;
mod degraded;
mod douyin_daemon;
mod etcd_client;
mod flv_parser;
mod flv_pipeline;
mod fmp4_start_delay;
mod hls_recording;
mod hooks;
mod host_failover;
mod notify;
mod packaged_config;
mod page;
mod platform_conformance;
mod platform_daemon;
mod platform_waits;
mod record_cmd;
mod recording_faults;
mod repair;
mod retention;
mod rules;
mod scale;
