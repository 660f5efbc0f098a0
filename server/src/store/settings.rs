use super::{now, timestamp, SqliteStore, StoreError};

const INSTANCE_NAME: &str = "instance_name";
pub const DEFAULT_INSTANCE_NAME: &str = "Roster";

impl SqliteStore {
    pub async fn instance_name(&self) -> Result<String, StoreError> {
        let name: Option<String> = sqlx::query_scalar("SELECT value FROM instance_settings WHERE key = $1")
            .bind(INSTANCE_NAME)
            .fetch_optional(&self.pool)
            .await?;
        Ok(name.unwrap_or_else(|| DEFAULT_INSTANCE_NAME.to_owned()))
    }

    pub async fn set_instance_name(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(INSTANCE_NAME)
        .bind(name)
        .bind(timestamp(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
