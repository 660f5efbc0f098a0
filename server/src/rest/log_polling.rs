//! `/directories/{id}/log-polling`: System Log polling (the pull way to
//! near-real-time changes): its state and cursor; PUT turns it on or off
//! and sets its intervals (turning it on asks Okta for `okta.logs.read`).

use super::{problem::Problem, Body};
use crate::{
    domain::{
        log_polling::{LogPollingInput, LogPollingView},
        Actor,
    },
    model::DirectoryId,
    state::AppState,
};
use axum::{
    extract::{Path, State},
    Extension, Json,
};
use serde::Deserialize;
use utoipa::ToSchema;

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/directories/{id}/log-polling", tag = "directories",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "Whether Roster polls the directory's System Log, its state, cursor and last poll", body = LogPollingView),
              (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<DirectoryId>) -> Result<Json<LogPollingView>> {
    Ok(Json(state.core.log_polling.get(&id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogPollingBody {
    pub enabled: bool,
    /// Seconds between polls, 10 to 3600 (default 60).
    #[serde(default)]
    pub interval_secs: Option<i64>,
    /// Hours between full reconciliations, 1 to 168 (default 24).
    #[serde(default)]
    pub reconcile_hours: Option<i64>,
}

#[utoipa::path(put, path = "/directories/{id}/log-polling", tag = "directories", request_body = LogPollingBody,
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "The new settings and state", body = LogPollingView),
              (status = 422, description = "A setting is out of range, or Okta did not grant okta.logs.read (nothing changed)", body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<LogPollingBody>,
) -> Result<Json<LogPollingView>> {
    let input = LogPollingInput {
        enabled: body.enabled,
        interval_secs: body.interval_secs,
        reconcile_hours: body.reconcile_hours,
    };
    Ok(Json(state.core.log_polling.set(&actor, &id, &input).await?))
}
