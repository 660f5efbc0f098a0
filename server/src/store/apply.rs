//! Turning a run's staging into the directory's state: the diff (for the
//! circuit breaker and the run record) and the one-transaction apply.

use super::{now, timestamp, Store, StoreError};
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
    "FROM sync_staging_users s LEFT JOIN directory_users u ON u.directory_id = $2 AND u.okta_id = s.okta_id
     WHERE s.run_id = $1 AND (u.okta_id IS NULL OR u.deleted_at IS NOT NULL)";
const UPDATED_USERS: &str =
    "FROM sync_staging_users s JOIN directory_users u ON u.directory_id = $2 AND u.okta_id = s.okta_id
     WHERE s.run_id = $1 AND u.deleted_at IS NULL AND u.content_hash != s.content_hash";
const REMOVED_USERS: &str = "FROM directory_users u WHERE u.directory_id = $2 AND u.deleted_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM sync_staging_users s WHERE s.run_id = $1 AND s.okta_id = u.okta_id)";
const ADDED_GROUPS: &str =
    "FROM sync_staging_groups s LEFT JOIN directory_groups g ON g.directory_id = $2 AND g.okta_id = s.okta_id
     WHERE s.run_id = $1 AND (g.okta_id IS NULL OR g.deleted_at IS NOT NULL)";
const UPDATED_GROUPS: &str =
    "FROM sync_staging_groups s JOIN directory_groups g ON g.directory_id = $2 AND g.okta_id = s.okta_id
     WHERE s.run_id = $1 AND g.deleted_at IS NULL AND g.content_hash != s.content_hash";
const REMOVED_GROUPS: &str = "FROM directory_groups g WHERE g.directory_id = $2 AND g.deleted_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM sync_staging_groups s WHERE s.run_id = $1 AND s.okta_id = g.okta_id)";
/// Stored memberships of live groups the run no longer sees: they go with the group.
const MEMBERSHIPS_OF_REMOVED_GROUPS: &str = "FROM directory_memberships WHERE directory_id = $2
     AND group_id IN (SELECT g.okta_id FROM directory_groups g WHERE g.directory_id = $2 AND g.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM sync_staging_groups s WHERE s.run_id = $1 AND s.okta_id = g.okta_id))";
/// The staged member changes as (group_id, user_id) rows; `{column}` is `added` or `removed`.
fn staged_member_changes(column: &str) -> String {
    format!(
        "SELECT s.group_id, j.value AS user_id FROM sync_staging_memberships s, json_each(s.{column}) j
         WHERE s.run_id = $1"
    )
}

