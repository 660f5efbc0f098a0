//! A directory's SCIM page and SCIM-only directories: shapes and server functions.

use super::AppError;
#[cfg(feature = "ssr")]
use super::{ports, require_admin};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimTokenView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub created_ago: String,
    pub last_used_ago: Option<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedScimTokenView {
    pub token: ScimTokenView,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimRequestView {
    pub at: String,
    pub ago: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// A directory's SCIM set-up: on/off, the values for Okta, tokens, recent requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimView {
    pub directory_id: String,
    pub directory_name: String,
    pub enabled: bool,
    pub pull_enabled: bool,
    pub base_url: String,
    /// (label, value) pairs in Okta's words.
    pub okta_settings: Vec<(String, String)>,
    pub tokens: Vec<ScimTokenView>,
    pub requests: Vec<ScimRequestView>,
}

#[server]
pub async fn get_scim(directory_id: String) -> Result<ScimView, AppError> {
    require_admin().await?;
    ports()?.scim.scim(directory_id).await
}

#[server]
pub async fn set_scim(directory_id: String, enabled: bool) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.scim.set_scim(directory_id, enabled).await
}

#[server]
pub async fn create_scim_token(directory_id: String, name: String) -> Result<IssuedScimTokenView, AppError> {
    require_admin().await?;
    ports()?.scim.create_scim_token(directory_id, name).await
}

#[server]
pub async fn revoke_scim_token(directory_id: String, token_id: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.scim.revoke_scim_token(directory_id, token_id).await
}

/// Creates a directory fed only by SCIM push and opens its SCIM page.
#[server]
pub async fn create_push_directory(name: String) -> Result<(), AppError> {
    require_admin().await?;
    let id = ports()?.scim.create_push_directory(name).await?;
    leptos_axum::redirect(&format!("/directories/{id}/scim"));
    Ok(())
}
