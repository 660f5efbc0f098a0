//! The instance aggregate: what this Roster is (name, version, database),
//! its administrators, the host-side sign-in links, and API tokens.

mod setup_links;
mod tokens;
mod transfer;

pub(crate) use setup_links::hash_token;
pub use setup_links::{SetupLinks, SignInOutcome, SETUP_LINK_VALIDITY};
pub use tokens::{ApiToken, IssuedToken, TOKEN_PREFIX};
pub use transfer::TransferSummary;

use super::{
    access::Actor,
    audit::{Audit, AuditAction},
    clock, DomainError, DomainResult,
};
use crate::{
    config::Config,
    store::{Admin, Store},
};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// Facts about the running system, each read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Overview {
    pub version: String,
    pub database_kind: String,
    pub database_location: String,
    pub schema_version: i64,
    pub directories: i64,
    pub admins: i64,
    pub started_at: String,
}

/// Whether this instance can serve: database reachable, schema current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready { applied: i64, expected: i64 },
    SchemaBehind { applied: i64, expected: i64 },
    DatabaseUnreachable,
}

/// How long `/readyz` waits for the database.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Clone)]
pub struct Instance {
    store: Store,
    config: Arc<Config>,
    started_at: time::OffsetDateTime,
    public_url: String,
    audit: Audit,
}

impl Instance {
    pub fn new(store: Store, config: Arc<Config>, public_url: String, audit: Audit) -> Self {
        Self {
            store,
            config,
            started_at: time::OffsetDateTime::now_utc(),
            public_url,
            audit,
        }
    }

    pub async fn overview(&self) -> DomainResult<Overview> {
        let schema = self.store.schema_status().await?;
        Ok(Overview {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database_kind: self.config.database.kind().to_owned(),
            database_location: self.config.database.location(),
            schema_version: schema.applied,
            directories: self.store.count_directories().await?,
            admins: self.store.count_admins().await?,
            started_at: clock::human(self.started_at),
        })
    }

    /// Answers within [`READINESS_TIMEOUT`]: a load balancer's health check
    /// must not hang while the database does.
    pub async fn readiness(&self) -> Readiness {
        match tokio::time::timeout(READINESS_TIMEOUT, self.check_readiness()).await {
            Ok(readiness) => readiness,
            Err(_) => {
                tracing::warn!("readiness check timed out: the database did not answer");
                Readiness::DatabaseUnreachable
            }
        }
    }

    async fn check_readiness(&self) -> Readiness {
        if let Err(e) = self.store.ping().await {
            tracing::warn!(error = %e, "readiness check failed");
            return Readiness::DatabaseUnreachable;
        }
        match self.store.schema_status().await {
            Ok(s) if s.is_current() => Readiness::Ready {
                applied: s.applied,
                expected: s.expected,
            },
            Ok(s) => Readiness::SchemaBehind {
                applied: s.applied,
                expected: s.expected,
            },
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                Readiness::DatabaseUnreachable
            }
        }
    }

    pub async fn name(&self) -> DomainResult<String> {
        Ok(self.store.instance_name().await?)
    }

    /// Renames the instance; the name is checked here whatever door it came through.
    pub async fn rename(&self, actor: &Actor, raw: &str) -> DomainResult<String> {
        actor.require_write()?;
        let name = app::api::InstanceName::parse(raw).map_err(DomainError::invalid)?;
        self.store.set_instance_name(name.as_str()).await?;
        tracing::info!(name = name.as_str(), "instance renamed");
        self.audit
            .record(
                actor,
                AuditAction::InstanceRenamed,
                None,
                serde_json::json!({"name": name.as_str()}),
            )
            .await;
        Ok(name.into_inner())
    }

    pub async fn admin(&self, id: uuid::Uuid) -> DomainResult<Option<Admin>> {
        Ok(self.store.admin(id).await?)
    }

    pub fn setup_links(&self) -> SetupLinks {
        SetupLinks::new(self.store.clone(), self.public_url.clone(), self.audit.clone())
    }

    pub fn tokens(&self) -> tokens::Tokens {
        tokens::Tokens::new(self.store.clone(), self.audit.clone())
    }
}
