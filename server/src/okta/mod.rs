//! Talking to Okta: validated inputs, keys and JWTs, the paced API client.

mod client;
mod client_id;
mod error;
mod jwt;
mod keys;
mod link;
pub mod model;
mod origin;
mod pacer;
mod verify;

pub use client::{CallStats, Credentials, OktaClient, Page, RetryPolicy, TokenInfo, SYNC_SCOPES};
pub use client_id::ClientId;
pub use error::{ErrorClass, OktaError};
pub use keys::{KeyPair, PublicJwk};
pub use origin::{parse_extra_origins, OktaOrigin, OriginError};
pub use pacer::Pacer;
pub use verify::{verify, AppChoice, CheckItem, CheckStatus, VerifyInput, VerifyReport};
