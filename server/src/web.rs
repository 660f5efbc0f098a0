//! The HTTP boundary's error type and the plain pages served outside Leptos.

use crate::{domain::DomainError, store::StoreError};
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

/// Errors of the non-Leptos handlers, mapped to a response in one place.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("session store: {0}")]
    Session(String),
}

impl WebError {
    pub fn session(e: tower_sessions::session::Error) -> Self {
        Self::Session(e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Roster hit an unexpected error. Details are in the server log; try again in a moment.",
        )
    }
}

/// A small styled page for responses produced before Leptos renders anything.
pub fn error_response(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, title, message, ("/", "Back to Overview"))
}

/// The same page with its own way forward (`(href, label)`).
pub fn page(status: StatusCode, title: &str, message: &str, link: (&str, &str)) -> Response {
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Roster</title><link rel="stylesheet" href="/pkg/roster.css"><link rel="icon" href="/favicon.svg"></head><body><main class="error-page"><div class="error-card" data-testid="plain-page"><p class="error-code">{code}</p><h1>{title}</h1><p>{message}</p><a class="button button-primary" href="{href}">{label}</a></div></main></body></html>"#,
        code = status.as_u16(),
        title = escape(title),
        message = escape(message),
        href = escape(link.0),
        label = escape(link.1),
    );
    (status, Html(body)).into_response()
}

/// A page with a form that POSTs back (confirm pages: GET never acts).
pub fn confirm_page(
    title: &str,
    message: &str,
    action: &str,
    fields: &[(&str, &str)],
    button: &str,
) -> Response {
    let hidden: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Roster</title><link rel="stylesheet" href="/pkg/roster.css"><link rel="icon" href="/favicon.svg"></head><body><main class="error-page"><div class="error-card"><h1>{title}</h1><p>{message}</p><form method="post" action="{action}">{hidden}<button type="submit" class="button button-primary" autofocus>{button}</button></form></div></main></body></html>"#,
        title = escape(title),
        message = escape(message),
        action = escape(action),
        button = escape(button),
    );
    (StatusCode::OK, Html(body)).into_response()
}

/// The client's address: the TCP peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (the one that proxy added).
pub fn client_ip<B>(request: &axum::http::Request<B>, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        if let Some(last) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        {
            return Some(last.to_owned());
        }
    }
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A query-string value, percent-encoded (RFC 3986 unreserved characters kept).
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode_query_value("a b&c=ü~"), "a%20b%26c%3D%C3%BC~");
    }
}
