//! Turning a run's staging into the directory's state: the diff (for the
//! circuit breaker and the run record) and the one-transaction apply.

use super::{first_sync::finish_applied, now, timestamp, SqliteStore, StoreError, LIVE_DATASET, WRITE};
use serde::{Deserialize, Serialize};
use sqlx::{Sqlite, Transaction};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffCounts {
    pub users_added: i64,
    pub users_updated: i64,
    pub users_removed: i64,
    pub users_live: i64,
    pub groups_added: i64,
    pub groups_updated: i64,
    pub groups_removed: i64,
    pub groups_live: i64,
    pub memberships_added: i64,
    pub memberships_removed: i64,
}

/// A few names per kind of change, for the run page and the breaker review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiffSample {
    pub users_added: Vec<String>,
    pub users_updated: Vec<String>,
    pub users_removed: Vec<String>,
    pub groups_added: Vec<String>,
    pub groups_updated: Vec<String>,
    pub groups_removed: Vec<String>,
}

const ADDED_USERS: &str =
    "FROM sync_staging_users s LEFT JOIN directory_users u ON u.dataset = $2 AND u.okta_id = s.okta_id
     WHERE s.run_id = $1 AND (u.okta_id IS NULL OR u.deleted_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'user' AND f.okta_id = s.okta_id
         AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))";
const UPDATED_USERS: &str =
    "FROM sync_staging_users s JOIN directory_users u ON u.dataset = $2 AND u.okta_id = s.okta_id
     WHERE s.run_id = $1 AND u.deleted_at IS NULL AND u.content_hash != s.content_hash
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'user' AND f.okta_id = s.okta_id
         AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))";
/// Users keyed by a Roster-minted id came from a push that named no Okta
/// id: a pull cannot see them, so it never removes them. Nor does it remove
/// what a push wrote after the run started: its pages were read before.
/// Every category leaves out records a targeted refresh wrote since the run
/// started (`refresh_fences`): the refresh read Okta after the run's pages.
const REMOVED_USERS: &str = "FROM directory_users u WHERE u.dataset = $2 AND u.deleted_at IS NULL
     AND u.keyed_by = 'okta'
     AND NOT (u.via_push = 1 AND julianday(u.updated_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'user' AND f.okta_id = u.okta_id
         AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))
     AND NOT EXISTS (SELECT 1 FROM sync_staging_users s WHERE s.run_id = $1 AND s.okta_id = u.okta_id)";
const ADDED_GROUPS: &str =
    "FROM sync_staging_groups s LEFT JOIN directory_groups g ON g.dataset = $2 AND g.okta_id = s.okta_id
     WHERE s.run_id = $1 AND (g.okta_id IS NULL OR g.deleted_at IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group' AND f.okta_id = s.okta_id
         AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))";
const UPDATED_GROUPS: &str =
    "FROM sync_staging_groups s JOIN directory_groups g ON g.dataset = $2 AND g.okta_id = s.okta_id
     WHERE s.run_id = $1 AND g.deleted_at IS NULL AND g.content_hash != s.content_hash
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group' AND f.okta_id = s.okta_id
         AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))";
const REMOVED_GROUPS: &str = "FROM directory_groups g WHERE g.dataset = $2 AND g.deleted_at IS NULL
     AND g.keyed_by = 'okta'
     AND NOT (g.via_push = 1 AND julianday(g.updated_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))
     AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group' AND f.okta_id = g.okta_id
         AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))
     AND NOT EXISTS (SELECT 1 FROM sync_staging_groups s WHERE s.run_id = $1 AND s.okta_id = g.okta_id)";
/// Stored memberships of live groups the run no longer sees: they go with the group.
const MEMBERSHIPS_OF_REMOVED_GROUPS: &str = "FROM directory_memberships WHERE dataset = $2
     AND group_id IN (SELECT g.okta_id FROM directory_groups g WHERE g.dataset = $2 AND g.deleted_at IS NULL
       AND g.keyed_by = 'okta'
       AND NOT (g.via_push = 1 AND julianday(g.updated_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))
       AND NOT EXISTS (SELECT 1 FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group'
           AND f.okta_id = g.okta_id AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))
       AND NOT EXISTS (SELECT 1 FROM sync_staging_groups s WHERE s.run_id = $1 AND s.okta_id = g.okta_id))";
/// How a written user replaces the stored one: every field, present again.
/// The one rule for a sync's apply and for a single write.
pub(super) const USER_UPSERT: &str = "ON CONFLICT (dataset, okta_id) DO UPDATE SET
     login = excluded.login, email = excluded.email, first_name = excluded.first_name,
     last_name = excluded.last_name, display_name = excluded.display_name, status = excluded.status,
     suspended = excluded.suspended, profile = excluded.profile,
     okta_last_updated = excluded.okta_last_updated, last_seen_at = excluded.last_seen_at,
     updated_at = excluded.updated_at, content_hash = excluded.content_hash, deleted_at = NULL,
     version = directory_users.version + 1, push_deactivated_at = NULL";

