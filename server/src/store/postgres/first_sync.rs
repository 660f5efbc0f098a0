//! A directory's first sync, written in place into a dataset that is not
//! live yet (see SQLite's `first_sync`): users, their "added" history,
//! groups and members go straight in, batch by batch, as multi-row
//! `unnest` inserts; the commit makes the dataset live in one transaction.

use super::{
    apply::{finish_applied, live_dataset, lock_directory},
    runs::check_lease,
    staging::{GroupColumns, UserColumns},
    PgStore,
};
use crate::store::{DiffCounts, DiffSample, NewDataset, StageBatch, StagedMembers, StoreError};
use sqlx::{PgConnection, PgPool};
use std::collections::HashSet;

/// Writes a first sync's records as they are fetched.
pub struct PgFirstSyncWriter {
    pool: PgPool,
    dataset: NewDataset,
    /// Groups whose members were written: Okta may repeat a group across
    /// pages when the list changes while it is read.
    member_groups: HashSet<String>,
}

impl PgStore {
    pub async fn begin_first_sync(
        &self,
        directory_id: &str,
        run_id: &str,
        at: &str,
    ) -> Result<Option<NewDataset>, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_directory(&mut tx, directory_id).await?;
        if live_dataset(&mut tx, directory_id).await?.is_some() {
            return Ok(None);
        }
        let key: i64 = sqlx::query_scalar(
            "INSERT INTO directory_datasets (directory_id, run_id, live) VALUES ($1::uuid, $2::uuid, false) RETURNING key",
        )
        .bind(directory_id)
        .bind(run_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(NewDataset {
            key,
            run_id: run_id.to_owned(),
            at: at.to_owned(),
        }))
    }

    pub(in crate::store) async fn first_sync_writer(
        &self,
        dataset: NewDataset,
    ) -> Result<PgFirstSyncWriter, StoreError> {
        Ok(PgFirstSyncWriter {
            pool: self.pool.clone(),
            dataset,
            member_groups: HashSet::new(),
        })
    }

    pub async fn first_sync_diff(&self, dataset: i64) -> Result<(DiffCounts, DiffSample), StoreError> {
        let count = |sql: &'static str| async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(dataset)
                .fetch_one(&self.pool)
                .await
        };
        let sample = |sql: &'static str| async move {
            sqlx::query_scalar::<_, String>(sql)
                .bind(dataset)
                .fetch_all(&self.pool)
                .await
        };
        let diff = DiffCounts {
            users_added: count("SELECT COUNT(*) FROM directory_users WHERE dataset = $1").await?,
            groups_added: count("SELECT COUNT(*) FROM directory_groups WHERE dataset = $1").await?,
            memberships_added: count("SELECT COUNT(*) FROM directory_memberships WHERE dataset = $1").await?,
            ..DiffCounts::default()
        };
        let sample = DiffSample {
            users_added: sample(
                "SELECT login FROM directory_users WHERE dataset = $1 AND deleted_at IS NULL ORDER BY login LIMIT 20",
            )
            .await?,
            groups_added: sample(
                "SELECT name FROM directory_groups WHERE dataset = $1 AND deleted_at IS NULL ORDER BY name LIMIT 20",
            )
            .await?,
            ..DiffSample::default()
        };
        Ok((diff, sample))
    }

    /// Makes the dataset live and marks the run succeeded, in one
    /// transaction, if the run still holds its lease.
    pub async fn commit_first_sync(
        &self,
        directory_id: &str,
        dataset: &NewDataset,
        lease: &str,
    ) -> Result<(), StoreError> {
        let run_id = dataset.run_id.as_str();
        let at = crate::store::parse_timestamp(&dataset.at)?;
        let mut tx = self.pool.begin().await?;
        check_lease(&mut tx, directory_id, lease).await?;
        lock_directory(&mut tx, directory_id).await?;
        // Memberships by user, in that table's key order (a sorted load
        // appends to the index instead of splitting pages all over it).
        sqlx::query(
            "INSERT INTO directory_user_groups (dataset, user_id, group_id)
             SELECT dataset, user_id, group_id FROM directory_memberships WHERE dataset = $1
             ORDER BY user_id, group_id",
        )
        .bind(dataset.key)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
             SELECT u.dataset, u.okta_id, coalesce(c.n, 0)
             FROM directory_users u
             LEFT JOIN (SELECT user_id, COUNT(*) AS n FROM directory_memberships WHERE dataset = $1 GROUP BY user_id) c
                    ON c.user_id = u.okta_id
             WHERE u.dataset = $1",
        )
        .bind(dataset.key)
        .execute(&mut *tx)
        .await?;
        let made_live = sqlx::query(
            "UPDATE directory_datasets SET live = true, run_id = NULL
             WHERE key = $1 AND directory_id = $2::uuid AND run_id = $3::uuid AND NOT live",
        )
        .bind(dataset.key)
        .bind(directory_id)
        .bind(run_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if made_live != 1 {
            return Err(StoreError::Corrupt(format!(
                "the dataset of run {run_id} was dropped before it could go live"
            )));
        }
        finish_applied(&mut tx, run_id, directory_id, at).await?;
        tx.commit().await?;
        self.analyze_in_background(&[
            "directory_users",
            "directory_groups",
            "directory_memberships",
            "directory_user_groups",
            "directory_user_group_counts",
        ]);
        Ok(())
    }

    /// Fresh statistics and visibility for tables a bulk load just filled,
    /// so the next reads are planned and run well at once instead of after
    /// autovacuum's turn.
    /// In the background: the run is done; a failure only costs speed.
    pub(super) fn analyze_in_background(&self, tables: &[&str]) {
        let pool = self.pool.clone();
        // VACUUM also sets the visibility map, so counts and index-only scans
        // skip the heap.
        let statement = format!("VACUUM (ANALYZE) {}", tables.join(", "));
        tokio::spawn(async move {
            if let Err(e) = sqlx::query(&statement).execute(&pool).await {
                tracing::debug!(error = %e, "VACUUM after a bulk load failed");
            }
        });
    }
}

