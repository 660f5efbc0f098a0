//! The users and groups tables, the user, group and run pages.

use super::{directories::run_view, directory_id};
use crate::{
    domain::{
        identities::{parse_status, UserQuery as DomainUserQuery, UserSort},
        Core, PageRequest,
    },
    model::{OktaGroupId, OktaUserId, RunId},
};
use app::api::{
    AppError, GroupDetail, GroupQuery, GroupRow, GroupsPage, MemberView, NamedRef, RunDetail, UserDetail,
    UserEventView, UserQuery, UserRow, UsersPage,
};

/// Rows per page of every table in the UI.
const PAGE_SIZE: u32 = 50;

fn page(cursor: Option<&str>) -> Result<PageRequest, AppError> {
    Ok(PageRequest::parse(Some(PAGE_SIZE), cursor)?)
}

pub async fn users(core: &Core, id: String, query: UserQuery) -> Result<UsersPage, AppError> {
    let query = DomainUserQuery {
        search: query.search,
        status: parse_status(&query.status)?,
        group: None,
        sort: UserSort::parse(&query.sort),
        page: page(query.cursor.as_deref())?,
    };
    let page = core.identities.users(&directory_id(&id)?, &query).await?;
    Ok(UsersPage {
        total: page.total,
        next_cursor: page.next,
        rows: page
            .items
            .into_iter()
            .map(|u| UserRow {
                okta_id: u.id.to_string(),
                display_name: u.display_name,
                email: u.email,
                login: u.login,
                status: u.status,
                groups: u.groups,
                updated_at: u.updated_at,
            })
            .collect(),
    })
}

pub async fn groups(core: &Core, id: String, query: GroupQuery) -> Result<GroupsPage, AppError> {
    let page = core
        .identities
        .groups(
            &directory_id(&id)?,
            &query.search,
            &page(query.cursor.as_deref())?,
        )
        .await?;
    Ok(GroupsPage {
        total: page.total,
        next_cursor: page.next,
        rows: page
            .items
            .into_iter()
            .map(|g| GroupRow {
                okta_id: g.id.to_string(),
                name: g.name,
                kind: g.kind,
                members: g.members,
                last_membership_updated: g.last_membership_updated,
            })
            .collect(),
    })
}

fn not_found(what: &str) -> AppError {
    AppError::NotFound(format!("{what} was not found."))
}

pub async fn user(core: &Core, id: String, user_id: String) -> Result<UserDetail, AppError> {
    let id = directory_id(&id)?;
    let directory_name = core.directories.name(&id).await?;
    let user_id = OktaUserId::parse(&user_id).map_err(|_| not_found("The user"))?;
    let u = core.identities.user(&id, &user_id).await?;
    Ok(UserDetail {
        directory_id: id.to_string(),
        directory_name,
        okta_id: u.id.to_string(),
        display_name: u.display_name,
        login: u.login,
        email: u.email,
        status: u.status,
        first_seen_at: u.first_seen_at,
        last_seen_at: u.last_seen_at,
        removed_at: u.removed_at,
        provenance: u.provenance,
        traits: u.traits.into_iter().collect(),
        groups: u
            .groups
            .into_iter()
            .map(|g| NamedRef {
                id: g.id.to_string(),
                name: g.name,
            })
            .collect(),
        history: u
            .history
            .into_iter()
            .map(|e| UserEventView {
                run_id: e.run_id,
                event: e.event,
                status: e.status,
                at: e.at,
            })
            .collect(),
    })
}

pub async fn group(
    core: &Core,
    id: String,
    group_id: String,
    cursor: Option<String>,
) -> Result<GroupDetail, AppError> {
    let id = directory_id(&id)?;
    let directory_name = core.directories.name(&id).await?;
    let group_id = OktaGroupId::parse(&group_id).map_err(|_| not_found("The group"))?;
    let g = core.identities.group(&id, &group_id).await?;
    let members = core
        .identities
        .members(&id, &group_id, &page(cursor.as_deref())?)
        .await?;
    Ok(GroupDetail {
        directory_id: id.to_string(),
        directory_name,
        okta_id: g.id.to_string(),
        name: g.name,
        description: g.description,
        kind: g.kind,
        last_membership_updated: g.last_membership_updated,
        removed: g.removed,
        members_total: members.total,
        members: members
            .items
            .into_iter()
            .map(|m| MemberView {
                okta_id: m.id.to_string(),
                display_name: m.display_name,
                login: m.login,
                status: m.status,
            })
            .collect(),
        next_cursor: members.next,
    })
}

pub async fn run(core: &Core, id: String, run_id: String) -> Result<RunDetail, AppError> {
    let id = directory_id(&id)?;
    let directory_name = core.directories.name(&id).await?;
    let run_id = RunId::parse(&run_id).map_err(|_| not_found("The sync run"))?;
    let run = core.sync.run(&id, &run_id).await?;
    let sample = [
        ("Users added", run.sample.users_added),
        ("Users updated", run.sample.users_updated),
        ("Users removed", run.sample.users_removed),
        ("Groups added", run.sample.groups_added),
        ("Groups updated", run.sample.groups_updated),
        ("Groups removed", run.sample.groups_removed),
    ]
    .into_iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(what, names)| (what.to_owned(), names))
    .collect();
    Ok(RunDetail {
        directory_id: id.to_string(),
        directory_name,
        run: run_view(&run.run),
        pages: run.pages,
        paced_waits: run.paced_waits,
        waited_ms: run.waited_ms,
        retries: run.retries,
        users_fetched: run.users_fetched,
        groups_fetched: run.groups_fetched,
        groups_skipped: run.groups_skipped,
        memberships_added: run.run.memberships_added,
        memberships_removed: run.run.memberships_removed,
        sample,
    })
}