/// How a written group replaces the stored one (its `updated_at` moves only when it changed).
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

/// A user's group count as kept in `directory_user_group_counts`; `{user}` names the user's id column.
pub(super) fn group_count_of(user: &str) -> String {
    format!("(SELECT COUNT(*) FROM directory_user_groups m WHERE m.dataset = $2 AND m.user_id = {user})")
}

/// Removes, then adds, (group_id, user_id) pairs in both membership tables,
/// each in its own key order. `removed` and `added` select the pairs, with
/// the dataset bound as `$2`. Shared by a sync's apply and single writes.
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
             SELECT $2, c.group_id, c.user_id FROM ({added}) c WHERE true ORDER BY 2, 3
             ON CONFLICT DO NOTHING"
        ),
        format!(
            "INSERT INTO directory_user_groups (dataset, user_id, group_id)
             SELECT $2, c.user_id, c.group_id FROM ({added}) c WHERE true ORDER BY 2, 3
             ON CONFLICT DO NOTHING"
        ),
    ]
}

/// The staged member changes as (group_id, user_id) rows; `{column}` is `added` or `removed`.
fn staged_member_changes(column: &str) -> String {
    format!(
        "SELECT s.group_id, j.value AS user_id FROM sync_staging_memberships s, json_each(s.{column}) j
         WHERE s.run_id = $1 AND s.group_id NOT IN (
             SELECT f.okta_id FROM refresh_fences f WHERE f.dataset = $2 AND f.kind = 'group'
                 AND julianday(f.refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9))"
    )
}

impl SqliteStore {
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

    /// The run's staging against the directory's live records (none before its first sync).
    pub async fn compute_diff(&self, run_id: &str, directory_id: &str) -> Result<DiffCounts, StoreError> {
        let dataset = live_dataset(&self.pool, directory_id).await?;
        if let Some(dataset) = dataset {
            drop_push_held(&self.pool, run_id, dataset).await?;
        }
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
                    &format!("FROM ({})", staged_member_changes("added")),
                    run_id,
                    dataset,
                )
                .await?,
            memberships_removed: self
                .count(
                    &format!("FROM ({})", staged_member_changes("removed")),
                    run_id,
                    dataset,
                )
                .await?
                + self.count(MEMBERSHIPS_OF_REMOVED_GROUPS, run_id, dataset).await?,
        })
    }

    pub async fn diff_sample(&self, run_id: &str, directory_id: &str) -> Result<DiffSample, StoreError> {
        let dataset = live_dataset(&self.pool, directory_id).await?;
        Ok(DiffSample {
            users_added: self.sample("s.login", ADDED_USERS, run_id, dataset).await?,
            users_updated: self.sample("s.login", UPDATED_USERS, run_id, dataset).await?,
            users_removed: self.sample("u.login", REMOVED_USERS, run_id, dataset).await?,
            groups_added: self.sample("s.name", ADDED_GROUPS, run_id, dataset).await?,
            groups_updated: self.sample("s.name", UPDATED_GROUPS, run_id, dataset).await?,
            groups_removed: self.sample("g.name", REMOVED_GROUPS, run_id, dataset).await?,
        })
    }

    /// Applies a run's staging in one transaction and marks the run succeeded.
    /// Returns the Okta ids of users removed, for the deprovisioning hook.
    pub async fn apply_run(
        &self,
        run_id: &str,
        directory_id: &str,
        lease: &str,
    ) -> Result<Vec<String>, StoreError> {
        let at = timestamp(now());
        let mut tx = self.writer.begin_with(WRITE).await?;
        super::leases::check_lease(&mut tx, directory_id, lease).await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        drop_push_held(&mut *tx, run_id, dataset).await?;
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
            at: &at,
        };
        // The event log: the records this apply touches, read before and after.
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
                 UNION SELECT group_id FROM sync_staging_memberships WHERE run_id = $1"
            ),
            run_id,
            dataset,
        )
        .await?;
        groups.extend(removed_groups.iter().cloned());
        let users: Vec<&str> = users.iter().map(String::as_str).collect();
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let snapshot = super::events::snapshot(&mut tx, dataset, &users, &groups).await?;
        record_user_events(&mut tx, &change, &removed_users).await?;
        // Memberships (and group counts) first: the removed users are found
        // by what is still stored.
        apply_memberships(&mut tx, &change, &removed_groups).await?;
        apply_users(&mut tx, &change, &removed_users).await?;
        apply_groups(&mut tx, &change, &removed_groups).await?;
        for table in [
            "sync_staging_users",
            "sync_staging_groups",
            "sync_staging_memberships",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE run_id = $1"))
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &users, &groups).await?;
        finish_applied(&mut tx, run_id, directory_id, &at).await?;
        tx.commit().await?;
        Ok(removed_users)
    }
}

