use crate::{
    auth::AttemptLimiter,
    config::{Config, PublicUrl},
    domain::Core,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// What a request handler may need: the configuration and the core. No
/// adapter reaches the store; everything goes through `core`'s services.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The configured public URL, or the one derived from the bound address.
    pub public_url: PublicUrl,
    pub core: Core,
    pub leptos_options: LeptosOptions,
    /// Setup-link guesses per client address.
    pub setup_attempts: Arc<AttemptLimiter>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
