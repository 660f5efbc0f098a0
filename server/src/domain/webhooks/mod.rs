//! Webhooks: endpoints that are sent the event log as it commits, signed,
//! in order, at least once. This module holds the endpoint rules (what a
//! valid endpoint is, its secret and its rotation, enabling, replay, the test
//! event); `delivery` sends the batches.

mod delivery;
mod policy;
pub mod signing;
mod target;

pub use delivery::Deliverer;
pub use policy::DeliveryPolicy;
pub use target::{check_url, parse_networks};

use super::{
    audit::{Audit, AuditAction},
    events::parse_types,
    Actor, DomainError, DomainResult,
};
use crate::{
    crypto::MasterKey,
    model::{DirectoryId, WebhookId},
    store::{self, sortable, DeliveryRow, NewWebhook, Store, WebhookRow, WebhookUpdate},
};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// How long a rotated-out secret keeps signing unless the admin says.
pub const DEFAULT_OVERLAP_HOURS: i64 = 24;
const MAX_OVERLAP_HOURS: i64 = 24 * 7;
const MAX_ENDPOINTS: usize = 50;

/// Where an endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// Enabled, and its last attempt (if any) succeeded.
    Active,
    /// Enabled; the batch at its cursor failed and waits for `next_attempt_at`.
    Retrying,
    /// Not sent anything; `disabled_reason` says why.
    Disabled,
}

/// Who disabled an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisabledBy {
    /// An admin (the UI, the API or the CLI).
    Admin,
    /// Roster, after repeated failures: a problem to tell the admins about.
    Failures,
}

/// An endpoint as every front door shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event types sent; empty: every type.
    pub event_types: Vec<String>,
    /// Directories whose events are sent; empty: every directory.
    pub directory_ids: Vec<String>,
    pub enabled: bool,
    pub status: WebhookStatus,
    pub disabled_reason: Option<String>,
    /// Set while disabled.
    pub disabled_by: Option<DisabledBy>,
    pub disabled_at: Option<String>,
    /// Consecutive failed attempts of the batch waiting to be sent.
    pub failures: i64,
    pub failing_since: Option<String>,
    /// When the waiting batch is tried again (only while retrying).
    pub next_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    /// The cursor of the last event sent (or passed over by the filters).
    pub delivered_through: String,
    /// A rotated-out secret still signs, beside the new one, until then.
    pub previous_secret_expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Webhook {
    /// Whether this endpoint is sent `directory_id`'s events.
    pub fn covers(&self, directory_id: &str) -> bool {
        self.directory_ids.is_empty() || self.directory_ids.iter().any(|d| d == directory_id)
    }
}

/// An endpoint with its signing secret, shown this once (create, rotate).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// `whsec_…`: the HMAC key for `Roster-Signature`. Store it now; it is
    /// not shown again.
    pub secret: String,
}

/// What an admin sets on an endpoint.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub directory_ids: Vec<String>,
}

/// One attempt in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub attempted_at: String,
    /// `events` or `test`.
    pub kind: String,
    /// 1 for a batch's first attempt, counting up while it fails.
    pub attempt: i64,
    /// The cursors of the first and last event sent.
    pub first_cursor: Option<String>,
    pub last_cursor: Option<String>,
    pub event_count: i64,
    /// `delivered` or `failed`.
    pub outcome: String,
    /// The receiver's HTTP status; none when no response came.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first 512 bytes of the response body.
    pub response_snippet: Option<String>,
}

#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    master_key: Arc<MasterKey>,
    policy: Arc<DeliveryPolicy>,
    audit: Audit,
    client: Result<reqwest::Client, String>,
}

impl Webhooks {
    pub fn new(store: Store, master_key: Arc<MasterKey>, policy: DeliveryPolicy, audit: Audit) -> Self {
        let policy = Arc::new(policy);
        let client = delivery::client(&policy);
        if let Err(e) = &client {
            tracing::error!(error = %e, "webhooks cannot be sent");
        }
        Self {
            store,
            master_key,
            policy,
            audit,
            client,
        }
    }