/// What one apply works on.
struct Change<'a> {
    run_id: &'a str,
    directory_id: &'a str,
    /// The directory's live dataset, which the change goes into.
    dataset: i64,
    at: &'a str,
}

/// Drops from a run's staging the users a push deactivated after Okta last
/// changed them: a pull that read them ACTIVE read them before the push (or
/// Okta did not report the change that made them leave), so it must not
/// bring them back. Okta showing a change newer than the deactivation (a
/// reactivation or re-assignment moves `lastUpdated`) lets them return.
async fn drop_push_held<'e, E>(executor: E, run_id: &str, dataset: i64) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    sqlx::query(
        "DELETE FROM sync_staging_users WHERE run_id = $1 AND okta_id IN (
             SELECT u.okta_id FROM directory_users u
             JOIN sync_staging_users s ON s.run_id = $1 AND s.okta_id = u.okta_id
             WHERE u.dataset = $2 AND u.deleted_at IS NOT NULL AND u.push_deactivated_at IS NOT NULL
               AND (s.okta_last_updated IS NULL
                    OR julianday(s.okta_last_updated) <= julianday(u.push_deactivated_at)))",
    )
    .bind(run_id)
    .bind(dataset)
    .execute(executor)
    .await?;
    Ok(())
}

/// Drops from a run's staging the users and groups (with its members) a
/// targeted refresh wrote since the run started: the refresh read Okta after
/// the run's pages, so the run must not write them back as it read them.
async fn drop_refreshed(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    dataset: i64,
) -> Result<(), StoreError> {
    let refreshed = |kind: &str| {
        format!(
            "SELECT okta_id FROM refresh_fences WHERE dataset = $2 AND kind = '{kind}'
                 AND julianday(refreshed_at) >= COALESCE((SELECT julianday(started_at) FROM sync_runs WHERE id = $1), 9e9)"
        )
    };
    for sql in [
        format!(
            "DELETE FROM sync_staging_users WHERE run_id = $1 AND okta_id IN ({})",
            refreshed("user")
        ),
        format!(
            "DELETE FROM sync_staging_groups WHERE run_id = $1 AND okta_id IN ({})",
            refreshed("group")
        ),
        format!(
            "DELETE FROM sync_staging_memberships WHERE run_id = $1 AND group_id IN ({})",
            refreshed("group")
        ),
    ] {
        sqlx::query(&sql)
            .bind(run_id)
            .bind(dataset)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The key of a directory's live dataset, if it has one.
pub(crate) async fn live_dataset<'e, E>(executor: E, directory_id: &str) -> Result<Option<i64>, StoreError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_scalar(&format!("SELECT {LIVE_DATASET}"))
        .bind(directory_id)
        .fetch_one(executor)
        .await?)
}

/// The live dataset, made (empty) when the directory has none yet.
pub(super) async fn live_or_new_dataset(
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
) -> Result<i64, StoreError> {
    if let Some(key) = live_dataset(&mut **tx, directory_id).await? {
        return Ok(key);
    }
    Ok(
        sqlx::query_scalar(
            "INSERT INTO directory_datasets (directory_id, live) VALUES ($1, 1) RETURNING key",
        )
        .bind(directory_id)
        .fetch_one(&mut **tx)
        .await?,
    )
}

async fn ids_of(
    tx: &mut Transaction<'_, Sqlite>,
    select: &str,
    run_id: &str,
    dataset: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(select)
        .bind(run_id)
        .bind(dataset)
        .fetch_all(&mut **tx)
        .await?)
}

