//! The engine's System Log side: polling a directory's log into the refresh
//! queue, the incremental scheduled sync a healthy cursor allows, and the
//! re-anchoring of the cursor after each full sync.
//!
//! An incremental sync is a scheduled sync that reads only what changed: it
//! polls the log, takes every record queued for the directory (by this poll,
//! earlier polls or event hooks) and refreshes them under the sync lease,
//! recorded as a run like any other. It falls back to the full listing —
//! in the same run — whenever the log cannot vouch for what it leaves out:
//! a gap, a failed poll, a breaker that refuses, too many records.

use super::{
    engine::{OktaErrorSummary, RunOutcome, SyncEngine, SyncError},
    log_poll::{self, PollEnd, LOG_SCOPES, MAX_RECORDS_PER_POLL, OVERLAP},
    refresh::{self, RefreshEnd, RefreshOutcome, RefreshTargets},
    Trigger,
};
use crate::{
    model::{LogPollState, RunMode, RunStatus},
    okta::{CallStats, OktaClient, OktaError},
    store::{parse_timestamp, sortable, DiffCounts, Directory, LogPollRow, RunCounters, StoreError},
};
use std::sync::Arc;

/// A claim on queued records outlives the refresh that takes them.
const CLAIM: time::Duration = time::Duration::minutes(10);
/// Records due at any time: an incremental sync takes the whole queue.
const ANY_TIME: &str = "9999-12-31T23:59:59.999999Z";

/// Whether a scheduled sync may read only what the log names: polling is
/// on, the log has been read without a break since the last full sync
/// started, and that sync is recent enough.
pub fn incremental_allowed(row: &LogPollRow, now: time::OffsetDateTime) -> bool {
    let time = |t: &Option<String>| t.as_deref().and_then(|t| parse_timestamp(t).ok());
    let (Some(covered_since), Some(reconciled_at), Some(reread_from)) = (
        time(&row.covered_since),
        time(&row.reconciled_at),
        time(&row.reread_from),
    ) else {
        return false;
    };
    row.enabled
        && matches!(row.state, LogPollState::Healthy | LogPollState::Failing)
        && covered_since <= reconciled_at
        && log_poll::still_kept(reread_from, now)
        && now < reconciled_at + time::Duration::seconds(row.reconcile_secs)
}

/// Calls a client made since `before` (a cached client counts for life).
fn calls_since(stats: &CallStats, before: u64) -> i64 {
    CallStats::get(&stats.calls).saturating_sub(before) as i64
}

impl SyncEngine {
    /// Reads the directory's System Log once and queues what it names. A gap
    /// marks the cursor and starts the full sync that closes it; a failed
    /// poll leaves the cursor for the next one.
    pub async fn poll_log(&self, directory_id: &str) -> Result<PollEnd, SyncError> {
        let store = &self.inner.store;
        let directory = store.directory(directory_id).await?.ok_or(SyncError::NotFound)?;
        if directory.paused {
            return Err(SyncError::Paused);
        }
        let row = store
            .log_polling(directory_id)
            .await?
            .ok_or(SyncError::NotFound)?;
        if row.state == LogPollState::Gap {
            // Until a full sync succeeds; again if the last attempt did not.
            match self.sync_now(directory_id, Trigger::Reconcile).await {
                Ok(_) | Err(SyncError::AlreadySyncing) => {}
                Err(e) => {
                    tracing::warn!(error = %e, directory_id, "could not start the full sync a gap needs")
                }
            }
            return Ok(PollEnd::Gap(row.gap_reason.unwrap_or_default()));
        }
        let now = time::OffsetDateTime::now_utc();
        let result = match self.logs_client(&directory).await? {
            Ok(client) => log_poll::poll(store, &client, &row, now, now).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(PollEnd::Gap(reason)) => {
                self.log_gap(directory_id, &reason).await?;
                Ok(PollEnd::Gap(reason))
            }
            Ok(read) => Ok(read),
            Err(log_poll::PollError::Store(e)) => Err(e.into()),
            Err(log_poll::PollError::Okta(e)) => {
                let next = now + time::Duration::seconds(row.interval_secs.max(1));
                store
                    .log_poll_failed(directory_id, &describe(&e), &sortable(now), &sortable(next))
                    .await?;
                Err(SyncError::Refresh(describe(&e)))
            }
        }
    }

