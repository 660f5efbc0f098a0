//! Okta management API (read-only subset) and the org discovery endpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::{authorize, APPS_READ, GROUPS_READ, LOGS_READ, USERS_READ};
use crate::errors::OktaError;
use crate::org::UserStatus;
use crate::pagination::{self, link_headers, take_page, Limits, PageRequest};
use crate::render;
use crate::state::Shared;
use crate::syslog::LogQuery;
use crate::util::{lock, read};

type Q = Query<HashMap<String, String>>;
type S = State<Arc<Shared>>;

const USERS_LIMITS: Limits = Limits {
    default: 200,
    max: 200,
};
const GROUPS_LIMITS: Limits = Limits {
    default: 1000,
    max: 1000,
};
const GROUP_USERS_LIMITS: Limits = Limits {
    default: 1000,
    max: 1000,
};
const APPS_LIMITS: Limits = Limits {
    default: 20,
    max: 200,
};
const APP_USERS_LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};
const APP_GROUPS_LIMITS: Limits = Limits {
    default: 20,
    max: 200,
};

/// Query features of the real API that the simulator does not implement; failing loudly beats
/// silently returning unfiltered data that would make a client look correct.
const UNSUPPORTED_PARAMS: &[&str] = &["filter", "search", "q", "sortBy", "sortOrder"];

fn unsupported(query: &HashMap<String, String>) -> Result<(), OktaError> {
    match UNSUPPORTED_PARAMS.iter().find(|p| query.contains_key(**p)) {
        Some(p) => Err(OktaError::validation(p, "not supported by okta-sim")),
        None => Ok(()),
    }
}

fn after_bound(page: &PageRequest) -> (Bound<&str>, Bound<&str>) {
    match &page.after {
        Some(a) => (Bound::Excluded(a.as_str()), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

fn range_map<'a, V>(
    map: &'a BTreeMap<String, V>,
    page: &PageRequest,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    map.range::<str, _>(after_bound(page))
}

fn range_set<'a>(set: &'a BTreeSet<String>, page: &PageRequest) -> impl Iterator<Item = &'a String> {
    set.range::<str, _>(after_bound(page))
}

/// A JSON array page with Okta's `Link` headers.
fn page_response(
    shared: &Shared,
    path: &str,
    page: &PageRequest,
    items: Vec<Value>,
    next_after: Option<&str>,
    extra: &[(&str, &str)],
) -> Response {
    let mut resp = Json(Value::Array(items)).into_response();
    for link in link_headers(&shared.base_url, path, page, next_after, extra) {
        resp.headers_mut().append(header::LINK, link);
    }
    resp
}

fn respond(result: Result<Response, OktaError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn org_info(State(shared): S) -> Response {
    let org_id = read(&shared.org).org_id.clone();
    let base = &shared.base_url;
    Json(json!({
        "id": org_id,
        "pipeline": "idx",
        "_links": { "organization": { "href": base }, "alternate": { "href": base } }
    }))
    .into_response()
}

pub(crate) async fn list_users(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    respond((|| {
        let path = "/api/v1/users";
        authorize(&shared, &headers, &method, path, &[USERS_READ])?;
        unsupported(&q)?;
        let page = pagination::parse(&q, USERS_LIMITS)?;
        let org = read(&shared.org);
        // Like Okta, an unfiltered list omits deactivated users.
        let iter = range_map(&org.users, &page)
            .map(|(_, u)| u)
            .filter(|u| u.status != UserStatus::Deprovisioned);
        let (users, more) = take_page(iter, page.limit);
        let next = if more {
            users.last().map(|u| u.id.as_str())
        } else {
            None
        };
        let items = users.iter().map(|u| render::user(u, &shared.base_url)).collect();
        Ok(page_response(&shared, path, &page, items, next, &[]))
    })())
}

pub(crate) async fn get_user(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| {
        authorize(
            &shared,
            &headers,
            &method,
            &format!("/api/v1/users/{id}"),
            &[USERS_READ],
        )?;
        let org = read(&shared.org);
        // Okta also accepts the login in place of the id.
        let user = org
            .users
            .get(&id)
            .or_else(|| {
                org.users
                    .values()
                    .find(|u| u.profile.login.eq_ignore_ascii_case(&id))
            })
            .ok_or_else(|| OktaError::not_found(&id, "User"))?;
        Ok(Json(render::user(user, &shared.base_url)).into_response())
    })())
}

pub(crate) async fn list_groups(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    respond((|| {
        let path = "/api/v1/groups";
        authorize(&shared, &headers, &method, path, &[GROUPS_READ])?;
        unsupported(&q)?;
        let page = pagination::parse(&q, GROUPS_LIMITS)?;
        let org = read(&shared.org);
        let (groups, more) = take_page(range_map(&org.groups, &page).map(|(_, g)| g), page.limit);
        let next = if more {
            groups.last().map(|g| g.id.as_str())
        } else {
            None
        };
        let items = groups
            .iter()
            .map(|g| render::group(g, &shared.base_url))
            .collect();
        Ok(page_response(&shared, path, &page, items, next, &[]))
    })())
}

