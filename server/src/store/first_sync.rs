//! A directory's first sync, written in place: its records go straight into
//! the live tables under a dataset that is not live yet, and the apply makes
//! that dataset live in one small transaction. Nobody reads a dataset that is
//! not live, and a run that fails drops it, so nothing is half-applied; but
//! the half million rows of a large org are written once, while the fetch is
//! still waiting on Okta, instead of staged and then copied.

use super::{
    apply::{live_dataset, DiffCounts, DiffSample},
    staging::{push_group_fields, push_user_fields, ROWS_PER_INSERT, USER_COLUMNS},
    SqliteStore, StageBatch, StagedMembers, StagedUser, StoreError, WRITE,
};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection, Transaction};
use std::collections::HashSet;

/// The dataset a first sync builds, and the timestamp its records carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDataset {
    pub key: i64,
    pub run_id: String,
    pub at: String,
}

/// Writes a first sync's records as they are fetched, on a connection of its
/// own: users wait in a temporary table on that connection (a file SQLite
/// deletes with it, never part of the database or its write-ahead log) and
/// go into the dataset in one pass once all are fetched; groups and members
/// go straight into the dataset. Dropping the writer drops what it staged.
pub struct SqliteFirstSyncWriter {
    conn: SqliteConnection,
    dataset: NewDataset,
    /// Groups whose members were written: Okta may repeat a group across
    /// pages when the list changes while it is read.
    member_groups: HashSet<String>,
    /// The next membership's event item (see `event_blocks`).
    member_seq: i64,
}

