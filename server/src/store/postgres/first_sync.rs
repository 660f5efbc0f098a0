//! A directory's first sync, written in place into a dataset that is not
//! live yet (see SQLite's `first_sync`): users, their "added" history and
//! groups go straight in, batch by batch, as multi-row `unnest` inserts, and
//! members through `COPY`. Records Okta lists twice are dropped here, in
//! memory, so the inserts need no `ON CONFLICT` (a speculative insertion per
//! row). The commit builds the by-user tables on several connections at once,
//! then makes the dataset live in one transaction.

use super::{
    apply::{finish_applied, live_dataset, lock_directory},
    runs::check_lease,
    staging::{GroupColumns, UserColumns},
    PgStore,
};
use crate::store::{DiffCounts, DiffSample, NewDataset, StageBatch, StagedMembers, StoreError};
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};

/// Writes a first sync's records as they are fetched.
pub struct PgFirstSyncWriter {
    pool: PgPool,
    dataset: NewDataset,
    /// Users and groups written, and groups whose members were: Okta may
    /// repeat a record across pages when the list changes while it is read.
    users: HashSet<String>,
    groups: HashSet<String>,
    member_groups: HashSet<String>,
    /// The next user's and membership's event item (see `event_blocks`).
    user_seq: i64,
    member_seq: i64,
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
            users: HashSet::new(),
            groups: HashSet::new(),
            member_groups: HashSet::new(),
            user_seq: 0,
            member_seq: 0,
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
        self.build_by_user_tables(dataset.key).await?;
        let mut tx = self.pool.begin().await?;
        check_lease(&mut tx, directory_id, lease).await?;
        lock_directory(&mut tx, directory_id).await?;
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
        // The records' events: one block, after every committed event.
        super::events::append_first_sync_block(&mut tx, directory_id, dataset.key, at).await?;
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

    /// Memberships by user, each user's group count and each group's member
    /// count, derived from the loaded members, on four connections at once
    /// (the two halves of the users, and the counts): the dataset is not live, so they need not be
    /// in the commit's transaction, and a failed run drops them with it.
    async fn build_by_user_tables(&self, dataset: i64) -> Result<(), StoreError> {
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM directory_users WHERE dataset = $1")
            .bind(dataset)
            .fetch_one(&self.pool)
            .await?;
        let middle: Option<String> = sqlx::query_scalar(
            "SELECT okta_id FROM directory_users WHERE dataset = $1 ORDER BY okta_id OFFSET $2 LIMIT 1",
        )
        .bind(dataset)
        .bind(users / 2)
        .fetch_optional(&self.pool)
        .await?;
        let middle = middle.unwrap_or_default();
        // In that table's key order: a sorted load appends to the index
        // instead of splitting pages all over it.
        let user_groups = |range: &'static str| {
            let pool = self.pool.clone();
            let middle = middle.clone();
            async move {
                let mut tx = begin_dataset_write(&pool, dataset).await?;
                sqlx::query(&format!(
                    "INSERT INTO directory_user_groups (dataset, user_id, group_id)
                     SELECT dataset, user_id, group_id FROM directory_memberships
                     WHERE dataset = $1 AND user_id {range} $2
                     ORDER BY user_id, group_id"
                ))
                .bind(dataset)
                .bind(&middle)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
        };
        let counts = async {
            let mut tx = begin_dataset_write(&self.pool, dataset).await?;
            sqlx::query(
                "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
                 SELECT u.dataset, u.okta_id, coalesce(c.n, 0)
                 FROM directory_users u
                 LEFT JOIN (SELECT user_id, COUNT(*) AS n FROM directory_memberships WHERE dataset = $1 GROUP BY user_id) c
                        ON c.user_id = u.okta_id
                 WHERE u.dataset = $1
                 ORDER BY u.okta_id",
            )
            .bind(dataset)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        };
        // In a first sync every user loaded is present.
        let member_counts = async {
            let mut tx = begin_dataset_write(&self.pool, dataset).await?;
            sqlx::query(
                "UPDATE directory_groups g SET member_count = c.n
                 FROM (SELECT m.group_id, COUNT(*) AS n FROM directory_memberships m
                       JOIN directory_users u ON u.dataset = m.dataset AND u.okta_id = m.user_id
                       WHERE m.dataset = $1 GROUP BY m.group_id) c
                 WHERE g.dataset = $1 AND g.okta_id = c.group_id",
            )
            .bind(dataset)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        };
        tokio::try_join!(user_groups("<"), user_groups(">="), counts, member_counts)?;
        Ok(())
    }

