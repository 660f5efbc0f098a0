//! A directory's Okta Event Hook page: shapes and server functions.

use super::AppError;
#[cfg(feature = "ssr")]
use super::{ports, require_admin};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What Okta's Create Event Hook form needs, and how the hook is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSetupView {
    pub url: String,
    pub header_name: String,
    pub secret: Option<String>,
    pub event_types: Vec<String>,
    pub verified_ago: Option<String>,
    pub last_delivery_at: Option<String>,
    pub last_delivery_ago: Option<String>,
    pub deliveries: i64,
    pub curl: String,
    pub terraform: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaHookView {
    pub directory_id: String,
    pub directory_name: String,
    pub pull_enabled: bool,
    pub setup: Option<HookSetupView>,
    /// System Log polling (none for a SCIM-only directory).
    pub polling: Option<LogPollingUi>,
}

/// System Log polling as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPollingUi {
    pub enabled: bool,
    /// "off", "healthy", "failing" or "gap".
    pub state: String,
    pub summary: String,
    pub interval_secs: i64,
    pub reconcile_hours: i64,
    pub cursor_at: Option<String>,
    pub last_poll_ago: Option<String>,
    pub last_events: i64,
    pub polls: i64,
    pub last_error: Option<String>,
    pub gap_reason: Option<String>,
    pub next_sync_incremental: bool,
}

#[server]
pub async fn get_okta_hook(directory_id: String) -> Result<OktaHookView, AppError> {
    require_admin().await?;
    ports()?.directories.okta_hook(directory_id).await
}

#[server]
pub async fn create_okta_hook(directory_id: String, header_name: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?
        .directories
        .create_okta_hook(directory_id, header_name)
        .await
}

/// Turns System Log polling on (`enabled` = "true") with its intervals, or off.
#[server]
pub async fn set_log_polling(
    directory_id: String,
    enabled: String,
    interval_secs: Option<String>,
    reconcile_hours: Option<String>,
) -> Result<(), AppError> {
    require_admin().await?;
    ports()?
        .directories
        .set_log_polling(directory_id, enabled == "true", interval_secs, reconcile_hours)
        .await
}
