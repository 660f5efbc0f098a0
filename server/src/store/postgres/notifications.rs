//! Notification state on PostgreSQL (see the store's `notifications` module).

use super::PgStore;
use crate::store::{NotificationRow, StoreError};

impl PgStore {
    pub async fn sync_notifications(
        &self,
        subjects: &[String],
        at: &str,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM notifications WHERE subject <> ALL($1)")
            .bind(subjects)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO notifications (subject, first_seen_at) SELECT unnest($1::text[]), $2::timestamptz
             ON CONFLICT (subject) DO NOTHING",
        )
        .bind(subjects)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query_as(
            "SELECT subject, rfc3339(first_seen_at) AS first_seen_at, sent_count::bigint AS sent_count,
                    rfc3339(last_sent_at) AS last_sent_at, last_error
             FROM notifications ORDER BY subject",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn notification_rows(&self) -> Result<Vec<NotificationRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT subject, rfc3339(first_seen_at) AS first_seen_at, sent_count::bigint AS sent_count,
                    rfc3339(last_sent_at) AS last_sent_at, last_error
             FROM notifications ORDER BY subject",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn claim_notification(
        &self,
        subject: &str,
        seen_count: i64,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE notifications SET sent_count = sent_count + 1, last_sent_at = $3::timestamptz, last_error = NULL
             WHERE subject = $1 AND sent_count = $2",
        )
        .bind(subject)
        .bind(seen_count as i32)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

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
        .bind(claimed_count as i32)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
