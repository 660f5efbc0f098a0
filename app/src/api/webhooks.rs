//! Settings → Webhooks: shapes and server functions.

use super::AppError;
#[cfg(feature = "ssr")]
use super::{ports, require_admin};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One attempt in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub attempted_at: String,
    pub ago: String,
    /// `events` or `test`.
    pub kind: String,
    pub attempt: i64,
    pub event_count: i64,
    /// `delivered`, `failed` or `skipped`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
}

/// Where an endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookState {
    /// Enabled; its last attempt (if any) succeeded.
    Active,
    /// Enabled; the waiting batch failed and is tried again later.
    Retrying,
    Disabled,
}

impl WebhookState {
    /// The name pages and tests read (`data-status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retrying => "retrying",
            Self::Disabled => "disabled",
        }
    }
}

/// An endpoint as the Webhooks page shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    /// Directory names; empty: every directory.
    pub directories: Vec<String>,
    pub directory_ids: Vec<String>,
    pub enabled: bool,
    pub status: WebhookState,
    pub disabled_reason: Option<String>,
    pub failures: i64,
    /// "in 40 seconds", while retrying.
    pub next_attempt: Option<String>,
    pub last_success_ago: Option<String>,
    pub delivered_through: String,
    pub previous_secret_expires_at: Option<String>,
    pub deliveries: Vec<DeliveryView>,
}

/// The page: endpoints, and the choices the form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub endpoints: Vec<WebhookView>,
    pub event_types: Vec<String>,
    /// (id, name) of every directory.
    pub directories: Vec<(String, String)>,
}

/// A secret just made (create, rotate): shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecretView {
    pub url: String,
    pub secret: String,
    /// Rotation: the old secret signs too until then.
    pub previous_expires_at: Option<String>,
}

#[server]
pub async fn get_webhooks() -> Result<WebhooksView, AppError> {
    require_admin().await?;
    ports()?.webhooks.webhooks().await
}

/// Checkboxes are named `event_types[i]` / `directory_ids[i]`; none
/// checked means every type / every directory.
#[server]
pub async fn create_webhook(
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
    directory_ids: Option<Vec<String>>,
) -> Result<WebhookSecretView, AppError> {
    require_admin().await?;
    ports()?
        .webhooks
        .create_webhook(
            url,
            description,
            event_types.unwrap_or_default(),
            directory_ids.unwrap_or_default(),
        )
        .await
}

/// Changes an endpoint's URL, description, types and directories (the
/// same checkbox names as [`create_webhook`]).
#[server]
pub async fn update_webhook(
    webhook_id: String,
    url: String,
    description: String,
    event_types: Option<Vec<String>>,
    directory_ids: Option<Vec<String>>,
) -> Result<(), AppError> {
    require_admin().await?;
    ports()?
        .webhooks
        .update_webhook(
            webhook_id,
            url,
            description,
            event_types.unwrap_or_default(),
            directory_ids.unwrap_or_default(),
        )
        .await
}

#[server]
pub async fn set_webhook_enabled(webhook_id: String, enabled: bool) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.webhooks.set_webhook_enabled(webhook_id, enabled).await
}

#[server]
pub async fn rotate_webhook_secret(
    webhook_id: String,
    overlap_hours: i64,
) -> Result<WebhookSecretView, AppError> {
    require_admin().await?;
    ports()?
        .webhooks
        .rotate_webhook_secret(webhook_id, overlap_hours)
        .await
}

#[server]
pub async fn send_test_webhook(webhook_id: String) -> Result<DeliveryView, AppError> {
    require_admin().await?;
    ports()?.webhooks.send_test_webhook(webhook_id).await
}

#[server]
pub async fn replay_webhook(webhook_id: String, after: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.webhooks.replay_webhook(webhook_id, after).await
}

#[server]
pub async fn delete_webhook(webhook_id: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.webhooks.delete_webhook(webhook_id).await
}
