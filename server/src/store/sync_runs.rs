use super::{now, timestamp, SqliteStore, StoreError};
use crate::model::{RunMode, RunStatus, Trigger};

/// One sync run as recorded.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    pub id: String,
    pub directory_id: String,
    pub trigger: Trigger,
    pub mode: RunMode,
    pub status: RunStatus,
    pub phase: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub api_calls: i64,
    pub pages: i64,
    pub rate_limited: i64,
    pub paced_waits: i64,
    pub waited_ms: i64,
    pub retries: i64,
    pub users_fetched: i64,
    pub groups_fetched: i64,
    pub groups_skipped: i64,
    pub users_added: i64,
    pub users_updated: i64,
    pub users_removed: i64,
    pub groups_added: i64,
    pub groups_updated: i64,
    pub groups_removed: i64,
    pub memberships_added: i64,
    pub memberships_removed: i64,
    pub diff_sample: Option<String>,
    pub error_code: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub error_hint: Option<String>,
}

/// Counters written while and after a run fetches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounters {
    pub api_calls: i64,
    pub pages: i64,
    pub rate_limited: i64,
    pub paced_waits: i64,
    pub waited_ms: i64,
    pub retries: i64,
    pub users_fetched: i64,
    pub groups_fetched: i64,
    pub groups_skipped: i64,
}

/// Why a run failed, classified for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure<'a> {
    pub code: &'a str,
    pub class: &'a str,
    pub message: &'a str,
    pub hint: &'a str,
}

impl RunFailure<'static> {
    /// The process running the sync stopped (a restart, a crash, a killed replica).
    pub const INTERRUPTED: Self = Self {
        code: "interrupted",
        class: "transient",
        message:
            "The sync was interrupted: the Roster process running it stopped; nothing from it was applied.",
        hint: "Roster syncs again on the next schedule, or use Sync Now.",
    };
}

const COLUMNS: &str = "id, directory_id, trigger, mode, status, phase, started_at, finished_at, api_calls, pages, rate_limited, \
    paced_waits, waited_ms, retries, users_fetched, groups_fetched, groups_skipped, users_added, users_updated, \
    users_removed, groups_added, groups_updated, groups_removed, memberships_added, memberships_removed, diff_sample, \
    error_code, error_class, error_message, error_hint";

