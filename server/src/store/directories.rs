use super::{now, timestamp, SqliteStore, StoreError};
use crate::model::{DirectoryState, EventType, PauseReason};

/// A directory's configuration and scheduling state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Directory {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub state: DirectoryState,
    pub okta_origin: String,
    pub client_id: String,
    pub app_id: Option<String>,
    pub app_label: Option<String>,
    pub sync_interval_secs: i64,
    pub rate_limit_share: f64,
    pub breaker_threshold: f64,
    pub paused: bool,
    pub paused_reason: Option<PauseReason>,
    pub dpop_required: Option<bool>,
    pub verified_fingerprint: Option<String>,
    pub next_sync_at: Option<String>,
    pub last_success_at: Option<String>,
    pub failing_since: Option<String>,
    pub created_at: String,
    /// The pull sync runs (an Okta API Services app is connected).
    pub pull_enabled: bool,
    /// Okta may push through SCIM.
    pub scim_enabled: bool,
}

/// What creating a directory needs.
#[derive(Debug, Clone)]
pub struct NewDirectory<'a> {
    pub name: &'a str,
    pub okta_origin: &'a str,
    pub client_id: &'a str,
    pub state: DirectoryState,
}

/// A directory's own settings, already validated by the domain.
#[derive(Debug, Clone, Copy)]
pub struct SettingsUpdate<'a> {
    pub name: &'a str,
    pub interval_secs: i64,
    pub rate_limit_share: f64,
    pub breaker_threshold: f64,
}

const COLUMNS: &str =
    "id, name, provider, state, okta_origin, client_id, app_id, app_label, sync_interval_secs, \
     rate_limit_share, breaker_threshold, paused, paused_reason, dpop_required, verified_fingerprint, \
     next_sync_at, last_success_at, failing_since, created_at, pull_enabled, scim_enabled";

