//! Webhook endpoints and their delivery log on PostgreSQL (see the store's
//! `webhooks` module): the same statements, with uuid, jsonb and timestamptz.

use super::events::LAST_POSITION;
use super::{is_uuid, PgStore};
use crate::store::sortable;
use crate::store::{AttemptRecord, DeliveryRow, NewWebhook, StoreError, WebhookRow, WebhookUpdate};

const COLUMNS: &str = "id::text AS id, url, description, event_types::text AS event_types,
    directory_ids::text AS directory_ids, enabled, secret_sealed, previous_secret_sealed,
    rfc3339(previous_secret_until) AS previous_secret_until, delivered_through, failures::bigint AS failures,
    rfc3339(failing_since) AS failing_since, rfc3339(next_attempt_at) AS next_attempt_at, disabled_reason, disabled_by_failures,
    rfc3339(disabled_at) AS disabled_at, rfc3339(last_success_at) AS last_success_at,
    rfc3339(created_at) AS created_at, rfc3339(updated_at) AS updated_at";

const DELIVERY_COLUMNS: &str =
    "id, endpoint_id::text AS endpoint_id, rfc3339(attempted_at) AS attempted_at, kind,
    attempt::bigint AS attempt, first_position, last_position, event_count::bigint AS event_count, outcome,
    status_code::bigint AS status_code, latency_ms, error, response_snippet";

impl PgStore {
    pub async fn insert_webhook(&self, new: &NewWebhook<'_>) -> Result<(), StoreError> {
        // A new endpoint starts at the newest event: it is sent what commits
        // from now on (Replay reaches back).
        sqlx::query(&format!(
            "INSERT INTO webhook_endpoints (id, url, description, event_types, directory_ids, enabled,
                 secret_sealed, delivered_through, next_attempt_at, created_at, updated_at)
             VALUES ($1::uuid, $2, $3, $4::jsonb, $5::jsonb, $6, $7,
                     greatest({LAST_POSITION}, (SELECT pruned_through FROM event_log_state)),
                     $8::timestamptz, $8::timestamptz, $8::timestamptz)"
        ))
        .bind(new.id)
        .bind(new.url)
        .bind(new.description)
        .bind(new.event_types)
        .bind(new.directory_ids)
        .bind(new.enabled)
        .bind(new.secret_sealed)
        .bind(new.at)
        .execute(&self.pool)
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
        if !is_uuid(id) {
            return Ok(None);
        }
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1::uuid"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn update_webhook(&self, id: &str, update: &WebhookUpdate<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4::jsonb,
                 directory_ids = $5::jsonb, updated_at = $6::timestamptz WHERE id = $1::uuid",
        )
        .bind(id)
        .bind(update.url)
        .bind(update.description)
        .bind(update.event_types)
        .bind(update.directory_ids)
        .bind(update.at)
        .execute(&self.pool)
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
            "UPDATE webhook_endpoints SET enabled = $2, updated_at = $4::timestamptz,
                 disabled_reason = CASE WHEN $2 THEN NULL ELSE $3 END,
                 disabled_by_failures = false,
                 disabled_at = CASE WHEN $2 THEN NULL ELSE $4::timestamptz END,
                 failures = CASE WHEN $2 THEN 0 ELSE failures END,
                 failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END,
                 next_attempt_at = CASE WHEN $2 THEN $4::timestamptz ELSE next_attempt_at END
             WHERE id = $1::uuid",
        )
        .bind(id)
        .bind(enabled)
        .bind(reason)
        .bind(at)
        .execute(&self.pool)
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
            "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, previous_secret_until = $3::timestamptz,
                 secret_sealed = $2, updated_at = $4::timestamptz WHERE id = $1::uuid",
        )
        .bind(id)
        .bind(sealed)
        .bind(previous_until)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sends again everything after `position` (failures forgotten, due now).
    pub async fn replay_webhook(&self, id: &str, position: i64, at: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET delivered_through = $2, failures = 0, failing_since = NULL,
                 next_attempt_at = $3::timestamptz, updated_at = $3::timestamptz WHERE id = $1::uuid",
        )
        .bind(id)
        .bind(position)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1::uuid")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest event position (0: none yet).
    pub async fn events_high_water(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!("SELECT {LAST_POSITION}"))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Enabled endpoints with events past their cursor whose next attempt is
    /// due and whose lease is free (or this process's).
    pub async fn due_webhooks(&self, at: &str, holder: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT id::text FROM webhook_endpoints
             WHERE enabled AND next_attempt_at <= $1::timestamptz
               AND delivered_through < {LAST_POSITION}
               AND (lease_holder IS NULL OR lease_until < $1::timestamptz OR lease_holder = $2)
             ORDER BY next_attempt_at"
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
            "UPDATE webhook_endpoints SET lease_holder = $2, lease_until = $4::timestamptz
             WHERE id = $1::uuid AND enabled AND next_attempt_at <= $3::timestamptz
               AND (lease_holder IS NULL OR lease_until < $3::timestamptz OR lease_holder = $2)
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(holder)
        .bind(at)
        .bind(until)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE webhook_endpoints SET lease_holder = NULL, lease_until = NULL, next_attempt_at = $3::timestamptz,
                 delivered_through = coalesce($4::bigint, delivered_through),
                 failures = CASE WHEN $4::bigint IS NULL THEN failures + 1 ELSE 0 END,
                 failing_since = CASE WHEN $4::bigint IS NULL THEN coalesce(failing_since, $5::timestamptz) ELSE NULL END,
                 last_success_at = CASE WHEN $4::bigint IS NULL THEN last_success_at ELSE $5::timestamptz END,
                 enabled = CASE WHEN $6::text IS NULL THEN enabled ELSE false END,
                 disabled_reason = coalesce($6::text, disabled_reason),
                 disabled_by_failures = disabled_by_failures OR $6::text IS NOT NULL,
                 disabled_at = CASE WHEN $6::text IS NULL THEN disabled_at ELSE $5::timestamptz END
             WHERE id = $1::uuid AND lease_holder = $2 AND delivered_through = $7",
        )
        .bind(record.endpoint_id)
        .bind(holder)
        .bind(record.next_attempt_at)
        .bind(record.advance_to)
        .bind(record.delivery.map_or_else(|| sortable(crate::store::now()), |d| d.attempted_at.clone()))
        .bind(record.disable)
        .bind(record.claimed_through)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            // Replayed meanwhile (or taken over): keep the new cursor, and
            // give the lease back if it is still ours.
            sqlx::query(
                "UPDATE webhook_endpoints SET lease_holder = NULL, lease_until = NULL WHERE id = $1::uuid AND lease_holder = $2",
            )
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
        let mut tx = self.pool.begin().await?;
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
             WHERE endpoint_id = $1::uuid AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
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
            sqlx::query("DELETE FROM webhook_deliveries WHERE attempted_at < $1::timestamptz")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

async fn insert_delivery(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    d: &DeliveryRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (endpoint_id, attempted_at, kind, attempt, first_position,
             last_position, event_count, outcome, status_code, latency_ms, error, response_snippet)
         VALUES ($1::uuid, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&d.endpoint_id)
    .bind(&d.attempted_at)
    .bind(&d.kind)
    .bind(d.attempt as i32)
    .bind(d.first_position)
    .bind(d.last_position)
    .bind(d.event_count as i32)
    .bind(&d.outcome)
    .bind(d.status_code.map(|c| c as i32))
    .bind(d.latency_ms)
    .bind(&d.error)
    .bind(&d.response_snippet)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
