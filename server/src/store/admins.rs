use super::{now, timestamp, SqliteStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub id: uuid::Uuid,
    pub display_name: String,
}

impl SqliteStore {
    pub async fn count_admins(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM admins")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn admin(&self, id: uuid::Uuid) -> Result<Option<Admin>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT id, display_name FROM admins WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(id, display_name)| {
            let id = uuid::Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("admin id: {e}")))?;
            Ok(Admin { id, display_name })
        })
        .transpose()
    }

    pub async fn touch_admin_sign_in(&self, id: uuid::Uuid) -> Result<(), StoreError> {
        sqlx::query("UPDATE admins SET last_sign_in_at = $1 WHERE id = $2")
            .bind(timestamp(now()))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
