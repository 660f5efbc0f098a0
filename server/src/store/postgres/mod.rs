//! The PostgreSQL backend: the same interface as SQLite's ([`super::Database`]),
//! written for PostgreSQL 15+ (`migrations/postgres`).

mod apply;
mod directories;
mod events;
mod first_sync;
mod identity;
mod instance;
mod log_polling;
mod notifications;
mod okta_hooks;
mod records;
mod runs;
mod scim_access;
mod scim_records;
mod signin;
mod staging;
mod transfer;
mod webhooks;

pub use first_sync::PgFirstSyncWriter;

use super::{up_migrations, SchemaStatus, StoreError};
use crate::config::DatabaseUrl;
use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use std::{str::FromStr, time::Duration};

static PG_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The oldest server Roster runs on (`server_version_num`).
const OLDEST_SERVER: i64 = 150_000;

/// The PostgreSQL backend; cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub(super) async fn connect(url: &DatabaseUrl, raw: &str) -> Result<Self, StoreError> {
        let location = url.location();
        let open = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
        };
        let mut options = PgConnectOptions::from_str(raw)
            .map_err(|e| open(e.to_string()))?
            .application_name("roster");
        // Roster's working set is small enough to stay in memory, where a
        // random read costs about what a sequential one does; at the default
        // of 4 the planner scans a whole directory's users rather than look up
        // a group's few hundred members. A value in the URL's `options` wins.
        if !raw.contains("random_page_cost") {
            options = options.options([("random_page_cost", "1.1")]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // Fail fast while the server is down (`/readyz` answers 503), and
            // reconnect on the next request once it is back: no restart.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|e| open(explain_connect_error(&e)))?;
        let version: String = sqlx::query_scalar("SHOW server_version_num")
            .fetch_one(&pool)
            .await
            .map_err(|e| open(e.to_string()))?;
        let version: i64 = version.trim().parse().unwrap_or(0);
        if version < OLDEST_SERVER {
            return Err(open(format!(
                "the server is PostgreSQL {}.{}; Roster needs PostgreSQL 15 or newer",
                version / 10_000,
                version % 10_000 / 100
            )));
        }
        Ok(Self { pool })
    }

    pub(super) async fn migrate(&self) -> Result<(), StoreError> {
        // sqlx's migrator holds an advisory lock while it runs: two replicas
        // starting at once apply each migration once.
        PG_MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    pub(super) async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        Ok(SchemaStatus {
            applied,
            expected: up_migrations(&PG_MIGRATOR),
        })
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// One line an operator can act on, for the ways a first connection fails.
fn explain_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01") | Some("28000") => format!(
                "the server refused the user name or password ({}); check the credentials in the URL",
                db.message()
            ),
            Some("3D000") => format!(
                "{}; create it (createdb) or fix the database name in the URL",
                db.message()
            ),
            _ => db.message().to_owned(),
        },
        sqlx::Error::Io(io) => {
            format!("cannot reach the server ({io}); is PostgreSQL running and the host and port right?")
        }
        sqlx::Error::PoolTimedOut => {
            "no answer from the server within 5 s; is PostgreSQL running and the host and port right?"
                .to_owned()
        }
        sqlx::Error::Tls(e) => format!("TLS failed ({e}); check sslmode in the URL"),
        other => other.to_string(),
    }
}

/// Whether `id` can be a uuid column's value; anything else names no row
/// (and would make PostgreSQL refuse the whole statement).
pub(super) fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}