pub(crate) async fn get_group(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| {
        authorize(
            &shared,
            &headers,
            &method,
            &format!("/api/v1/groups/{id}"),
            &[GROUPS_READ],
        )?;
        let org = read(&shared.org);
        let group = org
            .groups
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "UserGroup"))?;
        Ok(Json(render::group(group, &shared.base_url)).into_response())
    })())
}

pub(crate) async fn list_group_users(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    respond((|| {
        let path = format!("/api/v1/groups/{id}/users");
        authorize(&shared, &headers, &method, &path, &[GROUPS_READ])?;
        let page = pagination::parse(&q, GROUP_USERS_LIMITS)?;
        let org = read(&shared.org);
        let group = org
            .groups
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "UserGroup"))?;
        let iter = range_set(&group.members, &page).filter_map(|uid| org.users.get(uid));
        let (users, more) = take_page(iter, page.limit);
        let next = if more {
            users.last().map(|u| u.id.as_str())
        } else {
            None
        };
        let items = users.iter().map(|u| render::user(u, &shared.base_url)).collect();
        Ok(page_response(&shared, &path, &page, items, next, &[]))
    })())
}

pub(crate) async fn list_apps(State(shared): S, method: Method, headers: HeaderMap, Query(q): Q) -> Response {
    respond((|| {
        let path = "/api/v1/apps";
        authorize(&shared, &headers, &method, path, &[APPS_READ])?;
        unsupported(&q)?;
        let page = pagination::parse(&q, APPS_LIMITS)?;
        let org = read(&shared.org);
        let (apps, more) = take_page(range_map(&org.apps, &page).map(|(_, a)| a), page.limit);
        let next = if more {
            apps.last().map(|a| a.id.as_str())
        } else {
            None
        };
        let items = apps.iter().map(|a| render::app(a, &shared.base_url)).collect();
        Ok(page_response(&shared, path, &page, items, next, &[]))
    })())
}

pub(crate) async fn get_app(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| {
        authorize(
            &shared,
            &headers,
            &method,
            &format!("/api/v1/apps/{id}"),
            &[APPS_READ],
        )?;
        let org = read(&shared.org);
        let app = org
            .apps
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "AppInstance"))?;
        Ok(Json(render::app(app, &shared.base_url)).into_response())
    })())
}

pub(crate) async fn list_app_users(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    respond((|| {
        let path = format!("/api/v1/apps/{id}/users");
        let expand = q.get("expand").map(String::as_str);
        let embed = expand == Some("user");
        let required: &[&str] = if embed {
            &[APPS_READ, USERS_READ]
        } else {
            &[APPS_READ]
        };
        authorize(&shared, &headers, &method, &path, required)?;
        let page = pagination::parse(&q, APP_USERS_LIMITS)?;
        let org = read(&shared.org);
        let app = org
            .apps
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "AppInstance"))?;
        let iter = range_map(&app.users, &page).filter_map(|(uid, a)| org.users.get(uid).map(|u| (u, a)));
        let (rows, more) = take_page(iter, page.limit);
        let next = if more {
            rows.last().map(|(u, _)| u.id.as_str())
        } else {
            None
        };
        let items = rows
            .iter()
            .map(|(u, a)| render::app_user(&app.id, u, a, embed, &shared.base_url))
            .collect();
        let extra: Vec<(&str, &str)> = expand.map(|e| ("expand", e)).into_iter().collect();
        Ok(page_response(&shared, &path, &page, items, next, &extra))
    })())
}

pub(crate) async fn list_app_groups(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    respond((|| {
        let path = format!("/api/v1/apps/{id}/groups");
        let expand = q.get("expand").map(String::as_str);
        let embed = expand == Some("group");
        let required: &[&str] = if embed {
            &[APPS_READ, GROUPS_READ]
        } else {
            &[APPS_READ]
        };
        authorize(&shared, &headers, &method, &path, required)?;
        let page = pagination::parse(&q, APP_GROUPS_LIMITS)?;
        let org = read(&shared.org);
        let app = org
            .apps
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "AppInstance"))?;
        let iter = range_map(&app.groups, &page).filter_map(|(gid, a)| org.groups.get(gid).map(|g| (g, a)));
        let (rows, more) = take_page(iter, page.limit);
        let next = if more {
            rows.last().map(|(g, _)| g.id.as_str())
        } else {
            None
        };
        let items = rows
            .iter()
            .map(|(g, a)| render::app_group(&app.id, g, a, embed, &shared.base_url))
            .collect();
        let extra: Vec<(&str, &str)> = expand.map(|e| ("expand", e)).into_iter().collect();
        Ok(page_response(&shared, &path, &page, items, next, &extra))
    })())
}

