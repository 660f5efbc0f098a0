//! JSON admin API under `/sim/` for tests, Playwright and the demo (loopback only, no auth).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::apps::{ServiceAppPatch, ServiceAppSpec};
use crate::config::RateLimitConfig;
use crate::errors::SimError;
use crate::event_hooks::{HookFaults, HookSpec};
use crate::faults::FaultRule;
use crate::handle::SimHandle;
use crate::mutate::{GroupPatch, NewGroup, NewUser, UserPatch};
use crate::state::Shared;

type S = State<Arc<Shared>>;

fn handle(shared: Arc<Shared>) -> SimHandle {
    SimHandle { shared }
}

fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, SimError> {
    json.map(|Json(v)| v)
        .map_err(|e| SimError::BadRequest(e.body_text()))
}

fn done<T: serde::Serialize>(status: StatusCode, r: Result<T, SimError>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn no_content(r: Result<(), SimError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/sim/service-apps",
            post(create_service_app).get(list_service_apps),
        )
        .route(
            "/sim/service-apps/{client_id}",
            get(get_service_app)
                .patch(update_service_app)
                .delete(delete_service_app),
        )
        .route("/sim/org", get(org_summary))
        .route("/sim/users", post(create_user))
        .route(
            "/sim/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/sim/groups", post(create_group))
        .route(
            "/sim/groups/{group_id}",
            get(get_group).patch(update_group).delete(delete_group),
        )
        .route("/sim/event-hooks", post(create_event_hook).get(list_event_hooks))
        .route("/sim/event-hooks/faults", post(hook_faults))
        .route("/sim/event-hooks/{id}", axum::routing::delete(delete_event_hook))
        .route("/sim/event-hooks/{id}/lifecycle/verify", post(verify_event_hook))
        .route("/sim/system-log/delay", post(system_log_delay))
        .route(
            "/sim/groups/{group_id}/users/{user_id}",
            put(add_member).delete(remove_member),
        )
        .route("/sim/apps/{app_id}/users", get(list_app_users))
        .route("/sim/apps/{app_id}/groups", get(list_app_groups))
        .route(
            "/sim/apps/{app_id}/users/{user_id}",
            post(assign_user).delete(unassign_user),
        )
        .route(
            "/sim/apps/{app_id}/groups/{group_id}",
            post(assign_group).delete(unassign_group),
        )
        .route(
            "/sim/faults",
            post(add_fault).delete(clear_faults).get(list_faults),
        )
        .route("/sim/token-lifetime", post(token_lifetime))
        .route("/sim/rate-limits", post(rate_limits))
        .route("/sim/dpop-nonce/rotate", post(rotate_nonce))
        .route("/sim/stats", get(stats))
        .route("/sim/stats/reset", post(reset_stats))
}

async fn create_service_app(State(s): S, j: Result<Json<ServiceAppSpec>, JsonRejection>) -> Response {
    done(
        StatusCode::CREATED,
        body(j).and_then(|spec| handle(s).register_service_app(spec)),
    )
}

async fn list_service_apps(State(s): S) -> Response {
    Json(handle(s).service_apps()).into_response()
}

async fn get_service_app(State(s): S, Path(client_id): Path<String>) -> Response {
    let r = handle(s)
        .service_app(&client_id)
        .ok_or_else(|| SimError::NotFound(format!("service app {client_id}")));
    done(StatusCode::OK, r)
}

async fn update_service_app(
    State(s): S,
    Path(client_id): Path<String>,
    j: Result<Json<ServiceAppPatch>, JsonRejection>,
) -> Response {
    done(
        StatusCode::OK,
        body(j).and_then(|p| handle(s).update_service_app(&client_id, p)),
    )
}

async fn delete_service_app(State(s): S, Path(client_id): Path<String>) -> Response {
    no_content(handle(s).delete_service_app(&client_id))
}

async fn org_summary(State(s): S) -> Response {
    Json(handle(s).org_summary()).into_response()
}

async fn create_user(State(s): S, j: Result<Json<NewUser>, JsonRejection>) -> Response {
    let h = handle(s);
    let r = body(j).and_then(|u| h.create_user(u)).and_then(|id| {
        h.user(&id)
            .ok_or_else(|| SimError::Internal("created user vanished".into()))
    });
    done(StatusCode::CREATED, r)
}

async fn get_user(State(s): S, Path(id): Path<String>) -> Response {
    done(
        StatusCode::OK,
        handle(s)
            .user(&id)
            .ok_or_else(|| SimError::NotFound(format!("user {id}"))),
    )
}

async fn update_user(
    State(s): S,
    Path(id): Path<String>,
    j: Result<Json<UserPatch>, JsonRejection>,
) -> Response {
    let h = handle(s);
    let r = body(j).and_then(|p| h.update_user(&id, p)).and_then(|()| {
        h.user(&id)
            .ok_or_else(|| SimError::NotFound(format!("user {id}")))
    });
    done(StatusCode::OK, r)
}

async fn delete_user(State(s): S, Path(id): Path<String>) -> Response {
    no_content(handle(s).delete_user(&id))
}

async fn create_group(State(s): S, j: Result<Json<NewGroup>, JsonRejection>) -> Response {
    let h = handle(s);
    let r = body(j).and_then(|g| h.create_group(g)).and_then(|id| {
        h.group(&id)
            .ok_or_else(|| SimError::Internal("created group vanished".into()))
    });
    done(StatusCode::CREATED, r)
}

