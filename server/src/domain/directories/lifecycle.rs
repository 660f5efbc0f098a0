//! Directory lifecycle: keys, connection details, verification, activation,
//! rotation, settings.

use super::settings::{RawSyncSettings, SyncSettings};
use crate::{
    crypto::MasterKey,
    domain::{DomainError, DomainResult},
    model::{DirectoryState, KeyPurpose, KeyState, Trigger},
    okta::{self, ClientId, KeyPair, OktaOrigin, PublicJwk, RetryPolicy, VerifyInput, VerifyReport},
    store::{Directory, NewDirectory, SettingsUpdate, Store},
    sync::{seal_purpose, RunOutcome, SyncEngine, SyncError},
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn key_error(e: impl std::fmt::Display) -> DomainError {
    DomainError::internal("keys", e)
}

fn not_found() -> DomainError {
    DomainError::not_found("The directory")
}

/// The public half of a directory's key in the forms Okta accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyView {
    pub directory_id: String,
    pub jwk: PublicJwk,
    pub pem: String,
    pub jwks_url: String,
}

#[derive(Clone)]
pub struct DirectoryService {
    store: Store,
    master_key: Arc<MasterKey>,
    http: reqwest::Client,
    engine: SyncEngine,
    extra_origins: Vec<String>,
    public_url: String,
    retry: RetryPolicy,
}