    /// The background sender for this process (started once by the server).
    pub fn deliverer(&self) -> Deliverer {
        Deliverer::new(
            self.store.clone(),
            Arc::clone(&self.master_key),
            Arc::clone(&self.policy),
            self.client.clone(),
        )
    }

    pub async fn list(&self) -> DomainResult<Vec<Webhook>> {
        self.store.webhooks().await?.into_iter().map(webhook_of).collect()
    }

    pub async fn get(&self, id: &WebhookId) -> DomainResult<Webhook> {
        webhook_of(self.row(id).await?)
    }

    async fn row(&self, id: &WebhookId) -> DomainResult<WebhookRow> {
        self.store
            .webhook(id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("webhook"))
    }

    pub async fn create(&self, actor: &Actor, settings: &WebhookSettings) -> DomainResult<WebhookWithSecret> {
        actor.require_write()?;
        let valid = self.validate(settings, &[]).await?;
        if self.store.webhooks().await?.len() >= MAX_ENDPOINTS {
            return Err(DomainError::conflict(format!(
                "Roster sends to at most {MAX_ENDPOINTS} webhook endpoints; delete one you no longer use."
            )));
        }
        let id = WebhookId::new();
        let secret = signing::new_secret();
        let sealed = self.master_key.seal(secret.as_bytes(), &seal_purpose(&id));
        self.store
            .insert_webhook(&NewWebhook {
                id: id.as_str(),
                url: &valid.url,
                description: &valid.description,
                event_types: &json_list(&valid.event_types),
                directory_ids: &json_list(&valid.directory_ids),
                enabled: true,
                secret_sealed: &sealed,
                at: &sortable(store::now()),
            })
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::WebhookCreated,
                Some(id.as_str()),
                serde_json::json!({"url": valid.url, "event_types": valid.event_types, "directory_ids": valid.directory_ids}),
            )
            .await;
        Ok(WebhookWithSecret {
            webhook: self.get(&id).await?,
            secret,
        })
    }

    pub async fn update(
        &self,
        actor: &Actor,
        id: &WebhookId,
        settings: &WebhookSettings,
    ) -> DomainResult<Webhook> {
        actor.require_write()?;
        let current = self.row(id).await?;
        let valid = self.validate(settings, &list_of(&current.directory_ids)?).await?;
        self.store
            .update_webhook(
                id.as_str(),
                &WebhookUpdate {
                    url: &valid.url,
                    description: &valid.description,
                    event_types: &json_list(&valid.event_types),
                    directory_ids: &json_list(&valid.directory_ids),
                    at: &sortable(store::now()),
                },
            )
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::WebhookChanged,
                Some(id.as_str()),
                serde_json::json!({"url": valid.url, "event_types": valid.event_types, "directory_ids": valid.directory_ids}),
            )
            .await;
        self.get(id).await
    }

    /// Enabling forgets past failures and sends what waits at once, from
    /// where the endpoint stopped (events retention removed are skipped,
    /// and the delivery log says so).
    pub async fn set_enabled(&self, actor: &Actor, id: &WebhookId, enabled: bool) -> DomainResult<Webhook> {
        actor.require_write()?;
        let reason = format!("Disabled by {}.", actor.name);
        if !self
            .store
            .set_webhook_enabled(id.as_str(), enabled, Some(&reason), &sortable(store::now()))
            .await?
        {
            return Err(DomainError::not_found("webhook"));
        }
        let action = if enabled {
            AuditAction::WebhookEnabled
        } else {
            AuditAction::WebhookDisabled
        };
        self.audit
            .record(actor, action, Some(id.as_str()), serde_json::json!({}))
            .await;
        self.get(id).await
    }

    /// A new secret signs from now on; the old one also signs for
    /// `overlap_hours` (0: stops at once), so receivers can switch over.
    pub async fn rotate_secret(
        &self,
        actor: &Actor,
        id: &WebhookId,
        overlap_hours: Option<i64>,
    ) -> DomainResult<WebhookWithSecret> {
        actor.require_write()?;
        self.row(id).await?;
        let overlap = overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
        if !(0..=MAX_OVERLAP_HOURS).contains(&overlap) {
            return Err(DomainError::invalid(format!(
                "The overlap must be 0 to {MAX_OVERLAP_HOURS} hours; got {overlap}."
            )));
        }
        let secret = signing::new_secret();
        let sealed = self.master_key.seal(secret.as_bytes(), &seal_purpose(id));
        let now = store::now();
        self.store
            .rotate_webhook_secret(
                id.as_str(),
                &sealed,
                &sortable(now + time::Duration::hours(overlap)),
                &sortable(now),
            )
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::WebhookSecretRotated,
                Some(id.as_str()),
                serde_json::json!({"overlap_hours": overlap}),
            )
            .await;
        Ok(WebhookWithSecret {
            webhook: self.get(id).await?,
            secret,
        })
    }

    pub async fn delete(&self, actor: &Actor, id: &WebhookId) -> DomainResult<()> {
        actor.require_write()?;
        let row = self.row(id).await?;
        self.store.delete_webhook(id.as_str()).await?;
        self.audit
            .record(
                actor,
                AuditAction::WebhookDeleted,
                Some(id.as_str()),
                serde_json::json!({"url": row.url}),
            )
            .await;
        Ok(())
    }

    /// Sends everything after `cursor` again, in order (0: every event
    /// kept). Receivers drop what they already have by event id.
    pub async fn replay(&self, actor: &Actor, id: &WebhookId, cursor: &str) -> DomainResult<Webhook> {
        actor.require_write()?;
        self.row(id).await?;
        let position = cursor
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| {
                DomainError::invalid(format!(
                    "Replay from a cursor (an event's `cursor`, a number; 0 for every event kept); got {cursor:?}."
                ))
            })?;
        // 0 (or any cursor retention has passed) means every event kept.
        let position = position.max(self.store.events_pruned_through().await?);
        let newest = self.store.events_high_water().await?;
        if position > newest {
            return Err(DomainError::invalid(format!(
                "Cursor {position} is past the newest event ({newest})."
            )));
        }
        self.store
            .replay_webhook(id.as_str(), position, &sortable(store::now()))
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::WebhookReplayed,
                Some(id.as_str()),
                serde_json::json!({"after": position}),
            )
            .await;
        self.get(id).await
    }

    /// Sends one `webhook.test` event now, signed like any delivery, and
    /// returns how it went (also in the delivery log). It does not touch
    /// the endpoint's cursor or failure count.
    pub async fn send_test(&self, actor: &Actor, id: &WebhookId) -> DomainResult<Delivery> {
        actor.require_write()?;
        let row = self.row(id).await?;
        let delivery = self.deliverer().send_test(&row).await?;
        self.audit
            .record(
                actor,
                AuditAction::WebhookTested,
                Some(id.as_str()),
                serde_json::json!({"outcome": delivery.outcome, "status_code": delivery.status_code}),
            )
            .await;
        Ok(delivery_of(delivery))
    }

    /// The delivery log, newest first; `before` pages back.
    pub async fn deliveries(
        &self,
        id: &WebhookId,
        before: Option<i64>,
        limit: i64,
    ) -> DomainResult<Vec<Delivery>> {
        self.row(id).await?;
        if !(1..=500).contains(&limit) {
            return Err(DomainError::invalid("limit must be between 1 and 500."));
        }
        Ok(self
            .store
            .webhook_deliveries(id.as_str(), before, limit)
            .await?
            .into_iter()
            .map(delivery_of)
            .collect())
    }

    /// Endpoints that need an admin: disabled by failures, or retrying.
    pub async fn troubled(&self) -> DomainResult<Vec<Webhook>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|w| match w.status {
                WebhookStatus::Retrying => true,
                WebhookStatus::Disabled => w.disabled_by == Some(DisabledBy::Failures),
                WebhookStatus::Active => false,
            })
            .collect())
    }

    /// Drops delivery log rows older than `keep`; the pruner calls this.
    pub async fn prune(&self, keep: time::Duration) -> DomainResult<u64> {
        Ok(self
            .store
            .prune_webhook_deliveries(&sortable(store::now() - keep))
            .await?)
    }

    /// `kept`: directory ids the endpoint already has, accepted even when
    /// their directory was deleted (so an edit does not have to drop them,
    /// which would widen the endpoint to every directory).
    async fn validate(&self, settings: &WebhookSettings, kept: &[String]) -> DomainResult<WebhookSettings> {
        let url = check_url(&settings.url, &self.policy.allowed_networks).map_err(DomainError::invalid)?;
        let description = settings.description.trim().to_owned();
        if description.chars().count() > 200 || description.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "Keep the description to one line of at most 200 characters.",
            ));
        }
        let event_types = parse_types(&settings.event_types)?;
        let mut directory_ids = Vec::new();
        for raw in &settings.directory_ids {
            let id = DirectoryId::parse(raw)
                .map_err(|_| DomainError::invalid(format!("{raw:?} is not a directory id (a UUID).")))?;
            if !kept.contains(&id.to_string()) && self.store.directory(id.as_str()).await?.is_none() {
                return Err(DomainError::invalid(format!(
                    "There is no directory {id}; `roster directories list` shows the ids."
                )));
            }
            if !directory_ids.contains(&id.to_string()) {
                directory_ids.push(id.to_string());
            }
        }
        Ok(WebhookSettings {
            url: url.to_string(),
            description,
            event_types,
            directory_ids,
        })
    }
}

