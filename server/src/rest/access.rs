//! `/signin` (Okta sign-in settings) and `/audit` (the audit log).

use super::{problem::Problem, Body, Query};
use crate::{
    domain::{
        audit::{AuditPage, AuditQuery},
        signin::{SettingsInput, SigninSettingsView},
        Actor,
    },
    state::AppState,
};
use axum::{extract::State, http::StatusCode, Extension, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/signin", tag = "access",
    responses((status = 200, description = "The settings (never the client secret) and the values to enter in Okta", body = SigninSettingsView)))]
pub async fn get(State(state): State<AppState>) -> Result<Json<SigninSettingsView>> {
    Ok(Json(state.core.signin.settings().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SigninRequest {
    #[serde(flatten)]
    pub settings: SettingsInput,
    /// Test sign-in needs a browser (Settings → Sign-in); from the API the
    /// settings are saved untested, so this must be `true`.
    #[serde(default)]
    pub save_anyway: bool,
}

#[utoipa::path(put, path = "/signin", tag = "access", request_body = SigninRequest,
    responses((status = 200, description = "Saved", body = SigninSettingsView),
              (status = 409, description = "Not tested: send `save_anyway: true`", body = Problem),
              (status = 422, description = "A field is not valid", body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(body): Body<SigninRequest>,
) -> Result<Json<SigninSettingsView>> {
    Ok(Json(
        state
            .core
            .signin
            .save(&actor, &body.settings, None, body.save_anyway)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/signin", tag = "access",
    responses((status = 204, description = "Okta sign-in is off; setup and recovery links keep working"), (status = 404, body = Problem)))]
pub async fn delete(State(state): State<AppState>, Extension(actor): Extension<Actor>) -> Result<StatusCode> {
    state.core.signin.remove(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AuditParams {
    /// An action (`signin.succeeded`) or a prefix ending in `.` (`directory.`).
    pub action: Option<String>,
    /// Part of the actor's name or id.
    pub actor: Option<String>,
    #[serde(default)]
    pub failed_only: bool,
    /// `next` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/audit", tag = "access", params(AuditParams),
    responses((status = 200, description = "Newest first", body = AuditPage), (status = 422, body = Problem)))]
pub async fn audit(
    State(state): State<AppState>,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPage>> {
    Ok(Json(
        state
            .core
            .audit
            .list(&AuditQuery {
                action: params.action,
                actor: params.actor,
                failed_only: params.failed_only,
                cursor: params.cursor,
                limit: params.limit,
            })
            .await?,
    ))
}
