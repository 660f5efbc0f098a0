//! One-time sign-in links printed on the host: the first admin's setup link,
//! and `roster admin setup-link`, the recovery path when every session is
//! lost. Only a hash of each link's token is stored.

use crate::{
    domain::{
        access::Actor,
        audit::{Audit, AuditAction},
        DomainResult,
    },
    store::{Admin, RedeemOutcome, Store},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SETUP_LINK_VALIDITY: time::Duration = time::Duration::hours(1);
const FIRST_ADMIN_NAME: &str = "Setup administrator";

/// What opening a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The first admin was created and signed in.
    FirstAdmin(Admin),
    /// An existing admin was signed in (a recovery link).
    Recovered(Admin),
    /// Unknown, used or expired.
    Invalid,
}

pub(crate) fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone)]
pub struct SetupLinks {
    store: Store,
    public_url: String,
    audit: Audit,
}

impl SetupLinks {
    pub fn new(store: Store, public_url: String, audit: Audit) -> Self {
        Self {
            store,
            public_url,
            audit,
        }
    }

    /// `roster admin setup-link`: the break-glass path. Logged loudly and
    /// audited, whoever runs it.
    pub async fn issue_recovery(&self, actor: &Actor) -> DomainResult<String> {
        let link = self.issue().await?;
        tracing::warn!("a one-time recovery sign-in link was issued on the host (roster admin setup-link)");
        self.audit
            .record(
                actor,
                AuditAction::RecoveryLinkIssued,
                None,
                serde_json::json!({}),
            )
            .await;
        Ok(link)
    }

    /// At start-up: a link only while no admin exists.
    pub async fn issue_if_no_admin(&self) -> DomainResult<Option<String>> {
        if self.store.count_admins().await? > 0 {
            return Ok(None);
        }
        self.issue().await.map(Some)
    }

    /// A fresh one-time link, whether or not admins exist (valid for one hour).
    pub async fn issue(&self) -> DomainResult<String> {
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = URL_SAFE_NO_PAD.encode(raw);
        self.store
            .insert_setup_token(&hash_token(&token), SETUP_LINK_VALIDITY)
            .await?;
        Ok(format!("{}/setup?token={token}", self.public_url))
    }

    /// Spends a link: creates the first admin, or signs in the first existing one.
    pub async fn redeem(&self, token: &str) -> DomainResult<SignInOutcome> {
        Ok(
            match self
                .store
                .redeem_setup_token(&hash_token(token), FIRST_ADMIN_NAME)
                .await?
            {
                RedeemOutcome::Created(admin) => SignInOutcome::FirstAdmin(admin),
                RedeemOutcome::Recovered(admin) => SignInOutcome::Recovered(admin),
                RedeemOutcome::Invalid => SignInOutcome::Invalid,
            },
        )
    }
}
