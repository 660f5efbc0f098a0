//! `/tokens`: API tokens, listed, created (the secret shown once) and revoked.

use super::{problem::Problem, Body, Path};
use crate::{
    domain::Actor,
    domain::{
        instance::{ApiToken, IssuedToken},
        DomainError,
    },
    model::{TokenId, TokenScope},
    state::AppState,
};
use axum::{extract::State, http::StatusCode, Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, description = "Every token, revoked ones too; never their secrets", body = [ApiToken])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ApiToken>>> {
    Ok(Json(state.core.instance.tokens().list().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Where the token is used, e.g. `ci-deploy`.
    pub name: String,
    /// `read-only` or `read-write`.
    pub scope: String,
}

#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, description = "`secret` is shown this once", body = IssuedToken), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(body): Body<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>)> {
    let scope = TokenScope::parse(&body.scope)
        .ok_or_else(|| DomainError::invalid("scope must be `read-only` or `read-write`."))?;
    let issued = state
        .core
        .instance
        .tokens()
        .create(&actor, &body.name, scope)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[utoipa::path(delete, path = "/tokens/{token_id}", tag = "tokens",
    params(("token_id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked, with every token made with it: they stop working at once"), (status = 404, body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<TokenId>,
) -> Result<StatusCode> {
    state.core.instance.tokens().revoke(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
