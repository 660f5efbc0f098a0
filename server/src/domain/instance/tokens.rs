//! API tokens: random secrets shown once, stored as a SHA-256 hash, scoped
//! read-only or read-write, revocable. The REST API accepts nothing else.

use super::setup_links::hash_token;
use crate::{
    domain::{
        access::{Actor, ActorKind},
        audit::{Audit, AuditAction},
        DomainError, DomainResult,
    },
    model::{TokenId, TokenScope},
    store::{ApiTokenRow, NewApiToken, Store},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Serialize;
use utoipa::ToSchema;

/// Every token starts with this, so secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "roster_";
/// Characters of the secret kept in clear to tell tokens apart.
const SHOWN_PREFIX_CHARS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub scope: TokenScope,
    /// The first characters of the secret (`roster_AbC…`).
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just created: the only time its secret exists outside the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// Shown exactly once; Roster keeps only its hash.
    pub secret: String,
}

fn token_of(row: ApiTokenRow) -> DomainResult<ApiToken> {
    Ok(ApiToken {
        id: TokenId::parse(&row.id)?,
        name: row.name,
        scope: row.scope,
        prefix: row.prefix,
        created_by: row.created_by,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
}

#[derive(Clone)]
pub struct Tokens {
    store: Store,
    audit: Audit,
}

impl Tokens {
    pub fn new(store: Store, audit: Audit) -> Self {
        Self { store, audit }
    }

    /// A new token, named after who asked. A token made with another token
    /// is its child: revoking the parent revokes it too.
    pub async fn create(&self, actor: &Actor, name: &str, scope: TokenScope) -> DomainResult<IssuedToken> {
        actor.require_write()?;
        let parent = match &actor.kind {
            ActorKind::Token { id, .. } => Some(id.clone()),
            _ => None,
        };
        let created_by = match &actor.kind {
            ActorKind::Token { .. } => format!("token “{}”", actor.name),
            _ => actor.name.clone(),
        };
        let issued = self
            .create_under(name, scope, &created_by, parent.as_ref())
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::ApiTokenCreated,
                Some(issued.token.id.as_str()),
                serde_json::json!({"name": issued.token.name, "scope": scope.as_str()}),
            )
            .await;
        Ok(issued)
    }

    async fn create_under(
        &self,
        name: &str,
        scope: TokenScope,
        created_by: &str,
        parent: Option<&TokenId>,
    ) -> DomainResult<IssuedToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "Give the token a name of 1 to 80 characters that says where it is used (e.g. “ci-deploy”).",
            ));
        }
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
        let prefix = format!("{}…", &secret[..SHOWN_PREFIX_CHARS]);
        let id = TokenId::new();
        self.store
            .insert_api_token(&NewApiToken {
                id: id.as_str(),
                name,
                scope,
                token_hash: &hash_token(&secret),
                prefix: &prefix,
                created_by,
                parent_id: parent.map(TokenId::as_str),
            })
            .await?;
        tracing::info!(token_id = %id, name, scope = scope.as_str(), created_by, "API token created");
        let token = self
            .store
            .api_token(id.as_str())
            .await?
            .map(token_of)
            .transpose()?
            .ok_or_else(|| DomainError::internal("tokens", "a created token was not found"))?;
        Ok(IssuedToken { token, secret })
    }

    pub async fn list(&self) -> DomainResult<Vec<ApiToken>> {
        self.store.api_tokens().await?.into_iter().map(token_of).collect()
    }

    /// Revokes a token and the tokens made with it; they stop working at once.
    pub async fn revoke(&self, actor: &Actor, id: &TokenId) -> DomainResult<()> {
        actor.require_write()?;
        if self.store.revoke_api_token(id.as_str()).await? {
            tracing::info!(token_id = %id, "API token revoked, with any tokens made with it");
            self.audit
                .record(
                    actor,
                    AuditAction::ApiTokenRevoked,
                    Some(id.as_str()),
                    serde_json::json!({}),
                )
                .await;
            Ok(())
        } else {
            Err(DomainError::not_found("The token (or it was already revoked)"))
        }
    }

    /// The token a bearer secret names, if it is one and not revoked.
    pub async fn authenticate(&self, secret: &str) -> DomainResult<Option<ApiToken>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.store
            .use_api_token(&hash_token(secret))
            .await?
            .map(token_of)
            .transpose()
    }
}
