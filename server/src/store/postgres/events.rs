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
        event_blocks::{read_page, BlockKind, BlockSize, EventBlock, EventReader},
        events::{
            blocks_pruned, changes, leading_old, stored_data, GroupSnap, Snapshot, UserSnap, PRUNE_CHUNK,
        },
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

/// The users named, as they are in `dataset` now.
pub(super) async fn user_snaps(
    conn: &mut PgConnection,
    dataset: i64,
    ids: &[&str],
) -> Result<Vec<UserSnap>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT okta_id, login, email, first_name, last_name, display_name, status, profile::text AS profile,
                version, deleted_at IS NOT NULL AS removed
         FROM directory_users WHERE dataset = $1 AND okta_id = ANY($2)",
    )
    .bind(dataset)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?)
}

/// The groups named, as they are in `dataset` now.
pub(super) async fn group_snaps(
    conn: &mut PgConnection,
    dataset: i64,
    ids: &[&str],
) -> Result<Vec<GroupSnap>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT okta_id, name, description, kind, version, deleted_at IS NOT NULL AS removed
         FROM directory_groups WHERE dataset = $1 AND okta_id = ANY($2)",
    )
    .bind(dataset)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?)
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
        let rows = user_snaps(conn, dataset, users).await?;
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
        let rows = group_snaps(conn, dataset, groups).await?;
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
    /// A page of events, rows and first-sync blocks merged, read in one
    /// snapshot.
    pub async fn events_page(&self, filter: &EventFilter<'_>) -> Result<Vec<EventRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let page = read_page(&mut *tx, filter).await?;
        tx.commit().await?;
        Ok(page)
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
            let rows: Vec<(i64, time::OffsetDateTime)> = sqlx::query_as(LOG_ENTRIES)
                .bind(through.unwrap_or(0_i64))
                .bind(PRUNE_CHUNK as i64)
                .fetch_all(&mut *tx)
                .await?;
            let rows: Vec<(i64, bool)> = rows.into_iter().map(|(p, at)| (p, at < cutoff)).collect();
            let (last_old, more) = leading_old(&rows);
            through = last_old.or(through);
            if !more {
                break;
            }
        }
        let Some(through) = through else {
            return Ok(0);
        };
        let mut removed = sqlx::query("DELETE FROM events WHERE position <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "DELETE FROM event_block_items WHERE dataset IN (SELECT dataset FROM event_blocks WHERE last_position <= $1)",
        )
        .bind(through)
        .execute(&mut *tx)
        .await?;
        removed += blocks_pruned(
            sqlx::query_as(
                "DELETE FROM event_blocks WHERE last_position <= $1 RETURNING first_position, last_position",
            )
            .bind(through)
            .fetch_all(&mut *tx)
            .await?,
        );
        sqlx::query("UPDATE event_log_state SET pruned_through = greatest(pruned_through, $1) WHERE id = 1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// The greatest position handed out, by a row or a block (0: none).
pub(super) const LAST_POSITION: &str = "greatest(coalesce((SELECT max(position) FROM events), 0),
    coalesce((SELECT max(last_position) FROM event_blocks), 0))";

/// Retention's view of the log (see SQLite's `LOG_ENTRIES`).
const LOG_ENTRIES: &str = "SELECT position, occurred_at FROM events WHERE position > $1
    UNION ALL SELECT last_position, occurred_at FROM event_blocks WHERE last_position > $1
    ORDER BY 1 LIMIT $2";

