use super::{now, parse_timestamp, timestamp, Admin, Store, StoreError};

/// What happened to a presented setup token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// The first admin was created.
    Created(Admin),
    /// Unknown, already used, or expired.
    Invalid,
    /// An admin exists already; setup links are no longer accepted.
    AlreadySetUp,
}

impl Store {
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

    /// Spends a setup token and creates the first admin, all in one transaction:
    /// two browsers racing with the same link get one admin between them.
    pub async fn redeem_setup_token(
        &self,
        token_hash: &str,
        display_name: &str,
    ) -> Result<RedeemOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
            .fetch_one(&mut *tx)
            .await?;
        if admins > 0 {
            return Ok(RedeemOutcome::AlreadySetUp);
        }
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
