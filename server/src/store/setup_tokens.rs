use super::{now, parse_timestamp, timestamp, Admin, SqliteStore, StoreError, WRITE};

/// What happened to a presented setup token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// The first admin was created.
    Created(Admin),
    /// Admins exist: the first of them was signed in (a recovery link).
    Recovered(Admin),
    /// Unknown, already used, or expired.
    Invalid,
}

impl SqliteStore {
    pub async fn insert_setup_token(
        &self,
        token_hash: &str,
        valid_for: time::Duration,
    ) -> Result<(), StoreError> {
        let created = now();
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(timestamp(created))
            .bind(timestamp(created + valid_for))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Spends a setup token and creates the first admin (or, when admins
    /// exist, picks the first of them), all in one transaction: two browsers
    /// racing with the same link get one admin between them.
    pub async fn redeem_setup_token(
        &self,
        token_hash: &str,
        display_name: &str,
    ) -> Result<RedeemOutcome, StoreError> {
        let mut tx = self.writer.begin_with(WRITE).await?;
        let expires: Option<String> = sqlx::query_scalar(
            "SELECT expires_at FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(expires) = expires else {
            return Ok(RedeemOutcome::Invalid);
        };
        let at = now();
        if parse_timestamp(&expires)? <= at {
            return Ok(RedeemOutcome::Invalid);
        }
        let spent =
            sqlx::query("UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
                .bind(timestamp(at))
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
        if spent.rows_affected() != 1 {
            return Ok(RedeemOutcome::Invalid);
        }
        let existing: Option<(String, String)> =
            sqlx::query_as("SELECT id, display_name FROM admins ORDER BY created_at, id LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((id, display_name)) = existing {
            let id = uuid::Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("admin id: {e}")))?;
            sqlx::query("UPDATE admins SET last_sign_in_at = $1 WHERE id = $2")
                .bind(timestamp(at))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(RedeemOutcome::Recovered(Admin { id, display_name }));
        }
        let admin = Admin {
            id: uuid::Uuid::new_v4(),
            display_name: display_name.to_owned(),
        };
        sqlx::query(
            "INSERT INTO admins (id, display_name, created_at, last_sign_in_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(admin.id.to_string())
        .bind(&admin.display_name)
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await?;
        // Other outstanding links must not create more admins.
        sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RedeemOutcome::Created(admin))
    }
}
