//! An Okta management-API client authenticating as an API Services app:
//! `private_key_jwt` client credentials, DPoP when Okta asks for it, paced
//! against rate limits, bounded retries for what is worth retrying.

use super::{
    error::{ApiErrorBody, OAuthErrorBody, OktaError},
    jwt,
    keys::KeyPair,
    link::next_link,
    model::TokenResponse,
    pacer::{bucket_of, wait_after_429, Pacer, RateLimitHeaders},
    ClientId, OktaOrigin,
};
use reqwest::{header, StatusCode};
use serde::de::DeserializeOwned;
use std::{
    sync::{
        atomic::{AtomicU64, AtomicU8, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use zeroize::Zeroizing;

pub const SYNC_SCOPES: [&str; 3] = ["okta.users.read", "okta.groups.read", "okta.apps.read"];
/// Refresh this long before Okta's expiry so no request carries a dying token.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// Who Roster is to Okta.
#[derive(Clone)]
pub struct Credentials {
    pub origin: OktaOrigin,
    pub client_id: ClientId,
    pub key: KeyPair,
    /// Separate from the client-authentication key, as Okta recommends.
    pub dpop_key: KeyPair,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub max_429_waits: u32,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(15),
            max_429_waits: 6,
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(10));
        let jitter = Duration::from_millis(u64::from(rand::random::<u8>()) % 100);
        exp.min(self.max_delay) + jitter
    }
}

/// Counters for the run record and the benchmark.
#[derive(Debug, Default)]
pub struct CallStats {
    pub calls: AtomicU64,
    pub pages: AtomicU64,
    pub rate_limited: AtomicU64,
    pub paced_waits: AtomicU64,
    pub waited_ms: AtomicU64,
    pub retries: AtomicU64,
    pub token_requests: AtomicU64,
}

impl CallStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// One page of a paginated list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// What the token endpoint granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub dpop: bool,
    pub scopes: Vec<String>,
}

struct CachedToken {
    value: Zeroizing<String>,
    dpop: bool,
    refresh_at: Instant,
    scopes: Vec<String>,
}

const DPOP_UNKNOWN: u8 = 0;
const DPOP_OFF: u8 = 1;
const DPOP_ON: u8 = 2;

pub struct OktaClient {
    http: reqwest::Client,
    creds: Credentials,
    scopes: String,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    dpop_mode: AtomicU8,
    pacer: Arc<Pacer>,
    retry: RetryPolicy,
    /// Its requests go before other waiting requests of the same pacer.
    priority: bool,
    pub stats: CallStats,
}

fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl OktaClient {
    pub fn new(
        http: reqwest::Client,
        creds: Credentials,
        scopes: &[&str],
        pacer: Arc<Pacer>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            creds,
            scopes: scopes.join(" "),
            token: tokio::sync::Mutex::new(None),
            dpop_mode: AtomicU8::new(DPOP_UNKNOWN),
            pacer,
            retry,
            priority: false,
            stats: CallStats::default(),
        }
    }

    /// Makes this client's requests go first among those waiting on its
    /// pacer (a targeted refresh beside a full sync's member pages).
    pub fn with_priority(mut self) -> Self {
        self.priority = true;
        self
    }

    pub fn origin(&self) -> &OktaOrigin {
        &self.creds.origin
    }

    /// Starts in DPoP mode when an earlier verify found the app requires it,
    /// saving the round trip that discovers it.
    pub fn assume_dpop(&self, dpop: bool) {
        self.dpop_mode
            .store(if dpop { DPOP_ON } else { DPOP_OFF }, Ordering::Relaxed);
    }

    /// Obtains (or reuses) an access token and says what it carries.
    pub async fn token_info(&self) -> Result<TokenInfo, OktaError> {
        let mut guard = self.token.lock().await;
        let token = self.valid_token(&mut guard).await?;
        Ok(TokenInfo {
            dpop: token.dpop,
            scopes: token.scopes.clone(),
        })
    }

    async fn valid_token<'a>(&self, slot: &'a mut Option<CachedToken>) -> Result<&'a CachedToken, OktaError> {
        let fresh = slot.as_ref().is_some_and(|t| Instant::now() < t.refresh_at);
        if !fresh {
            *slot = Some(self.request_token().await?);
        }
        slot.as_ref()
            .ok_or_else(|| OktaError::Protocol("no token".into()))
    }

    async fn current_token(&self) -> Result<(Zeroizing<String>, bool), OktaError> {
        let mut guard = self.token.lock().await;
        let token = self.valid_token(&mut guard).await?;
        Ok((token.value.clone(), token.dpop))
    }

    async fn drop_token(&self) {
        *self.token.lock().await = None;
    }

    /// The token request: client assertion, then DPoP if Okta asks for a
    /// proof (`invalid_dpop_proof`) and a nonce (`use_dpop_nonce`).
    async fn request_token(&self) -> Result<CachedToken, OktaError> {
        let url = self.creds.origin.token_url();
        let mut nonce: Option<String> = None;
        let mut dpop_switches = 0;
        loop {
            let use_dpop = self.dpop_mode.load(Ordering::Relaxed) == DPOP_ON;
            // A fresh assertion and proof (fresh `jti`) for every attempt:
            // Okta spends a jti even when the request fails.
            let answer = self
                .exchange(&url, "the token endpoint", || {
                    bump(&self.stats.token_requests, 1);
                    let now = now_epoch();
                    let assertion =
                        jwt::client_assertion(&self.creds.key, self.creds.client_id.as_str(), &url, now);
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("scope", self.scopes.as_str()),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", assertion.as_str()),
                    ];
                    let request = self
                        .http
                        .post(&url)
                        .header(header::ACCEPT, "application/json")
                        .form(&form);
                    if use_dpop {
                        request.header(
                            "DPoP",
                            jwt::dpop_proof(&self.creds.dpop_key, "POST", &url, now, nonce.as_deref(), None),
                        )
                    } else {
                        request
                    }
                })
                .await?;
            if answer.status.is_success() {
                let body: TokenResponse = serde_json::from_slice(&answer.body)
                    .map_err(|e| OktaError::Protocol(format!("token response: {e}")))?;
                return self.cache_token(body);
            }
            let offered_nonce = answer
                .headers
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: OAuthErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
            match body.error.as_str() {
                "use_dpop_nonce" if offered_nonce.is_some() && dpop_switches < 3 => {
                    dpop_switches += 1;
                    self.dpop_mode.store(DPOP_ON, Ordering::Relaxed);
                    nonce = offered_nonce;
                }
                "invalid_dpop_proof" if !use_dpop && dpop_switches < 3 => {
                    // The app requires DPoP: switch on and try again.
                    dpop_switches += 1;
                    self.dpop_mode.store(DPOP_ON, Ordering::Relaxed);
                }
                "invalid_dpop_proof" | "use_dpop_nonce" => {
                    return Err(OktaError::Dpop(body.error_description))
                }
                "invalid_client" | "unauthorized_client" => {
                    return Err(OktaError::InvalidClient(body.error_description))
                }
                "invalid_scope" => return Err(OktaError::InvalidScope(body.error_description)),
                other => {
                    return Err(OktaError::InvalidClient(format!(
                        "{}: {other} {}",
                        answer.status, body.error_description
                    )))
                }
            }
        }
    }

    fn cache_token(&self, body: TokenResponse) -> Result<CachedToken, OktaError> {
        let dpop = body.token_type.eq_ignore_ascii_case("DPoP");
        if !dpop && !body.token_type.eq_ignore_ascii_case("Bearer") {
            return Err(OktaError::Protocol(format!(
                "unknown token_type {}",
                body.token_type
            )));
        }
        if self.dpop_mode.load(Ordering::Relaxed) == DPOP_UNKNOWN {
            self.dpop_mode.store(DPOP_OFF, Ordering::Relaxed);
        }
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600));
        let refresh_in = lifetime.saturating_sub(TOKEN_REFRESH_MARGIN.min(lifetime / 4));
        Ok(CachedToken {
            value: Zeroizing::new(body.access_token),
            dpop,
            refresh_at: Instant::now() + refresh_in,
            scopes: body
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The one way Roster talks to Okta: paced per rate-limit bucket, the
    /// request built afresh for each attempt (`build`), transport errors,
    /// broken-off bodies and 5xx retried with capped backoff, 429 waited
    /// out until `X-Rate-Limit-Reset`. Every wait is counted. Returns the
    /// full answer for the caller to read, or the error once retries are spent.
    async fn exchange(
        &self,
        url: &str,
        what: &str,
        mut build: impl FnMut() -> reqwest::RequestBuilder,
    ) -> Result<Answer, OktaError> {
        let bucket = bucket_of(url);
        let mut retries = 0;
        let mut waits_429 = 0;
        loop {
            let request = build().timeout(self.retry.timeout);
            let permit = self.pacer.acquire_as(&bucket, self.priority).await;
            self.note_wait(permit.waited);
            bump(&self.stats.calls, 1);
            let sent = request.send().await;
            let response = match sent {
                Ok(response) => {
                    if let Some(seen) = RateLimitHeaders::parse(response.headers()) {
                        self.pacer.record(&bucket, seen);
                    }
                    drop(permit);
                    let status = response.status();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|body| Answer {
                        status,
                        headers,
                        body,
                    })
                }
                Err(e) => {
                    drop(permit);
                    Err(e)
                }
            };
            let answer = match response {
                Ok(answer) => answer,
                // Also a connection dropped mid-body: the attempt is repeated.
                Err(e) if retries < self.retry.max_retries => {
                    retries += 1;
                    bump(&self.stats.retries, 1);
                    tracing::debug!(error = %e, what, "request failed; retrying");
                    tokio::time::sleep(self.retry.backoff(retries)).await;
                    continue;
                }
                Err(e) => return Err(OktaError::Unreachable(describe_reqwest(&e))),
            };
            match answer.status {
                StatusCode::TOO_MANY_REQUESTS if waits_429 < self.retry.max_429_waits => {
                    waits_429 += 1;
                    bump(&self.stats.rate_limited, 1);
                    let wait = wait_after_429(&answer.headers);
                    bump(&self.stats.waited_ms, wait.as_millis() as u64);
                    tokio::time::sleep(wait).await;
                }
                StatusCode::TOO_MANY_REQUESTS => return Err(OktaError::RateLimited(what.to_owned())),
                s if s.is_server_error() && retries < self.retry.max_retries => {
                    retries += 1;
                    bump(&self.stats.retries, 1);
                    tokio::time::sleep(self.retry.backoff(retries)).await;
                }
                s if s.is_server_error() => {
                    return Err(OktaError::Server {
                        status: s.as_u16(),
                        what: what.to_owned(),
                    })
                }
                _ => return Ok(answer),
            }
        }
    }

    fn note_wait(&self, waited: Duration) {
        if !waited.is_zero() {
            bump(&self.stats.paced_waits, 1);
            bump(&self.stats.waited_ms, waited.as_millis() as u64);
        }
    }

    /// GETs one page of a list. `what` names the resource in errors.
    pub async fn get_page<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<Page<T>, OktaError> {
        let answer = self
            .get_ok(url, what)
            .await?
            .ok_or_else(|| OktaError::NotFound(what.to_owned()))?;
        let items: Vec<T> =
            serde_json::from_slice(&answer.body).map_err(|e| OktaError::Protocol(format!("{what}: {e}")))?;
        bump(&self.stats.pages, 1);
        Ok(Page {
            items,
            next: next_link(&answer.headers),
        })
    }

    /// GETs one object; `None` when Okta answers 404 (a targeted refresh
    /// reads "not assigned" or "deleted" from it).
    pub async fn get_one<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<Option<T>, OktaError> {
        let Some(answer) = self.get_ok(url, what).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&answer.body)
            .map(Some)
            .map_err(|e| OktaError::Protocol(format!("{what}: {e}")))
    }

    /// A GET's successful answer (`None`: 404), through the token, DPoP,
    /// pacing and retry rules; every other status is an error.
    async fn get_ok(&self, url: &str, what: &str) -> Result<Option<Answer>, OktaError> {
        if !self.creds.origin.owns(url) {
            return Err(OktaError::Protocol(format!(
                "a pagination link left the Okta org: {url}"
            )));
        }
        let mut token_refreshed = false;
        loop {
            let (token, dpop) = self.current_token().await?;
            let answer = self
                .exchange(url, what, || {
                    let request = self.http.get(url).header(header::ACCEPT, "application/json");
                    if dpop {
                        let proof = jwt::dpop_proof(
                            &self.creds.dpop_key,
                            "GET",
                            url,
                            now_epoch(),
                            None,
                            Some(token.as_str()),
                        );
                        request
                            .header(header::AUTHORIZATION, format!("DPoP {}", token.as_str()))
                            .header("DPoP", proof)
                    } else {
                        request.header(header::AUTHORIZATION, format!("Bearer {}", token.as_str()))
                    }
                })
                .await?;
            match answer.status {
                s if s.is_success() => return Ok(Some(answer)),
                StatusCode::UNAUTHORIZED if !token_refreshed => {
                    // Revoked or expired early: one fresh token, then give up.
                    token_refreshed = true;
                    self.drop_token().await;
                }
                StatusCode::UNAUTHORIZED => {
                    let body: ApiErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
                    return Err(OktaError::InvalidClient(format!(
                        "access token rejected: {}",
                        body.error_summary
                    )));
                }
                StatusCode::FORBIDDEN => {
                    let insufficient_scope = answer
                        .headers
                        .get(header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("insufficient_scope"));
                    let body: ApiErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
                    return Err(OktaError::Forbidden {
                        what: what.to_owned(),
                        summary: format!("{} {}", body.error_code, body.error_summary)
                            .trim()
                            .to_owned(),
                        insufficient_scope,
                    });
                }
                StatusCode::NOT_FOUND => return Ok(None),
                s => return Err(OktaError::Protocol(format!("{what}: HTTP {s}"))),
            }
        }
    }

    /// Pages of a list, following `rel="next"` links from `first_url`.
    pub fn pages<T: DeserializeOwned>(&self, first_url: String, what: &'static str) -> Pager<'_, T> {
        Pager {
            client: self,
            next: Some(first_url),
            what,
            item: std::marker::PhantomData,
        }
    }
}

/// Walks a paginated list one page at a time: `while let Some(items) = pages.next().await? { … }`.
pub struct Pager<'a, T> {
    client: &'a OktaClient,
    next: Option<String>,
    what: &'static str,
    item: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pager<'_, T> {
    /// The next page's items, or `None` after the last page.
    pub async fn next(&mut self) -> Result<Option<Vec<T>>, OktaError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let page = self.client.get_page::<T>(&url, self.what).await?;
        self.next = page.next;
        Ok(Some(page.items))
    }
}

/// A response read to the end.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: axum::body::Bytes,
}

/// Network errors without the URL's query (cursors) and with the cause chain.
fn describe_reqwest(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection broke off"
    } else {
        "request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
