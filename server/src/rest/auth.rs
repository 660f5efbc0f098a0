//! API-token authentication: `Authorization: Bearer roster_…` and nothing
//! else (no cookie, no query parameter). The token becomes the request's
//! [`Actor`]; what it may do is the core's decision.

use super::problem::Problem;
use crate::{domain::Actor, state::AppState, web::client_ip};
use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(secret) = bearer(&request) else {
        return Problem::unauthorized("This API needs an API token; session cookies are not accepted here.")
            .into_response();
    };
    let token = match state.core.instance.tokens().authenticate(secret).await {
        Ok(Some(token)) => token,
        Ok(None) => return Problem::unauthorized("The API token is unknown or was revoked.").into_response(),
        Err(e) => return Problem::from(e).into_response(),
    };
    let ip = client_ip(&request, state.config.trust_forwarded_for);
    let actor = Actor::token(token.id, token.scope, token.name, ip);
    request.extensions_mut().insert(actor);
    next.run(request).await
}
