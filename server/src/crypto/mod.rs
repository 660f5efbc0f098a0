//! Secrets at rest: the instance's master key and the seal/open API that
//! every stored secret (private keys, client secrets) goes through.

mod master_key;

pub use master_key::{KeyError, MasterKey, SealError};