impl PgFirstSyncWriter {
    /// Writes one batch of fetched records, in one transaction.
    pub async fn write(&mut self, batch: &StageBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // Nothing here is live until the commit of the whole first sync,
        // and a crash drops the unfinished dataset: no need to wait for each
        // batch's WAL flush.
        sqlx::query("SET LOCAL synchronous_commit TO off")
            .execute(&mut *tx)
            .await?;
        if !batch.users.is_empty() {
            // A user listed twice keeps the first listing; only users
            // actually written get their "added" entry.
            let sql = format!(
                "WITH written AS (
                     INSERT INTO directory_users (dataset, okta_id, login, email, first_name, last_name, display_name,
                         status, suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at,
                         updated_at)
                     SELECT $1, u.*, $2::timestamptz, $2::timestamptz, $2::timestamptz FROM ({}) u
                     ON CONFLICT (dataset, okta_id) DO NOTHING
                     RETURNING okta_id, status)
                 INSERT INTO directory_user_events (dataset, okta_id, run_id, event, status, at)
                 SELECT $1, okta_id, $3, 'added', status, $2::timestamptz FROM written",
                UserColumns::select(4)
            );
            UserColumns::of(&batch.users)
                .bind(
                    sqlx::query(&sql)
                        .bind(self.dataset.key)
                        .bind(&self.dataset.at)
                        .bind(&self.dataset.run_id),
                )
                .execute(&mut *tx)
                .await?;
        }
        if !batch.groups.is_empty() {
            let sql = format!(
                "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated,
                     okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at)
                 SELECT $1, g.*, $2::timestamptz, $2::timestamptz, $2::timestamptz FROM ({}) g
                 ON CONFLICT (dataset, okta_id) DO NOTHING",
                GroupColumns::select(3)
            );
            GroupColumns::of(&batch.groups)
                .bind(sqlx::query(&sql).bind(self.dataset.key).bind(&self.dataset.at))
                .execute(&mut *tx)
                .await?;
        }
        insert_members(&mut tx, self.dataset.key, &batch.members, &mut self.member_groups).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Users went in with each batch; nothing waits.
    pub async fn move_users(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

async fn insert_members(
    conn: &mut PgConnection,
    dataset: i64,
    members: &[StagedMembers],
    member_groups: &mut HashSet<String>,
) -> Result<(), StoreError> {
    let mut refetched = Vec::new();
    for group in members {
        if !member_groups.insert(group.group_id.clone()) {
            refetched.push(group.group_id.clone());
        }
    }
    if !refetched.is_empty() {
        // Fetched twice: the later member list replaces the earlier one.
        sqlx::query("DELETE FROM directory_memberships WHERE dataset = $1 AND group_id = ANY($2)")
            .bind(dataset)
            .bind(&refetched)
            .execute(&mut *conn)
            .await?;
    }
    // In the key's order: the index takes each batch as a run of appends.
    let mut pairs: Vec<(&str, &str)> = members
        .iter()
        .flat_map(|m| m.added.iter().map(|user| (m.group_id.as_str(), user.as_str())))
        .collect();
    pairs.sort_unstable();
    let (groups, users): (Vec<&str>, Vec<&str>) = pairs.into_iter().unzip();
    if groups.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO directory_memberships (dataset, group_id, user_id)
         SELECT $1, g, u FROM unnest($2::text[], $3::text[]) AS t(g, u)
         ON CONFLICT DO NOTHING",
    )
    .bind(dataset)
    .bind(groups)
    .bind(users)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
