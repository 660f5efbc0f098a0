//! Sync leases: one sync per directory at a time across every process on
//! the database. A claim succeeds only where no live lease exists; the holder
//! renews it while the run goes; the run's apply checks, inside its own
//! transaction, that its lease is still held (fencing), so a process that
//! stalled past its lease can never apply over a newer run.

use super::{now, SqliteStore, StoreError};
use sqlx::SqliteConnection;

fn millis(at: time::OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

impl SqliteStore {
    /// Takes the directory's lease for `ttl` unless a live one is held.
    pub async fn claim_sync_lease(
        &self,
        directory_id: &str,
        token: &str,
        holder: &str,
        ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        let at = now();
        let done = sqlx::query(
            "INSERT INTO sync_leases (directory_id, token, holder, run_id, expires_at) VALUES ($1, $2, $3, NULL, $4)
             ON CONFLICT (directory_id) DO UPDATE SET token = excluded.token, holder = excluded.holder,
                 run_id = NULL, expires_at = excluded.expires_at
             WHERE sync_leases.expires_at <= $5",
        )
        .bind(directory_id)
        .bind(token)
        .bind(holder)
        .bind(millis(at + ttl))
        .bind(millis(at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Names the run the lease is for (its progress is then read through it).
    pub async fn attach_lease_run(
        &self,
        directory_id: &str,
        token: &str,
        run_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sync_leases SET run_id = $3 WHERE directory_id = $1 AND token = $2")
            .bind(directory_id)
            .bind(token)
            .bind(run_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extends a lease still held and unexpired; false when it was lost.
    pub async fn renew_sync_lease(
        &self,
        directory_id: &str,
        token: &str,
        ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        // An expired lease is never revived: a sweep may already have failed
        // its run and dropped its staging.
        let at = now();
        let done = sqlx::query(
            "UPDATE sync_leases SET expires_at = $3 WHERE directory_id = $1 AND token = $2 AND expires_at > $4",
        )
        .bind(directory_id)
        .bind(token)
        .bind(millis(at + ttl))
        .bind(millis(at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_sync_lease(&self, directory_id: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sync_leases WHERE directory_id = $1 AND token = $2")
            .bind(directory_id)
            .bind(token)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Runs marked running whose lease is gone (the process died): their
    /// ids, for the caller to fail and clean up.
    pub async fn abandoned_runs(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT r.id FROM sync_runs r WHERE r.status = 'running' AND NOT EXISTS
                 (SELECT 1 FROM sync_leases l WHERE l.run_id = r.id AND l.expires_at > $1)",
        )
        .bind(millis(now()))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Inside a write transaction: the lease `token` on the directory is still
/// held, or the transaction must not commit.
pub(super) async fn check_lease(
    conn: &mut SqliteConnection,
    directory_id: &str,
    token: &str,
) -> Result<(), StoreError> {
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sync_leases WHERE directory_id = $1 AND token = $2 AND expires_at > $3",
    )
    .bind(directory_id)
    .bind(token)
    .bind(millis(now()))
    .fetch_optional(&mut *conn)
    .await?;
    held.map(|_| ()).ok_or(StoreError::LeaseLost)
}
