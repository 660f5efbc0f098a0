//! Reading synced users and groups (keyset pagination by Okta id).

use super::{SqliteStore, StoreError, LIVE_DATASET};

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
    /// Seen by a pull sync.
    pub via_pull: bool,
    /// Written by a SCIM push.
    pub via_push: bool,
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
    okta_last_updated, first_seen_at, last_seen_at, updated_at, deleted_at, via_pull, via_push";

/// Live counts for a directory card.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectoryCounts {
    pub users: i64,
    pub suspended: i64,
    pub groups: i64,
}

impl SqliteStore {
    pub async fn directory_counts(&self, directory_id: &str) -> Result<DirectoryCounts, StoreError> {
        let (users, suspended): (i64, i64) = sqlx::query_as(
            &format!("SELECT COUNT(*), COALESCE(SUM(suspended), 0) FROM directory_users WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL"),
        )
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

    /// Live users after `after` (an Okta id), in id order.
    pub async fn users_page(
        &self,
        directory_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM directory_users WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL AND okta_id > $2
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
            "SELECT okta_id, name, description, kind, okta_last_membership_updated, deleted_at
             FROM directory_groups WHERE dataset = {LIVE_DATASET} AND okta_id = $2"
        ))
        .bind(directory_id)
        .bind(okta_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Those of `ids` that are not present users of the directory.
    pub async fn absent_users(&self, directory_id: &str, ids: &[String]) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(sqlx::query_scalar(&format!(
            "SELECT j.value FROM json_each($2) j WHERE NOT EXISTS (
                 SELECT 1 FROM directory_users u
                 WHERE u.dataset = {LIVE_DATASET} AND u.okta_id = j.value AND u.deleted_at IS NULL)
             ORDER BY j.value"
        ))
        .bind(directory_id)
        .bind(json)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Okta ids of a group's present members, in id order.
    pub async fn group_member_ids(
        &self,
        directory_id: &str,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT user_id FROM present_memberships
             WHERE dataset = {LIVE_DATASET} AND group_id = $2 ORDER BY user_id"
        ))
        .bind(directory_id)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// A row of the users table.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserListRow {
    pub okta_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub login: String,
    pub status: String,
    pub groups: i64,
    pub updated_at: String,
    /// The value the table is sorted by, for the next page's cursor.
    pub sort_key: String,
}

/// Sortable columns of the users table: SQL key expression and direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    #[default]
    Name,
    Email,
    Login,
    Status,
    /// Most recently changed first.
    Updated,
    /// Members of the most groups first.
    Groups,
}

impl UserSort {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "email" => Self::Email,
            "login" => Self::Login,
            "status" => Self::Status,
            "updated" => Self::Updated,
            "groups" => Self::Groups,
            _ => Self::Name,
        }
    }

    /// Matches the keyset indexes (`directory_users_by_*_key`, and the group
    /// counts' own) exactly, so SQLite walks one.
    fn key(self) -> &'static str {
        match self {
            Self::Name => "u.display_name",
            Self::Email => "IFNULL(u.email, '')",
            Self::Login => "u.login",
            Self::Status => "u.status",
            Self::Updated => "u.updated_at",
            Self::Groups => "c.group_count",
        }
    }

    /// The tiebreaker, from the same index as the key.
    fn id(self) -> &'static str {
        match self {
            Self::Groups => "c.user_id",
            _ => "u.okta_id",
        }
    }

    fn descending(self) -> bool {
        matches!(self, Self::Updated | Self::Groups)
    }
}

/// Filters of the users table; `after` is the last (sort key, okta_id) seen.
#[derive(Debug, Clone, Default)]
pub struct UserFilter<'a> {
    pub search: &'a str,
    pub status: &'a str,
    /// Only present members of this group.
    pub group: Option<&'a str>,
    pub sort: UserSort,
    pub after: Option<(&'a str, &'a str)>,
}

/// `%search%` for `LIKE … ESCAPE '\'`, with the wildcards of the search escaped.
pub(super) fn like_pattern(search: &str) -> String {
    let escaped = search
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The search and status conditions, only when used: `$2 = '' OR …` would
/// keep SQLite from answering a filter from an index.
fn user_filters(filter: &UserFilter<'_>) -> String {
    let mut sql = String::new();
    if !filter.search.trim().is_empty() {
        sql.push_str(
            " AND (u.display_name LIKE $2 ESCAPE '\\' OR u.email LIKE $2 ESCAPE '\\' OR u.login LIKE $2 ESCAPE '\\')",
        );
    }
    if !filter.status.is_empty() {
        sql.push_str(" AND u.status = $3");
    }
    sql
}

/// Users of one group, as the rows to filter and sort: the group's present
/// members lead (a group has far fewer members than the directory has users,
/// so walking a users index for them would read most of it).
const GROUP_MEMBERS_FROM: &str = "present_memberships m
     CROSS JOIN directory_users u ON u.dataset = m.dataset AND u.okta_id = m.user_id
     LEFT JOIN directory_user_group_counts c ON c.dataset = u.dataset AND c.user_id = u.okta_id
     WHERE m.dataset = {LIVE_DATASET} AND m.group_id = $7";

impl SqliteStore {
    /// Live users in the chosen order, keyset-paginated; search matches name, e-mail or login.
    pub async fn list_users(
        &self,
        directory_id: &str,
        filter: &UserFilter<'_>,
        limit: i64,
    ) -> Result<Vec<UserListRow>, StoreError> {
        let (key, id) = (filter.sort.key(), filter.sort.id());
        let (cmp, dir) = if filter.sort.descending() {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let keyset = if filter.after.is_some() {
            format!("AND ({key} {cmp} $4 OR ({key} = $4 AND {id} {cmp} $5))")
        } else {
            String::new()
        };
        let filters = user_filters(filter);
        let (after_key, after_id) = filter.after.unwrap_or(("", ""));
        // Sorted by group count, the counts' index leads and each row finds
        // its user; otherwise a users index leads and each row its count.
        let from = if filter.group.is_some() {
            GROUP_MEMBERS_FROM
        } else if filter.sort == UserSort::Groups {
            "directory_user_group_counts c
             CROSS JOIN directory_users u ON u.dataset = c.dataset AND u.okta_id = c.user_id
             WHERE c.dataset = {LIVE_DATASET}"
        } else {
            "directory_users u
             LEFT JOIN directory_user_group_counts c ON c.dataset = u.dataset AND c.user_id = u.okta_id
             WHERE u.dataset = {LIVE_DATASET}"
        }
        .replace("{LIVE_DATASET}", LIVE_DATASET);
        let sql = format!(
            "SELECT u.okta_id, u.display_name, u.email, u.login, u.status, u.updated_at,
                    IFNULL(c.group_count, 0) AS groups, CAST({key} AS TEXT) AS sort_key
             FROM {from} AND u.deleted_at IS NULL{filters} {keyset}
             ORDER BY {key} {dir}, {id} {dir} LIMIT $6"
        );
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
        // $4–$6 are the list's keyset and limit, unused here but numbered alike.
        Ok(sqlx::query_scalar(&sql)
            .bind(directory_id)
            .bind(like_pattern(filter.search))
            .bind(filter.status)
            .bind("")
            .bind("")
            .bind(0)
            .bind(filter.group)
            .fetch_one(&self.pool)
            .await?)
    }
}
