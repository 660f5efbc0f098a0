//! `/events`: the event log, read by cursor.

use super::{problem::Problem, Query};
use crate::{
    domain::events::{EventsPage, EventsQuery},
    state::AppState,
};
use axum::{extract::State, Json};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct EventsParams {
    /// `next_cursor` of the previous page (or an event's `cursor`); none:
    /// from the oldest event kept.
    pub after: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
    /// Comma-separated event types, e.g. `user.deprovisioned,group.member_removed`.
    pub types: Option<String>,
    /// Only this directory's events.
    pub directory: Option<String>,
    /// The newest this many events (oldest first), instead of `after`.
    pub last: Option<i64>,
}

#[utoipa::path(get, path = "/events", tag = "events", params(EventsParams),
    responses(
        (status = 200, description = "Events in the order they committed, oldest first", body = EventsPage),
        (status = 409, description = "The cursor is older than the retention period", body = Problem),
        (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<EventsParams>,
) -> Result<Json<EventsPage>, Problem> {
    Ok(Json(
        state
            .core
            .events
            .page(&EventsQuery {
                after: params.after,
                limit: params.limit,
                types: params.types.into_iter().collect(),
                directory: params.directory,
                last: params.last,
            })
            .await?,
    ))
}
