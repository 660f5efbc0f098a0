//! Runs, users, groups and members: reads with cursor paging.

use super::{problem::Problem, Path, Query};
use crate::{
    domain::Actor,
    domain::{
        directories::{RunDetail, RunSummary},
        identities::{
            parse_sort, parse_status, GroupDetail, GroupSummary, Member, UserDetail, UserQuery, UserSummary,
        },
        Page, PageRequest,
    },
    model::{DirectoryId, OktaGroupId, OktaUserId, RunId, RunStatus},
    state::AppState,
    web::encode_query_value,
};
use axum::{extract::State, Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type Result<T> = std::result::Result<T, Problem>;

/// A page of results: `next` is the cursor to pass as `after`, `next_url` the
/// ready-made link; both are absent on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub items: Vec<T>,
    pub total: i64,
    pub next: Option<String>,
    pub next_url: Option<String>,
}

fn paged<T: ToSchema>(page: Page<T>, path: &str, mut query: Vec<(&str, String)>) -> Paged<T> {
    let next_url = page.next.as_ref().map(|cursor| {
        query.retain(|(k, v)| *k != "after" && !v.is_empty());
        query.push(("after", cursor.clone()));
        let encoded: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
            .collect();
        format!("/api/v1{path}?{}", encoded.join("&"))
    });
    Paged {
        items: page.items,
        total: page.total,
        next: page.next,
        next_url,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–200, default 50.
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsParams {
    /// 1–200, default 25.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/directories/{id}/runs", tag = "sync",
    params(("id" = String, Path, description = "Directory id"), RunsParams),
    responses((status = 200, description = "Newest first", body = [RunSummary])))]
pub async fn runs(
    State(state): State<AppState>,
    Path(id): Path<DirectoryId>,
    Query(params): Query<RunsParams>,
) -> Result<Json<Vec<RunSummary>>> {
    let limit = params.limit.unwrap_or(crate::domain::sync::RUN_HISTORY);
    Ok(Json(state.core.sync.runs(&id, limit).await?))
}

#[utoipa::path(get, path = "/directories/{id}/runs/{run_id}", tag = "sync",
    params(("id" = String, Path, description = "Directory id"), ("run_id" = String, Path, description = "Run id")),
    responses((status = 200, body = RunDetail), (status = 404, body = Problem)))]
pub async fn run(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(DirectoryId, RunId)>,
) -> Result<Json<RunDetail>> {
    Ok(Json(state.core.sync.run(&id, &run_id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resolved {
    /// `succeeded` when applied, `discarded` when discarded.
    pub status: RunStatus,
}

#[utoipa::path(post, path = "/directories/{id}/pending/apply", tag = "sync",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "The held changes were applied", body = Resolved),
              (status = 409, description = "Nothing is held", body = Problem)))]
pub async fn apply_pending(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<Json<Resolved>> {
    let status = state.core.sync.resolve_pending(&actor, &id, true).await?;
    Ok(Json(Resolved { status }))
}

#[utoipa::path(post, path = "/directories/{id}/pending/discard", tag = "sync",
    params(("id" = String, Path, description = "Directory id")),
    responses((status = 200, description = "The held changes were discarded", body = Resolved),
              (status = 409, description = "Nothing is held", body = Problem)))]
