//! The sign-in settings: validation of every field (the issuer under the
//! same SSRF rules as a directory's Okta domain), the values an admin
//! enters in Okta, and the role rule.

use crate::{
    model::Role,
    okta::{ClientId, OktaOrigin},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use zeroize::Zeroizing;

pub const CALLBACK_PATH: &str = "/auth/callback";
pub const SIGNED_OUT_PATH: &str = "/signin";
const MAX_GROUPS: usize = 50;

/// The form as typed, from any front door.
#[derive(Clone, Default, Deserialize, ToSchema)]
pub struct SettingsInput {
    /// `acme.okta.com`, `https://acme.okta.com`, or a custom authorization
    /// server `https://acme.okta.com/oauth2/aus…`.
    pub issuer: String,
    pub client_id: String,
    /// Omit (or leave empty) to keep the stored secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Comma- or newline-separated group names.
    pub admin_groups: String,
    #[serde(default)]
    pub viewer_groups: String,
}

impl std::fmt::Debug for SettingsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsInput")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Validated settings, the secret in clear only in memory.
#[derive(Clone)]
pub struct ValidSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Zeroizing<String>,
    pub admin_groups: Vec<String>,
    pub viewer_groups: Vec<String>,
}

impl std::fmt::Debug for ValidSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<sealed>")
            .finish()
    }
}

impl ValidSettings {
    /// Checks every field; `stored_secret` is used when none is typed.
    pub fn parse(
        input: &SettingsInput,
        stored_secret: Option<Zeroizing<String>>,
        extra_origins: &[String],
    ) -> Result<Self, String> {
        let issuer = parse_issuer(&input.issuer, extra_origins)?;
        let client_id = ClientId::parse(&input.client_id)?.as_str().to_owned();
        let typed = input
            .client_secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let client_secret = match (typed, stored_secret) {
            (Some(s), _) => {
                if s.len() > 512 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err("The client secret has spaces or is too long; copy it again from the app's General tab.".into());
                }
                Zeroizing::new(s.to_owned())
            }
            (None, Some(stored)) => stored,
            (None, None) => {
                return Err("Enter the client secret from the app's General tab (Client Credentials).".into())
            }
        };
        let admin_groups = parse_groups(&input.admin_groups)?;
        if admin_groups.is_empty() {
            return Err("Name at least one admin group: members of it administer Roster.".into());
        }
        let viewer_groups = parse_groups(&input.viewer_groups)?;
        if let Some(both) = viewer_groups.iter().find(|g| admin_groups.contains(g)) {
            return Err(format!(
                "“{both}” is both an admin and a viewer group; keep it in one list."
            ));
        }
        Ok(Self {
            issuer,
            client_id,
            client_secret,
            admin_groups,
            viewer_groups,
        })
    }

    /// Identifies these exact settings, so a test result only vouches for them.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for part in [&self.issuer, &self.client_id, self.client_secret.as_str()] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        for g in self
            .admin_groups
            .iter()
            .chain([&String::new()])
            .chain(&self.viewer_groups)
        {
            hash.update(g.as_bytes());
            hash.update([0]);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Admin wins over viewer; no matching group means no access.
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        role_for(groups, &self.admin_groups, &self.viewer_groups)
    }
}

pub fn role_for(groups: &[String], admin_groups: &[String], viewer_groups: &[String]) -> Option<Role> {
    if groups.iter().any(|g| admin_groups.contains(g)) {
        Some(Role::Admin)
    } else if groups.iter().any(|g| viewer_groups.contains(g)) {
        Some(Role::Viewer)
    } else {
        None
    }
}

/// The org authorization server `https://{domain}` or a custom one
/// `https://{domain}/oauth2/{id}`; the domain under the Okta-domain rules.
pub fn parse_issuer(raw: &str, extra_origins: &[String]) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(
            "Enter the Okta domain (acme.okta.com) or the issuer URL of an authorization server.".into(),
        );
    }
    let (origin_part, server) = match trimmed.find("/oauth2/") {
        Some(at) => (&trimmed[..at], Some(&trimmed[at + "/oauth2/".len()..])),
        None => (trimmed, None),
    };
    let origin = OktaOrigin::parse(origin_part, extra_origins).map_err(|e| e.to_string())?;
    match server {
        None => Ok(origin.as_str().to_owned()),
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            Ok(format!("{}/oauth2/{id}", origin.as_str()))
        }
        Some(id) => Err(format!(
            "“{id}” is not an authorization server id; use https://acme.okta.com/oauth2/default or …/oauth2/aus…"
        )),
    }
}

