use super::SESSION_ADMIN_ID;
use crate::{
    domain::instance::SignInOutcome,
    state::AppState,
    web::{error_response, WebError},
};
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// `GET /setup?token=…`: spends a one-time link: creates the first admin, or
/// (a link from `roster admin setup-link`) signs in an existing one.
pub async fn setup_handler(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SetupQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
    let links = state.core.instance.setup_links();
    let admin = match links.redeem(&token).await? {
        SignInOutcome::FirstAdmin(admin) => {
            tracing::info!(admin_id = %admin.id, "first administrator created through the setup link");
            admin
        }
        SignInOutcome::Recovered(admin) => {
            tracing::warn!(admin_id = %admin.id, "administrator signed in with a host-issued recovery link");
            admin
        }
        SignInOutcome::Invalid => {
            // Give the operator a way forward without a restart.
            let printed = match links.issue_if_no_admin().await? {
                Some(link) => {
                    print_setup_link(&link);
                    "A new link has been printed in Roster's server log"
                }
                None => "On the server, run `roster admin setup-link` to print a new one",
            };
            return Ok(error_response(
                axum::http::StatusCode::FORBIDDEN,
                "Sign-in link not valid",
                &format!(
                    "This link is unknown, already used or expired (links are valid for one hour and work once). \
                     {printed}."
                ),
            ));
        }
    };
    // A fresh session id: whatever id the browser brought is not trusted.
    session.cycle_id().await.map_err(WebError::session)?;
    session
        .insert(SESSION_ADMIN_ID, admin.id)
        .await
        .map_err(WebError::session)?;
    Ok(Redirect::to("/welcome").into_response())
}

pub fn print_setup_link(link: &str) {
    println!(
        "\n  No administrator exists yet. Open this one-time setup link (valid for 1 hour):\n\n    {link}\n"
    );
}

pub fn print_recovery_link(link: &str) {
    println!(
        "\n  One-time sign-in link (valid for 1 hour; it signs in as the first administrator):\n\n    {link}\n"
    );
}

/// `POST /signout`: ends the session everywhere it is stored.
pub async fn signout_handler(session: Session) -> Result<Response, WebError> {
    session.flush().await.map_err(WebError::session)?;
    Ok(Redirect::to("/signin").into_response())
}
