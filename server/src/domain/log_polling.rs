//! System Log polling, the pull way to near-real-time deprovisioning for
//! installations Okta cannot reach: per directory, Roster reads Okta's
//! System Log every N seconds and refreshes the users and groups it names;
//! with a healthy cursor, scheduled syncs read only what changed.
//!
//! Turning it on needs the read-only scope `okta.logs.read`, checked with
//! Okta there and then: without it nothing changes and the admin is told
//! how to grant it. The poller (`LogPoller`, one per process) takes due
//! directories and asks the engine to poll them.

use super::{
    access::Actor,
    audit::{Audit, AuditAction},
    clock,
    error::{DomainError, DomainResult},
    sync::sync_error,
};
use crate::{
    model::{DirectoryId, DirectoryState, LogPollState},
    okta::OktaError,
    store::{self, parse_timestamp, sortable, LogPollRow, Store},
    sync::{incremental_allowed, PollEnd, SyncEngine, SyncError, Trigger, LOG_RETENTION, OVERLAP},
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

pub const MIN_INTERVAL_SECS: i64 = 10;
pub const MAX_INTERVAL_SECS: i64 = 3600;
pub const MAX_RECONCILE_HOURS: i64 = 168;

/// A directory's polling, as the page, the API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LogPollingView {
    pub enabled: bool,
    pub state: LogPollState,
    /// What the state means, in a sentence.
    pub summary: String,
    pub interval_secs: i64,
    /// Hours between full reconciliations while the cursor is healthy.
    pub reconcile_hours: i64,
    /// The newest event time read.
    pub cursor_at: Option<String>,
    pub last_poll_at: Option<String>,
    pub last_poll_ago: Option<String>,
    /// Events the last poll read (repeats of the overlap included).
    pub last_events: i64,
    pub polls: i64,
    pub last_error: Option<String>,
    pub gap_reason: Option<String>,
    /// The start of the last full sync that succeeded.
    pub reconciled_at: Option<String>,
    /// Whether the next scheduled sync reads only what the log names.
    pub next_sync_incremental: bool,
    pub scope: String,
}

/// What an admin changes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LogPollingInput {
    pub enabled: bool,
    /// Seconds between polls, 10 to 3600 (default: as it was; at first 60).
    pub interval_secs: Option<i64>,
    /// Hours between full reconciliations, 1 to 168 (default: as it was; at first 24).
    pub reconcile_hours: Option<i64>,
}

#[derive(Clone)]
pub struct LogPolling {
    store: Store,
    engine: SyncEngine,
    audit: Audit,
}

impl LogPolling {
    pub fn new(store: Store, engine: SyncEngine, audit: Audit) -> Self {
        Self { store, engine, audit }
    }

    pub async fn get(&self, id: &DirectoryId) -> DomainResult<LogPollingView> {
        self.directory(id).await?;
        let row = self
            .store
            .log_polling(id.as_str())
            .await?
            .unwrap_or_else(|| LogPollRow::new(id.as_str()));
        Ok(view(&row, store::now()))
    }

    /// Turns polling on or off or changes its intervals. Turning it on asks
    /// Okta whether the key may read the log; when not, nothing changes.
    pub async fn set(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        input: &LogPollingInput,
    ) -> DomainResult<LogPollingView> {
        actor.require_write()?;
        self.directory(id).await?;
        let stored = self.store.log_polling(id.as_str()).await?;
        let mut row = stored.clone().unwrap_or_else(|| LogPollRow::new(id.as_str()));
        // What the input leaves out stays as it is.
        let interval = input.interval_secs.unwrap_or(row.interval_secs);
        if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&interval) {
            return Err(DomainError::invalid(format!(
                "The polling interval must be between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS} seconds."
            )));
        }
        let reconcile = input.reconcile_hours.unwrap_or(row.reconcile_secs / 3600);
        if !(1..=MAX_RECONCILE_HOURS).contains(&reconcile) {
            return Err(DomainError::invalid(format!(
                "Full reconciliation must come every 1 to {MAX_RECONCILE_HOURS} hours."
            )));
        }
        let now = store::now();
        let turning_on = input.enabled && !row.enabled;
        if turning_on {
            match self
                .engine
                .check_log_access(id.as_str())
                .await
                .map_err(sync_error)?
            {
                Ok(()) => {}
                Err(e) => return Err(refused(&e)),
            }
        }
        row.interval_secs = interval;
        row.reconcile_secs = reconcile * 3600;
        let mut gap = false;
        if turning_on || stored.is_none() {
            // Nothing polls this directory yet: the whole row is ours to write.
            row.enabled = input.enabled;
            if turning_on {
                row.last_error = None;
                row.next_poll_at = Some(sortable(now));
                gap = !anchor(&mut row, now)?;
            }
            self.store.put_log_polling(&row, &sortable(now)).await?;
        } else {
            // Polls and syncs move the cursor meanwhile: settings only.
            self.store
                .set_log_polling_settings(
                    id.as_str(),
                    input.enabled,
                    interval,
                    reconcile * 3600,
                    &sortable(now),
                )
                .await?;
        }
        self.audit
            .record(
                actor,
                AuditAction::LogPollingChanged,
                Some(id.as_str()),
                serde_json::json!({ "enabled": input.enabled, "interval_secs": interval, "reconcile_hours": reconcile }),
            )
            .await;
        if gap {
            match self.engine.sync_now(id.as_str(), Trigger::Reconcile).await {
                Ok(_) | Err(SyncError::AlreadySyncing) => {}
                Err(e) => return Err(sync_error(e)),
            }
        }
        self.get(id).await
    }

    async fn directory(&self, id: &DirectoryId) -> DomainResult<store::Directory> {
        let d = self
            .store
            .directory(id.as_str())
            .await?
            .filter(|d| d.state != DirectoryState::Draft)
            .ok_or_else(|| DomainError::not_found("The directory"))?;
        if !d.pull_enabled {
            return Err(DomainError::invalid(
                "System Log polling triggers refreshes from Okta's API; this directory is fed by SCIM only.",
            ));
        }
        Ok(d)
    }
}

