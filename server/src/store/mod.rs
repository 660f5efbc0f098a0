//! All SQL lives under this module. Callers get typed methods, never queries,
//! so adding PostgreSQL means adding a backend here and nothing elsewhere.

mod admins;
mod api_tokens;
mod apply;
mod audit;
mod details;
mod directories;
mod first_sync;
mod identity_writes;
mod keys;
mod records;
mod scim_access;
mod scim_records;
mod settings;
mod setup_tokens;
mod signin;
mod staging;
mod sync_runs;

pub use admins::Admin;
pub use api_tokens::{ApiTokenRow, NewApiToken};
pub use apply::{DiffCounts, DiffSample};
pub use audit::{AuditFilter, AuditRow, NewAuditEntry};
pub use details::{GroupPageRow, GroupRef, MemberRow, UserEvent};
pub use directories::{Directory, NewDirectory, SettingsUpdate};
pub use first_sync::{FirstSyncWriter, NewDataset};
pub use identity_writes::{MemberChange, MemberWrite, Written};
pub use keys::StoredKey;
pub use records::{DirectoryCounts, GroupRecord, UserFilter, UserListRow, UserRecord, UserSort};
pub use scim_access::{NewScimToken, ScimRequestRow, ScimTokenRow, SCIM_LOG_KEEP};
pub use scim_records::{
    GroupMembers, PushMode, PushOutcome, PushedGroup, PushedUser, ScimAttr, ScimCondition, ScimGroupRow,
    ScimMemberRow, ScimOp, ScimUserRow, ScimValue,
};
pub use setup_tokens::RedeemOutcome;
pub use signin::{NewSignin, OktaPerson, SigninRow, SigninSettingsRow};
pub use staging::{StageBatch, StagedGroup, StagedMembers, StagedUser};
pub use sync_runs::{RunCounters, RunFailure, RunRow};

use crate::config::DatabaseUrl;
use sqlx::{
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Handle to the database; cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// One connection for write transactions: writers queue here, in order,
    /// instead of holding read connections while SQLite's busy handler
    /// sleeps between retries of the write lock.
    writer: SqlitePool,
}

/// Whether the schema in the database matches the one this binary embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    pub applied: i64,
    pub expected: i64,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.applied == self.expected
    }
}

impl Store {
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let DatabaseUrl::Sqlite(path) = url;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // 64 MiB of page cache (SQLite's default is 2 MiB): a sync's apply
            // updates indexes of hundreds of thousands of rows in one transaction.
            .pragma("cache_size", "-65536")
            // Checkpoints run in the background (`spawn_checkpointer`), not in
            // whichever connection commits past the WAL threshold.
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", "268435456");
        let open = |e: sqlx::Error| StoreError::Open {
            location: url.location(),
            reason: e.to_string(),
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(open)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(open)?;
        spawn_checkpointer(pool.clone());
        Ok(Self { pool, writer })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let expected = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .count() as i64;
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(SchemaStatus { applied, expected })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Every write transaction takes the write lock up front. A deferred one
/// that read first and wrote later could find another commit (a session
/// save, an audit entry) in between and fail at once with SQLITE_BUSY_SNAPSHOT
/// ("database is locked"), which the busy timeout does not retry.
pub(crate) const WRITE: &str = "BEGIN IMMEDIATE";

/// The key of a directory's live dataset (its synced records), with the
/// directory id bound as `$1`; NULL, so matching nothing, before its first sync.
pub(crate) const LIVE_DATASET: &str =
    "(SELECT key FROM directory_datasets WHERE directory_id = $1 AND live = 1)";

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies the write-ahead log into the database file every second, on a
/// connection of its own: no commit (a sync's apply, a sign-in) waits for
/// the copy and its fsync, and pages written many times are copied once.
/// Passive checkpoints never block readers or writers.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
}

/// Timestamps are stored as RFC 3339 UTC text so both SQLite and PostgreSQL
/// read them the same way and they sort as text.
/// A token's `last_used_at` is written at most once a minute: reads stay reads.
pub(crate) fn last_use_is_stale(last_used_at: Option<&str>, at: time::OffsetDateTime) -> bool {
    last_used_at
        .and_then(|t| parse_timestamp(t).ok())
        .is_none_or(|last| (at - last).whole_seconds() >= 60)
}

/// Now, as stored.
pub fn timestamp_now() -> String {
    timestamp(now())
}

pub(crate) fn timestamp(at: time::OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn parse_timestamp(text: &str) -> Result<time::OffsetDateTime, StoreError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

pub(crate) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
