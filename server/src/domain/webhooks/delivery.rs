//! The sender. Every process runs one: it looks for endpoints with events
//! past their cursor every [`POLL_EVERY`], takes an endpoint's lease (so one
//! process, on one replica, sends to it at a time), posts the next batch and
//! records the outcome in one fenced write with the lease released. One
//! batch is in flight per endpoint, so every endpoint receives events in
//! commit order, hence in order per entity; a batch is only passed once the
//! receiver answered 2xx, so delivery is at least once: a crash or a lost
//! lease between the answer and the write sends the batch again.

use super::{failure_reason, policy::DeliveryPolicy, signing, target};
use crate::{
    crypto::MasterKey,
    domain::{events::event_of, DomainError, DomainResult},
    store::{self, sortable, AttemptRecord, DeliveryRow, EventFilter, Store, WebhookRow},
};
use rand::Rng;
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How often the sender looks for new events: the floor of the delivery
/// latency (a query of the tiny endpoints table; cheap).
pub const POLL_EVERY: Duration = Duration::from_millis(200);
/// How much of a response body the delivery log keeps.
const SNIPPET_BYTES: usize = 512;

/// The HTTP client for webhooks: no redirects (a 3xx is a failure: the
/// admin fixes the URL), no proxy from the environment, the policy's
/// timeout, and a resolver that refuses private addresses.
///
/// A client that cannot be built is an error each attempt reports, never a
/// fallback to an unguarded client.
pub(super) fn client(policy: &DeliveryPolicy) -> Result<reqwest::Client, String> {
    let resolver = target::GuardedResolver {
        allowed: Arc::new(policy.allowed_networks.clone()),
    };
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("Roster-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(resolver))
        .build()
        .map_err(|e| format!("the webhook HTTP client could not be built: {e}"))
}

#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    master_key: Arc<MasterKey>,
    policy: Arc<DeliveryPolicy>,
    client: Result<reqwest::Client, String>,
    /// This process's lease holder name.
    holder: Arc<str>,
    busy: Arc<Mutex<HashSet<String>>>,
}

impl Deliverer {
    pub(super) fn new(
        store: Store,
        master_key: Arc<MasterKey>,
        policy: Arc<DeliveryPolicy>,
        client: Result<reqwest::Client, String>,
    ) -> Self {
        Self {
            store,
            master_key,
            policy,
            client,
            holder: format!("webhooks-{}", uuid::Uuid::new_v4()).into(),
            busy: Arc::default(),
        }
    }

