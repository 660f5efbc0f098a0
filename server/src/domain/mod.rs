//! The core: every business rule of Roster, behind one service per
//! aggregate. Front doors (the UI's server functions, the REST API, the CLI)
//! parse their input into the types of [`crate::model`], call one function
//! here and convert the result; none of them decides anything.
//!
//! Arrows point one way: adapters → domain → store / okta client / crypto.

pub mod access;
pub mod audit;
pub mod clock;
pub mod directories;
mod error;
pub mod events;
pub mod identities;
pub mod instance;
pub mod log_polling;
pub mod notifications;
pub mod okta_hooks;
pub mod paging;
pub mod refresh_worker;
pub mod scim;
pub mod signin;
pub mod sync;
pub mod webhooks;

pub use access::{Actor, ActorKind};
pub use error::{DomainError, DomainResult, ErrorKind};
pub use paging::{Page, PageRequest};

use crate::{
    config::Config,
    crypto::MasterKey,
    okta::RetryPolicy,
    store::Store,
    sync::{EngineConfig, SyncEngine},
};
use audit::Audit;
use directories::{Directories, DirectoryService};
use identities::Identities;
use instance::Instance;
use signin::SignInService;
use std::sync::Arc;
use sync::SyncService;

/// The domain services, wired once at start-up; cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub directories: Directories,
    pub sync: SyncService,
    pub identities: Identities,
    pub instance: Instance,
    pub signin: SignInService,
    pub audit: Audit,
    pub scim: scim::ScimService,
    pub events: events::Events,
    pub webhooks: webhooks::Webhooks,
    pub notifications: notifications::Notifications,
    pub okta_hooks: okta_hooks::OktaHooks,
    pub log_polling: log_polling::LogPolling,
    store: Store,
    master_key: Arc<MasterKey>,
}

impl Core {
    /// Wires the services over an opened, migrated store.
    pub fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        http: reqwest::Client,
        config: Arc<Config>,
        public_url: String,
    ) -> Self {
        let audit = Audit::new(store.clone());
        let signin = SignInService::new(
            store.clone(),
            Arc::clone(&master_key),
            http.clone(),
            config.okta_extra_origins.clone(),
            public_url.clone(),
            audit.clone(),
            config.session_absolute,
        );
        let revoke: Arc<dyn crate::sync::DeprovisionHook> =
            Arc::new(signin::RevokeOnDeprovision(signin.clone()));
        let engine = SyncEngine::with_hook(
            store.clone(),
            Arc::clone(&master_key),
            http.clone(),
            EngineConfig {
                extra_origins: config.okta_extra_origins.clone(),
                ..EngineConfig::default()
            },
            Arc::clone(&revoke),
        );
        let lifecycle = DirectoryService::new(
            store.clone(),
            Arc::clone(&master_key),
            http,
            engine,
            config.okta_extra_origins.clone(),
            public_url.clone(),
            RetryPolicy::default(),
        );
        let directories = Directories::new(lifecycle, store.clone(), audit.clone());
        let identities = Identities::new(directories.clone(), store.clone(), revoke);
        let webhooks = webhooks::Webhooks::new(
            store.clone(),
            Arc::clone(&master_key),
            config.webhooks.clone(),
            audit.clone(),
        );
        Self {
            log_polling: log_polling::LogPolling::new(
                store.clone(),
                directories.engine().clone(),
                audit.clone(),
            ),
            okta_hooks: okta_hooks::OktaHooks::new(
                store.clone(),
                Arc::clone(&master_key),
                public_url.clone(),
                audit.clone(),
            ),
            sync: SyncService::new(directories.clone(), store.clone(), audit.clone()),
            scim: scim::ScimService::new(
                store.clone(),
                audit.clone(),
                identities.clone(),
                public_url.clone(),
            ),
            identities,
            events: events::Events::new(store.clone()),
            notifications: notifications::Notifications::new(
                store.clone(),
                directories.clone(),
                webhooks.clone(),
                audit.clone(),
                config.notify.clone(),
                public_url.clone(),
            ),
            webhooks,
            instance: Instance::new(store.clone(), config, public_url, audit.clone()),
            signin,
            audit,
            directories,
            store,
            master_key,
        }
    }

    /// The worker that drains the refresh queue (one per process).
    pub fn refresh_worker(&self) -> refresh_worker::RefreshWorker {
        refresh_worker::RefreshWorker::new(self.store.clone(), self.directories.engine().clone())
    }

    /// The System Log poller (one per process).
    pub fn log_poller(&self) -> log_polling::LogPoller {
        log_polling::LogPoller::new(self.store.clone(), self.directories.engine().clone())
    }

    /// The store and master key under the services, for tests and the
    /// benchmark that drive the engine directly. Adapters never use them.
    #[doc(hidden)]
    pub fn internals(&self) -> (&Store, &Arc<MasterKey>) {
        (&self.store, &self.master_key)
    }
}
