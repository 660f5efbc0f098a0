//! Moving an instance between databases (`roster admin export` / `import`):
//! every table's rows as JSON objects, in an order that satisfies foreign
//! keys, and an import into an empty PostgreSQL database in one transaction.
//! Transient tables (staging, leases, sessions) are left behind: runs in
//! flight are failed on the next start, and people sign in again.

use super::{SqliteStore, StoreError};

/// The tables an export carries, parents before children.
pub const TRANSFER_TABLES: &[&str] = &[
    "instance_settings",
    "admins",
    "setup_tokens",
    "directories",
    "directory_keys",
    "sync_runs",
    "directory_datasets",
    "directory_users",
    "directory_groups",
    "directory_memberships",
    "directory_user_groups",
    "directory_user_events",
    "directory_user_group_counts",
    "api_tokens",
    "signin_settings",
    "signins",
    "audit_log",
    "scim_tokens",
    "scim_requests",
    "events",
    "event_blocks",
    "event_block_items",
    "webhook_endpoints",
    "webhook_deliveries",
    "okta_event_hooks",
    "okta_log_polling",
];

/// Columns that hold JSON documents: text in SQLite, jsonb in PostgreSQL.
/// An export carries them as JSON, not as strings of JSON.
pub(super) fn is_json_column(table: &str, column: &str) -> bool {
    matches!(
        (table, column),
        ("directory_keys", "public_jwk")
            | ("sync_runs", "diff_sample")
            | ("directory_users", "profile")
            | ("directory_users", "scim_resource")
            | ("signin_settings", "admin_groups")
            | ("signin_settings", "viewer_groups")
            | ("signins", "groups")
            | ("audit_log", "detail")
            | ("events", "data")
            | ("webhook_endpoints", "event_types")
            | ("webhook_endpoints", "directory_ids")
    )
}

/// Columns that are booleans (integers in SQLite).
pub(super) fn is_bool_column(column: &str) -> bool {
    matches!(
        column,
        "paused"
            | "dpop_required"
            | "pull_enabled"
            | "scim_enabled"
            | "live"
            | "suspended"
            | "via_pull"
            | "via_push"
            | "enabled"
            | "disabled_by_failures"
    )
}

pub(super) fn known_table(table: &str) -> Result<(), StoreError> {
    if TRANSFER_TABLES.contains(&table) {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "{table} is not a table an export carries"
        )))
    }
}

/// Ids are text in SQLite and uuid in PostgreSQL; both export them as strings.
fn sqlite_value(table: &str, column: &str) -> String {
    if is_json_column(table, column) {
        format!("'{column}', json({column})")
    } else if is_bool_column(column) {
        format!("'{column}', json(CASE WHEN {column} IS NULL THEN 'null' WHEN {column} THEN 'true' ELSE 'false' END)")
    } else {
        format!("'{column}', {column}")
    }
}

impl SqliteStore {
    /// Up to `limit` rows of `table` from `offset`, in a stable order.
    pub async fn export_rows(
        &self,
        table: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        known_table(table)?;
        let columns: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT name, pk FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .fetch_all(&self.pool)
        .await?;
        let fields: Vec<String> = columns.iter().map(|(c, _)| sqlite_value(table, c)).collect();
        let mut key: Vec<(i64, &str)> = columns
            .iter()
            .filter(|(_, pk)| *pk > 0)
            .map(|(c, pk)| (*pk, c.as_str()))
            .collect();
        key.sort_unstable();
        // Tables without a primary key (the user history) have a rowid.
        let order = if key.is_empty() {
            "rowid".to_owned()
        } else {
            key.iter().map(|(_, c)| *c).collect::<Vec<_>>().join(", ")
        };
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT json_object({}) FROM {table} ORDER BY {order} LIMIT $1 OFFSET $2",
            fields.join(", ")
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(|e| StoreError::Corrupt(format!("{table}: {e}"))))
            .collect()
    }
}

impl SqliteStore {
    /// Imports go into PostgreSQL; a SQLite instance starts empty instead.
    pub async fn import_rows(
        &self,
        _batches: tokio::sync::mpsc::Receiver<Option<(String, Vec<serde_json::Value>)>>,
    ) -> Result<u64, StoreError> {
        Err(StoreError::Unsupported(
            "an import goes into PostgreSQL; set ROSTER_DATABASE_URL=postgres://… to the new, empty database",
        ))
    }

    pub async fn holds_data(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM directories) + (SELECT COUNT(*) FROM admins) + (SELECT COUNT(*) FROM api_tokens)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}
