//! Writes of single identities outside any sync run (SCIM, the API): each
//! one transaction on the directory's live dataset, with the directory's
//! write lock, and the same rules as a sync's apply.

use super::events;
use super::{
    apply::{
        group_count_of, live_or_new_dataset, lock_directory, membership_statements, GROUP_UPSERT, USER_UPSERT,
    },
    staging::{GroupColumns, UserColumns},
    PgStore,
};
use crate::store::{
    identity_writes::{member_changes, members_written},
    now, IdentityWrite, MemberChange, MemberWrite, StagedGroup, StagedUser, StoreError, Written,
};
use sqlx::PgConnection;
use std::collections::BTreeSet;

/// (status, content_hash, removed) of a stored user.
pub(super) async fn stored_user(
    conn: &mut PgConnection,
    dataset: i64,
    okta_id: &str,
) -> Result<Option<(String, String, bool)>, StoreError> {
    let row: Option<(String, String, bool)> = sqlx::query_as(
        "SELECT status, content_hash, deleted_at IS NOT NULL FROM directory_users WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(okta_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

pub(super) async fn record_event(
    conn: &mut PgConnection,
    dataset: i64,
    okta_id: &str,
    source: &str,
    event: &str,
    status: &str,
    at: time::OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO directory_user_events (dataset, okta_id, run_id, event, status, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(dataset)
    .bind(okta_id)
    .bind(source)
    .bind(event)
    .bind(status)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A group's present members, counted (`g` the group's row).
pub(super) const MEMBER_COUNT_OF_G: &str = "(SELECT COUNT(*) FROM directory_memberships m
     JOIN directory_user_group_counts p ON p.dataset = m.dataset AND p.user_id = m.user_id
     WHERE m.dataset = g.dataset AND m.group_id = g.okta_id)";

/// Refreshes the present-member count kept on these groups and on the groups
/// of these users. The groups list reads it instead of probing every
/// member's presence (a few thousand lookups a page); every write that
/// changes a membership or whether a user is present calls this.
pub(super) async fn refresh_member_counts(
    conn: &mut PgConnection,
    dataset: i64,
    groups: &[String],
    users: &[String],
) -> Result<(), StoreError> {
    if groups.is_empty() && users.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "UPDATE directory_groups g SET member_count = {MEMBER_COUNT_OF_G}
         WHERE g.dataset = $1 AND g.okta_id IN (
             SELECT unnest($2::text[])
             UNION SELECT group_id FROM directory_user_groups WHERE dataset = $1 AND user_id = ANY($3))"
    ))
    .bind(dataset)
    .bind(groups)
    .bind(users)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recounts the group counts of these users (present ones only), and the
/// member counts of their groups.
pub(super) async fn recount(
    conn: &mut PgConnection,
    dataset: i64,
    users: &[String],
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
         SELECT $2, u.okta_id, {count} FROM directory_users u
         WHERE u.dataset = $2 AND u.deleted_at IS NULL AND u.okta_id = ANY($1)
         ON CONFLICT (dataset, user_id) DO UPDATE SET group_count = excluded.group_count",
        count = group_count_of("u.okta_id"),
    ))
    .bind(users)
    .bind(dataset)
    .execute(&mut *conn)
    .await?;
    refresh_member_counts(conn, dataset, &[], users).await
}

/// The shared membership statements for one group's added and removed users.
pub(super) async fn write_pairs(
    conn: &mut PgConnection,
    dataset: i64,
    group_id: &str,
    added: &[String],
    removed: &[String],
) -> Result<(), StoreError> {
    let removed_pairs = "SELECT $1::text AS group_id, r AS user_id FROM unnest($4::text[]) AS r";
    let added_pairs = "SELECT $1::text AS group_id, a AS user_id FROM unnest($3::text[]) AS a";
    for sql in membership_statements(removed_pairs, added_pairs) {
        sqlx::query(&sql)
            .bind(group_id)
            .bind(dataset)
            .bind(added)
            .bind(removed)
            .execute(&mut *conn)
            .await?;
    }
    refresh_member_counts(conn, dataset, &[group_id.to_owned()], &[]).await
}

/// Opens a write on a directory: its lock, then its live dataset.
pub(super) async fn begin_write(
    store: &PgStore,
    directory_id: &str,
) -> Result<(sqlx::Transaction<'static, sqlx::Postgres>, i64), StoreError> {
    let mut tx = store.pool.begin().await?;
    lock_directory(&mut tx, directory_id).await?;
    let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
    Ok((tx, dataset))
}

