//! Settings → Sign-in (Okta OIDC) and the audit log.

use super::AppError;
#[cfg(feature = "ssr")]
use super::{ports, require_admin};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The values to enter in Okta's app, each with a copy button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaAppView {
    pub app_type: String,
    pub grant_type: String,
    pub sign_in_redirect_uri: String,
    pub sign_out_redirect_uri: String,
    pub assignments: String,
    pub groups_claim: String,
}

/// The saved sign-in settings; the client secret is never sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigninSettingsView {
    pub configured: bool,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_set: bool,
    pub admin_groups: String,
    pub viewer_groups: String,
    pub tested_at: Option<String>,
    pub tested_by: Option<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    pub okta_admin_signed_in: bool,
    pub app: OktaAppView,
}

/// The form as typed; an empty secret keeps the saved one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigninForm {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub admin_groups: String,
    pub viewer_groups: String,
}

/// What a Test sign-in found (`state`: pending, passed, failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigninTestView {
    pub state: String,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub groups_source: String,
    pub verdict: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: String,
    pub at_ago: String,
    pub actor_kind: String,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub failed: bool,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageView {
    pub entries: Vec<AuditEntryView>,
    pub next: Option<String>,
}

#[server]
pub async fn get_signin_settings() -> Result<SigninSettingsView, AppError> {
    require_admin().await?;
    ports()?.access.signin_settings().await
}

/// Starts a Test sign-in of the form's values; returns the URL to open in a new tab.
#[server]
pub async fn start_signin_test(form: SigninForm) -> Result<String, AppError> {
    require_admin().await?;
    ports()?.access.start_signin_test(form).await
}

#[server]
pub async fn get_signin_test(test_id: String) -> Result<SigninTestView, AppError> {
    require_admin().await?;
    ports()?.access.signin_test(test_id).await
}

#[server]
pub async fn save_signin_settings(
    form: SigninForm,
    test_id: Option<String>,
    save_anyway: bool,
) -> Result<SigninSettingsView, AppError> {
    require_admin().await?;
    ports()?.access.save_signin(form, test_id, save_anyway).await
}

#[server]
pub async fn remove_signin_settings() -> Result<(), AppError> {
    require_admin().await?;
    ports()?.access.remove_signin().await
}

#[server]
pub async fn list_audit(
    action: String,
    actor: String,
    failed_only: bool,
    cursor: Option<String>,
) -> Result<AuditPageView, AppError> {
    require_admin().await?;
    ports()?.access.audit(action, actor, failed_only, cursor).await
}
