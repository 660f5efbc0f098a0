//! Access-token checks on management API calls: Bearer vs DPoP-bound tokens, scopes, admin role.

use axum::http::{header, HeaderMap, Method};

use crate::dpop::{validate_proof, Expected};
use crate::errors::OktaError;
use crate::state::Shared;
use crate::util::{lock, now_ms, read};

pub(crate) const USERS_READ: &str = "okta.users.read";
pub(crate) const GROUPS_READ: &str = "okta.groups.read";
pub(crate) const APPS_READ: &str = "okta.apps.read";
pub(crate) const LOGS_READ: &str = "okta.logs.read";

/// Header parameter values must not contain quotes.
fn quoted(s: &str) -> String {
    s.replace('"', "'")
}

/// Checks the request's credentials; on success the caller may read with `required` scopes.
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    required: &[&str],
) -> Result<(), OktaError> {
    let base = &shared.base_url;
    let bearer_challenge = |error: Option<&str>| {
        let mut v = format!(
            "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", scope=\"{}\"",
            required.join(" ")
        );
        if let Some(e) = error {
            v.push_str(&format!(
                ", error=\"invalid_token\", error_description=\"{}\"",
                quoted(e)
            ));
        }
        v.push_str(&format!(", resource=\"{path}\""));
        OktaError::invalid_token(v)
    };
    let dpop_challenge = |error: &str, description: &str| {
        OktaError::invalid_token(format!(
            "DPoP error=\"{error}\", error_description=\"{}\", algs=\"RS256\"",
            quoted(description)
        ))
    };

    let Some(authz) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(bearer_challenge(None));
    };
    let (scheme, token) = authz.split_once(' ').unwrap_or((authz, ""));
    let token = token.trim();
    let is_dpop_scheme = scheme.eq_ignore_ascii_case("DPoP");
    if !(is_dpop_scheme || scheme.eq_ignore_ascii_case("Bearer")) || token.is_empty() {
        return Err(bearer_challenge(Some("The token is not valid.")));
    }
    let now = now_ms();
    let Some(grant) = lock(&shared.tokens).get(token, now) else {
        return Err(bearer_challenge(Some("The token is not valid.")));
    };

    match (&grant.jkt, is_dpop_scheme) {
        (Some(_), false) => {
            return Err(dpop_challenge(
                "invalid_token",
                "The access token is DPoP-bound and must be sent with the DPoP authorization scheme and a DPoP proof.",
            ))
        }
        (None, true) => {
            return Err(bearer_challenge(Some("The access token is not DPoP-bound; use the Bearer scheme.")))
        }
        (Some(jkt), true) => {
            let mut proofs = headers.get_all("DPoP").iter();
            let proof = match (proofs.next(), proofs.next()) {
                (Some(p), None) => p.to_str().unwrap_or_default(),
                (None, _) => return Err(dpop_challenge("invalid_dpop_proof", "The DPoP proof JWT header is missing.")),
                (Some(_), Some(_)) => {
                    return Err(dpop_challenge("invalid_dpop_proof", "Only one DPoP proof JWT header is allowed."))
                }
            };
            let url = shared.request_url(headers, path);
            let expected = Expected { method: method.as_str(), url: &url, access_token: Some(token) };
            let valid = validate_proof(proof, &expected, now, &mut lock(&shared.replay))
                .map_err(|d| dpop_challenge("invalid_dpop_proof", &d))?;
            if valid.jkt != *jkt {
                return Err(dpop_challenge(
                    "invalid_dpop_proof",
                    "The DPoP proof key does not match the key the access token is bound to.",
                ));
            }
        }
        (None, false) => {}
    }

    if required.iter().any(|s| !grant.scopes.iter().any(|g| g == s)) {
        return Err(OktaError::forbidden().with_www_authenticate(
            "Bearer error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\""
                .into(),
        ));
    }
    // The admin role is checked live, so revoking it affects tokens already issued.
    match read(&shared.service_apps).get(&grant.client_id) {
        None => Err(bearer_challenge(Some("The token is not valid."))),
        Some(app) if !app.info.admin_role => Err(OktaError::forbidden()),
        Some(_) => Ok(()),
    }
}