/// Adds the groups' items and reserves the block of a first sync's events
/// (see `event_blocks`): takes the events lock, so call it last in the
/// commit's transaction, before its `sync.succeeded`.
pub(super) async fn append_first_sync_block(
    conn: &mut PgConnection,
    directory_id: &str,
    dataset: i64,
    at: time::OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO event_block_items (dataset, kind, ordinal, entity_id)
         SELECT dataset, 0, row_number() OVER (ORDER BY okta_id) - 1, okta_id
         FROM directory_groups WHERE dataset = $1",
    )
    .bind(dataset)
    .execute(&mut *conn)
    .await?;
    let counts: Vec<i64> = sqlx::query_scalar(
        "SELECT (SELECT coalesce(max(ordinal) + 1, 0) FROM event_block_items WHERE dataset = $1 AND kind = k)
         FROM unnest($2::int2[]) WITH ORDINALITY AS x(k, n) ORDER BY n",
    )
    .bind(dataset)
    .bind([
        BlockKind::Group.code(),
        BlockKind::User.code(),
        BlockKind::Member.code(),
    ])
    .fetch_all(&mut *conn)
    .await?;
    let size = BlockSize {
        groups: counts.first().copied().unwrap_or(0),
        users: counts.get(1).copied().unwrap_or(0),
        members: counts.get(2).copied().unwrap_or(0),
    };
    if size.total() == 0 {
        return Ok(());
    }
    lock_events(conn).await?;
    // The block's positions, drawn from the sequence rows use.
    let first: i64 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('events', 'position'))")
        .fetch_one(&mut *conn)
        .await?;
    let block = size.block(first, directory_id, dataset, "");
    sqlx::query("SELECT setval(pg_get_serial_sequence('events', 'position'), $1)")
        .bind(block.last_position)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO event_blocks (first_position, last_position, directory_id, dataset, users_at, members_at, occurred_at)
         VALUES ($1, $2, $3::uuid, $4, $5, $6, $7)",
    )
    .bind(block.first_position)
    .bind(block.last_position)
    .bind(&block.directory_id)
    .bind(block.dataset)
    .bind(block.users_at)
    .bind(block.members_at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl EventReader for PgConnection {
    async fn rows(
        &mut self,
        from: i64,
        to: i64,
        limit: i64,
        descending: bool,
        filter: &EventFilter<'_>,
    ) -> Result<Vec<EventRow>, StoreError> {
        let order = if descending { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT position, type, directory_id::text AS directory_id, entity_id,
                    coalesce(version, position) AS version, rfc3339(occurred_at) AS occurred_at,
                    coalesce(data, jsonb_build_object('group_id', split_part(entity_id, ':', 1),
                                                      'user_id', split_part(entity_id, ':', 2)))::text AS data
             FROM events
             WHERE position BETWEEN $1 AND $2
               AND (cardinality($3::text[]) = 0 OR type = ANY($3))
               AND (cardinality($4::text[]) = 0 OR directory_id = ANY($4::text[]::uuid[]))
             ORDER BY position {order} LIMIT $5"
        ))
        .bind(from)
        .bind(to)
        .bind(filter.types)
        .bind(filter.directory_ids)
        .bind(limit)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn block(
        &mut self,
        from: i64,
        to: i64,
        descending: bool,
    ) -> Result<Option<EventBlock>, StoreError> {
        let order = if descending { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT first_position, last_position, directory_id::text AS directory_id, dataset, users_at,
                    members_at, rfc3339(occurred_at) AS occurred_at
             FROM event_blocks WHERE last_position >= $1 AND first_position <= $2
             ORDER BY first_position {order} LIMIT 1"
        ))
        .bind(from)
        .bind(to)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn items(
        &mut self,
        dataset: i64,
        kind: BlockKind,
        from: i64,
        to: i64,
        limit: i64,
        descending: bool,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let order = if descending { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT ordinal, entity_id FROM event_block_items
             WHERE dataset = $1 AND kind = $2 AND ordinal BETWEEN $3 AND $4
             ORDER BY ordinal {order} LIMIT $5"
        ))
        .bind(dataset)
        .bind(kind.code())
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn users(&mut self, dataset: i64, ids: &[&str]) -> Result<Vec<UserSnap>, StoreError> {
        user_snaps(self, dataset, ids).await
    }

    async fn groups(&mut self, dataset: i64, ids: &[&str]) -> Result<Vec<GroupSnap>, StoreError> {
        group_snaps(self, dataset, ids).await
    }
}