    /// Runs until the task is aborted. Deliveries run as its children:
    /// aborting it abandons them mid-request, like a crash, and the batch
    /// goes again once the lease lapses (at least once).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut deliveries = tokio::task::JoinSet::new();
            let mut tick = tokio::time::interval(POLL_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                while deliveries.try_join_next().is_some() {}
                if let Err(e) = self.start_due(&mut deliveries).await {
                    tracing::warn!(error = %e, "webhook sender could not read due endpoints");
                }
            }
        })
    }

    /// Starts a delivery for each due endpoint not already being sent to.
    async fn start_due(&self, deliveries: &mut tokio::task::JoinSet<()>) -> DomainResult<()> {
        let due = self
            .store
            .due_webhooks(&sortable(store::now()), &self.holder)
            .await?;
        for id in due {
            let fresh = self
                .busy
                .lock()
                .map(|mut busy| busy.insert(id.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let me = self.clone();
            deliveries.spawn(async move {
                // Sends batches while more wait, so a backlog drains at the
                // receiver's pace, not the poll's.
                loop {
                    match me.deliver_next(&id).await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(webhook = %id, error = %e, "webhook delivery could not be recorded");
                            break;
                        }
                    }
                }
                if let Ok(mut busy) = me.busy.lock() {
                    busy.remove(&id);
                }
            });
        }
        Ok(())
    }

    /// Sends the next batch to endpoint `id` if it is due and this process
    /// gets its lease. `true`: it was delivered and more may wait.
    pub async fn deliver_next(&self, id: &str) -> DomainResult<bool> {
        let Some(endpoint) = self.claim(id).await? else {
            return Ok(false);
        };
        match self.deliver_claimed(&endpoint).await {
            Ok(more) => Ok(more),
            // Anything that stops a delivery (a secret that cannot be
            // opened, an event that cannot be read) is a failed attempt: it
            // backs off, is shown, and in the end disables the endpoint,
            // instead of leaving it held and silently stuck.
            Err(e) => {
                tracing::warn!(webhook = %endpoint.id, error = %e, "webhook batch could not be prepared");
                let delivery = DeliveryRow {
                    id: 0,
                    endpoint_id: endpoint.id.clone(),
                    attempted_at: sortable(store::now()),
                    kind: "events".into(),
                    attempt: endpoint.failures + 1,
                    first_position: None,
                    last_position: None,
                    event_count: 0,
                    outcome: "failed".into(),
                    status_code: None,
                    latency_ms: 0,
                    error: Some(format!("Roster could not prepare the batch: {}", e.message)),
                    response_snippet: None,
                };
                self.fail(&endpoint, &delivery, store::now()).await?;
                Ok(false)
            }
        }
    }

    /// Takes (or renews) the endpoint's lease while it is due.
    async fn claim(&self, id: &str) -> DomainResult<Option<WebhookRow>> {
        let at = store::now();
        let until = at + time::Duration::try_from(self.policy.lease()).unwrap_or(time::Duration::seconds(30));
        Ok(self
            .store
            .claim_webhook(id, &self.holder, &sortable(at), &sortable(until))
            .await?)
    }

    async fn deliver_claimed(&self, endpoint: &WebhookRow) -> DomainResult<bool> {
        let at = store::now();
        // Read the newest position first: every event up to it has
        // committed (the event log's guarantee), so passing over the ones
        // the filters do not want, up to it, never skips a late one.
        let high_water = self.store.events_high_water().await?;
        let pruned = self.store.events_pruned_through().await?;
        let cursor = endpoint.delivered_through.max(pruned);
        let event_types: Vec<String> = super::list_of(&endpoint.event_types)?;
        let directory_ids: Vec<String> = super::list_of(&endpoint.directory_ids)?;
        let rows = self
            .store
            .events_page(&EventFilter {
                after: cursor,
                limit: self.policy.batch_size,
                types: &event_types,
                directory_ids: &directory_ids,
                through: Some(high_water),
                newest: false,
            })
            .await?;
        let full = rows.len() as i64 == self.policy.batch_size;
        let advance_to = match rows.last() {
            Some(last) if full => last.position,
            _ => high_water.max(cursor),
        };
        let skipped = (endpoint.delivered_through < pruned).then(|| {
            format!(
                "Events {} to {pruned} were removed by retention before they could be sent; sending continues after them.",
                endpoint.delivered_through + 1
            )
        });
        if rows.is_empty() {
            // Nothing this endpoint wants: move the cursor, log nothing
            // (unless retention skipped events, which the admin must see).
            let gap = skipped.map(|error| DeliveryRow {
                id: 0,
                endpoint_id: endpoint.id.clone(),
                attempted_at: sortable(store::now()),
                kind: "events".into(),
                attempt: 1,
                first_position: None,
                last_position: None,
                event_count: 0,
                outcome: "skipped".into(),
                status_code: None,
                latency_ms: 0,
                error: Some(error),
                response_snippet: None,
            });
            self.finish(endpoint, gap.as_ref(), Some(advance_to), None)
                .await?;
            return Ok(false);
        }
        let first_position = rows.first().map(|r| r.position);
        let last_position = rows.last().map(|r| r.position);
        let count = rows.len() as i64;
        let events = rows.into_iter().map(event_of).collect::<DomainResult<Vec<_>>>()?;
        let body = serde_json::to_vec(&serde_json::json!({ "events": events }))
            .map_err(|e| DomainError::internal("webhooks", e))?;
        // The reads took time: renew the lease for the whole request, or
        // leave the batch to whoever holds the endpoint now.
        if self.claim(&endpoint.id).await?.is_none() {
            return Ok(false);
        }
        let sent = self
            .post(endpoint, body, &format!("dlv_{}", uuid::Uuid::new_v4()))
            .await?;
        let mut delivery = DeliveryRow {
            id: 0,
            endpoint_id: endpoint.id.clone(),
            attempted_at: sortable(at),
            kind: "events".into(),
            attempt: endpoint.failures + 1,
            first_position,
            last_position,
            event_count: count,
            outcome: if sent.ok { "delivered" } else { "failed" }.into(),
            status_code: sent.status,
            latency_ms: sent.latency_ms,
            error: sent.error.clone(),
            response_snippet: sent.snippet,
        };
        if let (Some(gap), true) = (skipped, sent.ok) {
            delivery.error = Some(gap);
        }
        if sent.ok {
            self.finish(endpoint, Some(&delivery), Some(advance_to), None)
                .await?;
            return Ok(full || advance_to < self.store.events_high_water().await?);
        }
        self.fail(endpoint, &delivery, at).await?;
        Ok(false)
    }

    /// Records a failed attempt: back off, or disable after too many.
    async fn fail(
        &self,
        endpoint: &WebhookRow,
        delivery: &DeliveryRow,
        at: time::OffsetDateTime,
    ) -> DomainResult<()> {
        let attempt = endpoint.failures + 1;
        let failing_since = endpoint
            .failing_since
            .as_deref()
            .and_then(|t| store::parse_timestamp(t).ok())
            .unwrap_or(at);
        let disable = self
            .policy
            .should_disable(attempt, store::now() - failing_since)
            .then(|| failure_reason(attempt, delivery.error.as_deref().unwrap_or("no answer")));
        self.finish(endpoint, Some(delivery), None, disable.as_deref())
            .await?;
        if disable.is_some() {
            // The id, not the URL: URLs often carry a token in their path.
            tracing::warn!(webhook = %endpoint.id, failures = attempt, "webhook endpoint disabled after repeated failures");
        }
        Ok(())
    }

    async fn finish(
        &self,
        endpoint: &WebhookRow,
        delivery: Option<&DeliveryRow>,
        advance_to: Option<i64>,
        disable: Option<&str>,
    ) -> DomainResult<()> {
        let next = match advance_to {
            Some(_) => store::now(),
            None => {
                let jitter = rand::thread_rng().gen::<f64>();
                let wait = self.policy.retry_delay(endpoint.failures + 1, jitter);
                store::now() + time::Duration::try_from(wait).unwrap_or(time::Duration::hours(1))
            }
        };
        let kept = self
            .store
            .finish_webhook_attempt(
                &self.holder,
                &AttemptRecord {
                    endpoint_id: &endpoint.id,
                    claimed_through: endpoint.delivered_through,
                    delivery,
                    advance_to,
                    next_attempt_at: &sortable(next),
                    disable,
                },
            )
            .await?;
        if !kept {
            tracing::info!(webhook = %endpoint.id, "the endpoint was replayed or taken over mid-delivery; its new cursor stands");
        }
        Ok(())
    }

    /// Sends a `webhook.test` event to `endpoint` and logs the attempt.
    pub(super) async fn send_test(&self, endpoint: &WebhookRow) -> DomainResult<DeliveryRow> {
        let at = store::now();
        let id = format!("evt_test_{}", uuid::Uuid::new_v4().simple());
        let body = serde_json::to_vec(&serde_json::json!({ "events": [{
            "id": id,
            "cursor": null,
            "type": "webhook.test",
            "directory_id": null,
            "entity_id": endpoint.id,
            "version": 0,
            "occurred_at": store::timestamp(at),
            "data": {"message": "A test event from Roster: if you can read this, the URL and signature check work."},
        }]}))
        .map_err(|e| DomainError::internal("webhooks", e))?;
        let sent = self
            .post(endpoint, body, &format!("dlv_{}", uuid::Uuid::new_v4()))
            .await?;
        let delivery = DeliveryRow {
            id: 0,
            endpoint_id: endpoint.id.clone(),
            attempted_at: sortable(at),
            kind: "test".into(),
            attempt: 1,
            first_position: None,
            last_position: None,
            event_count: 1,
            outcome: if sent.ok { "delivered" } else { "failed" }.into(),
            status_code: sent.status,
            latency_ms: sent.latency_ms,
            error: sent.error,
            response_snippet: sent.snippet,
        };
        self.store.record_webhook_delivery(&delivery).await?;
        Ok(delivery)
    }

    /// Posts a signed body; never fails for the receiver's sake (that is
    /// the outcome), only when the secret cannot be opened.
    async fn post(&self, endpoint: &WebhookRow, body: Vec<u8>, delivery_id: &str) -> DomainResult<Sent> {
        let secrets = self.secrets(endpoint)?;
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let t = store::now().unix_timestamp();
        let started = Instant::now();
        // The URL was checked when saved; checked again in case the
        // operator has since narrowed the allowed networks.
        let url = match target::check_url(&endpoint.url, &self.policy.allowed_networks) {
            Ok(url) => url,
            Err(reason) => return Ok(Sent::failed(reason, started)),
        };
        let client = match &self.client {
            Ok(client) => client,
            Err(reason) => return Ok(Sent::failed(reason.clone(), started)),
        };
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header(signing::HEADER, signing::header_value(&refs, t, &body))
            .header("Roster-Delivery", delivery_id)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Ok(Sent::failed(describe(&e), started)),
        };
        let status = response.status();
        let snippet = read_snippet(response).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let ok = status.is_success();
        let error = (!ok).then(|| match status.as_u16() {
            300..=399 => format!("answered {status} (a redirect); Roster follows none: set the final URL"),
            _ => format!("answered {status}"),
        });
        Ok(Sent {
            ok,
            status: Some(i64::from(status.as_u16())),
            latency_ms,
            error,
            snippet,
        })
    }

    /// The current secret, and the previous one while it overlaps.
    fn secrets(&self, endpoint: &WebhookRow) -> DomainResult<Vec<String>> {
        let purpose = format!("webhook-secret:{}", endpoint.id);
        let open = |sealed: &str| -> DomainResult<String> {
            let plain = self.master_key.open(sealed, &purpose).map_err(|e| {
                DomainError::internal("webhooks", format!("cannot open the signing secret: {e}"))
            })?;
            String::from_utf8(plain.to_vec()).map_err(|e| DomainError::internal("webhooks", e))
        };
        let mut secrets = vec![open(&endpoint.secret_sealed)?];
        let overlapping = endpoint
            .previous_secret_until
            .as_deref()
            .and_then(|t| store::parse_timestamp(t).ok())
            .is_some_and(|until| until > store::now());
        if let (true, Some(previous)) = (overlapping, endpoint.previous_secret_sealed.as_deref()) {
            secrets.push(open(previous)?);
        }
        Ok(secrets)
    }
}

struct Sent {
    ok: bool,
    status: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
    snippet: Option<String>,
}

impl Sent {
    fn failed(error: String, started: Instant) -> Self {
        Self {
            ok: false,
            status: None,
            latency_ms: started.elapsed().as_millis() as i64,
            error: Some(error),
            snippet: None,
        }
    }
}

/// Why a request got no answer, in words an admin can act on.
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if error.is_timeout() {
        "no answer within the timeout".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of a response body, as printable text.
async fn read_snippet(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(SNIPPET_BYTES);
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}
