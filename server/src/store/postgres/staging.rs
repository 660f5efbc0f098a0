//! A run's fetched data, staged page by page: each batch is one multi-row
//! `INSERT … SELECT FROM unnest(…)` per table (one round trip, arrays bound
//! whole) into unlogged staging tables.

use super::PgStore;
use crate::store::{StageBatch, StagedGroup, StagedMembers, StagedUser, StoreError};
use sqlx::PgConnection;
use std::collections::HashMap;

/// The directory's live dataset key, with the directory id bound as `$1`.
pub(super) const LIVE_DATASET: &str =
    "(SELECT key FROM directory_datasets WHERE directory_id = $1::uuid AND live)";

/// Users as column arrays, for `unnest`.
#[derive(Default)]
pub(super) struct UserColumns {
    pub okta_id: Vec<String>,
    pub login: Vec<String>,
    pub email: Vec<Option<String>>,
    pub first_name: Vec<Option<String>>,
    pub last_name: Vec<Option<String>>,
    pub display_name: Vec<String>,
    pub status: Vec<String>,
    pub suspended: Vec<bool>,
    pub profile: Vec<String>,
    pub okta_last_updated: Vec<Option<String>>,
    pub content_hash: Vec<String>,
}

impl UserColumns {
    pub fn of<'a>(users: impl IntoIterator<Item = &'a StagedUser>) -> Self {
        let mut c = Self::default();
        for u in users {
            c.okta_id.push(u.okta_id.clone());
            c.login.push(u.login.clone());
            c.email.push(u.email.clone());
            c.first_name.push(u.first_name.clone());
            c.last_name.push(u.last_name.clone());
            c.display_name.push(u.display_name.clone());
            c.status.push(u.status.clone());
            c.suspended.push(u.suspended);
            c.profile.push(u.profile_json.clone());
            c.okta_last_updated.push(u.okta_last_updated.clone());
            c.content_hash.push(u.content_hash.clone());
        }
        c
    }

    /// `SELECT … FROM unnest(…)` with the arrays bound from `$first` on,
    /// yielding the staged user columns under their names.
    pub fn select(first: usize) -> String {
        let p = |i: usize| format!("${}", first + i);
        format!(
            "SELECT okta_id, login, email, first_name, last_name, display_name, status, suspended,
                    profile::jsonb AS profile, okta_last_updated::timestamptz AS okta_last_updated, content_hash
             FROM unnest({}::text[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[],
                         {}::bool[], {}::text[], {}::text[], {}::text[])
                  AS t(okta_id, login, email, first_name, last_name, display_name, status, suspended, profile,
                       okta_last_updated, content_hash)",
            p(0), p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), p(9), p(10)
        )
    }

    pub fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.okta_id)
            .bind(self.login)
            .bind(self.email)
            .bind(self.first_name)
            .bind(self.last_name)
            .bind(self.display_name)
            .bind(self.status)
            .bind(self.suspended)
            .bind(self.profile)
            .bind(self.okta_last_updated)
            .bind(self.content_hash)
    }
}

/// Groups as column arrays, for `unnest`.
#[derive(Default)]
pub(super) struct GroupColumns {
    pub okta_id: Vec<String>,
    pub name: Vec<String>,
    pub description: Vec<Option<String>>,
    pub kind: Vec<String>,
    pub okta_last_updated: Vec<Option<String>>,
    pub okta_last_membership_updated: Vec<Option<String>>,
    pub content_hash: Vec<String>,
}

