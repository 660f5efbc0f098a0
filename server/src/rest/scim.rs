//! `/directories/{id}/scim…`: SCIM push set-up (on/off, tokens, request
//! log) and `/directories/scim`: a directory fed only by SCIM.

use super::{problem::Problem, Body, Query};
use crate::{
    domain::{
        scim::{IssuedScimToken, ScimRequest, ScimSettings},
        Actor,
    },
    model::DirectoryId,
    state::AppState,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Extension, Json,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/directories/{id}/scim", tag = "scim",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "Base URL, Okta's settings and the tokens (never a secret)", body = ScimSettings), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<DirectoryId>) -> Result<Json<ScimSettings>> {
    Ok(Json(state.core.scim.settings(&id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScimSwitch {
    /// Whether Okta may push to this directory.
    pub enabled: bool,
}

#[utoipa::path(put, path = "/directories/{id}/scim", tag = "scim", request_body = ScimSwitch,
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, body = ScimSettings), (status = 422, description = "A SCIM-only directory cannot turn SCIM off", body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<ScimSwitch>,
) -> Result<Json<ScimSettings>> {
    Ok(Json(
        state.core.scim.set_enabled(&actor, &id, body.enabled).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewScimToken {
    /// Where the token is used, e.g. “Okta production”.
    pub name: String,
}

#[utoipa::path(post, path = "/directories/{id}/scim/tokens", tag = "scim", request_body = NewScimToken,
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 201, description = "The secret is in this answer only", body = IssuedScimToken), (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<NewScimToken>,
) -> Result<(StatusCode, Json<IssuedScimToken>)> {
    let issued = state.core.scim.create_token(&actor, &id, &body.name).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[utoipa::path(delete, path = "/directories/{id}/scim/tokens/{token_id}", tag = "scim",
    params(("id" = String, Path, description = "Directory id"), ("token_id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked: Okta's next request with it gets 401"), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, token_id)): Path<(DirectoryId, String)>,
) -> Result<StatusCode> {
    state.core.scim.revoke_token(&actor, &id, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RequestParams {
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/directories/{id}/scim/requests", tag = "scim", params(("id" = String, Path, description = "Directory id"), RequestParams),
    responses((status = 200, description = "Newest first: method, path, status, duration (no bodies)", body = [ScimRequest])))]
pub async fn requests(
    State(state): State<AppState>,
    Path(id): Path<DirectoryId>,
    Query(params): Query<RequestParams>,
) -> Result<Json<Vec<ScimRequest>>> {
    Ok(Json(
        state.core.scim.requests(&id, params.limit.unwrap_or(100)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPushDirectory {
    pub name: String,
}

#[utoipa::path(post, path = "/directories/scim", tag = "scim", request_body = NewPushDirectory,
    responses((status = 201, description = "A directory fed only by Okta's SCIM push; generate a token next", body = ScimSettings), (status = 422, body = Problem)))]
pub async fn create_push_directory(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(body): Body<NewPushDirectory>,
) -> Result<(StatusCode, Json<ScimSettings>)> {
    let id = state.core.scim.create_push_directory(&actor, &body.name).await?;
    Ok((StatusCode::CREATED, Json(state.core.scim.settings(&id).await?)))
}
