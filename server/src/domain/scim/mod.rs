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
pub mod log;
pub mod patch;
pub mod resource;

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
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use log::{RequestLog, ScimRequest};

/// SCIM bearer tokens start with this, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "rscim_";
const SHOWN_PREFIX_CHARS: usize = 14;
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

fn token_of(row: ScimTokenRow) -> ScimToken {
    ScimToken {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        created_by: row.created_by,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

fn hash_secret(secret: &str) -> String {
    crate::domain::instance::hash_token(secret)
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

    // ---- set-up -------------------------------------------------------

    pub async fn settings(&self, id: &DirectoryId) -> DomainResult<ScimSettings> {
        let d = self.directory(id).await?;
        let base_url = self.base_url(id);
        let tokens = self
            .store
            .scim_tokens(id.as_str())
            .await?
            .into_iter()
            .map(token_of)
            .collect();
        let setting = |label: &str, value: &str| OktaSetting {
            label: label.to_owned(),
            value: value.to_owned(),
        };
        Ok(ScimSettings {
            directory_id: id.clone(),
            directory_name: d.name,
            enabled: d.scim_enabled,
            pull_enabled: d.pull_enabled,
            okta_settings: vec![
                setting("Provisioning (General tab)", "SCIM"),
                setting("SCIM connector base URL", &base_url),
                setting("Unique identifier field for users", "userName"),
                setting(
                    "Supported provisioning actions",
                    "Import New Users and Profile Updates, Push New Users, Push Profile Updates, Push Groups",
                ),
                setting("Authentication Mode", "HTTP Header"),
                setting("Authorization", "Bearer <a token generated below>"),
                setting(
                    "To App (Provisioning tab)",
                    "Enable Create Users, Update User Attributes and Deactivate Users",
                ),
            ],
            base_url,
            tokens,
        })
    }

    pub async fn set_enabled(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        enabled: bool,
    ) -> DomainResult<ScimSettings> {
        actor.require_write()?;
        let d = self.directory(id).await?;
        if !enabled && !d.pull_enabled {
            return Err(DomainError::invalid(
                "This directory only receives SCIM pushes; delete it instead of turning SCIM off.",
            ));
        }
        self.store.set_scim_enabled(id.as_str(), enabled).await?;
        let action = if enabled {
            AuditAction::ScimEnabled
        } else {
            AuditAction::ScimDisabled
        };
        self.audit
            .record(
                actor,
                action,
                Some(id.as_str()),
                serde_json::json!({"name": d.name}),
            )
            .await;
        self.settings(id).await
    }

    /// A directory fed only by SCIM push: no Okta API app, no pull.
    pub async fn create_push_directory(&self, actor: &Actor, name: &str) -> DomainResult<DirectoryId> {
        actor.require_write()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(DomainError::invalid(
                "Name the directory (1 to 80 characters), e.g. “Okta (SCIM)”.",
            ));
        }
        let id = self.store.insert_push_directory(name).await?;
        let id = DirectoryId::parse(&id).map_err(|e| DomainError::internal("scim", e))?;
        self.audit
            .record(
                actor,
                AuditAction::DirectoryCreated,
                Some(id.as_str()),
                serde_json::json!({"name": name, "kind": "scim"}),
            )
            .await;
        Ok(id)
    }

    pub async fn create_token(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        name: &str,
    ) -> DomainResult<IssuedScimToken> {
        actor.require_write()?;
        self.directory(id).await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "Give the token a name of 1 to 80 characters that says where it is used (e.g. “Okta production”).",
            ));
        }
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
        let prefix = format!("{}…", &secret[..SHOWN_PREFIX_CHARS]);
        let token_id = uuid::Uuid::new_v4().to_string();
        self.store
            .insert_scim_token(&NewScimToken {
                id: &token_id,
                directory_id: id.as_str(),
                name,
                token_hash: &hash_secret(&secret),
                prefix: &prefix,
                created_by: &actor.name,
            })
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::ScimTokenCreated,
                Some(id.as_str()),
                serde_json::json!({"token_id": token_id, "name": name}),
            )
            .await;
        let token = self
            .store
            .scim_tokens(id.as_str())
            .await?
            .into_iter()
            .find(|t| t.id == token_id)
            .map(token_of)
            .ok_or_else(|| DomainError::internal("scim", "the new SCIM token is missing"))?;
        Ok(IssuedScimToken { token, secret })
    }

    pub async fn revoke_token(&self, actor: &Actor, id: &DirectoryId, token_id: &str) -> DomainResult<()> {
        actor.require_write()?;
        self.directory(id).await?;
        if !self.store.revoke_scim_token(id.as_str(), token_id).await? {
            return Err(DomainError::not_found(
                "The SCIM token (or it was already revoked)",
            ));
        }
        self.audit
            .record(
                actor,
                AuditAction::ScimTokenRevoked,
                Some(id.as_str()),
                serde_json::json!({"token_id": token_id}),
            )
            .await;
        Ok(())
    }

    /// The newest logged requests, newest first.
    pub async fn requests(&self, id: &DirectoryId, limit: i64) -> DomainResult<Vec<ScimRequest>> {
        self.directory(id).await?;
        self.log.flush().await;
        Ok(self
            .store
            .scim_requests(id.as_str(), limit.clamp(1, crate::store::SCIM_LOG_KEEP))
            .await?
            .into_iter()
            .map(ScimRequest::from)
            .collect())
    }

    // ---- the protocol -------------------------------------------------

    /// Checks the bearer token of a request to a directory's endpoint.
    pub async fn authenticate(&self, directory: &str, bearer: Option<&str>) -> ScimResult<ScimClient> {
        let Ok(id) = DirectoryId::parse(directory) else {
            return Err(ScimError::not_found(format!(
                "There is no SCIM endpoint at directory “{directory}”."
            )));
        };
        let Some(secret) = bearer.map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(ScimError::unauthorized(
                "Send the directory's SCIM token as “Authorization: Bearer <token>” (Okta: Authentication Mode HTTP Header).",
            ));
        };
        let token = self
            .store
            .use_scim_token(id.as_str(), &hash_secret(secret))
            .await?;
        let Some(token) = token else {
            return Err(ScimError::unauthorized(
                "This token is not valid for this directory: it is wrong, revoked, or belongs to another directory. Generate one on the directory's SCIM page.",
            ));
        };
        let enabled = match self.store.directory(id.as_str()).await? {
            Some(d) => d.state == crate::model::DirectoryState::Active && d.scim_enabled,
            None => false,
        };
        if !enabled {
            return Err(ScimError::forbidden(
                "SCIM is turned off for this directory; turn it on from the directory's SCIM page.",
            ));
        }
        Ok(ScimClient {
            base_url: self.base_url(&id),
            directory_id: id,
            token_id: token.id,
        })
    }

    pub async fn list_users(&self, client: &ScimClient, params: &ListParams) -> ScimResult<Value> {
        let condition = filter::parse(params.filter.as_deref().unwrap_or(""), Resource::User)?;
        let projection = Projection::parse(
            params.attributes.as_deref(),
            params.excluded_attributes.as_deref(),
            USER_URN,
        )?;
        let (start, count) = params.page();
        let (rows, total) = self
            .store
            .scim_users(client.directory_id.as_str(), &condition, start - 1, count)
            .await?;
        let resources = rows
            .iter()
            .map(|r| projection.apply(resource::render_user(r, &client.base_url)))
            .collect();
        Ok(discovery::page(resources, total, start))
    }

    async fn user_row(&self, client: &ScimClient, id: &str) -> ScimResult<ScimUserRow> {
        self.store
            .scim_user(client.directory_id.as_str(), id)
            .await?
            .ok_or_else(|| {
                ScimError::not_found(format!(
                    "There is no user with id “{}” in this directory.",
                    clip(id)
                ))
            })
    }

    pub async fn get_user(&self, client: &ScimClient, id: &str, params: &ListParams) -> ScimResult<Written> {
        let projection = Projection::parse(
            params.attributes.as_deref(),
            params.excluded_attributes.as_deref(),
            USER_URN,
        )?;
        let row = self.user_row(client, id).await?;
        Ok(Written {
            resource: projection.apply(resource::render_user(&row, &client.base_url)),
            version: row.version,
            created: false,
            location: resource::location(&client.base_url, "Users", id),
        })
    }

    fn staged(&self, key: &str, doc: &UserDocument) -> ScimResult<crate::store::StagedUser> {
        let user = OktaUser {
            id: key.to_owned(),
            status: "ACTIVE".into(),
            last_updated: None,
            profile: doc.profile.clone(),
        };
        let mut staged = normalize::stage_user(&user).ok_or_else(ScimError::internal)?;
        if !doc.active {
            staged.status = "DEPROVISIONED".into();
        }
        Ok(staged)
    }

    async fn write_user(
        &self,
        client: &ScimClient,
        key: &str,
        keyed_by: &str,
        doc: &UserDocument,
        mode: PushMode,
    ) -> ScimResult<PushOutcome> {
        let staged = self.staged(key, doc)?;
        let resource = serde_json::to_string(&doc.stored).map_err(|_| ScimError::internal())?;
        let outcome = self
            .identities
            .write_pushed_user(
                &client.directory_id,
                &PushedUser {
                    staged: &staged,
                    external_id: doc.external_id.as_deref(),
                    resource: &resource,
                    keyed_by,
                    active: doc.active,
                },
                mode,
                "scim",
            )
            .await?;
        Ok(outcome)
    }

    async fn written_user(&self, client: &ScimClient, key: &str, created: bool) -> ScimResult<Written> {
        let row = self.user_row(client, key).await?;
        Ok(Written {
            resource: resource::render_user(&row, &client.base_url),
            version: row.version,
            created,
            location: resource::location(&client.base_url, "Users", key),
        })
    }

    pub async fn create_user(&self, client: &ScimClient, body: &Value) -> ScimResult<Written> {
        let doc = UserDocument::read(body)?;
        let (key, keyed_by) = match doc.external_id.as_deref() {
            Some(e) if is_okta_id(e, "00u") => (e.to_owned(), "okta"),
            _ => (minted_id(), "roster"),
        };
        match self
            .write_user(client, &key, keyed_by, &doc, PushMode::Create)
            .await?
        {
            PushOutcome::Written { .. } => self.written_user(client, &key, true).await,
            PushOutcome::Exists => Err(ScimError::uniqueness(format!(
                "A user with externalId “{key}” already exists; Okta should match it by userName first."
            ))),
            PushOutcome::NameTaken => Err(ScimError::uniqueness(format!(
                "A user with userName “{}” already exists in this directory.",
                doc.user_name
            ))),
            other => Err(unexpected(other)),
        }
    }

    pub async fn replace_user(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Written> {
        let row = self.user_row(client, id).await?;
        let doc = UserDocument::read(body)?;
        let mode = PushMode::Replace {
            expected_version: if_match,
        };
        let keyed_by = row.keyed_by.clone();
        match self.write_user(client, id, &keyed_by, &doc, mode).await? {
            PushOutcome::Written { .. } => self.written_user(client, id, false).await,
            outcome => Err(self.user_refusal(outcome, &doc)),
        }
    }

    fn user_refusal(&self, outcome: PushOutcome, doc: &UserDocument) -> ScimError {
        match outcome {
            PushOutcome::NameTaken => {
                ScimError::uniqueness(format!("Another user already has userName “{}”.", doc.user_name))
            }
            PushOutcome::VersionMismatch { current } => ScimError::version_mismatch(format!(
                "The user changed since that version; it is now {}. Read it again and retry.",
                resource::etag(current)
            )),
            PushOutcome::Missing => ScimError::not_found("The user was deleted meanwhile."),
            other => unexpected(other),
        }
    }

    /// Applies a PATCH to the current document and writes it if the user
    /// has not changed since it was read; otherwise reads again (or, with
    /// `If-Match`, answers 412).
    pub async fn patch_user(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Written> {
        let patch = patch::read(body)?;
        for _ in 0..PATCH_ATTEMPTS {
            let row = self.user_row(client, id).await?;
            if let Some(v) = if_match {
                if v != row.version {
                    return Err(self.user_refusal(
                        PushOutcome::VersionMismatch { current: row.version },
                        &dummy_doc(),
                    ));
                }
            }
            let Value::Object(mut current) = resource::render_user(&row, &client.base_url) else {
                return Err(ScimError::internal());
            };
            current.remove("meta");
            patch::apply_to_user(&mut current, &patch)?;
            let doc = UserDocument::read(&Value::Object(current))?;
            let mode = PushMode::Replace {
                expected_version: Some(row.version),
            };
            match self.write_user(client, id, &row.keyed_by, &doc, mode).await? {
                PushOutcome::Written { .. } => return self.written_user(client, id, false).await,
                PushOutcome::VersionMismatch { .. } if if_match.is_none() => continue,
                outcome => return Err(self.user_refusal(outcome, &doc)),
            }
        }
        Err(ScimError::version_mismatch(
            "The user kept changing while this PATCH was applied; retry it.",
        ))
    }

    /// Deletes a user for SCIM (RFC 7644 §3.6: later reads answer 404); its
    /// history stays on the user page.
    pub async fn delete_user(&self, client: &ScimClient, id: &str) -> ScimResult<()> {
        let row = self.user_row(client, id).await?;
        let erased = self
            .identities
            .erase_pushed_user(&client.directory_id, id, row.deleted_at.is_none(), "scim")
            .await?;
        if !erased {
            return Err(ScimError::not_found(format!(
                "There is no user with id “{}”.",
                clip(id)
            )));
        }
        Ok(())
    }

    // ---- groups -------------------------------------------------------

    pub async fn list_groups(&self, client: &ScimClient, params: &ListParams) -> ScimResult<Value> {
        let condition = filter::parse(params.filter.as_deref().unwrap_or(""), Resource::Group)?;
        let projection = Projection::parse(
            params.attributes.as_deref(),
            params.excluded_attributes.as_deref(),
            GROUP_URN,
        )?;
        let (start, count) = params.page();
        let (rows, total) = self
            .store
            .scim_groups(client.directory_id.as_str(), &condition, start - 1, count)
            .await?;
        let resources = self.render_groups(client, &rows, &projection).await?;
        Ok(discovery::page(resources, total, start))
    }

    async fn render_groups(
        &self,
        client: &ScimClient,
        rows: &[crate::store::ScimGroupRow],
        projection: &Projection,
    ) -> ScimResult<Vec<Value>> {
        let members = if projection.excludes("members") {
            None
        } else {
            let ids: Vec<String> = rows.iter().map(|r| r.okta_id.clone()).collect();
            Some(
                self.store
                    .scim_members(client.directory_id.as_str(), &ids)
                    .await?,
            )
        };
        Ok(rows
            .iter()
            .map(|row| {
                let refs: Option<Vec<resource::MemberRef<'_>>> = members.as_ref().map(|all| {
                    all.iter()
                        .filter(|m| m.group_id == row.okta_id)
                        .map(|m| resource::MemberRef { id: &m.user_id })
                        .collect()
                });
                projection.apply(resource::render_group(row, refs.as_deref(), &client.base_url))
            })
            .collect())
    }

    async fn group_row(&self, client: &ScimClient, id: &str) -> ScimResult<crate::store::ScimGroupRow> {
        self.store
            .scim_group(client.directory_id.as_str(), id)
            .await?
            .ok_or_else(|| {
                ScimError::not_found(format!(
                    "There is no group with id “{}” in this directory.",
                    clip(id)
                ))
            })
    }

    pub async fn get_group(&self, client: &ScimClient, id: &str, params: &ListParams) -> ScimResult<Written> {
        let projection = Projection::parse(
            params.attributes.as_deref(),
            params.excluded_attributes.as_deref(),
            GROUP_URN,
        )?;
        let row = self.group_row(client, id).await?;
        let resource = self
            .render_groups(client, std::slice::from_ref(&row), &projection)
            .await?
            .pop()
            .ok_or_else(ScimError::internal)?;
        Ok(Written {
            resource,
            version: row.version,
            created: false,
            location: resource::location(&client.base_url, "Groups", id),
        })
    }

    async fn written_group(&self, client: &ScimClient, id: &str, created: bool) -> ScimResult<Written> {
        let mut w = self.get_group(client, id, &ListParams::default()).await?;
        w.created = created;
        Ok(w)
    }

    pub async fn create_group(&self, client: &ScimClient, body: &Value) -> ScimResult<Written> {
        let group = GroupDocument::read(body)?;
        let (key, keyed_by) = match group.external_id.as_deref() {
            Some(e) if is_okta_id(e, "00g") => (e.to_owned(), "okta"),
            _ => (minted_id(), "roster"),
        };
        let members = group.members.clone().unwrap_or_default();
        let outcome = self
            .write_group(
                client,
                &key,
                keyed_by,
                &group,
                GroupMembers::Replace(&members),
                PushMode::Create,
                None,
            )
            .await?;
        match outcome {
            PushOutcome::Written { .. } => self.written_group(client, &key, true).await,
            other => Err(group_refusal(other, &group.display_name)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_group(
        &self,
        client: &ScimClient,
        key: &str,
        keyed_by: &str,
        group: &GroupDocument,
        members: GroupMembers<'_>,
        mode: PushMode,
        current: Option<&crate::store::ScimGroupRow>,
    ) -> ScimResult<PushOutcome> {
        let staged = stage_group(key, &group.display_name, current);
        Ok(self
            .identities
            .write_pushed_group(
                &client.directory_id,
                &PushedGroup {
                    staged: &staged,
                    external_id: group.external_id.as_deref(),
                    keyed_by,
                    members,
                },
                mode,
            )
            .await?)
    }

    pub async fn replace_group(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Written> {
        let row = self.group_row(client, id).await?;
        let group = GroupDocument::read(body)?;
        let members = group.members.clone().unwrap_or_default();
        let keyed_by = if row.via_pull && is_okta_id(&row.okta_id, "00g") {
            "okta"
        } else {
            "roster"
        };
        let mode = PushMode::Replace {
            expected_version: if_match,
        };
        match self
            .write_group(
                client,
                id,
                keyed_by,
                &group,
                GroupMembers::Replace(&members),
                mode,
                Some(&row),
            )
            .await?
        {
            PushOutcome::Written { .. } => self.written_group(client, id, false).await,
            other => Err(group_refusal(other, &group.display_name)),
        }
    }

    pub async fn patch_group(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Option<Written>> {
        let patch = patch::read(body)?;
        let row = self.group_row(client, id).await?;
        let resolved = patch::resolve_group(&patch, id)?;
        let group = GroupDocument {
            display_name: resolved.display_name.clone().unwrap_or_else(|| row.name.clone()),
            external_id: match &resolved.external_id {
                Some(e) => e.clone(),
                None => row.external_id.clone(),
            },
            members: None,
        };
        let (add, remove, replace): (Vec<String>, Vec<String>, Option<Vec<String>>) = match &resolved.members
        {
            patch::MemberPlan::Delta { add, remove } => (
                add.iter().cloned().collect(),
                remove.iter().cloned().collect(),
                None,
            ),
            patch::MemberPlan::Replace(set) => (Vec::new(), Vec::new(), Some(set.iter().cloned().collect())),
        };
        let members = match &replace {
            Some(set) => GroupMembers::Replace(set),
            None if add.is_empty() && remove.is_empty() => GroupMembers::Keep,
            None => GroupMembers::Delta {
                add: &add,
                remove: &remove,
            },
        };
        let keyed_by = if is_okta_id(&row.okta_id, "00g") {
            "okta"
        } else {
            "roster"
        };
        let mode = PushMode::Replace {
            expected_version: if_match,
        };
        match self
            .write_group(client, id, keyed_by, &group, members, mode, Some(&row))
            .await?
        {
            PushOutcome::Written { .. } => Ok(Some(self.written_group(client, id, false).await?)),
            other => Err(group_refusal(other, &group.display_name)),
        }
    }

    pub async fn delete_group(&self, client: &ScimClient, id: &str) -> ScimResult<()> {
        self.group_row(client, id).await?;
        if self
            .identities
            .remove_pushed_group(&client.directory_id, id)
            .await?
        {
            Ok(())
        } else {
            Err(ScimError::not_found("The group was deleted meanwhile."))
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

fn dummy_doc() -> UserDocument {
    UserDocument {
        user_name: String::new(),
        external_id: None,
        active: true,
        email: None,
        given_name: None,
        family_name: None,
        display_name: None,
        profile: Map::new(),
        stored: Map::new(),
    }
}

fn unexpected(outcome: PushOutcome) -> ScimError {
    tracing::error!(?outcome, "unexpected SCIM write outcome");
    ScimError::internal()
}

fn group_refusal(outcome: PushOutcome, name: &str) -> ScimError {
    match outcome {
        PushOutcome::NameTaken => ScimError::uniqueness(format!(
            "A group named “{name}” already exists in this directory; Okta should link to it (Push Groups → link)."
        )),
        PushOutcome::Exists => ScimError::uniqueness("A group with that externalId already exists."),
        PushOutcome::UnknownMembers(ids) => ScimError::invalid_value(format!(
            "{} member(s) are not users of this directory (first: “{}”); push the users first. Nothing was changed.",
            ids.len(),
            ids.first().map(|s| clip(s)).unwrap_or_default()
        )),
        PushOutcome::VersionMismatch { current } => ScimError::version_mismatch(format!(
            "The group changed since that version; it is now {}.",
            resource::etag(current)
        )),
        PushOutcome::Missing => ScimError::not_found("The group was deleted meanwhile."),
        PushOutcome::Written { .. } => ScimError::internal(),
    }
}

fn stage_group(key: &str, name: &str, current: Option<&crate::store::ScimGroupRow>) -> StagedGroup {
    normalize::stage_group(&crate::okta::model::Group {
        id: key.to_owned(),
        kind: current.map_or_else(|| "OKTA_GROUP".to_owned(), |c| c.kind.clone()),
        profile: crate::okta::model::GroupProfile {
            name: name.to_owned(),
            description: current.and_then(|c| c.description.clone()),
        },
        last_updated: None,
        last_membership_updated: None,
    })
}

fn clip(raw: &str) -> String {
    raw.chars().take(80).collect()
}

/// A pushed Group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDocument {
    pub display_name: String,
    pub external_id: Option<String>,
    /// `None` when the body has no `members`.
    pub members: Option<Vec<String>>,
}

/// Most members one Group body may list.
pub const MAX_GROUP_MEMBERS: usize = 100_000;

impl GroupDocument {
    pub fn read(body: &Value) -> ScimResult<Self> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax(
                "The body must be a JSON object (a SCIM Group).",
            ));
        };
        let get = |name: &str| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let display_name = get("displayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::invalid_value("displayName is required: the group's name."))?
            .to_owned();
        let external_id = match get("externalId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
            Some(_) => return Err(ScimError::invalid_value("externalId must be a string.")),
        };
        let members = match get("members") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                if items.len() > MAX_GROUP_MEMBERS {
                    return Err(ScimError::too_many(format!(
                        "{} members in one request; send at most {MAX_GROUP_MEMBERS}.",
                        items.len()
                    )));
                }
                Some(
                    items
                        .iter()
                        .map(|m| {
                            m.get("value")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                                .ok_or_else(|| {
                                    ScimError::invalid_value("Each member needs a “value”: the user's id.")
                                })
                        })
                        .collect::<ScimResult<Vec<_>>>()?,
                )
            }
            Some(_) => return Err(ScimError::invalid_value("members must be a list.")),
        };
        Ok(Self {
            display_name,
            external_id,
            members,
        })
    }
}
