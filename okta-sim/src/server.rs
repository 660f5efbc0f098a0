//! HTTP wiring: routes, the per-request gate (stats, rate limits, faults) and `RunningSim`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::errors::{OktaError, SimError};
use crate::faults::{error_response, slow_delay, truncate, FaultKind};
use crate::handle::SimHandle;
use crate::org::Org;
use crate::rate_limit::Bucket;
use crate::state::Shared;
use crate::util::{lock, now_ms, random_base62};
use crate::{admin, api, token, ui};

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/okta-organization", get(api::org_info))
        .route(token::TOKEN_PATH, post(token::token_endpoint))
        .route("/api/v1/users", get(api::list_users))
        .route("/api/v1/users/{id}", get(api::get_user))
        .route("/api/v1/groups", get(api::list_groups))
        .route("/api/v1/groups/{id}", get(api::get_group))
        .route("/api/v1/groups/{id}/users", get(api::list_group_users))
        .route("/api/v1/apps", get(api::list_apps))
        .route("/api/v1/apps/{id}", get(api::get_app))
        .route("/api/v1/apps/{id}/users", get(api::list_app_users))
        .route("/api/v1/apps/{id}/users/{user_id}", get(api::get_app_user))
        .route("/api/v1/apps/{id}/groups", get(api::list_app_groups))
        .route("/api/v1/apps/{id}/groups/{group_id}", get(api::get_app_group))
        .route("/api/v1/logs", get(api::list_logs))
        .merge(admin::router())
        .merge(ui::router())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

fn is_admin_path(path: &str) -> bool {
    path == "/" || path == "/sim" || path.starts_with("/sim/")
}

/// Runs before every request. Admin paths are loopback-only and not counted; Okta paths are
/// counted, rate limited and subject to injected faults (in that order).
async fn gate(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if is_admin_path(&path) {
        let loopback = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| c.0.ip().is_loopback());
        if !loopback {
            return (
                axum::http::StatusCode::FORBIDDEN,
                "okta-sim admin is loopback-only",
            )
                .into_response();
        }
        return next.run(req).await;
    }
    let bucket = Bucket::for_path(&path);
    lock(&shared.stats).record(bucket, req.method().as_str(), &path);
    let decision = lock(&shared.limiter).check(bucket, now_ms());
    let mut resp = if !decision.allowed {
        lock(&shared.stats).record_rate_limited(bucket);
        OktaError::rate_limited().into_response()
    } else {
        let fault = lock(&shared.faults).next(&path);
        match fault {
            Some(kind) => apply_fault(kind, req, next).await,
            None => next.run(req).await,
        }
    };
    decision.apply(resp.headers_mut());
    if let Ok(id) = HeaderValue::from_str(&random_base62(27, &mut rand::thread_rng())) {
        resp.headers_mut().insert("X-Okta-Request-Id", id);
    }
    resp
}

async fn apply_fault(kind: FaultKind, req: Request, next: Next) -> Response {
    if let Some(resp) = error_response(&kind) {
        return resp;
    }
    if let Some(delay) = slow_delay(&kind) {
        tokio::time::sleep(delay).await;
        return next.run(req).await;
    }
    truncate(next.run(req).await).await
}

/// A simulator serving on a local port. Dropping it stops the server too.
pub struct RunningSim {
    pub base_url: String,
    handle: SimHandle,
    local_addr: SocketAddr,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// Seeds the org, binds `config.listen` and starts serving in the background.
    pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
        config.validate()?;
        let (seed, users, groups, memberships) =
            (config.seed, config.users, config.groups, config.memberships);
        // Seeding a large org takes a moment of pure CPU; keep it off the async workers.
        let org = tokio::task::spawn_blocking(move || Org::seed(seed, users, groups, memberships))
            .await
            .map_err(|e| SimError::Internal(format!("seeding failed: {e}")))?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let host = match local_addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(host, local_addr.port()));
        // Used only to fetch service apps' JWKS URLs; never follows redirects off loopback.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| SimError::Internal(format!("HTTP client: {e}")))?;
        let shared = Arc::new(Shared::new(base_url.clone(), org, config.rate_limit, http));
        let app = router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
        if let Some(logged) = lock(&shared.logged_rx).take() {
            tokio::spawn(crate::event_hooks::dispatch(shared.clone(), logged));
        }
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("okta-sim server error: {e}");
            }
        });
        Ok(RunningSim {
            base_url,
            handle: SimHandle { shared },
            local_addr,
            shutdown_tx: Some(shutdown_tx),
            task: Some(task),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops accepting connections and waits (up to 5 s) for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}
