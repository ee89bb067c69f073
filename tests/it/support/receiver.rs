//! A catch-all HTTP receiver on 127.0.0.1:0 standing in for notification services (Telegram,
//! ntfy, Gotify, Bark, Discord, Slack): it keeps every request (method, path with query,
//! headers, body) and answers 200 with `{"ok": true, "code": 200}` (what Telegram and Bark
//! answer), or the status a test sets for the paths under a prefix.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;

/// One request the receiver got, and what it answered.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    /// The path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub status: u16,
}

impl Hit {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: not JSON ({e}): {:?}",
                self.method, self.path, self.body
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    hits: Mutex<Vec<Hit>>,
    /// Path prefix -> the status to answer there.
    fail: Mutex<HashMap<String, u16>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

async fn take(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let status = shared
        .fail
        .lock()
        .unwrap()
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, s)| *s)
        .unwrap_or(200);
    shared.hits.lock().unwrap().push(Hit {
        method: method.to_string(),
        path,
        headers,
        body,
        status,
    });
    let answer = if status == 200 {
        r#"{"ok":true,"code":200,"message":"success"}"#
    } else {
        r#"{"ok":false,"description":"try again later"}"#
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        answer,
    )
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(take)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers `status` to the paths under `prefix` (`None`: 200 again).
    pub fn fail(&self, prefix: &str, status: Option<u16>) {
        let mut fail = self.shared.fail.lock().unwrap();
        match status {
            Some(s) => fail.insert(prefix.to_string(), s),
            None => fail.remove(prefix),
        };
    }

    /// The requests to paths under `prefix`, in order.
    pub fn hits(&self, prefix: &str) -> Vec<Hit> {
        self.shared
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}
