//! Reading synced users and groups (keyset pagination by Okta id).

use super::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub okta_id: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: String,
    pub status: String,
    pub suspended: bool,
    pub profile: String,
    pub okta_last_updated: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupRecord {
    pub okta_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub okta_last_membership_updated: Option<String>,
    pub deleted_at: Option<String>,
}

const USER_COLUMNS: &str =
    "okta_id, login, email, first_name, last_name, display_name, status, suspended, profile, \
    okta_last_updated, first_seen_at, last_seen_at, updated_at, deleted_at";

/// Live counts for a directory card.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryCounts {
    pub users: i64,
    pub suspended: i64,
    pub groups: i64,
}

impl Store {
    pub async fn directory_counts(&self, directory_id: &str) -> Result<DirectoryCounts, StoreError> {
        let (users, suspended): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(suspended), 0) FROM directory_users WHERE directory_id = $1 AND deleted_at IS NULL",
        )
        .bind(directory_id)
        .fetch_one(&self.pool)
        .await?;
        let groups: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM directory_groups WHERE directory_id = $1 AND deleted_at IS NULL",
        )
        .bind(directory_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(DirectoryCounts {
            users,
            suspended,
            groups,
        })
    }

    /// Live users after `after` (an Okta id), in id order.
    pub async fn users_page(
        &self,
        directory_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM directory_users WHERE directory_id = $1 AND deleted_at IS NULL AND okta_id > $2
             ORDER BY okta_id LIMIT $3"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A user including soft-deleted ones.
    pub async fn user(&self, directory_id: &str, okta_id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM directory_users WHERE directory_id = $1 AND okta_id = $2");
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(okta_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn group(&self, directory_id: &str, okta_id: &str) -> Result<Option<GroupRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT okta_id, name, description, kind, okta_last_membership_updated, deleted_at
             FROM directory_groups WHERE directory_id = $1 AND okta_id = $2",
        )
        .bind(directory_id)
        .bind(okta_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Okta ids of a group's live members, in id order.
    pub async fn group_member_ids(
        &self,
        directory_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT m.user_id FROM directory_memberships m
             JOIN directory_users u ON u.directory_id = m.directory_id AND u.okta_id = m.user_id AND u.deleted_at IS NULL
             WHERE m.directory_id = $1 AND m.group_id = $2 ORDER BY m.user_id",
        )
        .bind(directory_id)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
