//! Settings → API tokens: shapes and server functions.

use super::AppError;
#[cfg(feature = "ssr")]
use super::{ports, require_admin};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: String,
    pub name: String,
    /// `read-only` or `read-write`.
    pub scope: String,
    /// The first characters of the secret, to tell tokens apart.
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    /// "3 minutes ago".
    pub created_ago: String,
    /// "3 minutes ago", or `None` when never used.
    pub last_used_ago: Option<String>,
    pub revoked: bool,
}

/// A token just created, with its secret: shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTokenView {
    pub token: ApiTokenView,
    pub secret: String,
}

#[server]
pub async fn list_api_tokens() -> Result<Vec<ApiTokenView>, AppError> {
    require_admin().await?;
    ports()?.instance.api_tokens().await
}

#[server]
pub async fn create_api_token(name: String, scope: String) -> Result<IssuedTokenView, AppError> {
    require_admin().await?;
    ports()?.instance.create_api_token(name, scope).await
}

#[server]
pub async fn revoke_api_token(token_id: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.instance.revoke_api_token(token_id).await
}
