//! Okta Event Hooks, the push way to near-real-time deprovisioning: Okta
//! POSTs System Log events to `{public_url}/hooks/okta/{directory_id}` as
//! they happen. Okta signs nothing; each delivery carries a static secret in
//! an admin-chosen header, compared here in constant time (by its SHA-256).
//!
//! A delivery is answered at once: its events' uuids are recorded (a
//! delivery Okta repeats is dropped) and the users and groups they name are
//! queued for a targeted refresh, in one transaction. The refresh worker
//! (`refresh_worker.rs`) coalesces and re-reads them; an event is a trigger,
//! never data, so duplicates and reordering cannot undo newer state.

use super::{
    access::Actor,
    audit::{Audit, AuditAction},
    error::{DomainError, DomainResult, ErrorKind},
};
use crate::{
    crypto::MasterKey,
    model::DirectoryId,
    store::{self, sortable, SeenEvent, Store},
    sync::LogEvent,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

/// The event types a directory's hook subscribes to (Okta's names).
pub use crate::sync::EVENT_TYPES;

/// The header Okta sends the secret in unless the admin names another.
pub const DEFAULT_HEADER: &str = "Authorization";
/// A record is refreshed once its triggers have been quiet this long (a
/// burst of events for the same user gives one refresh)…
const QUIET_FOR: time::Duration = time::Duration::milliseconds(1000);
/// …but no later than this after the first of them.
const AT_MOST_AFTER: time::Duration = time::Duration::seconds(3);
/// The largest delivery read (Okta batches at most 50 events).
pub const MAX_DELIVERY_BYTES: usize = 1024 * 1024;

/// What the directory page, the API and the CLI show to set the hook up.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HookSetup {
    pub url: String,
    pub header_name: String,
    /// The value Okta must send in the header (copy it into Okta); shown to
    /// admins only.
    pub secret: Option<String>,
    pub event_types: Vec<String>,
    pub created_at: String,
    /// When Okta's one-time verification call last succeeded.
    pub verified_at: Option<String>,
    pub last_delivery_at: Option<String>,
    pub deliveries: i64,
    /// Creates the hook through Okta's API (with an Okta API token).
    pub curl: String,
    /// The same with Okta's Terraform provider.
    pub terraform: String,
}

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Received {
    pub events: usize,
    /// Events not seen before (a repeated delivery: 0).
    pub new_events: usize,
}

#[derive(Clone)]
pub struct OktaHooks {
    store: Store,
    master_key: Arc<MasterKey>,
    public_url: String,
    audit: Audit,
}

/// Okta's delivery body: `{"data": {"events": [...]}}`.
#[derive(Debug, Deserialize)]
struct Delivery {
    data: DeliveryData,
}

#[derive(Debug, Deserialize)]
struct DeliveryData {
    #[serde(default)]
    events: Vec<LogEvent>,
}

impl OktaHooks {
    pub fn new(store: Store, master_key: Arc<MasterKey>, public_url: String, audit: Audit) -> Self {
        Self {
            store,
            master_key,
            public_url,
            audit,
        }
    }

    /// The directory's hook set-up, if it has one (its secret only for
    /// an actor who may change things).
    pub async fn get(&self, actor: &Actor, id: &DirectoryId) -> DomainResult<Option<HookSetup>> {
        let reveal = actor.require_write().is_ok();
        self.store
            .okta_hook(id.as_str())
            .await?
            .map(|row| self.setup_of(row, reveal))
            .transpose()
    }

    /// Creates the directory's hook secret, or a new one (Okta must then be
    /// given it: deliveries with the old one are refused).
    pub async fn create(
        &self,
        actor: &Actor,
        id: &DirectoryId,
        header_name: Option<&str>,
    ) -> DomainResult<HookSetup> {
        actor.require_write()?;
        let directory = self
            .store
            .directory(id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("The directory"))?;
        if !directory.pull_enabled {
            return Err(DomainError::invalid(
                "Event hooks trigger refreshes from Okta's API; this directory is fed by SCIM only.",
            ));
        }
        let header = header_name
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or(DEFAULT_HEADER);
        if !header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || header.len() > 64
        {
            return Err(DomainError::invalid(
                "The header name may use letters, digits, - and _ (at most 64), like X-Roster-Hook-Secret.",
            ));
        }
        let secret = format!("rhk_{}", uuid::Uuid::new_v4().simple());
        let sealed = self.master_key.seal(secret.as_bytes(), &seal_purpose(id));
        self.store
            .set_okta_hook(
                id.as_str(),
                header,
                &hash(&secret),
                &sealed,
                &sortable(store::now()),
            )
            .await?;
        self.audit
            .record(
                actor,
                AuditAction::OktaHookCreated,
                Some(id.as_str()),
                serde_json::json!({ "header": header }),
            )
            .await;
        self.get(actor, id)
            .await?
            .ok_or_else(|| DomainError::internal("okta hook", "the hook vanished after it was written"))
    }

    /// Okta's one-time verification: the challenge echoed, if the secret
    /// header is right.
    pub async fn verify(
        &self,
        raw_id: &str,
        header: impl Fn(&str) -> Option<String>,
        challenge: &str,
    ) -> DomainResult<String> {
        let id = self.authenticate(raw_id, header).await?;
        if challenge.is_empty() || challenge.len() > 512 {
            return Err(DomainError::invalid("X-Okta-Verification-Challenge is missing."));
        }
        self.store
            .okta_hook_seen(id.as_str(), true, &sortable(store::now()))
            .await?;
        Ok(challenge.to_owned())
    }

