//! Turns a validated [`Config`] into a running server. Each failure here is a
//! one-line, actionable [`StartupError`]; `main` prints it and exits.

use crate::{
    auth::{self, AttemptLimiter},
    config::{Config, PublicUrl},
    crypto::{KeyError, MasterKey},
    domain::Core,
    hardening::{self, CspNonce, MAX_BODY_BYTES},
    health, jwks, portal, rest,
    state::AppState,
    store::{Store, StoreError},
    sync,
};
use app::{shell, App};
use axum::{extract::DefaultBodyLimit, routing::get, routing::post, Router};
use leptos::{
    config::LeptosOptions,
    prelude::{provide_context, use_context},
};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::{
    path::Path,
    sync::{Arc, OnceLock},
};
use tokio::net::TcpListener;
use tower_sessions::{cookie::SameSite, session_store::ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// How often expired sessions, dead sign-ins and old audit entries are deleted.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);
const NOTIFY_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How often the scheduler looks for directories whose sync is due.
const SCHEDULER_TICK: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("data directory {path} is not usable: {reason}; create it or set ROSTER_DATA_DIR to a writable directory")]
    DataDir { path: String, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}; check ROSTER_DATABASE_URL")]
    Store(#[from] StoreError),
    #[error("cannot prepare the session table: {0}")]
    Sessions(String),
    #[error(
        "cannot listen on {addr}: {reason}; stop the other process or set ROSTER_LISTEN to a free address"
    )]
    Listen { addr: String, reason: String },
    #[error("cannot issue the setup link: {0}")]
    Setup(String),
    #[error("cannot create the HTTP client for Okta: {0}")]
    HttpClient(String),
}

/// The instance service over the data directory, without serving: what
/// `roster admin …` uses on the host (the server may be running meanwhile).
pub async fn open_instance(config: Config) -> Result<crate::domain::instance::Instance, StartupError> {
    prepare_data_dir(&config.data_dir)?;
    let store = Store::connect(&config.database).await?;
    store.migrate().await?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| PublicUrl::for_listen_address(config.listen));
    let audit = crate::domain::audit::Audit::new(store.clone());
    Ok(crate::domain::instance::Instance::new(
        store,
        Arc::new(config),
        public_url.as_str().to_owned(),
        audit,
    ))
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    setup_link: Option<String>,
    session_store: Sessions,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        prepare_data_dir(&config.data_dir)?;
        let master_key = MasterKey::load_or_create(&config.data_dir, config.master_key.as_deref())?;
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        let session_store = Sessions::open(&store).await?;

        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartupError::Listen {
                addr: config.listen.to_string(),
                reason: e.to_string(),
            })?;
        let leptos_options = leptos_options(&config, &listener)?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| PublicUrl::for_listen_address(leptos_options.site_addr));
        let master_key = Arc::new(master_key);
        let http = sync::http_client().map_err(|e| StartupError::HttpClient(e.to_string()))?;
        let config = Arc::new(config);
        let core = Core::new(
            store,
            master_key,
            http,
            Arc::clone(&config),
            public_url.as_str().to_owned(),
        );
        let interrupted = core.directories.engine().recover().await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "marked sync runs interrupted by the last shutdown as failed"
            );
        }
        let setup_link = core
            .instance
            .setup_links()
            .issue_if_no_admin()
            .await
            .map_err(|e| StartupError::Setup(e.to_string()))?;
        let state = AppState {
            public_url,
            config,
            core,
            leptos_options,
            setup_attempts: Arc::new(AttemptLimiter::new(10, std::time::Duration::from_secs(15 * 60))),
        };
        // Startup cleanup runs here, before anything is served, so the
        // periodic task never races requests made right after start.
        maintain(&state, &session_store).await;
        let router = router(state.clone(), session_store.clone());
        Ok(Self {
            listener,
            router,
            state,
            setup_link,
            session_store,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The one-time link that creates the first admin, when none exists yet.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Stopped with the server, also when this future is dropped
        // (aborted) rather than run to the end.
        let _background = AbortOnDrop(vec![
            self.state.core.sync.spawn_scheduler(SCHEDULER_TICK),
            spawn_maintenance(self.state.clone(), self.session_store.clone()),
            self.state.core.webhooks.deliverer().spawn(),
            self.state.core.refresh_worker().spawn(),
            self.state.core.log_poller().spawn(),
            spawn_notifier(self.state.clone()),
        ]);
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await;
        served
    }
}

/// Deletes expired sessions (the store's own rows), sign-ins past their
/// lifetime, and audit entries past retention.
fn spawn_maintenance(state: AppState, sessions: Sessions) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + MAINTENANCE_EVERY;
        let mut tick = tokio::time::interval_at(first, MAINTENANCE_EVERY);
        loop {
            tick.tick().await;
            maintain(&state, &sessions).await;
        }
    })
}

/// Aborts the tasks it holds when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Looks for problems to mail about every minute (the back-off decides
/// whether anything is sent).
fn spawn_notifier(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(NOTIFY_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.core.notifications.notify().await {
                tracing::warn!(error = %e, "could not check for failure notifications");
            }
        }
    })
}

