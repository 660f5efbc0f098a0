//! The audit log: who did what, when, to what, from where. Written by the
//! core's own mutations (never by a front door), kept a year by default.

use super::{access::Actor, DomainError, DomainResult};
use crate::store::{AuditFilter, NewAuditEntry, Store};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything the log records. The dotted name is what pages, the API and
/// filters show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    SignIn,
    SignInRefused,
    SignOut,
    SessionsRevoked,
    SignInSettingsSaved,
    SignInSettingsRemoved,
    SignInTested,
    SetupLinkUsed,
    RecoveryLinkIssued,
    RecoveryLinkUsed,
    DirectoryDraftStarted,
    DirectoryDraftDiscarded,
    DirectoryCreated,
    DirectoryDeleted,
    DirectoryPaused,
    DirectoryResumed,
    DirectorySettingsChanged,
    KeyRotationStarted,
    SyncStarted,
    ReviewApplied,
    ReviewDiscarded,
    ApiTokenCreated,
    ApiTokenRevoked,
    InstanceRenamed,
    ScimEnabled,
    ScimDisabled,
    ScimTokenCreated,
    ScimTokenRevoked,
    InstanceExported,
    InstanceImported,
    WebhookCreated,
    WebhookChanged,
    WebhookEnabled,
    WebhookDisabled,
    WebhookSecretRotated,
    WebhookDeleted,
    WebhookReplayed,
    WebhookTested,
    TestMailSent,
    OktaHookCreated,
    LogPollingChanged,
}

impl AuditAction {
    pub const ALL: &'static [AuditAction] = &[
        Self::SignIn,
        Self::SignInRefused,
        Self::SignOut,
        Self::SessionsRevoked,
        Self::SignInSettingsSaved,
        Self::SignInSettingsRemoved,
        Self::SignInTested,
        Self::SetupLinkUsed,
        Self::RecoveryLinkIssued,
        Self::RecoveryLinkUsed,
        Self::DirectoryDraftStarted,
        Self::DirectoryDraftDiscarded,
        Self::DirectoryCreated,
        Self::DirectoryDeleted,
        Self::DirectoryPaused,
        Self::DirectoryResumed,
        Self::DirectorySettingsChanged,
        Self::KeyRotationStarted,
        Self::SyncStarted,
        Self::ReviewApplied,
        Self::ReviewDiscarded,
        Self::ApiTokenCreated,
        Self::ApiTokenRevoked,
        Self::InstanceRenamed,
        Self::ScimEnabled,
        Self::ScimDisabled,
        Self::ScimTokenCreated,
        Self::ScimTokenRevoked,
        Self::InstanceExported,
        Self::InstanceImported,
        Self::WebhookCreated,
        Self::WebhookChanged,
        Self::WebhookEnabled,
        Self::WebhookDisabled,
        Self::WebhookSecretRotated,
        Self::WebhookDeleted,
        Self::WebhookReplayed,
        Self::WebhookTested,
        Self::TestMailSent,
        Self::OktaHookCreated,
        Self::LogPollingChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "signin.succeeded",
            Self::SignInRefused => "signin.failed",
            Self::SignOut => "signin.signed_out",
            Self::SessionsRevoked => "signin.sessions_revoked",
            Self::SignInSettingsSaved => "signin_settings.saved",
            Self::SignInSettingsRemoved => "signin_settings.removed",
            Self::SignInTested => "signin_settings.tested",
            Self::SetupLinkUsed => "setup_link.used",
            Self::RecoveryLinkIssued => "recovery_link.issued",
            Self::RecoveryLinkUsed => "recovery_link.used",
            Self::DirectoryDraftStarted => "directory.key_generated",
            Self::DirectoryDraftDiscarded => "directory.draft_discarded",
            Self::DirectoryCreated => "directory.created",
            Self::DirectoryDeleted => "directory.deleted",
            Self::DirectoryPaused => "directory.paused",
            Self::DirectoryResumed => "directory.resumed",
            Self::DirectorySettingsChanged => "directory.settings_changed",
            Self::KeyRotationStarted => "directory.key_rotation_started",
            Self::SyncStarted => "sync.started",
            Self::ReviewApplied => "sync.review_applied",
            Self::ReviewDiscarded => "sync.review_discarded",
            Self::ApiTokenCreated => "api_token.created",
            Self::ApiTokenRevoked => "api_token.revoked",
            Self::InstanceRenamed => "instance.renamed",
            Self::ScimEnabled => "scim.enabled",
            Self::ScimDisabled => "scim.disabled",
            Self::ScimTokenCreated => "scim_token.created",
            Self::ScimTokenRevoked => "scim_token.revoked",
            Self::InstanceExported => "instance.exported",
            Self::InstanceImported => "instance.imported",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookChanged => "webhook.changed",
            Self::WebhookEnabled => "webhook.enabled",
            Self::WebhookDisabled => "webhook.disabled",
            Self::WebhookSecretRotated => "webhook.secret_rotated",
            Self::WebhookDeleted => "webhook.deleted",
            Self::WebhookReplayed => "webhook.replayed",
            Self::WebhookTested => "webhook.tested",
            Self::TestMailSent => "notifications.test_mail",
            Self::OktaHookCreated => "okta_hook.created",
            Self::LogPollingChanged => "log_polling.changed",
        }
    }
}

