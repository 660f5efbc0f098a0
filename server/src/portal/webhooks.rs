//! Settings → Webhooks for the UI.

use super::actor;
use crate::{
    domain::{
        clock::relative,
        webhooks::{Delivery, Webhook, WebhookSettings, WebhookStatus, WebhookWithSecret},
        Core,
    },
    model::{EventType, WebhookId},
};
use app::api::{AppError, DeliveryView, WebhookSecretView, WebhookState, WebhookView, WebhooksView};
use std::collections::HashMap;

/// How many recent attempts each endpoint shows.
const RECENT_DELIVERIES: i64 = 10;

fn webhook_id(raw: &str) -> Result<WebhookId, AppError> {
    WebhookId::parse(raw).map_err(|_| AppError::NotFound("The webhook was not found.".into()))
}

fn delivery_view(d: Delivery) -> DeliveryView {
    DeliveryView {
        ago: relative(&d.attempted_at),
        attempted_at: d.attempted_at,
        kind: d.kind,
        attempt: d.attempt,
        event_count: d.event_count,
        outcome: d.outcome,
        status_code: d.status_code,
        latency_ms: d.latency_ms,
        error: d.error,
        response_snippet: d.response_snippet,
    }
}

fn secret_view(w: WebhookWithSecret) -> WebhookSecretView {
    WebhookSecretView {
        url: w.webhook.url,
        secret: w.secret,
        previous_expires_at: w.webhook.previous_secret_expires_at,
    }
}

pub async fn page(core: &Core) -> Result<WebhooksView, AppError> {
    let names: HashMap<String, String> = core
        .directories
        .list()
        .await?
        .into_iter()
        .map(|d| (d.id.to_string(), d.name))
        .collect();
    let mut endpoints = Vec::new();
    for w in core.webhooks.list().await? {
        let id = webhook_id(&w.id)?;
        let deliveries = core
            .webhooks
            .deliveries(&id, None, RECENT_DELIVERIES)
            .await?
            .into_iter()
            .map(delivery_view)
            .collect();
        endpoints.push(view(w, &names, deliveries));
    }
    let mut directories: Vec<(String, String)> = names.into_iter().collect();
    directories.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(WebhooksView {
        endpoints,
        event_types: EventType::ALL.iter().map(|t| t.as_str().to_owned()).collect(),
        directories,
    })
}

fn view(w: Webhook, names: &HashMap<String, String>, deliveries: Vec<DeliveryView>) -> WebhookView {
    WebhookView {
        directories: w
            .directory_ids
            .iter()
            .map(|id| {
                names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("{id} (deleted)"))
            })
            .collect(),
        directory_ids: w.directory_ids.clone(),
        status: match w.status {
            WebhookStatus::Active => WebhookState::Active,
            WebhookStatus::Retrying => WebhookState::Retrying,
            WebhookStatus::Disabled => WebhookState::Disabled,
        },
        next_attempt: w.next_attempt_at.as_deref().map(relative),
        last_success_ago: w.last_success_at.as_deref().map(relative),
        id: w.id,
        url: w.url,
        description: w.description,
        event_types: w.event_types,
        enabled: w.enabled,
        disabled_reason: w.disabled_reason,
        failures: w.failures,
        delivered_through: w.delivered_through,
        previous_secret_expires_at: w.previous_secret_expires_at,
        deliveries,
    }
}

pub async fn create(
    core: &Core,
    url: String,
    description: String,
    event_types: Vec<String>,
    directory_ids: Vec<String>,
) -> Result<WebhookSecretView, AppError> {
    let created = core
        .webhooks
        .create(
            &actor().await?,
            &WebhookSettings {
                url,
                description,
                event_types,
                directory_ids,
            },
        )
        .await?;
    Ok(secret_view(created))
}

pub async fn update(core: &Core, id: String, settings: WebhookSettings) -> Result<(), AppError> {
    core.webhooks
        .update(&actor().await?, &webhook_id(&id)?, &settings)
        .await?;
    Ok(())
}

pub async fn set_enabled(core: &Core, id: String, enabled: bool) -> Result<(), AppError> {
    core.webhooks
        .set_enabled(&actor().await?, &webhook_id(&id)?, enabled)
        .await?;
    Ok(())
}

pub async fn rotate(core: &Core, id: String, overlap_hours: i64) -> Result<WebhookSecretView, AppError> {
    let rotated = core
        .webhooks
        .rotate_secret(&actor().await?, &webhook_id(&id)?, Some(overlap_hours))
        .await?;
    Ok(secret_view(rotated))
}

pub async fn test(core: &Core, id: String) -> Result<DeliveryView, AppError> {
    let delivery = core
        .webhooks
        .send_test(&actor().await?, &webhook_id(&id)?)
        .await?;
    Ok(delivery_view(delivery))
}

pub async fn replay(core: &Core, id: String, after: String) -> Result<(), AppError> {
    core.webhooks
        .replay(&actor().await?, &webhook_id(&id)?, &after)
        .await?;
    Ok(())
}

pub async fn delete(core: &Core, id: String) -> Result<(), AppError> {
    Ok(core.webhooks.delete(&actor().await?, &webhook_id(&id)?).await?)
}
