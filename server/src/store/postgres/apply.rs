//! A run's staging turned into the directory's state: the diff (for the
//! circuit breaker and the run record) and the one-transaction apply. The
//! same rules as SQLite's `apply` module, in PostgreSQL's terms (jsonb
//! arrays, `= ANY($n)` over bound arrays, timestamptz comparisons).

use super::{identity::refresh_member_counts, runs::check_lease, staging::LIVE_DATASET, PgStore};
use crate::store::{now, DiffCounts, DiffSample, StoreError};
use sqlx::{PgConnection, Postgres, Transaction};

type Tx = Transaction<'static, Postgres>;

const ADDED_USERS: &str =
    "FROM sync_staging_users s LEFT JOIN directory_users u ON u.dataset = $2 AND u.okta_id = s.okta_id
     WHERE s.run_id = $1::uuid AND (u.okta_id IS NULL OR u.deleted_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'user' AND f.okta_id = s.okta_id
         AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))";
const UPDATED_USERS: &str =
    "FROM sync_staging_users s JOIN directory_users u ON u.dataset = $2 AND u.okta_id = s.okta_id
     WHERE s.run_id = $1::uuid AND u.deleted_at IS NULL AND u.content_hash != s.content_hash
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'user' AND f.okta_id = s.okta_id
         AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))";
/// Users keyed by a Roster-minted id came from a push that named no Okta
/// id: a pull never removes them; nor what a push wrote after the run started.
const REMOVED_USERS: &str = "FROM directory_users u WHERE u.dataset = $2 AND u.deleted_at IS NULL
     AND u.keyed_by = 'okta'
     AND NOT (u.via_push AND u.updated_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'user' AND f.okta_id = u.okta_id
         AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))
     AND NOT EXISTS (SELECT 1 FROM sync_staging_users s WHERE s.run_id = $1::uuid AND s.okta_id = u.okta_id)";
const ADDED_GROUPS: &str =
    "FROM sync_staging_groups s LEFT JOIN directory_groups g ON g.dataset = $2 AND g.okta_id = s.okta_id
     WHERE s.run_id = $1::uuid AND (g.okta_id IS NULL OR g.deleted_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group' AND f.okta_id = s.okta_id
         AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))";
const UPDATED_GROUPS: &str =
    "FROM sync_staging_groups s JOIN directory_groups g ON g.dataset = $2 AND g.okta_id = s.okta_id
     WHERE s.run_id = $1::uuid AND g.deleted_at IS NULL AND g.content_hash != s.content_hash
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group' AND f.okta_id = s.okta_id
         AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))";
const REMOVED_GROUPS: &str = "FROM directory_groups g WHERE g.dataset = $2 AND g.deleted_at IS NULL
     AND g.keyed_by = 'okta'
     AND NOT (g.via_push AND g.updated_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group' AND f.okta_id = g.okta_id
         AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))
     AND NOT EXISTS (SELECT 1 FROM sync_staging_groups s WHERE s.run_id = $1::uuid AND s.okta_id = g.okta_id)";
const MEMBERSHIPS_OF_REMOVED_GROUPS: &str = "FROM directory_memberships WHERE dataset = $2
     AND group_id IN (SELECT g.okta_id FROM directory_groups g WHERE g.dataset = $2 AND g.deleted_at IS NULL
       AND g.keyed_by = 'okta'
       AND NOT (g.via_push AND g.updated_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))
       AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group'
           AND f.okta_id = g.okta_id AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))
       AND NOT EXISTS (SELECT 1 FROM sync_staging_groups s WHERE s.run_id = $1::uuid AND s.okta_id = g.okta_id))";

/// How a written user replaces the stored one: every field, present again.
pub(super) const USER_UPSERT: &str = "ON CONFLICT (dataset, okta_id) DO UPDATE SET
     login = excluded.login, email = excluded.email, first_name = excluded.first_name,
     last_name = excluded.last_name, display_name = excluded.display_name, status = excluded.status,
     suspended = excluded.suspended, profile = excluded.profile,
     okta_last_updated = excluded.okta_last_updated, last_seen_at = excluded.last_seen_at,
     updated_at = excluded.updated_at, content_hash = excluded.content_hash, deleted_at = NULL,
     version = directory_users.version + 1, push_deactivated_at = NULL";

