//! Shared pieces of the integration tests: real local servers on 127.0.0.1:0, the real binary,
//! and independent checks of what it wrote.

#![allow(dead_code)]

pub mod browser;
pub mod chat_server;
pub mod daemon;
pub mod douyin_chat;
pub mod etcd;
pub mod flv;
pub mod hls_server;
pub mod media;
pub mod notify;
pub mod platform_server;
pub mod receiver;
pub mod server;
