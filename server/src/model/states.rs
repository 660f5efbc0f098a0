//! Every state machine of the product as an enum. Their database spelling is
//! the `sqlx` attribute on each (one place); nothing compares state strings.

use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgValueRef, sqlite::SqliteValueRef, Decode, Postgres, Sqlite};

/// A directory is a draft while its wizard is open, active once created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DirectoryState {
    Draft,
    Active,
}

/// Why a directory does not sync on schedule: an admin paused it, or a
/// configuration error (its code) stopped it until a verify passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "by", content = "code", rename_all = "snake_case")]
pub enum PauseReason {
    Admin,
    Error(String),
}

impl PauseReason {
    const ADMIN: &'static str = "admin";

    pub fn as_db(&self) -> &str {
        match self {
            Self::Admin => Self::ADMIN,
            Self::Error(code) => code,
        }
    }

    pub fn from_db(raw: &str) -> Self {
        if raw == Self::ADMIN {
            Self::Admin
        } else {
            Self::Error(raw.to_owned())
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin)
    }
}

impl sqlx::Type<Sqlite> for PauseReason {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
        <String as sqlx::Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for PauseReason {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let raw = <String as Decode<Sqlite>>::decode(value)?;
        Ok(Self::from_db(&raw))
    }
}

impl sqlx::Type<Postgres> for PauseReason {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <String as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for PauseReason {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let raw = <String as Decode<Postgres>>::decode(value)?;
        Ok(Self::from_db(&raw))
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Trigger {
    /// The first sync, started by Create.
    First,
    Schedule,
    /// Sync Now (UI, API or CLI).
    Manual,
    /// The wizard's dry run; applies nothing.
    Preview,
    /// A full sync because changes may have been missed: a gap in the
    /// System Log, or a targeted refresh the breaker refused.
    Reconcile,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Schedule => "schedule",
            Self::Manual => "manual",
            Self::Preview => "preview",
            Self::Reconcile => "reconcile",
        }
    }
}

/// How a run reads Okta: everything, or only what the System Log says
/// changed since the last good sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RunMode {
    Full,
    Incremental,
}

/// Where a directory's System Log polling stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum LogPollState {
    /// Not polling.
    Off,
    /// Reading the log without a break since the last full sync.
    Healthy,
    /// Polls fail (Okta unreachable, the scope revoked); the cursor waits.
    Failing,
    /// Changes may have been missed: a full sync re-anchors the cursor.
    Gap,
}

/// A run's life: running, then exactly one end state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// The circuit breaker held the changes for an admin's review.
    NeedsConfirmation,
    /// Held changes an admin discarded, or that a later run superseded.
    Discarded,
    /// A preview that finished: it counted what a first sync would import.
    Previewed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::NeedsConfirmation => "needs_confirmation",
            Self::Discarded => "discarded",
            Self::Previewed => "previewed",
        }
    }
}

/// What a directory key signs: client assertions or DPoP proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum KeyPurpose {
    Client,
    Dpop,
}

/// A key's rotation state: `Next` waits for a verify, then becomes `Active`
/// and the old active key is `Retired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum KeyState {
    Active,
    Next,
    Retired,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
#[sqlx(type_name = "text", rename_all = "kebab-case")]
pub enum TokenScope {
    ReadOnly,
    ReadWrite,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::ReadWrite => "read-write",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "read-only" | "read" | "ro" => Some(Self::ReadOnly),
            "read-write" | "write" | "rw" => Some(Self::ReadWrite),
            _ => None,
        }
    }

    pub fn allows_writes(self) -> bool {
        matches!(self, Self::ReadWrite)
    }
}

/// What a signed-in person may do: decided at sign-in from their groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
#[sqlx(type_name = "text", rename_all = "kebab-case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Every page, read-only: mutations are refused by the core.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }
}

/// How a sign-in happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
#[sqlx(type_name = "text", rename_all = "kebab-case")]
pub enum SignInMethod {
    Okta,
    SetupLink,
    RecoveryLink,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_reasons_keep_the_error_code() {
        assert_eq!(PauseReason::from_db("admin"), PauseReason::Admin);
        let reason = PauseReason::from_db("invalid_client");
        assert_eq!(reason, PauseReason::Error("invalid_client".into()));
        assert_eq!(reason.as_db(), "invalid_client");
        assert!(!reason.is_admin());
    }

    #[test]
    fn token_scopes_parse_their_spellings() {
        assert_eq!(TokenScope::parse("read-only"), Some(TokenScope::ReadOnly));
        assert_eq!(TokenScope::parse("rw"), Some(TokenScope::ReadWrite));
        assert_eq!(TokenScope::parse("admin"), None);
        assert!(!TokenScope::ReadOnly.allows_writes());
    }
}
