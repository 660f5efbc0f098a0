//! The event log on PostgreSQL (see the store's `events` module). Positions
//! come from an identity column, which hands values out at insert, not at
//! commit; so every transaction that appends events first takes
//! [`EVENTS_LOCK`] (transaction-scoped, released at commit or rollback, so it
//! holds under PgBouncer's transaction mode too). Positions are then drawn by
//! one transaction at a time, each after the previous holder committed:
//! whatever a reader sees is every committed event up to some position, and
//! an event committed later always has a greater one. Writers append their
//! events last, so the lock is held only from the first append to the commit.

use super::PgStore;
use crate::{
    model::EventType,
    store::{EventFilter, EventRow, StoreError},
};
use sqlx::PgConnection;

/// The advisory lock key of event appends ("roster.e").
const EVENTS_LOCK: i64 = 0x726f_7374_6572_2e65;

const DIRECTORY_DATA: &str = "jsonb_build_object('id', id, 'name', name, 'state', state, 'paused', paused,
    'paused_reason', paused_reason, 'pull', pull_enabled, 'scim', scim_enabled)";

const RUN_DATA: &str = "jsonb_build_object('run_id', id, 'trigger', trigger, 'status', status,
    'started_at', rfc3339(started_at), 'finished_at', rfc3339(finished_at),
    'users_added', users_added, 'users_updated', users_updated, 'users_removed', users_removed,
    'groups_added', groups_added, 'groups_updated', groups_updated, 'groups_removed', groups_removed,
    'memberships_added', memberships_added, 'memberships_removed', memberships_removed,
    'error', CASE WHEN error_code IS NULL THEN NULL ELSE jsonb_build_object('code', error_code,
        'class', error_class, 'message', error_message, 'hint', error_hint) END)";

/// Takes the append lock; every transaction that appends events calls this
/// before its first append.
pub(super) async fn lock_events(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVENTS_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends the `directory.*` event for directory `directory_id` as it is now
/// (call after the change, or before a deletion).
pub(super) async fn append_directory_event(
    conn: &mut PgConnection,
    event_type: EventType,
    directory_id: &str,
) -> Result<(), StoreError> {
    lock_events(conn).await?;
    sqlx::query(&format!(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT $2, id, id::text, NULL, clock_timestamp(), {DIRECTORY_DATA} FROM directories WHERE id = $1::uuid"
    ))
    .bind(directory_id)
    .bind(event_type.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends the `sync.*` event for run `run_id` as it ended (none for a
/// preview, which changes nothing).
pub(super) async fn append_run_event(
    conn: &mut PgConnection,
    event_type: EventType,
    run_id: &str,
) -> Result<(), StoreError> {
    lock_events(conn).await?;
    sqlx::query(&format!(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT $2, directory_id, id::text, NULL, clock_timestamp(), {RUN_DATA} FROM sync_runs WHERE id = $1::uuid AND trigger != 'preview'"
    ))
    .bind(run_id)
    .bind(event_type.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl PgStore {
    pub async fn events_page(&self, filter: &EventFilter<'_>) -> Result<Vec<EventRow>, StoreError> {
        let order = if filter.newest { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT position, type, directory_id::text AS directory_id, entity_id,
                    coalesce(version, position) AS version, rfc3339(occurred_at) AS occurred_at, data::text AS data
             FROM events
             WHERE position > $1
               AND (cardinality($2::text[]) = 0 OR type = ANY($2))
               AND ($3::uuid IS NULL OR directory_id = $3::uuid)
             ORDER BY position {order} LIMIT $4"
        ))
        .bind(if filter.newest { 0 } else { filter.after })
        .bind(filter.types)
        .bind(filter.directory_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn events_pruned_through(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT pruned_through FROM event_log_state WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn prune_events(&self, keep: time::Duration) -> Result<u64, StoreError> {
        let cutoff = crate::store::now() - keep;
        let mut tx = self.pool.begin().await?;
        let through: Option<i64> =
            sqlx::query_scalar("SELECT max(position) FROM events WHERE occurred_at < $1")
                .bind(cutoff)
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
        sqlx::query("UPDATE event_log_state SET pruned_through = greatest(pruned_through, $1) WHERE id = 1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}