impl Store {
    async fn count(&self, from: &str, run_id: &str, directory_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) {from}"))
            .bind(run_id)
            .bind(directory_id)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn sample(
        &self,
        column: &str,
        from: &str,
        run_id: &str,
        directory_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar(&format!("SELECT {column} {from} ORDER BY 1 LIMIT 20"))
                .bind(run_id)
                .bind(directory_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn compute_diff(&self, run_id: &str, directory_id: &str) -> Result<DiffCounts, StoreError> {
        let live = |table: &'static str| async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT COUNT(*) FROM {table} WHERE directory_id = $1 AND deleted_at IS NULL"
            ))
            .bind(directory_id)
            .fetch_one(&self.pool)
            .await
        };
        Ok(DiffCounts {
            users_added: self.count(ADDED_USERS, run_id, directory_id).await?,
            users_updated: self.count(UPDATED_USERS, run_id, directory_id).await?,
            users_removed: self.count(REMOVED_USERS, run_id, directory_id).await?,
            users_live: live("directory_users").await?,
            groups_added: self.count(ADDED_GROUPS, run_id, directory_id).await?,
            groups_updated: self.count(UPDATED_GROUPS, run_id, directory_id).await?,
            groups_removed: self.count(REMOVED_GROUPS, run_id, directory_id).await?,
            groups_live: live("directory_groups").await?,
            memberships_added: self
                .count(
                    &format!("FROM ({})", staged_member_changes("added")),
                    run_id,
                    directory_id,
                )
                .await?,
            memberships_removed: self
                .count(
                    &format!("FROM ({})", staged_member_changes("removed")),
                    run_id,
                    directory_id,
                )
                .await?
                + self
                    .count(MEMBERSHIPS_OF_REMOVED_GROUPS, run_id, directory_id)
                    .await?,
        })
    }

    pub async fn diff_sample(&self, run_id: &str, directory_id: &str) -> Result<DiffSample, StoreError> {
        Ok(DiffSample {
            users_added: self.sample("s.login", ADDED_USERS, run_id, directory_id).await?,
            users_updated: self
                .sample("s.login", UPDATED_USERS, run_id, directory_id)
                .await?,
            users_removed: self
                .sample("u.login", REMOVED_USERS, run_id, directory_id)
                .await?,
            groups_added: self.sample("s.name", ADDED_GROUPS, run_id, directory_id).await?,
            groups_updated: self
                .sample("s.name", UPDATED_GROUPS, run_id, directory_id)
                .await?,
            groups_removed: self
                .sample("g.name", REMOVED_GROUPS, run_id, directory_id)
                .await?,
        })
    }

    /// Applies a run's staging in one transaction and marks the run succeeded.
    /// Returns the Okta ids of users removed, for the deprovisioning hook.
    pub async fn apply_run(&self, run_id: &str, directory_id: &str) -> Result<Vec<String>, StoreError> {
        let at = timestamp(now());
        let mut tx = self.pool.begin().await?;
        let removed: Vec<String> = sqlx::query_scalar(&format!("SELECT u.okta_id {REMOVED_USERS}"))
            .bind(run_id)
            .bind(directory_id)
            .fetch_all(&mut *tx)
            .await?;
        record_user_events(&mut tx, run_id, directory_id, &at).await?;
        // Memberships first: which groups were removed depends on the stored groups.
        apply_memberships(&mut tx, run_id, directory_id).await?;
        apply_users(&mut tx, run_id, directory_id, &at).await?;
        apply_groups(&mut tx, run_id, directory_id, &at).await?;
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
        sqlx::query(
            "UPDATE sync_runs SET status = 'succeeded', phase = 'done', finished_at = $1 WHERE id = $2",
        )
        .bind(&at)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE directories SET last_success_at = $1, failing_since = NULL WHERE id = $2")
            .bind(&at)
            .bind(directory_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// Status history for the user page; must run before the users change.
async fn record_user_events(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    directory_id: &str,
    at: &str,
) -> Result<(), StoreError> {
    let status_changed =
        "FROM sync_staging_users s JOIN directory_users u ON u.directory_id = $2 AND u.okta_id = s.okta_id
         WHERE s.run_id = $1 AND u.deleted_at IS NULL AND u.status != s.status";
    for (event, source, from) in [
        ("added", "s", ADDED_USERS),
        ("status", "s", status_changed),
        ("removed", "u", REMOVED_USERS),
    ] {
        sqlx::query(&format!(
            "INSERT INTO directory_user_events (directory_id, okta_id, run_id, event, status, at)
             SELECT $2, {source}.okta_id, $1, '{event}', {source}.status, $3 {from}"
        ))
        .bind(run_id)
        .bind(directory_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn apply_users(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    directory_id: &str,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO directory_users (directory_id, okta_id, login, email, first_name, last_name, display_name, status,
             suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $2, okta_id, login, email, first_name, last_name, display_name, status, suspended, profile,
             okta_last_updated, content_hash, $3, $3, $3, NULL
         FROM sync_staging_users WHERE run_id = $1
         ON CONFLICT (directory_id, okta_id) DO UPDATE SET
             login = excluded.login, email = excluded.email, first_name = excluded.first_name,
             last_name = excluded.last_name, display_name = excluded.display_name, status = excluded.status,
             suspended = excluded.suspended, profile = excluded.profile,
             okta_last_updated = excluded.okta_last_updated, last_seen_at = excluded.last_seen_at,
             updated_at = CASE WHEN directory_users.content_hash != excluded.content_hash
                                 OR directory_users.deleted_at IS NOT NULL
                               THEN excluded.updated_at ELSE directory_users.updated_at END,
             content_hash = excluded.content_hash, deleted_at = NULL",
    )
    .bind(run_id)
    .bind(directory_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE directory_users SET deleted_at = $3, updated_at = $3 WHERE directory_id = $2 AND okta_id IN
         (SELECT u.okta_id {REMOVED_USERS})"
    ))
    .bind(run_id)
    .bind(directory_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn apply_groups(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    directory_id: &str,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO directory_groups (directory_id, okta_id, name, description, kind, okta_last_updated,
             okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $2, okta_id, name, description, kind, okta_last_updated, okta_last_membership_updated, content_hash,
             $3, $3, $3, NULL
         FROM sync_staging_groups WHERE run_id = $1
         ON CONFLICT (directory_id, okta_id) DO UPDATE SET
             name = excluded.name, description = excluded.description, kind = excluded.kind,
             okta_last_updated = excluded.okta_last_updated,
             okta_last_membership_updated = excluded.okta_last_membership_updated,
             last_seen_at = excluded.last_seen_at,
             updated_at = CASE WHEN directory_groups.content_hash != excluded.content_hash
                                 OR directory_groups.deleted_at IS NOT NULL
                               THEN excluded.updated_at ELSE directory_groups.updated_at END,
             content_hash = excluded.content_hash, deleted_at = NULL",
    )
    .bind(run_id)
    .bind(directory_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "UPDATE directory_groups SET deleted_at = $3, updated_at = $3 WHERE directory_id = $2 AND okta_id IN
         (SELECT g.okta_id {REMOVED_GROUPS})"
    ))
    .bind(run_id)
    .bind(directory_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The staged changes were computed against the stored members, which no
/// other run can change before this one applies (one run per directory; an
/// applied run discards diffs still waiting for confirmation).
async fn apply_memberships(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    directory_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!("DELETE {MEMBERSHIPS_OF_REMOVED_GROUPS}"))
        .bind(run_id)
        .bind(directory_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(&format!(
        "DELETE FROM directory_memberships WHERE directory_id = $2 AND (group_id, user_id) IN ({})",
        staged_member_changes("removed")
    ))
    .bind(run_id)
    .bind(directory_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO directory_memberships (directory_id, group_id, user_id)
         SELECT $2, c.group_id, c.user_id FROM ({}) c WHERE true
         ON CONFLICT DO NOTHING",
        staged_member_changes("added")
    ))
    .bind(run_id)
    .bind(directory_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