pub async fn discard_pending(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<DirectoryId>,
) -> Result<Json<Resolved>> {
    let status = state.core.sync.resolve_pending(&actor, &id, false).await?;
    Ok(Json(Resolved { status }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersParams {
    /// Matches name, e-mail or login (substring, any case).
    #[serde(default)]
    pub search: String,
    /// An Okta status: ACTIVE, SUSPENDED, …
    #[serde(default)]
    pub status: String,
    /// Only present members of this group (an Okta group id).
    pub group: Option<String>,
    /// `name` (default), `email`, `login`, `status`, `updated` or `groups`.
    #[serde(default)]
    pub sort: String,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/directories/{id}/users", tag = "identities",
    params(("id" = String, Path, description = "Directory id"), UsersParams),
    responses((status = 200, description = "Present users", body = Paged<UserSummary>), (status = 422, body = Problem)))]
pub async fn users(
    State(state): State<AppState>,
    Path(id): Path<DirectoryId>,
    Query(params): Query<UsersParams>,
) -> Result<Json<Paged<UserSummary>>> {
    let group = params
        .group
        .as_deref()
        .filter(|g| !g.is_empty())
        .map(OktaGroupId::parse)
        .transpose()
        .map_err(crate::domain::DomainError::from)?;
    let query = UserQuery {
        search: params.search.clone(),
        status: parse_status(&params.status)?,
        group,
        sort: parse_sort(&params.sort)?,
        page: PageRequest::parse(params.limit, params.after.as_deref())?,
    };
    let page = state.core.identities.users(&id, &query).await?;
    let echo = vec![
        ("search", params.search),
        ("status", params.status),
        ("group", params.group.unwrap_or_default()),
        ("sort", params.sort),
        ("limit", params.limit.map(|l| l.to_string()).unwrap_or_default()),
    ];
    Ok(Json(paged(page, &format!("/directories/{id}/users"), echo)))
}

#[utoipa::path(get, path = "/directories/{id}/users/{user_id}", tag = "identities",
    params(("id" = String, Path, description = "Directory id"), ("user_id" = String, Path, description = "Okta user id")),
    responses((status = 200, description = "A user (present or removed) with traits, groups and history", body = UserDetail),
              (status = 404, body = Problem)))]
pub async fn user(
    State(state): State<AppState>,
    Path((id, user_id)): Path<(DirectoryId, OktaUserId)>,
) -> Result<Json<UserDetail>> {
    Ok(Json(state.core.identities.user(&id, &user_id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupsParams {
    /// Matches group names (substring, any case).
    #[serde(default)]
    pub search: String,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/directories/{id}/groups", tag = "identities",
    params(("id" = String, Path, description = "Directory id"), GroupsParams),
    responses((status = 200, description = "Present groups by name", body = Paged<GroupSummary>)))]
pub async fn groups(
    State(state): State<AppState>,
    Path(id): Path<DirectoryId>,
    Query(params): Query<GroupsParams>,
) -> Result<Json<Paged<GroupSummary>>> {
    let request = PageRequest::parse(params.limit, params.after.as_deref())?;
    let page = state
        .core
        .identities
        .groups(&id, &params.search, &request)
        .await?;
    let echo = vec![
        ("search", params.search),
        ("limit", params.limit.map(|l| l.to_string()).unwrap_or_default()),
    ];
    Ok(Json(paged(page, &format!("/directories/{id}/groups"), echo)))
}

#[utoipa::path(get, path = "/directories/{id}/groups/{group_id}", tag = "identities",
    params(("id" = String, Path, description = "Directory id"), ("group_id" = String, Path, description = "Okta group id")),
    responses((status = 200, body = GroupDetail), (status = 404, body = Problem)))]
pub async fn group(
    State(state): State<AppState>,
    Path((id, group_id)): Path<(DirectoryId, OktaGroupId)>,
) -> Result<Json<GroupDetail>> {
    Ok(Json(state.core.identities.group(&id, &group_id).await?))
}

#[utoipa::path(get, path = "/directories/{id}/groups/{group_id}/members", tag = "identities",
    params(("id" = String, Path, description = "Directory id"), ("group_id" = String, Path, description = "Okta group id"), PageParams),
    responses((status = 200, description = "Present members by name", body = Paged<Member>), (status = 404, body = Problem)))]
pub async fn members(
    State(state): State<AppState>,
    Path((id, group_id)): Path<(DirectoryId, OktaGroupId)>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paged<Member>>> {
    let request = PageRequest::parse(params.limit, params.after.as_deref())?;
    let page = state.core.identities.members(&id, &group_id, &request).await?;
    let echo = vec![("limit", params.limit.map(|l| l.to_string()).unwrap_or_default())];
    Ok(Json(paged(
        page,
        &format!("/directories/{id}/groups/{group_id}/members"),
        echo,
    )))
}
