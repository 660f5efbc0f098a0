use super::SESSION_SIGNIN_ID;
use crate::{
    domain::{signin::SessionCheck, Actor},
    state::AppState,
    web::{client_ip, error_response},
};
use app::api::CurrentAdmin;
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

/// Paths anyone may request: sign-in, setup, the OIDC callback, health
/// probes, static assets and a directory's public keys (Okta fetches them).
fn is_public(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/signin",
        "/setup",
        "/signout",
        "/auth/login",
        "/auth/callback",
        "/healthz",
        "/readyz",
        "/favicon.svg",
        "/favicon.ico",
        "/robots.txt",
    ];
    EXACT.contains(&path) || path.starts_with("/pkg/") || is_jwks_path(path)
}

/// Exactly `/directories/{uuid}/jwks.json`.
fn is_jwks_path(path: &str) -> bool {
    path.strip_prefix("/directories/")
        .and_then(|rest| rest.strip_suffix("/jwks.json"))
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok() && id.len() == 36)
}

/// A state-changing request authenticated by a cookie must prove it came
/// from Roster's own pages: an `Origin` equal to the public URL's, or, when a
/// browser sends none, `Sec-Fetch-Site: same-origin`. Anything else is refused
/// (SameSite=Lax cookies alone do not stop same-site attackers).
fn is_cross_site(method: &Method, headers: &HeaderMap, public_url: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => !origin.trim_end_matches('/').eq_ignore_ascii_case(public_url),
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) != Some("same-origin"),
    }
}

pub async fn require_session(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if is_cross_site(request.method(), request.headers(), state.public_url.as_str()) {
        tracing::warn!(path = %request.uri().path(), "refused a state-changing request from another origin (or with no Origin)");
        return error_response(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This request did not come from Roster's own pages. Open Roster directly and try again.",
        );
    }
    let path = request.uri().path().to_owned();
    // Static assets need no session: skip loading it.
    if path.starts_with("/pkg/") || matches!(path.as_str(), "/favicon.svg" | "/favicon.ico" | "/robots.txt") {
        return next.run(request).await;
    }
    let signin_id: Option<String> = session.get(SESSION_SIGNIN_ID).await.ok().flatten();
    let check = match &signin_id {
        Some(id) => state.core.signin.check(id).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not check the session's sign-in");
            (SessionCheck::Unknown, None)
        }),
        None => (SessionCheck::Unknown, None),
    };
    match check {
        (SessionCheck::Valid, Some(user)) => {
            let ip = client_ip(&request, state.config.trust_forwarded_for);
            request.extensions_mut().insert(CurrentAdmin {
                id: user.admin_id.to_string(),
                display_name: user.name.clone(),
                role: user.role.as_str().to_owned(),
            });
            request
                .extensions_mut()
                .insert(Actor::person(user.admin_id, user.role, user.name, ip));
            next.run(request).await
        }
        (reason, _) => {
            if signin_id.is_some() {
                // Revoked or expired: clear the session server-side too.
                let _ = session.flush().await;
                tracing::info!(?reason, "session ended");
            }
            if is_public(&path) {
                return next.run(request).await;
            }
            if wants_html(&request) {
                let to = match reason {
                    SessionCheck::Revoked => "/signin?ended=revoked",
                    SessionCheck::Expired => "/signin?ended=expired",
                    _ => "/signin",
                };
                return Redirect::to(to).into_response();
            }
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({ "error": "sign in required" })),
            )
                .into_response()
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
    fn mutations_need_the_public_origin() {
        let public = "https://roster.example.com";
        let same = headers(&[
            ("host", "internal:3000"),
            ("origin", "https://roster.example.com"),
        ]);
        let other_scheme = headers(&[("origin", "http://roster.example.com")]);
        let foreign = headers(&[("origin", "https://evil.example")]);
        assert!(!is_cross_site(&Method::POST, &same, public));
        assert!(is_cross_site(&Method::POST, &other_scheme, public));
        assert!(is_cross_site(&Method::POST, &foreign, public));
        assert!(!is_cross_site(&Method::GET, &foreign, public));
        assert!(is_cross_site(&Method::POST, &headers(&[]), public));
        assert!(!is_cross_site(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-origin")]),
            public
        ));
        assert!(is_cross_site(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-site")]),
            public
        ));
    }

    #[test]
    fn only_entry_pages_probes_assets_and_real_jwks_paths_are_public() {
        assert!(is_public("/signin") && is_public("/healthz") && is_public("/pkg/roster.wasm"));
        assert!(is_public(
            "/directories/0b6c4a4e-7a5e-4f63-9d0e-0d3c1d2b3a4f/jwks.json"
        ));
        assert!(!is_public("/directories/jwks.json"));
        assert!(!is_public(
            "/directories/0b6c4a4e-7a5e-4f63-9d0e-0d3c1d2b3a4f/users/jwks.json"
        ));
        assert!(!is_public("/directories/0b6c"));
        assert!(!is_public("/") && !is_public("/settings") && !is_public("/api/get_overview"));
    }
}
