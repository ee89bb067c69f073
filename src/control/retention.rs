//! `GET /api/retention` (the dry run: what a pass would delete now and what it keeps because
//! hooks are not done) and `POST /api/retention/run` (a pass now, which deletes exactly what
//! its plan lists at that moment). `liverec retention` is their client.

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
