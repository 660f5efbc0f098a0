//! `GET /directories/{id}/jwks.json`: a directory's public keys for Okta's
//! "Use a URL to fetch keys dynamically". Public by design: only public keys.

use crate::{domain::ErrorKind, model::DirectoryId, state::AppState};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

pub async fn jwks_handler(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": "no such directory" })),
        )
            .into_response()
    };
    let Ok(id) = DirectoryId::parse(&id) else {
        return not_found();
    };
    match state.core.directories.jwks(&id).await {
        Ok(jwks) => ([(header::CACHE_CONTROL, "public, max-age=300")], Json(jwks)).into_response(),
        Err(e) if e.kind == ErrorKind::NotFound => not_found(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
