//! The sync aggregate: Sync Now, live progress, run history, and the review
//! of changes the circuit breaker held back. The engine underneath fetches
//! and applies; the rules about when an admin may do what live here.

use super::{
    access::Actor,
    audit::{Audit, AuditAction},
    directories::{sample_of, ChangeSample, Directories, RunDetail, RunErrorView, RunSummary, SyncProgress},
    DomainError, DomainResult,
};
use crate::{
    model::{DirectoryId, RunId, RunStatus, Trigger},
    store::{RunRow, Store},
    sync::SyncError,
};

/// The sync engine's refusals in the domain's words.
pub(crate) fn sync_error(e: SyncError) -> DomainError {
    match e {
        SyncError::AlreadySyncing => DomainError::conflict("This directory is already syncing.")
            .with_hint("Wait for the running sync to finish; its progress is on the directory's card."),
        SyncError::NotFound => DomainError::not_found("The directory"),
        SyncError::NothingToConfirm => DomainError::conflict("There are no held changes to review any more."),
        SyncError::Store(e) => e.into(),
        SyncError::Paused => DomainError::conflict("This directory is paused; resume it first."),
        SyncError::StillSyncing(after) => DomainError::conflict(format!(
            "A sync of this directory was still running after {} s; the refresh will be tried again.",
            after.as_secs()
        )),
        SyncError::Refresh(message) => DomainError::upstream(message),
    }
}

pub(crate) fn error_of(run: &RunRow) -> Option<RunErrorView> {
    Some(RunErrorView {
        code: run.error_code.clone()?,
        message: run.error_message.clone().unwrap_or_default(),
        hint: run.error_hint.clone().unwrap_or_default(),
    })
}

pub(crate) fn run_summary(run: &RunRow) -> DomainResult<RunSummary> {
    Ok(RunSummary {
        id: RunId::parse(&run.id)?,
        directory_id: DirectoryId::parse(&run.directory_id)?,
        trigger: run.trigger,
        status: run.status,
        duration_secs: run
            .finished_at
            .as_deref()
            .and_then(|end| super::clock::seconds_between(&run.started_at, end)),
        started_at: run.started_at.clone(),
        finished_at: run.finished_at.clone(),
        api_calls: run.api_calls,
        rate_limited: run.rate_limited,
        users_added: run.users_added,
        users_updated: run.users_updated,
        users_removed: run.users_removed,
        groups_added: run.groups_added,
        groups_updated: run.groups_updated,
        groups_removed: run.groups_removed,
        memberships_added: run.memberships_added,
        memberships_removed: run.memberships_removed,
        error: error_of(run),
    })
}

/// The runs listed for a directory (newest first).
pub const RUN_HISTORY: i64 = 25;

#[derive(Clone)]
pub struct SyncService {
    directories: Directories,
    store: Store,
    audit: Audit,
}

impl SyncService {
    pub fn new(directories: Directories, store: Store, audit: Audit) -> Self {
        Self {
            directories,
            store,
            audit,
        }
    }

    /// Sync Now: starts a run in the background and returns its id. A paused
    /// directory must be resumed first; one run per directory at a time.
    pub async fn sync_now(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<RunId> {
        actor.require_write()?;
        let d = self.directories.active(id).await?;
        if !d.pull_enabled {
            return Err(DomainError::conflict(
                "This directory only receives SCIM pushes from Okta; there is nothing to pull.",
            )
            .with_hint("Okta pushes changes as they happen; its SCIM page lists the requests received."));
        }
        if d.paused && d.paused_reason.as_ref().is_some_and(|r| r.is_admin()) {
            return Err(
                DomainError::conflict("This directory is paused; resume it to sync.").with_hint(
                    "Resume it on its card, with the API (POST …/resume) or `roster directories resume`.",
                ),
            );
        }
        let run_id = self
            .directories
            .engine()
            .sync_now(id.as_str(), Trigger::Manual)
            .await
            .map_err(sync_error)?;
        self.audit
            .record(
                actor,
                AuditAction::SyncStarted,
                Some(id.as_str()),
                serde_json::json!({"run_id": run_id}),
            )
            .await;
        Ok(RunId::parse(&run_id)?)
    }

    /// How far the running sync got, if one runs.
    pub async fn progress(&self, id: &DirectoryId) -> DomainResult<Option<SyncProgress>> {
        self.directories.active(id).await?;
        Ok(self
            .directories
            .engine()
            .progress(id.as_str())
            .await?
            .map(|p| SyncProgress {
                run_id: p.run_id,
                phase: p.phase,
                pages: p.pages,
                users: p.users,
                groups: p.groups,
            }))
    }

    pub async fn runs(&self, id: &DirectoryId, limit: i64) -> DomainResult<Vec<RunSummary>> {
        self.directories.active(id).await?;
        self.store
            .runs(id.as_str(), limit.clamp(1, 200))
            .await?
            .iter()
            .map(run_summary)
            .collect()
    }

    /// One run of one directory (never another directory's, whatever the id).
    pub async fn run(&self, id: &DirectoryId, run_id: &RunId) -> DomainResult<RunDetail> {
        self.directories.active(id).await?;
        let run = self
            .store
            .directory_run(id.as_str(), run_id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("The sync run"))?;
        let sample = sample_of(&run);
        Ok(RunDetail {
            run: run_summary(&run)?,
            phase: run.phase.clone(),
            pages: run.pages,
            paced_waits: run.paced_waits,
            waited_ms: run.waited_ms,
            retries: run.retries,
            users_fetched: run.users_fetched,
            groups_fetched: run.groups_fetched,
            groups_skipped: run.groups_skipped,
            sample: ChangeSample {
                users_added: sample.users_added,
                users_updated: sample.users_updated,
                users_removed: sample.users_removed,
                groups_added: sample.groups_added,
                groups_updated: sample.groups_updated,
                groups_removed: sample.groups_removed,
            },
        })
    }

    /// Applies (or discards) the changes the circuit breaker held back.
    pub async fn resolve_pending(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        apply: bool,
    ) -> DomainResult<RunStatus> {
        actor.require_write()?;
        self.directories.active(id).await?;
        let engine = self.directories.engine();
        if apply {
            let outcome = engine.confirm(id.as_str()).await.map_err(sync_error)?;
            tracing::info!(directory_id = %id, run_id = outcome.run_id, "held changes applied");
            self.audit
                .record(
                    actor,
                    AuditAction::ReviewApplied,
                    Some(id.as_str()),
                    serde_json::json!({"run_id": outcome.run_id}),
                )
                .await;
            Ok(outcome.status)
        } else {
            engine.discard(id.as_str()).await.map_err(sync_error)?;
            tracing::info!(directory_id = %id, "held changes discarded");
            self.audit
                .record(
                    actor,
                    AuditAction::ReviewDiscarded,
                    Some(id.as_str()),
                    serde_json::json!({}),
                )
                .await;
            Ok(RunStatus::Discarded)
        }
    }

    /// Starts scheduled syncs as they fall due.
    pub fn spawn_scheduler(&self, tick: std::time::Duration) -> tokio::task::JoinHandle<()> {
        self.directories.engine().spawn_scheduler(tick)
    }
}
