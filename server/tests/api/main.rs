//! The server crate's one integration-test binary: every module below boots
//! the real server on port 0 with its own SQLite file and talks HTTP to it.

mod helpers;
mod log_polling;
mod notifications;
mod okta_fixture;
mod okta_hooks;
mod pg;

mod auth;
mod cli;
mod hardening;
mod health;
mod identities;
mod pages;
mod records;
mod refresh;
mod replicas;
mod rest;
mod scim;
mod sessions;
mod signin;
mod startup_errors;
mod store_conformance;
mod sync;
mod transfer;
mod verify;
mod webhooks;
