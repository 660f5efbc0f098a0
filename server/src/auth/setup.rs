use super::SESSION_SIGNIN_ID;
use crate::{
    domain::instance::SignInOutcome,
    model::SignInMethod,
    state::AppState,
    web::{client_ip, confirm_page, page, WebError},
};
use axum::{
    extract::{Query, Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct SetupToken {
    token: Option<String>,
}

/// `GET /setup?token=…` only asks: link previews in chat and mail fetch
/// links, and must not spend them.
pub async fn setup_confirm_handler(Query(query): Query<SetupToken>) -> Response {
    let token = query.token.unwrap_or_default();
    confirm_page(
        "Sign in to Roster",
        "This one-time link signs you in as Roster's administrator. It works once and for one hour.",
        "/setup",
        &[("token", &token)],
        "Continue",
    )
}

/// `POST /setup`: spends a one-time link: creates the first admin, or (a
/// link from `roster admin setup-link`) signs in an existing one.
pub async fn setup_handler(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, WebError> {
    let ip = client_ip(&request, state.config.trust_forwarded_for);
    let Ok(Form(form)) = Form::<SetupToken>::from_request(request, &state).await else {
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Sign-in link not valid",
            "Open the link again.",
            ("/signin", "Back to sign-in"),
        ));
    };
    if !state.setup_attempts.allow(ip.as_deref().unwrap_or("unknown")) {
        tracing::warn!(ip = ?ip, "setup link attempts rate-limited");
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many sign-in links were tried from this address. Wait 15 minutes and try again.",
            ("/signin", "Back to sign-in"),
        ));
    }
    let token = form.token.unwrap_or_default();
    let links = state.core.instance.setup_links();
    let (admin, method) = match links.redeem(&token).await? {
        SignInOutcome::FirstAdmin(admin) => {
            tracing::info!(admin_id = %admin.id, "first administrator created through the setup link");
            (admin, SignInMethod::SetupLink)
        }
        SignInOutcome::Recovered(admin) => {
            tracing::warn!(admin_id = %admin.id, "BREAK-GLASS: administrator signed in with a host-issued recovery link");
            (admin, SignInMethod::RecoveryLink)
        }
        SignInOutcome::Invalid => {
            return Ok(page(
                StatusCode::FORBIDDEN,
                "Sign-in link not valid",
                "This link is unknown, already used or expired (links are valid for one hour and work once). \
                 On the server, run `roster admin setup-link` to print a new one.",
                ("/signin", "Back to sign-in"),
            ));
        }
    };
    let signin_id = state
        .core
        .signin
        .open_link_session(admin.id, &admin.display_name, method, ip)
        .await?;
    // A fresh session id: whatever id the browser brought is not trusted.
    session.cycle_id().await.map_err(WebError::session)?;
    session
        .insert(SESSION_SIGNIN_ID, signin_id)
        .await
        .map_err(WebError::session)?;
    Ok(Redirect::to("/welcome").into_response())
}

use axum::extract::FromRequest;

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
