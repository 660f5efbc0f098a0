//! Runs syncs: one per directory at a time, a global cap on concurrent runs,
//! live progress, the schedule, and confirm/discard for tripped breakers.

use super::{
    credentials,
    progress::{Progress, ProgressHandle},
    run::{self, RunContext, RunEnd, RunError},
};
use crate::{
    crypto::MasterKey,
    model::{KeyState, PauseReason, RunStatus, Trigger},
    okta::{ErrorClass, OktaClient, OktaError, Pacer, RetryPolicy, SYNC_SCOPES},
    store::{RunFailure, Store, StoreError},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::Semaphore;

/// Called after a sync's changes committed, with the Okta ids of the users it
/// removed (deprovisioned, suspended or unassigned). It may do I/O: Okta
/// sign-in revokes those people's sessions there, and the sessions of anyone
/// who left the group that made them an admin.
pub trait DeprovisionHook: Send + Sync + 'static {
    fn after_apply<'a>(
        &'a self,
        directory_id: &'a str,
        removed_okta_ids: &'a [String],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;
}

/// A hook that only logs (tools and tests that drive the engine alone).
pub struct LogDeprovisions;

impl DeprovisionHook for LogDeprovisions {
    fn after_apply<'a>(
        &'a self,
        directory_id: &'a str,
        removed_okta_ids: &'a [String],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if !removed_okta_ids.is_empty() {
                tracing::info!(
                    directory_id,
                    count = removed_okta_ids.len(),
                    "users removed by sync"
                );
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this directory is already syncing")]
    AlreadySyncing,
    #[error("directory not found")]
    NotFound,
    #[error("no sync run is waiting for confirmation")]
    NothingToConfirm,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The result of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub run_id: String,
    pub status: RunStatus,
    pub error: Option<OktaErrorSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaErrorSummary {
    pub code: String,
    pub class: ErrorClass,
    pub message: String,
    pub hint: String,
}

#[derive(Clone)]
pub struct EngineConfig {
    pub max_concurrent_runs: usize,
    pub retry: RetryPolicy,
    pub extra_origins: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 2,
            retry: RetryPolicy::default(),
            extra_origins: Vec::new(),
        }
    }
}

struct Inner {
    store: Store,
    master_key: Arc<MasterKey>,
    http: reqwest::Client,
    config: EngineConfig,
    running: Mutex<HashMap<String, ProgressHandle>>,
    slots: Semaphore,
    hook: Arc<dyn DeprovisionHook>,
}

#[derive(Clone)]
pub struct SyncEngine {
    inner: Arc<Inner>,
}

/// Releases the directory's "running" mark however the run ends.
struct RunningGuard {
    inner: Arc<Inner>,
    directory_id: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(&self.directory_id);
        }
    }
}

/// Okta's API never redirects; refusing redirects keeps requests on the org.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")))
        .build()
}

