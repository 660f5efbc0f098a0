//! Sync runs (their record and live progress) and sync leases.

use super::{is_uuid, PgStore};
use crate::model::{RunMode, RunStatus, Trigger};
use crate::store::{DiffCounts, DiffSample, RunCounters, RunFailure, RunRow, StoreError};
use sqlx::PgConnection;

const COLUMNS: &str = "id::text AS id, directory_id::text AS directory_id, trigger, mode, status, phase, \
    rfc3339(started_at) AS started_at, rfc3339(finished_at) AS finished_at, api_calls, pages, rate_limited, \
    paced_waits, waited_ms, retries, users_fetched, groups_fetched, groups_skipped, users_added, users_updated, \
    users_removed, groups_added, groups_updated, groups_removed, memberships_added, memberships_removed, \
    diff_sample::text AS diff_sample, error_code, error_class, error_message, error_hint";

impl PgStore {
    pub async fn start_run(&self, directory_id: &str, trigger: Trigger) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO sync_runs (id, directory_id, trigger, status, phase, started_at)
             VALUES ($1::uuid, $2::uuid, $3, $4, 'starting', now())",
        )
        .bind(&id)
        .bind(directory_id)
        .bind(trigger)
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
             WHERE id = $11::uuid",
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

    pub async fn publish_progress(
        &self,
        run_id: &str,
        phase: &str,
        c: &RunCounters,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_runs SET phase = $1, pages = $2, users_fetched = $3, groups_fetched = $4, groups_skipped = $5
             WHERE id = $6::uuid AND status = $7",
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
        diff: &DiffCounts,
        sample: &DiffSample,
    ) -> Result<(), StoreError> {
        let sample = serde_json::to_string(sample).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE sync_runs SET users_added = $1, users_updated = $2, users_removed = $3, groups_added = $4,
                 groups_updated = $5, groups_removed = $6, memberships_added = $7, memberships_removed = $8,
                 diff_sample = $9::jsonb
             WHERE id = $10::uuid",
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

    pub async fn set_run_mode(&self, run_id: &str, mode: RunMode) -> Result<(), StoreError> {
        sqlx::query("UPDATE sync_runs SET mode = $1 WHERE id = $2::uuid")
            .bind(mode)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn finish_incremental_run(
        &self,
        run_id: &str,
        directory_id: &str,
        diff: &DiffCounts,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE sync_runs SET status = $1, phase = 'done', finished_at = now(), users_added = $2,
                 users_updated = $3, users_removed = $4, groups_added = $5, groups_updated = $6,
                 groups_removed = $7
             WHERE id = $8::uuid",
        )
        .bind(RunStatus::Succeeded)
        .bind(diff.users_added)
        .bind(diff.users_updated)
        .bind(diff.users_removed)
        .bind(diff.groups_added)
        .bind(diff.groups_updated)
        .bind(diff.groups_removed)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE directories SET last_success_at = now(), failing_since = NULL WHERE id = $1::uuid",
        )
        .bind(directory_id)
        .execute(&mut *tx)
        .await?;
        super::events::append_run_event(&mut tx, crate::model::EventType::SyncSucceeded, run_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn end_run(
        &self,
        run_id: &str,
        status: RunStatus,
        failure: Option<&RunFailure<'_>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE sync_runs SET status = $1, phase = 'done', finished_at = now(),
                 error_code = $2, error_class = $3, error_message = $4, error_hint = $5
             WHERE id = $6::uuid",
        )
        .bind(status)
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

    pub async fn mark_directory_failing(&self, directory_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET failing_since = coalesce(failing_since, now()) WHERE id = $1::uuid",
        )
        .bind(directory_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        if !is_uuid(run_id) {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM sync_runs WHERE id = $1::uuid");
        Ok(sqlx::query_as(&sql)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn runs(&self, directory_id: &str, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1::uuid ORDER BY started_at DESC, id LIMIT $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn directory_run(
        &self,
        directory_id: &str,
        run_id: &str,
    ) -> Result<Option<RunRow>, StoreError> {
        if !is_uuid(run_id) || !is_uuid(directory_id) {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1::uuid AND id = $2::uuid");
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn latest_finished_run(
        &self,
        directory_id: &str,
        trigger: Trigger,
    ) -> Result<Option<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs
             WHERE directory_id = $1::uuid AND trigger = $2 AND finished_at IS NOT NULL
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
            "SELECT {COLUMNS} FROM sync_runs WHERE directory_id = $1::uuid AND status = $2
             ORDER BY started_at DESC LIMIT 1"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(RunStatus::NeedsConfirmation)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn running_run(&self, directory_id: &str) -> Result<Option<RunRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE id =
                 (SELECT run_id FROM sync_leases WHERE directory_id = $1::uuid AND expires_at > now())
               AND status = $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(directory_id)
            .bind(RunStatus::Running)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Fails runs whose process died, each in one transaction that first
    /// locks the directory's lease row: an apply in flight holds that lock
    /// (see `check_lease`), so a run that is in fact committing is waited
    /// for, found no longer running, and left alone.
    pub async fn fail_interrupted_runs(&self) -> Result<u64, StoreError> {
        let mut failed = 0;
        for id in self.abandoned_runs().await? {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "SELECT 1 FROM sync_leases WHERE directory_id = (SELECT directory_id FROM sync_runs WHERE id = $1::uuid)
                 FOR UPDATE",
            )
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            let interrupted = RunFailure::INTERRUPTED;
            let done = sqlx::query(
                "UPDATE sync_runs SET status = $2, phase = 'done', finished_at = now(),
                     error_code = $3, error_class = $4, error_message = $5, error_hint = $6
                 WHERE id = $1::uuid AND status = $7 AND NOT EXISTS (
                     SELECT 1 FROM sync_leases l WHERE l.run_id = $1::uuid AND l.expires_at > clock_timestamp())",
            )
            .bind(&id)
            .bind(RunStatus::Failed)
            .bind(interrupted.code)
            .bind(interrupted.class)
            .bind(interrupted.message)
            .bind(interrupted.hint)
            .bind(RunStatus::Running)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                super::events::append_run_event(&mut tx, crate::model::EventType::SyncFailed, &id).await?;
                sqlx::query("DELETE FROM directory_datasets WHERE run_id = $1::uuid AND NOT live")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                for table in [
                    "sync_staging_users",
                    "sync_staging_groups",
                    "sync_staging_memberships",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE run_id = $1::uuid"))
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

    pub async fn claim_sync_lease(
        &self,
        directory_id: &str,
        token: &str,
        holder: &str,
        ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sync_leases (directory_id, token, holder, run_id, expires_at)
             VALUES ($1::uuid, $2::uuid, $3, NULL, now() + make_interval(secs => $4))
             ON CONFLICT (directory_id) DO UPDATE SET token = excluded.token, holder = excluded.holder,
                 run_id = NULL, expires_at = excluded.expires_at
             WHERE sync_leases.expires_at <= now()",
        )
        .bind(directory_id)
        .bind(token)
        .bind(holder)
        .bind(ttl.as_seconds_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn attach_lease_run(
        &self,
        directory_id: &str,
        token: &str,
        run_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sync_leases SET run_id = $3::uuid WHERE directory_id = $1::uuid AND token = $2::uuid",
        )
        .bind(directory_id)
        .bind(token)
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn renew_sync_lease(
        &self,
        directory_id: &str,
        token: &str,
        ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sync_leases SET expires_at = clock_timestamp() + make_interval(secs => $3)
             WHERE directory_id = $1::uuid AND token = $2::uuid AND expires_at > clock_timestamp()",
        )
        .bind(directory_id)
        .bind(token)
        .bind(ttl.as_seconds_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_sync_lease(&self, directory_id: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sync_leases WHERE directory_id = $1::uuid AND token = $2::uuid")
            .bind(directory_id)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn abandoned_runs(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT r.id::text FROM sync_runs r WHERE r.status = 'running' AND NOT EXISTS
                 (SELECT 1 FROM sync_leases l WHERE l.run_id = r.id AND l.expires_at > clock_timestamp())",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Inside a write transaction: the lease `token` is still held (the row is
/// locked until commit, so no claim slips in between), or nothing commits.
pub(super) async fn check_lease(
    conn: &mut PgConnection,
    directory_id: &str,
    token: &str,
) -> Result<(), StoreError> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM sync_leases
         WHERE directory_id = $1::uuid AND token = $2::uuid AND expires_at > clock_timestamp() FOR UPDATE",
    )
    .bind(directory_id)
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?;
    held.map(|_| ()).ok_or(StoreError::LeaseLost)
}
