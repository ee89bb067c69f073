//! A stream server on 127.0.0.1:0 that serves real FLV bytes the way a live CDN does: paced,
//! endless when asked, and with the faults tests need (offline, HTML, stalls, resets, hosts
//! that answer 200 and then send nothing or close at once).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::flv::{self, Tag};

/// What a path answers.
#[derive(Clone)]
pub enum Answer {
    /// 404: the stream is offline.
    Offline,
    Status(u16),
    Html,
    /// FLV tags from `tags`, paced at `speed` x real time (0 = as fast as possible), looped
    /// `loops` times (0 = forever) with timestamps continuing.
    Flv {
        tags: Arc<Vec<Tag>>,
        speed: f64,
        loops: usize,
        /// Stop sending (but keep the connection open) after this many bytes.
        stall_after: Option<usize>,
        /// Drop the connection after this many bytes.
        cut_after: Option<usize>,
        /// Answer 404 once the body has been sent completely (the live ended).
        offline_after: bool,
        /// Timestamps start here: a live CDN's stream goes on across connections, so a new
        /// connection's frames are not a replay of the last one's.
        start_ms: i32,
    },
    /// Raw bytes, as fast as possible (a file with faults of its own).
    Raw(Bytes),
    /// Raw bytes paced at `rate` bytes per second, then 404 once they were all sent.
    Paced {
        data: Bytes,
        rate: usize,
    },
    /// HTTP 200 with FLV headers, then not a byte; the connection stays open (a dead CDN
    /// node).
    Silent,
    /// HTTP 200 with FLV headers and an empty body: the connection closes at once.
    Closed,
}

impl Answer {
    pub fn flv(fixture: &str, speed: f64, loops: usize) -> Self {
        let data = flv::fixture(fixture);
        Answer::Flv {
            tags: Arc::new(flv::walk(&data).expect("fixture is valid FLV")),
            speed,
            loops,
            stall_after: None,
            cut_after: None,
            offline_after: false,
            start_ms: 0,
        }
    }
}

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
}

#[derive(Default)]
struct Shared {
    answers: Mutex<HashMap<String, Answer>>,
    stats: Mutex<HashMap<String, Arc<Stats>>>,
    /// Each response body sent on each path, for comparing with recordings.
    sent: Mutex<HashMap<String, Vec<Vec<u8>>>>,
    /// Answers for the next requests of a path, before its `answers` entry.
    queued: Mutex<HashMap<String, std::collections::VecDeque<Answer>>>,
    /// When each request came, and for which path.
    log: Mutex<Vec<(Instant, String)>>,
}

