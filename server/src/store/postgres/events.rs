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
    store::{
        events::{changes, leading_old, stored_data, GroupSnap, Snapshot, UserSnap, PRUNE_CHUNK},
        EventFilter, EventRow, StoreError,
    },
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

/// The users and groups named, and the present memberships of either, as
/// they are in `dataset` now (see SQLite's `snapshot`).
pub(super) async fn snapshot(
    conn: &mut PgConnection,
    dataset: i64,
    users: &[&str],
    groups: &[&str],
) -> Result<Snapshot, StoreError> {
    let mut snapshot = Snapshot::default();
    if !users.is_empty() {
        let rows: Vec<UserSnap> = sqlx::query_as(
            "SELECT okta_id, login, email, first_name, last_name, display_name, status, profile::text AS profile,
                    version, deleted_at IS NOT NULL AS removed
             FROM directory_users WHERE dataset = $1 AND okta_id = ANY($2)",
        )
        .bind(dataset)
        .bind(users)
        .fetch_all(&mut *conn)
        .await?;
        snapshot.users = rows.into_iter().map(|u| (u.okta_id.clone(), u)).collect();
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT group_id, user_id FROM present_user_groups WHERE dataset = $1 AND user_id = ANY($2)",
        )
        .bind(dataset)
        .bind(users)
        .fetch_all(&mut *conn)
        .await?;
        snapshot.members.extend(pairs);
    }
    if !groups.is_empty() {
        let rows: Vec<GroupSnap> = sqlx::query_as(
            "SELECT okta_id, name, description, kind, version, deleted_at IS NOT NULL AS removed
             FROM directory_groups WHERE dataset = $1 AND okta_id = ANY($2)",
        )
        .bind(dataset)
        .bind(groups)
        .fetch_all(&mut *conn)
        .await?;
        snapshot.groups = rows.into_iter().map(|g| (g.okta_id.clone(), g)).collect();
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT group_id, user_id FROM present_memberships WHERE dataset = $1 AND group_id = ANY($2)",
        )
        .bind(dataset)
        .bind(groups)
        .fetch_all(&mut *conn)
        .await?;
        snapshot.members.extend(pairs);
    }
    Ok(snapshot)
}

/// Appends the events of what a single write changed since `before`; the
/// last statements of the write's transaction (the append lock is held from
/// here to its commit).
pub(super) async fn append_changes(
    conn: &mut PgConnection,
    directory_id: &str,
    dataset: i64,
    before: &Snapshot,
    users: &[&str],
    groups: &[&str],
) -> Result<(), StoreError> {
    let after = snapshot(conn, dataset, users, groups).await?;
    let events = changes(before, &after);
    if events.is_empty() {
        return Ok(());
    }
    lock_events(conn).await?;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let entities: Vec<&str> = events.iter().map(|e| e.entity_id.as_str()).collect();
    let versions: Vec<Option<i64>> = events.iter().map(|e| e.version).collect();
    let data: Vec<Option<String>> = events.iter().map(stored_data).collect();
    // WITH ORDINALITY keeps the events' order in their positions.
    sqlx::query(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT t, $1::uuid, e, v, clock_timestamp(), d::jsonb
         FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[]) WITH ORDINALITY AS x(t, e, v, d, n)
         ORDER BY n",
    )
    .bind(directory_id)
    .bind(types)
    .bind(entities)
    .bind(versions)
    .bind(data)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl PgStore {
    pub async fn events_page(&self, filter: &EventFilter<'_>) -> Result<Vec<EventRow>, StoreError> {
        let order = if filter.newest { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT position, type, directory_id::text AS directory_id, entity_id,
                    coalesce(version, position) AS version, rfc3339(occurred_at) AS occurred_at,
                    coalesce(data, jsonb_build_object('group_id', split_part(entity_id, ':', 1),
                                                      'user_id', split_part(entity_id, ':', 2)))::text AS data
             FROM events
             WHERE position > $1
               AND (cardinality($2::text[]) = 0 OR type = ANY($2))
               AND (cardinality($3::text[]) = 0 OR directory_id = ANY($3::text[]::uuid[]))
               AND ($5::bigint IS NULL OR position <= $5)
             ORDER BY position {order} LIMIT $4"
        ))
        .bind(if filter.newest { 0 } else { filter.after })
        .bind(filter.types)
        .bind(filter.directory_ids)
        .bind(filter.limit)
        .bind(filter.through)
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

    /// See SQLite's `prune_events`: the oldest first, a chunk at a time.
    pub async fn prune_events(&self, keep: time::Duration) -> Result<u64, StoreError> {
        let cutoff = crate::store::now() - keep;
        let mut tx = self.pool.begin().await?;
        let mut through = None;
        loop {
            let rows: Vec<(i64, bool)> = sqlx::query_as(
                "SELECT position, occurred_at < $2 FROM events WHERE position > $1 ORDER BY position LIMIT $3",
            )
            .bind(through.unwrap_or(0_i64))
            .bind(cutoff)
            .bind(PRUNE_CHUNK as i64)
            .fetch_all(&mut *tx)
            .await?;
            let (last_old, more) = leading_old(&rows);
            through = last_old.or(through);
            if !more {
                break;
            }
        }
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
