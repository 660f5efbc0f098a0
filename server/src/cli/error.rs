//! The CLI's one error type, and the one mapping to exit codes:
//! 0 done, 1 failed, 2 usage (bad arguments or input the server refused as invalid).

use crate::domain::{DomainError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
    pub exit: u8,
}

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Exit code of a problem `kind` (the REST API's) or a domain error kind.
pub fn exit_code(kind: &str) -> u8 {
    match kind {
        "invalid" => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
}

impl CliError {
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            exit: EXIT_FAILED,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            exit: EXIT_USAGE,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<DomainError> for CliError {
    fn from(e: DomainError) -> Self {
        let kind = match e.kind {
            ErrorKind::Invalid => "invalid",
            _ => "failed",
        };
        Self {
            message: e.message,
            hint: e.hint,
            exit: exit_code(kind),
        }
    }
}
