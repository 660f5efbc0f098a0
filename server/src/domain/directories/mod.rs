//! The directories aggregate: a draft with keys, its connection, Verify,
//! Preview, Create, settings, pause/resume, delete and key rotation, plus the
//! read models every front door shows. The product's rules about directories
//! live here and nowhere else.

mod lifecycle;
mod settings;
mod status;
mod views;

pub use lifecycle::{DirectoryService, PublicKeyView, NOT_VERIFIED};
pub use settings::{RawSyncSettings, SyncSettings};
pub use status::directory_status;
pub use views::*;

use super::{
    access::Actor,
    audit::{Audit, AuditAction},
    sync::run_summary,
    DomainError, DomainResult,
};
use crate::{
    model::{DirectoryId, DirectoryState, OktaAppId, PauseReason, RunId, Trigger},
    okta::{CheckStatus, VerifyReport},
    store::{DiffSample, Directory, RunRow, Store},
    sync::SyncEngine,
};

/// The directories service; cheap to clone.
#[derive(Clone)]
pub struct Directories {
    lifecycle: DirectoryService,
    store: Store,
    audit: Audit,
}

fn not_found() -> DomainError {
    DomainError::not_found("The directory")
}

/// `https://` is implied; a plain-http test origin keeps its scheme so it re-validates.
fn okta_domain(d: &Directory) -> String {
    d.okta_origin
        .strip_prefix("https://")
        .unwrap_or(&d.okta_origin)
        .to_owned()
}

