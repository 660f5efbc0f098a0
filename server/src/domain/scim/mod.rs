//! SCIM 2.0 push (RFC 7643/7644 as Okta uses it) into the same identity
//! store as the pull sync. Two halves:
//! - set-up, for admins: enable per directory, bearer tokens (hashes only),
//!   the request log, a SCIM-only directory;
//! - the protocol, for Okta: Users and Groups, with filters and PATCH
//!   parsed by `scim_v2` and mapped here.
//!
//! Writes go through the identity store's push writes: one transaction each,
//! version-checked, with history events and group counts like a sync's apply;
//! a deactivation revokes the person's sessions at once.

pub mod discovery;
pub mod error;
pub mod filter;
#[cfg(test)]
mod fuzz;
mod groups;
pub mod log;
pub mod patch;
pub mod resource;
mod setup;
mod users;

use super::{access::Actor, audit::AuditAction, Audit, DomainError, DomainResult};
use crate::{
    model::DirectoryId,
    okta::model::User as OktaUser,
    store::{
        GroupMembers, NewScimToken, PushMode, PushOutcome, PushedGroup, PushedUser, ScimTokenRow,
        ScimUserRow, StagedGroup, Store,
    },
    sync::normalize,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use error::{ScimError, ScimResult};
use filter::Resource;
use rand::RngCore;
use resource::{Projection, UserDocument, GROUP_URN, USER_URN};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use groups::{GroupDocument, MAX_GROUP_MEMBERS};
pub use log::{RequestLog, ScimRequest};
pub use setup::TOKEN_PREFIX;

/// Default and largest page of a list.
const DEFAULT_COUNT: i64 = 100;
/// How often a PATCH re-reads and retries when another write got in between.
const PATCH_ATTEMPTS: usize = 8;

/// A SCIM token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScimToken {
    pub id: String,
    pub name: String,
    /// The first characters, to tell tokens apart.
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new token: the secret is in this answer and nowhere else, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IssuedScimToken {
    pub token: ScimToken,
    pub secret: String,
}

/// One value to enter in Okta's Provisioning settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OktaSetting {
    pub label: String,
    pub value: String,
}

/// A directory's SCIM set-up, as every front door shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScimSettings {
    pub directory_id: DirectoryId,
    pub directory_name: String,
    pub enabled: bool,
    /// The pull sync also runs (an Okta API Services app is connected).
    pub pull_enabled: bool,
    /// Okta's "SCIM connector base URL".
    pub base_url: String,
    /// Okta's Provisioning settings, in Okta's words.
    pub okta_settings: Vec<OktaSetting>,
    pub tokens: Vec<ScimToken>,
}

/// A request that presented a valid token for an enabled directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimClient {
    pub directory_id: DirectoryId,
    pub token_id: String,
    /// `{public_url}/scim/v2/{directory_id}`.
    pub base_url: String,
}

/// `startIndex`, `count`, `filter`, `attributes`, `excludedAttributes`.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ListParams {
    /// A SearchRequest body (`POST …/.search`).
    pub fn from_search(body: &Value) -> ScimResult<Self> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax(
                "The body must be a SearchRequest object.",
            ));
        };
        let joined = |key: &str| -> ScimResult<Option<String>> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| ScimError::invalid_value(format!("{key} must be a list of names.")))?
                        .join(","),
                )),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{key} must be a list of names."
                ))),
            }
        };
        let int = |key: &str| -> ScimResult<Option<i64>> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{key} must be an integer."))),
            }
        };
        Ok(Self {
            filter: map.get("filter").and_then(Value::as_str).map(str::to_owned),
            start_index: int("startIndex")?,
            count: int("count")?,
            attributes: joined("attributes")?,
            excluded_attributes: joined("excludedAttributes")?,
        })
    }

    /// The `attributes` / `excludedAttributes` selection, for resources of `urn`.
    fn projection(&self, urn: &str) -> ScimResult<Projection> {
        Projection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
            urn,
        )
    }

    fn page(&self) -> (i64, i64) {
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self
            .count
            .unwrap_or(DEFAULT_COUNT)
            .clamp(0, discovery::MAX_RESULTS);
        (start, count)
    }
}

/// An answer with the resource and its version (for `ETag`).
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub resource: Value,
    pub version: i64,
    pub created: bool,
    pub location: String,
}

#[derive(Clone)]
pub struct ScimService {
    /// Reads, tokens and the log; every identity write goes through `identities`.
    store: Store,
    audit: Audit,
    identities: super::identities::Identities,
    public_url: String,
    pub log: RequestLog,
}

/// An Okta user id (`00u` and 17 more): a push that names one as its
/// externalId is the same person a pull sees.
fn is_okta_id(raw: &str, kind: &str) -> bool {
    raw.len() == 20 && raw.starts_with(kind) && raw.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn minted_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl ScimService {
    pub fn new(
        store: Store,
        audit: Audit,
        identities: super::identities::Identities,
        public_url: String,
    ) -> Self {
        Self {
            log: RequestLog::new(store.clone()),
            store,
            audit,
            identities,
            public_url,
        }
    }

    pub fn base_url(&self, id: &DirectoryId) -> String {
        format!("{}/scim/v2/{id}", self.public_url.trim_end_matches('/'))
    }

    async fn directory(&self, id: &DirectoryId) -> DomainResult<crate::store::Directory> {
        match self.store.directory(id.as_str()).await? {
            Some(d) if d.state == crate::model::DirectoryState::Active => Ok(d),
            _ => Err(DomainError::not_found("The directory")),
        }
    }

    /// `POST /.search` at the root: users, then groups.
    pub async fn search_all(&self, client: &ScimClient, params: &ListParams) -> ScimResult<Value> {
        let everything = ListParams {
            start_index: None,
            count: Some(discovery::MAX_RESULTS),
            ..params.clone()
        };
        let users = self.list_users(client, &everything);
        let groups = self.list_groups(client, &everything);
        let resources_of = |v: Value| -> Vec<Value> {
            v.get("Resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut all = resources_of(users.await?);
        all.extend(resources_of(groups.await?));
        let total = all.len() as i64;
        let (start, count) = params.page();
        let page: Vec<Value> = all
            .into_iter()
            .skip((start - 1) as usize)
            .take(count as usize)
            .collect();
        Ok(discovery::page(page, total, start))
    }
}

fn unexpected(outcome: PushOutcome) -> ScimError {
    tracing::error!(?outcome, "unexpected SCIM write outcome");
    ScimError::internal()
}

fn clip(raw: &str) -> String {
    raw.chars().take(80).collect()
}
