//! RFC 9457 problem details: the one mapping from domain errors to HTTP.

use crate::domain::{DomainError, ErrorKind};
use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

/// `application/problem+json`, with `kind` and `hint` as extension members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank`: the status code says what kind of problem this is.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// What happened, for a person.
    pub detail: String,
    /// `not_found`, `conflict`, `invalid`, `forbidden`, `unavailable`, `upstream`, `internal` or `unauthorized`.
    pub kind: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            kind: kind.to_owned(),
            hint: None,
        }
    }

    pub fn unauthorized(detail: &str) -> Self {
        Self {
            hint: Some(
                "Send `Authorization: Bearer <token>`; create a token under Settings → API tokens \
                 or with `roster admin create-token`."
                    .into(),
            ),
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
        }
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The HTTP status of each kind of domain error.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "internal".into());
        Self {
            hint: e.hint.clone(),
            ..Self::new(status_of(e.kind), &kind, e.message)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: say which scheme is expected.
            headers.insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"roster\""),
            );
        }
        response
    }
}

/// Axum's own rejections (a malformed JSON body, a bad query) as problems.
pub fn rejection(status: StatusCode, detail: String) -> Problem {
    Problem::new(status, "invalid", detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_keep_their_kind_and_hint() {
        let p: Problem = DomainError::conflict("This directory is already syncing.")
            .with_hint("Wait.")
            .into();
        assert_eq!(p.status, 409);
        assert_eq!(p.kind, "conflict");
        assert_eq!(p.title, "Conflict");
        assert_eq!(p.hint.as_deref(), Some("Wait."));
        let p: Problem = DomainError::not_found("The user").into();
        assert_eq!((p.status, p.kind.as_str()), (404, "not_found"));
        assert_eq!(p.detail, "The user was not found.");
    }
}