impl PgStore {
    pub async fn write_identities(
        &self,
        directory_id: &str,
        writes: &[IdentityWrite<'_>],
        source: &str,
        lease: Option<&str>,
    ) -> Result<Vec<Written>, StoreError> {
        let at = now();
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        if let Some(lease) = lease {
            super::runs::check_lease(&mut tx, directory_id, lease).await?;
        }
        let mut done = Vec::with_capacity(writes.len());
        for write in writes {
            done.push(match *write {
                IdentityWrite::UpsertUser(user) => {
                    upsert_user_in(&mut tx, directory_id, dataset, at, user, source).await?
                }
                IdentityWrite::RemoveUser(id) => {
                    remove_user_in(&mut tx, directory_id, dataset, at, id, source).await?
                }
                IdentityWrite::UpsertGroup(group) => {
                    upsert_group_in(&mut tx, directory_id, dataset, at, group).await?
                }
                IdentityWrite::RemoveGroup(id) => {
                    remove_group_in(&mut tx, directory_id, dataset, at, id).await?
                }
                IdentityWrite::Members(group, members) => members_written(
                    write_members_in(&mut tx, directory_id, dataset, group, members)
                        .await?
                        .as_ref(),
                ),
            });
            // The database's clock, as the runs' `started_at`: one clock to compare.
            let (kind, id) = write.record();
            sqlx::query(
                "INSERT INTO refresh_fences (dataset, kind, okta_id, refreshed_at) VALUES ($1, $2, $3, now())
                 ON CONFLICT (dataset, kind, okta_id) DO UPDATE SET refreshed_at = excluded.refreshed_at",
            )
            .bind(dataset)
            .bind(kind)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "DELETE FROM refresh_fences WHERE dataset = $1 AND refreshed_at < now() - interval '2 days'",
        )
        .bind(dataset)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn upsert_user(
        &self,
        directory_id: &str,
        user: &StagedUser,
        source: &str,
    ) -> Result<Written, StoreError> {
        let at = now();
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let written = upsert_user_in(&mut tx, directory_id, dataset, at, user, source).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    pub async fn remove_user(
        &self,
        directory_id: &str,
        okta_id: &str,
        source: &str,
    ) -> Result<Written, StoreError> {
        let at = now();
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let written = remove_user_in(&mut tx, directory_id, dataset, at, okta_id, source).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    pub async fn upsert_group(&self, directory_id: &str, group: &StagedGroup) -> Result<Written, StoreError> {
        let at = now();
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let written = upsert_group_in(&mut tx, directory_id, dataset, at, group).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    pub async fn remove_group(&self, directory_id: &str, group_id: &str) -> Result<Written, StoreError> {
        let at = now();
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let written = remove_group_in(&mut tx, directory_id, dataset, at, group_id).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    pub async fn write_members(
        &self,
        directory_id: &str,
        group_id: &str,
        write: MemberWrite<'_>,
    ) -> Result<Option<MemberChange>, StoreError> {
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let written = write_members_in(&mut tx, directory_id, dataset, group_id, write).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if written.is_none() {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }
}

async fn upsert_user_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    directory_id: &str,
    dataset: i64,
    at: time::OffsetDateTime,
    user: &StagedUser,
    source: &str,
) -> Result<Written, StoreError> {
    let before = stored_user(&mut *tx, dataset, &user.okta_id).await?;
    if let Some((_, hash, false)) = &before {
        if *hash == user.content_hash {
            return Ok(Written::Unchanged);
        }
    }
    let ids = [user.okta_id.as_str()];
    let snapshot = events::snapshot(&mut *tx, dataset, &ids, &[]).await?;
    let sql = format!(
        "INSERT INTO directory_users (dataset, okta_id, login, email, first_name, last_name, display_name, status,
             suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $1, u.*, $2, $2, $2, NULL FROM ({}) u
         {USER_UPSERT}",
        UserColumns::select(3)
    );
    UserColumns::of(std::slice::from_ref(user))
        .bind(sqlx::query(&sql).bind(dataset).bind(at))
        .execute(&mut **tx)
        .await?;
    let outcome = match &before {
        None | Some((_, _, true)) => {
            record_event(
                &mut *tx,
                dataset,
                &user.okta_id,
                source,
                "added",
                &user.status,
                at,
            )
            .await?;
            // Memberships may have been kept while the user was away.
            recount(&mut *tx, dataset, std::slice::from_ref(&user.okta_id)).await?;
            Written::Created
        }
        Some((status, _, false)) => {
            if *status != user.status {
                record_event(
                    &mut *tx,
                    dataset,
                    &user.okta_id,
                    source,
                    "status",
                    &user.status,
                    at,
                )
                .await?;
            }
            Written::Updated
        }
    };
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &ids, &[]).await?;
    Ok(outcome)
}

async fn remove_user_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    directory_id: &str,
    dataset: i64,
    at: time::OffsetDateTime,
    okta_id: &str,
    source: &str,
) -> Result<Written, StoreError> {
    let Some((status, _, false)) = stored_user(&mut *tx, dataset, okta_id).await? else {
        return Ok(Written::Missing);
    };
    let ids = [okta_id];
    let snapshot = events::snapshot(&mut *tx, dataset, &ids, &[]).await?;
    record_event(&mut *tx, dataset, okta_id, source, "removed", &status, at).await?;
    sqlx::query(
        "UPDATE directory_users SET deleted_at = $1, updated_at = $1, last_seen_at = $1, version = version + 1
         WHERE dataset = $2 AND okta_id = $3",
    )
    .bind(at)
    .bind(dataset)
    .bind(okta_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM directory_user_group_counts WHERE dataset = $1 AND user_id = $2")
        .bind(dataset)
        .bind(okta_id)
        .execute(&mut **tx)
        .await?;
    refresh_member_counts(&mut *tx, dataset, &[], &[okta_id.to_owned()]).await?;
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &ids, &[]).await?;
    Ok(Written::Removed)
}

async fn upsert_group_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    directory_id: &str,
    dataset: i64,
    at: time::OffsetDateTime,
    group: &StagedGroup,
) -> Result<Written, StoreError> {
    let before: Option<(String, bool)> = sqlx::query_as(
        "SELECT content_hash, deleted_at IS NOT NULL FROM directory_groups WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(&group.okta_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((hash, false)) = &before {
        if *hash == group.content_hash {
            return Ok(Written::Unchanged);
        }
    }
    let ids = [group.okta_id.as_str()];
    let snapshot = events::snapshot(&mut *tx, dataset, &[], &ids).await?;
    let sql = format!(
        "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated,
             okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
         SELECT $1, g.*, $2, $2, $2, NULL FROM ({}) g
         {GROUP_UPSERT}",
        GroupColumns::select(3)
    );
    GroupColumns::of(std::slice::from_ref(group))
        .bind(sqlx::query(&sql).bind(dataset).bind(at))
        .execute(&mut **tx)
        .await?;
    if !matches!(before, Some((_, false))) {
        // Back after a removal: members may have been kept.
        refresh_member_counts(&mut *tx, dataset, std::slice::from_ref(&group.okta_id), &[]).await?;
    }
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &[], &ids).await?;
    Ok(match before {
        Some((_, false)) => Written::Updated,
        _ => Written::Created,
    })
}

async fn remove_group_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    directory_id: &str,
    dataset: i64,
    at: time::OffsetDateTime,
    group_id: &str,
) -> Result<Written, StoreError> {
    let present: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM directory_groups WHERE dataset = $1 AND okta_id = $2 AND deleted_at IS NULL",
    )
    .bind(dataset)
    .bind(group_id)
    .fetch_optional(&mut **tx)
    .await?;
    if present.is_none() {
        return Ok(Written::Missing);
    }
    let ids = [group_id];
    let snapshot = events::snapshot(&mut *tx, dataset, &[], &ids).await?;
    let members: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM directory_memberships WHERE dataset = $1 AND group_id = $2")
            .bind(dataset)
            .bind(group_id)
            .fetch_all(&mut **tx)
            .await?;
    write_pairs(&mut *tx, dataset, group_id, &[], &members).await?;
    recount(&mut *tx, dataset, &members).await?;
    sqlx::query(
        "UPDATE directory_groups SET deleted_at = $1, updated_at = $1, version = version + 1
         WHERE dataset = $2 AND okta_id = $3",
    )
    .bind(at)
    .bind(dataset)
    .bind(group_id)
    .execute(&mut **tx)
    .await?;
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &[], &ids).await?;
    Ok(Written::Removed)
}

