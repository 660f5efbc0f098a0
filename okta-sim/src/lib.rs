//! okta-sim: a strict, in-process or standalone simulator of one Okta org, for Roster's tests
//! and demo. It implements the org authorization server's client-credentials grant
//! (`private_key_jwt` + DPoP), the read-only management endpoints Roster uses, Okta's
//! pagination, rate limits and error shapes, plus an admin API and page under `/sim`.
//! Never used by Roster's real code path.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod admin;
mod api;
mod apps;
mod auth;
mod config;
mod dpop;
mod errors;
mod event_hooks;
mod faults;
mod handle;
mod jwt;
mod mutate;
mod org;
mod pagination;
mod rate_limit;
mod render;
mod server;
mod state;
mod stats;
mod syslog;
mod token;
mod ui;
mod util;

pub use apps::{ServiceAppInfo, ServiceAppPatch, ServiceAppSpec};
pub use config::{RateLimitConfig, SimConfig};
pub use errors::SimError;
pub use event_hooks::{HookFaults, HookSpec};
pub use faults::{FaultKind, FaultRule};
pub use handle::{OrgSummary, SimHandle};
pub use mutate::{GroupPatch, NewGroup, NewUser, UserPatch};
pub use server::RunningSim;
pub use stats::{BucketStats, StatsSnapshot};

/// The fixed OAuth client id of the seeded "Roster" OIDC app.
pub const ROSTER_CLIENT_ID: &str = org::ROSTER_CLIENT_ID;