/// One app assignment, as a targeted refresh reads it: 404 when the user is not assigned.
pub(crate) async fn get_app_user(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path((id, user_id)): Path<(String, String)>,
    Query(q): Q,
) -> Response {
    respond((|| {
        let path = format!("/api/v1/apps/{id}/users/{user_id}");
        let embed = q.get("expand").map(String::as_str) == Some("user");
        let required: &[&str] = if embed {
            &[APPS_READ, USERS_READ]
        } else {
            &[APPS_READ]
        };
        authorize(&shared, &headers, &method, &path, required)?;
        let org = read(&shared.org);
        let app = org
            .apps
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "AppInstance"))?;
        let (user, assignment) = app
            .users
            .get(&user_id)
            .and_then(|a| org.users.get(&user_id).map(|u| (u, a)))
            .ok_or_else(|| OktaError::not_found(&user_id, "AppUser"))?;
        Ok(Json(render::app_user(
            &app.id,
            user,
            assignment,
            embed,
            &shared.base_url,
        ))
        .into_response())
    })())
}

/// One group's assignment to an app: 404 when the group is not assigned.
pub(crate) async fn get_app_group(
    State(shared): S,
    method: Method,
    headers: HeaderMap,
    Path((id, group_id)): Path<(String, String)>,
) -> Response {
    respond((|| {
        let path = format!("/api/v1/apps/{id}/groups/{group_id}");
        authorize(&shared, &headers, &method, &path, &[APPS_READ])?;
        let org = read(&shared.org);
        let app = org
            .apps
            .get(&id)
            .ok_or_else(|| OktaError::not_found(&id, "AppInstance"))?;
        let (group, assignment) = app
            .groups
            .get(&group_id)
            .and_then(|a| org.groups.get(&group_id).map(|g| (g, a)))
            .ok_or_else(|| OktaError::not_found(&group_id, "ApplicationGroupAssignment"))?;
        Ok(Json(render::app_group(
            &app.id,
            group,
            assignment,
            false,
            &shared.base_url,
        ))
        .into_response())
    })())
}

/// The System Log (`GET /api/v1/logs`): `since`, `until`, `filter` (event types), `limit`,
/// `sortOrder` and the `after` cursor of a `next` link. A polling request (no `until`, oldest
/// first) always links a next page, empty until something new is logged, as Okta does.
pub(crate) async fn list_logs(State(shared): S, method: Method, headers: HeaderMap, Query(q): Q) -> Response {
    respond((|| {
        let path = "/api/v1/logs";
        authorize(&shared, &headers, &method, path, &[LOGS_READ])?;
        let now = crate::util::now_ms();
        let query = LogQuery::parse(&q, now)?;
        let log = lock(&shared.syslog);
        let (events, cursor) = log.query(&query, now);
        let full = events.len() == query.limit;
        let items: Vec<Value> = events.iter().map(|e| e.render()).collect();
        drop(log);
        let mut resp = Json(Value::Array(items)).into_response();
        let link = |url: reqwest::Url, rel: &str| {
            axum::http::HeaderValue::from_str(&format!("<{url}>; rel=\"{rel}\""))
        };
        let mut own = reqwest::Url::parse(&format!("{}{path}", shared.base_url)).map_err(|_| {
            OktaError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "E0000009",
                "Internal Server Error",
            )
        })?;
        {
            let mut pairs = own.query_pairs_mut();
            let mut keys: Vec<&String> = q.keys().collect();
            keys.sort();
            for k in keys {
                pairs.append_pair(k, &q[k]);
            }
        }
        if let Ok(v) = link(own.clone(), "self") {
            resp.headers_mut().append(header::LINK, v);
        }
        let next_after = cursor.map(|c| c.encode()).or_else(|| q.get("after").cloned());
        if query.is_polling() || (full && !query.descending) {
            let mut next = own;
            {
                let kept: Vec<(String, String)> = next
                    .query_pairs()
                    .filter(|(k, _)| k != "after")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let mut pairs = next.query_pairs_mut();
                pairs.clear();
                for (k, v) in &kept {
                    pairs.append_pair(k, v);
                }
                if let Some(after) = &next_after {
                    pairs.append_pair("after", after);
                }
            }
            if let Ok(v) = link(next, "next") {
                resp.headers_mut().append(header::LINK, v);
            }
        }
        Ok(resp)
    })())
}

pub(crate) async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    OktaError::new(
        StatusCode::NOT_FOUND,
        "E0000007",
        format!("Not found: Resource not found: {path} (Path)"),
    )
    .into_response()
}

pub(crate) async fn method_not_allowed() -> Response {
    OktaError::method_not_allowed().into_response()
}
