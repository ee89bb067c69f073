//! A fake Douyin webcast push server (the experimental chat): a WebSocket on the fake API's own
//! port at [`PUSH_PATH`], since the daemon routes every Douyin host through `api_base`. It
//! refuses a handshake without the broadcast's `room_id`, a `signature`, a `user_unique_id` or
//! the `ttwid` the fake API issued (HTTP 403, as a blocked device gets), records what it
//! accepted, counts the client's heartbeat frames, keeps its acks, and pushes what a test gives
//! it. Frames are built here with a protobuf writer of the tests' own (the daemon's reader is not
//! used to grade itself): `PushFrame {1 seq_id; 2 log_id; 6 payload_encoding; 7 payload_type;
//! 8 payload}`, the payload a gzip'd `Response {1 repeated Message {1 method; 2 payload};
//! 5 internal_ext; 9 need_ack}` (DANMAKU.md §D.4).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// Where the daemon opens the push connection, under the fake API's base.
pub const PUSH_PATH: &str = "/webcast100-ws-web-lq.douyin.com/webcast/im/push/v2/";

/// A protobuf message under construction.
#[derive(Default)]
pub struct Proto(Vec<u8>);

impl Proto {
    pub fn new() -> Self {
        Self::default()
    }

    fn varint_raw(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    pub fn varint(mut self, field: u64, v: u64) -> Self {
        self.varint_raw(field << 3);
        self.varint_raw(v);
        self
    }

    pub fn bytes(mut self, field: u64, b: &[u8]) -> Self {
        self.varint_raw((field << 3) | 2);
        self.varint_raw(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// The fields of one protobuf message: number -> varint or bytes (the last of each number).
/// Enough for the daemon's ack and heartbeat frames; panics on a malformed one.
pub fn fields(mut b: &[u8]) -> HashMap<u64, Field> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = b[0];
            *b = &b[1..];
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = HashMap::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        let value = match key & 7 {
            0 => Field::Varint(varint(&mut b)),
            2 => {
                let len = varint(&mut b) as usize;
                let (v, rest) = b.split_at(len);
                b = rest;
                Field::Bytes(v.to_vec())
            }
            other => panic!("wire type {other} in a client frame"),
        };
        out.insert(key >> 3, value);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Varint(u64),
    Bytes(Vec<u8>),
}

impl Field {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Field::Bytes(b) => b,
            Field::Varint(_) => &[],
        }
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A "msg" frame holding `messages` (method, payload), asking for an ack when `ack_ext` is
/// given (the client must send it back as is).
pub fn msg_frame(log_id: u64, messages: &[(&str, Vec<u8>)], ack_ext: Option<&[u8]>) -> Vec<u8> {
    let mut response = Proto::new();
    for (method, payload) in messages {
        let m = Proto::new()
            .bytes(1, method.as_bytes())
            .bytes(2, payload)
            .finish();
        response = response.bytes(1, &m);
    }
    if let Some(ext) = ack_ext {
        response = response.bytes(5, ext).varint(9, 1);
    }
    Proto::new()
        .varint(1, log_id + 1000)
        .varint(2, log_id)
        .bytes(6, b"gzip")
        .bytes(7, b"msg")
        .bytes(8, &gzip(&response.finish()))
        .finish()
}

/// `WebcastChatMessage {1 common {4 create_time}; 2 user {1 id; 3 nickname}; 3 content}`.
pub fn chat_message(uid: u64, nickname: &str, text: &str) -> (&'static str, Vec<u8>) {
    let common = Proto::new().varint(4, 1_763_712_000_000).finish();
    let user = Proto::new()
        .varint(1, uid)
        .bytes(3, nickname.as_bytes())
        .finish();
    let payload = Proto::new()
        .bytes(1, &common)
        .bytes(2, &user)
        .bytes(3, text.as_bytes())
        .finish();
    ("WebcastChatMessage", payload)
}

/// `WebcastControlMessage {2 status}`; status 3 says the live ended.
pub fn control_message(status: u64) -> (&'static str, Vec<u8>) {
    (
        "WebcastControlMessage",
        Proto::new().varint(2, status).finish(),
    )
}

/// What the daemon sent on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    Heartbeat,
    /// `log_id` and `internal_ext` of an ack.
    Ack(u64, Vec<u8>),
    Other(String),
}

/// An accepted handshake: its query parameters and headers.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub query: HashMap<String, String>,
    /// The raw query, to check how the signature was appended.
    pub raw_query: String,
    pub cookie: Option<String>,
    pub user_agent: String,
}

#[derive(Default)]
struct State {
    handshakes: Mutex<Vec<Handshake>>,
    refused: AtomicU64,
    frames: Mutex<Vec<(Instant, ClientFrame)>>,
    open: AtomicU64,
}

pub struct DouyinChat {
    state: Arc<State>,
    push: broadcast::Sender<Vec<u8>>,
}

impl Default for DouyinChat {
    fn default() -> Self {
        Self {
            state: Arc::default(),
            push: broadcast::channel(64).0,
        }
    }
}

impl DouyinChat {
    /// Sends a binary frame to every open connection.
    pub fn push(&self, frame: Vec<u8>) {
        let _ = self.push.send(frame);
    }

