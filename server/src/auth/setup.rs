use super::SESSION_ADMIN_ID;
use crate::{
    state::AppState,
    store::RedeemOutcome,
    web::{error_response, WebError},
};
use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

const SETUP_LINK_VALIDITY: time::Duration = time::Duration::hours(1);
const FIRST_ADMIN_NAME: &str = "Setup administrator";

/// When no admin exists, creates a one-time setup token and returns the link
/// to print. Only the token's hash is stored.
pub async fn issue_setup_link(state: &AppState) -> Result<Option<String>, WebError> {
    if state.store.count_admins().await? > 0 {
        return Ok(None);
    }
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = URL_SAFE_NO_PAD.encode(raw);
    state
        .store
        .insert_setup_token(&hash_token(&token), SETUP_LINK_VALIDITY)
        .await?;
    Ok(Some(format!("{}/setup?token={token}", state.public_url.as_str())))
}

pub(crate) fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// `GET /setup?token=…`: spends the token, creates the first admin and signs them in.
pub async fn setup_handler(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SetupQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
    match state
        .store
        .redeem_setup_token(&hash_token(&token), FIRST_ADMIN_NAME)
        .await?
    {
        RedeemOutcome::Created(admin) => {
            // A fresh session id: whatever id the browser brought is not trusted.
            session.cycle_id().await.map_err(WebError::session)?;
            session
                .insert(SESSION_ADMIN_ID, admin.id)
                .await
                .map_err(WebError::session)?;
            tracing::info!(admin_id = %admin.id, "first administrator created through the setup link");
            Ok(Redirect::to("/welcome").into_response())
        }
        RedeemOutcome::AlreadySetUp => Ok(Redirect::to("/").into_response()),
        RedeemOutcome::Invalid => {
            // Give the operator a way forward without a restart.
            if let Some(link) = issue_setup_link(&state).await? {
                print_setup_link(&link);
            }
            Ok(error_response(
                axum::http::StatusCode::FORBIDDEN,
                "Setup link not valid",
                "This setup link is unknown, already used or expired (links are valid for one hour and work once). \
                 A new link has been printed in Roster's server log.",
            ))
        }
    }
}

pub fn print_setup_link(link: &str) {
    println!(
        "\n  No administrator exists yet. Open this one-time setup link (valid for 1 hour):\n\n    {link}\n"
    );
}

/// `POST /signout`: ends the session everywhere it is stored.
pub async fn signout_handler(session: Session) -> Result<Response, WebError> {
    session.flush().await.map_err(WebError::session)?;
    Ok(Redirect::to("/signin").into_response())
}
