//! Webhook endpoints and their delivery log (SQLite; PostgreSQL in
//! `postgres/webhooks.rs`). The store keeps what the domain decided: the
//! endpoint's cursor, failure count, next attempt and lease; which batch to
//! send, how long to back off and when to disable are the domain's rules.

use super::{SqliteStore, StoreError};

/// An endpoint as stored. Timestamps are fixed-width RFC 3339 text (see
/// [`sortable`]) so SQLite compares them as text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub description: String,
    /// JSON arrays of names; `[]`: all.
    pub event_types: String,
    pub directory_ids: String,
    pub enabled: bool,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_until: Option<String>,
    /// The last event position sent (or passed over by the filters).
    pub delivered_through: i64,
    pub failures: i64,
    pub failing_since: Option<String>,
    pub next_attempt_at: String,
    pub disabled_reason: Option<String>,
    /// Disabled by the sender after repeated failures (not by an admin).
    pub disabled_by_failures: bool,
    pub disabled_at: Option<String>,
    pub last_success_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub struct NewWebhook<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a str,
    pub directory_ids: &'a str,
    pub enabled: bool,
    pub secret_sealed: &'a str,
    pub at: &'a str,
}

/// The settings an edit may change.
pub struct WebhookUpdate<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a str,
    pub directory_ids: &'a str,
    pub at: &'a str,
}

/// One attempt (or test event) in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: String,
    pub attempted_at: String,
    /// `events` or `test`.
    pub kind: String,
    pub attempt: i64,
    pub first_position: Option<i64>,
    pub last_position: Option<i64>,
    pub event_count: i64,
    /// `delivered` or `failed`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_snippet: Option<String>,
}

/// What an attempt did to its endpoint, decided by the domain.
pub struct AttemptRecord<'a> {
    pub endpoint_id: &'a str,
    /// The cursor when the lease was taken: a replay since wins over
    /// this attempt's outcome.
    pub claimed_through: i64,
    /// The log row; none when nothing was sent (the filters passed over
    /// every new event).
    pub delivery: Option<&'a DeliveryRow>,
    /// Delivered: the new cursor. `None`: failed (the batch is retried).
    pub advance_to: Option<i64>,
    pub next_attempt_at: &'a str,
    /// Failed too often: disable with this reason.
    pub disable: Option<&'a str>,
}

const COLUMNS: &str = "id, url, description, event_types, directory_ids, enabled, secret_sealed,
    previous_secret_sealed, previous_secret_until, delivered_through, failures, failing_since,
    next_attempt_at, disabled_reason, disabled_by_failures, disabled_at, last_success_at, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "id, endpoint_id, attempted_at, kind, attempt, first_position, last_position,
    event_count, outcome, status_code, latency_ms, error, response_snippet";

