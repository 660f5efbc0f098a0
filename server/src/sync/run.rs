//! One sync run: fetch everything into staging, diff, trip the breaker or
//! apply in one transaction. Errors leave the directory exactly as it was.

use super::{normalize, progress::ProgressHandle};
use crate::{
    okta::{model, CallStats, OktaClient, OktaError},
    store::{
        now, timestamp, DiffCounts, Directory, NewDataset, RunCounters, StageBatch, StagedGroup,
        StagedMembers, Store, StoreError,
    },
};
use futures_util::{future, stream, StreamExt, TryStreamExt};
use std::collections::HashSet;
use tokio::sync::mpsc;

/// How many groups' members are fetched at once.
pub const MEMBER_FETCH_CONCURRENCY: usize = 4;
/// Page sizes: the most Okta returns per page of each list (fewer calls, so
/// less of the rate limit spent).
pub const APP_USERS_PAGE: usize = 500;
pub const APP_GROUPS_PAGE: usize = 200;
pub const GROUP_MEMBERS_PAGE: usize = 1000;
/// Pages and groups fetched but not yet staged; bounds memory when the
/// database is slower than the network.
const WRITE_QUEUE: usize = 16;
/// Batches gathered and waiting for the writer. Members' batches are small
/// (ids only) and pile up while a first sync moves its users in one pass;
/// the fetch goes on meanwhile.
const BATCHES_WAITING: usize = 8;
/// Rows staged in one transaction at most (when that many are waiting).
const ROWS_PER_TRANSACTION: usize = 10_000;
/// Rows a first sync gathers before it writes them in one transaction. Its
/// rows land all over the live tables' indexes, and every commit rewrites
/// each index page it touched: a few large transactions write far less than
/// many small ones (a 100 000-user org: ~25 commits instead of ~300).
const ROWS_PER_IN_PLACE_TRANSACTION: usize = 25_000;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no Okta app is chosen for this directory")]
    NoApp,
    #[error("staging stopped before the fetch ended")]
    WriterStopped,
}

/// How a run ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Applied; the removed users' Okta ids are handed to the deprovisioning hook.
    Applied {
        diff: DiffCounts,
        removed_users: Vec<String>,
    },
    /// The breaker tripped: the diff is kept for the admin to apply or discard.
    NeedsConfirmation { diff: DiffCounts },
    /// A dry run: the diff is recorded and the staging dropped.
    Previewed { diff: DiffCounts },
}

pub struct RunContext<'a> {
    pub store: &'a Store,
    pub client: &'a OktaClient,
    pub directory: &'a Directory,
    pub run_id: &'a str,
    /// The sync lease this run holds; its apply commits only while it does.
    pub lease: &'a str,
    pub progress: &'a ProgressHandle,
    pub dry_run: bool,
}

impl RunContext<'_> {
    fn url(&self, path: &str) -> String {
        self.client.origin().url(path)
    }

    async fn save_counters(&self, phase: &str) -> Result<(), StoreError> {
        let counters = counters(&self.client.stats, self.progress);
        self.store
            .update_run_progress(self.run_id, phase, &counters)
            .await
    }
}

pub fn counters(stats: &CallStats, progress: &ProgressHandle) -> RunCounters {
    let snapshot = progress.snapshot();
    let n = |c| CallStats::get(c) as i64;
    RunCounters {
        api_calls: n(&stats.calls),
        pages: n(&stats.pages),
        rate_limited: n(&stats.rate_limited),
        paced_waits: n(&stats.paced_waits),
        waited_ms: n(&stats.waited_ms),
        retries: n(&stats.retries),
        users_fetched: snapshot.users as i64,
        groups_fetched: snapshot.groups as i64,
        groups_skipped: snapshot.groups_skipped as i64,
    }
}

/// Where a run writes what it fetches.
#[derive(Debug, Clone)]
enum Target {
    /// Staged, then diffed against the live records and applied.
    Staging,
    /// A first sync: written in place into a dataset that goes live at the end.
    Dataset(NewDataset),
}

impl Target {
    fn rows_per_transaction(&self) -> usize {
        match self {
            Target::Staging => ROWS_PER_TRANSACTION,
            Target::Dataset(_) => ROWS_PER_IN_PLACE_TRANSACTION,
        }
    }
}

