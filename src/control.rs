//! The control API: JSON over HTTP on a TCP address or a Unix socket. Status, the recent
//! events and their live stream, room actions (check now, split, restart), reload, Prometheus
//! metrics, a health check, and the status page at `/`. With a token
//! set, every endpoint but `/healthz` and the page's files needs `Authorization: Bearer
//! <token>`; a non-loopback address cannot be configured without one. Browsers' requests from
//! other pages are refused (`guard`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigErrors, Listen};
use crate::room::{RoomCmd, RoomSnapshot};

pub(crate) mod client;
mod guard;
mod history;
mod metrics;
mod page;
mod retention;
mod state;
mod stream;

pub(crate) use state::{ControlState, DaemonCmd};

/// Request bodies larger than this are refused (413).
const BODY_LIMIT: usize = 16 * 1024;

/// The running server; dropping it stops it.
pub(crate) struct ControlServer {
    cancel: CancellationToken,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The daemon's whole status, as `GET /api/status` returns it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Status {
    pub(crate) version: String,
    /// The commit the daemon was built from (`unknown` outside git); absent from older daemons.
    #[serde(default)]
    pub(crate) commit: String,
    pub(crate) pid: u32,
    pub(crate) started: chrono::DateTime<chrono::FixedOffset>,
    pub(crate) config: String,
    pub(crate) disk_free_bytes: u64,
    /// The size of the file system under `output_dir` (0 before the first reading).
    #[serde(default)]
    pub(crate) disk_total_bytes: u64,
    pub(crate) disk_low: bool,
    pub(crate) rooms: Vec<RoomSnapshot>,
    /// Hook and webhook deliveries.
    #[serde(default)]
    pub(crate) hooks: Vec<crate::hooks::TargetStats>,
    /// The rooms' bitrates of the last ten minutes (the status page's sparklines).
    #[serde(default)]
    pub(crate) bitrate_history: history::BitrateHistoryJson,
    /// Retention: deleted so far, held by hooks, the next pass.
    #[serde(default)]
    pub(crate) retention: crate::retention::Stats,
    /// Per platform with a login cookie: whether it is logged in (`null` until known).
    #[serde(default)]
    pub(crate) logins: std::collections::BTreeMap<String, Option<bool>>,
}

/// Where `liverec status` finds a daemon whose configured port is 0.
pub(crate) fn address_file(config: &Config) -> std::path::PathBuf {
    config.state_dir.join("control.json")
}

/// Starts the API. A bind failure is logged, not fatal: recording matters more than the API.
pub(crate) async fn serve(config: &Config, shared: Arc<ControlState>) -> Option<ControlServer> {
    let cancel = CancellationToken::new();
    let tcp = matches!(config.control.listen, Listen::Tcp(_));
    let app = router(shared.clone(), tcp);
    let stop = cancel.clone();
    let shutdown = async move { stop.cancelled().await };
    let actual = match &config.control.listen {
        Listen::Tcp(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => {
                let actual = l
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| addr.to_string());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(l, app).with_graceful_shutdown(shutdown).await {
                        tracing::error!("control API stopped: {e}");
                    }
                });
                actual
            }
            Err(e) => {
                tracing::error!(
                    "control API: cannot listen on {addr}: {e}; recording goes on without it"
                );
                return None;
            }
        },
        Listen::Unix(path) => {
            // A socket file left by a previous run would make bind fail.
            let _ = std::fs::remove_file(path);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match tokio::net::UnixListener::bind(path) {
                Ok(l) => {
                    tokio::spawn(async move {
                        if let Err(e) = axum::serve(l, app).with_graceful_shutdown(shutdown).await {
                            tracing::error!("control API stopped: {e}");
                        }
                    });
                    format!("unix:{}", path.display())
                }
                Err(e) => {
                    tracing::error!(
                        "control API: cannot listen on {}: {e}; recording goes on without it",
                        path.display()
                    );
                    return None;
                }
            }
        }
    };
    let note = serde_json::json!({ "listen": actual, "pid": std::process::id() });
    // Written aside and renamed: `liverec status` (or a script) reading it at this moment
    // sees the old note or the new one, never an empty file.
    let file = address_file(config);
    let aside = file.with_extension("json.tmp");
    if let Err(e) =
        std::fs::write(&aside, note.to_string()).and_then(|()| std::fs::rename(&aside, &file))
    {
        tracing::debug!("cannot write {}: {e}", file.display());
    }
    tracing::info!("control API on {actual}");
    history::sample(shared, cancel.clone());
    Some(ControlServer { cancel })
}

fn router(shared: Arc<ControlState>, tcp: bool) -> Router {
    let streams = Arc::new(stream::Streams::new());
    let api = Router::new()
        .route("/api/status", get(status))
        .route("/api/events", get(events))
        .route(
            "/api/events/stream",
            get(move |State(shared): State<Arc<ControlState>>| async move {
                streams.open(shared.hooks().subscribe())
            }),
        )
        .route("/api/reload", post(reload))
        .route("/api/cluster/drain", post(drain))
        .route("/api/rooms/{key}/{action}", post(room_action))
        .route("/api/retention", get(retention::dry_run))
        .route("/api/retention/run", post(retention::run))
        .route("/api/retention/release", post(retention::release))
        .route("/metrics", get(metrics_text))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            require_token,
        ))
        .layer(middleware::from_fn_with_state(
            (shared.clone(), tcp),
            guard::guard,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(page::routes())
        .merge(api)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint (see /, /api/status, /api/events, /api/events/stream, /api/reload, /api/rooms/{key}/check|split|restart, /api/retention, /api/retention/run|release, /metrics, /healthz)") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (
        code,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
        .into_response()
}

/// Compares in constant time, so a token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(
    State(shared): State<Arc<ControlState>>,
    headers: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    if let Some(token) = shared.token() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same(given.trim().as_bytes(), token.expose().as_bytes()) {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer <control.token>)",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
    }
    next.run(req).await
}

