//! The Okta org an admin connects, validated so the field can never make
//! Roster call anything but an Okta org (no SSRF through the domain field).

use std::fmt;

/// Okta's org domains. Custom URL domains are not accepted: the management
/// API and token endpoint always live on the org's Okta domain.
const OKTA_SUFFIXES: &[&str] = &[
    ".okta.com",
    ".oktapreview.com",
    ".okta-emea.com",
    ".okta-gov.com",
    ".okta.mil",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("Enter your Okta domain, e.g. acme.okta.com.")]
    Empty,
    #[error("Remove the spaces from the Okta domain.")]
    Whitespace,
    #[error("Enter only the domain (acme.okta.com) without a path such as “{0}”.")]
    HasPath(String),
    #[error("Enter the domain without a port number.")]
    HasPort,
    #[error("Enter the domain without a user name or password.")]
    HasCredentials,
    #[error("Enter your Okta domain (acme.okta.com), not an IP address.")]
    IpAddress,
    #[error("“{0}” is the admin console's address; enter your org domain “{1}” instead.")]
    AdminConsole(String, String),
    #[error("“{0}” is not an Okta domain; it must end in .okta.com, .oktapreview.com or .okta-emea.com.")]
    NotOkta(String),
    #[error("Use https:// for Okta domains.")]
    PlainHttp,
}

/// A validated `https://<org>.okta.com`-style origin (or an allowed test origin).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OktaOrigin(String);

