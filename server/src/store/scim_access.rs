//! SCIM bearer tokens (kept as hashes) and the per-directory request log.

use super::{now, timestamp, SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScimTokenRow {
    pub id: String,
    pub directory_id: String,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub struct NewScimToken<'a> {
    pub id: &'a str,
    pub directory_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: &'a str,
}

/// One logged SCIM request: never a body, a header or a token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScimRequestRow {
    pub directory_id: String,
    pub at: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub duration_ms: i64,
    pub error: Option<String>,
}

const COLUMNS: &str = "id, directory_id, name, prefix, created_by, created_at, last_used_at, revoked_at";

/// How many requests the log keeps per directory.
pub const SCIM_LOG_KEEP: i64 = 500;

impl SqliteStore {
    pub async fn insert_scim_token(&self, new: &NewScimToken<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scim_tokens (id, directory_id, name, token_hash, prefix, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id)
        .bind(new.directory_id)
        .bind(new.name)
        .bind(new.token_hash)
        .bind(new.prefix)
        .bind(new.created_by)
        .bind(timestamp(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A directory's tokens, revoked ones too, newest first.
    pub async fn scim_tokens(&self, directory_id: &str) -> Result<Vec<ScimTokenRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM scim_tokens WHERE directory_id = $1 ORDER BY created_at DESC, id"
        ))
        .bind(directory_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The unrevoked token of this directory with this hash, noting its use.
    pub async fn use_scim_token(
        &self,
        directory_id: &str,
        token_hash: &str,
    ) -> Result<Option<ScimTokenRow>, StoreError> {
        let row: Option<ScimTokenRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM scim_tokens
             WHERE token_hash = $1 AND directory_id = $2 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .bind(directory_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(token) = &row {
            let at = now();
            let stale = super::last_use_is_stale(token.last_used_at.as_deref(), at);
            if stale {
                // Best effort: a sync's long apply may hold the write lock, and
                // "last used" must never fail Okta's request.
                let touched = sqlx::query("UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(timestamp(at))
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

    /// False when the directory has no such unrevoked token.
    pub async fn revoke_scim_token(&self, directory_id: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE scim_tokens SET revoked_at = $1
             WHERE id = $2 AND directory_id = $3 AND revoked_at IS NULL",
        )
        .bind(timestamp(now()))
        .bind(id)
        .bind(directory_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Writes a batch of logged requests and trims each directory's log.
    pub async fn append_scim_requests(&self, rows: &[ScimRequestRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        // A directory deleted meanwhile takes its log with it.
        let mut directories: Vec<&str> = rows.iter().map(|r| r.directory_id.as_str()).collect();
        directories.sort_unstable();
        directories.dedup();
        let ids = serde_json::to_string(&directories).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT id FROM directories WHERE id IN (SELECT value FROM json_each($1))")
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?;
        let rows: Vec<&ScimRequestRow> = rows
            .iter()
            .filter(|r| existing.contains(&r.directory_id))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO scim_requests (directory_id, at, method, path, status, duration_ms, error) ",
        );
        insert.push_values(rows.iter().copied(), |mut row, r| {
            row.push_bind(&r.directory_id)
                .push_bind(&r.at)
                .push_bind(&r.method)
                .push_bind(&r.path)
                .push_bind(r.status)
                .push_bind(r.duration_ms)
                .push_bind(&r.error);
        });
        insert.build().execute(&mut *tx).await?;
        for directory_id in existing {
            sqlx::query(
                "DELETE FROM scim_requests WHERE directory_id = $1 AND key <= (
                     SELECT key FROM scim_requests WHERE directory_id = $1 ORDER BY key DESC LIMIT 1 OFFSET $2)",
            )
            .bind(&directory_id)
            .bind(SCIM_LOG_KEEP)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest logged requests of a directory, newest first.
    pub async fn scim_requests(
        &self,
        directory_id: &str,
        limit: i64,
    ) -> Result<Vec<ScimRequestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT directory_id, at, method, path, status, duration_ms, error FROM scim_requests
             WHERE directory_id = $1 ORDER BY key DESC LIMIT $2",
        )
        .bind(directory_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
