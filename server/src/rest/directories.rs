//! `/directories`: set-up (draft, connection, verify, preview, create),
//! settings, pause/resume, delete, Sync Now and key rotation.

use super::{problem::Problem, Body, Path, Query};
use crate::{
    domain::directories::{
        DirectoryDetail, DirectoryResource, DirectorySummary, Draft, KeysView, Preview, RawSyncSettings,
        VerifyResult,
    },
    domain::Actor,
    model::{DirectoryId, OktaAppId, RunId},
    state::AppState,
};
use axum::{extract::State, http::StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/directories", tag = "directories",
    responses((status = 200, description = "Active directories by name", body = [DirectorySummary])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<DirectorySummary>>> {
    Ok(Json(state.core.directories.list().await?))
}

#[utoipa::path(get, path = "/directories/drafts", tag = "directories",
    responses((status = 200, description = "Unfinished set-ups, newest first", body = [Draft])))]
pub async fn drafts(State(state): State<AppState>) -> Result<Json<Vec<Draft>>> {
    Ok(Json(state.core.directories.drafts().await?))
}

/// Optional connection details to store with the new draft.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDraft {
    /// `acme.okta.com` (https is implied).
    pub okta_domain: Option<String>,
    /// The API Services app's Client ID.
    pub client_id: Option<String>,
}

#[utoipa::path(post, path = "/directories", tag = "directories", request_body = NewDraft,
    responses((status = 201, description = "A draft with its new key: register `key.jwk` (or `jwks_url`) in Okta, then verify", body = Draft),
              (status = 422, description = "A connection field is not valid", body = Problem)))]
pub async fn create_draft(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(body): Body<NewDraft>,
) -> Result<(StatusCode, Json<Draft>)> {
    let draft = state
        .core
        .directories
        .start_draft_with(&actor, body.okta_domain.as_deref(), body.client_id.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(draft)))
}

#[utoipa::path(get, path = "/directories/{id}", tag = "directories",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "The directory, tagged `state`: `draft` or `active`", body = DirectoryResource),
              (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<DirectoryId>,
) -> Result<Json<DirectoryResource>> {
    Ok(Json(state.core.directories.lookup(&id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// The directory's name, typed as confirmation (not needed for a draft).
    pub confirm_name: Option<String>,
}

#[utoipa::path(delete, path = "/directories/{id}", tag = "directories",
    params(("id" = String, Path, description = "Directory id"), DeleteParams),
    responses((status = 204, description = "Deleted with everything synced from it (or the draft discarded)"),
              (status = 422, description = "The confirmation name does not match", body = Problem),
              (status = 409, description = "A sync is running", body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Query(params): Query<DeleteParams>,
) -> Result<StatusCode> {
    state
        .core
        .directories
        .remove(&actor, &id, params.confirm_name.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub okta_domain: String,
    pub client_id: String,
}

#[utoipa::path(put, path = "/directories/{id}/connection", tag = "directories", request_body = Connection,
    params(("id" = String, Path, description = "Draft directory id")),
    responses((status = 200, body = Draft), (status = 422, body = Problem), (status = 409, body = Problem)))]
pub async fn set_connection(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<Connection>,
) -> Result<Json<Draft>> {
    Ok(Json(
        state
            .core
            .directories
            .set_connection(&actor, &id, &body.okta_domain, &body.client_id)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Pick the app to sync when the service app can read several.
    pub app_id: Option<String>,
}

#[utoipa::path(post, path = "/directories/{id}/verify", tag = "directories", request_body = VerifyRequest,
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "The checklist; `ok` is false when an item failed (each with a hint)", body = VerifyResult)))]
pub async fn verify(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<VerifyRequest>,
) -> Result<Json<VerifyResult>> {
    let app = body
        .app_id
        .filter(|a| !a.is_empty())
        .map(|a| OktaAppId::parse(&a))
        .transpose()
        .map_err(crate::domain::DomainError::from)?;
    Ok(Json(
        state.core.directories.verify(&actor, &id, app.as_ref()).await?,
    ))
}

#[utoipa::path(post, path = "/directories/{id}/preview", tag = "directories",
    params(("id" = String, Path, description = "Draft directory id")),
    responses((status = 200, description = "What the first sync would import; nothing is imported", body = Preview),
              (status = 409, description = "Not verified", body = Problem)))]
pub async fn preview(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<Json<Preview>> {
    Ok(Json(state.core.directories.preview(&actor, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// 1 to 80 characters.
    pub name: String,
    /// Also accept Okta's SCIM push (pull and push: "both").
    #[serde(default)]
    pub scim: bool,
}

#[utoipa::path(post, path = "/directories/{id}/create", tag = "directories", request_body = CreateRequest,
    params(("id" = String, Path, description = "Verified draft directory id")),
    responses((status = 201, description = "Active; its first sync has started", body = DirectorySummary),
              (status = 409, description = "Not verified, or already created", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<CreateRequest>,
) -> Result<(StatusCode, Json<DirectorySummary>)> {
    let summary = state
        .core
        .directories
        .create(&actor, &id, &body.name, body.scim)
        .await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    pub name: String,
    /// 15–1440.
    pub interval_minutes: i64,
    /// Share of Okta's rate limits, 10–90.
    pub rate_limit_percent: i64,
    /// Hold a sync that would remove more than this share, 1–100.
    pub breaker_percent: i64,
}

#[utoipa::path(put, path = "/directories/{id}/settings", tag = "directories", request_body = SettingsRequest,
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, body = DirectoryDetail), (status = 422, body = Problem)))]
pub async fn settings(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<SettingsRequest>,
) -> Result<Json<DirectoryDetail>> {
    let (interval, share, breaker) = (
        body.interval_minutes.to_string(),
        body.rate_limit_percent.to_string(),
        body.breaker_percent.to_string(),
    );
    let raw = RawSyncSettings {
        name: &body.name,
        interval_minutes: &interval,
        rate_limit_percent: &share,
        breaker_percent: &breaker,
    };
    state.core.directories.update_settings(&actor, &id, &raw).await?;
    Ok(Json(state.core.directories.get(&id).await?))
}

#[utoipa::path(post, path = "/directories/{id}/pause", tag = "directories",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 204, description = "No scheduled syncs until resumed")))]
pub async fn pause(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<StatusCode> {
    state.core.directories.pause(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/directories/{id}/resume", tag = "directories",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 204, description = "Scheduled syncs resume")))]
pub async fn resume(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<StatusCode> {
    state.core.directories.resume(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStarted {
    pub run_id: RunId,
    /// Poll this for the run's status.
    pub run_url: String,
}

#[utoipa::path(post, path = "/directories/{id}/sync", tag = "sync",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 202, description = "Started; follow `run_url`, and `progress` on the directory", body = SyncStarted),
              (status = 409, description = "Already syncing, or paused", body = Problem)))]
pub async fn sync_now(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<(StatusCode, Json<SyncStarted>)> {
    let run_id = state.core.sync.sync_now(&actor, &id).await?;
    let run_url = format!("/api/v1/directories/{id}/runs/{run_id}");
    Ok((StatusCode::ACCEPTED, Json(SyncStarted { run_id, run_url })))
}

#[utoipa::path(post, path = "/directories/{id}/rotate-key", tag = "directories",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "`next` is the new key: register it in Okta, then verify", body = KeysView)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<Json<KeysView>> {
    Ok(Json(state.core.directories.rotate_key(&actor, &id).await?))
}
