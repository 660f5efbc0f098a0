//! Every way talking to Okta can fail, classified so the engine knows whether
//! to retry on the next schedule (transient) or pause until the admin fixes
//! something (configuration), and phrased with a fix the admin can act on.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorClass {
    /// Network, 429 after waiting, 5xx: try again later.
    Transient,
    /// Credentials, scopes, roles, DPoP set-up: needs the admin.
    Configuration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OktaError {
    #[error("Okta could not be reached: {0}")]
    Unreachable(String),
    #[error("Okta answered {status} for {what} after retries")]
    Server { status: u16, what: String },
    #[error("Okta kept answering 429 Too Many Requests for {0}")]
    RateLimited(String),
    #[error("Okta rejected the client: {0}")]
    InvalidClient(String),
    #[error("Okta did not grant the requested scopes: {0}")]
    InvalidScope(String),
    #[error("DPoP failed: {0}")]
    Dpop(String),
    #[error("Okta denied access to {what} ({summary})")]
    Forbidden {
        what: String,
        summary: String,
        insufficient_scope: bool,
    },
    #[error("Okta has no {0}")]
    NotFound(String),
    #[error("unexpected answer from Okta: {0}")]
    Protocol(String),
    #[error("the directory's key cannot be used: {0}")]
    Key(String),
}

impl OktaError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Unreachable(_) | Self::Server { .. } | Self::RateLimited(_) | Self::Protocol(_) => {
                ErrorClass::Transient
            }
            _ => ErrorClass::Configuration,
        }
    }

    /// A stable short code for storage and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Server { .. } => "server_error",
            Self::RateLimited(_) => "rate_limited",
            Self::InvalidClient(_) => "invalid_client",
            Self::InvalidScope(_) => "invalid_scope",
            Self::Dpop(_) => "dpop",
            Self::Forbidden {
                insufficient_scope: true,
                ..
            } => "insufficient_scope",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Protocol(_) => "protocol",
            Self::Key(_) => "key",
        }
    }

    /// What the admin should do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Unreachable(_) => "Check the Okta domain and that this server can reach it over HTTPS (DNS, proxy, firewall). Roster retries on the next schedule.".into(),
            Self::Server { .. } => "Okta had a temporary problem. Roster retries on the next schedule; check status.okta.com if it persists.".into(),
            Self::RateLimited(_) => "Okta's rate limit for this org is exhausted by other integrations. Lower the rate-limit share or raise the app's rate limit in Okta; Roster retries on the next schedule.".into(),
            Self::InvalidClient(_) => "Client authentication failed: check that the public key in Okta matches this directory's key and the Client ID is right (Okta → Applications → your API Services app → General).".into(),
            Self::InvalidScope(detail) => format!("Grant the missing Okta API scopes on the API Services app's “Okta API Scopes” tab ({detail})."),
            Self::Dpop(_) => "The DPoP exchange with Okta failed. Keep “Require Demonstrating Proof of Possession (DPoP)” as it is and verify again; if it persists, regenerate the key.".into(),
            Self::Forbidden { insufficient_scope: true, what, .. } => format!("The access token lacks the scope needed to read {what}: grant okta.users.read, okta.groups.read and okta.apps.read on the API Services app."),
            Self::Forbidden { what, .. } => format!("The API Services app has no admin role that allows reading {what}: assign the “Roster Sync Read Only” custom role (view users, groups, applications) with its resource set under “Admin roles”."),
            Self::NotFound(what) => format!("The {what} no longer exists or is not visible to the service app: choose the app to sync again and verify."),
            Self::Protocol(_) => "Okta sent an answer Roster did not expect. Roster retries on the next schedule; report it if it persists.".into(),
            Self::Key(_) => "Generate a new key pair for this directory and add the new public key in Okta.".into(),
        }
    }
}

/// Okta's API error body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub error_summary: String,
}

/// The OAuth error body of the token endpoint.
#[derive(Debug, Default, Deserialize)]
pub struct OAuthErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_pause_transient_ones_retry() {
        assert_eq!(
            OktaError::InvalidClient("x".into()).class(),
            ErrorClass::Configuration
        );
        assert_eq!(
            OktaError::Server {
                status: 503,
                what: "x".into()
            }
            .class(),
            ErrorClass::Transient
        );
        let hint = OktaError::InvalidClient("x".into()).hint();
        assert!(hint.contains("public key in Okta matches") && hint.contains("Client ID"));
        let forbidden = OktaError::Forbidden {
            what: "users".into(),
            summary: "E0000006".into(),
            insufficient_scope: false,
        };
        assert!(forbidden.hint().contains("admin role"));
    }
}
