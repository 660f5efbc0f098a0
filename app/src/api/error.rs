use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The one error type of the UI ↔ server boundary. Messages are written for the
/// admin reading them: they say what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Your session has ended. Sign in again to continue.")]
    Unauthorized,
    #[error("{0}")]
    Invalid(String),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("The server could not complete this request ({0}). Details are in the server log.")]
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
