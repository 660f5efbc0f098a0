//! Probes for orchestrators and load balancers: `/healthz` says the process
//! answers, `/readyz` that the database is reachable and fully migrated.

use crate::state::AppState;
use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await;
    let schema = state.store.schema_status().await;
    match (database, schema) {
        (Ok(()), Ok(schema)) if schema.is_current() => (
            StatusCode::OK,
            Json(
                json!({ "status": "ready", "database": "ok", "migrations": { "applied": schema.applied, "expected": schema.expected } }),
            ),
        ),
        (Ok(()), Ok(schema)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "not ready", "database": "ok", "migrations": { "applied": schema.applied, "expected": schema.expected } }),
            ),
        ),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not ready", "database": "unreachable" })),
            )
        }
    }
}