/// A timestamp as webhook rows store it: RFC 3339 UTC with exactly six
/// fractional digits, so text order is time order.
pub fn sortable(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

impl SqliteStore {
    pub async fn insert_webhook(&self, new: &NewWebhook<'_>) -> Result<(), StoreError> {
        // A new endpoint starts at the newest event: it is sent what commits
        // from now on (Replay reaches back).
        sqlx::query(&format!(
            "INSERT INTO webhook_endpoints (id, url, description, event_types, directory_ids, enabled,
                 secret_sealed, delivered_through, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7,
                     max({last}, (SELECT pruned_through FROM event_log_state)),
                     $8, $8, $8)",
            last = super::event_blocks::LAST_POSITION
        ))
        .bind(new.id)
        .bind(new.url)
        .bind(new.description)
        .bind(new.event_types)
        .bind(new.directory_ids)
        .bind(new.enabled)
        .bind(new.secret_sealed)
        .bind(new.at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn update_webhook(&self, id: &str, update: &WebhookUpdate<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, directory_ids = $5,
                 updated_at = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(update.url)
        .bind(update.description)
        .bind(update.event_types)
        .bind(update.directory_ids)
        .bind(update.at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Enables (clearing the failure count and the reason, due at once) or
    /// disables (with a reason) an endpoint.
    pub async fn set_webhook_enabled(
        &self,
        id: &str,
        enabled: bool,
        reason: Option<&str>,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = $2, updated_at = $4,
                 disabled_reason = CASE WHEN $2 THEN NULL ELSE $3 END,
                 disabled_by_failures = 0,
                 disabled_at = CASE WHEN $2 THEN NULL ELSE $4 END,
                 failures = CASE WHEN $2 THEN 0 ELSE failures END,
                 failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END,
                 next_attempt_at = CASE WHEN $2 THEN $4 ELSE next_attempt_at END
             WHERE id = $1",
        )
        .bind(id)
        .bind(enabled)
        .bind(reason)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The current secret becomes the previous one (still signing until
    /// `previous_until`); `sealed` signs from now on.
    pub async fn rotate_webhook_secret(
        &self,
        id: &str,
        sealed: &str,
        previous_until: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, previous_secret_until = $3,
                 secret_sealed = $2, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(sealed)
        .bind(previous_until)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sends again everything after `position` (failures forgotten, due now).
    pub async fn replay_webhook(&self, id: &str, position: i64, at: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET delivered_through = $2, failures = 0, failing_since = NULL,
                 next_attempt_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(position)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest event position (0: none yet).
    pub async fn events_high_water(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar(&format!("SELECT {}", super::event_blocks::LAST_POSITION))
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Enabled endpoints with events past their cursor whose next attempt is
    /// due and whose lease is free (or this process's).
    pub async fn due_webhooks(&self, at: &str, holder: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT id FROM webhook_endpoints
             WHERE enabled AND next_attempt_at <= $1
               AND delivered_through < {last}
               AND (lease_holder IS NULL OR lease_until < $1 OR lease_holder = $2)
             ORDER BY next_attempt_at",
            last = super::event_blocks::LAST_POSITION
        ))
        .bind(at)
        .bind(holder)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes an endpoint's lease until `until` if it is free, expired or
    /// already `holder`'s and the endpoint is still due; the endpoint as it
    /// is then, or `None`.
    pub async fn claim_webhook(
        &self,
        id: &str,
        holder: &str,
        at: &str,
        until: &str,
    ) -> Result<Option<WebhookRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "UPDATE webhook_endpoints SET lease_holder = $2, lease_until = $4
             WHERE id = $1 AND enabled AND next_attempt_at <= $3
               AND (lease_holder IS NULL OR lease_until < $3 OR lease_holder = $2)
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(holder)
        .bind(at)
        .bind(until)
        .fetch_optional(&self.writer)
        .await?)
    }

    /// Records an attempt and what it did to the endpoint, and releases the
    /// lease, in one transaction, only if `holder` still holds the lease:
    /// `false` means another process took the endpoint over (and will send
    /// the batch again: at least once).
    pub async fn finish_webhook_attempt(
        &self,
        holder: &str,
        record: &AttemptRecord<'_>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let updated = sqlx::query(
            "UPDATE webhook_endpoints SET lease_holder = NULL, lease_until = NULL, next_attempt_at = $3,
                 delivered_through = coalesce($4, delivered_through),
                 failures = CASE WHEN $4 IS NULL THEN failures + 1 ELSE 0 END,
                 failing_since = CASE WHEN $4 IS NULL THEN coalesce(failing_since, $5) ELSE NULL END,
                 last_success_at = CASE WHEN $4 IS NULL THEN last_success_at ELSE $5 END,
                 enabled = CASE WHEN $6 IS NULL THEN enabled ELSE 0 END,
                 disabled_reason = coalesce($6, disabled_reason),
                 disabled_by_failures = CASE WHEN $6 IS NULL THEN disabled_by_failures ELSE 1 END,
                 disabled_at = CASE WHEN $6 IS NULL THEN disabled_at ELSE $5 END
             WHERE id = $1 AND lease_holder = $2 AND delivered_through = $7",
        )
        .bind(record.endpoint_id)
        .bind(holder)
        .bind(record.next_attempt_at)
        .bind(record.advance_to)
        .bind(
            record
                .delivery
                .map_or_else(|| sortable(super::now()), |d| d.attempted_at.clone()),
        )
        .bind(record.disable)
        .bind(record.claimed_through)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            // Replayed meanwhile (or taken over): keep the new cursor, and
            // give the lease back if it is still ours.
            sqlx::query("UPDATE webhook_endpoints SET lease_holder = NULL, lease_until = NULL WHERE id = $1 AND lease_holder = $2")
                .bind(record.endpoint_id)
                .bind(holder)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(false);
        }
        if let Some(delivery) = record.delivery {
            insert_delivery(&mut tx, delivery).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Logs a test event's attempt (it does not move the cursor).
    pub async fn record_webhook_delivery(&self, delivery: &DeliveryRow) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        insert_delivery(&mut tx, delivery).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint's attempts, newest first, before delivery `before`.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE endpoint_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(endpoint_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Drops delivery log rows attempted before `before`.
    pub async fn prune_webhook_deliveries(&self, before: &str) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM webhook_deliveries WHERE attempted_at < $1")
                .bind(before)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }
}

async fn insert_delivery(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    d: &DeliveryRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (endpoint_id, attempted_at, kind, attempt, first_position,
             last_position, event_count, outcome, status_code, latency_ms, error, response_snippet)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&d.endpoint_id)
    .bind(&d.attempted_at)
    .bind(&d.kind)
    .bind(d.attempt)
    .bind(d.first_position)
    .bind(d.last_position)
    .bind(d.event_count)
    .bind(&d.outcome)
    .bind(d.status_code)
    .bind(d.latency_ms)
    .bind(&d.error)
    .bind(&d.response_snippet)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
