use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The one error type of the UI ↔ server boundary. Messages are written for the
/// admin reading them: they say what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Your session has ended. Sign in again to continue.")]
    Unauthorized,
    /// Wrong input; the message names the field and the fix.
    #[error("{0}")]
    Invalid(String),
    /// The whole sentence, e.g. "The directory was not found."
    #[error("{0}")]
    NotFound(String),
    /// The action clashes with the current state (already syncing, paused…).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// Okta answered with an error or could not be reached.
    #[error("{0}")]
    Upstream(String),
    #[error("{0}")]
    Internal(String),
    #[error("Could not reach Roster's server: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
