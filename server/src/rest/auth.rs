//! API-token authentication: `Authorization: Bearer roster_…` and nothing
//! else (no cookie, no query parameter). A read-only token may only read.

use super::problem::Problem;
use crate::{domain::instance::ApiToken, state::AppState};
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The token behind the current request, for handlers that record who acted.
#[derive(Debug, Clone)]
pub struct Caller(pub ApiToken);

impl Caller {
    pub fn describe(&self) -> String {
        format!("token “{}” ({})", self.0.name, self.0.id)
    }
}

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
    let reads = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !reads && !token.scope.allows_writes() {
        let mut problem = Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("The token “{}” is read-only.", token.name),
        );
        problem.hint = Some("Create a read-write token for changes.".into());
        return problem.into_response();
    }
    request.extensions_mut().insert(Caller(token));
    next.run(request).await
}
