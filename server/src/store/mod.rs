//! All SQL lives under this module. Callers get typed methods, never queries.
//!
//! Two backends implement one interface, [`Database`]: SQLite (the modules
//! beside this one, which also define the row types both share) and
//! PostgreSQL (`postgres/`, written for PostgreSQL: uuid, timestamptz,
//! jsonb, `unnest` bulk loads). [`Store`] is the handle the domain holds; it
//! dispatches each call to the backend the URL chose.

mod admins;
mod api_tokens;
mod apply;
mod audit;
mod details;
mod directories;
mod event_blocks;
mod events;
mod first_sync;
mod identity_writes;
mod keys;
mod leases;
mod log_polling;
mod notifications;
mod okta_hooks;
mod postgres;
mod records;
mod scim_access;
mod scim_records;
mod settings;
mod setup_tokens;
mod signin;
mod staging;
mod sync_runs;
mod transfer;
mod webhooks;

pub use admins::Admin;
pub use api_tokens::{ApiTokenRow, NewApiToken};
pub use apply::{DiffCounts, DiffSample};
pub use audit::{AuditFilter, AuditRow, NewAuditEntry};
pub use details::{GroupPageRow, GroupRef, MemberRow, UserEvent};
pub use directories::{Directory, NewDirectory, SettingsUpdate};
pub use events::{EventFilter, EventRow};
pub use first_sync::{NewDataset, SqliteFirstSyncWriter};
pub use identity_writes::{IdentityWrite, MemberChange, MemberWrite, Written};
pub use keys::StoredKey;
pub use log_polling::LogPollRow;
pub use notifications::NotificationRow;
pub use okta_hooks::{OktaHookRow, PollAdvance, RefreshItem, SeenEvent};
pub use records::{DirectoryCounts, GroupRecord, UserFilter, UserListRow, UserRecord, UserSort};
pub use scim_access::{NewScimToken, ScimRequestRow, ScimTokenRow, SCIM_LOG_KEEP};
pub use scim_records::{
    GroupMembers, PushMode, PushOutcome, PushedGroup, PushedUser, ScimAttr, ScimCondition, ScimGroupRow,
    ScimMemberRow, ScimOp, ScimUserRow, ScimValue,
};
pub use setup_tokens::RedeemOutcome;
pub use signin::{NewSignin, OktaPerson, SigninRow, SigninSettingsRow, SigninTestRow};
pub use staging::{StageBatch, StagedGroup, StagedMembers, StagedUser};
pub use sync_runs::{RunCounters, RunFailure, RunRow};
pub use transfer::TRANSFER_TABLES;
pub use webhooks::{sortable, AttemptRecord, DeliveryRow, NewWebhook, WebhookRow, WebhookUpdate};

use crate::config::DatabaseUrl;
pub use postgres::PgStore;
use sqlx::{
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};
use std::{collections::HashMap, time::Duration};

use crate::model::{KeyPurpose, KeyState, PauseReason, RunMode, RunStatus, Trigger};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

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
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("this process no longer holds the directory's sync lease (another process took over the sync)")]
    LeaseLost,
}

/// Handle to the database; cheap to clone (pools inside).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// The SQLite backend.
#[derive(Clone, Debug)]
pub struct SqliteStore {
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

/// Declares the store's interface once: the [`Database`] trait both backends
/// implement (each by its inherent methods of the same names), and the
/// [`Store`] methods that dispatch to the backend in use.
macro_rules! database_interface {
    ($( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        /// Everything the domain asks of a database.
        #[allow(dead_code)]
        pub(crate) trait Database {
            $( async fn $name(&self $(, $arg: $ty)*) -> $ret; )*
        }

        impl Database for SqliteStore {
            $( async fn $name(&self $(, $arg: $ty)*) -> $ret { SqliteStore::$name(self $(, $arg)*).await } )*
        }

        impl Database for PgStore {
            $( async fn $name(&self $(, $arg: $ty)*) -> $ret { PgStore::$name(self $(, $arg)*).await } )*
        }

        impl Store {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.backend {
                        Backend::Sqlite(db) => Database::$name(db $(, $arg)*).await,
                        Backend::Postgres(db) => Database::$name(db $(, $arg)*).await,
                    }
                }
            )*
        }
    };
}