pub struct StreamServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl StreamServer {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::get(serve))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    pub fn set(&self, path: &str, answer: Answer) {
        self.shared
            .answers
            .lock()
            .unwrap()
            .insert(path.to_string(), answer);
    }

    /// The first request on `path` gets `answers[0]`, the next `answers[1]`, ...; the last
    /// one answers every request after them.
    pub fn set_sequence(&self, path: &str, mut answers: Vec<Answer>) {
        let last = answers.pop().expect("at least one answer");
        self.shared
            .queued
            .lock()
            .unwrap()
            .insert(path.to_string(), answers.into());
        self.set(path, last);
    }

    /// When each request on `path` came, in order.
    pub fn request_times(&self, path: &str) -> Vec<Instant> {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn stats(&self, path: &str) -> Arc<Stats> {
        self.shared
            .stats
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default()
            .clone()
    }

    /// The bodies sent on `path`, one per response.
    pub fn bodies(&self, path: &str) -> Vec<Vec<u8>> {
        self.shared
            .sent
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

async fn serve(State(shared): State<Arc<Shared>>, Path(path): Path<String>) -> Response {
    let stats = shared
        .stats
        .lock()
        .unwrap()
        .entry(path.clone())
        .or_default()
        .clone();
    stats.requests.fetch_add(1, Ordering::Relaxed);
    shared
        .log
        .lock()
        .unwrap()
        .push((Instant::now(), path.clone()));
    let queued = shared
        .queued
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(|q| q.pop_front());
    let answer = queued.unwrap_or_else(|| {
        shared
            .answers
            .lock()
            .unwrap()
            .get(&path)
            .cloned()
            .unwrap_or(Answer::Offline)
    });
    match answer {
        Answer::Offline => StatusCode::NOT_FOUND.into_response(),
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Html => (
            [(header::CONTENT_TYPE, "text/html")],
            "<!DOCTYPE html><html><body>Access denied</body></html>",
        )
            .into_response(),
        Answer::Silent => {
            let body =
                Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>());
            ([(header::CONTENT_TYPE, "video/x-flv")], body).into_response()
        }
        Answer::Closed => ([(header::CONTENT_TYPE, "video/x-flv")], Bytes::new()).into_response(),
        Answer::Raw(b) => {
            stats.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            shared
                .sent
                .lock()
                .unwrap()
                .entry(path)
                .or_default()
                .push(b.to_vec());
            ([(header::CONTENT_TYPE, "video/x-flv")], b).into_response()
        }
        Answer::Paced { data, rate } => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            let body_index = {
                let mut sent = shared.sent.lock().unwrap();
                let v = sent.entry(path.clone()).or_default();
                v.push(Vec::new());
                v.len() - 1
            };
            let shared2 = shared.clone();
            tokio::spawn(async move {
                let chunk = (rate / 20).max(1024);
                for piece in data.chunks(chunk) {
                    stats.bytes.fetch_add(piece.len() as u64, Ordering::Relaxed);
                    shared2.sent.lock().unwrap().get_mut(&path).unwrap()[body_index]
                        .extend_from_slice(piece);
                    if tx.send(Ok(Bytes::copy_from_slice(piece))).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                shared2
                    .answers
                    .lock()
                    .unwrap()
                    .insert(path, Answer::Offline);
            });
            (
                [(header::CONTENT_TYPE, "video/x-flv")],
                Body::from_stream(tokio_stream_from(rx)),
            )
                .into_response()
        }
        Answer::Flv {
            tags,
            speed,
            loops,
            stall_after,
            cut_after,
            offline_after,
            start_ms,
        } => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            let shared2 = shared.clone();
            let key = path.clone();
            let body_index = {
                let mut sent = shared.sent.lock().unwrap();
                let v = sent.entry(path.clone()).or_default();
                v.push(Vec::new());
                v.len() - 1
            };
            tokio::spawn(async move {
                let start = Instant::now();
                let mut sent = 0usize;
                let send = |chunk: Vec<u8>| {
                    stats.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    shared2.sent.lock().unwrap().get_mut(&key).unwrap()[body_index]
                        .extend_from_slice(&chunk);
                    chunk
                };
                let span = tags.last().map_or(0, |t| t.ts) + 40;
                let header = send(flv::HEADER.to_vec());
                sent += header.len();
                if tx.send(Ok(Bytes::from(header))).await.is_err() {
                    return;
                }
                let mut round = 0usize;
                let mut completed = false;
                'outer: loop {
                    let offset = (round as i32) * span;
                    let shown = offset + start_ms;
                    let mut batch = Vec::new();
                    for (i, t) in tags.iter().enumerate() {
                        // The first round carries the sequence headers and metadata; later rounds
                        // continue the same stream, as a live stream would.
                        if round > 0 && (t.kind == 18 || t.is_seq_header()) {
                            continue;
                        }
                        batch.extend(flv::encode_tag(t.kind, t.ts + shown, &t.body));
                        let last = i + 1 == tags.len();
                        let due = if speed > 0.0 {
                            Duration::from_secs_f64((t.ts + offset).max(0) as f64 / 1000.0 / speed)
                        } else {
                            Duration::ZERO
                        };
                        if batch.len() >= 16 * 1024
                            || last
                            || (speed > 0.0 && start.elapsed() < due)
                        {
                            if let Some(limit) = cut_after.or(stall_after) {
                                if sent + batch.len() > limit {
                                    batch.truncate(limit.saturating_sub(sent));
                                    let chunk = send(std::mem::take(&mut batch));
                                    let _ = tx.send(Ok(Bytes::from(chunk))).await;
                                    if stall_after.is_some() && cut_after.is_none() {
                                        // Hold the connection open without sending a byte.
                                        tokio::time::sleep(Duration::from_secs(3600)).await;
                                    }
                                    // Let hyper put the last chunk on the wire first: an
                                    // error aborts the connection, dropping what it still
                                    // buffers, and the test counts those bytes as served.
                                    tokio::time::sleep(Duration::from_millis(200)).await;
                                    let _ = tx.send(Err(std::io::Error::other("cut"))).await;
                                    return;
                                }
                            }
                            sent += batch.len();
                            let chunk = send(std::mem::take(&mut batch));
                            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                                return;
                            }
                            if speed > 0.0 && start.elapsed() < due {
                                tokio::time::sleep(due.saturating_sub(start.elapsed())).await;
                            }
                        }
                        if tx.is_closed() {
                            break 'outer;
                        }
                    }
                    round += 1;
                    if loops != 0 && round >= loops {
                        completed = true;
                        break;
                    }
                }
                if offline_after && completed {
                    shared2.answers.lock().unwrap().insert(key, Answer::Offline);
                }
            });
            let body = Body::from_stream(tokio_stream_from(rx));
            ([(header::CONTENT_TYPE, "video/x-flv")], body).into_response()
        }
    }
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
