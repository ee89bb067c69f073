//! The Bilibili live chat WebSocket packet codec: bytes in, packets out; packets in, bytes out.
//!
//! Facts from DANMAKU.md §A.2/§A.3 (which cites bilibili-API-collect `message_stream.md`,
//! blivedm `ws_base.py`, BililiveRecorder `DanmakuClient.cs` and rust-srec `decode_packets`):
//!
//! - Every binary WebSocket message holds one or more packets, each a 16-byte big-endian header
//!   (packet length including the header, header length 16, protocol version, operation,
//!   sequence) and a body.
//! - Version 0 bodies are JSON, version 1 bodies are heartbeat/auth payloads, version 2 bodies
//!   are zlib and version 3 bodies brotli, each holding further packets.
//! - Operations: 2 heartbeat and 7 auth go up; 3 heartbeat reply, 5 command and 8 auth reply
//!   come down.
//! - The operation-3 quirk: the heartbeat reply's body is a 4-byte popularity followed by an
//!   echo of the client's heartbeat body, and the packet length counts only the 4 bytes. So the
//!   popularity is read and the rest of that WebSocket message is ignored, as blivedm does.
//!
//! Decoding never panics and bounds memory: inflated bytes per message, nesting depth and the
//! number of packets are capped ([`Limits`]).

use super::inflate::{Codec, InflateError, inflate};

pub const HEADER_LEN: usize = 16;

/// Protocol versions (header bytes 6..8).
pub mod version {
    /// Uncompressed JSON body.
    pub const JSON: u16 = 0;
    /// Uncompressed heartbeat/auth body.
    pub const PLAIN: u16 = 1;
    /// zlib body holding packets.
    pub const ZLIB: u16 = 2;
    /// brotli body holding packets.
    pub const BROTLI: u16 = 3;
}

/// Operations (header bytes 8..12); only these five are used (blivedm `ws_base.py`).
pub mod op {
    #[cfg(test)]
    pub const HEARTBEAT: u32 = 2;
    pub const HEARTBEAT_REPLY: u32 = 3;
    pub const COMMAND: u32 = 5;
    pub const AUTH: u32 = 7;
    pub const AUTH_REPLY: u32 = 8;
}

/// The heartbeat the web client sends: operation 2, version 1, sequence 1, body
/// `[object Object]` (rust-srec's `HEARTBEAT` constant, the BAC example; DANMAKU.md §F.3).
pub const HEARTBEAT_PACKET: &[u8] = &[
    0x00, 0x00, 0x00, 0x1f, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
    b'[', b'o', b'b', b'j', b'e', b'c', b't', b' ', b'O', b'b', b'j', b'e', b'c', b't', b']',
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub packet_len: u32,
    pub header_len: u16,
    pub version: u16,
    pub operation: u32,
    pub sequence: u32,
}

impl Header {
    /// Reads the header at the start of `bytes`; `None` when fewer than 16 bytes are there.
    pub fn read(bytes: &[u8]) -> Option<Header> {
        let h: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header {
            packet_len: u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
            header_len: u16::from_be_bytes([h[4], h[5]]),
            version: u16::from_be_bytes([h[6], h[7]]),
            operation: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
            sequence: u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
        })
    }

    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&self.packet_len.to_be_bytes());
        out[4..6].copy_from_slice(&self.header_len.to_be_bytes());
        out[6..8].copy_from_slice(&self.version.to_be_bytes());
        out[8..12].copy_from_slice(&self.operation.to_be_bytes());
        out[12..16].copy_from_slice(&self.sequence.to_be_bytes());
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet body of {len} bytes does not fit a 32-bit packet length")]
    BodyTooLarge { len: usize },
    #[error("{available} stray bytes at byte {offset}, too few for a packet header")]
    ShortHeader { offset: usize, available: usize },
    #[error(
        "packet at byte {offset} has an impossible length {packet_len} (header length {header_len})"
    )]
    BadLength {
        offset: usize,
        packet_len: u32,
        header_len: u16,
    },
    #[error("packet at byte {offset} claims {packet_len} bytes but only {available} remain")]
    Truncated {
        offset: usize,
        packet_len: u32,
        available: usize,
    },
    #[error("compressed packets nested deeper than {max_depth} levels")]
    TooDeep { max_depth: u8 },
    #[error("more than {limit} packets in one message")]
    TooManyPackets { limit: usize },
    #[error("decompressed packets exceed {limit} bytes in one message")]
    InflatedTooLarge { limit: usize },
    #[error(transparent)]
    Inflate(InflateError),
}