database_interface! {
    // admins
    fn count_admins(&self) -> Result<i64, StoreError>;
    fn admin(&self, id: uuid::Uuid) -> Result<Option<Admin>, StoreError>;
    fn touch_admin_sign_in(&self, id: uuid::Uuid) -> Result<(), StoreError>;
    // api_tokens
    fn insert_api_token(&self, new: &NewApiToken<'_>) -> Result<(), StoreError>;
    fn api_tokens(&self) -> Result<Vec<ApiTokenRow>, StoreError>;
    fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>, StoreError>;
    fn use_api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRow>, StoreError>;
    fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError>;
    // apply
    fn compute_diff(&self, run_id: &str, directory_id: &str) -> Result<DiffCounts, StoreError>;
    fn diff_sample(&self, run_id: &str, directory_id: &str) -> Result<DiffSample, StoreError>;
    fn apply_run(&self, run_id: &str, directory_id: &str, lease: &str) -> Result<Vec<String>, StoreError>;
    // audit
    fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<i64, StoreError>;
    fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError>;
    fn prune_audit(&self, keep: time::Duration) -> Result<u64, StoreError>;
    // details
    fn user_groups(&self, directory_id: &str, user_id: &str) -> Result<Vec<GroupRef>, StoreError>;
    fn user_events(&self, directory_id: &str, user_id: &str, limit: i64) -> Result<Vec<UserEvent>, StoreError>;
    fn group_members(&self, directory_id: &str, group_id: &str, after: Option<(&str, &str)>, limit: i64) -> Result<Vec<MemberRow>, StoreError>;
    fn count_group_members(&self, directory_id: &str, group_id: &str) -> Result<i64, StoreError>;
    fn groups_page(&self, directory_id: &str, search: &str, after: Option<(&str, &str)>, limit: i64) -> Result<Vec<GroupPageRow>, StoreError>;
    fn count_groups(&self, directory_id: &str, search: &str) -> Result<i64, StoreError>;
    // directories
    fn count_directories(&self) -> Result<i64, StoreError>;
    fn list_directories(&self) -> Result<Vec<Directory>, StoreError>;
    fn list_drafts(&self) -> Result<Vec<Directory>, StoreError>;
    fn directory(&self, id: &str) -> Result<Option<Directory>, StoreError>;
    fn insert_directory(&self, new: &NewDirectory<'_>) -> Result<String, StoreError>;
    fn insert_push_directory(&self, name: &str) -> Result<String, StoreError>;
    fn set_scim_enabled(&self, id: &str, enabled: bool) -> Result<(), StoreError>;
    fn update_connection(&self, id: &str, okta_origin: &str, client_id: &str, app: Option<(&str, &str)>) -> Result<(), StoreError>;
    fn record_verification(&self, id: &str, fingerprint: &str, dpop_required: bool) -> Result<(), StoreError>;
    fn activate_directory(&self, id: &str, name: &str) -> Result<(), StoreError>;
    fn set_sync_settings(&self, id: &str, interval_secs: i64, rate_limit_share: f64, breaker_threshold: f64) -> Result<(), StoreError>;
    fn update_settings(&self, id: &str, settings: &SettingsUpdate<'_>) -> Result<(), StoreError>;
    fn set_paused(&self, id: &str, reason: Option<&PauseReason>) -> Result<(), StoreError>;
    fn schedule_next_sync(&self, id: &str, at: time::OffsetDateTime) -> Result<(), StoreError>;
    fn due_directories(&self, at: time::OffsetDateTime) -> Result<Vec<String>, StoreError>;
    fn take_due_directory(&self, id: &str, at: time::OffsetDateTime) -> Result<bool, StoreError>;
    fn delete_directory(&self, id: &str) -> Result<(), StoreError>;
    // events
    fn events_page(&self, filter: &EventFilter<'_>) -> Result<Vec<EventRow>, StoreError>;
    fn events_pruned_through(&self) -> Result<i64, StoreError>;
    fn prune_events(&self, keep: time::Duration) -> Result<u64, StoreError>;
    // notifications
    fn sync_notifications(&self, subjects: &[String], at: &str) -> Result<Vec<NotificationRow>, StoreError>;
    fn notification_rows(&self) -> Result<Vec<NotificationRow>, StoreError>;
    fn claim_notification(&self, subject: &str, seen_count: i64, at: &str) -> Result<bool, StoreError>;
    fn notification_failed(&self, subject: &str, claimed_count: i64, error: &str) -> Result<(), StoreError>;
    // okta_hooks
    fn set_okta_hook(&self, directory_id: &str, header_name: &str, secret_hash: &str, secret_sealed: &str, at: &str) -> Result<(), StoreError>;
    fn okta_hook(&self, directory_id: &str) -> Result<Option<OktaHookRow>, StoreError>;
    fn okta_hook_seen(&self, directory_id: &str, verified: bool, at: &str) -> Result<(), StoreError>;
    fn receive_okta_events(&self, directory_id: &str, events: &[SeenEvent], at: &str, due_at: &str, due_by: &str, poll: Option<&PollAdvance>) -> Result<usize, StoreError>;
    fn due_refreshes(&self, at: &str) -> Result<Vec<String>, StoreError>;
    fn claim_refreshes(&self, directory_id: &str, holder: &str, due_before: &str, at: &str, until: &str, limit: i64) -> Result<Vec<RefreshItem>, StoreError>;
    fn finish_refreshes(&self, directory_id: &str, holder: &str, retry_at: Option<&str>, at: &str) -> Result<(), StoreError>;
    fn prune_okta_hook_events(&self, before: &str) -> Result<u64, StoreError>;
    // log_polling
    fn log_polling(&self, directory_id: &str) -> Result<Option<LogPollRow>, StoreError>;
    fn put_log_polling(&self, row: &LogPollRow, at: &str) -> Result<(), StoreError>;
    fn set_log_polling_settings(&self, directory_id: &str, enabled: bool, interval_secs: i64, reconcile_secs: i64, at: &str) -> Result<(), StoreError>;
    fn take_due_log_polls(&self, at: &str, until: &str) -> Result<Vec<String>, StoreError>;
    fn log_poll_failed(&self, directory_id: &str, error: &str, at: &str, next_poll_at: &str) -> Result<(), StoreError>;
    fn log_poll_gap(&self, directory_id: &str, reason: &str, at: &str) -> Result<bool, StoreError>;
    fn log_polling_reconciled(&self, directory_id: &str, started_at: &str, anchor: &str, at: &str) -> Result<(), StoreError>;
    // webhooks
    fn insert_webhook(&self, new: &NewWebhook<'_>) -> Result<(), StoreError>;
    fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError>;
    fn webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError>;
    fn update_webhook(&self, id: &str, update: &WebhookUpdate<'_>) -> Result<bool, StoreError>;
    fn set_webhook_enabled(&self, id: &str, enabled: bool, reason: Option<&str>, at: &str) -> Result<bool, StoreError>;
    fn rotate_webhook_secret(&self, id: &str, sealed: &str, previous_until: &str, at: &str) -> Result<bool, StoreError>;
    fn replay_webhook(&self, id: &str, position: i64, at: &str) -> Result<bool, StoreError>;
    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;
    fn events_high_water(&self) -> Result<i64, StoreError>;
    fn due_webhooks(&self, at: &str, holder: &str) -> Result<Vec<String>, StoreError>;
    fn claim_webhook(&self, id: &str, holder: &str, at: &str, until: &str) -> Result<Option<WebhookRow>, StoreError>;
    fn finish_webhook_attempt(&self, holder: &str, record: &AttemptRecord<'_>) -> Result<bool, StoreError>;
    fn record_webhook_delivery(&self, delivery: &DeliveryRow) -> Result<(), StoreError>;
    fn webhook_deliveries(&self, endpoint_id: &str, before: Option<i64>, limit: i64) -> Result<Vec<DeliveryRow>, StoreError>;
    fn prune_webhook_deliveries(&self, before: &str) -> Result<u64, StoreError>;
    // first_sync
    fn begin_first_sync(&self, directory_id: &str, run_id: &str, at: &str) -> Result<Option<NewDataset>, StoreError>;
    fn first_sync_diff(&self, dataset: i64) -> Result<(DiffCounts, DiffSample), StoreError>;
    fn commit_first_sync(&self, directory_id: &str, dataset: &NewDataset, lease: &str) -> Result<(), StoreError>;
    fn drop_unfinished_dataset(&self, run_id: &str) -> Result<(), StoreError>;
    // identity_writes
    fn write_identities(&self, directory_id: &str, writes: &[IdentityWrite<'_>], source: &str, lease: Option<&str>) -> Result<Vec<Written>, StoreError>;
    fn upsert_user(&self, directory_id: &str, user: &StagedUser, source: &str) -> Result<Written, StoreError>;
    fn remove_user(&self, directory_id: &str, okta_id: &str, source: &str) -> Result<Written, StoreError>;
    fn upsert_group(&self, directory_id: &str, group: &StagedGroup) -> Result<Written, StoreError>;
    fn remove_group(&self, directory_id: &str, group_id: &str) -> Result<Written, StoreError>;
    fn write_members(&self, directory_id: &str, group_id: &str, write: MemberWrite<'_>) -> Result<Option<MemberChange>, StoreError>;
    // keys
    fn insert_key(&self, directory_id: &str, kid: &str, purpose: KeyPurpose, state: KeyState, public_jwk: &str, sealed_private: &str) -> Result<String, StoreError>;
    fn live_keys(&self, directory_id: &str) -> Result<Vec<StoredKey>, StoreError>;
    fn promote_next_key(&self, directory_id: &str) -> Result<bool, StoreError>;
    // records
    fn directory_counts(&self, directory_id: &str) -> Result<DirectoryCounts, StoreError>;
    fn users_page(&self, directory_id: &str, after: &str, limit: i64) -> Result<Vec<UserRecord>, StoreError>;
    fn user(&self, directory_id: &str, okta_id: &str) -> Result<Option<UserRecord>, StoreError>;
    fn group(&self, directory_id: &str, okta_id: &str) -> Result<Option<GroupRecord>, StoreError>;
    fn absent_users(&self, directory_id: &str, ids: &[String]) -> Result<Vec<String>, StoreError>;
    fn group_member_ids(&self, directory_id: &str, group_id: &str) -> Result<Vec<String>, StoreError>;
    fn list_users(&self, directory_id: &str, filter: &UserFilter<'_>, limit: i64) -> Result<Vec<UserListRow>, StoreError>;
    fn count_users(&self, directory_id: &str, filter: &UserFilter<'_>) -> Result<i64, StoreError>;
    // scim_access
    fn insert_scim_token(&self, new: &NewScimToken<'_>) -> Result<(), StoreError>;
    fn scim_tokens(&self, directory_id: &str) -> Result<Vec<ScimTokenRow>, StoreError>;
    fn use_scim_token(&self, directory_id: &str, token_hash: &str) -> Result<Option<ScimTokenRow>, StoreError>;
    fn revoke_scim_token(&self, directory_id: &str, id: &str) -> Result<bool, StoreError>;
    fn append_scim_requests(&self, rows: &[ScimRequestRow]) -> Result<(), StoreError>;
    fn scim_requests(&self, directory_id: &str, limit: i64) -> Result<Vec<ScimRequestRow>, StoreError>;
    // scim_records
    fn scim_users(&self, directory_id: &str, condition: &ScimCondition, offset: i64, limit: i64) -> Result<(Vec<ScimUserRow>, i64), StoreError>;
    fn scim_user(&self, directory_id: &str, okta_id: &str) -> Result<Option<ScimUserRow>, StoreError>;
    fn scim_groups(&self, directory_id: &str, condition: &ScimCondition, offset: i64, limit: i64) -> Result<(Vec<ScimGroupRow>, i64), StoreError>;
    fn scim_group(&self, directory_id: &str, okta_id: &str) -> Result<Option<ScimGroupRow>, StoreError>;
    fn scim_members(&self, directory_id: &str, group_ids: &[String]) -> Result<Vec<ScimMemberRow>, StoreError>;
    fn push_user(&self, directory_id: &str, user: &PushedUser<'_>, mode: PushMode, source: &str) -> Result<PushOutcome, StoreError>;
    fn push_group(&self, directory_id: &str, group: &PushedGroup<'_>, mode: PushMode) -> Result<PushOutcome, StoreError>;
    fn erase_user(&self, directory_id: &str, okta_id: &str, source: &str) -> Result<bool, StoreError>;
    // settings
    fn instance_name(&self) -> Result<String, StoreError>;
    fn set_instance_name(&self, name: &str) -> Result<(), StoreError>;
    // setup_tokens
    fn insert_setup_token(&self, token_hash: &str, valid_for: time::Duration) -> Result<(), StoreError>;
    fn redeem_setup_token(&self, token_hash: &str, display_name: &str) -> Result<RedeemOutcome, StoreError>;
    // signin
    fn insert_signin_test(&self, id: &str, settings_sealed: &str, started_by: &str, report: &str, keep: time::Duration) -> Result<(), StoreError>;
    fn signin_test(&self, id: &str) -> Result<Option<SigninTestRow>, StoreError>;
    fn set_signin_test_report(&self, id: &str, report: &str) -> Result<(), StoreError>;
    fn signin_settings(&self) -> Result<Option<SigninSettingsRow>, StoreError>;
    fn save_signin_settings(&self, row: &SigninSettingsRow) -> Result<(), StoreError>;
    fn delete_signin_settings(&self) -> Result<bool, StoreError>;
    fn upsert_okta_admin(&self, person: &OktaPerson<'_>) -> Result<Admin, StoreError>;
    fn count_okta_admins(&self) -> Result<i64, StoreError>;
    fn insert_signin(&self, new: &NewSignin<'_>) -> Result<String, StoreError>;
    fn signin(&self, id: &str) -> Result<Option<SigninRow>, StoreError>;
    fn live_signins(&self) -> Result<Vec<SigninRow>, StoreError>;
    fn revoke_signin(&self, id: &str, reason: &str) -> Result<bool, StoreError>;
    fn revoke_signins_of_users(&self, directory_id: &str, okta_ids: &[String], reason: &str) -> Result<Vec<String>, StoreError>;
    fn revoke_signins_of_suspended(&self, directory_id: &str, reason: &str) -> Result<Vec<String>, StoreError>;
    fn present_groups_of_person(&self, directory_id: &str, subject: Option<&str>, email: Option<&str>) -> Result<Option<Vec<String>>, StoreError>;
    fn known_group_names(&self, directory_id: &str, names: &[String]) -> Result<Vec<String>, StoreError>;
    fn prune_signins(&self) -> Result<u64, StoreError>;
    // staging
    fn stage_batch(&self, run_id: &str, batch: &StageBatch) -> Result<(), StoreError>;
    fn membership_stamps(&self, directory_id: &str) -> Result<HashMap<String, Option<String>>, StoreError>;
    fn stored_group_members(&self, directory_id: &str, group_id: &str) -> Result<Vec<String>, StoreError>;
    fn clear_staging(&self, run_id: &str) -> Result<(), StoreError>;
    // sync_runs
    fn start_run(&self, directory_id: &str, trigger: Trigger) -> Result<String, StoreError>;
    fn update_run_progress(&self, run_id: &str, phase: &str, c: &RunCounters) -> Result<(), StoreError>;
    fn publish_progress(&self, run_id: &str, phase: &str, c: &RunCounters) -> Result<(), StoreError>;
    fn record_run_diff(&self, run_id: &str, diff: &DiffCounts, sample: &DiffSample) -> Result<(), StoreError>;
    fn end_run(&self, run_id: &str, status: RunStatus, failure: Option<&RunFailure<'_>>) -> Result<(), StoreError>;
    fn mark_directory_failing(&self, directory_id: &str) -> Result<(), StoreError>;
    fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError>;
    fn set_run_mode(&self, run_id: &str, mode: RunMode) -> Result<(), StoreError>;
    fn finish_incremental_run(&self, run_id: &str, directory_id: &str, diff: &DiffCounts) -> Result<(), StoreError>;
    fn runs(&self, directory_id: &str, limit: i64) -> Result<Vec<RunRow>, StoreError>;
    fn directory_run(&self, directory_id: &str, run_id: &str) -> Result<Option<RunRow>, StoreError>;
    fn latest_finished_run(&self, directory_id: &str, trigger: Trigger) -> Result<Option<RunRow>, StoreError>;
    fn pending_confirmation(&self, directory_id: &str) -> Result<Option<RunRow>, StoreError>;
    fn fail_interrupted_runs(&self) -> Result<u64, StoreError>;
    fn running_run(&self, directory_id: &str) -> Result<Option<RunRow>, StoreError>;
    // leases
    fn claim_sync_lease(&self, directory_id: &str, token: &str, holder: &str, ttl: time::Duration) -> Result<bool, StoreError>;
    fn attach_lease_run(&self, directory_id: &str, token: &str, run_id: &str) -> Result<bool, StoreError>;
    fn renew_sync_lease(&self, directory_id: &str, token: &str, ttl: time::Duration) -> Result<bool, StoreError>;
    fn release_sync_lease(&self, directory_id: &str, token: &str) -> Result<(), StoreError>;
    fn abandoned_runs(&self) -> Result<Vec<String>, StoreError>;
    // transfer
    fn export_rows(&self, table: &str, offset: i64, limit: i64) -> Result<Vec<serde_json::Value>, StoreError>;
    fn holds_data(&self) -> Result<bool, StoreError>;
    fn import_rows(&self, batches: tokio::sync::mpsc::Receiver<Option<(String, Vec<serde_json::Value>)>>) -> Result<u64, StoreError>;
}

/// Writes a first sync's records as they are fetched (see `first_sync`).
pub enum FirstSyncWriter {
    Sqlite(SqliteFirstSyncWriter),
    Postgres(postgres::PgFirstSyncWriter),
}

impl FirstSyncWriter {
    /// Writes one batch of fetched records, in one transaction.
    pub async fn write(&mut self, batch: &StageBatch) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(w) => w.write(batch).await,
            Self::Postgres(w) => w.write(batch).await,
        }
    }

    /// Moves the users fetched so far into the dataset.
    pub async fn move_users(&mut self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(w) => w.move_users().await,
            Self::Postgres(w) => w.move_users().await,
        }
    }
}

impl Store {
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => Backend::Sqlite(SqliteStore::connect(url, path).await?),
            DatabaseUrl::Postgres(raw) => Backend::Postgres(PgStore::connect(url, raw).await?),
        };
        Ok(Self { backend })
    }

    /// Applies the migrations this binary embeds. Safe when several
    /// processes start at once: SQLite's write lock or PostgreSQL's advisory
    /// lock (taken by the migrator) lets one apply them while the others wait.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => SQLITE_MIGRATOR
                .run(&db.pool)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string())),
            Backend::Postgres(db) => db.migrate().await,
        }
    }

    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let applied: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
                        .fetch_one(&db.pool)
                        .await?;
                Ok(SchemaStatus {
                    applied,
                    expected: up_migrations(&SQLITE_MIGRATOR),
                })
            }
            Backend::Postgres(db) => db.schema_status().await,
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                sqlx::query("SELECT 1").execute(&db.pool).await?;
            }
            Backend::Postgres(db) => db.ping().await?,
        }
        Ok(())
    }

    /// The writer of the dataset a first sync builds.
    pub async fn first_sync_writer(&self, dataset: NewDataset) -> Result<FirstSyncWriter, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(db) => FirstSyncWriter::Sqlite(db.first_sync_writer(dataset).await?),
            Backend::Postgres(db) => FirstSyncWriter::Postgres(db.first_sync_writer(dataset).await?),
        })
    }

    /// The SQLite pool, when the store is SQLite (its session store and tests).
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.backend {
            Backend::Sqlite(db) => Some(&db.pool),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, when the store is PostgreSQL (its session store and tests).
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db.pool()),
        }
    }

    /// "SQLite" or "PostgreSQL".
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

fn up_migrations(migrator: &Migrator) -> i64 {
    migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count() as i64
}

impl SqliteStore {
    async fn connect(url: &DatabaseUrl, path: &std::path::Path) -> Result<Self, StoreError> {
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
