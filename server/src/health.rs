//! Probes for orchestrators and load balancers: `/healthz` says the process
//! answers, `/readyz` that the database is reachable and fully migrated.

use crate::{domain::instance::Readiness, state::AppState};
use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.core.instance.readiness().await {
        Readiness::Ready { applied, expected } => (
            StatusCode::OK,
            Json(
                json!({ "status": "ready", "database": "ok", "migrations": { "applied": applied, "expected": expected } }),
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