    /// Whether Okta lets this directory's key read the System Log (one
    /// token request for `okta.logs.read` and one page of the log).
    pub async fn check_log_access(&self, directory_id: &str) -> Result<Result<(), OktaError>, SyncError> {
        let directory = self
            .inner
            .store
            .directory(directory_id)
            .await?
            .ok_or(SyncError::NotFound)?;
        let client = match self.client_with(&directory, &LOG_SCOPES).await? {
            Ok(client) => client,
            Err(e) => return Ok(Err(e)),
        };
        let url = client.origin().url("/api/v1/logs?limit=1");
        Ok(client
            .get_page::<serde_json::Value>(&url, "the System Log")
            .await
            .map(|_| ()))
    }

    /// Marks a gap and, the first time, starts the full sync that closes it.
    async fn log_gap(&self, directory_id: &str, reason: &str) -> Result<(), SyncError> {
        let store = &self.inner.store;
        if store
            .log_poll_gap(directory_id, reason, &sortable(crate::store::now()))
            .await?
        {
            tracing::warn!(directory_id, reason, "System Log gap; starting a full sync");
            match self.sync_now(directory_id, Trigger::Reconcile).await {
                Ok(_) | Err(SyncError::AlreadySyncing) => {}
                Err(e) => {
                    tracing::warn!(error = %e, directory_id, "could not start the full sync a gap needs")
                }
            }
        }
        Ok(())
    }

    /// After a full sync succeeded: it accounts for everything before it
    /// started, so a lost or broken cursor restarts from there.
    pub(super) async fn reconciled(&self, directory_id: &str, run_id: &str) -> Result<(), SyncError> {
        let store = &self.inner.store;
        let Some(run) = store.run(run_id).await? else {
            return Ok(());
        };
        let started = parse_timestamp(&run.started_at)?;
        store
            .log_polling_reconciled(
                directory_id,
                &sortable(started),
                &sortable(started - OVERLAP),
                &sortable(crate::store::now()),
            )
            .await?;
        Ok(())
    }

    /// The directory's System Log client, built once per key and reused
    /// (its access token with it).
    async fn logs_client(
        &self,
        directory: &Directory,
    ) -> Result<Result<Arc<OktaClient>, OktaError>, SyncError> {
        let keys = self.inner.store.live_keys(&directory.id).await?;
        let built_from = format!(
            "{}|{}|{}|{}",
            directory.okta_origin,
            directory.client_id,
            directory.rate_limit_share,
            keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>().join(",")
        );
        if let Ok(cache) = self.inner.log_clients.lock() {
            if let Some((from, client)) = cache.get(&directory.id) {
                if *from == built_from {
                    return Ok(Ok(Arc::clone(client)));
                }
            }
        }
        let client = match self.client_with(directory, &LOG_SCOPES).await? {
            Ok(client) => Arc::new(client),
            Err(e) => return Ok(Err(e)),
        };
        if let Ok(mut cache) = self.inner.log_clients.lock() {
            cache.insert(directory.id.clone(), (built_from, Arc::clone(&client)));
        }
        Ok(Ok(client))
    }

    /// A scheduled sync's incremental attempt under the run's lease: the
    /// outcome when it did the job, `None` when the full listing must run.
    pub(super) async fn try_incremental(
        &self,
        lease: &str,
        run_id: &str,
        directory: &Directory,
    ) -> Result<Option<RunOutcome>, SyncError> {
        let store = &self.inner.store;
        let now = time::OffsetDateTime::now_utc();
        let Some(row) = store.log_polling(&directory.id).await? else {
            return Ok(None);
        };
        if !incremental_allowed(&row, now) {
            return Ok(None);
        }
        store.set_run_mode(run_id, RunMode::Incremental).await?;
        match self.incremental(lease, run_id, directory, &row, now).await? {
            Ok(outcome) => Ok(Some(outcome)),
            Err(reason) => {
                tracing::info!(
                    directory_id = directory.id,
                    run_id,
                    reason,
                    "the scheduled sync lists everything"
                );
                store.set_run_mode(run_id, RunMode::Full).await?;
                Ok(None)
            }
        }
    }

