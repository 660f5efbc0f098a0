//! Export and import on PostgreSQL (see the store's `transfer` module).

use super::PgStore;
use crate::store::{
    transfer::{is_bool_column, known_table},
    StoreError,
};

impl PgStore {
    pub async fn export_rows(
        &self,
        table: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        known_table(table)?;
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::regclass AND i.indisprimary
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(table)
        .fetch_all(&self.pool)
        .await?;
        // The user history has no primary key; its identity column orders it.
        let order = if key.is_empty() {
            "seq".to_owned()
        } else {
            key.join(", ")
        };
        Ok(sqlx::query_scalar(&format!(
            "SELECT to_jsonb(t) - 'seq' FROM {table} t ORDER BY {order} LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn holds_data(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM directories) + (SELECT COUNT(*) FROM admins) + (SELECT COUNT(*) FROM api_tokens)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Inserts every batch received, in one transaction: all or nothing.
    /// Values convert to the columns' types on the way in
    /// (`jsonb_populate_recordset`); identity counters continue after the
    /// imported keys. Returns the rows imported.
    pub async fn import_rows(
        &self,
        mut batches: tokio::sync::mpsc::Receiver<Option<(String, Vec<serde_json::Value>)>>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut imported = 0;
        loop {
            // `None` ends a complete export; a closed channel before it means
            // the input stopped early, and nothing is kept.
            let Some(batch) = batches.recv().await else {
                return Err(StoreError::Unsupported(
                    "the export ended early; nothing was imported (copy the whole file and try again)",
                ));
            };
            let Some((table, mut rows)) = batch else { break };
            known_table(&table)?;
            if rows.is_empty() {
                continue;
            }
            let columns: Vec<String> = sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
                   AND NOT (column_name = 'seq' AND table_name = 'directory_user_events')
                   AND NOT (column_name = 'member_count' AND table_name = 'directory_groups')
                 ORDER BY ordinal_position",
            )
            .bind(&table)
            .fetch_all(&mut *tx)
            .await?;
            for row in &mut rows {
                normalize_booleans(row);
            }
            let list = columns.join(", ");
            let inserted = sqlx::query(&format!(
                "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE
                 SELECT {list} FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb)"
            ))
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
            imported += inserted.rows_affected();
        }
        // Retention pruned what came before the oldest event carried.
        sqlx::query(
            "UPDATE event_log_state SET pruned_through = coalesce(
                 least((SELECT min(position) FROM events), (SELECT min(first_position) FROM event_blocks)) - 1, 0)",
        )
        .execute(&mut *tx)
        .await?;
        // Derived, and absent from a SQLite export: counted here.
        sqlx::query(&format!(
            "UPDATE directory_groups g SET member_count = {}",
            super::identity::MEMBER_COUNT_OF_G
        ))
        .execute(&mut *tx)
        .await?;
        for (table, column) in [
            ("directory_datasets", "key"),
            ("audit_log", "id"),
            ("scim_requests", "key"),
            ("webhook_deliveries", "id"),
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                               coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut *tx)
            .await?;
        }
        // Past every event carried, rows and first-sync blocks alike.
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('events', 'position'), {} + 1, false)",
            super::events::LAST_POSITION
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(imported)
    }
}

/// SQLite's 0/1 in boolean columns, as JSON booleans.
fn normalize_booleans(row: &mut serde_json::Value) {
    if let Some(object) = row.as_object_mut() {
        for (column, value) in object.iter_mut() {
            if is_bool_column(column) {
                if let Some(n) = value.as_i64() {
                    *value = serde_json::Value::Bool(n != 0);
                }
            }
        }
    }
}
