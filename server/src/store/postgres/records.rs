//! Reading synced users and groups: the tables, a user's and a group's page.
//! Searches are case-insensitive (`ILIKE`), as SQLite's `LIKE` is for ASCII.

use super::{staging::LIVE_DATASET, PgStore};
use crate::store::{
    records::like_pattern, DirectoryCounts, GroupPageRow, GroupRecord, GroupRef, MemberRow, StoreError,
    UserEvent, UserFilter, UserListRow, UserRecord, UserSort,
};

const USER_COLUMNS: &str = "okta_id, login, email, first_name, last_name, display_name, status, suspended, \
     profile::text AS profile, rfc3339(okta_last_updated) AS okta_last_updated, \
     rfc3339(first_seen_at) AS first_seen_at, rfc3339(last_seen_at) AS last_seen_at, \
     rfc3339(updated_at) AS updated_at, rfc3339(deleted_at) AS deleted_at, via_pull, via_push";

/// The users table's sort: key expression (as the keyset indexes have it),
/// its type for the cursor, and the key as text for the next cursor.
fn sort_key(sort: UserSort) -> (&'static str, &'static str, &'static str) {
    match sort {
        UserSort::Name => ("u.display_name", "text", "u.display_name"),
        UserSort::Email => ("coalesce(u.email, '')", "text", "coalesce(u.email, '')"),
        UserSort::Login => ("u.login", "text", "u.login"),
        UserSort::Status => ("u.status", "text", "u.status"),
        UserSort::Updated => ("u.updated_at", "timestamptz", "rfc3339(u.updated_at)"),
        // Sorted by groups, the counts table leads (every present user has a row).
        UserSort::Groups => ("c.group_count", "bigint", "c.group_count::text"),
    }
}

fn user_filters(filter: &UserFilter<'_>) -> String {
    let mut sql = String::new();
    if !filter.search.trim().is_empty() {
        sql.push_str(
            " AND (u.display_name ILIKE $2 ESCAPE '\\' OR u.email ILIKE $2 ESCAPE '\\' OR u.login ILIKE $2 ESCAPE '\\')",
        );
    }
    if !filter.status.is_empty() {
        sql.push_str(" AND u.status = $3");
    }
    sql
}

const GROUP_MEMBERS_FROM: &str = "present_memberships m
     JOIN directory_users u ON u.dataset = m.dataset AND u.okta_id = m.user_id
     LEFT JOIN directory_user_group_counts c ON c.dataset = u.dataset AND c.user_id = u.okta_id
     WHERE m.dataset = {LIVE_DATASET} AND m.group_id = $7";

