//! The identities aggregate: users, groups and memberships of a directory.
//! Every read here returns present records only: a member is a present user
//! of a present group (the store's `present_*` views enforce it), so no front
//! door can list a deprovisioned or unassigned user as a member.

use super::{directories::Directories, paging::Page, DomainError, DomainResult, PageRequest};
use crate::{
    model::{DirectoryId, OktaGroupId, OktaUserId},
    okta::model::{Group as OktaGroup, GroupProfile, User as OktaUser},
    store::{MemberWrite, Store, UserFilter, Written},
    sync::normalize,
};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub use crate::store::UserSort;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: OktaUserId,
    pub display_name: String,
    pub email: Option<String>,
    pub login: String,
    /// Okta's status: ACTIVE, SUSPENDED, PROVISIONED, …
    pub status: String,
    /// Present groups the user is a member of.
    pub groups: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupRef {
    pub id: OktaGroupId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserEvent {
    pub run_id: String,
    /// `added`, `status` or `removed`.
    pub event: String,
    pub status: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserDetail {
    pub id: OktaUserId,
    pub directory_id: DirectoryId,
    pub display_name: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
    pub first_seen_at: String,
    /// When a sync last saw the user in Okta.
    pub last_seen_at: String,
    /// Set once the user left the app (deprovisioned or unassigned).
    pub removed_at: Option<String>,
    /// Where the record came from: `pull`, `push` (SCIM) or `pull+push`.
    pub provenance: String,
    /// Every non-empty Okta profile attribute, as text.
    pub traits: BTreeMap<String, String>,
    /// Present groups; none once the user was removed.
    pub groups: Vec<GroupRef>,
    /// Newest first.
    pub history: Vec<UserEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupSummary {
    pub id: OktaGroupId,
    pub name: String,
    /// OKTA_GROUP, APP_GROUP or BUILT_IN.
    pub kind: String,
    /// Present members.
    pub members: i64,
    pub last_membership_updated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupDetail {
    pub id: OktaGroupId,
    pub directory_id: DirectoryId,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub last_membership_updated: Option<String>,
    /// The group left the app (or Okta).
    pub removed: bool,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Member {
    pub id: OktaUserId,
    pub display_name: String,
    pub login: String,
    pub status: String,
}

/// The users list's filters: search over name, e-mail and login, Okta status,
/// membership of one group, and the sort order.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub search: String,
    pub status: Option<String>,
    pub group: Option<OktaGroupId>,
    pub sort: UserSort,
    pub page: PageRequest,
}

/// The Okta statuses a filter may name.
pub const USER_STATUSES: [&str; 8] = [
    "ACTIVE",
    "STAGED",
    "PROVISIONED",
    "RECOVERY",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "SUSPENDED",
    "DEPROVISIONED",
];

/// An Okta status as typed (any case); `None` for "any status".
pub fn parse_status(raw: &str) -> DomainResult<Option<String>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let upper = raw.to_ascii_uppercase();
    if USER_STATUSES.contains(&upper.as_str()) {
        Ok(Some(upper))
    } else {
        Err(DomainError::invalid(format!(
            "Unknown status “{raw}”; use one of {}.",
            USER_STATUSES.join(", ")
        )))
    }
}

/// A sort order as typed; empty means by name.
pub fn parse_sort(raw: &str) -> DomainResult<UserSort> {
    let raw = raw.trim();
    let sort = UserSort::parse(raw);
    if raw.is_empty() || raw == "name" || sort != UserSort::Name {
        Ok(sort)
    } else {
        Err(DomainError::invalid(format!(
            "Unknown sort “{raw}”; use name, email, login, status, updated or groups."
        )))
    }
}

/// Profile attributes as text; empty values are not traits.
fn traits(profile: &str) -> BTreeMap<String, String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(profile) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .filter_map(|(key, value)| {
            let text = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) if s.is_empty() => return None,
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(a) if a.is_empty() => return None,
                other => other.to_string(),
            };
            Some((key, text))
        })
        .collect()
}

const HISTORY_LIMIT: i64 = 50;