fn parse_groups(raw: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in raw.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
        if name.len() > 255 || name.chars().any(char::is_control) {
            return Err(format!(
                "“{}…” is not a group name Okta allows.",
                name.chars().take(40).collect::<String>()
            ));
        }
        if !out.iter().any(|g| g == name) {
            out.push(name.to_owned());
        }
    }
    if out.len() > MAX_GROUPS {
        return Err(format!("Name at most {MAX_GROUPS} groups."));
    }
    Ok(out)
}

/// What to enter in Okta's app, each value with a copy button in the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OktaAppValues {
    pub app_type: String,
    pub grant_type: String,
    pub sign_in_redirect_uri: String,
    pub sign_out_redirect_uri: String,
    pub assignments: String,
    pub groups_claim: String,
}

impl OktaAppValues {
    pub fn for_public_url(public_url: &str) -> Self {
        Self {
            app_type: "OIDC - OpenID Connect, Web Application".into(),
            grant_type: "Authorization Code".into(),
            sign_in_redirect_uri: format!("{public_url}{CALLBACK_PATH}"),
            sign_out_redirect_uri: format!("{public_url}{SIGNED_OUT_PATH}"),
            assignments: "Assign the groups that may use Roster (the admin and viewer groups below).".into(),
            groups_claim:
                "Sign On tab → OpenID Connect ID Token → Groups claim type Filter, claim name “groups”, \
                           Matches regex “.*” (or Equals your admin group's name)."
                    .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(issuer: &str) -> SettingsInput {
        SettingsInput {
            issuer: issuer.into(),
            client_id: "0oa1b2c3d4e5f6g7h8i9".into(),
            client_secret: Some("s3cr3t-value".into()),
            admin_groups: "Roster Admins, Roster Admins\nIT".into(),
            viewer_groups: "Helpdesk".into(),
        }
    }

    #[test]
    fn issuers_follow_the_okta_domain_rules() {
        assert_eq!(
            parse_issuer("acme.okta.com", &[]).unwrap(),
            "https://acme.okta.com"
        );
        assert_eq!(
            parse_issuer("https://acme.okta.com/oauth2/default/", &[]).unwrap(),
            "https://acme.okta.com/oauth2/default"
        );
        assert!(parse_issuer("https://evil.example/oauth2/default", &[]).is_err());
        assert!(parse_issuer("http://acme.okta.com", &[]).is_err());
        assert!(parse_issuer("https://acme.okta.com/oauth2/../x", &[]).is_err());
        assert!(parse_issuer("https://acme.okta.com/other", &[]).is_err());
        assert!(parse_issuer("https://10.0.0.1", &[]).is_err());
        let extra = vec!["http://127.0.0.1:4000".to_owned()];
        assert_eq!(
            parse_issuer("http://127.0.0.1:4000", &extra).unwrap(),
            "http://127.0.0.1:4000"
        );
    }

    #[test]
    fn settings_need_a_secret_and_an_admin_group_and_dedupe_groups() {
        let s = ValidSettings::parse(&input("acme.okta.com"), None, &[]).unwrap();
        assert_eq!(s.admin_groups, vec!["Roster Admins", "IT"]);
        assert_eq!(s.role_for(&["IT".into()]), Some(Role::Admin));
        assert_eq!(s.role_for(&["Helpdesk".into()]), Some(Role::Viewer));
        assert_eq!(s.role_for(&["Everyone".into()]), None);
        let mut no_secret = input("acme.okta.com");
        no_secret.client_secret = None;
        assert!(ValidSettings::parse(&no_secret, None, &[]).is_err());
        let kept = ValidSettings::parse(&no_secret, Some(Zeroizing::new("old".into())), &[]).unwrap();
        assert_eq!(kept.client_secret.as_str(), "old");
        assert_ne!(kept.fingerprint(), s.fingerprint());
        let mut no_admins = input("acme.okta.com");
        no_admins.admin_groups = " , ".into();
        assert!(ValidSettings::parse(&no_admins, None, &[]).is_err());
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