/// One entry as every front door shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// `admin`, `viewer`, `api-token`, `host`, `system` or `anonymous`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// `ok` or `failed`.
    pub outcome: String,
    pub ip: Option<String>,
}

/// A page of entries, newest first; `next` continues after the last one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<String>,
}

/// Browsing filters, as raw text from any front door.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub failed_only: bool,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub const DEFAULT_RETENTION: time::Duration = time::Duration::days(365);

#[derive(Clone)]
pub struct Audit {
    store: Store,
}

impl Audit {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn record(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: Option<&str>,
        detail: serde_json::Value,
    ) {
        self.write(actor, action, target, detail, true).await;
    }

    pub async fn record_failure(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: Option<&str>,
        detail: serde_json::Value,
    ) {
        self.write(actor, action, target, detail, false).await;
    }

    /// The change it records has already happened, so a failed write is
    /// logged loudly rather than turned into an error for the caller.
    async fn write(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: Option<&str>,
        detail: serde_json::Value,
        ok: bool,
    ) {
        let id = actor.id_string();
        let entry = NewAuditEntry {
            actor_kind: actor.kind_str(),
            actor_id: id.as_deref(),
            actor_name: &actor.name,
            action: action.as_str(),
            target,
            detail: &detail,
            ok,
            ip: actor.ip.as_deref(),
        };
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::error!(error = %e, action = action.as_str(), "could not write the audit log");
        }
    }

    pub async fn list(&self, query: &AuditQuery) -> DomainResult<AuditPage> {
        let limit = query.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(DomainError::invalid("limit must be between 1 and 200."));
        }
        let action = query.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
        if let Some(action) = action {
            let known = AuditAction::ALL
                .iter()
                .any(|a| a.as_str() == action || a.as_str().starts_with(action) && action.ends_with('.'));
            if !known {
                return Err(
                    DomainError::invalid(format!("“{action}” is not an audit action."))
                        .with_hint("Use a name such as signin.succeeded, or a prefix such as directory."),
                );
            }
        }
        let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| DomainError::invalid("The cursor is not one this API gave out."))?,
            ),
            None => None,
        };
        let actor = query.actor.as_deref().map(str::trim).filter(|a| !a.is_empty());
        if actor.is_some_and(|a| a.len() > 200) {
            return Err(DomainError::invalid(
                "The actor filter is longer than 200 characters.",
            ));
        }
        let mut rows = self
            .store
            .audit_entries(&AuditFilter {
                action: action.map(str::to_owned),
                actor: actor.map(str::to_owned),
                failed_only: query.failed_only,
                before,
                limit,
            })
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last().map(|r| r.id.to_string())).flatten();
        Ok(AuditPage {
            entries: rows
                .into_iter()
                .map(|r| AuditEntry {
                    id: r.id,
                    at: r.at,
                    actor_kind: r.actor_kind,
                    actor_id: r.actor_id,
                    actor_name: r.actor_name,
                    action: r.action,
                    target: r.target,
                    detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
                    outcome: r.outcome,
                    ip: r.ip,
                })
                .collect(),
            next,
        })
    }

    /// Drops entries older than `keep`.
    pub async fn prune(&self, keep: time::Duration) -> DomainResult<u64> {
        Ok(self.store.prune_audit(keep).await?)
    }
}
