//! What the directory and sync services return: the product's read models.
//! Every front door converts these (the UI into its shapes, REST as JSON,
//! the CLI into tables); none of them recomputes a status or a count.

use crate::model::{DirectoryId, PauseReason, RunId, RunStatus, Trigger};
use serde::Serialize;
use utoipa::ToSchema;

/// A directory's health at a glance, decided in one place ([`super::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryStatus {
    Healthy,
    Syncing,
    /// The circuit breaker holds changes for review.
    NeedsConfirmation,
    Error,
    /// Paused by an admin.
    Paused,
    NeverSynced,
}

/// Present users split by status, so no figure counts another's users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DirectoryCounts {
    /// Present users that are not suspended.
    pub users_active: i64,
    pub users_suspended: i64,
    /// `users_active + users_suspended`.
    pub users_total: i64,
    pub groups: i64,
}

/// Why a run failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RunErrorView {
    pub code: String,
    pub message: String,
    pub hint: String,
}

/// A running sync, as far as it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SyncProgress {
    pub run_id: String,
    pub phase: String,
    pub pages: u64,
    pub users: u64,
    pub groups: u64,
}

/// Changes the circuit breaker held back for an admin's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PendingReview {
    pub run_id: RunId,
    pub users_added: i64,
    pub users_updated: i64,
    pub users_removed: i64,
    pub groups_added: i64,
    pub groups_removed: i64,
    pub users_removed_sample: Vec<String>,
    pub groups_removed_sample: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RunSummary {
    pub id: RunId,
    pub directory_id: DirectoryId,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_secs: Option<f64>,
    pub api_calls: i64,
    pub rate_limited: i64,
    pub users_added: i64,
    pub users_updated: i64,
    pub users_removed: i64,
    pub groups_added: i64,
    pub groups_updated: i64,
    pub groups_removed: i64,
    pub memberships_added: i64,
    pub memberships_removed: i64,
    pub error: Option<RunErrorView>,
}

impl RunSummary {
    /// "users 3 added, 1 removed; groups unchanged": what a finished run changed.
    pub fn change_summary(&self) -> Option<String> {
        if self.status != RunStatus::Succeeded {
            return None;
        }
        let describe = |what: &str, counts: [(i64, &str); 3]| {
            let parts: Vec<String> = counts
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, verb)| format!("{n} {verb}"))
                .collect();
            if parts.is_empty() {
                format!("{what} unchanged")
            } else {
                format!("{what} {}", parts.join(", "))
            }
        };
        Some(format!(
            "{}; {}",
            describe(
                "users",
                [
                    (self.users_added, "added"),
                    (self.users_updated, "updated"),
                    (self.users_removed, "removed")
                ]
            ),
            describe(
                "groups",
                [
                    (self.groups_added, "added"),
                    (self.groups_updated, "updated"),
                    (self.groups_removed, "removed")
                ]
            )
        ))
    }
}

/// A few names per kind of change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChangeSample {
    pub users_added: Vec<String>,
    pub users_updated: Vec<String>,
    pub users_removed: Vec<String>,
    pub groups_added: Vec<String>,
    pub groups_updated: Vec<String>,
    pub groups_removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunSummary,
    pub phase: String,
    pub pages: i64,
    pub paced_waits: i64,
    pub waited_ms: i64,
    pub retries: i64,
    pub users_fetched: i64,
    pub groups_fetched: i64,
    pub groups_skipped: i64,
    pub sample: ChangeSample,
}

/// An active directory as its card shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DirectorySummary {
    pub id: DirectoryId,
    pub name: String,
    /// The Okta domain without `https://`.
    pub okta_domain: String,
    pub app_id: Option<String>,
    pub app_label: Option<String>,
    pub status: DirectoryStatus,
    pub paused: Option<PauseReason>,
    pub counts: DirectoryCounts,
    pub last_success_at: Option<String>,
    /// Absent while paused.
    pub next_sync_at: Option<String>,
    pub failing_since: Option<String>,
    pub failing_over_a_day: bool,
    pub last_run: Option<RunSummary>,
    /// The last run's error, when it failed.
    pub last_error: Option<RunErrorView>,
    pub progress: Option<SyncProgress>,
    pub pending: Option<PendingReview>,
    pub created_at: String,
    /// The pull sync runs (false for a SCIM-only directory).
    pub pull_enabled: bool,
    /// Okta may push through SCIM.
    pub scim_enabled: bool,
}

/// The directory's own settings in the units admins type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DirectorySettings {
    pub interval_minutes: i64,
    pub rate_limit_percent: i64,
    pub breaker_percent: i64,
}

/// A public key in the forms Okta accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicKey {
    pub kid: String,
    /// The JWK to paste into Okta (Public keys → Add key).
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
    pub pem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KeysView {
    pub active_kid: Option<String>,
    /// The key waiting for a verify during a rotation.
    pub next: Option<PublicKey>,
    pub jwks_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DirectoryDetail {
    #[serde(flatten)]
    pub summary: DirectorySummary,
    pub settings: DirectorySettings,
    pub keys: KeysView,
    pub runs: Vec<RunSummary>,
}

/// What the first sync of a draft would import, from a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Preview {
    pub run_id: RunId,
    pub finished_at: String,
    pub users: i64,
    pub groups: i64,
    pub memberships: i64,
    pub users_sample: Vec<String>,
    pub groups_sample: Vec<String>,
    pub error: Option<RunErrorView>,
}

/// A directory being set up (the wizard's state), with the key to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Draft {
    pub id: DirectoryId,
    pub okta_domain: String,
    pub client_id: String,
    pub key: PublicKey,
    /// Okta can fetch the key from here ("Use a URL to fetch keys dynamically").
    pub jwks_url: String,
    pub app_id: Option<String>,
    /// The current domain, Client ID, key and app passed Verify.
    pub verified: bool,
    pub created_at: String,
    pub preview: Option<Preview>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Pass,
    Fail,
    Skipped,
    /// Missing, but only an optional feature needs it.
    Optional,
}

/// One line of the Verify checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CheckItem {
    pub key: String,
    pub label: String,
    pub status: CheckOutcome,
    pub detail: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AppRef {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VerifyResult {
    pub ok: bool,
    pub items: Vec<CheckItem>,
    /// Apps the service app can read, when more than one could be synced.
    pub apps: Vec<AppRef>,
    pub chosen_app_id: Option<String>,
    pub dpop_required: Option<bool>,
}

/// A directory in either state, tagged by `state`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DirectoryResource {
    Draft(Box<Draft>),
    Active(Box<DirectoryDetail>),
}
