//! `/notifications`: the problems admins are told about, and a test mail.

use super::problem::Problem;
use crate::{
    domain::{notifications::NotificationStatus, Actor},
    state::AppState,
};
use axum::{extract::State, Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(get, path = "/notifications", tag = "notifications",
    responses((status = 200, description = "E-mail set-up and the open problems, with what was mailed about each", body = NotificationStatus)))]
pub async fn status(State(state): State<AppState>) -> Result<Json<NotificationStatus>> {
    Ok(Json(state.core.notifications.status().await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestMail {
    pub message: String,
}

#[utoipa::path(post, path = "/notifications/test", tag = "notifications",
    responses((status = 200, description = "Sent to every recipient", body = TestMail),
              (status = 422, description = "E-mail is not configured", body = Problem),
              (status = 502, description = "The SMTP server refused or could not be reached", body = Problem)))]
pub async fn test(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<TestMail>> {
    Ok(Json(TestMail {
        message: state.core.notifications.send_test(&actor).await?,
    }))
}