/// A user as a push source states it, shaped like Okta's user object: the
/// same normalisation as the pull sync decides login, name and presence.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub id: OktaUserId,
    /// Okta's status; a status that is not present (DEPROVISIONED) removes the user.
    pub status: String,
    /// Okta profile attributes (`login`, `email`, `firstName`, `lastName`, …).
    pub profile: serde_json::Map<String, serde_json::Value>,
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    pub id: OktaGroupId,
    pub name: String,
    pub description: Option<String>,
    /// OKTA_GROUP, APP_GROUP or BUILT_IN.
    pub kind: String,
}

/// What a write did, so a caller can answer 201, 200 or 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    Created,
    Updated,
    Unchanged,
    Removed,
}

/// The members a membership write actually added and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MembersChanged {
    pub added: Vec<OktaUserId>,
    pub removed: Vec<OktaUserId>,
}

/// How a membership write names its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members<'a> {
    Add(&'a [OktaUserId]),
    Remove(&'a [OktaUserId]),
    /// Exactly these afterwards.
    Replace(&'a [OktaUserId]),
}

fn outcome(written: Written, what: &str) -> DomainResult<WriteOutcome> {
    match written {
        Written::Created => Ok(WriteOutcome::Created),
        Written::Updated => Ok(WriteOutcome::Updated),
        Written::Unchanged => Ok(WriteOutcome::Unchanged),
        Written::Removed => Ok(WriteOutcome::Removed),
        Written::Missing => Err(DomainError::not_found(what)),
    }
}

#[derive(Clone)]
pub struct Identities {
    directories: Directories,
    store: Store,
    /// Revokes the sessions of people a write takes out (the sign-in service).
    revoke: std::sync::Arc<dyn crate::sync::DeprovisionHook>,
}

/// The longest search accepted: longer ones only cost a full scan.
pub const MAX_SEARCH_CHARS: usize = 200;

fn check_search(search: &str) -> DomainResult<()> {
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(DomainError::invalid(format!(
            "Search for at most {MAX_SEARCH_CHARS} characters."
        )));
    }
    Ok(())
}

impl Identities {
    pub fn new(
        directories: Directories,
        store: Store,
        revoke: std::sync::Arc<dyn crate::sync::DeprovisionHook>,
    ) -> Self {
        Self {
            directories,
            store,
            revoke,
        }
    }

    /// A push source's user write (SCIM): one version-checked transaction;
    /// a user it takes out has their sessions revoked before it returns.
    pub async fn write_pushed_user(
        &self,
        id: &DirectoryId,
        user: &crate::store::PushedUser<'_>,
        mode: crate::store::PushMode,
        source: &str,
    ) -> DomainResult<crate::store::PushOutcome> {
        let outcome = self.store.push_user(id.as_str(), user, mode, source).await?;
        if matches!(
            outcome,
            crate::store::PushOutcome::Written {
                deactivated: true,
                ..
            }
        ) {
            tracing::info!(directory_id = %id, user = %user.staged.okta_id, source, "a push deactivated a user; revoking their sessions");
            self.revoke
                .after_apply(id.as_str(), std::slice::from_ref(&user.staged.okta_id))
                .await;
        }
        Ok(outcome)
    }

    /// A push source's group write (rename, externalId, members), in one transaction.
    pub async fn write_pushed_group(
        &self,
        id: &DirectoryId,
        group: &crate::store::PushedGroup<'_>,
        mode: crate::store::PushMode,
    ) -> DomainResult<crate::store::PushOutcome> {
        let outcome = self.store.push_group(id.as_str(), group, mode).await?;
        if matches!(outcome, crate::store::PushOutcome::Written { .. }) {
            // Someone may have left (or the rename ended) the group that made
            // them an admin or a viewer.
            self.revoke.after_apply(id.as_str(), &[]).await;
        }
        Ok(outcome)
    }

    /// Erases a user a push source deleted; sessions are revoked first,
    /// while the record's e-mail can still be matched. False when absent.
    pub async fn erase_pushed_user(
        &self,
        id: &DirectoryId,
        user_id: &str,
        was_present: bool,
        source: &str,
    ) -> DomainResult<bool> {
        if was_present {
            self.revoke.after_apply(id.as_str(), &[user_id.to_owned()]).await;
        }
        Ok(self.store.erase_user(id.as_str(), user_id, source).await?)
    }

    /// Removes a group a push source deleted; its memberships go with it.
    pub async fn remove_pushed_group(&self, id: &DirectoryId, group_id: &str) -> DomainResult<bool> {
        let removed = !matches!(
            self.store.remove_group(id.as_str(), group_id).await?,
            Written::Missing
        );
        if removed {
            self.revoke.after_apply(id.as_str(), &[]).await;
        }
        Ok(removed)
    }

    /// Present users, filtered and sorted, one keyset page at a time.
    pub async fn users(&self, id: &DirectoryId, query: &UserQuery) -> DomainResult<Page<UserSummary>> {
        check_search(&query.search)?;
        self.directories.active(id).await?;
        if let Some(group) = &query.group {
            self.present_group(id, group).await?;
        }
        let filter = UserFilter {
            search: &query.search,
            status: query.status.as_deref().unwrap_or(""),
            group: query.group.as_ref().map(OktaGroupId::as_str),
            sort: query.sort,
            after: query.page.after_ref(),
        };
        let rows = self
            .store
            .list_users(id.as_str(), &filter, query.page.fetch_limit())
            .await?;
        let total = self
            .store
            .count_users(
                id.as_str(),
                &UserFilter {
                    after: None,
                    ..filter
                },
            )
            .await?;
        let page = Page::from_rows(
            rows,
            &query.page,
            total,
            |r| (r.sort_key.as_str(), r.okta_id.as_str()),
            |r| r,
        );
        let items = page
            .items
            .into_iter()
            .map(|r| {
                Ok(UserSummary {
                    id: OktaUserId::parse(&r.okta_id)?,
                    display_name: r.display_name,
                    email: r.email,
                    login: r.login,
                    status: r.status,
                    groups: r.groups,
                    updated_at: r.updated_at,
                })
            })
            .collect::<DomainResult<_>>()?;
        Ok(Page {
            items,
            total: page.total,
            next: page.next,
        })
    }

    /// A user, present or removed, with traits, present groups and history.
    pub async fn user(&self, id: &DirectoryId, user_id: &OktaUserId) -> DomainResult<UserDetail> {
        let directory = self.directories.active(id).await?;
        let user = self
            .store
            .user(id.as_str(), user_id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("The user"))?;
        let groups = self.store.user_groups(id.as_str(), user_id.as_str()).await?;
        let history = self
            .store
            .user_events(id.as_str(), user_id.as_str(), HISTORY_LIMIT)
            .await?;
        Ok(UserDetail {
            id: user_id.clone(),
            directory_id: id.clone(),
            traits: traits(&user.profile),
            display_name: user.display_name,
            login: user.login,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            status: user.status,
            first_seen_at: user.first_seen_at,
            // A present user was seen by the last successful sync; a sync only
            // writes the users it adds, changes or removes.
            last_seen_at: match (&user.deleted_at, directory.last_success_at) {
                (None, Some(last_success)) => last_success,
                _ => user.last_seen_at,
            },
            removed_at: user.deleted_at,
            provenance: match (user.via_pull, user.via_push) {
                (true, true) => "pull+push",
                (false, true) => "push",
                _ => "pull",
            }
            .to_owned(),
            groups: groups
                .into_iter()
                .map(|g| {
                    Ok(GroupRef {
                        id: OktaGroupId::parse(&g.okta_id)?,
                        name: g.name,
                    })
                })
                .collect::<DomainResult<_>>()?,
            history: history
                .into_iter()
                .map(|e| UserEvent {
                    run_id: e.run_id,
                    event: e.event,
                    status: e.status,
                    at: e.at,
                })
                .collect(),
        })
    }

    /// Creates or replaces a user; a status that is not present removes it.
    /// `source` names the writer in the user's history.
    pub async fn upsert_user(
        &self,
        id: &DirectoryId,
        input: UserInput,
        source: &str,
    ) -> DomainResult<WriteOutcome> {
        self.directories.active(id).await?;
        let user = OktaUser {
            id: input.id.to_string(),
            status: input.status.trim().to_ascii_uppercase(),
            last_updated: input.last_updated,
            profile: input.profile,
        };
        if user.profile_str("login").is_none() {
            return Err(DomainError::invalid("A user needs a `login` in its profile."));
        }
        match normalize::stage_user(&user) {
            Some(staged) => outcome(
                self.store.upsert_user(id.as_str(), &staged, source).await?,
                "The user",
            ),
            None if normalize::is_known_status(&user.status) => {
                match self.store.remove_user(id.as_str(), &user.id, source).await? {
                    // Creating a user that is already gone changes nothing.
                    Written::Missing => Ok(WriteOutcome::Unchanged),
                    written => outcome(written, "The user"),
                }
            }
            None => Err(DomainError::invalid(format!(
                "Unknown status “{}”; use one of {}.",
                user.status,
                USER_STATUSES.join(", ")
            ))),
        }
    }

    /// Changes a present user's status; DEPROVISIONED removes the user.
    pub async fn set_user_status(
        &self,
        id: &DirectoryId,
        user_id: &OktaUserId,
        status: &str,
        source: &str,
    ) -> DomainResult<WriteOutcome> {
        self.directories.active(id).await?;
        let stored = self
            .store
            .user(id.as_str(), user_id.as_str())
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| DomainError::not_found("The user"))?;
        let profile = match serde_json::from_str(&stored.profile) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        self.upsert_user(
            id,
            UserInput {
                id: user_id.clone(),
                status: status.to_owned(),
                profile,
                last_updated: stored.okta_last_updated,
            },
            source,
        )
        .await
    }

    /// Removes a present user (deprovisioned or unassigned).
    pub async fn deactivate_user(
        &self,
        id: &DirectoryId,
        user_id: &OktaUserId,
        source: &str,
    ) -> DomainResult<WriteOutcome> {
        self.directories.active(id).await?;
        let written = outcome(
            self.store
                .remove_user(id.as_str(), user_id.as_str(), source)
                .await?,
            "The user",
        )?;
        self.revoke
            .after_apply(id.as_str(), &[user_id.as_str().to_owned()])
            .await;
        Ok(written)
    }

    pub async fn upsert_group(&self, id: &DirectoryId, input: GroupInput) -> DomainResult<WriteOutcome> {
        self.directories.active(id).await?;
        let name = input.name.trim();
        if name.is_empty() {
            return Err(DomainError::invalid("A group needs a name."));
        }
        let group = OktaGroup {
            id: input.id.to_string(),
            kind: if input.kind.is_empty() {
                "OKTA_GROUP".into()
            } else {
                input.kind
            },
            profile: GroupProfile {
                name: name.to_owned(),
                description: input.description,
            },
            last_updated: None,
            last_membership_updated: None,
        };
        outcome(
            self.store
                .upsert_group(id.as_str(), &normalize::stage_group(&group))
                .await?,
            "The group",
        )
    }

    /// Removes a present group; its memberships go with it.
    pub async fn delete_group(&self, id: &DirectoryId, group_id: &OktaGroupId) -> DomainResult<WriteOutcome> {
        self.directories.active(id).await?;
        outcome(
            self.store.remove_group(id.as_str(), group_id.as_str()).await?,
            "The group",
        )
    }

    /// Adds, removes or replaces members of a present group. Only present
    /// users can become members; an unknown one refuses the whole change.
    pub async fn write_members(
        &self,
        id: &DirectoryId,
        group_id: &OktaGroupId,
        members: Members<'_>,
    ) -> DomainResult<MembersChanged> {
        self.directories.active(id).await?;
        let strings = |ids: &[OktaUserId]| ids.iter().map(|u| u.as_str().to_owned()).collect::<Vec<_>>();
        let (write_ids, joining) = match members {
            Members::Add(ids) => (strings(ids), strings(ids)),
            Members::Replace(ids) => (strings(ids), strings(ids)),
            Members::Remove(ids) => (strings(ids), Vec::new()),
        };
        let absent = self.store.absent_users(id.as_str(), &joining).await?;
        if let Some(first) = absent.first() {
            return Err(DomainError::invalid(format!(
                "{} of the users to add {} not in this directory (first: {first}); nothing was changed.",
                absent.len(),
                if absent.len() == 1 { "is" } else { "are" }
            )));
        }
        let write = match members {
            Members::Add(_) => MemberWrite::Add(&write_ids),
            Members::Remove(_) => MemberWrite::Remove(&write_ids),
            Members::Replace(_) => MemberWrite::Replace(&write_ids),
        };
        let change = self
            .store
            .write_members(id.as_str(), group_id.as_str(), write)
            .await?
            .ok_or_else(|| DomainError::not_found("The group"))?;
        let typed = |ids: Vec<String>| {
            ids.iter()
                .map(|u| OktaUserId::parse(u))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(MembersChanged {
            added: typed(change.added)?,
            removed: typed(change.removed)?,
        })
    }

    /// A group that is present (a removed group has no members to list).
    async fn present_group(&self, id: &DirectoryId, group_id: &OktaGroupId) -> DomainResult<()> {
        match self.store.group(id.as_str(), group_id.as_str()).await? {
            Some(g) if g.deleted_at.is_none() => Ok(()),
            Some(_) => Err(DomainError::not_found("The group (it was removed)")),
            None => Err(DomainError::not_found("The group")),
        }
    }

    /// Present groups by name, searchable.
    pub async fn groups(
        &self,
        id: &DirectoryId,
        search: &str,
        page: &PageRequest,
    ) -> DomainResult<Page<GroupSummary>> {
        check_search(search)?;
        self.directories.active(id).await?;
        let rows = self
            .store
            .groups_page(id.as_str(), search, page.after_ref(), page.fetch_limit())
            .await?;
        let total = self.store.count_groups(id.as_str(), search).await?;
        let page = Page::from_rows(
            rows,
            page,
            total,
            |g| (g.name.as_str(), g.okta_id.as_str()),
            |g| g,
        );
        let items = page
            .items
            .into_iter()
            .map(|g| {
                Ok(GroupSummary {
                    id: OktaGroupId::parse(&g.okta_id)?,
                    name: g.name,
                    kind: g.kind,
                    members: g.members,
                    last_membership_updated: g.okta_last_membership_updated,
                })
            })
            .collect::<DomainResult<_>>()?;
        Ok(Page {
            items,
            total: page.total,
            next: page.next,
        })
    }

    pub async fn group(&self, id: &DirectoryId, group_id: &OktaGroupId) -> DomainResult<GroupDetail> {
        self.directories.active(id).await?;
        let group = self
            .store
            .group(id.as_str(), group_id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("The group"))?;
        Ok(GroupDetail {
            id: group_id.clone(),
            directory_id: id.clone(),
            members: self
                .store
                .count_group_members(id.as_str(), group_id.as_str())
                .await?,
            name: group.name,
            description: group.description,
            kind: group.kind,
            last_membership_updated: group.okta_last_membership_updated,
            removed: group.deleted_at.is_some(),
        })
    }

    /// Present members of a present group, by name.
    pub async fn members(
        &self,
        id: &DirectoryId,
        group_id: &OktaGroupId,
        page: &PageRequest,
    ) -> DomainResult<Page<Member>> {
        self.directories.active(id).await?;
        self.present_group(id, group_id).await?;
        let rows = self
            .store
            .group_members(
                id.as_str(),
                group_id.as_str(),
                page.after_ref(),
                page.fetch_limit(),
            )
            .await?;
        let total = self
            .store
            .count_group_members(id.as_str(), group_id.as_str())
            .await?;
        let page = Page::from_rows(
            rows,
            page,
            total,
            |m| (m.display_name.as_str(), m.okta_id.as_str()),
            |m| m,
        );
        let items = page
            .items
            .into_iter()
            .map(|m| {
                Ok(Member {
                    id: OktaUserId::parse(&m.okta_id)?,
                    display_name: m.display_name,
                    login: m.login,
                    status: m.status,
                })
            })
            .collect::<DomainResult<_>>()?;
        Ok(Page {
            items,
            total: page.total,
            next: page.next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traits_keep_every_non_empty_attribute_as_text() {
        let t = traits(r#"{"login":"a@x","title":"","manager":null,"costCenter":42,"tags":["x"],"none":[]}"#);
        let expected: BTreeMap<String, String> =
            [("costCenter", "42"), ("login", "a@x"), ("tags", "[\"x\"]")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(t, expected);
    }

    #[test]
    fn statuses_are_checked_and_normalised() {
        assert_eq!(parse_status(" suspended ").unwrap().as_deref(), Some("SUSPENDED"));
        assert_eq!(parse_status("").unwrap(), None);
        assert!(parse_status("gone").unwrap_err().message.contains("ACTIVE"));
    }
}
