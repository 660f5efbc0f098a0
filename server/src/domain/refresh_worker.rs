//! Drains the refresh queue that Okta event hooks (and, later, System Log
//! polling) fill: every moment it claims the due records of each directory
//! — triggers for the same record have coalesced into one row — and hands
//! them to the engine's targeted refresh. A refresh the breaker refuses
//! starts a full sync instead (which holds the change for review); one that
//! fails is tried again later; a paused directory's triggers are dropped
//! (the full sync after its resume reconciles everything).

use crate::{
    store::{self, sortable, Store, StoreError},
    sync::{RefreshEnd, RefreshTargets, SyncEngine, SyncError, Trigger},
};
use std::time::Duration;

/// How often the queue is looked at.
const TICK: Duration = Duration::from_millis(250);
/// A claim outlives the longest wait for a running sync (5 minutes) and the refresh.
const CLAIM: time::Duration = time::Duration::minutes(10);
/// Records refreshed together at most.
const MAX_PER_REFRESH: i64 = 500;
/// When a failed refresh is tried again.
const RETRY_AFTER: time::Duration = time::Duration::seconds(30);

#[derive(Clone)]
pub struct RefreshWorker {
    store: Store,
    engine: SyncEngine,
    holder: String,
}

impl RefreshWorker {
    pub fn new(store: Store, engine: SyncEngine) -> Self {
        Self {
            store,
            engine,
            holder: format!("refresh:{}", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.run_due().await {
                    tracing::warn!(error = %e, "could not look at the refresh queue");
                }
            }
        })
    }

    /// Refreshes every directory's due records, the directories side by
    /// side; returns how many records were claimed.
    pub async fn run_due(&self) -> Result<usize, StoreError> {
        let now = store::now();
        let mut claimed = 0;
        let mut refreshes = tokio::task::JoinSet::new();
        for directory_id in self.store.due_refreshes(&sortable(now)).await? {
            let items = self
                .store
                .claim_refreshes(
                    &directory_id,
                    &self.holder,
                    &sortable(now),
                    &sortable(now),
                    &sortable(now + CLAIM),
                    MAX_PER_REFRESH,
                )
                .await?;
            if items.is_empty() {
                continue;
            }
            claimed += items.len();
            let targets = RefreshTargets::from_items(items);
            let worker = self.clone();
            refreshes.spawn(async move { worker.refresh(&directory_id, &targets).await });
        }
        while let Some(done) = refreshes.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %e, "could not record a refresh's outcome");
            }
        }
        Ok(claimed)
    }

    async fn refresh(&self, directory_id: &str, targets: &RefreshTargets) -> Result<(), StoreError> {
        let retry_at = match self.engine.refresh(directory_id, targets).await {
            Ok(RefreshEnd::Applied(outcome)) => {
                tracing::info!(
                    directory_id,
                    records = targets.len(),
                    written = outcome.users_written + outcome.groups_written,
                    removed = outcome.users_removed.len() as u64 + outcome.groups_removed,
                    "targeted refresh applied"
                );
                None
            }
            Ok(RefreshEnd::Tripped {
                users_removed,
                groups_removed,
            }) => {
                tracing::warn!(
                    directory_id,
                    users_removed,
                    groups_removed,
                    "a targeted refresh would remove too much; a full sync decides"
                );
                match self.engine.sync_now(directory_id, Trigger::Reconcile).await {
                    Ok(_) | Err(SyncError::AlreadySyncing) => None,
                    Err(e) => {
                        tracing::warn!(error = %e, directory_id, "could not start the full sync");
                        Some(store::now() + RETRY_AFTER)
                    }
                }
            }
            Err(SyncError::Paused | SyncError::NotFound) => None,
            Err(e) => {
                tracing::warn!(error = %e, directory_id, "targeted refresh failed; trying again later");
                Some(store::now() + RETRY_AFTER)
            }
        };
        self.store
            .finish_refreshes(
                directory_id,
                &self.holder,
                retry_at.map(sortable).as_deref(),
                &sortable(store::now()),
            )
            .await
    }
}
