use super::{now, timestamp, SqliteStore, StoreError, WRITE};
use crate::model::{KeyPurpose, KeyState};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredKey {
    pub id: String,
    pub kid: String,
    pub purpose: KeyPurpose,
    pub state: KeyState,
    pub public_jwk: String,
    pub sealed_private: String,
}

impl SqliteStore {
    pub async fn insert_key(
        &self,
        directory_id: &str,
        kid: &str,
        purpose: KeyPurpose,
        state: KeyState,
        public_jwk: &str,
        sealed_private: &str,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO directory_keys (id, directory_id, kid, purpose, state, public_jwk, sealed_private, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(directory_id)
        .bind(kid)
        .bind(purpose)
        .bind(state)
        .bind(public_jwk)
        .bind(sealed_private)
        .bind(timestamp(now()))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Keys of a directory that are not retired, newest first.
    pub async fn live_keys(&self, directory_id: &str) -> Result<Vec<StoredKey>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kid, purpose, state, public_jwk, sealed_private FROM directory_keys
             WHERE directory_id = $1 AND state != $2 ORDER BY created_at DESC, id",
        )
        .bind(directory_id)
        .bind(KeyState::Retired)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Rotation's last step: the `next` client key becomes `active`, the old one retires.
    pub async fn promote_next_key(&self, directory_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with(WRITE).await?;
        let at = timestamp(now());
        let next = sqlx::query(
            "SELECT 1 FROM directory_keys WHERE directory_id = $1 AND purpose = $2 AND state = $3",
        )
        .bind(directory_id)
        .bind(KeyPurpose::Client)
        .bind(KeyState::Next)
        .fetch_optional(&mut *tx)
        .await?;
        if next.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE directory_keys SET state = $3, retired_at = $1
             WHERE directory_id = $2 AND purpose = $4 AND state = $5",
        )
        .bind(&at)
        .bind(directory_id)
        .bind(KeyState::Retired)
        .bind(KeyPurpose::Client)
        .bind(KeyState::Active)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE directory_keys SET state = $2 WHERE directory_id = $1 AND purpose = $3 AND state = $4",
        )
        .bind(directory_id)
        .bind(KeyState::Active)
        .bind(KeyPurpose::Client)
        .bind(KeyState::Next)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
