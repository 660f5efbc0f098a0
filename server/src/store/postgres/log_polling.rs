//! System Log polling's settings and cursor on PostgreSQL (see the store's
//! `log_polling` module): the same statements, with uuid and timestamptz.

use super::PgStore;
use crate::store::{LogPollRow, StoreError};

const COLUMNS: &str = "directory_id::text AS directory_id, enabled, interval_secs, reconcile_secs, state, \
    rfc3339(cursor_at) AS cursor_at, rfc3339(reread_from) AS reread_from, rfc3339(covered_since) AS covered_since, \
    rfc3339(reconciled_at) AS reconciled_at, rfc3339(next_poll_at) AS next_poll_at, \
    rfc3339(last_poll_at) AS last_poll_at, last_events, polls, last_error, gap_reason";

impl PgStore {
    pub async fn log_polling(&self, directory_id: &str) -> Result<Option<LogPollRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM okta_log_polling WHERE directory_id = $1::uuid"
        ))
        .bind(directory_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn put_log_polling(&self, row: &LogPollRow, at: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO okta_log_polling (directory_id, enabled, interval_secs, reconcile_secs, state, cursor_at,
                 reread_from, covered_since, reconciled_at, next_poll_at, gap_reason, last_error, updated_at)
             VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8::timestamptz,
                 $9::timestamptz, $10::timestamptz, $11, $12, $13::timestamptz)
             ON CONFLICT (directory_id) DO UPDATE SET enabled = excluded.enabled,
                 interval_secs = excluded.interval_secs, reconcile_secs = excluded.reconcile_secs,
                 state = excluded.state, cursor_at = excluded.cursor_at, reread_from = excluded.reread_from,
                 covered_since = excluded.covered_since, next_poll_at = excluded.next_poll_at,
                 gap_reason = excluded.gap_reason, last_error = excluded.last_error,
                 updated_at = excluded.updated_at",
        )
        .bind(&row.directory_id)
        .bind(row.enabled)
        .bind(row.interval_secs)
        .bind(row.reconcile_secs)
        .bind(row.state)
        .bind(&row.cursor_at)
        .bind(&row.reread_from)
        .bind(&row.covered_since)
        .bind(&row.reconciled_at)
        .bind(&row.next_poll_at)
        .bind(&row.gap_reason)
        .bind(&row.last_error)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_log_polling_settings(
        &self,
        directory_id: &str,
        enabled: bool,
        interval_secs: i64,
        reconcile_secs: i64,
        at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE okta_log_polling SET enabled = $2, interval_secs = $3, reconcile_secs = $4,
                 state = CASE WHEN $2 THEN state ELSE 'off' END,
                 next_poll_at = CASE WHEN $2 THEN next_poll_at ELSE NULL END, updated_at = $5::timestamptz
             WHERE directory_id = $1::uuid",
        )
        .bind(directory_id)
        .bind(enabled)
        .bind(interval_secs)
        .bind(reconcile_secs)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn take_due_log_polls(&self, at: &str, until: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE okta_log_polling SET next_poll_at = $2::timestamptz
             WHERE enabled AND state IN ('healthy', 'failing', 'gap') AND next_poll_at <= $1::timestamptz
             RETURNING directory_id::text",
        )
        .bind(at)
        .bind(until)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn log_poll_failed(
        &self,
        directory_id: &str,
        error: &str,
        at: &str,
        next_poll_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE okta_log_polling SET state = CASE WHEN state = 'healthy' THEN 'failing' ELSE state END,
                 last_error = $2, next_poll_at = $4::timestamptz, updated_at = $3::timestamptz
             WHERE directory_id = $1::uuid",
        )
        .bind(directory_id)
        .bind(error)
        .bind(at)
        .bind(next_poll_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn log_poll_gap(&self, directory_id: &str, reason: &str, at: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE okta_log_polling SET state = 'gap', gap_reason = $2, updated_at = $3::timestamptz
             WHERE directory_id = $1::uuid AND enabled AND state <> 'gap'",
        )
        .bind(directory_id)
        .bind(reason)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    pub async fn log_polling_reconciled(
        &self,
        directory_id: &str,
        started_at: &str,
        anchor: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO okta_log_polling (directory_id, reconciled_at, updated_at)
             VALUES ($1::uuid, $2::timestamptz, $4::timestamptz)
             ON CONFLICT (directory_id) DO UPDATE SET reconciled_at = excluded.reconciled_at,
                 cursor_at = CASE WHEN NOT okta_log_polling.enabled THEN okta_log_polling.cursor_at
                     WHEN okta_log_polling.state = 'gap' OR okta_log_polling.cursor_at IS NULL
                         OR okta_log_polling.covered_since > $2::timestamptz THEN $3::timestamptz
                     ELSE greatest(okta_log_polling.cursor_at, $3::timestamptz) END,
                 reread_from = CASE WHEN NOT okta_log_polling.enabled THEN okta_log_polling.reread_from
                     WHEN okta_log_polling.state = 'gap' OR okta_log_polling.cursor_at IS NULL
                         OR okta_log_polling.covered_since > $2::timestamptz THEN $3::timestamptz
                     ELSE greatest(okta_log_polling.reread_from, $3::timestamptz) END,
                 covered_since = CASE WHEN NOT okta_log_polling.enabled THEN okta_log_polling.covered_since
                     WHEN okta_log_polling.state = 'gap' OR okta_log_polling.cursor_at IS NULL
                         OR okta_log_polling.covered_since > $2::timestamptz THEN $3::timestamptz
                     ELSE okta_log_polling.covered_since END,
                 next_poll_at = CASE WHEN okta_log_polling.enabled AND okta_log_polling.state = 'gap'
                     THEN $4::timestamptz ELSE okta_log_polling.next_poll_at END,
                 gap_reason = CASE WHEN okta_log_polling.enabled THEN NULL ELSE okta_log_polling.gap_reason END,
                 state = CASE WHEN okta_log_polling.enabled AND okta_log_polling.state = 'gap'
                     THEN 'healthy' ELSE okta_log_polling.state END,
                 updated_at = $4::timestamptz",
        )
        .bind(directory_id)
        .bind(started_at)
        .bind(anchor)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