    /// The inner result: why the full listing must run instead.
    async fn incremental(
        &self,
        lease: &str,
        run_id: &str,
        directory: &Directory,
        row: &LogPollRow,
        now: time::OffsetDateTime,
    ) -> Result<Result<RunOutcome, String>, SyncError> {
        let store = &self.inner.store;
        let logs = match self.logs_client(directory).await? {
            Ok(client) => client,
            Err(e) => return Ok(Err(describe(&e))),
        };
        let log_calls_before = CallStats::get(&logs.stats.calls);
        match log_poll::poll(store, &logs, row, now, now + CLAIM).await {
            Ok(PollEnd::Read { .. }) => {}
            Ok(PollEnd::Gap(reason)) => {
                store.log_poll_gap(&directory.id, &reason, &sortable(now)).await?;
                return Ok(Err(reason));
            }
            Err(log_poll::PollError::Store(e)) => return Err(e.into()),
            Err(log_poll::PollError::Okta(e)) => {
                let next = now + time::Duration::seconds(row.interval_secs.max(1));
                store
                    .log_poll_failed(&directory.id, &describe(&e), &sortable(now), &sortable(next))
                    .await?;
                return Ok(Err(describe(&e)));
            }
        }
        let log_calls = calls_since(&logs.stats, log_calls_before);
        let items = store
            .claim_refreshes(
                &directory.id,
                lease,
                ANY_TIME,
                &sortable(now),
                &sortable(now + CLAIM),
                MAX_RECORDS_PER_POLL as i64 + 1,
            )
            .await?;
        // The full listing this run turns into reads these records too.
        let give_back = |reason: String| async move {
            store
                .finish_refreshes(&directory.id, lease, None, &sortable(now))
                .await?;
            Ok::<_, StoreError>(Err(reason))
        };
        if items.len() > MAX_RECORDS_PER_POLL {
            return Ok(give_back(format!("more than {MAX_RECORDS_PER_POLL} records queued")).await?);
        }
        let targets = RefreshTargets::from_items(items);
        let mut api_calls = log_calls;
        let outcome = if targets.is_empty() {
            RefreshOutcome::default()
        } else {
            let client = match self.client_for(directory).await? {
                Ok(client) => client.with_priority(),
                Err(e) => return Ok(give_back(describe(&e)).await?),
            };
            let result = refresh::refresh(store, &client, directory, &targets, Some(lease)).await;
            api_calls += calls_since(&client.stats, 0);
            match result {
                Ok(RefreshEnd::Applied(outcome)) => outcome,
                Ok(RefreshEnd::Tripped { .. }) => {
                    return Ok(
                        give_back("the refresh would remove more than the breaker allows".into()).await?,
                    )
                }
                Err(refresh::RefreshError::Store(e)) => return Err(e.into()),
                Err(e) => return Ok(give_back(e.to_string()).await?),
            }
        };
        // Sessions first: bookkeeping that fails must not keep them.
        if !outcome.users_removed.is_empty() {
            self.inner
                .hook
                .after_apply(&directory.id, &outcome.users_removed)
                .await;
        }
        store
            .finish_refreshes(&directory.id, lease, None, &sortable(crate::store::now()))
            .await?;
        let counters = RunCounters {
            api_calls,
            users_fetched: targets.users.len() as i64,
            groups_fetched: targets.groups.len() as i64,
            ..RunCounters::default()
        };
        store.update_run_progress(run_id, "done", &counters).await?;
        let diff = DiffCounts {
            users_updated: outcome.users_written as i64,
            users_removed: outcome.users_removed.len() as i64,
            groups_updated: outcome.groups_written as i64,
            groups_removed: outcome.groups_removed as i64,
            ..DiffCounts::default()
        };
        store.finish_incremental_run(run_id, &directory.id, &diff).await?;
        Ok(Ok(RunOutcome {
            run_id: run_id.to_owned(),
            status: RunStatus::Succeeded,
            error: None::<OktaErrorSummary>,
        }))
    }
}

/// An Okta error with its fix, for the polling status.
fn describe(e: &OktaError) -> String {
    format!("{e} {}", e.hint()).trim().to_owned()
}