impl SqliteStore {
    /// A new dataset for `run_id` to build, when the directory has no live one
    /// (its first sync); `None` when the run must stage and diff instead.
    pub async fn begin_first_sync(
        &self,
        directory_id: &str,
        run_id: &str,
        at: &str,
    ) -> Result<Option<NewDataset>, StoreError> {
        let mut tx = self.writer.begin_with(WRITE).await?;
        if live_dataset(&mut *tx, directory_id).await?.is_some() {
            return Ok(None);
        }
        let key: i64 = sqlx::query_scalar(
            "INSERT INTO directory_datasets (directory_id, run_id, live) VALUES ($1, $2, 0) RETURNING key",
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

    /// The writer of the dataset a first sync builds.
    pub async fn first_sync_writer(&self, dataset: NewDataset) -> Result<SqliteFirstSyncWriter, StoreError> {
        // Detached: the connection closes (and its temporary table goes) when
        // the writer is dropped, instead of returning to the pool.
        let mut conn = self.pool.acquire().await?.detach();
        // On disk, not in memory: a large org's users are tens of megabytes.
        sqlx::query("PRAGMA temp_store = FILE").execute(&mut conn).await?;
        sqlx::query(
            "CREATE TEMP TABLE first_sync_users (
                 okta_id TEXT PRIMARY KEY NOT NULL, login TEXT NOT NULL, email TEXT, first_name TEXT,
                 last_name TEXT, display_name TEXT NOT NULL, status TEXT NOT NULL, suspended INTEGER NOT NULL,
                 profile TEXT NOT NULL, okta_last_updated TEXT, content_hash TEXT NOT NULL)",
        )
        .execute(&mut conn)
        .await?;
        Ok(SqliteFirstSyncWriter {
            conn,
            dataset,
            member_groups: HashSet::new(),
            member_seq: 0,
        })
    }

    /// What the first sync would import: everything in the dataset is new.
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

    /// Makes the dataset live and marks the run succeeded, in one transaction.
    pub async fn commit_first_sync(
        &self,
        directory_id: &str,
        dataset: &NewDataset,
        lease: &str,
    ) -> Result<(), StoreError> {
        let run_id = dataset.run_id.as_str();
        let at = super::timestamp(super::now());
        let mut tx = self.writer.begin_with(WRITE).await?;
        super::leases::check_lease(&mut tx, directory_id, lease).await?;
        // Memberships by user, in that table's key order: written during the
        // fetch they would land all over it, once per batch.
        sqlx::query(
            "INSERT INTO directory_user_groups (dataset, user_id, group_id)
             SELECT dataset, user_id, group_id FROM directory_memberships WHERE dataset = $1
             ORDER BY user_id, group_id",
        )
        .bind(dataset.key)
        .execute(&mut *tx)
        .await?;
        // Users were written before their groups were known.
        sqlx::query(
            "INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
             SELECT u.dataset, u.okta_id,
                 (SELECT COUNT(*) FROM directory_user_groups m WHERE m.dataset = u.dataset AND m.user_id = u.okta_id)
             FROM directory_users u WHERE u.dataset = $1 ORDER BY u.okta_id",
        )
        .bind(dataset.key)
        .execute(&mut *tx)
        .await?;
        // Fails on the unique live index if the directory got a live dataset
        // meanwhile, which one run per directory rules out.
        let made_live = sqlx::query(
            "UPDATE directory_datasets SET live = 1, run_id = NULL
             WHERE key = $1 AND directory_id = $2 AND run_id = $3 AND live = 0",
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
        super::event_blocks::append_first_sync_block(&mut tx, directory_id, dataset.key, &at).await?;
        finish_applied(&mut tx, run_id, directory_id, &at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops what a run built and did not make live (cascading to its records).
    pub(crate) async fn drop_unfinished_dataset(&self, run_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM directory_datasets WHERE run_id = $1 AND live = 0")
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl SqliteFirstSyncWriter {
    /// Writes one batch of fetched records, in one transaction.
    pub async fn write(&mut self, batch: &StageBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.conn.begin_with(WRITE).await?;
        // Users go into the dataset in one pass once all are fetched: written
        // batch by batch they would rewrite every page of the users indexes
        // with each commit.
        stage_users(&mut tx, &batch.users).await?;
        insert_groups(&mut tx, &self.dataset, batch).await?;
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

    /// Moves the staged users into the dataset, in key order and with their
    /// "added" history entry, in one transaction. Group counts come at commit.
    pub async fn move_users(&mut self) -> Result<(), StoreError> {
        let mut tx = self.conn.begin_with(WRITE).await?;
        sqlx::query(&format!(
            "INSERT INTO directory_users (dataset, {USER_COLUMNS}, first_seen_at, last_seen_at, updated_at)
             SELECT $1, {USER_COLUMNS}, $2, $2, $2 FROM temp.first_sync_users ORDER BY okta_id"
        ))
        .bind(self.dataset.key)
        .bind(&self.dataset.at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO directory_user_events (dataset, okta_id, run_id, event, status, at)
             SELECT $1, okta_id, $2, 'added', status, $3 FROM temp.first_sync_users ORDER BY okta_id",
        )
        .bind(self.dataset.key)
        .bind(&self.dataset.run_id)
        .bind(&self.dataset.at)
        .execute(&mut *tx)
        .await?;
        // Their `user.created` events, in the block the commit reserves, in
        // the order Okta listed them (as on PostgreSQL).
        sqlx::query(
            "INSERT INTO event_block_items (dataset, kind, ordinal, entity_id)
             SELECT $1, 1, row_number() OVER (ORDER BY rowid) - 1, okta_id
             FROM temp.first_sync_users ORDER BY rowid",
        )
        .bind(self.dataset.key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        sqlx::query("DELETE FROM temp.first_sync_users")
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }
}

async fn stage_users(conn: &mut SqliteConnection, users: &[StagedUser]) -> Result<(), StoreError> {
    for chunk in users.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::new(format!("INSERT INTO temp.first_sync_users ({USER_COLUMNS}) "));
        insert.push_values(chunk, |mut row, u| push_user_fields(&mut row, u));
        // A user listed twice keeps the first listing, as staging does.
        insert.push(" ON CONFLICT (okta_id) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The run succeeded and the directory was synced at `at`.
pub(crate) async fn finish_applied(
    tx: &mut Transaction<'_, Sqlite>,
    run_id: &str,
    directory_id: &str,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sync_runs SET status = $3, phase = 'done', finished_at = $1 WHERE id = $2")
        .bind(at)
        .bind(run_id)
        .bind(crate::model::RunStatus::Succeeded)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE directories SET last_success_at = $1, failing_since = NULL WHERE id = $2")
        .bind(at)
        .bind(directory_id)
        .execute(&mut **tx)
        .await?;
    super::events::append_run_event(tx, crate::model::EventType::SyncSucceeded, run_id).await
}

async fn insert_groups(
    conn: &mut SqliteConnection,
    dataset: &NewDataset,
    batch: &StageBatch,
) -> Result<(), StoreError> {
    for chunk in batch.groups.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated, \
             okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at) ",
        );
        insert.push_values(chunk, |mut row, g| {
            row.push_bind(dataset.key);
            push_group_fields(&mut row, g);
            row.push_bind(&dataset.at)
                .push_bind(&dataset.at)
                .push_bind(&dataset.at);
        });
        // A group listed twice keeps its first listing, as staging does.
        insert.push(" ON CONFLICT (dataset, okta_id) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Members by group, sorted into the table's key order (by user comes at
/// commit), with their `group.member_added` event items.
async fn insert_members(
    conn: &mut SqliteConnection,
    dataset: i64,
    members: &[StagedMembers],
    member_groups: &mut HashSet<String>,
    member_seq: &mut i64,
) -> Result<(), StoreError> {
    for group in members {
        // Fetched twice (the group list moved while it was read): the later
        // member list replaces the earlier one, and its events too.
        if !member_groups.insert(group.group_id.clone()) {
            sqlx::query("DELETE FROM directory_memberships WHERE dataset = $1 AND group_id = $2")
                .bind(dataset)
                .bind(&group.group_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "DELETE FROM event_block_items WHERE dataset = $1 AND kind = 2
                 AND entity_id >= $2 || ':' AND entity_id < $2 || ';'",
            )
            .bind(dataset)
            .bind(&group.group_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    let mut pairs: Vec<(&str, &str)> = members
        .iter()
        .flat_map(|m| m.added.iter().map(|user| (m.group_id.as_str(), user.as_str())))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    for chunk in pairs.chunks(ROWS_PER_INSERT * 4) {
        let mut insert =
            QueryBuilder::new("INSERT INTO event_block_items (dataset, kind, ordinal, entity_id) ");
        insert.push_values(chunk, |mut row, (group, user)| {
            row.push_bind(dataset)
                .push("2")
                .push_bind(*member_seq)
                .push_bind(format!("{group}:{user}"));
            *member_seq += 1;
        });
        insert.build().execute(&mut *conn).await?;
    }
    for chunk in pairs.chunks(ROWS_PER_INSERT * 4) {
        let mut insert = QueryBuilder::new("INSERT INTO directory_memberships (dataset, group_id, user_id) ");
        insert.push_values(chunk, |mut row, (a, b)| {
            row.push_bind(dataset).push_bind(*a).push_bind(*b);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}