/// Where a cursor being turned on starts: where it stopped, if the log
/// still holds everything since and that reaches back to the last full
/// sync; else that sync's start. False: there is no such point (no full
/// sync yet, or it is older than the log keeps) and a full sync must run.
fn anchor(row: &mut LogPollRow, now: time::OffsetDateTime) -> DomainResult<bool> {
    let time = |t: &Option<String>| t.as_deref().map(parse_timestamp).transpose();
    let oldest_kept = now - LOG_RETENTION + time::Duration::days(1);
    let Some(reconciled) = time(&row.reconciled_at)? else {
        row.state = LogPollState::Gap;
        row.gap_reason = Some("No full sync has finished yet; polling starts after one.".into());
        return Ok(false);
    };
    let resumable = matches!(
        (time(&row.covered_since)?, time(&row.reread_from)?),
        (Some(covered), Some(reread)) if covered <= reconciled && reread >= oldest_kept
    );
    row.gap_reason = None;
    row.state = LogPollState::Healthy;
    if resumable {
        return Ok(true);
    }
    let start = reconciled - OVERLAP;
    if start < oldest_kept {
        row.state = LogPollState::Gap;
        row.gap_reason = Some(
            "The last full sync is older than the System Log keeps events; a full sync runs first.".into(),
        );
        return Ok(false);
    }
    row.cursor_at = Some(sortable(start));
    row.reread_from = Some(sortable(start));
    row.covered_since = Some(sortable(start));
    Ok(true)
}

fn refused(e: &OktaError) -> DomainError {
    let missing_scope = matches!(e, OktaError::InvalidScope(_) | OktaError::Forbidden { .. });
    if missing_scope {
        DomainError::invalid(
            "Okta did not grant okta.logs.read to Roster's API Services app, so polling stays off.",
        )
        .with_hint(
            "In Okta: Applications → Roster's API Services app → Okta API Scopes → Grant okta.logs.read, then turn polling on again.",
        )
    } else {
        DomainError::upstream(format!("Could not read the System Log: {e}")).with_hint(e.hint())
    }
}

fn view(row: &LogPollRow, now: time::OffsetDateTime) -> LogPollingView {
    let summary = match row.state {
        LogPollState::Off => "Off: Okta changes arrive with the scheduled syncs (or an event hook).".to_owned(),
        LogPollState::Healthy => format!(
            "Reading Okta's System Log every {} s; changes are refreshed as they show up.",
            row.interval_secs
        ),
        LogPollState::Failing => format!(
            "Polls fail; Roster keeps its place in the log and tries again every {} s. Scheduled syncs read everything meanwhile.",
            row.interval_secs
        ),
        LogPollState::Gap => "Changes may have been missed; a full sync is re-reading everything, then polling resumes."
            .to_owned(),
    };
    LogPollingView {
        enabled: row.enabled,
        state: row.state,
        summary,
        interval_secs: row.interval_secs,
        reconcile_hours: row.reconcile_secs / 3600,
        cursor_at: row.cursor_at.clone(),
        last_poll_ago: row.last_poll_at.as_deref().map(clock::relative),
        last_poll_at: row.last_poll_at.clone(),
        last_events: row.last_events,
        polls: row.polls,
        last_error: row.last_error.clone(),
        gap_reason: row.gap_reason.clone(),
        reconciled_at: row.reconciled_at.clone(),
        next_sync_incremental: incremental_allowed(row, now),
        scope: "okta.logs.read".into(),
    }
}

/// Polls every directory whose turn it is (one per process; of several
/// processes, one takes each poll).
#[derive(Clone)]
pub struct LogPoller {
    store: Store,
    engine: SyncEngine,
}

/// How often due polls are looked for.
const TICK: Duration = Duration::from_secs(1);
/// A taken poll is not taken again for this long (a poll that hangs).
const TAKEN_FOR: time::Duration = time::Duration::minutes(2);

impl LogPoller {
    pub fn new(store: Store, engine: SyncEngine) -> Self {
        Self { store, engine }
    }

    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.poll_due().await {
                    tracing::warn!(error = %e, "could not look for due System Log polls");
                }
            }
        })
    }

    /// Polls the due directories side by side; returns how many it polled.
    pub async fn poll_due(&self) -> Result<usize, store::StoreError> {
        let now = store::now();
        let due = self
            .store
            .take_due_log_polls(&sortable(now), &sortable(now + TAKEN_FOR))
            .await?;
        let mut polls = tokio::task::JoinSet::new();
        for directory_id in &due {
            let (engine, directory_id) = (self.engine.clone(), directory_id.clone());
            polls.spawn(async move {
                match engine.poll_log(&directory_id).await {
                    Ok(PollEnd::Read {
                        new_events, records, ..
                    }) if new_events > 0 => {
                        tracing::info!(
                            directory_id,
                            new_events,
                            records,
                            "System Log poll queued refreshes"
                        );
                    }
                    Ok(_) | Err(SyncError::Paused) => {}
                    Err(e) => tracing::warn!(error = %e, directory_id, "System Log poll failed"),
                }
            });
        }
        while polls.join_next().await.is_some() {}
        Ok(due.len())
    }
}
