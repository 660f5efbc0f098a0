//! Shapes and server functions of Settings → Directory Sync, the Add
//! Directory wizard and the directory pages.

use super::AppError;
#[cfg(feature = "ssr")]
use super::{ports, require_admin};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectoryStatus {
    Healthy,
    Syncing,
    NeedsConfirmation,
    Error,
    Paused,
    NeverSynced,
}

impl DirectoryStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "Healthy",
            Self::Syncing => "Syncing",
            Self::NeedsConfirmation => "Needs confirmation",
            Self::Error => "Error",
            Self::Paused => "Paused",
            Self::NeverSynced => "Not synced yet",
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::Healthy => "badge badge-success",
            Self::Syncing => "badge badge-info",
            Self::NeedsConfirmation => "badge badge-warning",
            Self::Error => "badge badge-danger",
            Self::Paused | Self::NeverSynced => "badge badge-neutral",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressView {
    pub run_id: String,
    pub phase: String,
    pub pages: u64,
    pub users: u64,
    pub groups: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDiffView {
    pub run_id: String,
    pub users_added: i64,
    pub users_updated: i64,
    pub users_removed: i64,
    pub groups_added: i64,
    pub groups_removed: i64,
    pub users_removed_sample: Vec<String>,
    pub groups_removed_sample: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryCard {
    pub id: String,
    pub name: String,
    pub okta_domain: String,
    pub app_label: Option<String>,
    pub status: DirectoryStatus,
    pub last_success_at: Option<String>,
    /// "5 minutes ago", computed by the server so both renders agree.
    pub last_success_ago: Option<String>,
    pub next_sync_at: Option<String>,
    pub next_sync_in: Option<String>,
    /// Present users that are not suspended.
    pub active_users: i64,
    /// Present users that are suspended (not part of `active_users`).
    pub suspended: i64,
    pub groups: i64,
    pub last_error: Option<ErrorView>,
    pub failing_over_a_day: bool,
    /// What the last finished run changed, e.g. "Last sync: 3 users added, 1 removed".
    pub last_run_summary: Option<String>,
    pub progress: Option<ProgressView>,
    pub pending: Option<PendingDiffView>,
    /// False for a SCIM-only directory: nothing to sync, no Okta domain.
    pub pull_enabled: bool,
    pub scim_enabled: bool,
    /// Webhook endpoints sent this directory's events that are failing or
    /// were disabled by failures, one line each.
    pub webhook_problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardState {
    pub directory_id: String,
    pub okta_domain: String,
    pub client_id: String,
    pub jwk_json: String,
    pub pem: String,
    pub jwks_url: String,
    pub app_id: Option<String>,
    pub verified: bool,
    pub sso_configured: bool,
    /// The last "Preview first" of this draft, so it survives a reload.
    pub preview: Option<PreviewView>,
}

/// What the first sync of a draft would import, from a dry run that applied nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewView {
    pub run_id: String,
    pub finished_at: String,
    pub users: i64,
    pub groups: i64,
    pub memberships: i64,
    pub users_sample: Vec<String>,
    pub groups_sample: Vec<String>,
    pub error: Option<ErrorView>,
}

/// An unfinished wizard, listed on the Add Directory page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftView {
    pub id: String,
    pub okta_domain: String,
    pub client_id: String,
    pub created_at: String,
    pub created_ago: String,
    pub verified: bool,
}

/// Inline validation of the wizard's connection fields (`None` = fine).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCheck {
    pub okta_domain: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    pub key: String,
    pub label: String,
    /// "pass", "fail", "skipped" or "optional" (missing, needed only by an optional feature).
    pub status: String,
    pub detail: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyView {
    pub ok: bool,
    pub items: Vec<CheckView>,
    pub apps: Vec<AppView>,
    pub chosen_app_id: Option<String>,
    pub dpop_required: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub okta_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub login: String,
    pub status: String,
    pub groups: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub rows: Vec<UserRow>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub okta_id: String,
    pub name: String,
    pub kind: String,
    pub members: i64,
    pub last_membership_updated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub id: String,
    pub trigger: String,
    pub status: String,
    pub started_at: String,
    pub duration_secs: Option<f64>,
    pub api_calls: i64,
    pub rate_limited: i64,
    pub users_added: i64,
    pub users_updated: i64,
    pub users_removed: i64,
    pub groups_added: i64,
    pub groups_updated: i64,
    pub groups_removed: i64,
    pub error: Option<ErrorView>,
}

/// The directory's own settings as the form shows them (minutes, percent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub interval_minutes: i64,
    pub rate_limit_percent: i64,
    pub breaker_percent: i64,
    pub paused: bool,
}

