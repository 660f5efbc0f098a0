//! The directory sync engine: fetch from Okta into staging, diff, apply
//! safely, on a schedule or on demand.

mod credentials;
mod engine;
mod incremental;
mod log_poll;
pub(crate) mod normalize;
mod progress;
mod refresh;
mod run;
mod triggers;

pub use crate::model::Trigger;
pub use credentials::{load as load_credentials, open_key as open_key_for, seal_purpose};
pub use engine::{
    http_client, DeprovisionHook, EngineConfig, LogDeprovisions, OktaErrorSummary, RunOutcome, SyncEngine,
    SyncError,
};
pub use incremental::incremental_allowed;
pub use log_poll::{PollEnd, LOG_RETENTION, LOG_SCOPES, MAX_RECORDS_PER_POLL, OVERLAP};
pub use progress::Progress;
pub use refresh::{RefreshEnd, RefreshOutcome, RefreshTargets};
pub use run::{breaker_trips, APP_GROUPS_PAGE, APP_USERS_PAGE, GROUP_MEMBERS_PAGE, MEMBER_FETCH_CONCURRENCY};
pub use triggers::{refresh_items, LogEvent, LogTarget, EVENT_TYPES};
