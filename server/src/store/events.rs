//! The event log: one row per change the store applies, appended by the
//! transaction that makes the change (an outbox), read by position.
//!
//! A reader pages by position and must never skip an event that commits
//! late with a smaller position. Both backends hand out positions in commit
//! order: SQLite runs one write transaction at a time, so a transaction's
//! positions come after every committed one; on PostgreSQL every transaction
//! that appends events first takes one transaction-scoped advisory lock,
//! held until it commits (`postgres/events.rs`). The events of one
//! transaction are appended in the order its changes happen.

use super::{now, timestamp, SqliteStore, StoreError};
use sqlx::SqliteConnection;

/// An event as stored; `data` is the entity's normalised representation (for
/// a removal, the last known), as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub position: i64,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub directory_id: String,
    pub entity_id: String,
    /// The entity's version where it has one (users, groups); else the
    /// position.
    pub version: i64,
    pub occurred_at: String,
    pub data: String,
}

/// Which events a page holds.
#[derive(Debug, Clone, Default)]
pub struct EventFilter<'a> {
    /// Events after this position (0: from the oldest kept).
    pub after: i64,
    pub limit: i64,
    /// Event type names; empty: all.
    pub types: &'a [String],
    pub directory_id: Option<&'a str>,
    /// The newest `limit` events instead (`after` ignored), newest first.
    pub newest: bool,
}

/// `directory.*` data: the directory as it is after the change.
pub(super) const DIRECTORY_DATA: &str = "json_object('id', id, 'name', name, 'state', state,
    'paused', json(CASE WHEN paused THEN 'true' ELSE 'false' END), 'paused_reason', paused_reason,
    'pull', json(CASE WHEN pull_enabled THEN 'true' ELSE 'false' END),
    'scim', json(CASE WHEN scim_enabled THEN 'true' ELSE 'false' END))";

/// `sync.*` data: the run as it ended.
pub(super) const RUN_DATA: &str = "json_object('run_id', id, 'trigger', trigger, 'status', status,
    'started_at', started_at, 'finished_at', finished_at,
    'users_added', users_added, 'users_updated', users_updated, 'users_removed', users_removed,
    'groups_added', groups_added, 'groups_updated', groups_updated, 'groups_removed', groups_removed,
    'memberships_added', memberships_added, 'memberships_removed', memberships_removed,
    'error', CASE WHEN error_code IS NULL THEN NULL ELSE json_object('code', error_code,
        'class', error_class, 'message', error_message, 'hint', error_hint) END)";

/// Appends the `directory.*` event of `event_type` for directory `$1` as it
/// is now (call after the change, or before a deletion).
pub(super) async fn append_directory_event(
    conn: &mut SqliteConnection,
    event_type: crate::model::EventType,
    directory_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT $2, id, id, NULL, $3, {DIRECTORY_DATA} FROM directories WHERE id = $1"
    ))
    .bind(directory_id)
    .bind(event_type.as_str())
    .bind(timestamp(now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends the `sync.*` event of `event_type` for run `run_id` as it ended.
/// A preview (the wizard's dry run, which changes nothing) is not an event.
pub(super) async fn append_run_event(
    conn: &mut SqliteConnection,
    event_type: crate::model::EventType,
    run_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT $2, directory_id, id, NULL, $3, {RUN_DATA} FROM sync_runs WHERE id = $1 AND trigger != 'preview'"
    ))
    .bind(run_id)
    .bind(event_type.as_str())
    .bind(timestamp(now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The event a pause or resume produces: only a change of state is one.
pub(crate) fn pause_event(was_paused: bool, paused: bool) -> Option<crate::model::EventType> {
    use crate::model::EventType;
    match (was_paused, paused) {
        (false, true) => Some(EventType::DirectoryPaused),
        (true, false) => Some(EventType::DirectoryResumed),
        _ => None,
    }
}

/// The event a run that ends without applying produces, if any.
pub(crate) fn run_end_event(status: crate::model::RunStatus) -> Option<crate::model::EventType> {
    use crate::model::{EventType, RunStatus};
    match status {
        RunStatus::Failed => Some(EventType::SyncFailed),
        RunStatus::NeedsConfirmation => Some(EventType::SyncHeldForReview),
        _ => None,
    }
}

impl SqliteStore {
    pub async fn events_page(&self, filter: &EventFilter<'_>) -> Result<Vec<EventRow>, StoreError> {
        let types = serde_json::to_string(filter.types).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let order = if filter.newest { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT position, type, directory_id, entity_id, coalesce(version, position) AS version,
                    occurred_at, data
             FROM events
             WHERE position > $1
               AND ($2 = '[]' OR type IN (SELECT value FROM json_each($2)))
               AND ($3 IS NULL OR directory_id = $3)
             ORDER BY position {order} LIMIT $4"
        ))
        .bind(if filter.newest { 0 } else { filter.after })
        .bind(types)
        .bind(filter.directory_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The last position retention removed (0: none): a reader whose cursor
    /// is below it has missed events.
    pub async fn events_pruned_through(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT pruned_through FROM event_log_state WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Removes events older than `keep`; returns how many.
    pub async fn prune_events(&self, keep: time::Duration) -> Result<u64, StoreError> {
        let cutoff = timestamp(now() - keep);
        let mut tx = self.writer.begin().await?;
        let through: Option<i64> =
            sqlx::query_scalar("SELECT max(position) FROM events WHERE occurred_at < $1")
                .bind(&cutoff)
                .fetch_one(&mut *tx)
                .await?;
        let Some(through) = through else {
            return Ok(0);
        };
        let removed = sqlx::query("DELETE FROM events WHERE position <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE event_log_state SET pruned_through = max(pruned_through, $1) WHERE id = 1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}