pub async fn execute(ctx: &RunContext<'_>) -> Result<RunEnd, RunError> {
    let app_id = ctx.directory.app_id.clone().ok_or(RunError::NoApp)?;
    // A preview stages (and drops) its records; it never builds a dataset.
    let dataset = if ctx.dry_run {
        None
    } else {
        let at = timestamp(now());
        ctx.store
            .begin_first_sync(&ctx.directory.id, ctx.run_id, &at)
            .await?
    };
    let target = dataset.map_or(Target::Staging, Target::Dataset);
    fetch_all(ctx, &app_id, &target).await?;

    ctx.progress.set_phase("diff");
    ctx.save_counters("diff").await?;
    let (diff, sample) = match &target {
        Target::Staging => (
            ctx.store.compute_diff(ctx.run_id, &ctx.directory.id).await?,
            ctx.store.diff_sample(ctx.run_id, &ctx.directory.id).await?,
        ),
        Target::Dataset(dataset) => ctx.store.first_sync_diff(dataset.key).await?,
    };
    ctx.store.record_run_diff(ctx.run_id, &diff, &sample).await?;

    if ctx.dry_run {
        return Ok(RunEnd::Previewed { diff });
    }
    if breaker_trips(&diff, ctx.directory.breaker_threshold) {
        return Ok(RunEnd::NeedsConfirmation { diff });
    }
    ctx.progress.set_phase("apply");
    let removed_users = match &target {
        Target::Staging => {
            ctx.store
                .apply_run(ctx.run_id, &ctx.directory.id, ctx.lease)
                .await?
        }
        Target::Dataset(dataset) => {
            ctx.store
                .commit_first_sync(&ctx.directory.id, dataset, ctx.lease)
                .await?;
            Vec::new()
        }
    };
    Ok(RunEnd::Applied { diff, removed_users })
}

/// Trips when a run would remove more than `threshold` of the live users or
/// groups, and always when it would remove all of them.
pub fn breaker_trips(diff: &DiffCounts, threshold: f64) -> bool {
    let trips = |removed: i64, live: i64| {
        live > 0 && removed > 0 && (removed == live || removed as f64 / live as f64 > threshold)
    };
    trips(diff.users_removed, diff.users_live) || trips(diff.groups_removed, diff.groups_live)
}

/// What the fetchers hand to the one writer.
enum Staged {
    /// A page of app users, normalised by the writer (off the fetching task).
    Users(Vec<model::AppUser>),
    Groups(Vec<StagedGroup>),
    Members(StagedMembers),
    /// The last page of app users was handed over.
    UsersDone,
}

/// What the collector hands to the writer task.
enum Write {
    Batch(StageBatch),
    UsersDone,
}

/// Fetches users and groups side by side (their members come from another
/// rate-limit bucket than the app's users) while a writer task normalises and
/// stages what arrives, so neither the network nor the database waits for
/// the other.
async fn fetch_all(ctx: &RunContext<'_>, app_id: &str, target: &Target) -> Result<(), RunError> {
    ctx.progress.set_phase("users and groups");
    let (queue, pending) = mpsc::channel(WRITE_QUEUE);
    let writer = tokio::spawn(write_fetched(
        ctx.store.clone(),
        ctx.run_id.to_owned(),
        target.clone(),
        ctx.progress.clone(),
        pending,
    ));
    let fetched = future::try_join(
        fetch_users(ctx, app_id, queue.clone()),
        fetch_groups_and_members(ctx, app_id, queue),
    )
    .await;
    // The queue is closed now: the writer stages what is left and ends. It is
    // awaited even after a failed fetch, so clearing the staging comes after it.
    let written = writer.await.map_err(|_| RunError::WriterStopped)?;
    match (fetched, written) {
        (_, Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Ok(_), Ok(())) => Ok(()),
    }
}

async fn hand_over(queue: &mpsc::Sender<Staged>, staged: Staged) -> Result<(), RunError> {
    queue.send(staged).await.map_err(|_| RunError::WriterStopped)
}

