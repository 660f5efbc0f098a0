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
            stats: CallStats::default(),
        }
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
        let bucket = bucket_of(&url);
        let mut nonce: Option<String> = None;
        let mut retries = 0;
        let mut waits_429 = 0;
        let mut dpop_switches = 0;
        loop {
            let use_dpop = self.dpop_mode.load(Ordering::Relaxed) == DPOP_ON;
            let now = now_epoch();
            let assertion = jwt::client_assertion(&self.creds.key, self.creds.client_id.as_str(), &url, now);
            let form = [
                ("grant_type", "client_credentials"),
                ("scope", self.scopes.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ];
            let mut request = self
                .http
                .post(&url)
                .header(header::ACCEPT, "application/json")
                .form(&form);
            if use_dpop {
                request = request.header(
                    "DPoP",
                    jwt::dpop_proof(&self.creds.dpop_key, "POST", &url, now, nonce.as_deref(), None),
                );
            }
            let permit = self.pacer.acquire(&bucket).await;
            self.note_wait(permit.waited);
            bump(&self.stats.calls, 1);
            bump(&self.stats.token_requests, 1);
            let response = match request.timeout(self.retry.timeout).send().await {
                Ok(r) => r,
                Err(e) if retries < self.retry.max_retries => {
                    drop(permit);
                    retries += 1;
                    bump(&self.stats.retries, 1);
                    tracing::debug!(error = %e, "token request failed; retrying");
                    tokio::time::sleep(self.retry.backoff(retries)).await;
                    continue;
                }
                Err(e) => return Err(OktaError::Unreachable(describe_reqwest(&e))),
            };
            if let Some(seen) = RateLimitHeaders::parse(response.headers()) {
                self.pacer.record(&bucket, seen);
            }
            drop(permit);
            let status = response.status();
            if status.is_success() {
                let body: TokenResponse = response
                    .json()
                    .await
                    .map_err(|e| OktaError::Protocol(format!("token response: {e}")))?;
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
                return Ok(CachedToken {
                    value: Zeroizing::new(body.access_token),
                    dpop,
                    refresh_at: Instant::now() + refresh_in,
                    scopes: body
                        .scope
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                });
            }
            if status == StatusCode::TOO_MANY_REQUESTS && waits_429 < self.retry.max_429_waits {
                waits_429 += 1;
                bump(&self.stats.rate_limited, 1);
                tokio::time::sleep(wait_after_429(response.headers())).await;
                continue;
            }
            if status.is_server_error() && retries < self.retry.max_retries {
                retries += 1;
                bump(&self.stats.retries, 1);
                tokio::time::sleep(self.retry.backoff(retries)).await;
                continue;
            }
            let offered_nonce = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: OAuthErrorBody = response.json().await.unwrap_or_default();
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
                _ if status == StatusCode::TOO_MANY_REQUESTS => {
                    return Err(OktaError::RateLimited("the token endpoint".into()))
                }
                _ if status.is_server_error() => {
                    return Err(OktaError::Server {
                        status: status.as_u16(),
                        what: "the token endpoint".into(),
                    })
                }
                other => {
                    return Err(OktaError::InvalidClient(format!(
                        "{status}: {other} {}",
                        body.error_description
                    )))
                }
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
        if !self.creds.origin.owns(url) {
            return Err(OktaError::Protocol(format!(
                "a pagination link left the Okta org: {url}"
            )));
        }
        let bucket = bucket_of(url);
        let mut retries = 0;
        let mut waits_429 = 0;
        let mut token_refreshed = false;
        loop {
            let (token, dpop) = self.current_token().await?;
            let mut request = self.http.get(url).header(header::ACCEPT, "application/json");
            request = if dpop {
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
            };
            let permit = self.pacer.acquire(&bucket).await;
            self.note_wait(permit.waited);
            bump(&self.stats.calls, 1);
            let outcome = request.timeout(self.retry.timeout).send().await;
            let response = match outcome {
                Ok(r) => r,
                Err(e) if retries < self.retry.max_retries => {
                    drop(permit);
                    retries += 1;
                    bump(&self.stats.retries, 1);
                    tracing::debug!(error = %e, url, "request failed; retrying");
                    tokio::time::sleep(self.retry.backoff(retries)).await;
                    continue;
                }
                Err(e) => return Err(OktaError::Unreachable(describe_reqwest(&e))),
            };
            if let Some(seen) = RateLimitHeaders::parse(response.headers()) {
                self.pacer.record(&bucket, seen);
            }
            drop(permit);
            let status = response.status();
            match status {
                s if s.is_success() => {
                    let next = next_link(response.headers());
                    // A connection dropped mid-body surfaces here: retry the page.
                    let body = match response.bytes().await {
                        Ok(body) => body,
                        Err(e) if retries < self.retry.max_retries => {
                            retries += 1;
                            bump(&self.stats.retries, 1);
                            tracing::debug!(error = %e, url, "response body broke off; retrying");
                            tokio::time::sleep(self.retry.backoff(retries)).await;
                            continue;
                        }
                        Err(e) => return Err(OktaError::Unreachable(describe_reqwest(&e))),
                    };
                    let items: Vec<T> = serde_json::from_slice(&body)
                        .map_err(|e| OktaError::Protocol(format!("{what}: {e}")))?;
                    bump(&self.stats.pages, 1);
                    return Ok(Page { items, next });
                }
                StatusCode::UNAUTHORIZED if !token_refreshed => {
                    // Revoked or expired early: one fresh token, then give up.
                    token_refreshed = true;
                    self.drop_token().await;
                }
                StatusCode::UNAUTHORIZED => {
                    let body: ApiErrorBody = response.json().await.unwrap_or_default();
                    return Err(OktaError::InvalidClient(format!(
                        "access token rejected: {}",
                        body.error_summary
                    )));
                }
                StatusCode::FORBIDDEN => {
                    let insufficient_scope = response
                        .headers()
                        .get(header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("insufficient_scope"));
                    let body: ApiErrorBody = response.json().await.unwrap_or_default();
                    return Err(OktaError::Forbidden {
                        what: what.to_owned(),
                        summary: format!("{} {}", body.error_code, body.error_summary)
                            .trim()
                            .to_owned(),
                        insufficient_scope,
                    });
                }
                StatusCode::NOT_FOUND => return Err(OktaError::NotFound(what.to_owned())),
                StatusCode::TOO_MANY_REQUESTS if waits_429 < self.retry.max_429_waits => {
                    waits_429 += 1;
                    bump(&self.stats.rate_limited, 1);
                    let wait = wait_after_429(response.headers());
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
                s => return Err(OktaError::Protocol(format!("{what}: HTTP {s}"))),
            }
        }
    }

    /// Follows `rel="next"` until the end, handing each page to `on_page`.
    pub async fn for_each_page<T, F>(
        &self,
        first_url: String,
        what: &str,
        mut on_page: F,
    ) -> Result<(), OktaError>
    where
        T: DeserializeOwned,
        F: AsyncFnMut(Vec<T>) -> Result<(), OktaError>,
    {
        let mut url = Some(first_url);
        while let Some(current) = url {
            let page = self.get_page::<T>(&current, what).await?;
            on_page(page.items).await?;
            url = page.next;
        }
        Ok(())
    }
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
