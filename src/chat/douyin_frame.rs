//! Douyin webcast WebSocket frames: bytes in, chat records and control events out; the ack and
//! heartbeat frames out.
//!
//! Layout from DANMAKU.md §D.4 (field numbers from DouyinLiveWebFetcher `protobuf/douyin.proto`
//! and rust-srec `crates/platforms/proto/douyin.proto`; ack and heartbeat from biliup
//! `crates/danmaku/src/protocols/douyin.rs` and DouyinLiveWebFetcher `liveMan.py`):
//!
//! - Each binary message is one `PushFrame {1 seq_id; 2 log_id; 5 headers; 6 payload_encoding;
//!   7 payload_type; 8 payload}`. For `payload_type` "msg" the payload is a gzip'd `Response
//!   {1 repeated Message {1 method; 2 payload}; 5 internal_ext; 9 need_ack}`.
//! - When `need_ack` is set the client answers `PushFrame {2 log_id; 7 "ack"; 8 internal_ext}`,
//!   the raw bytes of `internal_ext` (not a nested message).
//! - The heartbeat is `PushFrame {7 "hb"}`, bytes `3a 02 68 62`, sent every 10 s.
//! - `WebcastControlMessage {2 status}` with status 3 says the live ended (the only value the
//!   sources document).
//!
//! The schema is the fragile part (field numbers already differ between peers for rich text),
//! so only the long-stable fields are read and unknown fields are skipped. Decoding never
//! panics; the gzip'd payload and the number of messages are capped.

use super::event::{Danmaku, Gift, User, short_name};
use super::inflate::{Codec, InflateError, inflate};
use super::protobuf::{ProtoError, Writer, for_each_field};

/// `PushFrame {payload_type: "hb"}`.
pub const HEARTBEAT_FRAME: &[u8] = &[0x3a, 0x02, b'h', b'b'];

/// The ack for a frame whose response asked for one.
pub fn ack_frame(log_id: u64, internal_ext: &[u8]) -> Vec<u8> {
    Writer::new()
        .varint(2, log_id)
        .bytes(7, b"ack")
        .bytes(8, internal_ext)
        .finish()
}

/// Caps that keep one frame's decoding bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes the gzip'd payload may inflate to.
    pub max_inflated: usize,
    /// Messages decoded per frame; the rest are counted as skipped.
    pub max_messages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated: 8 << 20,
            max_messages: 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DouyinEvent {
    /// `WebcastChatMessage`.
    Chat(Danmaku),
    /// `WebcastGiftMessage`, only once a combo is over (see [`decode_frame`]).
    Gift(Gift),
    /// `WebcastControlMessage` with status 3.
    LiveEnded,
    /// `WebcastControlMessage` with another status (undocumented; logged, not acted on).
    Control { status: i64 },
    /// A message this module does not decode, by method name (at most 64 bytes).
    Other(String),
}

/// What one frame held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub seq_id: u64,
    pub log_id: u64,
    /// "msg" for messages; others (e.g. "hb") carry nothing to decode.
    pub payload_type: String,
    pub events: Vec<DouyinEvent>,
    /// The frame to send back, when the server asked for an ack.
    pub ack: Option<Vec<u8>>,
    /// Messages that did not decode, or were over the cap, and were left out.
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("bad Douyin push frame: {0}")]
    PushFrame(ProtoError),
    #[error("bad Douyin response: {0}")]
    Response(ProtoError),
    #[error("Douyin payload: {0}")]
    Payload(InflateError),
}

/// Decodes one binary WebSocket message.
///
/// Gifts: a combo gift is announced again with a growing count while the combo lasts, so only
/// the message that ends it (`repeat_end == 1`), or a gift that is not a combo gift, becomes an
/// event, with `combo_count` as the count. DANMAKU.md §D.4 infers this rule; it is not
/// confirmed by a capture.
pub fn decode_frame(bytes: &[u8], limits: &Limits) -> Result<Frame, FrameError> {
    let mut frame = Frame::default();
    let mut payload: &[u8] = &[];
    for_each_field(bytes, |number, value| match number {
        1 => frame.seq_id = value.as_u64().unwrap_or(0),
        2 => frame.log_id = value.as_u64().unwrap_or(0),
        7 => {
            frame.payload_type = value
                .as_string()
                .map(|t| short_name(&t, 16))
                .unwrap_or_default()
        }
        8 => payload = value.as_bytes().unwrap_or_default(),
        _ => {}
    })
    .map_err(FrameError::PushFrame)?;
    if frame.payload_type != "msg" {
        return Ok(frame);
    }

    // Robust rule from the notes: gunzip when the payload says gzip by its magic bytes, rather
    // than trusting the `compress_type` header that only some peers check.
    let inflated;
    let response = if payload.starts_with(&[0x1f, 0x8b]) {
        inflated =
            inflate(Codec::Gzip, payload, limits.max_inflated).map_err(FrameError::Payload)?;
        &inflated[..]
    } else {
        payload
    };

    let mut messages = Vec::new();
    let mut internal_ext: &[u8] = &[];
    let mut need_ack = false;
    for_each_field(response, |number, value| match number {
        // Capped while collecting: 8 MiB of two-byte messages must not become millions of slices.
        1 => match value.as_bytes() {
            Some(m) if messages.len() < limits.max_messages => messages.push(m),
            _ => frame.skipped += 1,
        },
        5 => internal_ext = value.as_bytes().unwrap_or_default(),
        9 => need_ack = value.as_u64().is_some_and(|v| v != 0),
        _ => {}
    })
    .map_err(FrameError::Response)?;

    if need_ack {
        frame.ack = Some(ack_frame(frame.log_id, internal_ext));
    }
    for message in messages {
        match decode_message(message) {
            Ok(Some(event)) => frame.events.push(event),
            Ok(None) => {}
            Err(_) => frame.skipped += 1,
        }
    }
    Ok(frame)
}