impl SqliteStore {
    pub async fn count_directories(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM directories WHERE state = $1")
                .bind(DirectoryState::Active)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn list_directories(&self) -> Result<Vec<Directory>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM directories WHERE state = $1 ORDER BY name, id");
        Ok(sqlx::query_as(&sql)
            .bind(DirectoryState::Active)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Wizards not finished yet, newest first.
    pub async fn list_drafts(&self) -> Result<Vec<Directory>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM directories WHERE state = $1 ORDER BY created_at DESC, id");
        Ok(sqlx::query_as(&sql)
            .bind(DirectoryState::Draft)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM directories WHERE id = $1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn insert_directory(&self, new: &NewDirectory<'_>) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let at = timestamp(now());
        sqlx::query(
            "INSERT INTO directories (id, name, provider, state, okta_origin, client_id, created_at, updated_at)
             VALUES ($1, $2, 'okta', $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(new.name)
        .bind(new.state)
        .bind(new.okta_origin)
        .bind(new.client_id)
        .bind(&at)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// A directory that only receives SCIM pushes: active at once, never scheduled.
    pub async fn insert_push_directory(&self, name: &str) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let at = timestamp(now());
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        sqlx::query(
            "INSERT INTO directories (id, name, provider, state, created_at, updated_at, pull_enabled, scim_enabled)
             VALUES ($1, $2, 'okta', $3, $4, $4, 0, 1)",
        )
        .bind(&id)
        .bind(name)
        .bind(DirectoryState::Active)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        super::events::append_directory_event(&mut tx, EventType::DirectoryCreated, &id).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_scim_enabled(&self, id: &str, enabled: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE directories SET scim_enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(enabled)
            .bind(timestamp(now()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Changes the connection; any change drops the previous verification.
    pub async fn update_connection(
        &self,
        id: &str,
        okta_origin: &str,
        client_id: &str,
        app: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET okta_origin = $1, client_id = $2, app_id = $3, app_label = $4,
                 verified_fingerprint = CASE WHEN okta_origin = $1 AND client_id = $2 AND app_id IS $3
                                             THEN verified_fingerprint END,
                 updated_at = $5
             WHERE id = $6",
        )
        .bind(okta_origin)
        .bind(client_id)
        .bind(app.map(|(id, _)| id))
        .bind(app.map(|(_, label)| label))
        .bind(timestamp(now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn record_verification(
        &self,
        id: &str,
        fingerprint: &str,
        dpop_required: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET verified_fingerprint = $1, verified_at = $2, dpop_required = $3,
                 paused = CASE WHEN paused_reason IS NOT NULL AND paused_reason != $5 THEN 0 ELSE paused END,
                 paused_reason = CASE WHEN paused_reason != $5 THEN NULL ELSE paused_reason END
             WHERE id = $4",
        )
        .bind(fingerprint)
        .bind(timestamp(now()))
        .bind(dpop_required)
        .bind(id)
        // A verify ends an error pause, never an admin's.
        .bind(PauseReason::Admin.as_db())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn activate_directory(&self, id: &str, name: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        let was: Option<DirectoryState> = sqlx::query_scalar("SELECT state FROM directories WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE directories SET state = $4, name = $1, next_sync_at = $2, updated_at = $2 WHERE id = $3",
        )
        .bind(name)
        .bind(timestamp(now()))
        .bind(id)
        .bind(DirectoryState::Active)
        .execute(&mut *tx)
        .await?;
        if was == Some(DirectoryState::Draft) {
            super::events::append_directory_event(&mut tx, EventType::DirectoryCreated, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_sync_settings(
        &self,
        id: &str,
        interval_secs: i64,
        rate_limit_share: f64,
        breaker_threshold: f64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET sync_interval_secs = $1, rate_limit_share = $2, breaker_threshold = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(interval_secs)
        .bind(rate_limit_share)
        .bind(breaker_threshold)
        .bind(timestamp(now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn update_settings(&self, id: &str, settings: &SettingsUpdate<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET name = $1, sync_interval_secs = $2, rate_limit_share = $3,
                    breaker_threshold = $4, updated_at = $5
             WHERE id = $6",
        )
        .bind(settings.name)
        .bind(settings.interval_secs)
        .bind(settings.rate_limit_share)
        .bind(settings.breaker_threshold)
        .bind(timestamp(now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Pauses (with its reason) or resumes a directory.
    pub async fn set_paused(&self, id: &str, reason: Option<&PauseReason>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        let was_paused: Option<bool> = sqlx::query_scalar("SELECT paused FROM directories WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query("UPDATE directories SET paused = $1, paused_reason = $2, updated_at = $3 WHERE id = $4")
            .bind(reason.is_some())
            .bind(reason.map(PauseReason::as_db))
            .bind(timestamp(now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(event) =
            was_paused.and_then(|was| crate::model::EventType::of_pause_change(was, reason.is_some()))
        {
            super::events::append_directory_event(&mut tx, event, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn schedule_next_sync(&self, id: &str, at: time::OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE directories SET next_sync_at = $1 WHERE id = $2")
            .bind(timestamp(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Directories whose scheduled sync is due.
    pub async fn due_directories(&self, at: time::OffsetDateTime) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM directories WHERE state = $2 AND paused = 0
               AND next_sync_at IS NOT NULL AND next_sync_at <= $1 ORDER BY next_sync_at",
        )
        .bind(timestamp(at))
        .bind(DirectoryState::Active)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves a due directory's next sync one interval on, if it is still
    /// due: true for the one process (of several that saw it due) that did.
    pub async fn take_due_directory(&self, id: &str, at: time::OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE directories
             SET next_sync_at = strftime('%Y-%m-%dT%H:%M:%fZ', $2, '+' || sync_interval_secs || ' seconds')
             WHERE id = $1 AND next_sync_at IS NOT NULL AND next_sync_at <= $2",
        )
        .bind(id)
        .bind(timestamp(at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_directory(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        // A draft was never announced; its end is not either.
        let active: Option<DirectoryState> =
            sqlx::query_scalar("SELECT state FROM directories WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if active == Some(DirectoryState::Active) {
            super::events::append_directory_event(&mut tx, EventType::DirectoryDeleted, id).await?;
        }
        sqlx::query("DELETE FROM directories WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
