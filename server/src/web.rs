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
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Roster</title><link rel="stylesheet" href="/pkg/roster.css"><link rel="icon" href="/favicon.svg"></head><body><main class="error-page"><div class="error-card"><p class="error-code">{code}</p><h1>{title}</h1><p>{message}</p><a class="button button-primary" href="/">Back to Overview</a></div></main></body></html>"#,
        code = status.as_u16(),
        title = escape(title),
        message = escape(message),
    );
    (status, Html(body)).into_response()
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
