//! Notification state (SQLite; PostgreSQL in `postgres/notifications.rs`):
//! which problems admins were mailed about, and when. The domain decides
//! what is a problem and when a reminder is due.

use super::{SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NotificationRow {
    pub subject: String,
    pub first_seen_at: String,
    pub sent_count: i64,
    pub last_sent_at: Option<String>,
    pub last_error: Option<String>,
}

impl SqliteStore {
    /// Makes the rows match the open problems: adds a row (first seen `at`)
    /// for each new subject, drops the rows of problems that are gone, and
    /// returns the rows of `subjects`.
    pub async fn sync_notifications(
        &self,
        subjects: &[String],
        at: &str,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let list = serde_json::to_string(subjects).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM notifications WHERE subject NOT IN (SELECT value FROM json_each($1))")
            .bind(&list)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            // `WHERE true`: without it SQLite reads ON CONFLICT as a join's ON.
            "INSERT INTO notifications (subject, first_seen_at) SELECT value, $2 FROM json_each($1) WHERE true
             ON CONFLICT (subject) DO NOTHING",
        )
        .bind(&list)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query_as(
            "SELECT subject, first_seen_at, sent_count, last_sent_at, last_error FROM notifications ORDER BY subject",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn notification_rows(&self) -> Result<Vec<NotificationRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT subject, first_seen_at, sent_count, last_sent_at, last_error FROM notifications ORDER BY subject",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Counts a send of `subject` at `at` if nobody else counted one since
    /// the caller read `seen_count`: `true` means this process sends it.
    pub async fn claim_notification(
        &self,
        subject: &str,
        seen_count: i64,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE notifications SET sent_count = sent_count + 1, last_sent_at = $3, last_error = NULL
             WHERE subject = $1 AND sent_count = $2",
        )
        .bind(subject)
        .bind(seen_count)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A claimed send failed: the count goes back (so it is tried again;
    /// `last_sent_at` keeps the attempt's time, for the retry's back-off)
    /// and the error is kept for the overview.
    pub async fn notification_failed(
        &self,
        subject: &str,
        claimed_count: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET sent_count = $2 - 1, last_error = $3
             WHERE subject = $1 AND sent_count = $2",
        )
        .bind(subject)
        .bind(claimed_count)
        .bind(error)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
