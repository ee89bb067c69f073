//! Chat (danmaku): a side channel of each room, recorded beside the video and used to learn of
//! live starts as they are pushed.
//!
//! Pure cores, bytes in and values out: [`event`] (the records), [`inflate`] (bounded
//! zlib/brotli/gzip), [`protobuf`] (a small wire-format reader), [`bili_packet`] and
//! [`bili_commands`] (Bilibili's WebSocket packets and JSON commands), [`douyin_frame`] and
//! [`douyin_signature`] (Douyin's webcast frames and URL signature), [`xml`] (BililiveRecorder's
//! XML, and the repair of a torn file), [`timeline`] (chat times on the media timeline).
#![allow(dead_code)]

pub(crate) mod bili_commands;
pub(crate) mod bili_packet;
pub(crate) mod douyin_frame;
pub(crate) mod douyin_signature;
pub(crate) mod event;
pub(crate) mod inflate;
pub(crate) mod protobuf;
pub(crate) mod timeline;
pub(crate) mod xml;