    /// Fresh statistics and visibility for tables a bulk load just filled,
    /// so the next reads are planned and run well at once instead of after
    /// autovacuum's turn.
    /// In the background: the run is done; a failure only costs speed.
    pub(super) fn analyze_in_background(&self, tables: &[&str]) {
        let pool = self.pool.clone();
        let names: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        let list = tables.join(", ");
        tokio::spawn(async move {
            // VACUUM also sets the visibility map, so counts and index-only
            // scans skip the heap; but it cannot mark pages all-visible while
            // a transaction older than their rows runs (autovacuum's own
            // ANALYZE of the freshly loaded tables, a renewal that waited on
            // the commit). So: check, and go again a little later.
            let mut statement = format!("VACUUM (ANALYZE) {list}");
            for _ in 0..5 {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                if let Err(e) = sqlx::query(&statement).execute(&pool).await {
                    tracing::debug!(error = %e, "VACUUM after a bulk load failed");
                    return;
                }
                let visible: Option<bool> = sqlx::query_scalar(
                    "SELECT bool_and(relallvisible >= relpages * 0.95) FROM pg_class
                     WHERE relname = ANY($1) AND relnamespace = current_schema()::regnamespace",
                )
                .bind(&names)
                .fetch_one(&pool)
                .await
                .unwrap_or(Some(true));
                if visible != Some(false) {
                    return;
                }
                statement = format!("VACUUM {list}");
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
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
        let mut tx = begin_dataset_write(&self.pool, self.dataset.key).await?;
        // A user listed twice keeps the first listing.
        let users: Vec<_> = batch
            .users
            .iter()
            .filter(|u| self.users.insert(u.okta_id.clone()))
            .collect();
        if !users.is_empty() {
            let sql = format!(
                "WITH written AS (
                     INSERT INTO directory_users (dataset, okta_id, login, email, first_name, last_name, display_name,
                         status, suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at,
                         updated_at)
                     SELECT $1, u.*, $2::timestamptz, $2::timestamptz, $2::timestamptz FROM ({}) u
                     RETURNING okta_id, status),
                 history AS (
                     INSERT INTO directory_user_events (dataset, okta_id, run_id, event, status, at)
                     SELECT $1, okta_id, $3, 'added', status, $2::timestamptz FROM written)
                 INSERT INTO event_block_items (dataset, kind, ordinal, entity_id)
                 SELECT $1, 1, $4 + row_number() OVER () - 1, okta_id FROM written",
                UserColumns::select(5)
            );
            let count = users.len() as i64;
            UserColumns::of(users)
                .bind(
                    sqlx::query(&sql)
                        .bind(self.dataset.key)
                        .bind(&self.dataset.at)
                        .bind(&self.dataset.run_id)
                        .bind(self.user_seq),
                )
                .execute(&mut *tx)
                .await?;
            self.user_seq += count;
        }
        let groups: Vec<_> = batch
            .groups
            .iter()
            .filter(|g| self.groups.insert(g.okta_id.clone()))
            .collect();
        if !groups.is_empty() {
            let sql = format!(
                "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated,
                     okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at)
                 SELECT $1, g.*, $2::timestamptz, $2::timestamptz, $2::timestamptz FROM ({}) g",
                GroupColumns::select(3)
            );
            GroupColumns::of(groups)
                .bind(sqlx::query(&sql).bind(self.dataset.key).bind(&self.dataset.at))
                .execute(&mut *tx)
                .await?;
        }
        insert_members(
            &mut tx,
            self.dataset.key,
            &batch.members,
            &mut self.member_groups,
            &mut self.member_seq,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Users went in with each batch; nothing waits.
    pub async fn move_users(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A write transaction into a dataset that is not live: the dataset's row
/// held (`FOR KEY SHARE`) so it cannot be dropped until this commits, which
/// is what a foreign key did row by row (see the migration
/// `dataset_rows`); a dataset already dropped stops the run.
pub(super) async fn begin_dataset_write(
    pool: &PgPool,
    dataset: i64,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    let mut tx = pool.begin().await?;
    // Nothing here is live until the commit of the whole first sync, and a
    // crash drops the unfinished dataset: no need to wait for a WAL flush.
    sqlx::query("SET LOCAL synchronous_commit TO off")
        .execute(&mut *tx)
        .await?;
    let held: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM directory_datasets WHERE key = $1 FOR KEY SHARE")
            .bind(dataset)
            .fetch_optional(&mut *tx)
            .await?;
    if held.is_none() {
        return Err(StoreError::LeaseLost);
    }
    Ok(tx)
}

/// One batch's members and their `group.member_added` event items through
/// `COPY`: of a group listed more than once (within the batch or across
/// batches), the last listing wins.
async fn insert_members(
    conn: &mut PgConnection,
    dataset: i64,
    members: &[StagedMembers],
    member_groups: &mut HashSet<String>,
    member_seq: &mut i64,
) -> Result<(), StoreError> {
    let last: HashMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.group_id.as_str(), i))
        .collect();
    let mut refetched = Vec::new();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (i, group) in members.iter().enumerate() {
        if last.get(group.group_id.as_str()) != Some(&i) {
            continue;
        }
        if !member_groups.insert(group.group_id.clone()) {
            refetched.push(group.group_id.as_str());
        }
        // Within one listing a member appears once (`member_changes`).
        pairs.extend(
            group
                .added
                .iter()
                .map(|user| (group.group_id.as_str(), user.as_str())),
        );
    }
    if !refetched.is_empty() {
        sqlx::query("DELETE FROM directory_memberships WHERE dataset = $1 AND group_id = ANY($2)")
            .bind(dataset)
            .bind(&refetched)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "DELETE FROM event_block_items WHERE dataset = $1 AND kind = 2 AND split_part(entity_id, ':', 1) = ANY($2)",
        )
        .bind(dataset)
        .bind(&refetched)
        .execute(&mut *conn)
        .await?;
    }
    if pairs.is_empty() {
        return Ok(());
    }
    // In the key's order: the index takes each batch as a run of appends.
    pairs.sort_unstable();
    pairs.dedup();
    let key = dataset.to_string();
    let mut csv = Vec::with_capacity(pairs.len() * 56);
    let mut items = Vec::with_capacity(pairs.len() * 64);
    for (group, user) in pairs {
        csv.extend_from_slice(key.as_bytes());
        csv.push(b',');
        push_csv_field(&mut csv, group);
        csv.push(b',');
        push_csv_field(&mut csv, user);
        csv.push(b'\n');
        items.extend_from_slice(format!("{key},2,{},", *member_seq).as_bytes());
        push_csv_field(&mut items, &format!("{group}:{user}"));
        items.push(b'\n');
        *member_seq += 1;
    }
    for (table, rows) in [
        ("directory_memberships (dataset, group_id, user_id)", csv),
        ("event_block_items (dataset, kind, ordinal, entity_id)", items),
    ] {
        let mut copy = conn
            .copy_in_raw(&format!("COPY {table} FROM STDIN (FORMAT csv)"))
            .await?;
        copy.send(rows).await?;
        copy.finish().await?;
    }
    Ok(())
}

/// A CSV field, always quoted (a quote inside doubled), so any text is taken
/// as it is and never as NULL.
fn push_csv_field(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    for byte in value.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    out.push(b'"');
}