impl SqliteStore {
    pub async fn start_run(&self, directory_id: &str, trigger: Trigger) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO sync_runs (id, directory_id, trigger, status, phase, started_at)
             VALUES ($1, $2, $3, $5, 'starting', $4)",
        )
        .bind(&id)
        .bind(directory_id)
        .bind(trigger)
        .bind(timestamp(now()))
        .bind(RunStatus::Running)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn update_run_progress(
        &self,
        run_id: &str,
        phase: &str,
        c: &RunCounters,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_runs SET phase = $1, api_calls = $2, pages = $3, rate_limited = $4, paced_waits = $5,
                 waited_ms = $6, retries = $7, users_fetched = $8, groups_fetched = $9, groups_skipped = $10
             WHERE id = $11",
        )
        .bind(phase)
        .bind(c.api_calls)
        .bind(c.pages)
        .bind(c.rate_limited)
        .bind(c.paced_waits)
        .bind(c.waited_ms)
        .bind(c.retries)
        .bind(c.users_fetched)
        .bind(c.groups_fetched)
        .bind(c.groups_skipped)
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Live progress of a running run, for the other processes: only the
    /// fields the run shows while it goes (the final counters come at its end).
    pub async fn publish_progress(
        &self,
        run_id: &str,
        phase: &str,
        c: &RunCounters,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_runs SET phase = $1, pages = $2, users_fetched = $3, groups_fetched = $4, groups_skipped = $5
             WHERE id = $6 AND status = $7",
        )
        .bind(phase)
        .bind(c.pages)
        .bind(c.users_fetched)
        .bind(c.groups_fetched)
        .bind(c.groups_skipped)
        .bind(run_id)
        .bind(RunStatus::Running)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn record_run_diff(
        &self,
        run_id: &str,
        diff: &super::DiffCounts,
        sample: &super::DiffSample,
    ) -> Result<(), StoreError> {
        let sample = serde_json::to_string(sample).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE sync_runs SET users_added = $1, users_updated = $2, users_removed = $3, groups_added = $4,
                 groups_updated = $5, groups_removed = $6, memberships_added = $7, memberships_removed = $8,
                 diff_sample = $9
             WHERE id = $10",
        )
        .bind(diff.users_added)
        .bind(diff.users_updated)
        .bind(diff.users_removed)
        .bind(diff.groups_added)
        .bind(diff.groups_updated)
        .bind(diff.groups_removed)
        .bind(diff.memberships_added)
        .bind(diff.memberships_removed)
        .bind(sample)
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks how the run reads Okta (a scheduled sync starts incremental
    /// and turns full when the System Log cannot be trusted).
    pub async fn set_run_mode(&self, run_id: &str, mode: RunMode) -> Result<(), StoreError> {
        sqlx::query("UPDATE sync_runs SET mode = $1 WHERE id = $2")
            .bind(mode)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends an incremental run that applied its refresh: its counts, the
    /// directory healthy again, and `sync.succeeded`, in one transaction.
    pub async fn finish_incremental_run(
        &self,
        run_id: &str,
        directory_id: &str,
        diff: &super::DiffCounts,
    ) -> Result<(), StoreError> {
        let at = timestamp(now());
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        sqlx::query(
            "UPDATE sync_runs SET status = $1, phase = 'done', finished_at = $2, users_added = $3,
                 users_updated = $4, users_removed = $5, groups_added = $6, groups_updated = $7,
                 groups_removed = $8
             WHERE id = $9",
        )
        .bind(RunStatus::Succeeded)
        .bind(&at)
        .bind(diff.users_added)
        .bind(diff.users_updated)
        .bind(diff.users_removed)
        .bind(diff.groups_added)
        .bind(diff.groups_updated)
        .bind(diff.groups_removed)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE directories SET last_success_at = $1, failing_since = NULL WHERE id = $2")
            .bind(&at)
            .bind(directory_id)
            .execute(&mut *tx)
            .await?;
        super::events::append_run_event(&mut tx, crate::model::EventType::SyncSucceeded, run_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a run without applying: `status` is 'failed', 'needs_confirmation' or 'discarded'.
    pub async fn end_run(
        &self,
        run_id: &str,
        status: RunStatus,
        failure: Option<&RunFailure<'_>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        sqlx::query(
            "UPDATE sync_runs SET status = $1, phase = 'done', finished_at = $2,
                 error_code = $3, error_class = $4, error_message = $5, error_hint = $6
             WHERE id = $7",
        )
        .bind(status)
        .bind(timestamp(now()))
        .bind(failure.map(|f| f.code))
        .bind(failure.map(|f| f.class))
        .bind(failure.map(|f| f.message))
        .bind(failure.map(|f| f.hint))
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        if let Some(event) = crate::model::EventType::of_run_end(status) {
            super::events::append_run_event(&mut tx, event, run_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Notes the first failure of a streak (for the 24-hour flag).
    pub async fn mark_directory_failing(&self, directory_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE directories SET failing_since = COALESCE(failing_since, $1) WHERE id = $2")
            .bind(timestamp(now()))
            .bind(directory_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sync_runs WHERE id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn runs(&self, directory_id: &str, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1 ORDER BY started_at DESC, id LIMIT $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// One run of one directory (never another directory's, whatever the id).
    pub async fn directory_run(
        &self,
        directory_id: &str,
        run_id: &str,
    ) -> Result<Option<RunRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1 AND id = $2");
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The newest finished run of one kind (`preview`, …) of a directory.
    pub async fn latest_finished_run(
        &self,
        directory_id: &str,
        trigger: Trigger,
    ) -> Result<Option<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1 AND trigger = $2 AND finished_at IS NOT NULL
             ORDER BY started_at DESC, id LIMIT 1"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(trigger)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn pending_confirmation(&self, directory_id: &str) -> Result<Option<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1 AND status = $2
             ORDER BY started_at DESC LIMIT 1"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(RunStatus::NeedsConfirmation)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The run a live lease is for: what is syncing now, on any process.
    pub async fn running_run(&self, directory_id: &str) -> Result<Option<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE id =
                 (SELECT run_id FROM sync_leases WHERE directory_id = $1 AND expires_at > $2)
               AND status = $3"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind((now().unix_timestamp_nanos() / 1_000_000) as i64)
            .bind(RunStatus::Running)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Runs left 'running' by a process that died (their lease is gone) are
    /// failed, and their staging and unfinished dataset dropped: each in one
    /// write transaction, which no apply can be inside of meanwhile (SQLite
    /// has one writer), re-checking that the run is still abandoned.
    pub async fn fail_interrupted_runs(&self) -> Result<u64, StoreError> {
        let mut failed = 0;
        for id in self.abandoned_runs().await? {
            let mut tx = self.writer.begin_with(super::WRITE).await?;
            let interrupted = RunFailure::INTERRUPTED;
            let done = sqlx::query(
                "UPDATE sync_runs SET status = $2, phase = 'done', finished_at = $3,
                     error_code = $4, error_class = $5, error_message = $6, error_hint = $7
                 WHERE id = $1 AND status = $8 AND NOT EXISTS (
                     SELECT 1 FROM sync_leases l WHERE l.run_id = $1 AND l.expires_at > $9)",
            )
            .bind(&id)
            .bind(RunStatus::Failed)
            .bind(timestamp(now()))
            .bind(interrupted.code)
            .bind(interrupted.class)
            .bind(interrupted.message)
            .bind(interrupted.hint)
            .bind(RunStatus::Running)
            .bind((now().unix_timestamp_nanos() / 1_000_000) as i64)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                super::events::append_run_event(&mut tx, crate::model::EventType::SyncFailed, &id).await?;
                sqlx::query("DELETE FROM directory_datasets WHERE run_id = $1 AND live = 0")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                for table in [
                    "sync_staging_users",
                    "sync_staging_groups",
                    "sync_staging_memberships",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE run_id = $1"))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                }
                failed += 1;
            }
            tx.commit().await?;
        }
        Ok(failed)
    }
}
