//! `/webhooks`: endpoints that are sent the event log, their secrets,
//! delivery log, test event and replay.

use super::{problem::Problem, Body, Path, Query};
use crate::{
    domain::{
        webhooks::{Delivery, Webhook, WebhookSettings, WebhookWithSecret},
        Actor,
    },
    model::WebhookId,
    state::AppState,
};
use axum::{extract::State, http::StatusCode, Extension, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

type Result<T> = std::result::Result<T, Problem>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    /// `https://…`; no redirects are followed.
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event types to send; empty or absent: every type.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Directories whose events to send; empty or absent: every directory.
    #[serde(default)]
    pub directory_ids: Vec<String>,
}

impl From<EndpointBody> for WebhookSettings {
    fn from(body: EndpointBody) -> Self {
        Self {
            url: body.url,
            description: body.description,
            event_types: body.event_types,
            directory_ids: body.directory_ids,
        }
    }
}

#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, description = "Every endpoint (never a secret)", body = [Webhook])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Webhook>>> {
    Ok(Json(state.core.webhooks.list().await?))
}

#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = EndpointBody,
    responses((status = 201, description = "`secret` is shown this once; events committed from now on are sent", body = WebhookWithSecret),
              (status = 422, description = "The URL is refused (scheme, private address) or a type or directory is unknown", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(body): Body<EndpointBody>,
) -> Result<(StatusCode, Json<WebhookWithSecret>)> {
    let created = state.core.webhooks.create(&actor, &body.into()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = Webhook), (status = 404, body = Problem)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<WebhookId>) -> Result<Json<Webhook>> {
    Ok(Json(state.core.webhooks.get(&id).await?))
}

#[utoipa::path(put, path = "/webhooks/{webhook_id}", tag = "webhooks", request_body = EndpointBody,
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = Webhook), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
    Body(body): Body<EndpointBody>,
) -> Result<Json<Webhook>> {
    Ok(Json(state.core.webhooks.update(&actor, &id, &body.into()).await?))
}

#[utoipa::path(delete, path = "/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted with its delivery log; nothing more is sent"), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
) -> Result<StatusCode> {
    state.core.webhooks.delete(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/webhooks/{webhook_id}/enable", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "Enabled; failures forgotten; what waits is sent from where it stopped", body = Webhook), (status = 404, body = Problem)))]
pub async fn enable(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
) -> Result<Json<Webhook>> {
    Ok(Json(state.core.webhooks.set_enabled(&actor, &id, true).await?))
}

#[utoipa::path(post, path = "/webhooks/{webhook_id}/disable", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "Nothing is sent until it is enabled again; events wait (within retention)", body = Webhook), (status = 404, body = Problem)))]
pub async fn disable(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
) -> Result<Json<Webhook>> {
    Ok(Json(state.core.webhooks.set_enabled(&actor, &id, false).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Hours the old secret keeps signing beside the new one (0–168, default 24).
    pub overlap_hours: Option<i64>,
}

#[utoipa::path(post, path = "/webhooks/{webhook_id}/rotate-secret", tag = "webhooks", request_body = RotateBody,
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The new `secret`, shown this once", body = WebhookWithSecret), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
    Body(body): Body<RotateBody>,
) -> Result<Json<WebhookWithSecret>> {
    Ok(Json(
        state
            .core
            .webhooks
            .rotate_secret(&actor, &id, body.overlap_hours)
            .await?,
    ))
}

#[utoipa::path(post, path = "/webhooks/{webhook_id}/test", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "A signed `webhook.test` event was sent; how it went", body = Delivery), (status = 404, body = Problem)))]
pub async fn test(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
) -> Result<Json<Delivery>> {
    Ok(Json(state.core.webhooks.send_test(&actor, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Send every event after this cursor again (`0`, or a cursor retention
    /// has passed: every event kept).
    pub after: String,
}

#[utoipa::path(post, path = "/webhooks/{webhook_id}/replay", tag = "webhooks", request_body = ReplayBody,
    params(("webhook_id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "Every kept event after the cursor is sent again, in order", body = Webhook), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replay(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<WebhookId>,
    Body(body): Body<ReplayBody>,
) -> Result<Json<Webhook>> {
    Ok(Json(state.core.webhooks.replay(&actor, &id, &body.after).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DeliveriesParams {
    /// A delivery `id`: older attempts than it.
    pub before: Option<i64>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "Webhook id"), DeliveriesParams),
    responses((status = 200, description = "Attempts, newest first", body = [Delivery]), (status = 404, body = Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<WebhookId>,
    Query(params): Query<DeliveriesParams>,
) -> Result<Json<Vec<Delivery>>> {
    Ok(Json(
        state
            .core
            .webhooks
            .deliveries(&id, params.before, params.limit.unwrap_or(50))
            .await?,
    ))
}