impl GroupColumns {
    pub fn of<'a>(groups: impl IntoIterator<Item = &'a StagedGroup>) -> Self {
        let mut c = Self::default();
        for g in groups {
            c.okta_id.push(g.okta_id.clone());
            c.name.push(g.name.clone());
            c.description.push(g.description.clone());
            c.kind.push(g.kind.clone());
            c.okta_last_updated.push(g.okta_last_updated.clone());
            c.okta_last_membership_updated
                .push(g.okta_last_membership_updated.clone());
            c.content_hash.push(g.content_hash.clone());
        }
        c
    }

    pub fn select(first: usize) -> String {
        let p = |i: usize| format!("${}", first + i);
        format!(
            "SELECT okta_id, name, description, kind, okta_last_updated::timestamptz AS okta_last_updated,
                    okta_last_membership_updated::timestamptz AS okta_last_membership_updated, content_hash
             FROM unnest({}::text[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[])
                  AS t(okta_id, name, description, kind, okta_last_updated, okta_last_membership_updated,
                       content_hash)",
            p(0),
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        )
    }

    pub fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.okta_id)
            .bind(self.name)
            .bind(self.description)
            .bind(self.kind)
            .bind(self.okta_last_updated)
            .bind(self.okta_last_membership_updated)
            .bind(self.content_hash)
    }
}

async fn stage_members(
    conn: &mut PgConnection,
    run_id: &str,
    members: &[StagedMembers],
) -> Result<(), StoreError> {
    // A group fetched twice (the list moved while it was read): the later wins.
    let mut latest: HashMap<&str, &StagedMembers> = HashMap::new();
    for m in members {
        latest.insert(m.group_id.as_str(), m);
    }
    let json = |ids: &[String]| serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()));
    let (mut groups, mut added, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    for m in latest.values() {
        groups.push(m.group_id.clone());
        added.push(json(&m.added)?);
        removed.push(json(&m.removed)?);
    }
    sqlx::query(
        "INSERT INTO sync_staging_memberships (run_id, group_id, added, removed)
         SELECT $1::uuid, g, a::jsonb, r::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) AS t(g, a, r)
         ON CONFLICT (run_id, group_id) DO UPDATE SET added = excluded.added, removed = excluded.removed",
    )
    .bind(run_id)
    .bind(groups)
    .bind(added)
    .bind(removed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl PgStore {
    pub async fn stage_batch(&self, run_id: &str, batch: &StageBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // Staging is unlogged and thrown away after a crash anyway.
        sqlx::query("SET LOCAL synchronous_commit TO off")
            .execute(&mut *tx)
            .await?;
        if !batch.users.is_empty() {
            // Okta may repeat a user across pages when the list changes mid-sync.
            let sql = format!(
                "INSERT INTO sync_staging_users (run_id, okta_id, login, email, first_name, last_name, display_name,
                     status, suspended, profile, okta_last_updated, content_hash)
                 SELECT $1::uuid, u.* FROM ({}) u
                 ON CONFLICT (run_id, okta_id) DO NOTHING",
                UserColumns::select(2)
            );
            UserColumns::of(&batch.users)
                .bind(sqlx::query(&sql).bind(run_id))
                .execute(&mut *tx)
                .await?;
        }
        if !batch.groups.is_empty() {
            let sql = format!(
                "INSERT INTO sync_staging_groups (run_id, okta_id, name, description, kind, okta_last_updated,
                     okta_last_membership_updated, content_hash)
                 SELECT $1::uuid, g.* FROM ({}) g
                 ON CONFLICT (run_id, okta_id) DO NOTHING",
                GroupColumns::select(2)
            );
            GroupColumns::of(&batch.groups)
                .bind(sqlx::query(&sql).bind(run_id))
                .execute(&mut *tx)
                .await?;
        }
        if !batch.members.is_empty() {
            stage_members(&mut tx, run_id, &batch.members).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn membership_stamps(
        &self,
        directory_id: &str,
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT okta_id, rfc3339(okta_last_membership_updated) FROM directory_groups
             WHERE dataset = {LIVE_DATASET} AND deleted_at IS NULL"
        ))
        .bind(directory_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

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

    pub async fn clear_staging(&self, run_id: &str) -> Result<(), StoreError> {
        if !super::is_uuid(run_id) {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM directory_datasets WHERE run_id = $1::uuid AND NOT live")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        for table in [
            "sync_staging_users",
            "sync_staging_groups",
            "sync_staging_memberships",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE run_id = $1::uuid"))
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn drop_unfinished_dataset(&self, run_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM directory_datasets WHERE run_id = $1::uuid AND NOT live")
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