/// Builds one packet.
pub fn encode(
    version: u16,
    operation: u32,
    sequence: u32,
    body: &[u8],
) -> Result<Vec<u8>, PacketError> {
    let packet_len = body
        .len()
        .checked_add(HEADER_LEN)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(PacketError::BodyTooLarge { len: body.len() })?;
    let header = Header {
        packet_len,
        header_len: HEADER_LEN as u16,
        version,
        operation,
        sequence,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// What the auth packet says (DANMAKU.md §A.3 step 2).
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    /// 0 when anonymous; the login user's mid only when the cookie also holds `SESSDATA`
    /// (a non-zero uid must match the token's user, or the server disconnects).
    pub uid: u64,
    /// The long (real) room id.
    pub room_id: u64,
    /// The `token` from `getDanmuInfo`.
    pub key: &'a str,
    /// The `buvid3` cookie sent with `getDanmuInfo`; omitted when `None`.
    pub buvid: Option<&'a str>,
}

/// The auth packet: operation 7, version 1, sequence 1, a compact JSON body asking for brotli
/// (`protover` 3) as the web client does. Keys are written in the order the notes show; the
/// server does not care, but the byte layout in DANMAKU.md §F.3 then matches exactly.
pub fn auth_packet(auth: &Auth<'_>) -> Result<Vec<u8>, PacketError> {
    // Value's Display writes a correctly escaped JSON string and cannot fail.
    let key = serde_json::Value::from(auth.key);
    let mut body = format!(
        r#"{{"uid":{},"roomid":{},"protover":3,"platform":"web","type":2,"key":{key}"#,
        auth.uid, auth.room_id
    );
    if let Some(buvid) = auth.buvid {
        body.push_str(&format!(r#","buvid":{}"#, serde_json::Value::from(buvid)));
    }
    body.push('}');
    encode(version::PLAIN, op::AUTH, 1, body.as_bytes())
}

/// Caps that keep one WebSocket message's decoding bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed bytes per message, over all nesting levels.
    pub max_inflated: usize,
    /// Compressed bodies inside compressed bodies; the server uses 1.
    pub max_depth: u8,
    /// Packets per message.
    pub max_packets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated: 8 << 20,
            max_depth: 2,
            max_packets: 4096,
        }
    }
}

/// One decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Operation 3: the room's popularity figure; proof the connection is alive.
    HeartbeatReply { popularity: u32 },
    /// Operation 5: a JSON command body (never empty: empty bodies are skipped, as blivedm does).
    Command(Vec<u8>),
    /// Operation 8: `code` 0 means authenticated; `None` when the body was not `{"code":N}`.
    AuthReply { code: Option<i64> },
    /// A version or operation this client does not use.
    Unhandled { version: u16, operation: u32 },
}

/// What one WebSocket message held: the packets read before anything went wrong, and what
/// went wrong, if anything. Keeping the packets that did decode means one bad packet at the
/// end of a message does not cost the chat lines before it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub packets: Vec<Packet>,
    pub error: Option<PacketError>,
}

/// Decodes one binary WebSocket message.
pub fn decode_message(message: &[u8], limits: &Limits) -> Decoded {
    let mut walk = Walk {
        limits,
        inflated: 0,
        out: Decoded::default(),
    };
    if let Err(e) = walk.packets(message, 0) {
        walk.out.error = Some(e);
    }
    walk.out
}

