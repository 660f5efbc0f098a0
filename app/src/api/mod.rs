//! The contract between the UI and the server: data shapes, the error type
//! every server function returns, and the server functions themselves.
//! Server functions only translate; the domain lives behind [`Portal`].

mod access;
mod directories;
mod error;
mod instance_name;
mod okta_hook;
#[cfg(feature = "ssr")]
mod ports;
mod scim;
mod tokens;
mod webhooks;

pub use access::*;
pub use directories::*;
pub use error::AppError;
pub use instance_name::InstanceName;
pub use okta_hook::*;
#[cfg(feature = "ssr")]
pub use ports::{
    AccessPort, BoxFuture, DirectoryPort, InstancePort, Ports, RecordsPort, ScimPort, WebhooksPort,
    WizardPort,
};
pub use scim::*;
pub use tokens::*;
pub use webhooks::*;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The administrator behind the current request. The server's session guard
/// puts it into the request extensions; server functions read it from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentAdmin {
    pub id: String,
    pub display_name: String,
    /// `admin` or `viewer` (read-only: the server refuses its changes).
    pub role: String,
}

impl CurrentAdmin {
    pub fn is_viewer(&self) -> bool {
        self.role == "viewer"
    }
}

/// What the top bar needs on every page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub admin: CurrentAdmin,
    pub instance_name: String,
}

/// Facts shown on the Overview page; every field is read from the running system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub version: String,
    pub database_kind: String,
    pub database_location: String,
    pub schema_version: i64,
    pub directories: i64,
    pub admins: i64,
    pub started_at: String,
    /// Problems that need an admin (failing syncs, held reviews, …).
    pub attention: Vec<AttentionItem>,
}

/// One problem on the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionItem {
    pub title: String,
    pub action: String,
    pub link: String,
    /// "mailed 2 times, last 3 hours ago", "not mailed (e-mail is off)", …
    pub mailed: String,
}

/// Settings → Notifications: where mail goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSettingsView {
    pub email_enabled: bool,
    pub smtp_server: Option<String>,
    pub recipients: Vec<String>,
}

/// One configured directory, as listed on Settings → Directory Sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySummary {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub created_at: String,
}

/// Reads the admin placed in the request by the server's session guard.
#[cfg(feature = "ssr")]
pub async fn require_admin() -> Result<CurrentAdmin, AppError> {
    leptos_axum::extract::<axum::Extension<CurrentAdmin>>()
        .await
        .map(|axum::Extension(admin)| admin)
        .map_err(|_| AppError::Unauthorized)
}

#[cfg(feature = "ssr")]
pub(crate) fn ports() -> Result<Ports, AppError> {
    use_context::<Ports>().ok_or_else(|| {
        AppError::Internal("The portal is not configured on this server; see the server log.".into())
    })
}

#[server]
pub async fn get_session_info() -> Result<SessionInfo, AppError> {
    let admin = require_admin().await?;
    let instance_name = ports()?.instance.instance_name().await?;
    Ok(SessionInfo { admin, instance_name })
}

#[server]
pub async fn get_overview() -> Result<Overview, AppError> {
    require_admin().await?;
    ports()?.instance.overview().await
}

#[server]
pub async fn list_directories() -> Result<Vec<DirectorySummary>, AppError> {
    require_admin().await?;
    ports()?.directories.directories().await
}

#[server]
pub async fn rename_instance(name: String) -> Result<String, AppError> {
    require_admin().await?;
    let name = InstanceName::parse(&name).map_err(AppError::Invalid)?;
    ports()?.instance.rename_instance(name.clone()).await?;
    Ok(name.into_inner())
}

#[server]
pub async fn get_notification_settings() -> Result<NotificationSettingsView, AppError> {
    require_admin().await?;
    ports()?.instance.notification_settings().await
}

/// Sends a test mail to the recipients; the answer says to whom.
#[server]
pub async fn send_test_mail() -> Result<String, AppError> {
    require_admin().await?;
    ports()?.instance.send_test_mail().await
}
