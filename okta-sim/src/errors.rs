//! Error types: the public `SimError`, Okta management-API errors and OAuth token-endpoint errors.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::util::random_base62;

/// Errors from starting the simulator or from `SimHandle`/admin operations.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl SimError {
    fn status(&self) -> StatusCode {
        match self {
            SimError::NotFound(_) => StatusCode::NOT_FOUND,
            SimError::BadRequest(_) | SimError::Config(_) => StatusCode::BAD_REQUEST,
            SimError::Conflict(_) => StatusCode::CONFLICT,
            SimError::Bind { .. } | SimError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Admin API errors are plain `{"error": "..."}`; they are the simulator's own, not Okta's.
impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// An error in Okta's management API format (`errorCode`, `errorSummary`, ...).
#[derive(Debug, Clone)]
pub(crate) struct OktaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
    pub www_authenticate: Option<String>,
}

impl OktaError {
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        OktaError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
            www_authenticate: None,
        }
    }

    pub fn with_www_authenticate(mut self, value: String) -> Self {
        self.www_authenticate = Some(value);
        self
    }

    /// E0000001, e.g. for `limit=0`: summary names the field, the cause explains it.
    pub fn validation(field: &str, message: &str) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {field}"),
        );
        e.causes.push(format!("{field}: {message}"));
        e
    }

    pub fn invalid_token(www_authenticate: String) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided")
            .with_www_authenticate(www_authenticate)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        let causes: Vec<_> = self.causes.iter().map(|c| json!({ "errorSummary": c })).collect();
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{}", random_base62(22, &mut rand::thread_rng())),
            "errorCauses": causes,
        });
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(v) = self.www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// An OAuth 2.0 error from `/oauth2/v1/token` (`{"error": ..., "error_description": ...}`).
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            dpop_nonce: None,
        }
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            dpop_nonce: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut resp = (self.status, Json(body)).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store"),
        );
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(v) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert("DPoP-Nonce", v);
        }
        resp
    }
}
