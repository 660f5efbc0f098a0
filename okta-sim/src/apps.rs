//! API Services apps (the OAuth clients Roster authenticates as) and their public keys.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use rsa::RsaPublicKey;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::errors::SimError;
use crate::jwt::rsa_key_from_jwk;
use crate::util::{okta_id, rfc3339_millis};

/// Scopes the org authorization server knows; only the `*.read` ones are used by Roster.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.apps.read",
    "okta.apps.manage",
    "okta.logs.read",
    "okta.roles.read",
    "okta.orgs.read",
    "okta.userTypes.read",
    "okta.schemas.read",
];

/// Registration of a service app. Exactly one of `jwks` / `jwks_uri` is required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAppSpec {
    pub name: String,
    #[serde(default)]
    pub jwks: Option<Value>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Defaults to a generated `0oa...` id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Defaults to `true`, like new Okta API Services apps.
    #[serde(default)]
    pub dpop_required: Option<bool>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub admin_role: Option<bool>,
}

/// Changes to a service app; absent fields stay as they are. Setting `jwks` clears `jwks_uri`
/// and vice versa.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAppPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub jwks: Option<Value>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub dpop_required: Option<bool>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub admin_role: Option<bool>,
}

/// A service app as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceAppInfo {
    pub client_id: String,
    pub name: String,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub dpop_required: bool,
    pub scopes: Vec<String>,
    pub admin_role: bool,
    pub created: String,
}

#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    pub kid: Option<String>,
    pub key: RsaPublicKey,
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceApp {
    pub info: ServiceAppInfo,
    /// Keys from `jwks`, or the last successful fetch of `jwks_uri`.
    pub keys: Vec<PublicKey>,
}

#[derive(Debug, Default)]
pub(crate) struct ServiceApps {
    apps: BTreeMap<String, ServiceApp>,
}

impl ServiceApps {
    pub fn get(&self, client_id: &str) -> Option<&ServiceApp> {
        self.apps.get(client_id)
    }

    pub fn list(&self) -> Vec<ServiceAppInfo> {
        self.apps.values().map(|a| a.info.clone()).collect()
    }

    pub fn create(&mut self, spec: ServiceAppSpec, now: i64) -> Result<ServiceAppInfo, SimError> {
        if spec.name.trim().is_empty() {
            return Err(SimError::BadRequest("name is required".into()));
        }
        let client_id = match spec.client_id {
            Some(id) => {
                let valid = !id.is_empty()
                    && id.len() <= 100
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(SimError::BadRequest(
                        "client_id must be 1-100 chars of [A-Za-z0-9_-]".into(),
                    ));
                }
                if self.apps.contains_key(&id) {
                    return Err(SimError::Conflict(format!("client_id {id} already exists")));
                }
                id
            }
            None => loop {
                let id = okta_id("0oa", &mut rand::thread_rng());
                if !self.apps.contains_key(&id) {
                    break id;
                }
            },
        };
        let (jwks, jwks_uri, keys) = key_source(spec.jwks, spec.jwks_uri)?;
        let info = ServiceAppInfo {
            client_id: client_id.clone(),
            name: spec.name,
            jwks,
            jwks_uri,
            dpop_required: spec.dpop_required.unwrap_or(true),
            scopes: validate_scopes(spec.scopes.unwrap_or_default())?,
            admin_role: spec.admin_role.unwrap_or(false),
            created: rfc3339_millis(now),
        };
        self.apps.insert(
            client_id,
            ServiceApp {
                info: info.clone(),
                keys,
            },
        );
        Ok(info)
    }

    pub fn update(&mut self, client_id: &str, patch: ServiceAppPatch) -> Result<ServiceAppInfo, SimError> {
        let app = self
            .apps
            .get_mut(client_id)
            .ok_or_else(|| SimError::NotFound(format!("service app {client_id}")))?;
        // Validate first so a bad patch changes nothing.
        let new_keys = if patch.jwks.is_some() || patch.jwks_uri.is_some() {
            Some(key_source(patch.jwks, patch.jwks_uri)?)
        } else {
            None
        };
        let scopes = patch.scopes.map(validate_scopes).transpose()?;
        if let Some(name) = patch.name {
            if name.trim().is_empty() {
                return Err(SimError::BadRequest("name must not be empty".into()));
            }
            app.info.name = name;
        }
        if let Some((jwks, jwks_uri, keys)) = new_keys {
            app.info.jwks = jwks;
            app.info.jwks_uri = jwks_uri;
            app.keys = keys;
        }
        if let Some(scopes) = scopes {
            app.info.scopes = scopes;
        }
        if let Some(d) = patch.dpop_required {
            app.info.dpop_required = d;
        }
        if let Some(r) = patch.admin_role {
            app.info.admin_role = r;
        }
        Ok(app.info.clone())
    }

    pub fn delete(&mut self, client_id: &str) -> Result<(), SimError> {
        self.apps
            .remove(client_id)
            .map(|_| ())
            .ok_or_else(|| SimError::NotFound(format!("service app {client_id}")))
    }

    /// Replaces the cached keys of a `jwks_uri` app after a fetch.
    pub fn set_fetched_keys(&mut self, client_id: &str, keys: Vec<PublicKey>) {
        if let Some(app) = self.apps.get_mut(client_id) {
            app.keys = keys;
        }
    }
}

