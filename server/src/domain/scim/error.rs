//! The SCIM boundary's one error type: RFC 7644 §3.12 status, `scimType`
//! and a detail that says what to fix. The HTTP adapter renders it once.

use crate::{domain::DomainError, store::StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    /// `invalidFilter`, `invalidValue`, `uniqueness`, `mutability`,
    /// `invalidSyntax`, `tooMany`, `invalidPath`, `noTarget`, `invalidVers`.
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidFilter"), detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidPath"), detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some("noTarget"), detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some("mutability"), detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some("tooMany"), detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }
    pub fn version_mismatch(detail: impl Into<String>) -> Self {
        Self::new(412, Some("invalidVers"), detail)
    }
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }
    pub fn unsupported_media(detail: impl Into<String>) -> Self {
        Self::new(415, None, detail)
    }
    pub fn internal() -> Self {
        Self::new(
            500,
            None,
            "Roster could not complete the request; see the server log.",
        )
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "SCIM request failed in the store");
        Self::internal()
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        use crate::domain::ErrorKind;
        match e.kind {
            ErrorKind::NotFound => Self::not_found(e.message),
            ErrorKind::Invalid => Self::invalid_value(e.message),
            ErrorKind::Conflict => Self::uniqueness(e.message),
            ErrorKind::Forbidden => Self::forbidden(e.message),
            _ => {
                tracing::error!(error = %e.message, "SCIM request failed in the core");
                Self::internal()
            }
        }
    }
}
