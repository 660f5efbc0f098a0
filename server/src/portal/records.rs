//! The user, group, groups-table and run pages: store rows into the UI's shapes.

use super::directories::{active_directory, decode_cursor, one_page, run_view, PAGE_SIZE};
use crate::{state::AppState, store::DiffSample};
use app::api::{
    AppError, GroupDetail, GroupQuery, GroupRow, GroupsPage, MemberView, NamedRef, RunDetail, UserDetail,
    UserEventView,
};

const HISTORY_LIMIT: i64 = 50;

pub async fn groups(state: &AppState, id: String, query: GroupQuery) -> Result<GroupsPage, AppError> {
    active_directory(state, &id).await?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let after = after.as_ref().map(|(n, i)| (n.as_str(), i.as_str()));
    let rows = state
        .store
        .groups_page(&id, &query.search, after, PAGE_SIZE + 1)
        .await?;
    let (rows, next_cursor) = one_page(rows, |g| (&g.name, &g.okta_id));
    Ok(GroupsPage {
        total: state.store.count_groups(&id, &query.search).await?,
        rows: rows
            .into_iter()
            .map(|g| GroupRow {
                okta_id: g.okta_id,
                name: g.name,
                kind: g.kind,
                members: g.members,
                last_membership_updated: g.okta_last_membership_updated,
            })
            .collect(),
        next_cursor,
    })
}

/// Profile attributes as (name, text) pairs; empty values are not traits.
fn traits(profile: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(profile) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = map
        .into_iter()
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
        .collect();
    out.sort();
    out
}

pub async fn user(state: &AppState, id: String, user_id: String) -> Result<UserDetail, AppError> {
    let directory = active_directory(state, &id).await?;
    let store = &state.store;
    let user = store
        .user(&id, &user_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The user".into()))?;
    let groups = store.user_groups(&id, &user_id).await?;
    let history = store.user_events(&id, &user_id, HISTORY_LIMIT).await?;
    Ok(UserDetail {
        directory_id: id,
        directory_name: directory.name,
        traits: traits(&user.profile),
        okta_id: user.okta_id,
        display_name: user.display_name,
        login: user.login,
        email: user.email,
        status: user.status,
        first_seen_at: user.first_seen_at,
        // A live user was seen by the last successful sync; a sync only
        // writes the users it adds, changes or removes.
        last_seen_at: match (&user.deleted_at, directory.last_success_at) {
            (None, Some(last_success)) => last_success,
            _ => user.last_seen_at,
        },
        removed_at: user.deleted_at,
        groups: groups
            .into_iter()
            .map(|g| NamedRef {
                id: g.okta_id,
                name: g.name,
            })
            .collect(),
        history: history
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
    state: &AppState,
    id: String,
    group_id: String,
    cursor: Option<String>,
) -> Result<GroupDetail, AppError> {
    let directory = active_directory(state, &id).await?;
    let store = &state.store;
    let group = store
        .group(&id, &group_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The group".into()))?;
    let after = cursor.as_deref().map(decode_cursor).transpose()?;
    let after = after.as_ref().map(|(n, i)| (n.as_str(), i.as_str()));
    let members = store.group_members(&id, &group_id, after, PAGE_SIZE + 1).await?;
    let (members, next_cursor) = one_page(members, |m| (&m.display_name, &m.okta_id));
    Ok(GroupDetail {
        directory_id: id.clone(),
        directory_name: directory.name,
        members_total: store.count_group_members(&id, &group_id).await?,
        okta_id: group.okta_id,
        name: group.name,
        description: group.description,
        kind: group.kind,
        last_membership_updated: group.okta_last_membership_updated,
        removed: group.deleted_at.is_some(),
        members: members
            .into_iter()
            .map(|m| MemberView {
                okta_id: m.okta_id,
                display_name: m.display_name,
                login: m.login,
                status: m.status,
            })
            .collect(),
        next_cursor,
    })
}

pub async fn run(state: &AppState, id: String, run_id: String) -> Result<RunDetail, AppError> {
    let directory = active_directory(state, &id).await?;
    let run = state
        .store
        .directory_run(&id, &run_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The sync run".into()))?;
    let sample: DiffSample = run
        .diff_sample
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let sample = [
        ("Users added", sample.users_added),
        ("Users updated", sample.users_updated),
        ("Users removed", sample.users_removed),
        ("Groups added", sample.groups_added),
        ("Groups updated", sample.groups_updated),
        ("Groups removed", sample.groups_removed),
    ]
    .into_iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(what, names)| (what.to_owned(), names))
    .collect();
    Ok(RunDetail {
        directory_id: id,
        directory_name: directory.name,
        run: run_view(&run),
        pages: run.pages,
        paced_waits: run.paced_waits,
        waited_ms: run.waited_ms,
        retries: run.retries,
        users_fetched: run.users_fetched,
        groups_fetched: run.groups_fetched,
        groups_skipped: run.groups_skipped,
        memberships_added: run.memberships_added,
        memberships_removed: run.memberships_removed,
        sample,
    })
}

#[cfg(test)]
mod tests {
    use super::traits;

    #[test]
    fn traits_keep_every_non_empty_attribute_as_text() {
        let t = traits(r#"{"login":"a@x","title":"","manager":null,"costCenter":42,"tags":["x"],"none":[]}"#);
        assert_eq!(
            t,
            vec![
                ("costCenter".into(), "42".into()),
                ("login".into(), "a@x".into()),
                ("tags".into(), "[\"x\"]".into()),
            ]
        );
    }
}