/// A key waiting for a verify during a rotation, in the forms Okta accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextKeyView {
    pub kid: String,
    pub jwk_json: String,
    pub pem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysView {
    pub active_kid: Option<String>,
    pub next: Option<NextKeyView>,
    pub jwks_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryDetail {
    pub card: DirectoryCard,
    pub settings: SettingsView,
    pub keys: KeysView,
    pub runs: Vec<RunView>,
}

/// The settings form as submitted; the server validates every field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    pub name: String,
    pub interval_minutes: String,
    pub rate_limit_percent: String,
    pub breaker_percent: String,
}

/// Users table query: search over name, e-mail and login; optional status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    pub search: String,
    pub status: String,
    /// `name` (default), `email`, `login`, `status` or `updated`.
    #[serde(default)]
    pub sort: String,
    pub cursor: Option<String>,
}

/// Groups table query: search over names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupQuery {
    pub search: String,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsPage {
    pub rows: Vec<GroupRow>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEventView {
    pub run_id: String,
    /// `added`, `status` or `removed`.
    pub event: String,
    pub status: String,
    pub at: String,
}

/// A user page: identity, traits (every non-empty profile attribute), groups, history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub directory_id: String,
    pub directory_name: String,
    pub okta_id: String,
    pub display_name: String,
    pub login: String,
    pub email: Option<String>,
    pub status: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub removed_at: Option<String>,
    /// `pull`, `push` (SCIM) or `pull+push`.
    pub provenance: String,
    pub traits: Vec<(String, String)>,
    pub groups: Vec<NamedRef>,
    pub history: Vec<UserEventView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub okta_id: String,
    pub display_name: String,
    pub login: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub directory_id: String,
    pub directory_name: String,
    pub okta_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub last_membership_updated: Option<String>,
    pub removed: bool,
    pub members_total: i64,
    pub members: Vec<MemberView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub directory_id: String,
    pub directory_name: String,
    pub run: RunView,
    pub pages: i64,
    pub paced_waits: i64,
    pub waited_ms: i64,
    pub retries: i64,
    pub users_fetched: i64,
    pub groups_fetched: i64,
    pub groups_skipped: i64,
    pub memberships_added: i64,
    pub memberships_removed: i64,
    /// (what, names): "Users added", ["ada@…", …].
    pub sample: Vec<(String, Vec<String>)>,
}

#[server]
pub async fn list_directory_cards() -> Result<Vec<DirectoryCard>, AppError> {
    require_admin().await?;
    ports()?.directories.directory_cards().await
}

#[server]
pub async fn sync_directory_now(directory_id: String) -> Result<String, AppError> {
    require_admin().await?;
    ports()?.directories.sync_now(directory_id).await
}

#[server]
pub async fn resolve_pending_diff(directory_id: String, apply: bool) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.directories.resolve_pending(directory_id, apply).await
}

#[server]
pub async fn set_directory_paused(directory_id: String, paused: bool) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.directories.set_paused(directory_id, paused).await
}

#[server]
pub async fn delete_directory(directory_id: String, confirm_name: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?
        .directories
        .delete_directory(directory_id, confirm_name)
        .await
}

/// Generates the keypair of a new draft directory and opens its wizard.
#[server]
pub async fn start_wizard() -> Result<WizardState, AppError> {
    require_admin().await?;
    let state = ports()?.wizard.start_wizard().await?;
    // Without wasm the form posts natively; the redirect lands on the draft either way.
    leptos_axum::redirect(&format!("/settings/directory-sync/new/{}", state.directory_id));
    Ok(state)
}

#[server]
pub async fn check_connection(okta_domain: String, client_id: String) -> Result<ConnectionCheck, AppError> {
    require_admin().await?;
    Ok(ports()?.wizard.check_connection(okta_domain, client_id))
}