pub(crate) fn sample_of(run: &RunRow) -> DiffSample {
    run.diff_sample
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

fn preview_of(run: &RunRow) -> DomainResult<Preview> {
    let sample = sample_of(run);
    Ok(Preview {
        run_id: RunId::parse(&run.id)?,
        finished_at: run.finished_at.clone().unwrap_or_default(),
        users: run.users_added,
        groups: run.groups_added,
        memberships: run.memberships_added,
        users_sample: sample.users_added,
        groups_sample: sample.groups_added,
        error: super::sync::error_of(run),
    })
}

fn verify_result(report: &VerifyReport) -> VerifyResult {
    VerifyResult {
        ok: report.ok(),
        items: report
            .items
            .iter()
            .map(|i| CheckItem {
                key: i.key.clone(),
                label: i.label.clone(),
                status: match i.status {
                    CheckStatus::Pass => CheckOutcome::Pass,
                    CheckStatus::Fail => CheckOutcome::Fail,
                    CheckStatus::Skipped => CheckOutcome::Skipped,
                    CheckStatus::Optional => CheckOutcome::Optional,
                },
                detail: i.detail.clone(),
                hint: i.hint.clone(),
            })
            .collect(),
        apps: report
            .apps
            .iter()
            .map(|a| AppRef {
                id: a.id.clone(),
                label: a.label.clone(),
            })
            .collect(),
        chosen_app_id: report.chosen_app.as_ref().map(|a| a.id.clone()),
        dpop_required: report.dpop_required,
    }
}

impl Directories {
    pub fn new(lifecycle: DirectoryService, store: Store, audit: Audit) -> Self {
        Self {
            lifecycle,
            store,
            audit,
        }
    }

    pub fn engine(&self) -> &SyncEngine {
        self.lifecycle.engine()
    }

    /// An active directory (drafts are not directories yet).
    pub(crate) async fn active(&self, id: &DirectoryId) -> DomainResult<Directory> {
        match self.store.directory(id.as_str()).await? {
            Some(d) if d.state == DirectoryState::Active => Ok(d),
            _ => Err(not_found()),
        }
    }

    async fn draft_row(&self, id: &DirectoryId) -> DomainResult<Directory> {
        match self.store.directory(id.as_str()).await? {
            Some(d) if d.state == DirectoryState::Draft => Ok(d),
            Some(_) => Err(DomainError::conflict(
                "This directory was already created; open it from Directory Sync.",
            )),
            None => Err(DomainError::not_found("The draft directory")),
        }
    }

    /// A directory whatever its state: the wizard's draft or an active one.
    pub async fn lookup(&self, id: &DirectoryId) -> DomainResult<DirectoryResource> {
        match self.store.directory(id.as_str()).await? {
            Some(d) if d.state == DirectoryState::Draft => {
                Ok(DirectoryResource::Draft(Box::new(self.draft_view(&d).await?)))
            }
            Some(_) => Ok(DirectoryResource::Active(Box::new(self.get(id).await?))),
            None => Err(not_found()),
        }
    }

    /// Deletes an active directory (its name typed as confirmation) or
    /// discards a draft (no confirmation: nothing was synced).
    pub async fn remove(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        confirm_name: Option<&str>,
    ) -> DomainResult<()> {
        match self.store.directory(id.as_str()).await? {
            Some(d) if d.state == DirectoryState::Draft => self.discard_draft(actor, id).await,
            Some(_) => self.delete(actor, id, confirm_name.unwrap_or_default()).await,
            None => Err(not_found()),
        }
    }

    /// An active directory's name (for page titles and breadcrumbs).
    pub async fn name(&self, id: &DirectoryId) -> DomainResult<String> {
        Ok(self.active(id).await?.name)
    }

    /// Active directories by name, each with its status and counts.
    pub async fn list(&self) -> DomainResult<Vec<DirectorySummary>> {
        let mut out = Vec::new();
        for d in self.store.list_directories().await? {
            out.push(self.summary(&d).await?);
        }
        Ok(out)
    }

    pub async fn get(&self, id: &DirectoryId) -> DomainResult<DirectoryDetail> {
        let d = self.active(id).await?;
        let runs = self
            .store
            .runs(id.as_str(), 25)
            .await?
            .iter()
            .map(run_summary)
            .collect::<DomainResult<_>>()?;
        Ok(DirectoryDetail {
            settings: DirectorySettings {
                interval_minutes: d.sync_interval_secs / 60,
                rate_limit_percent: (d.rate_limit_share * 100.0).round() as i64,
                breaker_percent: (d.breaker_threshold * 100.0).round() as i64,
            },
            keys: self.keys(id).await?,
            summary: self.summary(&d).await?,
            runs,
        })
    }

    async fn summary(&self, d: &Directory) -> DomainResult<DirectorySummary> {
        let counts = self.store.directory_counts(&d.id).await?;
        let last_run = self
            .store
            .runs(&d.id, 1)
            .await?
            .first()
            .map(run_summary)
            .transpose()?;
        let pending = self.store.pending_confirmation(&d.id).await?;
        let progress = self.engine().progress(&d.id).await?.map(|p| SyncProgress {
            run_id: p.run_id,
            phase: p.phase,
            pages: p.pages,
            users: p.users,
            groups: p.groups,
        });
        let last_error = last_run
            .as_ref()
            .filter(|r| r.status == crate::model::RunStatus::Failed)
            .and_then(|r| r.error.clone());
        let status = directory_status(d, progress.is_some(), pending.is_some(), last_error.is_some());
        let pending = pending
            .map(|run| -> DomainResult<PendingReview> {
                let sample = sample_of(&run);
                Ok(PendingReview {
                    run_id: RunId::parse(&run.id)?,
                    users_added: run.users_added,
                    users_updated: run.users_updated,
                    users_removed: run.users_removed,
                    groups_added: run.groups_added,
                    groups_removed: run.groups_removed,
                    users_removed_sample: sample.users_removed,
                    groups_removed_sample: sample.groups_removed,
                })
            })
            .transpose()?;
        Ok(DirectorySummary {
            id: DirectoryId::parse(&d.id)?,
            name: d.name.clone(),
            okta_domain: d
                .okta_origin
                .split_once("://")
                .map_or(d.okta_origin.as_str(), |(_, h)| h)
                .to_owned(),
            app_id: d.app_id.clone(),
            app_label: d.app_label.clone(),
            status,
            paused: if d.paused { d.paused_reason.clone() } else { None },
            counts: DirectoryCounts {
                users_active: counts.users - counts.suspended,
                users_suspended: counts.suspended,
                users_total: counts.users,
                groups: counts.groups,
            },
            last_success_at: d.last_success_at.clone(),
            next_sync_at: if d.paused { None } else { d.next_sync_at.clone() },
            failing_since: d.failing_since.clone(),
            failing_over_a_day: super::clock::over_a_day(d.failing_since.as_deref()),
            last_run,
            last_error,
            progress,
            pending,
            created_at: d.created_at.clone(),
            pull_enabled: d.pull_enabled,
            scim_enabled: d.scim_enabled,
        })
    }

    pub async fn keys(&self, id: &DirectoryId) -> DomainResult<KeysView> {
        let (active_kid, next_kid) = self.lifecycle.key_states(id.as_str()).await?;
        // While rotating, `public_key` is the waiting key; otherwise the active one.
        let key = self.lifecycle.public_key(id.as_str()).await?;
        let next = next_kid.map(|kid| PublicKey {
            kid,
            jwk: serde_json::to_value(&key.jwk).unwrap_or_default(),
            pem: key.pem.clone(),
        });
        Ok(KeysView {
            active_kid,
            next,
            jwks_url: key.jwks_url,
        })
    }

    async fn draft_view(&self, d: &Directory) -> DomainResult<Draft> {
        let key = self.lifecycle.public_key(&d.id).await?;
        let preview = self
            .store
            .latest_finished_run(&d.id, Trigger::Preview)
            .await?
            .as_ref()
            .map(preview_of)
            .transpose()?;
        Ok(Draft {
            id: DirectoryId::parse(&d.id)?,
            okta_domain: okta_domain(d),
            client_id: d.client_id.clone(),
            key: PublicKey {
                kid: key.jwk.kid.clone(),
                jwk: serde_json::to_value(&key.jwk).unwrap_or_default(),
                pem: key.pem,
            },
            jwks_url: key.jwks_url,
            app_id: d.app_id.clone(),
            verified: self.lifecycle.is_verified(d).await?,
            created_at: d.created_at.clone(),
            preview,
        })
    }

    /// Unfinished setups, newest first.
    pub async fn drafts(&self) -> DomainResult<Vec<Draft>> {
        let mut out = Vec::new();
        for d in self.store.list_drafts().await? {
            out.push(self.draft_view(&d).await?);
        }
        Ok(out)
    }

    /// A new draft, with its Okta domain and Client ID when given (both or
    /// neither); they are checked before any key is made, so bad input
    /// creates nothing.
    pub async fn start_draft_with(
        &self,
        actor: &Actor,
        domain: Option<&str>,
        client_id: Option<&str>,
    ) -> DomainResult<Draft> {
        let connection = match (domain, client_id) {
            (Some(domain), Some(client_id)) => Some((domain, client_id)),
            (None, None) => None,
            _ => return Err(DomainError::invalid(
                "Give both okta_domain and client_id, or neither (and set them later with PUT …/connection).",
            )),
        };
        if let Some((domain, client_id)) = connection {
            if let (Some(problem), _) | (_, Some(problem)) = self.check_connection(domain, client_id) {
                return Err(DomainError::invalid(problem));
            }
        }
        let draft = self.start_draft(actor).await?;
        match connection {
            Some((domain, client_id)) => self.set_connection(actor, &draft.id, domain, client_id).await,
            None => Ok(draft),
        }
    }

    /// "Generate Keypair": a new draft with its sealed keys.
    pub async fn start_draft(&self, actor: &Actor) -> DomainResult<Draft> {
        actor.require_write()?;
        let key = self.lifecycle.create_draft_with_keys().await?;
        self.audit
            .record(
                actor,
                AuditAction::DirectoryDraftStarted,
                Some(&key.directory_id),
                serde_json::json!({"kid": key.jwk.kid}),
            )
            .await;
        self.draft(&DirectoryId::parse(&key.directory_id)?).await
    }

    pub async fn draft(&self, id: &DirectoryId) -> DomainResult<Draft> {
        let d = self.draft_row(id).await?;
        self.draft_view(&d).await
    }

    /// What is wrong with each connection field, if anything (inline validation).
    pub fn check_connection(&self, domain: &str, client_id: &str) -> (Option<String>, Option<String>) {
        self.lifecycle.check_connection(domain, client_id)
    }

    /// Stores a draft's Okta domain and Client ID (keeping its chosen app).
    pub async fn set_connection(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        domain: &str,
        client_id: &str,
    ) -> DomainResult<Draft> {
        actor.require_write()?;
        let d = self.draft_row(id).await?;
        let app = d.app_id.as_deref().zip(d.app_label.as_deref());
        self.lifecycle
            .set_connection(id.as_str(), domain, client_id, app)
            .await?;
        self.draft(id).await
    }

    /// Verify Now on a draft; `app` picks among several readable apps.
    pub async fn verify_draft(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        app: Option<&OktaAppId>,
    ) -> DomainResult<VerifyResult> {
        actor.require_write()?;
        let d = self.draft_row(id).await?;
        if d.okta_origin.is_empty() || d.client_id.is_empty() {
            return Err(DomainError::invalid("Enter the Okta domain and Client ID first."));
        }
        if let Some(app) = app {
            self.lifecycle
                .set_connection(
                    id.as_str(),
                    &d.okta_origin,
                    &d.client_id,
                    Some((app.as_str(), app.as_str())),
                )
                .await?;
        }
        Ok(verify_result(&self.lifecycle.verify(id.as_str(), None).await?))
    }

    /// Verify on an active directory; during a rotation a pass switches keys.
    pub async fn verify_active(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<VerifyResult> {
        actor.require_write()?;
        self.active(id).await?;
        Ok(verify_result(&self.lifecycle.verify(id.as_str(), None).await?))
    }

    /// Verify whichever the directory is: a draft or an active one.
    pub async fn verify(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        app: Option<&OktaAppId>,
    ) -> DomainResult<VerifyResult> {
        match self.store.directory(id.as_str()).await? {
            Some(d) if d.state == DirectoryState::Draft => self.verify_draft(actor, id, app).await,
            Some(_) => self.verify_active(actor, id).await,
            None => Err(not_found()),
        }
    }

    /// "Preview first": a dry run of a verified draft; imports nothing.
    pub async fn preview(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<Preview> {
        actor.require_write()?;
        self.draft_row(id).await?;
        let outcome = self.lifecycle.preview(id.as_str()).await?;
        let run = self
            .store
            .run(&outcome.run_id)
            .await?
            .ok_or_else(|| DomainError::not_found("The preview run"))?;
        preview_of(&run)
    }

    /// "Create": activates a verified draft and starts its first sync;
    /// `accept_scim` also lets Okta push to it ("both").
    pub async fn create(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        name: &str,
        accept_scim: bool,
    ) -> DomainResult<DirectorySummary> {
        actor.require_write()?;
        self.draft_row(id).await?;
        self.lifecycle.create(id.as_str(), name).await?;
        if accept_scim {
            self.store.set_scim_enabled(id.as_str(), true).await?;
        }
        let d = self.active(id).await?;
        self.audit
            .record(
                actor,
                AuditAction::DirectoryCreated,
                Some(id.as_str()),
                serde_json::json!({"name": d.name, "scim": accept_scim}),
            )
            .await;
        self.summary(&d).await
    }

    /// Deletes an unfinished setup with its keys; active directories are not touched.
    pub async fn discard_draft(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<()> {
        actor.require_write()?;
        self.draft_row(id).await?;
        if self.engine().progress(id.as_str()).await?.is_some() {
            return Err(DomainError::conflict(
                "Wait for the preview to finish, then discard the draft.",
            ));
        }
        self.store.delete_directory(id.as_str()).await?;
        tracing::info!(directory_id = %id, "draft directory discarded");
        self.audit
            .record(
                actor,
                AuditAction::DirectoryDraftDiscarded,
                Some(id.as_str()),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }

    pub async fn update_settings(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        raw: &RawSyncSettings<'_>,
    ) -> DomainResult<()> {
        actor.require_write()?;
        self.active(id).await?;
        self.lifecycle.update_settings(id.as_str(), raw).await?;
        tracing::info!(directory_id = %id, "directory settings updated");
        self.audit
            .record(
                actor,
                AuditAction::DirectorySettingsChanged,
                Some(id.as_str()),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }

    /// Stops scheduled syncs until resumed (Sync Now is refused meanwhile).
    pub async fn pause(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<()> {
        actor.require_write()?;
        self.active(id).await?;
        self.store
            .set_paused(id.as_str(), Some(&PauseReason::Admin))
            .await?;
        tracing::info!(directory_id = %id, "directory paused");
        self.audit
            .record(
                actor,
                AuditAction::DirectoryPaused,
                Some(id.as_str()),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }

    /// Resumes an admin's pause, or clears an error pause (the next run re-checks).
    pub async fn resume(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<()> {
        actor.require_write()?;
        self.active(id).await?;
        self.store.set_paused(id.as_str(), None).await?;
        tracing::info!(directory_id = %id, "directory resumed");
        self.audit
            .record(
                actor,
                AuditAction::DirectoryResumed,
                Some(id.as_str()),
                serde_json::json!({}),
            )
            .await;
        Ok(())
    }

    /// Deletes a directory and everything synced from it; the admin must type
    /// its name, and a running sync must finish first.
    pub async fn delete(&self, actor: &Actor, id: &DirectoryId, confirm_name: &str) -> DomainResult<()> {
        actor.require_write()?;
        let d = self.active(id).await?;
        if confirm_name.trim() != d.name {
            return Err(DomainError::invalid(format!(
                "Type the directory's name, “{}”, to confirm.",
                d.name
            )));
        }
        if self.engine().progress(id.as_str()).await?.is_some() {
            return Err(DomainError::conflict(
                "Wait for the running sync to finish, then delete.",
            ));
        }
        self.store.delete_directory(id.as_str()).await?;
        tracing::info!(directory_id = %id, "directory deleted");
        self.audit
            .record(
                actor,
                AuditAction::DirectoryDeleted,
                Some(id.as_str()),
                serde_json::json!({"name": d.name}),
            )
            .await;
        Ok(())
    }

    /// Starts a key rotation: a new key is published next to the active one.
    pub async fn rotate_key(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<KeysView> {
        actor.require_write()?;
        self.active(id).await?;
        self.lifecycle.rotate_key(id.as_str()).await?;
        tracing::info!(directory_id = %id, "key rotation started");
        self.audit
            .record(
                actor,
                AuditAction::KeyRotationStarted,
                Some(id.as_str()),
                serde_json::json!({}),
            )
            .await;
        self.keys(id).await
    }

    /// The public JWKS Okta fetches keys from (active and next client keys).
    pub async fn jwks(&self, id: &DirectoryId) -> DomainResult<serde_json::Value> {
        self.lifecycle.jwks(id.as_str()).await
    }
}
