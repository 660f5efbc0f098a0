use crate::directory::DirectoryService;
use crate::{
    config::{Config, PublicUrl},
    crypto::MasterKey,
    store::Store,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Everything a request handler may need; cloned per request (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The configured public URL, or the one derived from the bound address.
    pub public_url: PublicUrl,
    pub store: Store,
    pub master_key: Arc<MasterKey>,
    pub directories: DirectoryService,
    pub leptos_options: LeptosOptions,
    pub started_at: time::OffsetDateTime,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
