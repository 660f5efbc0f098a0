//! Settings → Sign-in and the audit log for the UI.

use super::actor;
use crate::domain::{
    audit::{AuditEntry, AuditQuery},
    clock::relative,
    signin::{SettingsInput, SigninSettingsView, TestReport},
    Core,
};
use app::api::{AppError, AuditEntryView, AuditPageView, OktaAppView, SigninForm, SigninTestView};

fn settings_view(v: SigninSettingsView) -> app::api::SigninSettingsView {
    app::api::SigninSettingsView {
        configured: v.configured,
        issuer: v.issuer.unwrap_or_default(),
        client_id: v.client_id.unwrap_or_default(),
        client_secret_set: v.client_secret_set,
        admin_groups: v.admin_groups.join("\n"),
        viewer_groups: v.viewer_groups.join("\n"),
        tested_at: v.tested_at,
        tested_by: v.tested_by,
        updated_at: v.updated_at.as_deref().map(relative),
        updated_by: v.updated_by,
        okta_admin_signed_in: v.okta_admin_signed_in,
        app: OktaAppView {
            app_type: v.okta_app.app_type,
            grant_type: v.okta_app.grant_type,
            sign_in_redirect_uri: v.okta_app.sign_in_redirect_uri,
            sign_out_redirect_uri: v.okta_app.sign_out_redirect_uri,
            assignments: v.okta_app.assignments,
            groups_claim: v.okta_app.groups_claim,
        },
    }
}

fn input(form: SigninForm) -> SettingsInput {
    SettingsInput {
        issuer: form.issuer,
        client_id: form.client_id,
        // Empty means "keep the saved one"; the core decides that.
        client_secret: Some(form.client_secret),
        admin_groups: form.admin_groups,
        viewer_groups: form.viewer_groups,
    }
}

fn test_view(r: TestReport) -> SigninTestView {
    SigninTestView {
        state: r.state,
        subject: r.subject,
        email: r.email,
        name: r.name,
        groups: r.groups,
        groups_source: r.groups_source,
        verdict: r.verdict,
        error: r.error,
    }
}

fn entry_view(e: AuditEntry) -> AuditEntryView {
    AuditEntryView {
        id: e.id,
        at_ago: relative(&e.at),
        at: e.at,
        actor_kind: e.actor_kind,
        actor_name: e.actor_name,
        action: e.action,
        target: e.target,
        detail: if e.detail.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            e.detail.to_string()
        },
        failed: e.outcome == "failed",
        ip: e.ip,
    }
}

pub async fn settings(core: &Core) -> Result<app::api::SigninSettingsView, AppError> {
    Ok(settings_view(core.signin.settings().await?))
}

pub async fn start_test(core: &Core, form: SigninForm) -> Result<String, AppError> {
    let id = core.signin.start_test(&actor().await?, &input(form)).await?;
    Ok(format!("/auth/test/{id}"))
}

pub async fn test(core: &Core, test_id: String) -> Result<SigninTestView, AppError> {
    Ok(test_view(core.signin.test_report(&test_id).await?))
}

pub async fn save(
    core: &Core,
    form: SigninForm,
    test_id: Option<String>,
    save_anyway: bool,
) -> Result<app::api::SigninSettingsView, AppError> {
    let saved = core
        .signin
        .save(&actor().await?, &input(form), test_id.as_deref(), save_anyway)
        .await?;
    Ok(settings_view(saved))
}

pub async fn remove(core: &Core) -> Result<(), AppError> {
    Ok(core.signin.remove(&actor().await?).await?)
}

pub async fn audit(
    core: &Core,
    action: String,
    actor_filter: String,
    failed_only: bool,
    cursor: Option<String>,
) -> Result<AuditPageView, AppError> {
    let page = core
        .audit
        .list(&AuditQuery {
            action: Some(action),
            actor: Some(actor_filter),
            failed_only,
            cursor,
            limit: Some(50),
        })
        .await?;
    Ok(AuditPageView {
        entries: page.entries.into_iter().map(entry_view).collect(),
        next: page.next,
    })
}
