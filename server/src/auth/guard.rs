use super::SESSION_ADMIN_ID;
use crate::{state::AppState, web::error_response};
use app::api::CurrentAdmin;
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

/// Paths anyone may request: sign-in and setup pages, health probes and static
/// assets. Everything else needs an admin session.
fn is_public(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/signin",
        "/setup",
        "/healthz",
        "/readyz",
        "/favicon.svg",
        "/favicon.ico",
        "/robots.txt",
    ];
    // Okta fetches a directory's public keys without a session.
    let jwks = path.starts_with("/directories/") && path.ends_with("/jwks.json");
    EXACT.contains(&path) || path.starts_with("/pkg/") || jwks
}

/// Browsers send `Origin` on cross-site POSTs; refusing a foreign one (plus
/// SameSite=Lax cookies) makes every mutation CSRF-safe.
fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, authority)| authority) != Some(host),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub async fn require_session(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if is_cross_site(request.method(), request.headers()) {
        return error_response(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This request came from another site. Open Roster directly and try again.",
        );
    }
    let path = request.uri().path().to_owned();
    if is_public(&path) {
        return next.run(request).await;
    }
    match current_admin(&state, &session).await {
        Some(admin) => {
            request.extensions_mut().insert(admin);
            next.run(request).await
        }
        None if wants_html(&request) => Redirect::to("/signin").into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": "sign in required" })),
        )
            .into_response(),
    }
}

async fn current_admin(state: &AppState, session: &Session) -> Option<CurrentAdmin> {
    let id: uuid::Uuid = session.get(SESSION_ADMIN_ID).await.ok().flatten()?;
    match state.core.instance.admin(id).await {
        Ok(Some(admin)) => Some(CurrentAdmin {
            id: admin.id.to_string(),
            display_name: admin.display_name,
        }),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "could not load the session's admin");
            None
        }
    }
}

fn wants_html(request: &Request) -> bool {
    request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn foreign_origins_are_refused_for_mutations_only() {
        let same = headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")]);
        let foreign = headers(&[("host", "127.0.0.1:3000"), ("origin", "https://evil.example")]);
        assert!(!is_cross_site(&Method::POST, &same));
        assert!(is_cross_site(&Method::POST, &foreign));
        assert!(!is_cross_site(&Method::GET, &foreign));
        assert!(is_cross_site(
            &Method::POST,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!is_cross_site(&Method::POST, &headers(&[("host", "x")])));
    }

    #[test]
    fn only_entry_pages_probes_and_assets_are_public() {
        assert!(is_public("/signin") && is_public("/healthz") && is_public("/pkg/roster.wasm"));
        assert!(is_public("/directories/0b6c/jwks.json") && !is_public("/directories/0b6c"));
        assert!(!is_public("/") && !is_public("/settings") && !is_public("/api/get_overview"));
    }
}