async fn get_group(State(s): S, Path(id): Path<String>) -> Response {
    done(
        StatusCode::OK,
        handle(s)
            .group(&id)
            .ok_or_else(|| SimError::NotFound(format!("group {id}"))),
    )
}

async fn update_group(
    State(s): S,
    Path(id): Path<String>,
    j: Result<Json<GroupPatch>, JsonRejection>,
) -> Response {
    let h = handle(s);
    let r = body(j).and_then(|p| h.update_group(&id, p)).and_then(|()| {
        h.group(&id)
            .ok_or_else(|| SimError::NotFound(format!("group {id}")))
    });
    done(StatusCode::OK, r)
}

async fn delete_group(State(s): S, Path(id): Path<String>) -> Response {
    no_content(handle(s).delete_group(&id))
}

async fn create_event_hook(State(s): S, j: Result<Json<HookSpec>, JsonRejection>) -> Response {
    done(
        StatusCode::OK,
        body(j).and_then(|spec| handle(s).create_event_hook(spec)),
    )
}

async fn list_event_hooks(State(s): S) -> Response {
    Json(handle(s).event_hooks()).into_response()
}

async fn delete_event_hook(State(s): S, Path(id): Path<String>) -> Response {
    no_content(handle(s).delete_event_hook(&id))
}

async fn verify_event_hook(State(s): S, Path(id): Path<String>) -> Response {
    done(StatusCode::OK, handle(s).verify_event_hook(&id).await)
}

async fn hook_faults(State(s): S, j: Result<Json<HookFaults>, JsonRejection>) -> Response {
    no_content(body(j).map(|f| handle(s).set_hook_faults(f)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogDelay {
    ms: u64,
}

async fn system_log_delay(State(s): S, j: Result<Json<LogDelay>, JsonRejection>) -> Response {
    no_content(body(j).map(|d| handle(s).set_system_log_delay(Duration::from_millis(d.ms))))
}

async fn add_member(State(s): S, Path((group_id, user_id)): Path<(String, String)>) -> Response {
    no_content(handle(s).add_group_member(&group_id, &user_id))
}

async fn remove_member(State(s): S, Path((group_id, user_id)): Path<(String, String)>) -> Response {
    no_content(handle(s).remove_group_member(&group_id, &user_id))
}

/// Ids of the users assigned to an app, so tests can pick whom to change.
async fn list_app_users(State(s): S, Path(app_id): Path<String>) -> Response {
    done(StatusCode::OK, handle(s).app_user_ids(&app_id))
}

async fn list_app_groups(State(s): S, Path(app_id): Path<String>) -> Response {
    done(StatusCode::OK, handle(s).app_group_ids(&app_id))
}

async fn assign_user(State(s): S, Path((app_id, user_id)): Path<(String, String)>) -> Response {
    no_content(handle(s).assign_user_to_app(&app_id, &user_id))
}

async fn unassign_user(State(s): S, Path((app_id, user_id)): Path<(String, String)>) -> Response {
    no_content(handle(s).unassign_user_from_app(&app_id, &user_id))
}

async fn assign_group(State(s): S, Path((app_id, group_id)): Path<(String, String)>) -> Response {
    no_content(handle(s).assign_group_to_app(&app_id, &group_id))
}

async fn unassign_group(State(s): S, Path((app_id, group_id)): Path<(String, String)>) -> Response {
    no_content(handle(s).unassign_group_from_app(&app_id, &group_id))
}

async fn add_fault(State(s): S, j: Result<Json<FaultRule>, JsonRejection>) -> Response {
    no_content(body(j).map(|rule| handle(s).add_fault(rule)))
}

async fn clear_faults(State(s): S) -> Response {
    handle(s).clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(s): S) -> Response {
    Json(handle(s).faults()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenLifetime {
    seconds: u64,
}

async fn token_lifetime(State(s): S, j: Result<Json<TokenLifetime>, JsonRejection>) -> Response {
    let r = body(j).and_then(|t| {
        if t.seconds == 0 {
            return Err(SimError::BadRequest("seconds must be at least 1".into()));
        }
        handle(s).set_token_lifetime(Duration::from_secs(t.seconds));
        Ok(json!({ "seconds": t.seconds }))
    });
    done(StatusCode::OK, r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimits {
    limit: u32,
    #[serde(default)]
    window_ms: Option<u64>,
    /// Only this bucket's limit changes (window and other buckets stay).
    #[serde(default)]
    bucket: Option<String>,
}

async fn rate_limits(State(s): S, j: Result<Json<RateLimits>, JsonRejection>) -> Response {
    let h = handle(s);
    let r = body(j).and_then(|r| {
        match r.bucket {
            Some(bucket) => h.set_bucket_limit(&bucket, r.limit)?,
            None => {
                let window = r.window_ms.map_or(h.rate_limit().window, Duration::from_millis);
                h.set_rate_limit(RateLimitConfig {
                    per_minute_default: r.limit,
                    window,
                })?;
            }
        }
        let c = h.rate_limit();
        Ok(json!({ "limit": c.per_minute_default, "window_ms": c.window.as_millis() as u64 }))
    });
    done(StatusCode::OK, r)
}

async fn rotate_nonce(State(s): S) -> Response {
    handle(s).rotate_dpop_nonce();
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(s): S) -> Response {
    Json(handle(s).stats()).into_response()
}

async fn reset_stats(State(s): S) -> Response {
    handle(s).reset_stats();
    StatusCode::NO_CONTENT.into_response()
}
