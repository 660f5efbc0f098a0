//! The simulator's shared state. Each part has its own lock so token checks, rate limiting and
//! org reads never wait on each other; no lock is held across an `.await`.

use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, RwLock};

use axum::http::{header, HeaderMap};

use crate::apps::ServiceApps;
use crate::config::RateLimitConfig;
use crate::dpop::{Nonces, ReplayCache};
use crate::event_hooks::EventHooks;
use crate::faults::Faults;
use crate::org::Org;
use crate::rate_limit::RateLimiter;
use crate::stats::Stats;
use crate::syslog::{LogEvent, SystemLog};
use crate::token::TokenStore;
use crate::util::now_ms;

pub(crate) const DEFAULT_TOKEN_LIFETIME_S: u64 = 3600;

pub(crate) struct Shared {
    /// `http://127.0.0.1:PORT`, used in links, `aud` and issued tokens.
    pub base_url: String,
    pub org: RwLock<Org>,
    pub service_apps: RwLock<ServiceApps>,
    pub tokens: Mutex<TokenStore>,
    pub replay: Mutex<ReplayCache>,
    pub nonces: Mutex<Nonces>,
    pub limiter: Mutex<RateLimiter>,
    pub faults: Mutex<Faults>,
    pub stats: Mutex<Stats>,
    pub token_lifetime_s: AtomicU64,
    pub http: reqwest::Client,
    pub syslog: Mutex<SystemLog>,
    pub hooks: Mutex<EventHooks>,
    /// Logged events on their way to the event hooks' dispatcher.
    pub logged: tokio::sync::mpsc::UnboundedSender<Vec<LogEvent>>,
    /// The dispatcher's end, taken when the server starts.
    pub logged_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Vec<LogEvent>>>>,
}

impl Shared {
    pub fn new(base_url: String, org: Org, rate_limit: RateLimitConfig, http: reqwest::Client) -> Shared {
        let (logged, logged_rx) = tokio::sync::mpsc::unbounded_channel();
        Shared {
            base_url,
            org: RwLock::new(org),
            service_apps: RwLock::new(ServiceApps::default()),
            tokens: Mutex::new(TokenStore::default()),
            replay: Mutex::new(ReplayCache::default()),
            nonces: Mutex::new(Nonces::new(now_ms())),
            limiter: Mutex::new(RateLimiter::new(rate_limit)),
            faults: Mutex::new(Faults::default()),
            stats: Mutex::new(Stats::default()),
            token_lifetime_s: AtomicU64::new(DEFAULT_TOKEN_LIFETIME_S),
            http,
            syslog: Mutex::new(SystemLog::default()),
            hooks: Mutex::new(EventHooks::default()),
            logged,
            logged_rx: Mutex::new(Some(logged_rx)),
        }
    }

    /// The URL the client actually invoked (scheme://host:port/path), as DPoP `htu` and the
    /// assertion `aud` must name it. Falls back to the base URL without a `Host` header.
    pub fn request_url(&self, headers: &HeaderMap, path: &str) -> String {
        match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(host) => format!("http://{host}{path}"),
            None => format!("{}{path}", self.base_url),
        }
    }
}
