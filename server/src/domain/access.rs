//! Who is asking: every mutation of the core takes an [`Actor`], checks it
//! here, and names it in the audit log. Front doors only say who the caller
//! is; what that caller may do is decided in this module.

use super::{DomainError, DomainResult};
use crate::model::{Role, TokenId, TokenScope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorKind {
    /// A person signed in to the portal.
    Person { admin_id: uuid::Uuid, role: Role },
    /// A REST API token (the CLI uses these too).
    Token { id: TokenId, scope: TokenScope },
    /// Someone with a shell on the host (`roster admin …`).
    Host,
    /// Roster itself: the scheduler, a sync's revocations.
    System,
    /// Not signed in (a failed sign-in, a setup link).
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// For the audit log: a person's name or email, a token's name.
    pub name: String,
    /// The client address, when the request came over HTTP.
    pub ip: Option<String>,
}

impl Actor {
    pub fn person(admin_id: uuid::Uuid, role: Role, name: impl Into<String>, ip: Option<String>) -> Self {
        Self {
            kind: ActorKind::Person { admin_id, role },
            name: name.into(),
            ip,
        }
    }

    pub fn token(id: TokenId, scope: TokenScope, name: impl Into<String>, ip: Option<String>) -> Self {
        Self {
            kind: ActorKind::Token { id, scope },
            name: name.into(),
            ip,
        }
    }

    pub fn host() -> Self {
        Self {
            kind: ActorKind::Host,
            name: "host command line".into(),
            ip: None,
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            name: "Roster".into(),
            ip: None,
        }
    }

    pub fn anonymous(ip: Option<String>) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            name: "anonymous".into(),
            ip,
        }
    }

    /// Whether this actor may change anything.
    pub fn may_write(&self) -> bool {
        match &self.kind {
            ActorKind::Person { role, .. } => *role == Role::Admin,
            ActorKind::Token { scope, .. } => scope.allows_writes(),
            ActorKind::Host | ActorKind::System => true,
            ActorKind::Anonymous => false,
        }
    }

    /// Refuses a read-only caller, in words that say why and what to do.
    pub fn require_write(&self) -> DomainResult<()> {
        if self.may_write() {
            return Ok(());
        }
        let (message, hint) = match &self.kind {
            ActorKind::Person { .. } => (
                "You have read-only access to Roster.",
                "Ask an administrator to add you to one of Roster's admin groups in Okta, then sign in again.",
            ),
            ActorKind::Token { .. } => (
                "This API token is read-only.",
                "Create a read-write token (Settings → API tokens) for changes.",
            ),
            _ => ("Sign in first.", "Open Roster and sign in."),
        };
        Err(DomainError::forbidden(message).with_hint(hint))
    }

    pub fn kind_str(&self) -> &'static str {
        match &self.kind {
            ActorKind::Person {
                role: Role::Admin, ..
            } => "admin",
            ActorKind::Person {
                role: Role::Viewer, ..
            } => "viewer",
            ActorKind::Token { .. } => "api-token",
            ActorKind::Host => "host",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }

    pub fn id_string(&self) -> Option<String> {
        match &self.kind {
            ActorKind::Person { admin_id, .. } => Some(admin_id.to_string()),
            ActorKind::Token { id, .. } => Some(id.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_and_read_only_tokens_cannot_write() {
        let viewer = Actor::person(uuid::Uuid::nil(), Role::Viewer, "v", None);
        let admin = Actor::person(uuid::Uuid::nil(), Role::Admin, "a", None);
        let ro = Actor::token(TokenId::new(), TokenScope::ReadOnly, "t", None);
        let rw = Actor::token(TokenId::new(), TokenScope::ReadWrite, "t", None);
        assert!(viewer.require_write().is_err() && ro.require_write().is_err());
        assert!(admin.require_write().is_ok() && rw.require_write().is_ok());
        assert!(Actor::anonymous(None).require_write().is_err());
    }
}