    pub fn handshakes(&self) -> Vec<Handshake> {
        self.state.handshakes.lock().unwrap().clone()
    }

    /// Handshakes refused for a missing parameter or a wrong ttwid.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::Relaxed)
    }

    /// What clients sent, in order, with when it came.
    pub fn frames(&self) -> Vec<(Instant, ClientFrame)> {
        self.state.frames.lock().unwrap().clone()
    }

    pub fn open(&self) -> u64 {
        self.state.open.load(Ordering::Relaxed)
    }

    /// Serves one connection whose request line named [`PUSH_PATH`]; `ttwid` is the cookie the
    /// fake API currently accepts.
    #[allow(clippy::result_large_err)] // the handshake callback's signature is tungstenite's
    pub async fn serve(&self, tcp: tokio::net::TcpStream, ttwid: String) {
        let state = self.state.clone();
        let check = state.clone();
        let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            let raw_query = req.uri().query().unwrap_or_default().to_string();
            let query: HashMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes())
                .into_owned()
                .collect();
            let header = |k: &str| {
                req.headers()
                    .get(k)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let cookie = header("cookie");
            let has = |k: &str| query.get(k).is_some_and(|v| !v.is_empty());
            let ttwid_ok = cookie
                .as_deref()
                .is_some_and(|c| c.split(';').any(|p| p.trim() == format!("ttwid={ttwid}")));
            if !(has("room_id") && has("signature") && has("user_unique_id") && ttwid_ok) {
                check.refused.fetch_add(1, Ordering::Relaxed);
                let mut refusal = ErrorResponse::new(Some("refused".into()));
                *refusal.status_mut() = StatusCode::FORBIDDEN;
                return Err(refusal);
            }
            check.handshakes.lock().unwrap().push(Handshake {
                query,
                raw_query,
                cookie,
                user_agent: header("user-agent").unwrap_or_default(),
            });
            Ok(resp)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
            return;
        };
        state.open.fetch_add(1, Ordering::Relaxed);
        let mut push = self.push.subscribe();
        loop {
            tokio::select! {
                msg = ws.next() => match msg {
                    Some(Ok(Message::Binary(b))) => {
                        let f = fields(&b);
                        let kind = f.get(&7).map(|v| String::from_utf8_lossy(v.bytes()).to_string());
                        let frame = match kind.as_deref() {
                            Some("hb") => ClientFrame::Heartbeat,
                            Some("ack") => ClientFrame::Ack(
                                match f.get(&2) {
                                    Some(Field::Varint(v)) => *v,
                                    _ => 0,
                                },
                                f.get(&8).map(|v| v.bytes().to_vec()).unwrap_or_default(),
                            ),
                            other => ClientFrame::Other(other.unwrap_or_default().to_string()),
                        };
                        state.frames.lock().unwrap().push((Instant::now(), frame));
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
                p = push.recv() => match p {
                    Ok(frame) => {
                        if ws.send(Message::Binary(frame.into())).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
            }
        }
        state.open.fetch_sub(1, Ordering::Relaxed);
    }
}
