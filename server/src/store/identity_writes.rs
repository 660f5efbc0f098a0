//! Writes of single identities outside any sync run: what SCIM and other
//! push sources need. Each call is one transaction on the directory's live
//! dataset (made when the directory has none yet), and uses the same rules
//! as a sync's apply: [`USER_UPSERT`], [`GROUP_UPSERT`], the same membership
//! statements and group counts, the same history events.

use super::{
    apply::{group_count_of, live_or_new_dataset, membership_statements, GROUP_UPSERT, USER_UPSERT},
    events, now,
    staging::{push_group_fields, push_user_fields, USER_COLUMNS},
    timestamp, SqliteStore, StagedGroup, StagedUser, StoreError,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use std::collections::BTreeSet;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    /// The stored record already said exactly this.
    Unchanged,
    Removed,
    /// Nothing present had that id.
    Missing,
}

/// A group's membership change, as applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// One write of a batch applied in one transaction (a targeted refresh).
#[derive(Debug, Clone, Copy)]
pub enum IdentityWrite<'a> {
    UpsertUser(&'a StagedUser),
    RemoveUser(&'a str),
    UpsertGroup(&'a StagedGroup),
    RemoveGroup(&'a str),
    /// A group's members; `Updated` when they changed, `Missing` when the
    /// group is not present.
    Members(&'a str, MemberWrite<'a>),
}

impl IdentityWrite<'_> {
    /// The kind (`user`, `group`) and Okta id of the record written.
    pub(super) fn record(&self) -> (&'static str, &str) {
        match self {
            Self::UpsertUser(user) => ("user", &user.okta_id),
            Self::RemoveUser(id) => ("user", id),
            Self::UpsertGroup(group) => ("group", &group.okta_id),
            Self::RemoveGroup(id) | Self::Members(id, _) => ("group", id),
        }
    }
}

/// What a membership write did, as a `Written`.
pub(super) fn members_written(change: Option<&MemberChange>) -> Written {
    match change {
        None => Written::Missing,
        Some(c) if c.added.is_empty() && c.removed.is_empty() => Written::Unchanged,
        Some(_) => Written::Updated,
    }
}

/// How a membership write names its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberWrite<'a> {
    Add(&'a [String]),
    Remove(&'a [String]),
    /// Exactly these members afterwards.
    Replace(&'a [String]),
}

/// What a membership write adds and removes, against the current members
/// (the one rule for both backends).
pub(super) fn member_changes(
    current: &BTreeSet<String>,
    write: MemberWrite<'_>,
) -> (Vec<String>, Vec<String>) {
    let set = |ids: &[String]| ids.iter().cloned().collect::<BTreeSet<String>>();
    match write {
        MemberWrite::Add(ids) => (set(ids).difference(current).cloned().collect(), Vec::new()),
        MemberWrite::Remove(ids) => (Vec::new(), set(ids).intersection(current).cloned().collect()),
        MemberWrite::Replace(ids) => {
            let wanted = set(ids);
            (
                wanted.difference(current).cloned().collect(),
                current.difference(&wanted).cloned().collect(),
            )
        }
    }
}

/// What a pushed group's member change adds and removes; `None` keeps them.
/// In a delta, a user both added and removed is removed.
pub(super) fn group_member_changes(
    current: &BTreeSet<String>,
    members: super::GroupMembers<'_>,
) -> Option<(Vec<String>, Vec<String>)> {
    match members {
        super::GroupMembers::Keep => None,
        super::GroupMembers::Replace(ids) => Some(member_changes(current, MemberWrite::Replace(ids))),
        super::GroupMembers::Delta { add, remove } => {
            let removing: BTreeSet<String> = remove.iter().cloned().collect();
            let adding: BTreeSet<String> = add.iter().filter(|a| !removing.contains(*a)).cloned().collect();
            Some((
                adding.difference(current).cloned().collect(),
                removing.intersection(current).cloned().collect(),
            ))
        }
    }
}

/// `[[group, user], …]` as one bound JSON value, selected as (group_id, user_id).
pub(super) fn pairs_json(group_id: &str, users: &[String]) -> Result<String, StoreError> {
    let pairs: Vec<[&str; 2]> = users.iter().map(|u| [group_id, u.as_str()]).collect();
    serde_json::to_string(&pairs).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn pairs_from(param: &str) -> String {
    format!(
        "SELECT json_extract(j.value, '$[0]') AS group_id, json_extract(j.value, '$[1]') AS user_id \
         FROM json_each({param}) j"
    )
}

/// (status, content_hash, removed) of a stored user.
async fn stored_user(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    okta_id: &str,
) -> Result<Option<(String, String, bool)>, StoreError> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT status, content_hash, deleted_at FROM directory_users WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(okta_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(status, hash, deleted)| (status, hash, deleted.is_some())))
}

pub(super) async fn record_event(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    okta_id: &str,
    source: &str,
    event: &str,
    status: &str,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO directory_user_events (dataset, okta_id, run_id, event, status, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(dataset)
    .bind(okta_id)
    .bind(source)
    .bind(event)
    .bind(status)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Recounts the group counts of these users (present ones only).
pub(super) async fn recount(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    users: &[String],
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(users).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
         SELECT $2, u.okta_id, {count} FROM directory_users u
         WHERE u.dataset = $2 AND u.deleted_at IS NULL AND u.okta_id IN (SELECT value FROM json_each($1))
         ORDER BY 2
         ON CONFLICT (dataset, user_id) DO UPDATE SET group_count = excluded.group_count",
        count = group_count_of("u.okta_id"),
    ))
    .bind(ids)
    .bind(dataset)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqliteStore {
    /// A write transaction that takes the write lock up front (see [`super::WRITE`]).
    async fn write_transaction(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.writer.begin_with(super::WRITE).await?)
    }

    /// Applies `writes` in order in one transaction, checking first that
    /// `lease` (when given) still holds the directory's sync lease; fences
    /// each record (a full sync running meanwhile leaves it, even one the
    /// refresh found gone and Roster never stored).
    pub async fn write_identities(
        &self,
        directory_id: &str,
        writes: &[IdentityWrite<'_>],
        source: &str,
        lease: Option<&str>,
    ) -> Result<Vec<Written>, StoreError> {
        let at = timestamp(now());
        let mut tx = self.write_transaction().await?;
        if let Some(lease) = lease {
            super::leases::check_lease(&mut tx, directory_id, lease).await?;
        }
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let mut done = Vec::with_capacity(writes.len());
        for write in writes {
            done.push(match *write {
                IdentityWrite::UpsertUser(user) => {
                    upsert_user_in(&mut tx, directory_id, dataset, &at, user, source).await?
                }
                IdentityWrite::RemoveUser(id) => {
                    remove_user_in(&mut tx, directory_id, dataset, &at, id, source).await?
                }
                IdentityWrite::UpsertGroup(group) => {
                    upsert_group_in(&mut tx, directory_id, dataset, &at, group).await?
                }
                IdentityWrite::RemoveGroup(id) => {
                    remove_group_in(&mut tx, directory_id, dataset, &at, id).await?
                }
                IdentityWrite::Members(group, members) => members_written(
                    write_members_in(&mut tx, directory_id, dataset, group, members)
                        .await?
                        .as_ref(),
                ),
            });
            let (kind, id) = write.record();
            sqlx::query(
                "INSERT INTO refresh_fences (dataset, kind, okta_id, refreshed_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (dataset, kind, okta_id) DO UPDATE SET refreshed_at = excluded.refreshed_at",
            )
            .bind(dataset)
            .bind(kind)
            .bind(id)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        // A fence matters only to a sync running now; old ones go.
        sqlx::query(
            "DELETE FROM refresh_fences WHERE dataset = $1 AND julianday(refreshed_at) < julianday($2) - 2",
        )
        .bind(dataset)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Creates or replaces a present user. `source` names the writer in the
    /// user's history (`scim`, `api`, …).
    pub async fn upsert_user(
        &self,
        directory_id: &str,
        user: &StagedUser,
        source: &str,
    ) -> Result<Written, StoreError> {
        let at = timestamp(now());
        let mut tx = self.write_transaction().await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let written = upsert_user_in(&mut tx, directory_id, dataset, &at, user, source).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Removes a present user (deprovisioned or unassigned): kept in history,
    /// gone from every list and membership read.
    pub async fn remove_user(
        &self,
        directory_id: &str,
        okta_id: &str,
        source: &str,
    ) -> Result<Written, StoreError> {
        let at = timestamp(now());
        let mut tx = self.write_transaction().await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let written = remove_user_in(&mut tx, directory_id, dataset, &at, okta_id, source).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Creates or replaces a present group.
    pub async fn upsert_group(&self, directory_id: &str, group: &StagedGroup) -> Result<Written, StoreError> {
        let at = timestamp(now());
        let mut tx = self.write_transaction().await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let written = upsert_group_in(&mut tx, directory_id, dataset, &at, group).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Removes a present group; its members leave with it (as in a sync).
    pub async fn remove_group(&self, directory_id: &str, group_id: &str) -> Result<Written, StoreError> {
        let at = timestamp(now());
        let mut tx = self.write_transaction().await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let written = remove_group_in(&mut tx, directory_id, dataset, &at, group_id).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if matches!(written, Written::Unchanged | Written::Missing) {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Changes a present group's members. Only present users may be added
    /// (the caller checked); the group's Okta membership stamp is cleared so
    /// the next pull sync re-reads its members from Okta.
    /// `None` when the group is not present.
    pub async fn write_members(
        &self,
        directory_id: &str,
        group_id: &str,
        write: MemberWrite<'_>,
    ) -> Result<Option<MemberChange>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let written = write_members_in(&mut tx, directory_id, dataset, group_id, write).await?;
        // Nothing written: nothing to keep (not even a dataset made for it).
        if written.is_none() {
            return Ok(written);
        }
        tx.commit().await?;
        Ok(written)
    }
}

/// Runs the shared membership statements for one group's pairs.
async fn write_pairs(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    group_id: &str,
    added: &[String],
    removed: &[String],
) -> Result<(), StoreError> {
    let (removed_json, added_json) = (pairs_json(group_id, removed)?, pairs_json(group_id, added)?);
    for sql in membership_statements(&pairs_from("$1"), &pairs_from("$3")) {
        sqlx::query(&sql)
            .bind(&removed_json)
            .bind(dataset)
            .bind(&added_json)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn upsert_user_in(
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
    dataset: i64,
    at: &str,
    user: &StagedUser,
    source: &str,
) -> Result<Written, StoreError> {
    let at = at.to_owned();
    let before = stored_user(&mut *tx, dataset, &user.okta_id).await?;
    if let Some((_, hash, false)) = &before {
        if *hash == user.content_hash {
            return Ok(Written::Unchanged);
        }
    }
    let ids = [user.okta_id.as_str()];
    let snapshot = events::snapshot(&mut *tx, dataset, &ids, &[]).await?;
    let mut insert = QueryBuilder::<Sqlite>::new(format!(
        "INSERT INTO directory_users (dataset, {USER_COLUMNS}, first_seen_at, last_seen_at, updated_at, deleted_at) "
    ));
    insert.push_values([user], |mut row, u| {
        row.push_bind(dataset);
        push_user_fields(&mut row, u);
        row.push_bind(&at)
            .push_bind(&at)
            .push_bind(&at)
            .push_bind(None::<String>);
    });
    insert.push(" ");
    insert.push(USER_UPSERT);
    insert.build().execute(&mut **tx).await?;
    let outcome = match &before {
        None | Some((_, _, true)) => {
            record_event(
                &mut *tx,
                dataset,
                &user.okta_id,
                source,
                "added",
                &user.status,
                &at,
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
                    &at,
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
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
    dataset: i64,
    at: &str,
    okta_id: &str,
    source: &str,
) -> Result<Written, StoreError> {
    let at = at.to_owned();
    let Some((status, _, false)) = stored_user(&mut *tx, dataset, okta_id).await? else {
        return Ok(Written::Missing);
    };
    let ids = [okta_id];
    let snapshot = events::snapshot(&mut *tx, dataset, &ids, &[]).await?;
    record_event(&mut *tx, dataset, okta_id, source, "removed", &status, &at).await?;
    sqlx::query(
        "UPDATE directory_users SET deleted_at = $1, updated_at = $1, last_seen_at = $1, version = version + 1
         WHERE dataset = $2 AND okta_id = $3",
    )
    .bind(&at)
    .bind(dataset)
    .bind(okta_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM directory_user_group_counts WHERE dataset = $1 AND user_id = $2")
        .bind(dataset)
        .bind(okta_id)
        .execute(&mut **tx)
        .await?;
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &ids, &[]).await?;
    Ok(Written::Removed)
}

async fn upsert_group_in(
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
    dataset: i64,
    at: &str,
    group: &StagedGroup,
) -> Result<Written, StoreError> {
    let at = at.to_owned();
    let before: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT content_hash, deleted_at FROM directory_groups WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(&group.okta_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((hash, None)) = &before {
        if *hash == group.content_hash {
            return Ok(Written::Unchanged);
        }
    }
    let ids = [group.okta_id.as_str()];
    let snapshot = events::snapshot(&mut *tx, dataset, &[], &ids).await?;
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated, \
         okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at) ",
    );
    insert.push_values([group], |mut row, g| {
        row.push_bind(dataset);
        push_group_fields(&mut row, g);
        row.push_bind(&at)
            .push_bind(&at)
            .push_bind(&at)
            .push_bind(None::<String>);
    });
    insert.push(" ");
    insert.push(GROUP_UPSERT);
    insert.build().execute(&mut **tx).await?;
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &[], &ids).await?;
    Ok(match before {
        Some((_, None)) => Written::Updated,
        _ => Written::Created,
    })
}

async fn remove_group_in(
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
    dataset: i64,
    at: &str,
    group_id: &str,
) -> Result<Written, StoreError> {
    let at = at.to_owned();
    let present: Option<i64> = sqlx::query_scalar(
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
    .bind(&at)
    .bind(dataset)
    .bind(group_id)
    .execute(&mut **tx)
    .await?;
    events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &[], &ids).await?;
    Ok(Written::Removed)
}

async fn write_members_in(
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
    dataset: i64,
    group_id: &str,
    write: MemberWrite<'_>,
) -> Result<Option<MemberChange>, StoreError> {
    let present: Option<i64> = sqlx::query_scalar(
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
        .bind(timestamp(now()))
        .bind(dataset)
        .bind(group_id)
        .execute(&mut **tx)
        .await?;
        events::append_changes(&mut *tx, directory_id, dataset, &snapshot, &[], &ids).await?;
    }
    Ok(Some(MemberChange { added, removed }))
}