/// How a written group replaces the stored one (`updated_at` moves only when it changed).
pub(super) const GROUP_UPSERT: &str = "ON CONFLICT (dataset, okta_id) DO UPDATE SET
     name = excluded.name, description = excluded.description, kind = excluded.kind,
     okta_last_updated = excluded.okta_last_updated,
     okta_last_membership_updated = excluded.okta_last_membership_updated,
     last_seen_at = excluded.last_seen_at,
     updated_at = CASE WHEN directory_groups.content_hash != excluded.content_hash
                         OR directory_groups.deleted_at IS NOT NULL
                       THEN excluded.updated_at ELSE directory_groups.updated_at END,
     version = CASE WHEN directory_groups.content_hash != excluded.content_hash
                         OR directory_groups.deleted_at IS NOT NULL
                       THEN directory_groups.version + 1 ELSE directory_groups.version END,
     content_hash = excluded.content_hash, deleted_at = NULL";

pub(super) fn group_count_of(user: &str) -> String {
    format!("(SELECT COUNT(*) FROM directory_user_groups m WHERE m.dataset = $2 AND m.user_id = {user})")
}

/// Removes, then adds, (group_id, user_id) pairs in both membership tables;
/// `removed` and `added` select the pairs, with the dataset bound as `$2`.
pub(super) fn membership_statements(removed: &str, added: &str) -> [String; 4] {
    [
        format!(
            "DELETE FROM directory_user_groups WHERE dataset = $2 AND (group_id, user_id) IN ({removed})"
        ),
        format!(
            "DELETE FROM directory_memberships WHERE dataset = $2 AND (group_id, user_id) IN ({removed})"
        ),
        format!(
            "INSERT INTO directory_memberships (dataset, group_id, user_id)
             SELECT DISTINCT $2::bigint, c.group_id, c.user_id FROM ({added}) c ON CONFLICT DO NOTHING"
        ),
        format!(
            "INSERT INTO directory_user_groups (dataset, user_id, group_id)
             SELECT DISTINCT $2::bigint, c.user_id, c.group_id FROM ({added}) c ON CONFLICT DO NOTHING"
        ),
    ]
}

/// The staged member changes as (group_id, user_id) rows; `column` is `added` or `removed`.
fn staged_member_changes(column: &str) -> String {
    format!(
        "SELECT s.group_id, j.user_id FROM sync_staging_memberships s,
             jsonb_array_elements_text(s.{column}) AS j(user_id)
         WHERE s.run_id = $1::uuid AND s.group_id NOT IN (
             SELECT f.okta_id FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group'
                 AND f.refreshed_at >= coalesce((SELECT started_at FROM sync_runs WHERE id = $1::uuid), 'infinity'))"
    )
}

