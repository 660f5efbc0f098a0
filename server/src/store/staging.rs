//! A run's fetched data, written page by page before anything is applied.

use super::{SqliteStore, StoreError, LIVE_DATASET, WRITE};
use sqlx::{query_builder::Separated, QueryBuilder, Sqlite, SqliteConnection};
use std::collections::HashMap;

/// A user as fetched, normalised for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedUser {
    pub okta_id: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: String,
    pub status: String,
    pub suspended: bool,
    pub profile_json: String,
    pub okta_last_updated: Option<String>,
    pub content_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedGroup {
    pub okta_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub okta_last_updated: Option<String>,
    pub okta_last_membership_updated: Option<String>,
    pub content_hash: String,
}

/// SQLite allows 32 766 bound parameters per statement; stay well below.
pub(super) const ROWS_PER_INSERT: usize = 400;

/// How a group's members changed: Okta user ids to add and to remove,
/// relative to the stored members when the run fetched them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedMembers {
    pub group_id: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Rows staged together in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageBatch {
    pub users: Vec<StagedUser>,
    pub groups: Vec<StagedGroup>,
    pub members: Vec<StagedMembers>,
}

impl StageBatch {
    /// Roughly the rows written (a member counts as one).
    pub fn rows(&self) -> usize {
        self.users.len()
            + self.groups.len()
            + self
                .members
                .iter()
                .map(|m| 1 + m.added.len() + m.removed.len())
                .sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.members.is_empty()
    }
}

pub(super) async fn insert_users(
    conn: &mut SqliteConnection,
    run_id: &str,
    users: &[StagedUser],
) -> Result<(), StoreError> {
    for chunk in users.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::new(format!(
            "INSERT INTO sync_staging_users (run_id, {USER_COLUMNS}) "
        ));
        insert.push_values(chunk, |mut row, u| {
            row.push_bind(run_id);
            push_user_fields(&mut row, u);
        });
        // Okta may repeat a user across pages when the list changes mid-sync.
        insert.push(" ON CONFLICT (run_id, okta_id) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// A staged user's columns, in the order of [`USER_COLUMNS`].
pub(super) const USER_COLUMNS: &str =
    "okta_id, login, email, first_name, last_name, display_name, status, suspended, profile, okta_last_updated, \
     content_hash";

pub(super) fn push_user_fields<'q>(row: &mut Separated<'_, 'q, Sqlite, &'static str>, u: &'q StagedUser) {
    row.push_bind(&u.okta_id)
        .push_bind(&u.login)
        .push_bind(&u.email)
        .push_bind(&u.first_name)
        .push_bind(&u.last_name)
        .push_bind(&u.display_name)
        .push_bind(&u.status)
        .push_bind(u.suspended)
        .push_bind(&u.profile_json)
        .push_bind(&u.okta_last_updated)
        .push_bind(&u.content_hash);
}

/// A fetched group's columns, in the order `okta_id, name, description, kind,
/// okta_last_updated, okta_last_membership_updated, content_hash`.
pub(super) fn push_group_fields<'q>(row: &mut Separated<'_, 'q, Sqlite, &'static str>, g: &'q StagedGroup) {
    row.push_bind(&g.okta_id)
        .push_bind(&g.name)
        .push_bind(&g.description)
        .push_bind(&g.kind)
        .push_bind(&g.okta_last_updated)
        .push_bind(&g.okta_last_membership_updated)
        .push_bind(&g.content_hash);
}

async fn insert_groups(
    conn: &mut SqliteConnection,
    run_id: &str,
    groups: &[StagedGroup],
) -> Result<(), StoreError> {
    for chunk in groups.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO sync_staging_groups (run_id, okta_id, name, description, kind, okta_last_updated, \
             okta_last_membership_updated, content_hash) ",
        );
        insert.push_values(chunk, |mut row, g| {
            row.push_bind(run_id);
            push_group_fields(&mut row, g);
        });
        insert.push(" ON CONFLICT (run_id, okta_id) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_members(
    conn: &mut SqliteConnection,
    run_id: &str,
    members: &[StagedMembers],
) -> Result<(), StoreError> {
    let json = |ids: &[String]| serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()));
    for chunk in members.chunks(ROWS_PER_INSERT) {
        let rows = chunk
            .iter()
            .map(|m| Ok((m.group_id.as_str(), json(&m.added)?, json(&m.removed)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut insert =
            QueryBuilder::new("INSERT INTO sync_staging_memberships (run_id, group_id, added, removed) ");
        insert.push_values(&rows, |mut row, (group_id, added, removed)| {
            row.push_bind(run_id)
                .push_bind(*group_id)
                .push_bind(added)
                .push_bind(removed);
        });
        // A group listed twice (the list changed mid-sync) was fetched twice: keep the later.
        insert.push(
            " ON CONFLICT (run_id, group_id) DO UPDATE SET added = excluded.added, removed = excluded.removed",
        );
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl SqliteStore {
    /// Stages users, groups and group members in one transaction.
    pub async fn stage_batch(&self, run_id: &str, batch: &StageBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin_with(WRITE).await?;
        insert_users(&mut tx, run_id, &batch.users).await?;
        insert_groups(&mut tx, run_id, &batch.groups).await?;
        insert_members(&mut tx, run_id, &batch.members).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `lastMembershipUpdated` of the directory's live groups, by Okta id: a
    /// group whose stamp has not moved keeps its stored members (incremental sync).
    pub async fn membership_stamps(
        &self,
        directory_id: &str,
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT okta_id, okta_last_membership_updated FROM directory_groups
             WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL"
        ))
        .bind(directory_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The stored members of one group, live users or not (what a run diffs against).
    pub async fn stored_group_members(
        &self,
        directory_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT user_id FROM directory_memberships WHERE dataset = {LIVE_DATASET} AND group_id = $2"
        ))
        .bind(directory_id)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Throws away what a run wrote and did not apply: its staging rows and,
    /// for a first sync, the dataset it was building.
    pub async fn clear_staging(&self, run_id: &str) -> Result<(), StoreError> {
        self.drop_unfinished_dataset(run_id).await?;
        let mut tx = self.writer.begin_with(WRITE).await?;
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
        tx.commit().await?;
        Ok(())
    }
}
