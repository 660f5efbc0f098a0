//! A targeted refresh: re-reads the users and groups an Okta event named and
//! applies what Okta says now in one transaction (under the directory's sync
//! lease) through the store's identity writes — so the event log, webhooks
//! and session revocation follow as for any other change.
//!
//! An event is a trigger to re-read, never data (Firezone's design): a stale,
//! repeated or reordered trigger re-reads the present, so it can never undo
//! newer state. A user is read with its assignment
//! (`GET /api/v1/apps/{app}/users/{uid}?expand=user`: 404 means no longer
//! assigned); a group with its assignment (`GET /api/v1/apps/{app}/groups/{gid}`),
//! its profile (`GET /api/v1/groups/{gid}`) and its members, paged. Every
//! target is read before anything is written, so the full sync's breaker can
//! refuse the whole refresh.

use super::{
    normalize,
    run::{breaker_trips, GROUP_MEMBERS_PAGE},
};
use crate::{
    okta::{model, OktaClient, OktaError},
    store::{
        DiffCounts, Directory, IdentityWrite, MemberWrite, RefreshItem, StagedGroup, StagedUser, Store,
        StoreError, Written,
    },
};
use serde::Serialize;
use std::collections::BTreeSet;

/// The records to re-read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshTargets {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

impl RefreshTargets {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }

    pub fn len(&self) -> usize {
        self.users.len() + self.groups.len()
    }

    /// The records a claim on the refresh queue returned.
    pub fn from_items(items: Vec<RefreshItem>) -> Self {
        let mut targets = Self::default();
        for (kind, id) in items {
            match kind.as_str() {
                "group" => targets.groups.insert(id),
                _ => targets.users.insert(id),
            };
        }
        targets
    }
}

/// What a refresh changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshOutcome {
    /// Users created or updated.
    pub users_written: u64,
    /// Users taken out (deprovisioned, unassigned or deleted in Okta).
    pub users_removed: Vec<String>,
    pub groups_written: u64,
    pub groups_removed: u64,
    /// Records re-read and found as Roster already had them.
    pub unchanged: u64,
}

/// How a refresh ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshEnd {
    Applied(RefreshOutcome),
    /// It would remove more than the directory's breaker allows (the full
    /// sync's rule): nothing was applied; a full sync decides, and holds the
    /// change for review.
    Tripped {
        users_removed: i64,
        groups_removed: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no Okta app is chosen for this directory")]
    NoApp,
}

/// The history entries and events name this writer.
const SOURCE: &str = "refresh";

/// What Okta says of a user now.
enum UserNow {
    Present(Box<StagedUser>),
    Gone(String),
}

/// What Okta says of a group now: its record and members, or gone.
enum GroupNow {
    Present(StagedGroup, Vec<String>),
    Gone(String),
}

/// Re-reads `targets` for `directory`, checks the breaker, then applies.
pub async fn refresh(
    store: &Store,
    client: &OktaClient,
    directory: &Directory,
    targets: &RefreshTargets,
    lease: Option<&str>,
) -> Result<RefreshEnd, RefreshError> {
    let app = directory.app_id.as_deref().ok_or(RefreshError::NoApp)?;
    let mut users = Vec::with_capacity(targets.users.len());
    for user in &targets.users {
        users.push(read_user(client, app, user).await?);
    }
    let mut groups = Vec::with_capacity(targets.groups.len());
    for group in &targets.groups {
        groups.push(read_group(client, app, group).await?);
    }
    if let Some(tripped) = breaker(store, directory, &users, &groups).await? {
        return Ok(tripped);
    }
    let mut writes = Vec::with_capacity(users.len() + 2 * groups.len());
    for user in &users {
        writes.push(match user {
            UserNow::Present(staged) => IdentityWrite::UpsertUser(staged),
            UserNow::Gone(id) => IdentityWrite::RemoveUser(id),
        });
    }
    for group in &groups {
        match group {
            GroupNow::Gone(id) => writes.push(IdentityWrite::RemoveGroup(id)),
            GroupNow::Present(staged, members) => {
                writes.push(IdentityWrite::UpsertGroup(staged));
                writes.push(IdentityWrite::Members(
                    &staged.okta_id,
                    MemberWrite::Replace(members),
                ));
            }
        }
    }
    // One transaction (under the lease, when the refresh holds it): all of
    // it or nothing.
    let written = store
        .write_identities(&directory.id, &writes, SOURCE, lease)
        .await?;
    Ok(RefreshEnd::Applied(outcome_of(&writes, &written)))
}

