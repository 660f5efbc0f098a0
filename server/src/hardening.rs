//! The HTTP surface's defences that are not about who is signed in:
//! security headers (a per-response CSP nonce that Leptos's hydration
//! scripts carry), `no-store` on everything but static assets, and body
//! limits answered with 413 before a handler reads anything.

use crate::state::AppState;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;

/// The largest body any portal request needs (a settings form, a server
/// function call); REST has its own limit per route.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The nonce of this response's scripts; `startup` hands it to Leptos.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
}

fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.svg" | "/favicon.ico" | "/robots.txt")
}

pub async fn security_headers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut raw = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let nonce = STANDARD.encode(raw);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &csp(&nonce));
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    if state.public_url.is_https() {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if !is_static(&path) {
        set(header::CACHE_CONTROL, "no-store");
    }
    response
}

/// Up to this size an oversized body is read and dropped before the 413, so
/// the client (still sending) reads the answer instead of a broken pipe.
const DRAIN_UP_TO: usize = 16 * 1024 * 1024;

/// Refuses a declared body over `limit` with 413 before any handler reads
/// it; bodies without a length are cut off by axum's `DefaultBodyLimit`.
pub async fn limit_body(request: Request, next: Next, limit: usize) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|n| *n > limit) {
        if size <= DRAIN_UP_TO {
            use futures_util::StreamExt;
            let mut body = request.into_body().into_data_stream();
            while let Some(Ok(_)) = body.next().await {}
        }
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({
                "error": format!("The request body is larger than {} KiB.", limit / 1024),
            })),
        )
            .into_response();
    }
    next.run(request).await
}