/// Identity writes of one directory run one at a time (as SQLite's single
/// writer does for all): a transaction-scoped advisory lock, released at
/// commit or rollback, so it holds under PgBouncer's transaction mode too.
pub(super) async fn lock_directory(conn: &mut PgConnection, directory_id: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
        .bind(directory_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn live_dataset(
    conn: &mut PgConnection,
    directory_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(&format!("SELECT {LIVE_DATASET}"))
        .bind(directory_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// The live dataset, made (empty) when the directory has none yet.
pub(super) async fn live_or_new_dataset(
    conn: &mut PgConnection,
    directory_id: &str,
) -> Result<i64, StoreError> {
    if let Some(key) = live_dataset(conn, directory_id).await? {
        return Ok(key);
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO directory_datasets (directory_id, live) VALUES ($1::uuid, true) RETURNING key",
    )
    .bind(directory_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// The run succeeded and the directory was synced at `at`.
pub(super) async fn finish_applied(
    conn: &mut PgConnection,
    run_id: &str,
    directory_id: &str,
    at: time::OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sync_runs SET status = $3, phase = 'done', finished_at = $1 WHERE id = $2::uuid")
        .bind(at)
        .bind(run_id)
        .bind(crate::model::RunStatus::Succeeded)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE directories SET last_success_at = $1, failing_since = NULL WHERE id = $2::uuid")
        .bind(at)
        .bind(directory_id)
        .execute(&mut *conn)
        .await?;
    super::events::append_run_event(conn, crate::model::EventType::SyncSucceeded, run_id).await
}

/// Drops from a run's staging the users a push deactivated after Okta last
/// changed them (see SQLite's `drop_push_held`).
async fn drop_push_held(conn: &mut PgConnection, run_id: &str, dataset: i64) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM sync_staging_users s USING directory_users u
         WHERE s.run_id = $1::uuid AND u.dataset = $2 AND u.okta_id = s.okta_id
           AND u.deleted_at IS NOT NULL AND u.push_deactivated_at IS NOT NULL
           AND (s.okta_last_updated IS NULL OR s.okta_last_updated <= u.push_deactivated_at)",
    )
    .bind(run_id)
    .bind(dataset)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops from a run's staging the users and groups (with its members) a
/// targeted refresh wrote since the run started (see SQLite's `drop_refreshed`).
async fn drop_refreshed(conn: &mut PgConnection, run_id: &str, dataset: i64) -> Result<(), StoreError> {
    let refreshed = |kind: &str| {
        format!(
            "SELECT okta_id FROM refresh_fences WHERE dataset = $2 AND kind = '{kind}'
                 AND refreshed_at >= (SELECT started_at FROM sync_runs WHERE id = $1::uuid)"
        )
    };
    for sql in [
        format!(
            "DELETE FROM sync_staging_users WHERE run_id = $1::uuid AND okta_id IN ({})",
            refreshed("user")
        ),
        format!(
            "DELETE FROM sync_staging_groups WHERE run_id = $1::uuid AND okta_id IN ({})",
            refreshed("group")
        ),
        format!(
            "DELETE FROM sync_staging_memberships WHERE run_id = $1::uuid AND group_id IN ({})",
            refreshed("group")
        ),
    ] {
        sqlx::query(&sql)
            .bind(run_id)
            .bind(dataset)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

struct Change<'a> {
    run_id: &'a str,
    directory_id: &'a str,
    dataset: i64,
    at: time::OffsetDateTime,
}

impl PgStore {
    async fn count(&self, from: &str, run_id: &str, dataset: Option<i64>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) {from}"))
            .bind(run_id)
            .bind(dataset)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn sample(
        &self,
        column: &str,
        from: &str,
        run_id: &str,
        dataset: Option<i64>,
    ) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar(&format!("SELECT {column} {from} ORDER BY 1 LIMIT 20"))
                .bind(run_id)
                .bind(dataset)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn compute_diff(&self, run_id: &str, directory_id: &str) -> Result<DiffCounts, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // The staging tables were just filled: without statistics the
        // planner would nest loops over a hundred thousand rows.
        sqlx::query("ANALYZE sync_staging_users, sync_staging_groups, sync_staging_memberships")
            .execute(&mut *conn)
            .await?;
        let dataset = live_dataset(&mut conn, directory_id).await?;
        if let Some(dataset) = dataset {
            drop_push_held(&mut conn, run_id, dataset).await?;
        }
        drop(conn);
        let live = |table: &'static str| async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT COUNT(*) FROM {table} WHERE dataset = $1 AND deleted_at IS NULL"
            ))
            .bind(dataset)
            .fetch_one(&self.pool)
            .await
        };
        Ok(DiffCounts {
            users_added: self.count(ADDED_USERS, run_id, dataset).await?,
            users_updated: self.count(UPDATED_USERS, run_id, dataset).await?,
            users_removed: self.count(REMOVED_USERS, run_id, dataset).await?,
            users_live: live("directory_users").await?,
            groups_added: self.count(ADDED_GROUPS, run_id, dataset).await?,
            groups_updated: self.count(UPDATED_GROUPS, run_id, dataset).await?,
            groups_removed: self.count(REMOVED_GROUPS, run_id, dataset).await?,
            groups_live: live("directory_groups").await?,
            memberships_added: self
                .count(
                    &format!("FROM ({}) c", staged_member_changes("added")),
                    run_id,
                    dataset,
                )
                .await?,
            memberships_removed: self
                .count(
                    &format!("FROM ({}) c", staged_member_changes("removed")),
                    run_id,
                    dataset,
                )
                .await?
                + self.count(MEMBERSHIPS_OF_REMOVED_GROUPS, run_id, dataset).await?,
        })
    }

    pub async fn diff_sample(&self, run_id: &str, directory_id: &str) -> Result<DiffSample, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let dataset = live_dataset(&mut conn, directory_id).await?;
        drop(conn);
        Ok(DiffSample {
            users_added: self.sample("s.login", ADDED_USERS, run_id, dataset).await?,
            users_updated: self.sample("s.login", UPDATED_USERS, run_id, dataset).await?,
            users_removed: self.sample("u.login", REMOVED_USERS, run_id, dataset).await?,
            groups_added: self.sample("s.name", ADDED_GROUPS, run_id, dataset).await?,
            groups_updated: self.sample("s.name", UPDATED_GROUPS, run_id, dataset).await?,
            groups_removed: self.sample("g.name", REMOVED_GROUPS, run_id, dataset).await?,
        })
    }

    /// Applies a run's staging in one transaction, if the run still holds its
    /// lease, and marks it succeeded; the removed users' Okta ids come back.
    pub async fn apply_run(
        &self,
        run_id: &str,
        directory_id: &str,
        lease: &str,
    ) -> Result<Vec<String>, StoreError> {
        let at = now();
        let mut tx: Tx = self.pool.begin().await?;
        check_lease(&mut tx, directory_id, lease).await?;
        lock_directory(&mut tx, directory_id).await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        drop_push_held(&mut tx, run_id, dataset).await?;
        drop_refreshed(&mut tx, run_id, dataset).await?;
        let removed_users = ids_of(
            &mut tx,
            &format!("SELECT u.okta_id {REMOVED_USERS}"),
            run_id,
            dataset,
        )
        .await?;
        let removed_groups = ids_of(
            &mut tx,
            &format!("SELECT g.okta_id {REMOVED_GROUPS}"),
            run_id,
            dataset,
        )
        .await?;
        let change = Change {
            run_id,
            directory_id,
            dataset,
            at,
        };
        // The records this apply touches: read before and after it for the
        // event log, and their groups' member counts refreshed.
        let mut users = ids_of(
            &mut tx,
            &format!("SELECT s.okta_id {ADDED_USERS} UNION SELECT s.okta_id {UPDATED_USERS}"),
            run_id,
            dataset,
        )
        .await?;
        users.extend(removed_users.iter().cloned());
        let mut groups = ids_of(
            &mut tx,
            &format!(
                "SELECT s.okta_id {ADDED_GROUPS} UNION SELECT s.okta_id {UPDATED_GROUPS}
                 UNION SELECT group_id FROM sync_staging_memberships WHERE run_id = $1::uuid"
            ),
            run_id,
            dataset,
        )
        .await?;
        groups.extend(removed_groups.iter().cloned());
        let (touched_users, touched_groups) = (users, groups);
        let users: Vec<&str> = touched_users.iter().map(String::as_str).collect();
        let groups: Vec<&str> = touched_groups.iter().map(String::as_str).collect();
        let snapshot = super::events::snapshot(&mut tx, dataset, &users, &groups).await?;
        record_user_events(&mut tx, &change, &removed_users).await?;
        apply_memberships(&mut tx, &change, &removed_groups).await?;
        apply_users(&mut tx, &change, &removed_users).await?;
        apply_groups(&mut tx, &change, &removed_groups).await?;
        refresh_member_counts(&mut tx, dataset, &touched_groups, &touched_users).await?;
        for table in [
            "sync_staging_users",
            "sync_staging_groups",
            "sync_staging_memberships",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE run_id = $1::uuid"))
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &users, &groups).await?;
        finish_applied(&mut tx, run_id, directory_id, at).await?;
        tx.commit().await?;
        Ok(removed_users)
    }
}

async fn ids_of(
    conn: &mut PgConnection,
    select: &str,
    run_id: &str,
    dataset: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(select)
        .bind(run_id)
        .bind(dataset)
        .fetch_all(&mut *conn)
        .await?)
}