/// What the writes did, counted per record (a group's profile and members
/// are one record).
fn outcome_of(writes: &[IdentityWrite<'_>], written: &[Written]) -> RefreshOutcome {
    let mut outcome = RefreshOutcome::default();
    let mut pairs = writes.iter().zip(written.iter().copied()).peekable();
    while let Some((write, did)) = pairs.next() {
        let changed = matches!(did, Written::Created | Written::Updated);
        match write {
            IdentityWrite::UpsertUser(_) | IdentityWrite::RemoveUser(_) => match (write, did) {
                (IdentityWrite::RemoveUser(id), Written::Removed) => {
                    outcome.users_removed.push((*id).to_owned())
                }
                _ if changed => outcome.users_written += 1,
                _ => outcome.unchanged += 1,
            },
            IdentityWrite::RemoveGroup(_) if did == Written::Removed => outcome.groups_removed += 1,
            IdentityWrite::UpsertGroup(_) => {
                let members_changed = match pairs.peek() {
                    Some((IdentityWrite::Members(..), members)) => {
                        let members = *members;
                        pairs.next();
                        members == Written::Updated
                    }
                    _ => false,
                };
                if changed || members_changed {
                    outcome.groups_written += 1;
                } else {
                    outcome.unchanged += 1;
                }
            }
            _ => outcome.unchanged += 1,
        }
    }
    outcome
}

/// The full sync's breaker, applied to the present records this refresh
/// would take out.
async fn breaker(
    store: &Store,
    directory: &Directory,
    users: &[UserNow],
    groups: &[GroupNow],
) -> Result<Option<RefreshEnd>, StoreError> {
    let leaving: Vec<String> = users
        .iter()
        .filter_map(|u| match u {
            UserNow::Gone(id) => Some(id.clone()),
            UserNow::Present(_) => None,
        })
        .collect();
    let groups_leaving = groups.iter().filter(|g| matches!(g, GroupNow::Gone(_))).count() as i64;
    if leaving.is_empty() && groups_leaving == 0 {
        return Ok(None);
    }
    let absent = store.absent_users(&directory.id, &leaving).await?.len();
    let counts = store.directory_counts(&directory.id).await?;
    let diff = DiffCounts {
        users_removed: (leaving.len() - absent) as i64,
        users_live: counts.users,
        groups_removed: groups_leaving,
        groups_live: counts.groups,
        ..DiffCounts::default()
    };
    Ok(
        breaker_trips(&diff, directory.breaker_threshold).then_some(RefreshEnd::Tripped {
            users_removed: diff.users_removed,
            groups_removed: diff.groups_removed,
        }),
    )
}

async fn read_user(client: &OktaClient, app: &str, user_id: &str) -> Result<UserNow, OktaError> {
    let url = client
        .origin()
        .url(&format!("/api/v1/apps/{app}/users/{user_id}?expand=user"));
    let user = match client.get_one::<model::AppUser>(&url, "an app user").await? {
        None => None,
        Some(model::AppUser {
            embedded: Some(embedded),
            ..
        }) => Some(embedded.inner),
        // Okta left the user out of the expansion: read it for its status.
        Some(_) => {
            let url = client.origin().url(&format!("/api/v1/users/{user_id}"));
            client.get_one::<model::User>(&url, "a user").await?
        }
    };
    // The full sync's rule: a user who is not assigned, or whose status is
    // not present (DEPROVISIONED), is not in the directory.
    Ok(match user.as_ref().and_then(normalize::stage_user) {
        Some(staged) => UserNow::Present(Box::new(staged)),
        None => UserNow::Gone(user_id.to_owned()),
    })
}

async fn read_group(client: &OktaClient, app: &str, group_id: &str) -> Result<GroupNow, OktaError> {
    let origin = client.origin();
    let assigned = client
        .get_one::<model::AppGroup>(
            &origin.url(&format!("/api/v1/apps/{app}/groups/{group_id}")),
            "an app group",
        )
        .await?;
    if assigned.is_none() {
        return Ok(GroupNow::Gone(group_id.to_owned()));
    }
    let Some(group) = client
        .get_one::<model::Group>(&origin.url(&format!("/api/v1/groups/{group_id}")), "a group")
        .await?
    else {
        return Ok(GroupNow::Gone(group_id.to_owned()));
    };
    let mut members = Vec::new();
    let mut pages = client.pages::<MemberRef>(
        origin.url(&format!(
            "/api/v1/groups/{group_id}/users?limit={GROUP_MEMBERS_PAGE}"
        )),
        "a group's members",
    );
    while let Some(page) = pages.next().await? {
        members.extend(page.into_iter().map(|m| m.id));
    }
    Ok(GroupNow::Present(normalize::stage_group(&group), members))
}

/// Only a member's id is needed.
#[derive(serde::Deserialize)]
struct MemberRef {
    id: String,
}
