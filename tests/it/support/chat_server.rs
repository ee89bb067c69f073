//! A fake Bilibili chat server: WebSocket on 127.0.0.1:0 at `/sub`. It checks the auth packet
//! (operation 7, version 1, sequence 1, the JSON fields), answers it, answers heartbeats with
//! the real server's quirky reply (a packet length that counts only the popularity), and pushes
//! what a test gives it, to every connection. Faults: a refused token, an abrupt close.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// One packet: the 16-byte header and the body.
pub fn packet(version: u16, op: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&16u16.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// An operation-5 command, version 0.
pub fn command(json: &Value) -> Vec<u8> {
    packet(0, 5, 0, json.to_string().as_bytes())
}

/// Version 2: the packets zlib-compressed inside one packet.
pub fn zlib(inner: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(inner).unwrap();
    packet(2, 5, 0, &e.finish().unwrap())
}

/// Version 3: the packets in a brotli stream of one stored meta-block, as the real server
/// sends small payloads (no encoder needed).
pub fn brotli(inner: &[u8]) -> Vec<u8> {
    let l = inner.len() - 1;
    let mut body = vec![
        0x0B | (((l & 1) as u8) << 7),
        ((l >> 1) & 0xFF) as u8,
        (((l >> 9) & 0x7F) as u8) | 0x80,
    ];
    body.extend_from_slice(inner);
    body.push(0x03);
    packet(3, 5, 0, &body)
}

/// `DANMU_MSG` from `uid`/`name` saying `text`.
pub fn danmu(uid: u64, name: &str, text: &str) -> Value {
    serde_json::json!({"cmd": "DANMU_MSG:4:0:2:2:2:0", "info": [
        [0, 1, 25, 16777215, 1723979200649i64, -1, 0, "0bc8acd0", 0, 0, 0, "", 0, "{}", "{}", {}],
        text, [uid, name, 0, 0, 0, 10000, 1, ""], [], [39, 0, 10512625, 42523, 2], ["", ""],
        0, 0, null, {"ct": "AFFF4206", "ts": 1723979200}, 0, 0, null, null, 0, 1040, [49], null
    ]})
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The auth reply says `{"code":-101}`, then the server closes.
    TokenError,
    /// Heartbeats go unanswered and pushes are not sent; the connection stays open (a dead
    /// path that no TCP error reports).
    Silent,
}

#[derive(Clone, Debug)]
enum Push {
    Frame(Vec<u8>),
    /// Drop every connection without a close frame.
    Drop,
}

#[derive(Default)]
struct Shared {
    /// Every auth body received, in order, and whether its header was right.
    auths: Mutex<Vec<(Value, bool)>>,
    /// User-Agent and Cookie headers of each handshake.
    handshakes: Mutex<Vec<(String, Option<String>, String)>>,
    heartbeats: AtomicU64,
    authenticated: AtomicU64,
    open: AtomicU64,
    fault: Mutex<Option<Fault>>,
    /// When each pushed frame was handed to a connection's socket.
    sent: Mutex<Vec<Instant>>,
    /// When anything (an auth or heartbeat reply, a push) was last sent on any connection.
    last_sent: Mutex<Option<Instant>>,
    /// When each connection ended.
    closed: Mutex<Vec<Instant>>,
}

pub struct ChatServer {
    pub port: u16,
    shared: Arc<Shared>,
    push: broadcast::Sender<Push>,
}

impl ChatServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let (push, _) = broadcast::channel(1024);
        let (s, p) = (shared.clone(), push.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp, s.clone(), p.subscribe()));
            }
        });
        Self { port, shared, push }
    }

    /// Sends a binary message to every open connection.
    pub fn push(&self, bytes: Vec<u8>) {
        let _ = self.push.send(Push::Frame(bytes));
    }

    /// Cuts every connection (no close frame).
    pub fn drop_all(&self) {
        let _ = self.push.send(Push::Drop);
    }

    pub fn fault(&self, f: Option<Fault>) {
        *self.shared.fault.lock().unwrap() = f;
    }

    pub fn auths(&self) -> Vec<(Value, bool)> {
        self.shared.auths.lock().unwrap().clone()
    }

    /// (User-Agent, Cookie, path) of each handshake.
    pub fn handshakes(&self) -> Vec<(String, Option<String>, String)> {
        self.shared.handshakes.lock().unwrap().clone()
    }

    pub fn heartbeats(&self) -> u64 {
        self.shared.heartbeats.load(Ordering::Relaxed)
    }

    /// Connections whose auth was accepted.
    pub fn authenticated(&self) -> u64 {
        self.shared.authenticated.load(Ordering::Relaxed)
    }

    /// When each pushed frame left for a connection (a test's clock for what the daemon got,
    /// not for when the test asked: under load the fake server's task runs late too).
    pub fn sent_times(&self) -> Vec<Instant> {
        self.shared.sent.lock().unwrap().clone()
    }

    /// When anything was last sent, on any connection.
    pub fn last_sent(&self) -> Option<Instant> {
        *self.shared.last_sent.lock().unwrap()
    }

    /// When each connection ended, in order.
    pub fn closed_times(&self) -> Vec<Instant> {
        self.shared.closed.lock().unwrap().clone()
    }

    /// Connections open now (authenticated or not).
    pub fn open(&self) -> u64 {
        self.shared.open.load(Ordering::Relaxed)
    }
}

