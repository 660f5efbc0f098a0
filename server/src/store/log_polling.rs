//! System Log polling's settings and durable cursor, one row per directory
//! (SQLite; PostgreSQL in `postgres/log_polling.rs`). The events a poll
//! reads are recorded with the cursor's move by `receive_okta_events`.

use super::{SqliteStore, StoreError};
use crate::model::LogPollState;

/// A directory's polling row (see the migration for what each time means).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogPollRow {
    pub directory_id: String,
    pub enabled: bool,
    pub interval_secs: i64,
    pub reconcile_secs: i64,
    pub state: LogPollState,
    pub cursor_at: Option<String>,
    pub reread_from: Option<String>,
    pub covered_since: Option<String>,
    pub reconciled_at: Option<String>,
    pub next_poll_at: Option<String>,
    pub last_poll_at: Option<String>,
    pub last_events: i64,
    pub polls: i64,
    pub last_error: Option<String>,
    pub gap_reason: Option<String>,
}

impl LogPollRow {
    /// A directory that has never had polling: off, defaults.
    pub fn new(directory_id: &str) -> Self {
        Self {
            directory_id: directory_id.to_owned(),
            enabled: false,
            interval_secs: 60,
            reconcile_secs: 86_400,
            state: LogPollState::Off,
            cursor_at: None,
            reread_from: None,
            covered_since: None,
            reconciled_at: None,
            next_poll_at: None,
            last_poll_at: None,
            last_events: 0,
            polls: 0,
            last_error: None,
            gap_reason: None,
        }
    }
}

const COLUMNS: &str = "directory_id, enabled, interval_secs, reconcile_secs, state, cursor_at, reread_from, \
    covered_since, reconciled_at, next_poll_at, last_poll_at, last_events, polls, last_error, gap_reason";

impl SqliteStore {
    pub async fn log_polling(&self, directory_id: &str) -> Result<Option<LogPollRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM okta_log_polling WHERE directory_id = $1"
        ))
        .bind(directory_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Writes a directory's settings and state as the domain decided them
    /// (turning polling on or off, new intervals).
    pub async fn put_log_polling(&self, row: &LogPollRow, at: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO okta_log_polling (directory_id, enabled, interval_secs, reconcile_secs, state, cursor_at,
                 reread_from, covered_since, reconciled_at, next_poll_at, gap_reason, last_error, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Changes the settings only (turning polling off, new intervals): the
    /// cursor and its state stay as polls and syncs left them.
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
                 next_poll_at = CASE WHEN $2 THEN next_poll_at ELSE NULL END, updated_at = $5
             WHERE directory_id = $1",
        )
        .bind(directory_id)
        .bind(enabled)
        .bind(interval_secs)
        .bind(reconcile_secs)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Takes the directories whose poll is due at `at`, moving their next
    /// poll to `until` so that of several processes one polls.
    pub async fn take_due_log_polls(&self, at: &str, until: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE okta_log_polling SET next_poll_at = $2
             WHERE enabled AND state IN ('healthy', 'failing', 'gap') AND next_poll_at <= $1
             RETURNING directory_id",
        )
        .bind(at)
        .bind(until)
        .fetch_all(&self.writer)
        .await?)
    }

    /// A poll failed; the cursor stays where it was.
    pub async fn log_poll_failed(
        &self,
        directory_id: &str,
        error: &str,
        at: &str,
        next_poll_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE okta_log_polling SET state = CASE WHEN state = 'healthy' THEN 'failing' ELSE state END,
                 last_error = $2, next_poll_at = $4, updated_at = $3
             WHERE directory_id = $1",
        )
        .bind(directory_id)
        .bind(error)
        .bind(at)
        .bind(next_poll_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Changes may have been missed; true when this call found the gap
    /// (the caller then starts the full sync that closes it).
    pub async fn log_poll_gap(&self, directory_id: &str, reason: &str, at: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE okta_log_polling SET state = 'gap', gap_reason = $2, updated_at = $3
             WHERE directory_id = $1 AND enabled AND state <> 'gap'",
        )
        .bind(directory_id)
        .bind(reason)
        .bind(at)
        .execute(&self.writer)
        .await?
        .rows_affected()
            > 0)
    }

    /// A full sync that started at `started_at` succeeded: it accounts for
    /// everything before it. A cursor that is gone, in a gap, or started
    /// after it is re-anchored at `anchor` (its start minus the overlap); a
    /// healthy one need not re-read before `anchor` (a quiet org's cursor
    /// moves on with the syncs, so it never ages into a gap).
    pub async fn log_polling_reconciled(
        &self,
        directory_id: &str,
        started_at: &str,
        anchor: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO okta_log_polling (directory_id, reconciled_at, updated_at) VALUES ($1, $2, $4)
             ON CONFLICT (directory_id) DO UPDATE SET reconciled_at = excluded.reconciled_at,
                 cursor_at = CASE WHEN NOT enabled THEN cursor_at
                     WHEN state = 'gap' OR cursor_at IS NULL OR covered_since > $2 THEN $3 ELSE max(cursor_at, $3) END,
                 reread_from = CASE WHEN NOT enabled THEN reread_from
                     WHEN state = 'gap' OR cursor_at IS NULL OR covered_since > $2 THEN $3 ELSE max(reread_from, $3) END,
                 covered_since = CASE WHEN NOT enabled THEN covered_since
                     WHEN state = 'gap' OR cursor_at IS NULL OR covered_since > $2 THEN $3 ELSE covered_since END,
                 next_poll_at = CASE WHEN enabled AND state = 'gap' THEN $4 ELSE next_poll_at END,
                 gap_reason = CASE WHEN enabled THEN NULL ELSE gap_reason END,
                 state = CASE WHEN enabled AND state = 'gap' THEN 'healthy' ELSE state END,
                 updated_at = $4",
        )
        .bind(directory_id)
        .bind(started_at)
        .bind(anchor)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
