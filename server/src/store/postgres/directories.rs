//! Directories (configuration and schedule) and their keys.

use super::{is_uuid, PgStore};
use crate::model::{DirectoryState, EventType, KeyPurpose, KeyState, PauseReason};
use crate::store::{Directory, NewDirectory, SettingsUpdate, StoreError, StoredKey};

const COLUMNS: &str = "id::text AS id, name, provider, state, okta_origin, client_id, app_id, app_label, \
     sync_interval_secs, rate_limit_share, breaker_threshold, paused, paused_reason, dpop_required, \
     verified_fingerprint, rfc3339(next_sync_at) AS next_sync_at, rfc3339(last_success_at) AS last_success_at, \
     rfc3339(failing_since) AS failing_since, rfc3339(created_at) AS created_at, pull_enabled, scim_enabled";

impl PgStore {
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

    pub async fn list_drafts(&self) -> Result<Vec<Directory>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM directories WHERE state = $1 ORDER BY created_at DESC, id");
        Ok(sqlx::query_as(&sql)
            .bind(DirectoryState::Draft)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn directory(&self, id: &str) -> Result<Option<Directory>, StoreError> {
        if !is_uuid(id) {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM directories WHERE id = $1::uuid");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn insert_directory(&self, new: &NewDirectory<'_>) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO directories (id, name, provider, state, okta_origin, client_id, created_at, updated_at)
             VALUES ($1::uuid, $2, 'okta', $3, $4, $5, now(), now())",
        )
        .bind(&id)
        .bind(new.name)
        .bind(new.state)
        .bind(new.okta_origin)
        .bind(new.client_id)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn insert_push_directory(&self, name: &str) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO directories (id, name, provider, state, created_at, updated_at, pull_enabled, scim_enabled)
             VALUES ($1::uuid, $2, 'okta', $3, now(), now(), false, true)",
        )
        .bind(&id)
        .bind(name)
        .bind(DirectoryState::Active)
        .execute(&mut *tx)
        .await?;
        super::events::append_directory_event(&mut tx, EventType::DirectoryCreated, &id).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_scim_enabled(&self, id: &str, enabled: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE directories SET scim_enabled = $1, updated_at = now() WHERE id = $2::uuid")
            .bind(enabled)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn update_connection(
        &self,
        id: &str,
        okta_origin: &str,
        client_id: &str,
        app: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET okta_origin = $1, client_id = $2, app_id = $3, app_label = $4,
                 verified_fingerprint = CASE WHEN okta_origin = $1 AND client_id = $2
                                              AND app_id IS NOT DISTINCT FROM $3
                                             THEN verified_fingerprint END,
                 updated_at = now()
             WHERE id = $5::uuid",
        )
        .bind(okta_origin)
        .bind(client_id)
        .bind(app.map(|(id, _)| id))
        .bind(app.map(|(_, label)| label))
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
            "UPDATE directories SET verified_fingerprint = $1, verified_at = now(), dpop_required = $2,
                 paused = CASE WHEN paused_reason IS NOT NULL AND paused_reason != $4 THEN false ELSE paused END,
                 paused_reason = CASE WHEN paused_reason != $4 THEN NULL ELSE paused_reason END
             WHERE id = $3::uuid",
        )
        .bind(fingerprint)
        .bind(dpop_required)
        .bind(id)
        // A verify ends an error pause, never an admin's.
        .bind(PauseReason::Admin.as_db())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn activate_directory(&self, id: &str, name: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let was: Option<DirectoryState> =
            sqlx::query_scalar("SELECT state FROM directories WHERE id = $1::uuid FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE directories SET state = $3, name = $1, next_sync_at = now(), updated_at = now()
             WHERE id = $2::uuid",
        )
        .bind(name)
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
            "UPDATE directories SET sync_interval_secs = $1, rate_limit_share = $2, breaker_threshold = $3,
                 updated_at = now()
             WHERE id = $4::uuid",
        )
        .bind(interval_secs)
        .bind(rate_limit_share)
        .bind(breaker_threshold)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn update_settings(&self, id: &str, settings: &SettingsUpdate<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE directories SET name = $1, sync_interval_secs = $2, rate_limit_share = $3,
                    breaker_threshold = $4, updated_at = now()
             WHERE id = $5::uuid",
        )
        .bind(settings.name)
        .bind(settings.interval_secs)
        .bind(settings.rate_limit_share)
        .bind(settings.breaker_threshold)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_paused(&self, id: &str, reason: Option<&PauseReason>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let was_paused: Option<bool> =
            sqlx::query_scalar("SELECT paused FROM directories WHERE id = $1::uuid FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE directories SET paused = $1, paused_reason = $2, updated_at = now() WHERE id = $3::uuid",
        )
        .bind(reason.is_some())
        .bind(reason.map(PauseReason::as_db))
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
        sqlx::query("UPDATE directories SET next_sync_at = $1 WHERE id = $2::uuid")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn due_directories(&self, at: time::OffsetDateTime) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id::text FROM directories WHERE state = $2 AND NOT paused
               AND next_sync_at IS NOT NULL AND next_sync_at <= $1 ORDER BY next_sync_at",
        )
        .bind(at)
        .bind(DirectoryState::Active)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn take_due_directory(&self, id: &str, at: time::OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE directories SET next_sync_at = $2 + make_interval(secs => sync_interval_secs)
             WHERE id = $1::uuid AND next_sync_at <= $2",
        )
        .bind(id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_directory(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // After any identity write in flight: its rows go with the directory
        // (see the migration `dataset_rows`).
        super::apply::lock_directory(&mut tx, id).await?;
        // A draft was never announced; its end is not either.
        let state: Option<DirectoryState> =
            sqlx::query_scalar("SELECT state FROM directories WHERE id = $1::uuid")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if state == Some(DirectoryState::Active) {
            super::events::append_directory_event(&mut tx, EventType::DirectoryDeleted, id).await?;
        }
        sqlx::query("DELETE FROM directories WHERE id = $1::uuid")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn insert_key(
        &self,
        directory_id: &str,
        kid: &str,
        purpose: KeyPurpose,
        state: KeyState,
        public_jwk: &str,
        sealed_private: &str,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO directory_keys (id, directory_id, kid, purpose, state, public_jwk, sealed_private, created_at)
             VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::jsonb, $7, now())",
        )
        .bind(&id)
        .bind(directory_id)
        .bind(kid)
        .bind(purpose)
        .bind(state)
        .bind(public_jwk)
        .bind(sealed_private)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn live_keys(&self, directory_id: &str) -> Result<Vec<StoredKey>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id::text AS id, kid, purpose, state, public_jwk::text AS public_jwk, sealed_private
             FROM directory_keys
             WHERE directory_id = $1::uuid AND state != $2 ORDER BY created_at DESC, id",
        )
        .bind(directory_id)
        .bind(KeyState::Retired)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Rotation's last step, in one transaction: the `next` client key
    /// becomes `active`, the old one retires.
    pub async fn promote_next_key(&self, directory_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let next: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM directory_keys WHERE directory_id = $1::uuid AND purpose = $2 AND state = $3 FOR UPDATE",
        )
        .bind(directory_id)
        .bind(KeyPurpose::Client)
        .bind(KeyState::Next)
        .fetch_optional(&mut *tx)
        .await?;
        if next.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE directory_keys SET state = CASE state WHEN $3 THEN $4 ELSE $5 END,
                 retired_at = CASE state WHEN $3 THEN now() ELSE retired_at END
             WHERE directory_id = $1::uuid AND purpose = $2 AND state IN ($3, $6)",
        )
        .bind(directory_id)
        .bind(KeyPurpose::Client)
        .bind(KeyState::Active)
        .bind(KeyState::Retired)
        .bind(KeyState::Active)
        .bind(KeyState::Next)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
