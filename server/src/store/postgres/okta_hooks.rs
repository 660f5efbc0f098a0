//! Okta Event Hooks and the refresh queue on PostgreSQL (see the store's
//! `okta_hooks` module): the same statements, with uuid and timestamptz.

use super::PgStore;
use crate::store::{OktaHookRow, PollAdvance, RefreshItem, SeenEvent, StoreError};

const HOOK_COLUMNS: &str = "directory_id::text AS directory_id, header_name, secret_hash, secret_sealed,
    rfc3339(created_at) AS created_at, rfc3339(verified_at) AS verified_at,
    rfc3339(last_delivery_at) AS last_delivery_at, deliveries";

impl PgStore {
    /// Creates or replaces a directory's hook secret (a rotation keeps the
    /// delivery history).
    pub async fn set_okta_hook(
        &self,
        directory_id: &str,
        header_name: &str,
        secret_hash: &str,
        secret_sealed: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO okta_event_hooks (directory_id, header_name, secret_hash, secret_sealed, created_at)
             VALUES ($1::uuid, $2, $3, $4, $5::timestamptz)
             ON CONFLICT (directory_id) DO UPDATE SET header_name = excluded.header_name,
                 secret_hash = excluded.secret_hash, secret_sealed = excluded.secret_sealed,
                 verified_at = NULL",
        )
        .bind(directory_id)
        .bind(header_name)
        .bind(secret_hash)
        .bind(secret_sealed)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn okta_hook(&self, directory_id: &str) -> Result<Option<OktaHookRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {HOOK_COLUMNS} FROM okta_event_hooks WHERE directory_id = $1::uuid"
        ))
        .bind(directory_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Notes a verification (`verified`) or a delivery received at `at`.
    pub async fn okta_hook_seen(
        &self,
        directory_id: &str,
        verified: bool,
        at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE okta_event_hooks SET
                 verified_at = CASE WHEN $2 THEN $3::timestamptz ELSE verified_at END,
                 last_delivery_at = CASE WHEN $2 THEN last_delivery_at ELSE $3::timestamptz END,
                 deliveries = deliveries + CASE WHEN $2 THEN 0 ELSE 1 END
             WHERE directory_id = $1::uuid",
        )
        .bind(directory_id)
        .bind(verified)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the uuids of a delivery's events and enqueues the records
    /// the new ones name, in one transaction; returns how many events were
    /// new (a repeated delivery: none).
    pub async fn receive_okta_events(
        &self,
        directory_id: &str,
        events: &[SeenEvent],
        at: &str,
        due_at: &str,
        due_by: &str,
        poll: Option<&PollAdvance>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        for event in events {
            let recorded = sqlx::query(
                "INSERT INTO okta_hook_events (directory_id, uuid, received_at, published)
                 VALUES ($1::uuid, $2, $3::timestamptz, $4::timestamptz)
                 ON CONFLICT DO NOTHING",
            )
            .bind(directory_id)
            .bind(&event.uuid)
            .bind(at)
            .bind(&event.published)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if recorded == 0 {
                continue;
            }
            new += 1;
            for (kind, id) in &event.items {
                enqueue(&mut tx, directory_id, kind, id, at, (due_at, due_by)).await?;
            }
        }
        if let Some(poll) = poll {
            sqlx::query(
                "UPDATE okta_log_polling SET cursor_at = $2::timestamptz, reread_from = $3::timestamptz,
                     next_poll_at = $4::timestamptz, last_poll_at = $5::timestamptz, last_events = $6,
                     polls = polls + 1, last_error = NULL,
                     state = CASE WHEN state = 'failing' THEN 'healthy' ELSE state END, updated_at = $5::timestamptz
                 WHERE directory_id = $1::uuid",
            )
            .bind(directory_id)
            .bind(&poll.cursor_at)
            .bind(&poll.reread_from)
            .bind(&poll.next_poll_at)
            .bind(at)
            .bind(events.len() as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Directories with records due for a refresh that nobody holds.
    pub async fn due_refreshes(&self, at: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT directory_id::text FROM refresh_queue
             WHERE due_at <= $1::timestamptz AND (claimed_until IS NULL OR claimed_until < $1::timestamptz)",
        )
        .bind(at)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes up to `limit` due records of a directory until `until`.
    pub async fn claim_refreshes(
        &self,
        directory_id: &str,
        holder: &str,
        due_before: &str,
        at: &str,
        until: &str,
        limit: i64,
    ) -> Result<Vec<RefreshItem>, StoreError> {
        Ok(sqlx::query_as(
            "UPDATE refresh_queue SET claimed_by = $2, claimed_until = $4::timestamptz, requeued = false,
                 attempts = attempts + 1
             WHERE directory_id = $1::uuid AND (kind, entity_id) IN (
                 SELECT kind, entity_id FROM refresh_queue
                 WHERE directory_id = $1::uuid AND due_at <= $6::timestamptz
                   AND (claimed_until IS NULL OR claimed_until < $3::timestamptz)
                 ORDER BY due_at LIMIT $5
                 FOR UPDATE SKIP LOCKED)
             RETURNING kind, entity_id",
        )
        .bind(directory_id)
        .bind(holder)
        .bind(at)
        .bind(until)
        .bind(limit)
        .bind(due_before)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends a claim: done records go, unless a trigger came in meanwhile
    /// (then they are due again at once); `retry_at` puts failed ones back.
    pub async fn finish_refreshes(
        &self,
        directory_id: &str,
        holder: &str,
        retry_at: Option<&str>,
        at: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if retry_at.is_none() {
            sqlx::query("DELETE FROM refresh_queue WHERE directory_id = $1::uuid AND claimed_by = $2 AND NOT requeued")
                .bind(directory_id)
                .bind(holder)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE refresh_queue SET claimed_by = NULL, claimed_until = NULL, requeued = false,
                 due_at = CASE WHEN requeued THEN $3::timestamptz ELSE coalesce($4::timestamptz, due_at) END
             WHERE directory_id = $1::uuid AND claimed_by = $2",
        )
        .bind(directory_id)
        .bind(holder)
        .bind(at)
        .bind(retry_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets event uuids received before `before` (Okta repeats a
    /// delivery within minutes, not days).
    pub async fn prune_okta_hook_events(&self, before: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM okta_hook_events WHERE received_at < $1::timestamptz AND NOT EXISTS (
                     SELECT 1 FROM okta_log_polling p WHERE p.directory_id = okta_hook_events.directory_id
                         AND okta_hook_events.published >= p.reread_from)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

/// Queues one record. Triggers for a queued record coalesce: each moves it
/// to `due_at` but not past the first trigger's `due_by`; one being
/// refreshed now is read again after.
async fn enqueue(
    conn: &mut sqlx::PgConnection,
    directory_id: &str,
    kind: &str,
    id: &str,
    at: &str,
    (due_at, due_by): (&str, &str),
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_queue (directory_id, kind, entity_id, due_at, due_by, queued_at)
         VALUES ($1::uuid, $2, $3, $4::timestamptz, $5::timestamptz, $6::timestamptz)
         ON CONFLICT (directory_id, kind, entity_id) DO UPDATE SET
             requeued = refresh_queue.claimed_by IS NOT NULL,
             due_at = CASE WHEN refresh_queue.claimed_by IS NULL
                           THEN least(excluded.due_at, refresh_queue.due_by) ELSE refresh_queue.due_at END",
    )
    .bind(directory_id)
    .bind(kind)
    .bind(id)
    .bind(due_at)
    .bind(due_by)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
