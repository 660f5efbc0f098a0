//! A run's fetched data, written page by page before anything is applied.

use super::{Store, StoreError};
use sqlx::{QueryBuilder, SqliteConnection};
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
const ROWS_PER_INSERT: usize = 400;

/// Rows staged together in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageBatch {
    pub users: Vec<StagedUser>,
    pub groups: Vec<StagedGroup>,
    /// A group's id and the ids of all its members.
    pub memberships: Vec<(String, Vec<String>)>,
}

impl StageBatch {
    pub fn rows(&self) -> usize {
        self.users.len()
            + self.groups.len()
            + self
                .memberships
                .iter()
                .map(|(_, members)| members.len())
                .sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.rows() == 0 && self.memberships.is_empty()
    }
}

async fn insert_users(
    conn: &mut SqliteConnection,
    run_id: &str,
    users: &[StagedUser],
) -> Result<(), StoreError> {
    for chunk in users.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO sync_staging_users (run_id, okta_id, login, email, first_name, last_name, display_name, \
             status, suspended, profile, okta_last_updated, content_hash) ",
        );
        insert.push_values(chunk, |mut row, u| {
            row.push_bind(run_id)
                .push_bind(&u.okta_id)
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
        });
        // Okta may repeat a user across pages when the list changes mid-sync.
        insert.push(" ON CONFLICT (run_id, okta_id) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
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
            row.push_bind(run_id)
                .push_bind(&g.okta_id)
                .push_bind(&g.name)
                .push_bind(&g.description)
                .push_bind(&g.kind)
                .push_bind(&g.okta_last_updated)
                .push_bind(&g.okta_last_membership_updated)
                .push_bind(&g.content_hash);
        });
        insert.push(" ON CONFLICT (run_id, okta_id) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_memberships(
    conn: &mut SqliteConnection,
    run_id: &str,
    memberships: &[(String, Vec<String>)],
) -> Result<(), StoreError> {
    // Rows of several groups share statements: small groups are the long tail.
    let rows: Vec<(&str, &str)> = memberships
        .iter()
        .flat_map(|(group_id, members)| {
            members
                .iter()
                .map(move |user_id| (group_id.as_str(), user_id.as_str()))
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT * 4) {
        let mut insert =
            QueryBuilder::new("INSERT INTO sync_staging_memberships (run_id, group_id, user_id) ");
        insert.push_values(chunk, |mut row, (group_id, user_id)| {
            row.push_bind(run_id).push_bind(*group_id).push_bind(*user_id);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Stages users, groups and group members in one transaction.
    pub async fn stage_batch(&self, run_id: &str, batch: &StageBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        insert_users(&mut tx, run_id, &batch.users).await?;
        insert_groups(&mut tx, run_id, &batch.groups).await?;
        insert_memberships(&mut tx, run_id, &batch.memberships).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `lastMembershipUpdated` of the directory's live groups, by Okta id: a
    /// group whose stamp has not moved keeps its stored members (incremental sync).
    pub async fn membership_stamps(
        &self,
        directory_id: &str,
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT okta_id, okta_last_membership_updated FROM directory_groups
             WHERE directory_id = $1 AND deleted_at IS NULL",
        )
        .bind(directory_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    pub async fn clear_staging(&self, run_id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
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