/// Optional JSON body of the POST endpoints. Unknown keys are errors, like in the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    /// Shown in the log line of the action (e.g. "publish hook from srs").
    reason: Option<String>,
}

/// The body, or the message of a 400 answer.
fn parse_body(body: &Bytes) -> Result<ActionBody, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody { reason: None });
    }
    serde_json::from_slice(body)
        .map_err(|e| format!("bad JSON body: {e} (accepted: {{\"reason\": \"...\"}} or nothing)"))
}

async fn status(State(shared): State<Arc<ControlState>>) -> Response {
    let rooms: Vec<RoomSnapshot> = shared.rooms().iter().map(|h| h.snapshot()).collect();
    let status = Status {
        version: crate::build_info::VERSION.into(),
        commit: crate::build_info::COMMIT.into(),
        pid: std::process::id(),
        started: shared.started(),
        config: shared.config_file().display().to_string(),
        disk_free_bytes: shared.disk_free(),
        disk_total_bytes: shared.disk_total(),
        disk_low: shared.disk_low(),
        rooms,
        hooks: shared.hooks().stats(),
        bitrate_history: shared.bitrates().json(),
        retention: shared.retention().map(|r| r.stats()).unwrap_or_default(),
        logins: shared.logins(),
    };
    axum::Json(status).into_response()
}

/// The last events, oldest first, in the one event shape hooks and webhooks get.
async fn events(State(shared): State<Arc<ControlState>>) -> Response {
    axum::Json(shared.hooks().recent()).into_response()
}

async fn room_action(
    State(shared): State<Arc<ControlState>>,
    Path((key, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let cmd = match action.as_str() {
        "check" => RoomCmd::CheckNow,
        "split" => RoomCmd::Split,
        "restart" => RoomCmd::Restart,
        other => {
            return error(
                StatusCode::NOT_FOUND,
                format!("unknown action {other:?} (check, split, restart)"),
            );
        }
    };
    let rooms = shared.rooms();
    let Some(room) = rooms.iter().find(|h| h.key.to_string() == key) else {
        let known: Vec<String> = rooms.iter().map(|h| h.key.to_string()).collect();
        return error(
            StatusCode::NOT_FOUND,
            format!("no room {key:?} (rooms: {})", known.join(", ")),
        );
    };
    let reason = body.reason.as_deref().unwrap_or("API");
    tracing::info!(key = %key, "{action} requested through the API ({reason})");
    if room.send(cmd) {
        (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "ok": true, "key": key, "action": action })),
        )
            .into_response()
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the room is busy; try again",
        )
    }
}

async fn reload(State(shared): State<Arc<ControlState>>, body: Bytes) -> Response {
    if let Err(e) = parse_body(&body) {
        return error(StatusCode::BAD_REQUEST, e);
    }
    if shared.shutting_down() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "liverec is shutting down");
    }
    let (tx, rx) = oneshot::channel();
    let cmd = DaemonCmd::Reload {
        source: "API",
        reply: Some(tx),
    };
    if !shared.send(cmd).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, "liverec is shutting down");
    }
    match rx.await {
        Ok(Ok(summary)) => {
            axum::Json(serde_json::json!({ "ok": true, "summary": summary })).into_response()
        }
        Ok(Err(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(rejected_body(&errors)),
        )
            .into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "liverec is shutting down"),
    }
}

/// `liverec cluster drain`: the daemon takes nothing new and exits once its sessions end.
async fn drain(State(shared): State<Arc<ControlState>>, body: Bytes) -> Response {
    if let Err(e) = parse_body(&body) {
        return error(StatusCode::BAD_REQUEST, e);
    }
    let (tx, rx) = oneshot::channel();
    if !shared.send(DaemonCmd::Drain { reply: tx }).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, "liverec is shutting down");
    }
    match rx.await {
        Ok(summary) => {
            axum::Json(serde_json::json!({ "ok": true, "summary": summary })).into_response()
        }
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "liverec is shutting down"),
    }
}

/// A rejected reload's 422 body: each problem as the log line `check` prints (`problems`) and
/// as an object with its parts (`details`: file, line or null, key, reason).
fn rejected_body(errors: &ConfigErrors) -> serde_json::Value {
    let file = errors.file.display().to_string();
    let details: Vec<serde_json::Value> = errors
        .problems
        .iter()
        .map(|p| serde_json::json!({ "file": file, "line": p.line, "key": p.key, "reason": p.reason }))
        .collect();
    serde_json::json!({
        "error": "the config file has problems; the running config stays in effect",
        "problems": errors.lines().collect::<Vec<_>>(),
        "details": details,
    })
}

async fn metrics_text(State(shared): State<Arc<ControlState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&shared),
    )
        .into_response()
}