type KeySource = (Option<Value>, Option<String>, Vec<PublicKey>);

fn key_source(jwks: Option<Value>, jwks_uri: Option<String>) -> Result<KeySource, SimError> {
    match (jwks, jwks_uri) {
        (Some(jwks), None) => {
            let keys = parse_jwks(&jwks).map_err(SimError::BadRequest)?;
            Ok((Some(jwks), None, keys))
        }
        (None, Some(uri)) => {
            validate_jwks_uri(&uri)?;
            Ok((None, Some(uri), Vec::new()))
        }
        (Some(_), Some(_)) => Err(SimError::BadRequest(
            "give either jwks or jwks_uri, not both".into(),
        )),
        (None, None) => Err(SimError::BadRequest(
            "a public key (jwks) or a jwks_uri is required".into(),
        )),
    }
}

fn validate_scopes(scopes: Vec<String>) -> Result<Vec<String>, SimError> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes {
        if !KNOWN_SCOPES.contains(&s.as_str()) {
            return Err(SimError::BadRequest(format!("unknown scope {s}")));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Only loopback http (the Roster dev server) or https URLs, so the simulator never probes a LAN.
fn validate_jwks_uri(uri: &str) -> Result<(), SimError> {
    let ok = [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://localhost/",
        "https://",
    ]
    .iter()
    .any(|p| uri.starts_with(p));
    if ok {
        Ok(())
    } else {
        Err(SimError::BadRequest(
            "jwks_uri must be https:// or http://127.0.0.1 / http://localhost".into(),
        ))
    }
}

/// Parses `{"keys":[...]}`: RSA public keys only, unique kids, `use` sig, `alg` RS256 if given.
pub(crate) fn parse_jwks(jwks: &Value) -> Result<Vec<PublicKey>, String> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS must be an object with a 'keys' array")?;
    if keys.is_empty() {
        return Err("the JWKS has no keys".into());
    }
    let mut kids = HashSet::new();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let jwk: &Map<String, Value> = key.as_object().ok_or("each key must be a JSON object")?;
        if let Some(u) = jwk.get("use").and_then(Value::as_str) {
            if u != "sig" {
                return Err(format!("key use '{u}' is not 'sig'"));
            }
        }
        if let Some(alg) = jwk.get("alg").and_then(Value::as_str) {
            if alg != "RS256" {
                return Err(format!("key alg '{alg}' is not supported (only RS256)"));
            }
        }
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        if let Some(k) = &kid {
            if !kids.insert(k.clone()) {
                return Err(format!("duplicate kid '{k}'"));
            }
        }
        out.push(PublicKey {
            kid,
            key: rsa_key_from_jwk(jwk)?,
        });
    }
    Ok(out)
}

/// Fetches a JWKS over loopback http with a short timeout.
pub(crate) async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<Vec<PublicKey>, String> {
    let resp = http
        .get(uri)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .map_err(|e| format!("fetching {uri} failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("fetching {uri} returned {}", resp.status()));
    }
    let jwks: Value = resp
        .json()
        .await
        .map_err(|e| format!("{uri} did not return JSON: {e}"))?;
    parse_jwks(&jwks)
}

/// Picks the verification key like Okta: by `kid`, or the only key when no `kid` is given.
pub(crate) fn select_key<'a>(keys: &'a [PublicKey], kid: Option<&str>) -> Option<&'a PublicKey> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
}