async fn maintain(state: &AppState, sessions: &Sessions) {
    if let Err(e) = sessions.delete_expired().await {
        tracing::warn!(error = %e, "could not delete expired sessions");
    }
    if let Err(e) = state.core.signin.prune().await {
        tracing::warn!(error = %e, "could not delete ended sign-ins");
    }
    if let Err(e) = state.core.audit.prune(state.config.audit_retention).await {
        tracing::warn!(error = %e, "could not prune the audit log");
    }
    if let Err(e) = state.core.events.prune(state.config.event_retention).await {
        tracing::warn!(error = %e, "could not prune the event log");
    }
    if let Err(e) = state.core.webhooks.prune(state.config.event_retention).await {
        tracing::warn!(error = %e, "could not prune the webhook delivery log");
    }
    // Okta repeats a delivery within minutes; a day of uuids is plenty.
    if let Err(e) = state.core.okta_hooks.prune(time::Duration::days(1)).await {
        tracing::warn!(error = %e, "could not prune received Okta event ids");
    }
}

/// The data directory holds live session ids and directory PII: it is made
/// 0700 and its database files 0600; looser modes on an existing directory
/// are tightened, with a warning.
fn prepare_data_dir(dir: &Path) -> Result<(), StartupError> {
    let fail = |reason: String| StartupError::DataDir {
        path: dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    #[cfg(unix)]
    restrict_modes(dir).map_err(|e| fail(e.to_string()))?;
    // Permission bits lie under root and on some mounts; a real write does not.
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(|e| fail(e.to_string()))?;
    std::fs::remove_file(&probe).map_err(|e| fail(e.to_string()))
}

#[cfg(unix)]
fn restrict_modes(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tighten = |path: &Path, mode: u32| -> std::io::Result<()> {
        let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if current & !mode != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{current:o}"), "tightening permissions to {mode:o}: this holds sessions and directory data");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    };
    tighten(dir, 0o700)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            tighten(&path, 0o600)?;
        }
    }
    Ok(())
}

fn leptos_options(config: &Config, listener: &TcpListener) -> Result<LeptosOptions, StartupError> {
    let site_addr = listener.local_addr().map_err(|e| StartupError::Listen {
        addr: config.listen.to_string(),
        reason: e.to_string(),
    })?;
    Ok(LeptosOptions::builder()
        .output_name("roster")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(site_addr)
        .build())
}

/// The app's routes, generated once per process. Generating them runs the app
/// with resource loading suppressed process-wide (a leptos_server global), so a
/// page rendered meanwhile by another instance in the same process (the
/// integration tests run dozens) could wait forever on its data.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Portal sessions live in the same database as everything else, so on
/// PostgreSQL a user signed in through one replica is signed in on all.
#[derive(Clone, Debug)]
enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    async fn open(store: &Store) -> Result<Self, StartupError> {
        if let Some(pool) = store.postgres_pool() {
            let sessions = PostgresStore::new(pool.clone());
            // Replicas starting together race to create the session table
            // (`IF NOT EXISTS` is not atomic in PostgreSQL); the loser retries.
            let mut attempt = 0;
            while let Err(e) = sessions.migrate().await {
                attempt += 1;
                if attempt >= 5 {
                    return Err(StartupError::Sessions(e.to_string()));
                }
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            return Ok(Self::Postgres(sessions));
        }
        let pool = store
            .sqlite_pool()
            .ok_or_else(|| StartupError::Sessions("no session store for this database".into()))?;
        let sessions = SqliteStore::new(pool.clone());
        sessions
            .migrate()
            .await
            .map_err(|e| StartupError::Sessions(e.to_string()))?;
        Ok(Self::Sqlite(sessions))
    }

    async fn delete_expired(&self) -> tower_sessions::session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

fn router(state: AppState, sessions: Sessions) -> Router {
    match sessions {
        Sessions::Sqlite(store) => router_with(state, store),
        Sessions::Postgres(store) => router_with(state, store),
    }
}

fn router_with<S: tower_sessions::SessionStore + Clone>(state: AppState, session_store: S) -> Router {
    let sessions = SessionManagerLayer::new(session_store)
        .with_name("roster_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.public_url.is_https())
        .with_expiry(Expiry::OnInactivity(state.config.session_idle));

    let ports = portal::ports(state.core.clone());
    let context = move || {
        provide_context(ports.clone());
        // The CSP nonce of this response, for the hydration scripts.
        if let Some(nonce) = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
        {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    };
    let routes = route_list();
    let options = state.leptos_options.clone();

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/setup",
            get(auth::setup_confirm_handler).post(auth::setup_handler),
        )
        .route("/signout", post(auth::signout_handler))
        .route("/auth/login", get(auth::login_handler))
        .route("/auth/callback", get(auth::callback_handler))
        .route("/auth/test/{id}", get(auth::test_handler))
        .route("/directories/{id}/jwks.json", get(jwks::jwks_handler))
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn(|request, next| {
            hardening::limit_body(request, next, MAX_BODY_BYTES)
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // After the session layers: the REST API takes API tokens only, and
        // never sees (or sets) the UI's cookie.
        .nest("/api/v1", rest::router(state.clone()))
        // SCIM clients present a bearer token per directory; no cookies.
        .nest("/scim/v2", crate::scim_api::router())
        // Okta's event hooks present a secret header per directory; no cookies.
        .nest("/hooks/okta", crate::okta_hooks_api::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hardening::security_headers,
        ))
        .with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