/// Status history for the user page; runs before the users change.
async fn record_user_events(
    conn: &mut PgConnection,
    change: &Change<'_>,
    removed_users: &[String],
) -> Result<(), StoreError> {
    let status_changed =
        "FROM sync_staging_users s JOIN directory_users u ON u.dataset = $2 AND u.okta_id = s.okta_id
         WHERE s.run_id = $1::uuid AND u.deleted_at IS NULL AND u.status != s.status";
    let removed = "FROM directory_users u WHERE u.dataset = $2 AND u.okta_id = ANY($4)";
    for (event, source, from) in [
        ("added", "s", ADDED_USERS),
        ("status", "s", status_changed),
        ("removed", "u", removed),
    ] {
        sqlx::query(&format!(
            "INSERT INTO directory_user_events (dataset, okta_id, run_id, event, status, at)
             SELECT $2, {source}.okta_id, $1, '{event}', {source}.status, $3 {from}"
        ))
        .bind(change.run_id)
        .bind(change.dataset)
        .bind(change.at)
        .bind(removed_users)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn apply_users(
    conn: &mut PgConnection,
    change: &Change<'_>,
    removed_users: &[String],
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO directory_users (dataset, okta_id, login, email, first_name, last_name, display_name, status,
             suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $2, s.okta_id, s.login, s.email, s.first_name, s.last_name, s.display_name, s.status, s.suspended,
             s.profile, s.okta_last_updated, s.content_hash, $3, $3, $3, NULL
         FROM sync_staging_users s
         WHERE s.run_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.dataset = $2
             AND u.okta_id = s.okta_id AND u.deleted_at IS NULL AND u.content_hash = s.content_hash)
         {USER_UPSERT}, via_pull = true"
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .bind(change.at)
    .execute(&mut *conn)
    .await?;
    if !removed_users.is_empty() {
        sqlx::query(
            "UPDATE directory_users SET deleted_at = $2, updated_at = $2, version = version + 1,
                 last_seen_at = coalesce((SELECT last_success_at FROM directories WHERE id = $4::uuid), last_seen_at)
             WHERE dataset = $1 AND okta_id = ANY($3)",
        )
        .bind(change.dataset)
        .bind(change.at)
        .bind(removed_users)
        .bind(change.directory_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn apply_groups(
    conn: &mut PgConnection,
    change: &Change<'_>,
    removed_groups: &[String],
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated,
             okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $2, okta_id, name, description, kind, okta_last_updated, okta_last_membership_updated, content_hash,
             $3, $3, $3, NULL
         FROM sync_staging_groups WHERE run_id = $1::uuid
         {GROUP_UPSERT}, via_pull = true"
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .bind(change.at)
    .execute(&mut *conn)
    .await?;
    if !removed_groups.is_empty() {
        sqlx::query(
            "UPDATE directory_groups SET deleted_at = $2, updated_at = $2, version = version + 1
             WHERE dataset = $1 AND okta_id = ANY($3)",
        )
        .bind(change.dataset)
        .bind(change.at)
        .bind(removed_groups)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn apply_memberships(
    conn: &mut PgConnection,
    change: &Change<'_>,
    removed_groups: &[String],
) -> Result<(), StoreError> {
    // Members of removed groups leave with the group.
    let orphaned =
        "SELECT group_id, user_id FROM directory_memberships WHERE dataset = $2 AND group_id = ANY($3)";
    let orphaned_users: Vec<String> = if removed_groups.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(&format!("SELECT DISTINCT user_id FROM ({orphaned}) o"))
            .bind(change.run_id)
            .bind(change.dataset)
            .bind(removed_groups)
            .fetch_all(&mut *conn)
            .await?
    };
    let removed = format!("{} UNION ALL {orphaned}", staged_member_changes("removed"));
    let added = staged_member_changes("added");
    for sql in membership_statements(&removed, &added) {
        sqlx::query(&sql)
            .bind(change.run_id)
            .bind(change.dataset)
            .bind(removed_groups)
            .execute(&mut *conn)
            .await?;
    }
    apply_group_counts(conn, change, &orphaned_users).await
}

/// One group count per present user: recounted for the users whose
/// memberships changed and those (re)appearing; dropped for the removed.
async fn apply_group_counts(
    conn: &mut PgConnection,
    change: &Change<'_>,
    orphaned_users: &[String],
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "DELETE FROM directory_user_group_counts WHERE dataset = $2 AND user_id IN (SELECT u.okta_id {REMOVED_USERS})"
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
         SELECT $2, present.okta_id, {count}
         FROM sync_staging_users present
         WHERE present.run_id = $1::uuid AND present.okta_id IN (
             SELECT user_id FROM ({added}) a UNION SELECT user_id FROM ({removed}) r
             UNION SELECT unnest($3::text[]) UNION SELECT s.okta_id {ADDED_USERS})
         ON CONFLICT (dataset, user_id) DO UPDATE SET group_count = excluded.group_count",
        added = staged_member_changes("added"),
        removed = staged_member_changes("removed"),
        count = group_count_of("present.okta_id"),
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .bind(orphaned_users)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