struct Walk<'l> {
    limits: &'l Limits,
    inflated: usize,
    out: Decoded,
}

/// Whether the rest of the message is still to be read.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

impl Walk<'_> {
    fn packets(&mut self, buf: &[u8], depth: u8) -> Result<Flow, PacketError> {
        let mut offset = 0;
        while offset < buf.len() {
            let rest = &buf[offset..];
            let header = Header::read(rest).ok_or(PacketError::ShortHeader {
                offset,
                available: rest.len(),
            })?;
            let bad_length = PacketError::BadLength {
                offset,
                packet_len: header.packet_len,
                header_len: header.header_len,
            };
            let header_len = usize::from(header.header_len);
            if header_len < HEADER_LEN {
                return Err(bad_length);
            }
            if header.operation == op::HEARTBEAT_REPLY && header.version <= version::PLAIN {
                // The quirk: read the 4 bytes after the header whatever the packet length
                // says, then stop reading this message (blivedm does not loop here either).
                let popularity = rest
                    .get(header_len..header_len + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_be_bytes)
                    .ok_or(PacketError::Truncated {
                        offset,
                        packet_len: header.packet_len,
                        available: rest.len(),
                    })?;
                self.push(Packet::HeartbeatReply { popularity })?;
                return Ok(Flow::Stop);
            }
            let packet_len = usize::try_from(header.packet_len).map_err(|_| bad_length.clone())?;
            if packet_len < header_len {
                return Err(bad_length);
            }
            let packet = rest.get(..packet_len).ok_or(PacketError::Truncated {
                offset,
                packet_len: header.packet_len,
                available: rest.len(),
            })?;
            let body = &packet[header_len..];
            let flow = match header.version {
                version::ZLIB => self.nested(Codec::Zlib, body, depth)?,
                version::BROTLI => self.nested(Codec::Brotli, body, depth)?,
                version::JSON | version::PLAIN => {
                    self.plain(header.version, header.operation, body)?;
                    Flow::Continue
                }
                other => {
                    self.push(Packet::Unhandled {
                        version: other,
                        operation: header.operation,
                    })?;
                    Flow::Continue
                }
            };
            if flow == Flow::Stop {
                return Ok(Flow::Stop);
            }
            offset += packet_len;
        }
        Ok(Flow::Continue)
    }

    fn nested(&mut self, codec: Codec, body: &[u8], depth: u8) -> Result<Flow, PacketError> {
        if depth >= self.limits.max_depth {
            return Err(PacketError::TooDeep {
                max_depth: self.limits.max_depth,
            });
        }
        let budget = self.limits.max_inflated.saturating_sub(self.inflated);
        let inner = inflate(codec, body, budget).map_err(|e| match e {
            InflateError::TooLarge { .. } => PacketError::InflatedTooLarge {
                limit: self.limits.max_inflated,
            },
            corrupt => PacketError::Inflate(corrupt),
        })?;
        self.inflated += inner.len();
        self.packets(&inner, depth + 1)
    }

    fn plain(&mut self, version: u16, operation: u32, body: &[u8]) -> Result<(), PacketError> {
        match operation {
            op::COMMAND if body.is_empty() => Ok(()),
            op::COMMAND => self.push(Packet::Command(body.to_vec())),
            op::AUTH_REPLY => self.push(Packet::AuthReply {
                code: serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("code").and_then(serde_json::Value::as_i64)),
            }),
            operation => self.push(Packet::Unhandled { version, operation }),
        }
    }

    fn push(&mut self, packet: Packet) -> Result<(), PacketError> {
        if self.out.packets.len() >= self.limits.max_packets {
            return Err(PacketError::TooManyPackets {
                limit: self.limits.max_packets,
            });
        }
        self.out.packets.push(packet);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