impl SyncEngine {
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        http: reqwest::Client,
        config: EngineConfig,
    ) -> Self {
        Self::with_hook(store, master_key, http, config, Arc::new(LogDeprovisions))
    }

    pub fn with_hook(
        store: Store,
        master_key: Arc<MasterKey>,
        http: reqwest::Client,
        config: EngineConfig,
        hook: Arc<dyn DeprovisionHook>,
    ) -> Self {
        let slots = Semaphore::new(config.max_concurrent_runs.max(1));
        Self {
            inner: Arc::new(Inner {
                store,
                master_key,
                http,
                config,
                running: Mutex::new(HashMap::new()),
                slots,
                hook,
            }),
        }
    }

    /// At start-up: runs a crash left behind are failed, nothing of them applied.
    pub async fn recover(&self) -> Result<u64, StoreError> {
        self.inner.store.fail_interrupted_runs().await
    }

    pub fn progress(&self, directory_id: &str) -> Option<Progress> {
        let running = self.inner.running.lock().ok()?;
        running.get(directory_id).map(ProgressHandle::snapshot)
    }

    fn claim(&self, directory_id: &str) -> Result<(RunningGuard, ProgressHandle), SyncError> {
        let mut running = self.inner.running.lock().map_err(|_| SyncError::AlreadySyncing)?;
        if running.contains_key(directory_id) {
            return Err(SyncError::AlreadySyncing);
        }
        let progress = ProgressHandle::new("");
        running.insert(directory_id.to_owned(), progress.clone());
        Ok((
            RunningGuard {
                inner: Arc::clone(&self.inner),
                directory_id: directory_id.to_owned(),
            },
            progress,
        ))
    }

    /// Starts a run in the background and returns its id at once.
    pub async fn sync_now(&self, directory_id: &str, trigger: Trigger) -> Result<String, SyncError> {
        let (guard, progress) = self.claim(directory_id)?;
        let run_id = self.inner.store.start_run(directory_id, trigger).await?;
        let engine = self.clone();
        let id = run_id.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.run_claimed(guard, progress, &id, trigger).await {
                tracing::error!(error = %e, run_id = id, "sync run could not be recorded");
            }
        });
        Ok(run_id)
    }

    /// Runs to the end (tests, benchmark, CLI).
    pub async fn sync_and_wait(&self, directory_id: &str, trigger: Trigger) -> Result<RunOutcome, SyncError> {
        let (guard, progress) = self.claim(directory_id)?;
        let run_id = self.inner.store.start_run(directory_id, trigger).await?;
        self.run_claimed(guard, progress, &run_id, trigger).await
    }

    async fn run_claimed(
        &self,
        guard: RunningGuard,
        progress: ProgressHandle,
        run_id: &str,
        trigger: Trigger,
    ) -> Result<RunOutcome, SyncError> {
        let _guard = guard;
        if let Ok(mut p) = progress_lock(&progress) {
            p.run_id = run_id.to_owned();
        }
        let _slot = self
            .inner
            .slots
            .acquire()
            .await
            .map_err(|_| SyncError::AlreadySyncing)?;
        let store = &self.inner.store;
        let directory = store
            .directory(&_guard.directory_id)
            .await?
            .ok_or(SyncError::NotFound)?;
        let result = match credentials::load(
            &self.inner.master_key,
            &directory,
            &store.live_keys(&directory.id).await?,
            KeyState::Active,
            &self.inner.config.extra_origins,
        ) {
            Ok(creds) => {
                let client = OktaClient::new(
                    self.inner.http.clone(),
                    creds,
                    &SYNC_SCOPES,
                    Pacer::new(directory.rate_limit_share),
                    self.inner.config.retry,
                );
                if let Some(dpop) = directory.dpop_required {
                    client.assume_dpop(dpop);
                }
                let ctx = RunContext {
                    store,
                    client: &client,
                    directory: &directory,
                    run_id,
                    progress: &progress,
                    dry_run: trigger == Trigger::Preview,
                };
                let result = run::execute(&ctx).await;
                // Final counters, whatever happened.
                let counters = run::counters(&client.stats, &progress);
                store.update_run_progress(run_id, "done", &counters).await?;
                result
            }
            Err(e) => Err(RunError::Okta(e)),
        };
        let outcome = self.finish(&directory.id, run_id, result, trigger).await?;
        if trigger != Trigger::Preview {
            let next = time::OffsetDateTime::now_utc()
                + time::Duration::seconds(directory.sync_interval_secs.max(60));
            store.schedule_next_sync(&directory.id, next).await?;
        }
        Ok(outcome)
    }

    async fn finish(
        &self,
        directory_id: &str,
        run_id: &str,
        result: Result<RunEnd, RunError>,
        trigger: Trigger,
    ) -> Result<RunOutcome, SyncError> {
        let store = &self.inner.store;
        let outcome = |status: RunStatus, error: Option<OktaErrorSummary>| RunOutcome {
            run_id: run_id.to_owned(),
            status,
            error,
        };
        match result {
            Ok(RunEnd::Applied { removed_users, .. }) => {
                // A diff held back earlier was computed against the state this
                // run just replaced: applying it later would be wrong.
                if let Some(old) = store.pending_confirmation(directory_id).await? {
                    store.clear_staging(&old.id).await?;
                    store.end_run(&old.id, RunStatus::Discarded, None).await?;
                }
                self.inner.hook.after_apply(directory_id, &removed_users).await;
                Ok(outcome(RunStatus::Succeeded, None))
            }
            Ok(RunEnd::NeedsConfirmation { .. }) => {
                // A newer pending diff replaces an older one.
                if let Some(old) = store.pending_confirmation(directory_id).await? {
                    if old.id != run_id {
                        store.clear_staging(&old.id).await?;
                        store.end_run(&old.id, RunStatus::Discarded, None).await?;
                    }
                }
                store.end_run(run_id, RunStatus::NeedsConfirmation, None).await?;
                Ok(outcome(RunStatus::NeedsConfirmation, None))
            }
            Ok(RunEnd::Previewed { .. }) => {
                store.clear_staging(run_id).await?;
                store.end_run(run_id, RunStatus::Previewed, None).await?;
                Ok(outcome(RunStatus::Previewed, None))
            }
            Err(error) => {
                store.clear_staging(run_id).await?;
                let summary = summarize(&error);
                store
                    .end_run(
                        run_id,
                        RunStatus::Failed,
                        Some(&RunFailure {
                            code: &summary.code,
                            class: class_name(summary.class),
                            message: &summary.message,
                            hint: &summary.hint,
                        }),
                    )
                    .await?;
                // A preview only reports: the directory's health and schedule stay as they were.
                if trigger != Trigger::Preview {
                    store.mark_directory_failing(directory_id).await?;
                }
                if summary.class == ErrorClass::Configuration && trigger != Trigger::Preview {
                    // Retrying cannot help until the admin fixes and re-verifies.
                    store
                        .set_paused(directory_id, Some(&PauseReason::Error(summary.code.clone())))
                        .await?;
                }
                tracing::warn!(
                    directory_id,
                    run_id,
                    code = summary.code,
                    "sync failed: {}",
                    summary.message
                );
                Ok(outcome(RunStatus::Failed, Some(summary)))
            }
        }
    }

    /// Applies a diff the breaker held back.
    pub async fn confirm(&self, directory_id: &str) -> Result<RunOutcome, SyncError> {
        let (_guard, _progress) = self.claim(directory_id)?;
        let store = &self.inner.store;
        let pending = store
            .pending_confirmation(directory_id)
            .await?
            .ok_or(SyncError::NothingToConfirm)?;
        let removed = store.apply_run(&pending.id, directory_id).await?;
        self.inner.hook.after_apply(directory_id, &removed).await;
        Ok(RunOutcome {
            run_id: pending.id,
            status: RunStatus::Succeeded,
            error: None,
        })
    }

    pub async fn discard(&self, directory_id: &str) -> Result<(), SyncError> {
        let (_guard, _progress) = self.claim(directory_id)?;
        let store = &self.inner.store;
        let pending = store
            .pending_confirmation(directory_id)
            .await?
            .ok_or(SyncError::NothingToConfirm)?;
        store.clear_staging(&pending.id).await?;
        store.end_run(&pending.id, RunStatus::Discarded, None).await?;
        Ok(())
    }

    /// Checks for due directories every `tick` and starts their runs.
    pub fn spawn_scheduler(&self, tick: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            loop {
                interval.tick().await;
                let due = match engine
                    .inner
                    .store
                    .due_directories(time::OffsetDateTime::now_utc())
                    .await
                {
                    Ok(due) => due,
                    Err(e) => {
                        tracing::error!(error = %e, "scheduler could not read due directories");
                        continue;
                    }
                };
                for directory_id in due {
                    match engine.sync_now(&directory_id, Trigger::Schedule).await {
                        Ok(_) | Err(SyncError::AlreadySyncing) => {}
                        Err(e) => tracing::error!(error = %e, directory_id, "scheduled sync did not start"),
                    }
                }
            }
        })
    }
}

fn progress_lock(progress: &ProgressHandle) -> Result<std::sync::MutexGuard<'_, Progress>, ()> {
    progress.lock().map_err(|_| ())
}

fn class_name(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Transient => "transient",
        ErrorClass::Configuration => "configuration",
    }
}

fn summarize(error: &RunError) -> OktaErrorSummary {
    match error {
        RunError::Okta(e) => OktaErrorSummary {
            code: e.code().to_owned(),
            class: e.class(),
            message: e.to_string(),
            hint: e.hint(),
        },
        RunError::NoApp => {
            let e = OktaError::NotFound("app to sync".into());
            OktaErrorSummary {
                code: "no_app".into(),
                class: ErrorClass::Configuration,
                message: error.to_string(),
                hint: e.hint(),
            }
        }
        RunError::Store(_) | RunError::WriterStopped => OktaErrorSummary {
            code: "store".into(),
            class: ErrorClass::Transient,
            message: format!("Roster's database failed during the sync: {error}"),
            hint: "Check the server log and free disk space; Roster retries on the next schedule.".into(),
        },
    }
}
