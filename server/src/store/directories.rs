use super::{Store, StoreError};

/// A directory as the list page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRow {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub created_at: String,
}

impl Store {
    pub async fn count_directories(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM directories")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn list_directories(&self) -> Result<Vec<DirectoryRow>, StoreError> {
        let rows: Vec<(String, String, String, String)> =
            sqlx::query_as("SELECT id, name, provider, created_at FROM directories ORDER BY name, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, provider, created_at)| DirectoryRow {
                id,
                name,
                provider,
                created_at,
            })
            .collect())
    }
}
