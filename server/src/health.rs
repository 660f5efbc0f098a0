//! Probes for orchestrators and load balancers: `/healthz` says the process
//! answers (and nothing else: it is public), `/readyz` that the database is
//! reachable and fully migrated, with the version for deploy checks.

use crate::{domain::instance::Readiness, state::AppState};
use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.core.instance.readiness().await {
        Readiness::Ready { applied, expected } => (
            StatusCode::OK,
            Json(
                json!({ "status": "ready", "version": env!("CARGO_PKG_VERSION"), "database": "ok", "migrations": { "applied": applied, "expected": expected } }),
            ),
        ),
        Readiness::SchemaBehind { applied, expected } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "not ready", "database": "ok", "migrations": { "applied": applied, "expected": expected } }),
            ),
        ),
        Readiness::DatabaseUnreachable => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "database": "unreachable" })),
        ),
    }
}
