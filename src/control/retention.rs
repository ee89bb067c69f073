//! `GET /api/retention` (the dry run: what a pass would delete now and what it keeps because
//! hooks are not done) and `POST /api/retention/run` (a pass now, which deletes exactly what
//! its plan lists at that moment), and `POST /api/retention/release` (`{"path": "…"}`: a
//! segment whose delivery gave up may go). `liverec retention` is their client.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{ControlState, error, parse_body};

pub(super) async fn dry_run(State(shared): State<Arc<ControlState>>) -> Response {
    let Some(r) = shared.retention() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "retention is not running yet",
        );
    };
    match r.dry_run().await {
        Ok(plan) => axum::Json(plan).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

pub(super) async fn run(State(shared): State<Arc<ControlState>>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Some(r) = shared.retention() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "retention is not running yet",
        );
    };
    tracing::info!(
        "retention pass requested through the API ({})",
        body.reason.as_deref().unwrap_or("API")
    );
    match r.run().await {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    path: std::path::PathBuf,
}

pub(super) async fn release(State(shared): State<Arc<ControlState>>, body: Bytes) -> Response {
    let body: ReleaseBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("bad JSON body: {e} (expected {{\"path\": \"/path/of/the/segment\"}})"),
            );
        }
    };
    let Some(r) = shared.retention() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "retention is not running yet",
        );
    };
    match r.release(&body.path).await {
        Ok(()) => axum::Json(serde_json::json!({ "ok": true, "path": body.path })).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, e),
    }
}