#[allow(clippy::result_large_err)] // the handshake callback's signature is tungstenite's
async fn serve(tcp: tokio::net::TcpStream, s: Arc<Shared>, mut push: broadcast::Receiver<Push>) {
    let hs = s.clone();
    let callback = move |req: &Request, resp: Response| {
        let h = |k: &str| {
            req.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        hs.handshakes.lock().unwrap().push((
            h("user-agent").unwrap_or_default(),
            h("cookie"),
            req.uri().path().to_string(),
        ));
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    s.open.fetch_add(1, Ordering::Relaxed);
    let _open = Guard(s.clone());
    // The auth packet, within 5 s (the real server's rule).
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    let Ok(Some(Ok(Message::Binary(b)))) = first else {
        return;
    };
    let header_ok = b.len() > 16
        && u32::from_be_bytes(b[0..4].try_into().unwrap()) as usize == b.len()
        && b[4..6] == [0, 16]
        && b[6..8] == [0, 1]
        && b[8..12] == [0, 0, 0, 7]
        && b[12..16] == [0, 0, 0, 1];
    let body: Value = serde_json::from_slice(&b[16.min(b.len())..]).unwrap_or(Value::Null);
    s.auths.lock().unwrap().push((body, header_ok));
    let fault = *s.fault.lock().unwrap();
    if fault == Some(Fault::TokenError) {
        let _ = ws
            .send(Message::Binary(packet(1, 8, 1, br#"{"code":-101}"#).into()))
            .await;
        let _ = ws.close(None).await;
        return;
    }
    if ws
        .send(Message::Binary(packet(1, 8, 1, br#"{"code":0}"#).into()))
        .await
        .is_err()
    {
        return;
    }
    *s.last_sent.lock().unwrap() = Some(Instant::now());
    s.authenticated.fetch_add(1, Ordering::Relaxed);
    let silent = || *s.fault.lock().unwrap() == Some(Fault::Silent);
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(b))) if b.len() >= 16 && b[8..12] == [0, 0, 0, 2] => {
                    s.heartbeats.fetch_add(1, Ordering::Relaxed);
                    if silent() {
                        continue;
                    }
                    // The quirk: length 20 (header + popularity), then the echoed body.
                    let mut reply = packet(1, 3, 0, &2466u32.to_be_bytes());
                    reply.extend_from_slice(&b[16..]);
                    if ws.send(Message::Binary(reply.into())).await.is_err() {
                        return;
                    }
                    *s.last_sent.lock().unwrap() = Some(Instant::now());
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            p = push.recv() => match p {
                Ok(Push::Frame(_)) if silent() => {}
                Ok(Push::Frame(bytes)) => {
                    if ws.send(Message::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                    let now = Instant::now();
                    s.sent.lock().unwrap().push(now);
                    *s.last_sent.lock().unwrap() = Some(now);
                }
                Ok(Push::Drop) => return,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
        }
    }
}

struct Guard(Arc<Shared>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.closed.lock().unwrap().push(Instant::now());
    }
}