/// `Message {1 method; 2 payload}` to an event; `None` for a gift combo still running.
fn decode_message(message: &[u8]) -> Result<Option<DouyinEvent>, ProtoError> {
    let mut method: &[u8] = &[];
    let mut payload: &[u8] = &[];
    for_each_field(message, |number, value| match number {
        1 => method = value.as_bytes().unwrap_or_default(),
        2 => payload = value.as_bytes().unwrap_or_default(),
        _ => {}
    })?;
    Ok(match method {
        b"WebcastChatMessage" => Some(DouyinEvent::Chat(chat(payload)?)),
        b"WebcastGiftMessage" => gift(payload)?.map(DouyinEvent::Gift),
        b"WebcastControlMessage" => Some(control(payload)?),
        other => Some(DouyinEvent::Other(short_name(
            &String::from_utf8_lossy(other),
            64,
        ))),
    })
}

/// `ChatMessage {1 common {4 create_time ms}; 2 user; 3 content; 15 event_time s}`.
fn chat(payload: &[u8]) -> Result<Danmaku, ProtoError> {
    let (mut common, mut user): (&[u8], &[u8]) = (&[], &[]);
    let (mut text, mut event_s) = (String::new(), 0u64);
    for_each_field(payload, |number, value| match number {
        1 => common = value.as_bytes().unwrap_or_default(),
        2 => user = value.as_bytes().unwrap_or_default(),
        3 => text = value.as_string().unwrap_or_default(),
        15 => event_s = value.as_u64().unwrap_or(0),
        _ => {}
    })?;
    let create_ms = common_time(common)?;
    let sent_ms = if create_ms != 0 {
        create_ms
    } else {
        event_s.saturating_mul(1000)
    };
    Ok(Danmaku {
        user: read_user(user)?,
        text,
        // Douyin chat has no mode/size/colour: BililiveRecorder's defaults.
        mode: 1,
        size: 25,
        color: 0xFF_FFFF,
        sent_ms: i64::try_from(sent_ms).unwrap_or(0),
        raw: None,
    })
}

/// `GiftMessage {2 gift_id; 6 combo_count; 7 user; 9 repeat_end; 15 gift {5 id; 10 combo;
/// 16 name}}`.
fn gift(payload: &[u8]) -> Result<Option<Gift>, ProtoError> {
    let (mut gift_id, mut combo_count, mut repeat_end) = (0u64, 0u64, 0u64);
    let (mut user, mut gift_struct): (&[u8], &[u8]) = (&[], &[]);
    for_each_field(payload, |number, value| match number {
        2 => gift_id = value.as_u64().unwrap_or(0),
        6 => combo_count = value.as_u64().unwrap_or(0),
        7 => user = value.as_bytes().unwrap_or_default(),
        9 => repeat_end = value.as_u64().unwrap_or(0),
        15 => gift_struct = value.as_bytes().unwrap_or_default(),
        _ => {}
    })?;
    let (mut name, mut combo) = (String::new(), false);
    for_each_field(gift_struct, |number, value| match number {
        5 if gift_id == 0 => gift_id = value.as_u64().unwrap_or(0),
        10 => combo = value.as_u64().is_some_and(|c| c != 0),
        16 => name = value.as_string().unwrap_or_default(),
        _ => {}
    })?;
    if combo && repeat_end != 1 {
        return Ok(None);
    }
    Ok(Some(Gift {
        user: read_user(user)?,
        gift_id,
        name,
        count: combo_count.max(1),
        // Douyin prices gifts in diamonds, not in BililiveRecorder's unit.
        value_milli_cny: None,
        tid: None,
        raw: None,
    }))
}

/// `ControlMessage {1 common; 2 status}`.
fn control(payload: &[u8]) -> Result<DouyinEvent, ProtoError> {
    let mut status = 0i64;
    for_each_field(payload, |number, value| {
        if number == 2 {
            status = value.as_i64().unwrap_or(0);
        }
    })?;
    Ok(match status {
        3 => DouyinEvent::LiveEnded,
        status => DouyinEvent::Control { status },
    })
}

/// `Common {4 create_time}` (ms).
fn common_time(common: &[u8]) -> Result<u64, ProtoError> {
    let mut create_ms = 0;
    for_each_field(common, |number, value| {
        if number == 4 {
            create_ms = value.as_u64().unwrap_or(0);
        }
    })?;
    Ok(create_ms)
}

/// `User {1 id; 3 nickname; 1028 id_str}`; `id_str` is the fallback when `id` is 0.
fn read_user(bytes: &[u8]) -> Result<User, ProtoError> {
    let mut user = User::default();
    let mut id_str = None;
    for_each_field(bytes, |number, value| match number {
        1 => user.uid = value.as_u64().unwrap_or(0),
        3 => user.name = value.as_string().unwrap_or_default(),
        1028 => id_str = value.as_string(),
        _ => {}
    })?;
    if user.uid == 0 {
        user.uid = id_str.and_then(|s| s.parse().ok()).unwrap_or(0);
    }
    Ok(user)
}

#[cfg(test)]
mod tests;