/// Gathers what the fetchers hand over into batches while a writer task
/// writes the previous batch, each in one transaction: the fetchers never wait
/// for the database unless it falls two batches behind.
async fn write_fetched(
    store: Store,
    run_id: String,
    target: Target,
    progress: ProgressHandle,
    mut pending: mpsc::Receiver<Staged>,
) -> Result<(), RunError> {
    let budget = target.rows_per_transaction();
    // A first sync gathers full batches; staging writes whatever is waiting.
    let gather = matches!(target, Target::Dataset(_));
    let (batches, to_write) = mpsc::channel(BATCHES_WAITING);
    let writer = tokio::spawn(write_batches(store, run_id, target, to_write));
    while let Some(first) = pending.recv().await {
        let mut batch = StageBatch::default();
        let mut users_done = false;
        let mut next = Some(first);
        while let Some(staged) = next {
            match staged {
                Staged::Users(page) => {
                    let before = batch.users.len();
                    batch.users.extend(
                        page.iter()
                            .filter_map(|app_user| app_user.embedded.as_ref())
                            .filter_map(|embedded| normalize::stage_user(&embedded.inner)),
                    );
                    progress.add_users((batch.users.len() - before) as u64);
                }
                Staged::Groups(groups) => batch.groups.extend(groups),
                Staged::Members(members) => batch.members.push(members),
                Staged::UsersDone => {
                    users_done = true;
                    break;
                }
            }
            next = if batch.rows() >= budget {
                None
            } else if gather {
                pending.recv().await
            } else {
                pending.try_recv().ok()
            };
        }
        let mut writes = vec![Write::Batch(batch)];
        if users_done {
            writes.push(Write::UsersDone);
        }
        for write in writes {
            if batches.send(write).await.is_err() {
                // The writer stopped on an error, reported below.
                break;
            }
        }
    }
    drop(batches);
    writer.await.map_err(|_| RunError::WriterStopped)?
}

async fn write_batches(
    store: Store,
    run_id: String,
    target: Target,
    mut batches: mpsc::Receiver<Write>,
) -> Result<(), RunError> {
    match target {
        Target::Staging => {
            while let Some(write) = batches.recv().await {
                if let Write::Batch(batch) = write {
                    store.stage_batch(&run_id, &batch).await?;
                }
            }
        }
        Target::Dataset(dataset) => {
            let mut writer = store.first_sync_writer(dataset).await?;
            while let Some(write) = batches.recv().await {
                match write {
                    Write::Batch(batch) => writer.write(&batch).await?,
                    // All users are in: they go into the dataset in one pass
                    // while the members are still being fetched.
                    Write::UsersDone => writer.move_users().await?,
                }
            }
        }
    }
    Ok(())
}

async fn fetch_users(
    ctx: &RunContext<'_>,
    app_id: &str,
    queue: mpsc::Sender<Staged>,
) -> Result<(), RunError> {
    let mut pages = ctx.client.pages::<model::AppUser>(
        ctx.url(&format!(
            "/api/v1/apps/{app_id}/users?expand=user&limit={APP_USERS_PAGE}"
        )),
        "the app's assigned users",
    );
    while let Some(items) = pages.next().await? {
        ctx.progress.add_page();
        hand_over(&queue, Staged::Users(items)).await?;
    }
    hand_over(&queue, Staged::UsersDone).await
}

/// The app's groups, then the members of those whose membership changed,
/// staged as changes to the stored members; the other groups keep theirs
/// untouched (incremental sync).
async fn fetch_groups_and_members(
    ctx: &RunContext<'_>,
    app_id: &str,
    queue: mpsc::Sender<Staged>,
) -> Result<(), RunError> {
    let stamps = ctx.store.membership_stamps(&ctx.directory.id).await?;
    let mut changed = Vec::new();
    let mut seen = HashSet::new();
    let mut pages = ctx.client.pages::<model::AppGroup>(
        ctx.url(&format!(
            "/api/v1/apps/{app_id}/groups?expand=group&limit={APP_GROUPS_PAGE}"
        )),
        "the app's assigned groups",
    );
    while let Some(items) = pages.next().await? {
        let staged: Vec<_> = items
            .iter()
            .filter_map(|app_group| app_group.embedded.as_ref())
            .map(|embedded| normalize::stage_group(&embedded.inner))
            .collect();
        for group in &staged {
            let moved = match stamps.get(&group.okta_id) {
                None => true,
                Some(stored) => match &group.okta_last_membership_updated {
                    None => true,
                    Some(fetched) => !same_instant(stored.as_deref(), fetched),
                },
            };
            if moved && seen.insert(group.okta_id.clone()) {
                changed.push(group.okta_id.clone());
            }
        }
        ctx.progress.add_page();
        ctx.progress.add_groups(staged.len() as u64);
        hand_over(&queue, Staged::Groups(staged)).await?;
    }
    let total_groups = ctx.progress.snapshot().groups;
    ctx.progress
        .set_groups_skipped(total_groups.saturating_sub(changed.len() as u64));
    ctx.progress.set_phase("memberships");
    ctx.save_counters("memberships").await?;

    let stamps = &stamps;
    stream::iter(changed)
        .map(|group_id| async move {
            let fetched = group_members(ctx, &group_id).await?;
            // A group not stored yet has no members to compare with.
            let stored = if stamps.contains_key(&group_id) {
                ctx.store
                    .stored_group_members(&ctx.directory.id, &group_id)
                    .await?
            } else {
                Vec::new()
            };
            Ok::<_, RunError>(Staged::Members(member_changes(group_id, fetched, stored)))
        })
        .buffer_unordered(MEMBER_FETCH_CONCURRENCY)
        .try_for_each(|staged| {
            let queue = queue.clone();
            async move { hand_over(&queue, staged).await }
        })
        .await
}

