//! A run's fetched data, written page by page before anything is applied.

use super::{Store, StoreError};
use sqlx::QueryBuilder;

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

impl Store {
    pub async fn stage_users(&self, run_id: &str, users: &[StagedUser]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
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
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn stage_groups(&self, run_id: &str, groups: &[StagedGroup]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
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
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn stage_memberships(
        &self,
        run_id: &str,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in user_ids.chunks(ROWS_PER_INSERT * 4) {
            let mut insert =
                QueryBuilder::new("INSERT INTO sync_staging_memberships (run_id, group_id, user_id) ");
            insert.push_values(chunk, |mut row, user_id| {
                row.push_bind(run_id).push_bind(group_id).push_bind(user_id);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Staged groups whose members must be fetched: new groups, and groups
    /// whose `lastMembershipUpdated` moved since the last applied sync.
    pub async fn groups_needing_members(
        &self,
        run_id: &str,
        directory_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT s.okta_id FROM sync_staging_groups s
             LEFT JOIN directory_groups g ON g.directory_id = $2 AND g.okta_id = s.okta_id AND g.deleted_at IS NULL
             WHERE s.run_id = $1
               AND (g.okta_id IS NULL OR s.okta_last_membership_updated IS NULL
                    OR g.okta_last_membership_updated IS NOT s.okta_last_membership_updated)
             ORDER BY s.okta_id",
        )
        .bind(run_id)
        .bind(directory_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Copies the stored members of unchanged groups into the run's staging,
    /// so the apply step sees the complete membership picture.
    pub async fn stage_unchanged_memberships(
        &self,
        run_id: &str,
        directory_id: &str,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "INSERT INTO sync_staging_memberships (run_id, group_id, user_id)
             SELECT $1, m.group_id, m.user_id FROM directory_memberships m
             JOIN sync_staging_groups s ON s.run_id = $1 AND s.okta_id = m.group_id
             JOIN directory_groups g ON g.directory_id = $2 AND g.okta_id = m.group_id AND g.deleted_at IS NULL
             WHERE m.directory_id = $2 AND s.okta_last_membership_updated IS NOT NULL
               AND g.okta_last_membership_updated IS s.okta_last_membership_updated
             ON CONFLICT DO NOTHING",
        )
        .bind(run_id)
        .bind(directory_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
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
