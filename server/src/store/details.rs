//! Reads behind the user, group and groups-table pages.

use super::{records::like_pattern, SqliteStore, StoreError, LIVE_DATASET};

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupRef {
    pub okta_id: String,
    pub name: String,
}

/// One line of a user's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserEvent {
    pub run_id: String,
    pub event: String,
    pub status: String,
    pub at: String,
}

/// A member row of a group page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub okta_id: String,
    pub display_name: String,
    pub login: String,
    pub status: String,
}

/// A row of the groups table.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupPageRow {
    pub okta_id: String,
    pub name: String,
    pub kind: String,
    pub members: i64,
    pub okta_last_membership_updated: Option<String>,
}

impl SqliteStore {
    /// The present groups a present user is a member of, by name (none for a removed user).
    pub async fn user_groups(&self, directory_id: &str, user_id: &str) -> Result<Vec<GroupRef>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT g.okta_id, g.name FROM present_user_groups m
             CROSS JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id
             WHERE m.dataset = {LIVE_DATASET} AND m.user_id = $2 ORDER BY g.name, g.okta_id"
        ))
        .bind(directory_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Newest first.
    pub async fn user_events(
        &self,
        directory_id: &str,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<UserEvent>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT run_id, event, status, at FROM directory_user_events
             WHERE dataset = {LIVE_DATASET} AND okta_id = $2 ORDER BY at DESC, rowid DESC LIMIT $3"
        ))
        .bind(directory_id)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Live members of a group by name, keyset-paginated on (name, id).
    pub async fn group_members(
        &self,
        directory_id: &str,
        group_id: &str,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<MemberRow>, StoreError> {
        let (after_name, after_id) = after.unwrap_or(("", ""));
        Ok(sqlx::query_as(&format!(
            "SELECT u.okta_id, u.display_name, u.login, u.status FROM present_memberships m
             CROSS JOIN directory_users u ON u.dataset = m.dataset AND u.okta_id = m.user_id
             WHERE m.dataset = {LIVE_DATASET} AND m.group_id = $2
               AND (u.display_name > $3 OR (u.display_name = $3 AND u.okta_id > $4))
             ORDER BY u.display_name, u.okta_id LIMIT $5"
        ))
        .bind(directory_id)
        .bind(group_id)
        .bind(after_name)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn count_group_members(&self, directory_id: &str, group_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM present_memberships m
             WHERE m.dataset = {LIVE_DATASET} AND m.group_id = $2"
        ))
        .bind(directory_id)
        .bind(group_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Live groups by name, searchable, keyset-paginated on (name, id).
    pub async fn groups_page(
        &self,
        directory_id: &str,
        search: &str,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<GroupPageRow>, StoreError> {
        let (after_name, after_id) = after.unwrap_or(("", ""));
        Ok(sqlx::query_as(
            &format!("SELECT g.okta_id, g.name, g.kind, g.okta_last_membership_updated,
                    (SELECT COUNT(*) FROM present_memberships m
                      WHERE m.dataset = g.dataset AND m.group_id = g.okta_id) AS members
             FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.deleted_at IS NULL AND ($2 = '%%' OR g.name LIKE $2 ESCAPE '\\')
               AND (g.name > $3 OR (g.name = $3 AND g.okta_id > $4))
             ORDER BY g.name, g.okta_id LIMIT $5"),
        )
        .bind(directory_id)
        .bind(like_pattern(search))
        .bind(after_name)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn count_groups(&self, directory_id: &str, search: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            &format!("SELECT COUNT(*) FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.deleted_at IS NULL AND ($2 = '%%' OR g.name LIKE $2 ESCAPE '\\')"),
        )
        .bind(directory_id)
        .bind(like_pattern(search))
        .fetch_one(&self.pool)
        .await?)
    }
}
