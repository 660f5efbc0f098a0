//! `/auth/login`, `/auth/test/{id}`, `/auth/callback` and `/signout`: the
//! HTTP side of Sign in with Okta. The flow's rules are the core's
//! (`domain::signin`); these handlers move its state in and out of the
//! server-side session.

use super::{SESSION_END_SESSION, SESSION_ID_TOKEN, SESSION_PENDING, SESSION_SIGNIN_ID};
use crate::{
    domain::{
        signin::{CallbackOutcome, CallbackParams, FlowPurpose, PendingFlow},
        Actor, DomainError, ErrorKind,
    },
    state::AppState,
    web::{client_ip, encode_query_value, page, WebError},
};
use axum::{
    extract::{Path, Query, Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Extension,
};
use tower_sessions::Session;

async fn start(state: &AppState, session: &Session, purpose: FlowPurpose) -> Result<Response, WebError> {
    match state.core.signin.begin(purpose).await {
        Ok(flow) => {
            session
                .insert(SESSION_PENDING, flow.pending)
                .await
                .map_err(WebError::session)?;
            Ok(Redirect::to(&flow.url).into_response())
        }
        Err(e) => Ok(problem_page(&e)),
    }
}

fn problem_page(e: &DomainError) -> Response {
    let status = match e.kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Upstream | ErrorKind::Unavailable => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &e.hint {
        Some(hint) => format!("{} {hint}", e.message),
        None => e.message.clone(),
    };
    page(
        status,
        "Cannot sign in with Okta",
        &message,
        ("/signin", "Back to sign-in"),
    )
}

/// `GET /auth/login`: off to Okta.
pub async fn login_handler(State(state): State<AppState>, session: Session) -> Result<Response, WebError> {
    start(&state, &session, FlowPurpose::SignIn).await
}

/// `GET /auth/test/{id}`: a Test sign-in, opened in a new tab by an admin.
pub async fn test_handler(
    State(state): State<AppState>,
    session: Session,
    Path(test_id): Path<String>,
) -> Result<Response, WebError> {
    start(&state, &session, FlowPurpose::Test { test_id }).await
}

/// `GET /auth/callback`: Okta's answer. The pending flow is taken out of
/// the session first, so a replayed answer finds nothing to finish.
pub async fn callback_handler(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
    request: Request,
) -> Result<Response, WebError> {
    let ip = client_ip(&request, state.config.trust_forwarded_for);
    let pending: Option<PendingFlow> = session.remove(SESSION_PENDING).await.map_err(WebError::session)?;
    match state.core.signin.complete(pending, &params, ip).await {
        CallbackOutcome::SignedIn(signed_in) => {
            // A fresh session id at sign-in: no fixation.
            session.cycle_id().await.map_err(WebError::session)?;
            session
                .insert(SESSION_SIGNIN_ID, signed_in.signin_id)
                .await
                .map_err(WebError::session)?;
            session
                .insert(SESSION_ID_TOKEN, signed_in.id_token)
                .await
                .map_err(WebError::session)?;
            if let Some(end) = signed_in.end_session_endpoint {
                session
                    .insert(SESSION_END_SESSION, end)
                    .await
                    .map_err(WebError::session)?;
            }
            Ok(Redirect::to("/").into_response())
        }
        CallbackOutcome::Refused { who, needed } => Ok(page(
            StatusCode::FORBIDDEN,
            "You don't have access to Roster",
            &format!(
                "You signed in to Okta as {who}, but Roster is only for members of {}. Ask your Okta administrator to add you to that group, then sign in again.",
                needed
                    .iter()
                    .map(|g| format!("“{g}”"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            ("/signin", "Back to sign-in"),
        )),
        CallbackOutcome::Tested(report) => Ok(page(
            StatusCode::OK,
            if report.state == "passed" { "Test sign-in finished" } else { "Test sign-in failed" },
            "The result is on Roster's Settings → Sign-in page, in the other tab. You can close this tab.",
            ("/settings/sign-in", "Open Settings → Sign-in"),
        )),
        CallbackOutcome::Failed { title, message } => Ok(page(
            StatusCode::BAD_REQUEST,
            &title,
            &message,
            ("/signin", "Back to sign-in"),
        )),
    }
}

/// `POST /signout`: revokes the sign-in, clears the session server-side, and
/// ends the Okta session too when the issuer supports RP-initiated logout.
pub async fn signout_handler(
    State(state): State<AppState>,
    session: Session,
    actor: Option<Extension<Actor>>,
) -> Result<Response, WebError> {
    let signin_id: Option<String> = session.get(SESSION_SIGNIN_ID).await.map_err(WebError::session)?;
    let id_token: Option<String> = session.get(SESSION_ID_TOKEN).await.map_err(WebError::session)?;
    let end_session: Option<String> = session
        .get(SESSION_END_SESSION)
        .await
        .map_err(WebError::session)?;
    if let Some(id) = signin_id {
        let actor = actor
            .map(|Extension(a)| a)
            .unwrap_or_else(|| Actor::anonymous(None));
        state.core.signin.sign_out(&actor, &id).await?;
    }
    session.flush().await.map_err(WebError::session)?;
    let back = format!("{}/signin", state.public_url.as_str());
    match (end_session, id_token) {
        (Some(end), Some(token)) => {
            let separator = if end.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!(
                "{end}{separator}id_token_hint={}&post_logout_redirect_uri={}",
                encode_query_value(&token),
                encode_query_value(&back)
            ))
            .into_response())
        }
        _ => Ok(Redirect::to("/signin").into_response()),
    }
}