impl DirectoryService {
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        http: reqwest::Client,
        engine: SyncEngine,
        extra_origins: Vec<String>,
        public_url: String,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            store,
            master_key,
            http,
            engine,
            extra_origins,
            public_url,
            retry,
        }
    }

    pub fn engine(&self) -> &SyncEngine {
        &self.engine
    }

    async fn generate_key() -> DomainResult<KeyPair> {
        // RSA generation takes a moment; keep it off the async workers.
        tokio::task::spawn_blocking(KeyPair::generate)
            .await
            .map_err(key_error)?
            .map_err(key_error)
    }

    async fn store_key(
        &self,
        directory_id: &str,
        key: &KeyPair,
        purpose: KeyPurpose,
        state: KeyState,
    ) -> DomainResult<()> {
        let der = key.to_pkcs8_der().map_err(key_error)?;
        let sealed = self.master_key.seal(&der, &seal_purpose(directory_id, key.kid()));
        let jwk = serde_json::to_string(&key.public_jwk()).map_err(key_error)?;
        self.store
            .insert_key(directory_id, key.kid(), purpose, state, &jwk, &sealed)
            .await?;
        Ok(())
    }

    /// The wizard's "Generate Keypair": a draft directory with a sealed client
    /// key and DPoP key. The private keys never leave the server.
    pub async fn create_draft_with_keys(&self) -> DomainResult<PublicKeyView> {
        let id = self
            .store
            .insert_directory(&NewDirectory {
                name: "Okta",
                okta_origin: "",
                client_id: "",
                state: DirectoryState::Draft,
            })
            .await?;
        let client_key = Self::generate_key().await?;
        let dpop_key = Self::generate_key().await?;
        self.store_key(&id, &client_key, KeyPurpose::Client, KeyState::Active)
            .await?;
        self.store_key(&id, &dpop_key, KeyPurpose::Dpop, KeyState::Active)
            .await?;
        self.public_key(&id).await
    }

    /// The key to paste into Okta: the `next` key during a rotation, else the active one.
    pub async fn public_key(&self, directory_id: &str) -> DomainResult<PublicKeyView> {
        let keys = self.store.live_keys(directory_id).await?;
        let key = keys
            .iter()
            .filter(|k| k.purpose == KeyPurpose::Client)
            .find(|k| k.state == KeyState::Next)
            .or_else(|| {
                keys.iter()
                    .find(|k| k.purpose == KeyPurpose::Client && k.state == KeyState::Active)
            })
            .ok_or_else(not_found)?;
        let jwk: PublicJwk = serde_json::from_str(&key.public_jwk).map_err(key_error)?;
        let pair = crate::sync::open_key_for(&self.master_key, directory_id, key).map_err(key_error)?;
        Ok(PublicKeyView {
            directory_id: directory_id.to_owned(),
            pem: pair.public_pem().map_err(key_error)?,
            jwk,
            jwks_url: format!("{}/directories/{directory_id}/jwks.json", self.public_url),
        })
    }

    /// `GET /directories/{id}/jwks.json`: active and next client keys, so Okta
    /// can fetch keys dynamically and a rotation needs no copy-paste.
    pub async fn jwks(&self, directory_id: &str) -> DomainResult<serde_json::Value> {
        let keys = self.store.live_keys(directory_id).await?;
        let jwks: Vec<serde_json::Value> = keys
            .iter()
            .filter(|k| k.purpose == KeyPurpose::Client)
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        if jwks.is_empty() {
            return Err(not_found());
        }
        Ok(serde_json::json!({ "keys": jwks }))
    }

    /// Settings → the directory's own settings: name, interval, pacing, breaker.
    /// A shorter interval takes effect now rather than after the old one ends.
    pub async fn update_settings(&self, directory_id: &str, raw: &RawSyncSettings<'_>) -> DomainResult<()> {
        let settings = SyncSettings::parse(raw).map_err(DomainError::invalid)?;
        let directory = self.store.directory(directory_id).await?.ok_or_else(not_found)?;
        self.store
            .update_settings(
                directory_id,
                &SettingsUpdate {
                    name: &settings.name,
                    interval_secs: settings.interval_secs,
                    rate_limit_share: settings.rate_limit_share,
                    breaker_threshold: settings.breaker_threshold,
                },
            )
            .await?;
        let sooner = time::OffsetDateTime::now_utc() + time::Duration::seconds(settings.interval_secs);
        let scheduled = directory
            .next_sync_at
            .as_deref()
            .and_then(|t| crate::store::parse_timestamp(t).ok());
        if scheduled.is_some_and(|at| at > sooner) {
            self.store.schedule_next_sync(directory_id, sooner).await?;
        }
        Ok(())
    }

    /// The key that is active, and the one waiting for a verify during a rotation.
    pub async fn key_states(&self, directory_id: &str) -> DomainResult<(Option<String>, Option<String>)> {
        let keys = self.store.live_keys(directory_id).await?;
        let kid = |state: KeyState| {
            keys.iter()
                .find(|k| k.purpose == KeyPurpose::Client && k.state == state)
                .map(|k| k.kid.clone())
        };
        Ok((kid(KeyState::Active), kid(KeyState::Next)))
    }

    /// The wizard's inline validation: what is wrong with each field, if anything.
    pub fn check_connection(&self, domain: &str, client_id: &str) -> (Option<String>, Option<String>) {
        let domain = OktaOrigin::parse(domain, &self.extra_origins)
            .err()
            .map(|e| e.to_string());
        (domain, ClientId::parse(client_id).err())
    }

    /// Validates and stores the Okta domain, Client ID and chosen app.
    pub async fn set_connection(
        &self,
        directory_id: &str,
        domain: &str,
        client_id: &str,
        app: Option<(&str, &str)>,
    ) -> DomainResult<()> {
        let origin = OktaOrigin::parse(domain, &self.extra_origins)
            .map_err(|e| DomainError::invalid(e.to_string()))?;
        let client_id = ClientId::parse(client_id).map_err(DomainError::invalid)?;
        self.store.directory(directory_id).await?.ok_or_else(not_found)?;
        self.store
            .update_connection(directory_id, origin.as_str(), client_id.as_str(), app)
            .await?;
        Ok(())
    }

    /// Runs the checklist against the stored settings; records only the outcome.
    pub async fn verify(
        &self,
        directory_id: &str,
        sso_client_id: Option<&str>,
    ) -> DomainResult<VerifyReport> {
        let directory = self.store.directory(directory_id).await?.ok_or_else(not_found)?;
        let keys = self.store.live_keys(directory_id).await?;
        let rotating = keys
            .iter()
            .any(|k| k.purpose == KeyPurpose::Client && k.state == KeyState::Next);
        let key_state = if rotating {
            KeyState::Next
        } else {
            KeyState::Active
        };
        let creds = crate::sync::load_credentials(
            &self.master_key,
            &directory,
            &keys,
            key_state,
            &self.extra_origins,
        )
        .map_err(|e| DomainError::invalid(e.hint()))?;
        let kid = creds.key.kid().to_owned();
        let report = okta::verify(VerifyInput {
            http: self.http.clone(),
            creds,
            chosen_app_id: directory.app_id.as_deref(),
            sso_client_id,
            retry: self.retry,
        })
        .await;
        if report.ok() {
            if let Some(app) = &report.chosen_app {
                if directory.app_id.as_deref() != Some(app.id.as_str())
                    || directory.app_label.as_deref() != Some(app.label.as_str())
                {
                    self.store
                        .update_connection(
                            directory_id,
                            &directory.okta_origin,
                            &directory.client_id,
                            Some((&app.id, &app.label)),
                        )
                        .await?;
                }
                if rotating {
                    self.store.promote_next_key(directory_id).await?;
                }
                let fingerprint = fingerprint(&directory.okta_origin, &directory.client_id, &kid, &app.id);
                self.store
                    .record_verification(directory_id, &fingerprint, report.dpop_required.unwrap_or(false))
                    .await?;
            }
        }
        Ok(report)
    }

    /// Whether the last successful verify still matches what is stored.
    pub async fn is_verified(&self, directory: &Directory) -> DomainResult<bool> {
        let keys = self.store.live_keys(&directory.id).await?;
        let Some(active) = keys
            .iter()
            .find(|k| k.purpose == KeyPurpose::Client && k.state == KeyState::Active)
        else {
            return Ok(false);
        };
        let Some(app_id) = &directory.app_id else {
            return Ok(false);
        };
        let expected = fingerprint(&directory.okta_origin, &directory.client_id, &active.kid, app_id);
        Ok(directory.verified_fingerprint.as_deref() == Some(expected.as_str()))
    }

    /// The wizard's "Create": activates and starts the first sync in the background.
    pub async fn create(&self, directory_id: &str, name: &str) -> DomainResult<()> {
        self.activate(directory_id, name).await?;
        match self.engine.sync_now(directory_id, Trigger::First).await {
            // A preview still running: the scheduler starts the first sync
            // right after it (activation made the directory due now).
            Ok(_) | Err(SyncError::AlreadySyncing) => Ok(()),
            Err(e) => Err(super::super::sync::sync_error(e)),
        }
    }

    /// The wizard's "Preview first": a dry run of a verified draft that
    /// fetches everything and records what the first sync would import,
    /// applying nothing.
    pub async fn preview(&self, directory_id: &str) -> DomainResult<RunOutcome> {
        self.verified_directory(directory_id).await?;
        self.engine
            .sync_and_wait(directory_id, Trigger::Preview)
            .await
            .map_err(super::super::sync::sync_error)
    }

    /// The directory, if its current domain, Client ID, key and app passed a verify.
    async fn verified_directory(&self, directory_id: &str) -> DomainResult<Directory> {
        let directory = self.store.directory(directory_id).await?.ok_or_else(not_found)?;
        if !self.is_verified(&directory).await? {
            return Err(DomainError::conflict(NOT_VERIFIED)
                .with_hint("Run Verify Now; it must pass with the current domain, Client ID, key and app."));
        }
        Ok(directory)
    }

    /// Makes a verified draft an active directory (it is then scheduled).
    pub async fn activate(&self, directory_id: &str, name: &str) -> DomainResult<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(DomainError::invalid(
                "Give the directory a name of 1 to 80 characters.",
            ));
        }
        self.verified_directory(directory_id).await?;
        self.store.activate_directory(directory_id, name).await?;
        Ok(())
    }

    /// Starts a rotation: a `next` key is published in the JWKS and used after
    /// the next successful verify, which retires the old one.
    pub async fn rotate_key(&self, directory_id: &str) -> DomainResult<PublicKeyView> {
        let keys = self.store.live_keys(directory_id).await?;
        if !keys
            .iter()
            .any(|k| k.purpose == KeyPurpose::Client && k.state == KeyState::Next)
        {
            let key = Self::generate_key().await?;
            self.store_key(directory_id, &key, KeyPurpose::Client, KeyState::Next)
                .await?;
        }
        self.public_key(directory_id).await
    }
}

/// Why Create and Preview refuse a draft whose settings changed since the last pass.
pub const NOT_VERIFIED: &str = "Verify the current settings before creating the directory.";

fn fingerprint(origin: &str, client_id: &str, kid: &str, app_id: &str) -> String {
    let digest = Sha256::digest(format!("{origin}\n{client_id}\n{kid}\n{app_id}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
