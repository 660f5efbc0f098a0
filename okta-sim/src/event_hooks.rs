//! Okta Event Hooks as the simulator delivers them: an admin registers a hook (Okta's
//! `EventHook` body: the event types, a URI, static headers and an `authScheme` header — Okta
//! signs nothing), verifies it (a GET carrying `X-Okta-Verification-Challenge` that must be
//! echoed as `{"verification": …}`), and from then on System Log events of its types are
//! POSTed to it in batches (`data.events[]`), with a 3 s timeout and one retry, like Okta.
//! Faults for tests: every batch delivered twice, and batches' events in reverse order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::errors::SimError;
use crate::state::Shared;
use crate::syslog::{types, LogEvent};
use crate::util::{lock, now_ms, random_base62, rfc3339_millis};

/// Okta answers a delivery within this or counts it failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Changes this close together go in one request.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
const MAX_BATCH: usize = 50;

/// The body of `POST /api/v1/eventHooks` (what an admin or Terraform sends).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookSpec {
    pub name: String,
    pub events: HookEvents,
    pub channel: HookChannel,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HookEvents {
    #[serde(rename = "type")]
    pub kind: String,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HookChannel {
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    pub config: HookConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookConfig {
    pub uri: String,
    #[serde(default)]
    pub headers: Vec<HookHeader>,
    #[serde(default)]
    pub auth_scheme: Option<AuthScheme>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HookHeader {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthScheme {
    #[serde(rename = "type")]
    pub kind: String,
    pub key: String,
    pub value: String,
}

/// One delivery attempt, for tests and the `/sim` page.
#[derive(Debug, Clone)]
struct Delivery {
    at: i64,
    events: usize,
    status: Option<u16>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
struct EventHook {
    id: String,
    name: String,
    verified: bool,
    types: BTreeSet<String>,
    uri: String,
    /// Static headers, the auth scheme's among them.
    headers: Vec<(String, String)>,
    auth_key: Option<String>,
    created: i64,
    deliveries: Vec<Delivery>,
}

impl EventHook {
    fn render(&self) -> Value {
        json!({
            "id": self.id,
            "status": "ACTIVE",
            "verificationStatus": if self.verified { "VERIFIED" } else { "UNVERIFIED" },
            "name": self.name,
            "created": rfc3339_millis(self.created),
            "lastUpdated": rfc3339_millis(self.created),
            "events": { "type": "EVENT_TYPE", "items": self.types },
            "channel": {
                "type": "HTTP",
                "version": "1.0.0",
                "config": {
                    "uri": self.uri,
                    "headers": self.headers.iter()
                        .filter(|(k, _)| Some(k) != self.auth_key.as_ref())
                        .map(|(k, v)| json!({ "key": k, "value": v }))
                        .collect::<Vec<_>>(),
                    // Okta never returns the secret.
                    "authScheme": self.auth_key.as_ref().map(|k| json!({ "type": "HEADER", "key": k, "value": null })),
                }
            },
            "_deliveries": self.deliveries.iter().map(|d| json!({
                "at": rfc3339_millis(d.at), "events": d.events, "status": d.status, "error": d.error,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Deliveries tests can make worse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookFaults {
    /// Every batch is delivered twice.
    #[serde(default)]
    pub duplicate: bool,
    /// Each batch's events arrive newest first.
    #[serde(default)]
    pub reorder: bool,
}

#[derive(Debug, Default)]
pub(crate) struct EventHooks {
    hooks: BTreeMap<String, EventHook>,
    pub faults: HookFaults,
}

impl EventHooks {
    pub fn create(&mut self, spec: HookSpec, now: i64) -> Result<Value, SimError> {
        if spec.name.trim().is_empty() {
            return Err(SimError::BadRequest("name is required".into()));
        }
        if spec.events.kind != "EVENT_TYPE" || spec.channel.kind != "HTTP" || spec.channel.version != "1.0.0"
        {
            return Err(SimError::BadRequest(
                "events.type must be EVENT_TYPE and channel HTTP version 1.0.0".into(),
            ));
        }
        if spec.events.items.is_empty() {
            return Err(SimError::BadRequest(
                "subscribe to at least one event type".into(),
            ));
        }
        if let Some(bad) = spec
            .events
            .items
            .iter()
            .find(|t| !types::ALL.contains(&t.as_str()))
        {
            return Err(SimError::BadRequest(format!(
                "{bad} is not an event type eligible for event hooks"
            )));
        }
        let uri = reqwest::Url::parse(&spec.channel.config.uri)
            .map_err(|_| SimError::BadRequest("channel.config.uri is not a URL".into()))?;
        // Okta requires HTTPS; the simulator also accepts plain HTTP to loopback, for tests.
        let loopback = matches!(uri.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if uri.scheme() != "https" && !(uri.scheme() == "http" && loopback) {
            return Err(SimError::BadRequest("channel.config.uri must use https".into()));
        }
        let mut headers: Vec<(String, String)> = spec
            .channel
            .config
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect();
        let auth_key = match spec.channel.config.auth_scheme {
            None => None,
            Some(a) if a.kind == "HEADER" && !a.key.is_empty() => {
                headers.push((a.key.clone(), a.value));
                Some(a.key)
            }
            Some(_) => return Err(SimError::BadRequest("authScheme.type must be HEADER".into())),
        };
        let id = format!("who{}", random_base62(17, &mut rand::thread_rng()));
        let hook = EventHook {
            id: id.clone(),
            name: spec.name,
            verified: false,
            types: spec.events.items.into_iter().collect(),
            uri: spec.channel.config.uri,
            headers,
            auth_key,
            created: now,
            deliveries: Vec::new(),
        };
        let rendered = hook.render();
        self.hooks.insert(id, hook);
        Ok(rendered)
    }

    pub fn list(&self) -> Vec<Value> {
        self.hooks.values().map(EventHook::render).collect()
    }

    pub fn delete(&mut self, id: &str) -> Result<(), SimError> {
        self.hooks
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| SimError::NotFound(format!("event hook {id}")))
    }

    fn target(&self, id: &str) -> Result<(String, Vec<(String, String)>), SimError> {
        let hook = self
            .hooks
            .get(id)
            .ok_or_else(|| SimError::NotFound(format!("event hook {id}")))?;
        Ok((hook.uri.clone(), hook.headers.clone()))
    }
}

/// Okta's one-time verification: GET the URI with a challenge, expect it echoed.
pub(crate) async fn verify(shared: &Shared, id: &str) -> Result<Value, SimError> {
    let (uri, headers) = lock(&shared.hooks).target(id)?;
    let challenge = random_base62(32, &mut rand::thread_rng());
    let mut request = shared
        .http
        .get(&uri)
        .timeout(DELIVERY_TIMEOUT)
        .header("X-Okta-Verification-Challenge", &challenge);
    for (k, v) in &headers {
        request = request.header(k, v);
    }
    let failed = |why: String| SimError::BadRequest(format!("Event hook verification failed: {why}"));
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("the endpoint answered {}", response.status())));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|_| failed("the answer is not JSON".into()))?;
    if body["verification"].as_str() != Some(challenge.as_str()) {
        return Err(failed("the answer does not echo the challenge".into()));
    }
    let mut hooks = lock(&shared.hooks);
    let hook = hooks
        .hooks
        .get_mut(id)
        .ok_or_else(|| SimError::NotFound(format!("event hook {id}")))?;
    hook.verified = true;
    Ok(hook.render())
}

/// Sends logged events to the verified hooks, batching what arrives within a short window.
pub(crate) async fn dispatch(shared: Arc<Shared>, mut logged: UnboundedReceiver<Vec<LogEvent>>) {
    while let Some(mut events) = logged.recv().await {
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while events.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, logged.recv()).await {
                Ok(Some(more)) => events.extend(more),
                Ok(None) | Err(_) => break,
            }
        }
        deliver(&shared, &events).await;
    }
}

async fn deliver(shared: &Shared, events: &[LogEvent]) {
    let (hooks, faults): (Vec<EventHook>, HookFaults) = {
        let registry = lock(&shared.hooks);
        (
            registry.hooks.values().filter(|h| h.verified).cloned().collect(),
            registry.faults,
        )
    };
    for hook in hooks {
        let wanted: Vec<&LogEvent> = events
            .iter()
            .filter(|e| hook.types.contains(e.event_type))
            .collect();
        for chunk in wanted.chunks(MAX_BATCH) {
            let mut batch: Vec<Value> = chunk.iter().map(|e| e.render()).collect();
            if faults.reorder {
                batch.reverse();
            }
            let body = json!({
                "eventType": "com.okta.event_hook",
                "eventTypeVersion": "1.0",
                "cloudEventsVersion": "0.1",
                "source": format!("{}/api/v1/eventHooks/{}", shared.base_url, hook.id),
                "eventId": uuid::Uuid::new_v4().to_string(),
                "eventTime": rfc3339_millis(now_ms()),
                "contentType": "application/json",
                "data": { "events": batch },
            });
            let copies = if faults.duplicate { 2 } else { 1 };
            for _ in 0..copies {
                post_with_one_retry(shared, &hook, &body, batch.len()).await;
            }
        }
    }
}

async fn post_with_one_retry(shared: &Shared, hook: &EventHook, body: &Value, events: usize) {
    for _attempt in 0..2 {
        let mut request = shared.http.post(&hook.uri).timeout(DELIVERY_TIMEOUT).json(body);
        for (k, v) in &hook.headers {
            request = request.header(k, v);
        }
        let (status, error) = match request.send().await {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        if let Some(h) = lock(&shared.hooks).hooks.get_mut(&hook.id) {
            h.deliveries.push(Delivery {
                at: now_ms(),
                events,
                status,
                error,
            });
        }
        if ok {
            return;
        }
    }
}
