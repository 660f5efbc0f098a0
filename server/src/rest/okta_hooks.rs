//! `/directories/{id}/okta-hook`: the Okta Event Hook that pushes changes
//! to a directory (set-up in Okta's words, `curl` and Terraform, last
//! delivery); POST creates it or gives it a new secret.

use super::{problem::Problem, Body};
use crate::{
    domain::{okta_hooks::HookSetup, Actor, DomainError},
    model::DirectoryId,
    state::AppState,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Extension, Json,
};
use serde::Deserialize;
use utoipa::ToSchema;

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/directories/{id}/okta-hook", tag = "directories",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "The hook's URL, header, event types and last delivery (the secret for admins only)", body = HookSetup),
              (status = 404, description = "No hook is set up (POST creates one)", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<Json<HookSetup>> {
    let setup = state.core.okta_hooks.get(&actor, &id).await?.ok_or_else(|| {
        DomainError::not_found("An event hook for this directory")
            .with_hint("Create one: POST /api/v1/directories/{id}/okta-hook, or `roster directories okta-hook-create ID`.")
    })?;
    Ok(Json(setup))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookBody {
    /// The header Okta sends the secret in (default `Authorization`).
    #[serde(default)]
    pub header_name: Option<String>,
}

#[utoipa::path(post, path = "/directories/{id}/okta-hook", tag = "directories", request_body = HookBody,
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 201, description = "A new secret: give Okta this set-up (deliveries with an older secret are refused)", body = HookSetup),
              (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
    Body(body): Body<HookBody>,
) -> Result<(StatusCode, Json<HookSetup>)> {
    let setup = state
        .core
        .okta_hooks
        .create(&actor, &id, body.header_name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(setup)))
}