impl PgStore {
    pub async fn directory_counts(&self, directory_id: &str) -> Result<DirectoryCounts, StoreError> {
        let (users, suspended): (i64, i64) = sqlx::query_as(&format!(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE suspended) FROM directory_users
             WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL"
        ))
        .bind(directory_id)
        .fetch_one(&self.pool)
        .await?;
        let groups: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM directory_groups WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL"
        ))
        .bind(directory_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(DirectoryCounts {
            users,
            suspended,
            groups,
        })
    }

    pub async fn users_page(
        &self,
        directory_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM directory_users
             WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL AND okta_id > $2
             ORDER BY okta_id LIMIT $3"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn user(&self, directory_id: &str, okta_id: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM directory_users WHERE dataset = {LIVE_DATASET} AND okta_id = $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(okta_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn group(&self, directory_id: &str, okta_id: &str) -> Result<Option<GroupRecord>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT okta_id, name, description, kind,
                    rfc3339(okta_last_membership_updated) AS okta_last_membership_updated,
                    rfc3339(deleted_at) AS deleted_at
             FROM directory_groups WHERE dataset = {LIVE_DATASET} AND okta_id = $2"
        ))
        .bind(directory_id)
        .bind(okta_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn absent_users(&self, directory_id: &str, ids: &[String]) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(&format!(
            "SELECT j.id FROM unnest($2::text[]) AS j(id) WHERE NOT EXISTS (
                 SELECT 1 FROM directory_users u
                 WHERE u.dataset = {LIVE_DATASET} AND u.okta_id = j.id AND u.deleted_at IS NULL)
             ORDER BY j.id"
        ))
        .bind(directory_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn group_member_ids(
        &self,
        directory_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT user_id FROM present_memberships WHERE dataset = {LIVE_DATASET} AND group_id = $2 ORDER BY user_id"
        ))
        .bind(directory_id)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn list_users(
        &self,
        directory_id: &str,
        filter: &UserFilter<'_>,
        limit: i64,
    ) -> Result<Vec<UserListRow>, StoreError> {
        let (key, key_type, key_text) = sort_key(filter.sort);
        let id = if filter.sort == UserSort::Groups {
            "c.user_id"
        } else {
            "u.okta_id"
        };
        let descending = matches!(filter.sort, UserSort::Updated | UserSort::Groups);
        let (cmp, dir) = if descending { ("<", "DESC") } else { (">", "ASC") };
        let keyset = if filter.after.is_some() {
            format!("AND ({key} {cmp} $4::{key_type} OR ({key} = $4::{key_type} AND {id} {cmp} $5))")
        } else {
            String::new()
        };
        let (after_key, after_id) = filter.after.unwrap_or(("", ""));
        let from = if filter.group.is_some() {
            GROUP_MEMBERS_FROM
        } else if filter.sort == UserSort::Groups {
            "directory_user_group_counts c
             JOIN directory_users u ON u.dataset = c.dataset AND u.okta_id = c.user_id
             WHERE c.dataset = {LIVE_DATASET}"
        } else {
            "directory_users u
             LEFT JOIN directory_user_group_counts c ON c.dataset = u.dataset AND c.user_id = u.okta_id
             WHERE u.dataset = {LIVE_DATASET}"
        }
        .replace("{LIVE_DATASET}", LIVE_DATASET);
        let sql = format!(
            "SELECT u.okta_id, u.display_name, u.email, u.login, u.status, rfc3339(u.updated_at) AS updated_at,
                    coalesce(c.group_count, 0) AS groups, {key_text} AS sort_key
             FROM {from} AND u.deleted_at IS NULL{filters} {keyset}
             ORDER BY {key} {dir}, {id} {dir} LIMIT $6",
            filters = user_filters(filter)
        );
        // A cursor that is not of the key's type names no row after it.
        if filter.after.is_some() && !cursor_fits(filter.sort, after_key) {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(like_pattern(filter.search))
            .bind(filter.status)
            .bind(after_key)
            .bind(after_id)
            .bind(limit)
            .bind(filter.group)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn count_users(&self, directory_id: &str, filter: &UserFilter<'_>) -> Result<i64, StoreError> {
        let from = if filter.group.is_some() {
            GROUP_MEMBERS_FROM.replace("{LIVE_DATASET}", LIVE_DATASET)
        } else {
            format!("directory_users u WHERE u.dataset = {LIVE_DATASET}")
        };
        let sql = format!(
            "SELECT COUNT(*) FROM {from} AND u.deleted_at IS NULL{}",
            user_filters(filter)
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(directory_id)
            .bind(like_pattern(filter.search))
            .bind(filter.status)
            .bind("")
            .bind("")
            .bind(0_i64)
            .bind(filter.group)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn user_groups(&self, directory_id: &str, user_id: &str) -> Result<Vec<GroupRef>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT g.okta_id, g.name FROM present_user_groups m
             JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id
             WHERE m.dataset = {LIVE_DATASET} AND m.user_id = $2 ORDER BY g.name, g.okta_id"
        ))
        .bind(directory_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn user_events(
        &self,
        directory_id: &str,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<UserEvent>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT run_id, event, status, rfc3339(at) AS at FROM directory_user_events
             WHERE dataset = {LIVE_DATASET} AND okta_id = $2 ORDER BY at DESC, seq DESC LIMIT $3"
        ))
        .bind(directory_id)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

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
             JOIN directory_users u ON u.dataset = m.dataset AND u.okta_id = m.user_id
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
            "SELECT COUNT(*) FROM present_memberships m WHERE m.dataset = {LIVE_DATASET} AND m.group_id = $2"
        ))
        .bind(directory_id)
        .bind(group_id)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn groups_page(
        &self,
        directory_id: &str,
        search: &str,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<GroupPageRow>, StoreError> {
        let (after_name, after_id) = after.unwrap_or(("", ""));
        Ok(sqlx::query_as(&format!(
            "SELECT g.okta_id, g.name, g.kind,
                    rfc3339(g.okta_last_membership_updated) AS okta_last_membership_updated,
                    g.member_count AS members
             FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.deleted_at IS NULL AND ($2 = '%%' OR g.name ILIKE $2 ESCAPE '\\')
               AND (g.name > $3 OR (g.name = $3 AND g.okta_id > $4))
             ORDER BY g.name, g.okta_id LIMIT $5"
        ))
        .bind(directory_id)
        .bind(like_pattern(search))
        .bind(after_name)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn count_groups(&self, directory_id: &str, search: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.deleted_at IS NULL AND ($2 = '%%' OR g.name ILIKE $2 ESCAPE '\\')"
        ))
        .bind(directory_id)
        .bind(like_pattern(search))
        .fetch_one(&self.pool)
        .await?)
    }
}

/// Whether a users-table cursor can be compared with the sort key's type.
fn cursor_fits(sort: UserSort, key: &str) -> bool {
    match sort {
        UserSort::Updated => crate::store::parse_timestamp(key).is_ok(),
        UserSort::Groups => key.parse::<i64>().is_ok(),
        _ => true,
    }
}