/// The reason the deliverer writes when it disables an endpoint.
pub(crate) fn failure_reason(failures: i64, last_error: &str) -> String {
    format!("Disabled by Roster: {failures} deliveries in a row failed; the last: {last_error}")
}

fn seal_purpose(id: &WebhookId) -> String {
    format!("webhook-secret:{id}")
}

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn list_of(json: &str) -> DomainResult<Vec<String>> {
    serde_json::from_str(json)
        .map_err(|e| DomainError::internal("webhooks", format!("stored list {json:?}: {e}")))
}

fn webhook_of(row: WebhookRow) -> DomainResult<Webhook> {
    let status = match (row.enabled, row.failures) {
        (false, _) => WebhookStatus::Disabled,
        (true, 0) => WebhookStatus::Active,
        (true, _) => WebhookStatus::Retrying,
    };
    let now = store::now();
    let previous_secret_expires_at = row
        .previous_secret_until
        .filter(|until| store::parse_timestamp(until).is_ok_and(|t| t > now));
    Ok(Webhook {
        event_types: list_of(&row.event_types)?,
        directory_ids: list_of(&row.directory_ids)?,
        next_attempt_at: (status == WebhookStatus::Retrying).then_some(row.next_attempt_at),
        id: row.id,
        url: row.url,
        description: row.description,
        enabled: row.enabled,
        status,
        disabled_by: match (row.enabled, row.disabled_by_failures) {
            (true, _) => None,
            (false, true) => Some(DisabledBy::Failures),
            (false, false) => Some(DisabledBy::Admin),
        },
        disabled_reason: row.disabled_reason,
        disabled_at: row.disabled_at,
        failures: row.failures,
        failing_since: row.failing_since,
        last_success_at: row.last_success_at,
        delivered_through: row.delivered_through.to_string(),
        previous_secret_expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn delivery_of(row: DeliveryRow) -> Delivery {
    Delivery {
        id: row.id,
        attempted_at: row.attempted_at,
        kind: row.kind,
        attempt: row.attempt,
        first_cursor: row.first_position.map(|p| p.to_string()),
        last_cursor: row.last_position.map(|p| p.to_string()),
        event_count: row.event_count,
        outcome: row.outcome,
        status_code: row.status_code,
        latency_ms: row.latency_ms,
        error: row.error,
        response_snippet: row.response_snippet,
    }
}
