//! Instance settings, admins, setup links, API tokens and the audit log.

use super::PgStore;
use crate::store::{
    last_use_is_stale, now, settings::DEFAULT_INSTANCE_NAME, Admin, ApiTokenRow, AuditFilter, AuditRow,
    NewApiToken, NewAuditEntry, RedeemOutcome, StoreError,
};

const INSTANCE_NAME: &str = "instance_name";
const TOKEN_COLUMNS: &str =
    "id::text AS id, name, scope, prefix, created_by, rfc3339(created_at) AS created_at, \
     rfc3339(last_used_at) AS last_used_at, rfc3339(revoked_at) AS revoked_at";

impl PgStore {
    pub async fn instance_name(&self) -> Result<String, StoreError> {
        let name: Option<String> = sqlx::query_scalar("SELECT value FROM instance_settings WHERE key = $1")
            .bind(INSTANCE_NAME)
            .fetch_optional(&self.pool)
            .await?;
        Ok(name.unwrap_or_else(|| DEFAULT_INSTANCE_NAME.to_owned()))
    }

    pub async fn set_instance_name(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(INSTANCE_NAME)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn count_admins(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM admins")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn admin(&self, id: uuid::Uuid) -> Result<Option<Admin>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT display_name FROM admins WHERE id = $1::uuid")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(display_name,)| Admin { id, display_name }))
    }

    pub async fn touch_admin_sign_in(&self, id: uuid::Uuid) -> Result<(), StoreError> {
        sqlx::query("UPDATE admins SET last_sign_in_at = now() WHERE id = $1::uuid")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn insert_setup_token(
        &self,
        token_hash: &str,
        valid_for: time::Duration,
    ) -> Result<(), StoreError> {
        let created = now();
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(created)
            .bind(created + valid_for)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Spends a setup link and creates the first admin (or picks the first
    /// one), in one transaction; the token row is locked, so two browsers
    /// racing with one link get one admin between them.
    pub async fn redeem_setup_token(
        &self,
        token_hash: &str,
        display_name: &str,
    ) -> Result<RedeemOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let spent = sqlx::query(
            "UPDATE setup_tokens SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
        )
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() != 1 {
            return Ok(RedeemOutcome::Invalid);
        }
        // One admin creation at a time, cluster-wide (the table may be empty,
        // so there is no row to lock).
        sqlx::query("LOCK TABLE admins IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let existing: Option<(String, String)> =
            sqlx::query_as("SELECT id::text, display_name FROM admins ORDER BY created_at, id LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((id, display_name)) = existing {
            let id = uuid::Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("admin id: {e}")))?;
            sqlx::query("UPDATE admins SET last_sign_in_at = now() WHERE id = $1::uuid")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RedeemOutcome::Recovered(Admin { id, display_name }));
        }
        let admin = Admin {
            id: uuid::Uuid::new_v4(),
            display_name: display_name.to_owned(),
        };
        sqlx::query(
            "INSERT INTO admins (id, display_name, created_at, last_sign_in_at) VALUES ($1::uuid, $2, now(), now())",
        )
        .bind(admin.id.to_string())
        .bind(&admin.display_name)
        .execute(&mut *tx)
        .await?;
        // Other outstanding links must not create more admins.
        sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RedeemOutcome::Created(admin))
    }

    pub async fn insert_api_token(&self, new: &NewApiToken<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scope, token_hash, prefix, created_by, created_at, parent_id)
             VALUES ($1::uuid, $2, $3, $4, $5, $6, now(), $7::uuid)",
        )
        .bind(new.id)
        .bind(new.name)
        .bind(new.scope)
        .bind(new.token_hash)
        .bind(new.prefix)
        .bind(new.created_by)
        .bind(new.parent_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>, StoreError> {
        let Ok(id) = uuid::Uuid::parse_str(id) else {
            return Ok(None);
        };
        Ok(sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1::uuid"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRow>, StoreError> {
        let row: Option<ApiTokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(token) = &row {
            if last_use_is_stale(token.last_used_at.as_deref(), now()) {
                sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1::uuid")
                    .bind(&token.id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(row)
    }

    pub async fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError> {
        let Ok(id) = uuid::Uuid::parse_str(id) else {
            return Ok(false);
        };
        let done = sqlx::query(
            "WITH RECURSIVE made(id) AS (
                 SELECT id FROM api_tokens WHERE id = $1::uuid AND revoked_at IS NULL
                 UNION SELECT t.id FROM api_tokens t JOIN made ON t.parent_id = made.id)
             UPDATE api_tokens SET revoked_at = now() WHERE id IN (SELECT id FROM made) AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, target, detail, outcome, ip)
             VALUES (now(), $1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING id",
        )
        .bind(entry.actor_kind)
        .bind(entry.actor_id)
        .bind(entry.actor_name)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.detail.to_string())
        .bind(if entry.ok { "ok" } else { "failed" })
        .bind(entry.ip)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let action_prefix = filter.action.as_deref().filter(|a| a.ends_with('.'));
        let action_exact = filter.action.as_deref().filter(|a| !a.ends_with('.'));
        let actor = filter.actor.as_deref().map(str::to_lowercase);
        Ok(sqlx::query_as(
            "SELECT id, rfc3339(at) AS at, actor_kind, actor_id, actor_name, action, target, detail::text AS detail,
                    outcome, ip
             FROM audit_log
             WHERE ($1::bigint IS NULL OR id < $1)
               AND ($2::text IS NULL OR action = $2)
               AND ($3::text IS NULL OR starts_with(action, $3))
               AND ($4::text IS NULL OR strpos(lower(actor_name), $4) > 0
                    OR strpos(lower(coalesce(actor_id, '')), $4) > 0)
               AND (NOT $5 OR outcome = 'failed')
             ORDER BY id DESC LIMIT $6",
        )
        .bind(filter.before)
        .bind(action_exact)
        .bind(action_prefix)
        .bind(actor)
        .bind(filter.failed_only)
        .bind(filter.limit + 1)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn prune_audit(&self, keep: time::Duration) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(now() - keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