async fn write_members_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    directory_id: &str,
    dataset: i64,
    group_id: &str,
    write: MemberWrite<'_>,
) -> Result<Option<MemberChange>, StoreError> {
    let present: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM directory_groups WHERE dataset = $1 AND okta_id = $2 AND deleted_at IS NULL",
    )
    .bind(dataset)
    .bind(group_id)
    .fetch_optional(&mut **tx)
    .await?;
    if present.is_none() {
        return Ok(None);
    }
    let ids = [group_id];
    let snapshot = events::snapshot(&mut *tx, dataset, &[], &ids).await?;
    let current: BTreeSet<String> =
        sqlx::query_scalar("SELECT user_id FROM directory_memberships WHERE dataset = $1 AND group_id = $2")
            .bind(dataset)
            .bind(group_id)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
    let (added, removed) = member_changes(&current, write);
    if !added.is_empty() || !removed.is_empty() {
        write_pairs(&mut *tx, dataset, group_id, &added, &removed).await?;
        let touched: Vec<String> = added.iter().chain(&removed).cloned().collect();
        recount(&mut *tx, dataset, &touched).await?;
        sqlx::query(
            "UPDATE directory_groups SET okta_last_membership_updated = NULL, updated_at = $1
             WHERE dataset = $2 AND okta_id = $3",
        )
        .bind(now())
        .bind(dataset)
        .bind(group_id)
        .execute(&mut **tx)
        .await?;
        events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &[], &ids).await?;
    }
    Ok(Some(MemberChange { added, removed }))
}