/// Who joined and who left a group, from its members in Okta and in the store.
fn member_changes(group_id: String, fetched: Vec<String>, stored: Vec<String>) -> StagedMembers {
    let stored: HashSet<String> = stored.into_iter().collect();
    let mut current = HashSet::with_capacity(fetched.len());
    let mut added = Vec::new();
    for id in fetched {
        if current.insert(id.clone()) && !stored.contains(&id) {
            added.push(id);
        }
    }
    let mut removed: Vec<String> = stored.into_iter().filter(|id| !current.contains(id)).collect();
    removed.sort_unstable();
    StagedMembers {
        group_id,
        added,
        removed,
    }
}

async fn group_members(ctx: &RunContext<'_>, group_id: &str) -> Result<Vec<String>, RunError> {
    let mut ids = Vec::new();
    let mut pages = ctx.client.pages::<MemberRef>(
        ctx.url(&format!(
            "/api/v1/groups/{group_id}/users?limit={GROUP_MEMBERS_PAGE}"
        )),
        "a group's members",
    );
    while let Some(items) = pages.next().await? {
        ids.extend(items.into_iter().map(|m| m.id));
        ctx.progress.add_page();
    }
    Ok(ids)
}

/// Only the id of a group member is needed; skipping the rest keeps parsing cheap.
#[derive(serde::Deserialize)]
struct MemberRef {
    id: String,
}

/// Whether a stored stamp is the instant Okta reports now. Compared as
/// times, not text: a database may write an instant back with other digits
/// (PostgreSQL's microseconds for Okta's milliseconds).
fn same_instant(stored: Option<&str>, fetched: &str) -> bool {
    match (
        stored.map(crate::store::parse_timestamp),
        crate::store::parse_timestamp(fetched),
    ) {
        (Some(Ok(a)), Ok(b)) => a == b,
        _ => stored == Some(fetched),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_changes_against_the_stored_members() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let changes = member_changes("g".into(), ids(&["b", "c", "d", "c"]), ids(&["a", "b", "e"]));
        assert_eq!(
            changes.added,
            ids(&["c", "d"]),
            "new members once, in Okta's order"
        );
        assert_eq!(changes.removed, ids(&["a", "e"]));
        let first = member_changes("g".into(), ids(&["x", "y"]), Vec::new());
        assert_eq!((first.added, first.removed), (ids(&["x", "y"]), Vec::new()));
    }

    fn diff(users_removed: i64, users_live: i64, groups_removed: i64, groups_live: i64) -> DiffCounts {
        DiffCounts {
            users_removed,
            users_live,
            groups_removed,
            groups_live,
            ..DiffCounts::default()
        }
    }

    #[test]
    fn breaker_threshold_and_remove_all() {
        assert!(
            !breaker_trips(&diff(20, 100, 0, 10), 0.2),
            "exactly the threshold passes"
        );
        assert!(breaker_trips(&diff(21, 100, 0, 10), 0.2));
        assert!(breaker_trips(&diff(0, 100, 3, 10), 0.2));
        assert!(
            breaker_trips(&diff(1, 1, 0, 0), 0.9),
            "removing everyone always asks"
        );
        assert!(!breaker_trips(&diff(0, 0, 0, 0), 0.2), "first sync never trips");
    }

    #[test]
    fn stamps_compare_as_instants() {
        assert!(super::same_instant(
            Some("2026-12-01T10:00:00.000000Z"),
            "2026-12-01T10:00:00.000Z"
        ));
        assert!(!super::same_instant(
            Some("2026-12-01T10:00:00.001Z"),
            "2026-12-01T10:00:00.000Z"
        ));
        assert!(!super::same_instant(None, "2026-12-01T10:00:00.000Z"));
        assert!(super::same_instant(Some("not a time"), "not a time"));
    }
}