#[server]
pub async fn get_wizard(directory_id: String) -> Result<WizardState, AppError> {
    require_admin().await?;
    ports()?.wizard.wizard(directory_id).await
}

#[server]
pub async fn save_connection(
    directory_id: String,
    okta_domain: String,
    client_id: String,
) -> Result<WizardState, AppError> {
    require_admin().await?;
    ports()?
        .wizard
        .save_connection(directory_id, okta_domain, client_id)
        .await
}

#[server]
pub async fn verify_directory(directory_id: String, app_id: Option<String>) -> Result<VerifyView, AppError> {
    require_admin().await?;
    ports()?
        .wizard
        .verify(directory_id, app_id.filter(|a| !a.is_empty()))
        .await
}

/// "Preview first": a dry run of the verified draft; nothing is imported.
#[server]
pub async fn preview_directory(directory_id: String) -> Result<PreviewView, AppError> {
    require_admin().await?;
    ports()?.wizard.preview(directory_id).await
}

#[server]
pub async fn list_drafts() -> Result<Vec<DraftView>, AppError> {
    require_admin().await?;
    ports()?.wizard.drafts().await
}

/// Deletes an unfinished wizard with its keys; active directories are not touched.
#[server]
pub async fn discard_draft(directory_id: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.wizard.discard_draft(directory_id).await?;
    // Without wasm the form posts natively: back to the list it came from.
    leptos_axum::redirect("/settings/directory-sync/new");
    Ok(())
}

/// Activates a verified draft, starts its first sync and lands on the cards
/// (or, when it also accepts SCIM push, on its SCIM page for the token).
#[server]
pub async fn create_directory(
    directory_id: String,
    name: String,
    scim: Option<String>,
) -> Result<String, AppError> {
    require_admin().await?;
    let scim = scim.is_some_and(|v| v == "on" || v == "true");
    let id = ports()?.wizard.create_directory(directory_id, name, scim).await?;
    if scim {
        leptos_axum::redirect(&format!("/directories/{id}/scim"));
    } else {
        leptos_axum::redirect("/settings/directory-sync");
    }
    Ok(id)
}

#[server]
pub async fn get_directory(directory_id: String) -> Result<DirectoryDetail, AppError> {
    require_admin().await?;
    ports()?.directories.directory_detail(directory_id).await
}

#[server]
pub async fn list_directory_users(directory_id: String, query: UserQuery) -> Result<UsersPage, AppError> {
    require_admin().await?;
    ports()?.records.users(directory_id, query).await
}

#[server]
pub async fn update_directory_settings(
    directory_id: String,
    name: String,
    interval_minutes: String,
    rate_limit_percent: String,
    breaker_percent: String,
) -> Result<(), AppError> {
    require_admin().await?;
    let form = SettingsForm {
        name,
        interval_minutes,
        rate_limit_percent,
        breaker_percent,
    };
    ports()?.directories.update_settings(directory_id, form).await
}

/// Starts a key rotation: a new key is published next to the active one.
#[server]
pub async fn rotate_directory_key(directory_id: String) -> Result<(), AppError> {
    require_admin().await?;
    ports()?.directories.rotate_key(directory_id).await
}

/// Verifies an existing directory; during a rotation a pass switches keys.
#[server]
pub async fn verify_directory_key(directory_id: String) -> Result<VerifyView, AppError> {
    require_admin().await?;
    ports()?.directories.verify_existing(directory_id).await
}

#[server]
pub async fn list_directory_groups(directory_id: String, query: GroupQuery) -> Result<GroupsPage, AppError> {
    require_admin().await?;
    ports()?.records.groups(directory_id, query).await
}

#[server]
pub async fn get_directory_user(directory_id: String, user_id: String) -> Result<UserDetail, AppError> {
    require_admin().await?;
    ports()?.records.user(directory_id, user_id).await
}

#[server]
pub async fn get_directory_group(
    directory_id: String,
    group_id: String,
    cursor: Option<String>,
) -> Result<GroupDetail, AppError> {
    require_admin().await?;
    ports()?
        .records
        .group(directory_id, group_id, cursor.filter(|c| !c.is_empty()))
        .await
}

#[server]
pub async fn get_sync_run(directory_id: String, run_id: String) -> Result<RunDetail, AppError> {
    require_admin().await?;
    ports()?.records.run(directory_id, run_id).await
}
