//! Runs syncs: one per directory at a time across every Roster process on
//! the database (a lease row, renewed while the run goes, checked by its
//! apply), a cap on concurrent runs per process, live progress (in memory
//! here, in the run's row for the other processes), the schedule, and
//! confirm/discard for tripped breakers.

use super::{
    credentials,
    progress::{Progress, ProgressHandle},
    refresh::{self, RefreshEnd, RefreshTargets},
    run::{self, RunContext, RunEnd, RunError},
};
use crate::{
    crypto::MasterKey,
    model::{KeyState, PauseReason, RunMode, RunStatus, Trigger},
    okta::{ErrorClass, OktaClient, OktaError, Pacer, RetryPolicy, SYNC_SCOPES},
    store::{Directory, RunCounters, RunFailure, Store, StoreError},
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
    #[error("the directory is paused")]
    Paused,
    #[error("the sync is still running after {0:?}")]
    StillSyncing(Duration),
    #[error("refresh failed: {0}")]
    Refresh(String),
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

pub(super) struct Inner {
    pub(super) store: Store,
    master_key: Arc<MasterKey>,
    http: reqwest::Client,
    config: EngineConfig,
    running: Mutex<HashMap<String, ProgressHandle>>,
    slots: Semaphore,
    pub(super) hook: Arc<dyn DeprovisionHook>,
    /// This process, as named in the leases it holds.
    holder: String,
    /// System Log clients by directory, with what they were built from: a
    /// poll every minute reuses its access token instead of asking anew.
    pub(super) log_clients: Mutex<HashMap<String, (String, Arc<OktaClient>)>>,
    /// One pacer per directory (at its share), shared by its syncs, refreshes
    /// and polls: together they stay within the share of each bucket.
    pacers: Mutex<HashMap<String, (u64, Arc<Pacer>)>>,
}

/// A lease lasts this long without renewal: a process that dies mid-sync
/// has its run failed and the directory free again within this time.
const LEASE_TTL: time::Duration = time::Duration::seconds(10);
/// How often a running sync renews its lease and publishes its progress.
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(3);
/// How long a refresh waits for the lease when it may not go ahead (a first
/// sync, an incremental run, another refresh).
const REFRESH_WAITS_FOR_SYNC: Duration = Duration::from_secs(300);
/// How often each process looks for runs whose process died.
const SWEEP_EVERY: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct SyncEngine {
    pub(super) inner: Arc<Inner>,
}

/// Releases the directory's "running" mark and its lease however the run
/// ends (the lease by `release`, or, if the task was dropped, in the background).
struct RunningGuard {
    inner: Arc<Inner>,
    directory_id: String,
    lease: String,
    released: bool,
}

impl RunningGuard {
    async fn release(mut self) {
        self.released = true;
        if let Err(e) = self
            .inner
            .store
            .release_sync_lease(&self.directory_id, &self.lease)
            .await
        {
            tracing::warn!(error = %e, directory_id = self.directory_id, "could not release the sync lease; it expires on its own");
        }
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(&self.directory_id);
        }
        if !self.released {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let store = self.inner.store.clone();
                let (directory_id, lease) = (self.directory_id.clone(), self.lease.clone());
                runtime.spawn(async move { store.release_sync_lease(&directory_id, &lease).await });
            }
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
                log_clients: Mutex::new(HashMap::new()),
                pacers: Mutex::new(HashMap::new()),
                holder: format!(
                    "{}:{}:{}",
                    std::env::var("HOSTNAME").unwrap_or_else(|_| "roster".into()),
                    std::process::id(),
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                ),
            }),
        }
    }

    /// Runs whose process died (their lease is gone) are failed, nothing of
    /// them applied. At start-up and every few seconds on every process.
    pub async fn recover(&self) -> Result<u64, StoreError> {
        self.inner.store.fail_interrupted_runs().await
    }

    /// The running sync of a directory, on this process or any other.
    pub async fn progress(&self, directory_id: &str) -> Result<Option<Progress>, StoreError> {
        let local = self
            .inner
            .running
            .lock()
            .ok()
            .and_then(|running| running.get(directory_id).map(ProgressHandle::snapshot));
        if let Some(progress) = local {
            return Ok(Some(progress));
        }
        Ok(self
            .inner
            .store
            .running_run(directory_id)
            .await?
            .map(|run| Progress {
                run_id: run.id,
                phase: run.phase,
                pages: run.pages.max(0) as u64,
                users: run.users_fetched.max(0) as u64,
                groups: run.groups_fetched.max(0) as u64,
                groups_skipped: run.groups_skipped.max(0) as u64,
            }))
    }

    /// Marks the directory running here, then takes its lease: refused when
    /// this process or another already syncs it.
    async fn claim(&self, directory_id: &str) -> Result<(RunningGuard, ProgressHandle), SyncError> {
        let progress = ProgressHandle::new("");
        {
            let mut running = self.inner.running.lock().map_err(|_| SyncError::AlreadySyncing)?;
            if running.contains_key(directory_id) {
                return Err(SyncError::AlreadySyncing);
            }
            running.insert(directory_id.to_owned(), progress.clone());
        }
        let mut guard = RunningGuard {
            inner: Arc::clone(&self.inner),
            directory_id: directory_id.to_owned(),
            lease: uuid::Uuid::new_v4().to_string(),
            // Nothing to release until the lease is taken.
            released: true,
        };
        let taken = self
            .inner
            .store
            .claim_sync_lease(directory_id, &guard.lease, &self.inner.holder, LEASE_TTL)
            .await?;
        if !taken {
            return Err(SyncError::AlreadySyncing);
        }
        guard.released = false;
        Ok((guard, progress))
    }

    /// Starts a run: its row, named by the lease so other processes see it.
    async fn start(&self, guard: &RunningGuard, trigger: Trigger) -> Result<String, SyncError> {
        let store = &self.inner.store;
        let run_id = store.start_run(&guard.directory_id, trigger).await?;
        store
            .attach_lease_run(&guard.directory_id, &guard.lease, &run_id)
            .await?;
        Ok(run_id)
    }

    /// Starts a run in the background and returns its id at once.
    pub async fn sync_now(&self, directory_id: &str, trigger: Trigger) -> Result<String, SyncError> {
        let (guard, progress) = self.claim(directory_id).await?;
        let run_id = self.start(&guard, trigger).await?;
        let engine = self.clone();
        let id = run_id.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.run_claimed(guard, progress, &id, trigger).await {
                tracing::error!(error = %e, run_id = id, "sync run could not be recorded");
            }
        });
        Ok(run_id)
    }

    /// Re-reads `targets` from Okta and applies them (see `refresh`) under
    /// the directory's sync lease — or, when a full sync holds it, at once
    /// beside it: that sync's apply leaves refreshed records alone, so its
    /// older fetch never lands after the fresher refresh. People it takes out
    /// have their sessions revoked.
    pub async fn refresh(
        &self,
        directory_id: &str,
        targets: &RefreshTargets,
    ) -> Result<RefreshEnd, SyncError> {
        let store = &self.inner.store;
        let lease = uuid::Uuid::new_v4().to_string();
        let waited = std::time::Instant::now();
        while !store
            .claim_sync_lease(directory_id, &lease, &self.inner.holder, LEASE_TTL)
            .await?
        {
            if self.may_overtake(directory_id).await? {
                return self.refresh_applied(directory_id, targets, None).await;
            }
            if waited.elapsed() > REFRESH_WAITS_FOR_SYNC {
                return Err(SyncError::StillSyncing(REFRESH_WAITS_FOR_SYNC));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let guard = RunningGuard {
            inner: Arc::clone(&self.inner),
            directory_id: directory_id.to_owned(),
            lease,
            released: false,
        };
        let renewal = {
            let (store, directory_id, lease) = (store.clone(), directory_id.to_owned(), guard.lease.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(LEASE_RENEW_EVERY);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = store.renew_sync_lease(&directory_id, &lease, LEASE_TTL).await {
                        tracing::warn!(error = %e, directory_id, "could not renew the lease of a refresh");
                    }
                }
            })
        };
        let result = self
            .refresh_leased(directory_id, targets, Some(&guard.lease))
            .await;
        renewal.abort();
        guard.release().await;
        self.after_refresh(directory_id, result?).await
    }

    /// A refresh beside a running full sync: applied at once, the sync's
    /// apply leaving what it wrote (the store's refresh fences).
    async fn refresh_applied(
        &self,
        directory_id: &str,
        targets: &RefreshTargets,
        lease: Option<&str>,
    ) -> Result<RefreshEnd, SyncError> {
        let end = self.refresh_leased(directory_id, targets, lease).await?;
        self.after_refresh(directory_id, end).await
    }

    /// People a refresh took out have their sessions revoked.
    async fn after_refresh(&self, directory_id: &str, end: RefreshEnd) -> Result<RefreshEnd, SyncError> {
        if let RefreshEnd::Applied(outcome) = &end {
            if !outcome.users_removed.is_empty() {
                self.inner
                    .hook
                    .after_apply(directory_id, &outcome.users_removed)
                    .await;
            }
        }
        Ok(end)
    }

    /// Whether a refresh may go ahead of the run holding the lease: a full
    /// sync of a directory with live records (its apply leaves refreshed
    /// records alone). Not a first sync (nothing live yet), a preview or an
    /// incremental run (a few seconds).
    async fn may_overtake(&self, directory_id: &str) -> Result<bool, SyncError> {
        let Some(run) = self.inner.store.running_run(directory_id).await? else {
            return Ok(false);
        };
        let live = self
            .inner
            .store
            .directory(directory_id)
            .await?
            .is_some_and(|d| d.last_success_at.is_some());
        // A scheduled run decides whether it is incremental before it lists
        // anything: until it lists (a phase past "starting"), it is waited for.
        let phase = self.progress(directory_id).await?.map(|p| p.phase);
        let listing = phase.is_some_and(|p| !p.is_empty() && p != "starting");
        Ok(live
            && listing
            && run.mode == RunMode::Full
            && matches!(
                run.trigger,
                Trigger::Manual | Trigger::Schedule | Trigger::Reconcile
            ))
    }

    async fn refresh_leased(
        &self,
        directory_id: &str,
        targets: &RefreshTargets,
        lease: Option<&str>,
    ) -> Result<RefreshEnd, SyncError> {
        let store = &self.inner.store;
        let directory = store.directory(directory_id).await?.ok_or(SyncError::NotFound)?;
        if directory.paused {
            return Err(SyncError::Paused);
        }
        let client = self
            .client_for(&directory)
            .await?
            .map_err(|e| SyncError::Refresh(e.to_string()))?
            .with_priority();
        refresh::refresh(store, &client, &directory, targets, lease)
            .await
            .map_err(|e| match e {
                refresh::RefreshError::Store(e) => SyncError::Store(e),
                e => SyncError::Refresh(e.to_string()),
            })
    }

    /// An Okta client for the directory's active key, paced at its share
    /// (the inner error: its keys cannot be used).
    pub(super) async fn client_for(
        &self,
        directory: &Directory,
    ) -> Result<Result<OktaClient, OktaError>, SyncError> {
        self.client_with(directory, &SYNC_SCOPES).await
    }

    /// The same, asking for `scopes`.
    pub(super) async fn client_with(
        &self,
        directory: &Directory,
        scopes: &[&str],
    ) -> Result<Result<OktaClient, OktaError>, SyncError> {
        let keys = self.inner.store.live_keys(&directory.id).await?;
        Ok(credentials::load(
            &self.inner.master_key,
            directory,
            &keys,
            KeyState::Active,
            &self.inner.config.extra_origins,
        )
        .map(|creds| {
            let client = OktaClient::new(
                self.inner.http.clone(),
                creds,
                scopes,
                self.pacer_for(directory),
                self.inner.config.retry,
            );
            if let Some(dpop) = directory.dpop_required {
                client.assume_dpop(dpop);
            }
            client
        }))
    }

    /// The directory's pacer (a new one when its share changed).
    fn pacer_for(&self, directory: &Directory) -> Arc<Pacer> {
        let share = directory.rate_limit_share.to_bits();
        let Ok(mut pacers) = self.inner.pacers.lock() else {
            return Pacer::new(directory.rate_limit_share);
        };
        match pacers.get(&directory.id) {
            Some((at, pacer)) if *at == share => Arc::clone(pacer),
            _ => {
                let pacer = Pacer::new(directory.rate_limit_share);
                pacers.insert(directory.id.clone(), (share, Arc::clone(&pacer)));
                pacer
            }
        }
    }

    /// Runs to the end (tests, benchmark, CLI).
    pub async fn sync_and_wait(&self, directory_id: &str, trigger: Trigger) -> Result<RunOutcome, SyncError> {
        let (guard, progress) = self.claim(directory_id).await?;
        let run_id = self.start(&guard, trigger).await?;
        self.run_claimed(guard, progress, &run_id, trigger).await
    }

    async fn run_claimed(
        &self,
        guard: RunningGuard,
        progress: ProgressHandle,
        run_id: &str,
        trigger: Trigger,
    ) -> Result<RunOutcome, SyncError> {
        if let Ok(mut p) = progress_lock(&progress) {
            p.run_id = run_id.to_owned();
        }
        let heartbeat = self.spawn_heartbeat(&guard, &progress, run_id);
        let result = self.run_leased(&guard, &progress, run_id, trigger).await;
        heartbeat.abort();
        guard.release().await;
        result
    }

    /// Renews the lease and publishes progress (for the other processes)
    /// while the run goes.
    fn spawn_heartbeat(
        &self,
        guard: &RunningGuard,
        progress: &ProgressHandle,
        run_id: &str,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.inner.store.clone();
        let (directory_id, lease, run_id) =
            (guard.directory_id.clone(), guard.lease.clone(), run_id.to_owned());
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LEASE_RENEW_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match store.renew_sync_lease(&directory_id, &lease, LEASE_TTL).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // Its apply will refuse to commit (fencing).
                        tracing::warn!(
                            directory_id,
                            run_id,
                            "sync lease lost; this run will not be applied"
                        );
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, directory_id, "could not renew the sync lease"),
                }
                let p = progress.snapshot();
                let counters = RunCounters {
                    pages: p.pages as i64,
                    users_fetched: p.users as i64,
                    groups_fetched: p.groups as i64,
                    groups_skipped: p.groups_skipped as i64,
                    ..RunCounters::default()
                };
                if let Err(e) = store.publish_progress(&run_id, &p.phase, &counters).await {
                    tracing::warn!(error = %e, run_id, "could not publish sync progress");
                }
            }
        })
    }

    async fn run_leased(
        &self,
        guard: &RunningGuard,
        progress: &ProgressHandle,
        run_id: &str,
        trigger: Trigger,
    ) -> Result<RunOutcome, SyncError> {
        let _slot = self
            .inner
            .slots
            .acquire()
            .await
            .map_err(|_| SyncError::AlreadySyncing)?;
        let store = &self.inner.store;
        let directory = store
            .directory(&guard.directory_id)
            .await?
            .ok_or(SyncError::NotFound)?;
        if trigger == Trigger::Schedule {
            if let Some(outcome) = self.try_incremental(&guard.lease, run_id, &directory).await? {
                self.schedule_next(&directory).await?;
                return Ok(outcome);
            }
        }
        let result = match self.client_for(&directory).await? {
            Ok(client) => {
                let ctx = RunContext {
                    store,
                    client: &client,
                    directory: &directory,
                    run_id,
                    lease: &guard.lease,
                    progress,
                    dry_run: trigger == Trigger::Preview,
                };
                let result = run::execute(&ctx).await;
                // Final counters, whatever happened.
                let counters = run::counters(&client.stats, progress);
                store.update_run_progress(run_id, "done", &counters).await?;
                result
            }
            Err(e) => Err(RunError::Okta(e)),
        };
        let outcome = self.finish(&directory.id, run_id, result, trigger).await?;
        if trigger != Trigger::Preview {
            self.schedule_next(&directory).await?;
        }
        Ok(outcome)
    }

    async fn schedule_next(&self, directory: &Directory) -> Result<(), SyncError> {
        let next =
            time::OffsetDateTime::now_utc() + time::Duration::seconds(directory.sync_interval_secs.max(60));
        Ok(self.inner.store.schedule_next_sync(&directory.id, next).await?)
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
                // Sessions first: bookkeeping that fails must not keep them.
                self.inner.hook.after_apply(directory_id, &removed_users).await;
                self.reconciled(directory_id, run_id).await?;
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
        let (guard, _progress) = self.claim(directory_id).await?;
        let store = &self.inner.store;
        let pending = store
            .pending_confirmation(directory_id)
            .await?
            .ok_or(SyncError::NothingToConfirm)?;
        let removed = store.apply_run(&pending.id, directory_id, &guard.lease).await?;
        self.inner.hook.after_apply(directory_id, &removed).await;
        guard.release().await;
        self.reconciled(directory_id, &pending.id).await?;
        Ok(RunOutcome {
            run_id: pending.id,
            status: RunStatus::Succeeded,
            error: None,
        })
    }

    pub async fn discard(&self, directory_id: &str) -> Result<(), SyncError> {
        let (guard, _progress) = self.claim(directory_id).await?;
        let store = &self.inner.store;
        let pending = store
            .pending_confirmation(directory_id)
            .await?
            .ok_or(SyncError::NothingToConfirm)?;
        store.clear_staging(&pending.id).await?;
        store.end_run(&pending.id, RunStatus::Discarded, None).await?;
        guard.release().await;
        Ok(())
    }

    /// Checks for due directories every `tick` and starts their runs; and,
    /// more often, fails runs whose process died. Every process runs this;
    /// a due sync starts once, on whichever process takes it first.
    pub fn spawn_scheduler(&self, tick: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut schedule = tokio::time::interval(tick);
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            loop {
                tokio::select! {
                    _ = schedule.tick() => engine.start_due().await,
                    _ = sweep.tick() => match engine.recover().await {
                        Ok(0) => {}
                        Ok(n) => tracing::warn!(runs = n, "failed sync runs whose process stopped"),
                        Err(e) => tracing::error!(error = %e, "could not look for interrupted sync runs"),
                    },
                }
            }
        })
    }

    /// Starts the syncs that are due (one scheduler tick).
    pub async fn start_due(&self) {
        let store = &self.inner.store;
        let at = time::OffsetDateTime::now_utc();
        let due = match store.due_directories(at).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "scheduler could not read due directories");
                return;
            }
        };
        for directory_id in due {
            // Moves the directory's next sync on, if still due: of several
            // processes that saw it due, one takes it.
            match store.take_due_directory(&directory_id, at).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(error = %e, directory_id, "scheduler could not take a due directory");
                    continue;
                }
            }
            match self.sync_now(&directory_id, Trigger::Schedule).await {
                Ok(_) | Err(SyncError::AlreadySyncing) => {}
                Err(e) => tracing::error!(error = %e, directory_id, "scheduled sync did not start"),
            }
        }
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
