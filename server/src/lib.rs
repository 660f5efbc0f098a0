//! Roster's server: configuration, storage, secrets, authentication and the
//! HTTP surface. Domain modules are siblings; HTTP handlers stay thin.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod hardening;
pub mod health;
pub mod jwks;
pub mod model;
pub mod okta;
pub mod okta_hooks_api;
pub mod portal;
pub mod rest;
pub mod scim_api;
pub mod startup;
pub mod state;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod web;