    /// A delivery: records its events and queues their records for a refresh.
    pub async fn receive(
        &self,
        raw_id: &str,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> DomainResult<Received> {
        let id = self.authenticate(raw_id, header).await?;
        let delivery: Delivery = serde_json::from_slice(body)
            .map_err(|e| DomainError::invalid(format!("Not an Okta event hook delivery: {e}")))?;
        let mut events = delivery.data.events;
        // Okta may batch out of order; the refresh reads the present anyway,
        // but queue in the order things happened.
        events.sort_by(|a, b| a.published.cmp(&b.published));
        let triggers: Vec<SeenEvent> = events.iter().map(LogEvent::seen).collect();
        let now = store::now();
        let new_events = self
            .store
            .receive_okta_events(
                id.as_str(),
                &triggers,
                &sortable(now),
                &sortable(now + QUIET_FOR),
                &sortable(now + AT_MOST_AFTER),
                None,
            )
            .await?;
        self.store
            .okta_hook_seen(id.as_str(), false, &sortable(now))
            .await?;
        Ok(Received {
            events: events.len(),
            new_events,
        })
    }

    /// Forgets received uuids older than `keep`.
    pub async fn prune(&self, keep: time::Duration) -> DomainResult<u64> {
        Ok(self
            .store
            .prune_okta_hook_events(&sortable(store::now() - keep))
            .await?)
    }

    /// The directory whose hook secret the request carries; one answer for
    /// an unknown directory, a directory without a hook and a wrong secret.
    async fn authenticate(
        &self,
        raw_id: &str,
        header: impl Fn(&str) -> Option<String>,
    ) -> DomainResult<DirectoryId> {
        let refused = || {
            DomainError::new(
                ErrorKind::Unauthorized,
                "The event hook secret is missing or wrong.",
            )
        };
        let id = DirectoryId::parse(raw_id).map_err(|_| refused())?;
        let row = self.store.okta_hook(id.as_str()).await?.ok_or_else(refused)?;
        let sent = header(&row.header_name).ok_or_else(refused)?;
        let matches: bool = hash(&sent).as_bytes().ct_eq(row.secret_hash.as_bytes()).into();
        if matches {
            Ok(id)
        } else {
            Err(refused())
        }
    }

    fn setup_of(&self, row: store::OktaHookRow, reveal: bool) -> DomainResult<HookSetup> {
        let id = DirectoryId::parse(&row.directory_id)
            .map_err(|_| DomainError::internal("okta hook", "a stored directory id is not a UUID"))?;
        let secret = self
            .master_key
            .open(&row.secret_sealed, &seal_purpose(&id))
            .map_err(|e| DomainError::internal("okta hook", e))?;
        let secret = String::from_utf8(secret.to_vec()).map_err(|e| DomainError::internal("okta hook", e))?;
        let url = format!("{}/hooks/okta/{id}", self.public_url.trim_end_matches('/'));
        Ok(HookSetup {
            curl: curl_snippet(&url, &row.header_name),
            terraform: terraform_snippet(&url, &row.header_name),
            url,
            header_name: row.header_name,
            secret: reveal.then_some(secret),
            event_types: EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            created_at: row.created_at,
            verified_at: row.verified_at,
            last_delivery_at: row.last_delivery_at,
            deliveries: row.deliveries,
        })
    }
}

fn seal_purpose(id: &DirectoryId) -> String {
    format!("okta-hook-secret:{id}")
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `curl` creating the hook through Okta's Event Hooks API (the admin's own
/// API token; the secret is filled in from an environment variable so it
/// does not land in shell history).
fn curl_snippet(url: &str, header: &str) -> String {
    let items = EVENT_TYPES
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "curl -X POST \"https://${{OKTA_DOMAIN}}/api/v1/eventHooks\" \\\n  \
         -H \"Authorization: SSWS ${{OKTA_API_TOKEN}}\" -H \"Content-Type: application/json\" \\\n  \
         -d '{{\"name\": \"Roster\", \"events\": {{\"type\": \"EVENT_TYPE\", \"items\": [{items}]}}, \
         \"channel\": {{\"type\": \"HTTP\", \"version\": \"1.0.0\", \"config\": {{\"uri\": \"{url}\", \
         \"authScheme\": {{\"type\": \"HEADER\", \"key\": \"{header}\", \"value\": \"'\"$ROSTER_HOOK_SECRET\"'\"}}}}}}}}'"
    )
}

/// The hook as Okta's Terraform provider declares it.
fn terraform_snippet(url: &str, header: &str) -> String {
    let items = EVENT_TYPES
        .iter()
        .map(|t| format!("    \"{t}\","))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "resource \"okta_event_hook\" \"roster\" {{\n  name = \"Roster\"\n  events = [\n{items}\n  ]\n  \
         channel = {{\n    type    = \"HTTP\"\n    version = \"1.0.0\"\n    uri     = \"{url}\"\n  }}\n  \
         auth = {{\n    type  = \"HEADER\"\n    key   = \"{header}\"\n    value = var.roster_hook_secret\n  }}\n}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippets_name_the_url_header_and_every_type() {
        let curl = curl_snippet("https://roster.example/hooks/okta/d1", "X-Secret");
        let terraform = terraform_snippet("https://roster.example/hooks/okta/d1", "X-Secret");
        for text in [&curl, &terraform] {
            assert!(text.contains("https://roster.example/hooks/okta/d1"));
            assert!(text.contains("X-Secret"));
            assert!(EVENT_TYPES.iter().all(|t| text.contains(t)));
        }
        assert!(!curl.contains("rhk_"), "the secret comes from the environment");
    }
}
