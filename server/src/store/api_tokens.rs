use super::{now, timestamp, SqliteStore, StoreError};
use crate::model::TokenScope;

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub struct NewApiToken<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub scope: TokenScope,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: &'a str,
    /// The token this one was made with, if any.
    pub parent_id: Option<&'a str>,
}

const COLUMNS: &str = "id, name, scope, prefix, created_by, created_at, last_used_at, revoked_at";

impl SqliteStore {
    pub async fn insert_api_token(&self, new: &NewApiToken<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, scope, token_hash, prefix, created_by, created_at, parent_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new.id)
        .bind(new.name)
        .bind(new.scope)
        .bind(new.token_hash)
        .bind(new.prefix)
        .bind(new.created_by)
        .bind(timestamp(now()))
        .bind(new.parent_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every token, revoked ones too, newest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The unrevoked token with this hash, noting its use.
    pub async fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRow>, StoreError> {
        let row: Option<ApiTokenRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(token) = &row {
            let at = now();
            let stale = super::last_use_is_stale(token.last_used_at.as_deref(), at);
            if stale {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(timestamp(at))
                    .bind(&token.id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(row)
    }

    /// Revokes a token and every token made with it, in one statement;
    /// false when there is no such unrevoked token.
    pub async fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "WITH RECURSIVE made(id) AS (
                 SELECT id FROM api_tokens WHERE id = $2 AND revoked_at IS NULL
                 UNION SELECT t.id FROM api_tokens t JOIN made ON t.parent_id = made.id)
             UPDATE api_tokens SET revoked_at = $1 WHERE id IN (SELECT id FROM made) AND revoked_at IS NULL",
        )
        .bind(timestamp(now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