/// Ids as one bound JSON array, for `IN (SELECT value FROM json_each(…))`.
fn json_ids(ids: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Status history for the user page; must run before the users change.
async fn record_user_events(
    tx: &mut Transaction<'_, Sqlite>,
    change: &Change<'_>,
    removed_users: &[String],
) -> Result<(), StoreError> {
    let status_changed =
        "FROM sync_staging_users s JOIN directory_users u ON u.dataset = $2 AND u.okta_id = s.okta_id
         WHERE s.run_id = $1 AND u.deleted_at IS NULL AND u.status != s.status";
    let removed =
        "FROM directory_users u WHERE u.dataset = $2 AND u.okta_id IN (SELECT value FROM json_each($4))";
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
        .bind(json_ids(removed_users)?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes new and changed users and soft-deletes
/// the removed ones. Unchanged users are left alone: rewriting them would
/// touch every index for nothing; their last sighting is the directory's
/// last successful sync, written to `last_seen_at` when they are removed.
async fn apply_users(
    tx: &mut Transaction<'_, Sqlite>,
    change: &Change<'_>,
    removed_users: &[String],
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO directory_users (dataset, okta_id, login, email, first_name, last_name, display_name, status,
             suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at,
             updated_at, deleted_at)
         SELECT $2, s.okta_id, s.login, s.email, s.first_name, s.last_name, s.display_name, s.status, s.suspended,
             s.profile, s.okta_last_updated, s.content_hash, $3, $3, $3, NULL
         FROM sync_staging_users s
         WHERE s.run_id = $1 AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.dataset = $2
             AND u.okta_id = s.okta_id AND u.deleted_at IS NULL AND u.content_hash = s.content_hash)
         {USER_UPSERT}, via_pull = 1"
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .bind(change.at)
    .execute(&mut **tx)
    .await?;
    if !removed_users.is_empty() {
        sqlx::query(
            "UPDATE directory_users SET deleted_at = $2, updated_at = $2, version = version + 1,
                 last_seen_at = COALESCE((SELECT last_success_at FROM directories WHERE id = $4), last_seen_at)
             WHERE dataset = $1 AND okta_id IN (SELECT value FROM json_each($3))",
        )
        .bind(change.dataset)
        .bind(change.at)
        .bind(json_ids(removed_users)?)
        .bind(change.directory_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn apply_groups(
    tx: &mut Transaction<'_, Sqlite>,
    change: &Change<'_>,
    removed_groups: &[String],
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated,
             okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $2, okta_id, name, description, kind, okta_last_updated, okta_last_membership_updated, content_hash,
             $3, $3, $3, NULL
         FROM sync_staging_groups WHERE run_id = $1
         {GROUP_UPSERT}, via_pull = 1"
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .bind(change.at)
    .execute(&mut **tx)
    .await?;
    if !removed_groups.is_empty() {
        sqlx::query(
            "UPDATE directory_groups SET deleted_at = $2, updated_at = $2, version = version + 1
             WHERE dataset = $1 AND okta_id IN (SELECT value FROM json_each($3))",
        )
        .bind(change.dataset)
        .bind(change.at)
        .bind(json_ids(removed_groups)?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Changes both membership tables (by group and by user) the same way, each
/// written in its own key order, then the group counts.
///
/// The staged changes were computed against the stored members, which no
/// other run can change before this one applies (one run per directory; an
/// applied run discards diffs still waiting for confirmation).
async fn apply_memberships(
    tx: &mut Transaction<'_, Sqlite>,
    change: &Change<'_>,
    removed_groups: &[String],
) -> Result<(), StoreError> {
    // Members of removed groups leave with the group.
    let orphaned = "SELECT group_id, user_id FROM directory_memberships
         WHERE dataset = $2 AND group_id IN (SELECT value FROM json_each($3))";
    let orphaned_users: Vec<String> = if removed_groups.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(&format!("SELECT DISTINCT user_id FROM ({orphaned})"))
            .bind(change.run_id)
            .bind(change.dataset)
            .bind(json_ids(removed_groups)?)
            .fetch_all(&mut **tx)
            .await?
    };
    let removed = format!("{} UNION ALL {orphaned}", staged_member_changes("removed"));
    let added = staged_member_changes("added");
    for sql in membership_statements(&removed, &added) {
        sqlx::query(&sql)
            .bind(change.run_id)
            .bind(change.dataset)
            .bind(json_ids(removed_groups)?)
            .execute(&mut **tx)
            .await?;
    }
    apply_group_counts(tx, change, &orphaned_users).await
}

/// Keeps one group count per present user: recounted for the users whose
/// memberships changed and for those (re)appearing; dropped for the removed.
/// Runs after the memberships changed and before the users do.
async fn apply_group_counts(
    tx: &mut Transaction<'_, Sqlite>,
    change: &Change<'_>,
    orphaned_users: &[String],
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "DELETE FROM directory_user_group_counts WHERE dataset = $2 AND user_id IN (SELECT u.okta_id {REMOVED_USERS})"
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
         SELECT $2, present.okta_id, {count}
         FROM sync_staging_users present
         WHERE present.run_id = $1 AND present.okta_id IN (
             SELECT user_id FROM ({added}) UNION SELECT user_id FROM ({removed})
             UNION SELECT value FROM json_each($3) UNION SELECT s.okta_id {ADDED_USERS})
         ORDER BY 2
         ON CONFLICT (dataset, user_id) DO UPDATE SET group_count = excluded.group_count",
        added = staged_member_changes("added"),
        removed = staged_member_changes("removed"),
        count = group_count_of("present.okta_id"),
    ))
    .bind(change.run_id)
    .bind(change.dataset)
    .bind(json_ids(orphaned_users)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
