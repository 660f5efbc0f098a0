//! SCIM bearer tokens (kept as hashes) and the per-directory request log.

use super::{is_uuid, PgStore};
use crate::store::{
    last_use_is_stale, now, NewScimToken, ScimRequestRow, ScimTokenRow, StoreError, SCIM_LOG_KEEP,
};

const COLUMNS: &str = "id::text AS id, directory_id::text AS directory_id, name, prefix, created_by, \
     rfc3339(created_at) AS created_at, rfc3339(last_used_at) AS last_used_at, rfc3339(revoked_at) AS revoked_at";

impl PgStore {
    pub async fn insert_scim_token(&self, new: &NewScimToken<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scim_tokens (id, directory_id, name, token_hash, prefix, created_by, created_at)
             VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, now())",
        )
        .bind(new.id)
        .bind(new.directory_id)
        .bind(new.name)
        .bind(new.token_hash)
        .bind(new.prefix)
        .bind(new.created_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn scim_tokens(&self, directory_id: &str) -> Result<Vec<ScimTokenRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM scim_tokens WHERE directory_id = $1::uuid ORDER BY created_at DESC, id"
        ))
        .bind(directory_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn use_scim_token(
        &self,
        directory_id: &str,
        token_hash: &str,
    ) -> Result<Option<ScimTokenRow>, StoreError> {
        if !is_uuid(directory_id) {
            return Ok(None);
        }
        let row: Option<ScimTokenRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM scim_tokens
             WHERE token_hash = $1 AND directory_id = $2::uuid AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .bind(directory_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(token) = &row {
            if last_use_is_stale(token.last_used_at.as_deref(), now()) {
                // Best effort: "last used" must never fail Okta's request.
                let touched = sqlx::query("UPDATE scim_tokens SET last_used_at = now() WHERE id = $1::uuid")
                    .bind(&token.id)
                    .execute(&self.pool)
                    .await;
                if let Err(e) = touched {
                    tracing::debug!(error = %e, "could not note a SCIM token's last use");
                }
            }
        }
        Ok(row)
    }

    pub async fn revoke_scim_token(&self, directory_id: &str, id: &str) -> Result<bool, StoreError> {
        if !is_uuid(id) {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE scim_tokens SET revoked_at = now()
             WHERE id = $1::uuid AND directory_id = $2::uuid AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(directory_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Writes a batch of logged requests (one `unnest` insert; rows of a
    /// directory deleted meanwhile are dropped) and trims each directory's log.
    pub async fn append_scim_requests(&self, rows: &[ScimRequestRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let column = |f: fn(&ScimRequestRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let directories: Vec<String> = sqlx::query_scalar(
            "INSERT INTO scim_requests (directory_id, at, method, path, status, duration_ms, error)
             SELECT d.id, t.at::timestamptz, t.method, t.path, t.status, t.duration_ms, t.error
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[])
                  AS t(directory_id, at, method, path, status, duration_ms, error)
             JOIN directories d ON d.id::text = t.directory_id
             RETURNING directory_id::text",
        )
        .bind(column(|r| r.directory_id.clone()))
        .bind(column(|r| r.at.clone()))
        .bind(column(|r| r.method.clone()))
        .bind(column(|r| r.path.clone()))
        .bind(rows.iter().map(|r| r.status as i32).collect::<Vec<i32>>())
        .bind(rows.iter().map(|r| r.duration_ms).collect::<Vec<i64>>())
        .bind(
            rows.iter()
                .map(|r| r.error.clone())
                .collect::<Vec<Option<String>>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut directories = directories;
        directories.sort_unstable();
        directories.dedup();
        sqlx::query(
            "DELETE FROM scim_requests r USING (
                 SELECT key FROM (
                     SELECT key, row_number() OVER (PARTITION BY directory_id ORDER BY key DESC) AS n
                     FROM scim_requests WHERE directory_id::text = ANY($1)) ranked
                 WHERE n > $2) old
             WHERE r.key = old.key",
        )
        .bind(&directories)
        .bind(SCIM_LOG_KEEP)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn scim_requests(
        &self,
        directory_id: &str,
        limit: i64,
    ) -> Result<Vec<ScimRequestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT directory_id::text AS directory_id, rfc3339(at) AS at, method, path, status::bigint AS status,
                    duration_ms, error
             FROM scim_requests WHERE directory_id = $1::uuid ORDER BY key DESC LIMIT $2",
        )
        .bind(directory_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
