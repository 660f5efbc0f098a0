//! The audit log: append, browse newest first, prune by age.

use super::{now, timestamp, SqliteStore, StoreError};

pub struct NewAuditEntry<'a> {
    pub actor_kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: &'a serde_json::Value,
    pub ok: bool,
    pub ip: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub outcome: String,
    pub ip: Option<String>,
}

/// Filters for browsing; each is optional. `before` pages by id.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An action name, or a prefix ending in `.` (`directory.`).
    pub action: Option<String>,
    /// Matches the actor's name or id, case-insensitively, as a substring.
    pub actor: Option<String>,
    pub failed_only: bool,
    pub before: Option<i64>,
    pub limit: i64,
}

impl SqliteStore {
    pub async fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, target, detail, outcome, ip)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(timestamp(now()))
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

    /// Newest first; one more row than `limit` tells the caller there is a next page.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        // Prefixes and substrings are compared literally (no LIKE wildcards:
        // action names contain underscores).
        let action_prefix = filter.action.as_deref().filter(|a| a.ends_with('.'));
        let action_exact = filter.action.as_deref().filter(|a| !a.ends_with('.'));
        let actor = filter.actor.as_deref().map(str::to_lowercase);
        Ok(sqlx::query_as(
            "SELECT id, at, actor_kind, actor_id, actor_name, action, target, detail, outcome, ip
             FROM audit_log
             WHERE ($1 IS NULL OR id < $1)
               AND ($2 IS NULL OR action = $2)
               AND ($3 IS NULL OR substr(action, 1, length($3)) = $3)
               AND ($4 IS NULL OR instr(lower(actor_name), $4) > 0 OR instr(lower(IFNULL(actor_id, '')), $4) > 0)
               AND ($5 = 0 OR outcome = 'failed')
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
            .bind(timestamp(now() - keep))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
