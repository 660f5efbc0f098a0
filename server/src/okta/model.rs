//! The parts of Okta's JSON that Roster reads. Profiles stay as JSON maps:
//! every non-empty attribute becomes a user trait.

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub profile: Map<String, Value>,
}

impl User {
    pub fn profile_str(&self, key: &str) -> Option<&str> {
        self.profile
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The profile without null or empty values.
    pub fn traits(&self) -> Map<String, Value> {
        self.trait_entries()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The profile's attributes that are traits, in key order, borrowed.
    pub fn trait_entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.profile.iter().filter(|(_, v)| {
            !matches!(v, Value::Null) && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty())
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Embedded<T> {
    #[serde(alias = "user", alias = "group")]
    pub inner: T,
}

/// `GET /api/v1/apps/{id}/users?expand=user`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppUser {
    pub id: String,
    #[serde(rename = "_embedded")]
    pub embedded: Option<Embedded<User>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupProfile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    pub profile: GroupProfile,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub last_membership_updated: Option<String>,
}

/// `GET /api/v1/apps/{id}/groups?expand=group`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppGroup {
    pub id: String,
    #[serde(rename = "_embedded")]
    pub embedded: Option<Embedded<Group>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OAuthClient {
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCredentials {
    #[serde(default)]
    pub oauth_client: Option<OAuthClient>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sign_on_mode: String,
    #[serde(default)]
    pub credentials: Option<AppCredentials>,
}

impl App {
    pub fn oauth_client_id(&self) -> Option<&str> {
        self.credentials
            .as_ref()?
            .oauth_client
            .as_ref()?
            .client_id
            .as_deref()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
}