impl OktaOrigin {
    /// Accepts `acme.okta.com` and `https://acme.okta.com[/]`; `extra` lists
    /// exact origins allowed besides Okta's (tests and the demo simulator).
    pub fn parse(raw: &str, extra: &[String]) -> Result<Self, OriginError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(OriginError::Empty);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(OriginError::Whitespace);
        }
        let lowered = trimmed.to_ascii_lowercase();
        let candidate = lowered.trim_end_matches('/');
        if extra
            .iter()
            .any(|origin| origin.trim_end_matches('/') == candidate)
        {
            return Ok(Self(candidate.to_owned()));
        }
        let (scheme, rest) = match candidate.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None => ("https", candidate),
        };
        if scheme != "https" {
            return Err(OriginError::PlainHttp);
        }
        if let Some(at) = rest.find(['/', '?', '#']) {
            return Err(OriginError::HasPath(rest[at..].to_owned()));
        }
        if rest.contains('@') {
            return Err(OriginError::HasCredentials);
        }
        if rest.starts_with('[') || rest.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(OriginError::IpAddress);
        }
        if rest.contains(':') {
            return Err(OriginError::HasPort);
        }
        let host = rest;
        let suffix = OKTA_SUFFIXES
            .iter()
            .find(|suffix| host.ends_with(*suffix))
            .ok_or_else(|| OriginError::NotOkta(host.to_owned()))?;
        let org = &host[..host.len() - suffix.len()];
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        // Exactly one label before the suffix: `acme.okta.com`, not `evil.acme.okta.com`.
        if org.contains('.') || !label_ok(org) {
            return Err(OriginError::NotOkta(host.to_owned()));
        }
        if let Some(base) = org.strip_suffix("-admin") {
            return Err(OriginError::AdminConsole(
                host.to_owned(),
                format!("{base}{suffix}"),
            ));
        }
        Ok(Self(format!("https://{host}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The org's host for display (`acme.okta.com`).
    pub fn host(&self) -> &str {
        self.0.split_once("://").map_or(&self.0, |(_, host)| host)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v1/token", self.0)
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.0)
    }

    /// Whether `url` points at this org (pagination links must not leave it).
    pub fn owns(&self, url: &str) -> bool {
        url.strip_prefix(&self.0)
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl fmt::Display for OktaOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `ROSTER_OKTA_EXTRA_ORIGINS`: comma-separated `scheme://host:port`;
/// plain http only for loopback addresses.
pub fn parse_extra_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            let origin = origin.trim_end_matches('/').to_ascii_lowercase();
            let (scheme, rest) = origin
                .split_once("://")
                .ok_or_else(|| format!("{origin:?} needs a scheme, e.g. http://127.0.0.1:4010"))?;
            if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
                return Err(format!(
                    "{origin:?} must be an origin (scheme://host[:port]) without a path"
                ));
            }
            let host = rest.rsplit_once(':').map_or(rest, |(host, _)| host);
            let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
            match scheme {
                "https" => Ok(origin),
                "http" if loopback => Ok(origin),
                "http" => Err(format!(
                    "{origin:?}: plain http is only allowed for loopback addresses"
                )),
                _ => Err(format!("{origin:?}: scheme must be http or https")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<OktaOrigin, OriginError> {
        OktaOrigin::parse(raw, &[])
    }

    #[test]
    fn accepts_okta_domains_in_the_usual_forms() {
        for raw in [
            "acme.okta.com",
            "https://acme.okta.com",
            "https://ACME.okta.com/",
            " acme.okta.com ",
        ] {
            assert_eq!(parse(raw).unwrap().as_str(), "https://acme.okta.com", "{raw}");
        }
        assert_eq!(
            parse("acme.oktapreview.com").unwrap().host(),
            "acme.oktapreview.com"
        );
        assert_eq!(
            parse("acme-eu.okta-emea.com").unwrap().host(),
            "acme-eu.okta-emea.com"
        );
    }

    #[test]
    fn rejects_everything_that_could_point_elsewhere() {
        assert_eq!(parse(""), Err(OriginError::Empty));
        assert_eq!(parse("acme .okta.com"), Err(OriginError::Whitespace));
        assert!(
            matches!(parse("https://acme.okta.com/admin/dashboard"), Err(OriginError::HasPath(p)) if p == "/admin/dashboard")
        );
        assert_eq!(parse("acme.okta.com:8443"), Err(OriginError::HasPort));
        assert_eq!(parse("user:pw@acme.okta.com"), Err(OriginError::HasCredentials));
        assert_eq!(parse("169.254.169.254"), Err(OriginError::IpAddress));
        assert_eq!(parse("[::1]"), Err(OriginError::IpAddress));
        assert_eq!(parse("http://acme.okta.com"), Err(OriginError::PlainHttp));
        assert!(matches!(
            parse("acme.okta.com.evil.com"),
            Err(OriginError::NotOkta(_))
        ));
        assert!(matches!(
            parse("evil.acme.okta.com"),
            Err(OriginError::NotOkta(_))
        ));
        assert!(matches!(parse("okta.com"), Err(OriginError::NotOkta(_))));
        assert!(matches!(parse("localhost"), Err(OriginError::NotOkta(_))));
    }

    #[test]
    fn names_the_org_domain_when_given_the_admin_console() {
        let err = parse("https://acme-admin.okta.com").unwrap_err();
        assert_eq!(
            err,
            OriginError::AdminConsole("acme-admin.okta.com".into(), "acme.okta.com".into())
        );
        assert!(err.to_string().contains("acme.okta.com"));
    }

    #[test]
    fn extra_origins_are_exact_and_loopback_only_for_http() {
        let extra = parse_extra_origins("http://127.0.0.1:4010, https://sim.example.com").unwrap();
        assert_eq!(
            OktaOrigin::parse("http://127.0.0.1:4010/", &extra)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:4010"
        );
        assert!(OktaOrigin::parse("http://127.0.0.1:4011", &extra).is_err());
        assert!(parse_extra_origins("http://10.0.0.5:80").is_err());
        assert!(parse_extra_origins("http://127.0.0.1:4010/path").is_err());
    }

    #[test]
    fn pagination_links_must_stay_on_the_org() {
        let origin = parse("acme.okta.com").unwrap();
        assert!(origin.owns("https://acme.okta.com/api/v1/users?after=x"));
        assert!(!origin.owns("https://acme.okta.com.evil.com/api"));
        assert!(!origin.owns("http://169.254.169.254/"));
    }
}
