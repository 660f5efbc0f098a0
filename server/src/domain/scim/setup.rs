//! SCIM set-up for admins: on/off, SCIM-only directories, bearer tokens
//! (hashes only) and the request log.

use super::*;

/// SCIM bearer tokens start with this, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "rscim_";
const SHOWN_PREFIX_CHARS: usize = 14;

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

pub(super) fn hash_secret(secret: &str) -> String {
    crate::domain::instance::hash_token(secret)
}

impl ScimService {
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
}
