//! The Okta Event Hooks front door: `/hooks/okta/{directory_id}`. Okta's
//! one-time verification is a GET carrying `X-Okta-Verification-Challenge`
//! (answered `{"verification": …}`); deliveries are POSTs with
//! `data.events[]`, answered at once (the refresh runs from the queue).
//! Both must carry the directory's secret header.

use crate::{
    domain::{okta_hooks::MAX_DELIVERY_BYTES, DomainError, ErrorKind},
    state::AppState,
};
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{directory}", get(verify).post(deliver))
        .layer(DefaultBodyLimit::max(MAX_DELIVERY_BYTES))
}

fn header_of(headers: &HeaderMap) -> impl Fn(&str) -> Option<String> + '_ {
    |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn verify(
    State(state): State<AppState>,
    Path(directory): Path<String>,
    headers: HeaderMap,
) -> Response {
    let challenge = headers
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match state
        .core
        .okta_hooks
        .verify(&directory, header_of(&headers), challenge)
        .await
    {
        Ok(challenge) => Json(json!({ "verification": challenge })).into_response(),
        Err(e) => refused(e),
    }
}

async fn deliver(
    State(state): State<AppState>,
    Path(directory): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match state
        .core
        .okta_hooks
        .receive(&directory, header_of(&headers), &body)
        .await
    {
        Ok(received) => Json(received).into_response(),
        Err(e) => refused(e),
    }
}

/// Okta only reads the status; the body says what was wrong for whoever
/// looks at Okta's delivery log.
fn refused(e: DomainError) -> Response {
    let status = match e.kind {
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(json!({ "error": e.message }))).into_response()
}
