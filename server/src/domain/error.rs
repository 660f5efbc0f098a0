//! The one error type of the domain. Its kind decides, once per front door,
//! the UI error, the HTTP problem status and the CLI exit code; its message
//! and hint are written for the admin who reads them.

use crate::{model::InvalidId, store::StoreError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    /// The request clashes with the current state (already syncing, name taken…).
    Conflict,
    /// The input is wrong; the message says which field and how to fix it.
    Invalid,
    /// The caller may not do this (a read-only token writing, …).
    Forbidden,
    /// The caller did not prove who it is (an Okta event hook's secret).
    Unauthorized,
    /// Roster cannot serve this right now; retrying later may work.
    Unavailable,
    /// Okta answered with an error or could not be reached.
    Upstream,
    /// A bug or a broken database: details are in the server log only.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    pub kind: ErrorKind,
    pub message: String,
    /// What to do about it, when there is something to do.
    pub hint: Option<String>,
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// `what` reads as the subject: "The directory", "The user".
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} was not found."))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    /// Logs the detail and returns an error that reveals none of it.
    pub fn internal(area: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!(area, error = %detail, "internal error");
        Self::new(
            ErrorKind::Internal,
            format!("Roster could not complete this request ({area}). Details are in the server log."),
        )
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            // Said to the user as it is: what to do instead.
            StoreError::Unsupported(message) => Self::invalid(message),
            e => Self::internal("database", e),
        }
    }
}

impl From<InvalidId> for DomainError {
    fn from(e: InvalidId) -> Self {
        Self::invalid(e.to_string())
    }
}
