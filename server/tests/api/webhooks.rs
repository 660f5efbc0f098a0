//! Webhooks against a real HTTP receiver on loopback: signed batches that an
//! independent verifier (Python's hmac) accepts, retries with backoff while
//! the receiver fails, order per entity, disabling after repeated failures
//! and enabling again, replay, the test event, secret rotation with overlap,
//! the URL rules, and a process that died holding an endpoint.

use crate::helpers::{spawn_app_with, TestApp};
use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use serde_json::{json, Value};
use server::{
    domain::{identities::UserInput, webhooks::WebhookSettings, Actor},
    model::{DirectoryId, OktaUserId, WebhookId},
};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// Fast retries, small batches, disabling after three failures, and
/// loopback allowed (the receiver runs on 127.0.0.1).
const FAST: &[(&str, &str)] = &[
    ("ROSTER_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ("ROSTER_WEBHOOK_RETRY_BASE_MS", "50"),
    ("ROSTER_WEBHOOK_RETRY_MAX_SECS", "1"),
    ("ROSTER_WEBHOOK_BATCH_SIZE", "3"),
    ("ROSTER_WEBHOOK_DISABLE_AFTER_FAILURES", "3"),
    ("ROSTER_WEBHOOK_DISABLE_AFTER_HOURS", "0"),
    ("ROSTER_WEBHOOK_TIMEOUT_SECS", "2"),
];

#[derive(Clone, Debug)]
pub(crate) struct Received {
    signature: String,
    body: Bytes,
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Answer 503 to this many more requests.
    fail_next: AtomicUsize,
    /// Answer 500 to everything while set.
    failing: AtomicBool,
    /// Hold this many more requests without answering (a receiver that
    /// hangs while Roster goes down).
    hang_next: AtomicUsize,
    requests: AtomicUsize,
}

pub(crate) struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    pub async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Every event received so far, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.received()
            .iter()
            .flat_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                body["events"].as_array().unwrap().clone()
            })
            .collect()
    }

    pub async fn wait_for_events(&self, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.events();
            if events.len() >= count {
                return events;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {count} events arrived: {events:#?}",
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if state
        .hang_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if state.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let signature = headers
        .get("roster-signature")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    state.received.lock().unwrap().push(Received { signature, body });
    StatusCode::NO_CONTENT
}

/// Checks a request the way the README tells receivers to, in Python:
/// HMAC-SHA256(secret, "<t>.<raw body>") against any v1 of the header.
fn python_verifies(secret: &str, received: &Received) -> bool {
    let script = r#"
import hmac, hashlib, sys
secret, header = sys.argv[1], sys.argv[2]
body = sys.stdin.buffer.read()
parts = [p.split("=", 1) for p in header.split(",")]
t = next(v for k, v in parts if k == "t")
expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
ok = any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")
sys.exit(0 if ok else 1)
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret, &received.signature])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(&received.body).unwrap();
    child.wait().unwrap().success()
}

async fn push_directory(app: &TestApp) -> DirectoryId {
    app.state
        .core
        .scim
        .create_push_directory(&Actor::host(), "Pushed")
        .await
        .unwrap()
}

fn user(n: usize, status: &str) -> UserInput {
    let login = format!("user{n}@example.com");
    let profile = json!({ "login": login, "email": login, "firstName": "Test", "lastName": format!("{n}") });
    UserInput {
        id: OktaUserId::parse(&format!("00uHOOK{n:06}")).unwrap(),
        status: status.into(),
        profile: profile.as_object().unwrap().clone(),
        last_updated: None,
    }
}

async fn create(app: &TestApp, url: &str, types: &[&str]) -> (WebhookId, String) {
    let created = app
        .state
        .core
        .webhooks
        .create(
            &Actor::host(),
            &WebhookSettings {
                url: url.into(),
                description: "test receiver".into(),
                event_types: types.iter().map(|t| (*t).to_owned()).collect(),
                directory_ids: Vec::new(),
            },
        )
        .await
        .unwrap();
    (WebhookId::parse(&created.webhook.id).unwrap(), created.secret)
}

/// A server with fast retries, a receiver, a SCIM-only directory, and an
/// endpoint for `types` (its id and secret).
async fn with_endpoint(types: &[&str]) -> (TestApp, Receiver, DirectoryId, (WebhookId, String)) {
    let app = spawn_app_with(FAST).await;
    let receiver = Receiver::start().await;
    let dir = push_directory(&app).await;
    let endpoint = create(&app, &receiver.url, types).await;
    (app, receiver, dir, endpoint)
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn events_arrive_signed_batched_in_order_and_survive_a_failing_receiver() {
    let app = spawn_app_with(FAST).await;
    let receiver = Receiver::start().await;
    let dir = push_directory(&app).await;
    // Made before the endpoint: not sent (an endpoint starts at the newest).
    app.state
        .core
        .identities
        .upsert_user(&dir, user(0, "ACTIVE"), "test")
        .await
        .unwrap();
    let (id, secret) = create(&app, &receiver.url, &[]).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.state.fail_next.store(2, Ordering::SeqCst);

    let ids = &app.state.core.identities;
    for n in 1..=4 {
        ids.upsert_user(&dir, user(n, "ACTIVE"), "test").await.unwrap();
    }
    ids.set_user_status(&dir, &user(2, "").id, "SUSPENDED", "test")
        .await
        .unwrap();
    ids.set_user_status(&dir, &user(2, "").id, "DEPROVISIONED", "test")
        .await
        .unwrap();
    let events = receiver.wait_for_events(6).await;

    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "user.created",
            "user.created",
            "user.created",
            "user.created",
            "user.suspended",
            "user.deprovisioned"
        ]
    );
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "in commit order: {cursors:?}"
    );
    // The same entity's versions only grow.
    let versions: Vec<i64> = events
        .iter()
        .filter(|e| e["entity_id"] == "00uHOOK000002")
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert!(
        versions.len() == 3 && versions.windows(2).all(|w| w[0] < w[1]),
        "{versions:?}"
    );
    // A removal carries the user as last known.
    assert_eq!(
        events[5]["data"]["profile"]["login"], "user2@example.com",
        "{:#}",
        events[5]
    );
    // Batched: no request held more than the batch size, and a backlog
    // was sent in fewer requests than events.
    let received = receiver.received();
    assert!(received.iter().all(|r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        (1..=3).contains(&body["events"].as_array().unwrap().len())
    }));
    // Every request verifies with the secret, independently; a wrong secret
    // or an edited body does not.
    for r in &received {
        assert!(python_verifies(&secret, r), "signature {}", r.signature);
    }
    assert!(!python_verifies("whsec_wrong", &received[0]));
    let mut edited = received[0].clone();
    edited.body = Bytes::from(
        String::from_utf8(edited.body.to_vec())
            .unwrap()
            .replace("user", "usr"),
    );
    assert!(!python_verifies(&secret, &edited));

    // The delivery log: two failed attempts of the first batch, then it and
    // the rest delivered.
    let log = app.state.core.webhooks.deliveries(&id, None, 50).await.unwrap();
    let mut oldest_first: Vec<_> = log.iter().rev().collect();
    let failed: Vec<_> = oldest_first.iter().filter(|d| d.outcome == "failed").collect();
    assert_eq!(failed.len(), 2, "{log:#?}");
    assert_eq!(failed[0].status_code, Some(503));
    assert_eq!((failed[0].attempt, failed[1].attempt), (1, 2));
    oldest_first.retain(|d| d.outcome == "delivered");
    assert_eq!(oldest_first[0].attempt, 3);
    assert_eq!(oldest_first.iter().map(|d| d.event_count).sum::<i64>(), 6);
    let endpoint = app.state.core.webhooks.get(&id).await.unwrap();
    assert_eq!(endpoint.failures, 0);
    assert_eq!(endpoint.delivered_through, cursors[5].to_string());
}

#[tokio::test]
async fn a_failing_endpoint_is_disabled_then_enabled_again_and_replayed() {
    let (app, receiver, dir, (id, _)) = with_endpoint(&["user.created"]).await;
    let webhooks = &app.state.core.webhooks;
    receiver.state.failing.store(true, Ordering::SeqCst);
    let ids = &app.state.core.identities;
    ids.upsert_user(&dir, user(1, "ACTIVE"), "test").await.unwrap();
    wait_until("the endpoint to be disabled", || async {
        !webhooks.get(&id).await.unwrap().enabled
    })
    .await;
    let disabled = webhooks.get(&id).await.unwrap();
    assert_eq!(disabled.failures, 3);
    let reason = disabled.disabled_reason.clone().unwrap();
    assert!(
        reason.contains("3 deliveries in a row failed") && reason.contains("500"),
        "{reason}"
    );
    assert_eq!(
        disabled.disabled_by,
        Some(server::domain::webhooks::DisabledBy::Failures)
    );
    assert_eq!(webhooks.troubled().await.unwrap().len(), 1);
    // Disabled: nothing more is tried.
    let tried = receiver.state.requests.load(Ordering::SeqCst);
    assert_eq!(tried, 3);
    ids.upsert_user(&dir, user(2, "ACTIVE"), "test").await.unwrap();
    ids.set_user_status(&dir, &user(2, "").id, "SUSPENDED", "test")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.state.requests.load(Ordering::SeqCst), tried);

    // Enabled again: what waited is sent, from where it stopped, filtered.
    receiver.state.failing.store(false, Ordering::SeqCst);
    let enabled = webhooks.set_enabled(&Actor::host(), &id, true).await.unwrap();
    assert_eq!((enabled.failures, enabled.disabled_reason.as_deref()), (0, None));
    let events = receiver.wait_for_events(2).await;
    let users: Vec<&str> = events.iter().map(|e| e["entity_id"].as_str().unwrap()).collect();
    assert_eq!(users, ["00uHOOK000001", "00uHOOK000002"]);
    assert!(events.iter().all(|e| e["type"] == "user.created"));
    assert!(webhooks.troubled().await.unwrap().is_empty());
    // Disabled by an admin: not a problem to report.
    let by_admin = webhooks.set_enabled(&Actor::host(), &id, false).await.unwrap();
    assert_eq!(
        by_admin.disabled_by,
        Some(server::domain::webhooks::DisabledBy::Admin)
    );
    assert!(webhooks.troubled().await.unwrap().is_empty());
    webhooks.set_enabled(&Actor::host(), &id, true).await.unwrap();

    // Replay from the start sends them again (consumers drop duplicates by id).
    let first = events[0]["cursor"].as_str().unwrap().parse::<i64>().unwrap();
    webhooks
        .replay(&Actor::host(), &id, &(first - 1).to_string())
        .await
        .unwrap();
    let again = receiver.wait_for_events(4).await;
    assert_eq!(again[2]["id"], events[0]["id"]);
    assert_eq!(again[3]["id"], events[1]["id"]);
    let err = webhooks.replay(&Actor::host(), &id, "evt_1").await.unwrap_err();
    assert!(err.message.contains("cursor"), "{}", err.message);
}

#[tokio::test]
async fn test_events_and_secret_rotation_sign_with_both_secrets_during_the_overlap() {
    let (app, receiver, dir, (id, old_secret)) = with_endpoint(&[]).await;
    let webhooks = &app.state.core.webhooks;

    let cursor_before = webhooks.get(&id).await.unwrap().delivered_through;
    let test = webhooks.send_test(&Actor::host(), &id).await.unwrap();
    assert_eq!(
        (test.outcome.as_str(), test.status_code),
        ("delivered", Some(204))
    );
    let sent = receiver.received();
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["events"][0]["type"], "webhook.test");
    assert!(python_verifies(&old_secret, &sent[0]));
    // A test does not move the cursor or appear as an event.
    assert_eq!(webhooks.get(&id).await.unwrap().delivered_through, cursor_before);

    let rotated = webhooks
        .rotate_secret(&Actor::host(), &id, Some(1))
        .await
        .unwrap();
    assert_ne!(rotated.secret, old_secret);
    assert!(rotated.webhook.previous_secret_expires_at.is_some());
    app.state
        .core
        .identities
        .upsert_user(&dir, user(1, "ACTIVE"), "test")
        .await
        .unwrap();
    receiver.wait_for_events(2).await;
    let during = receiver.received().pop().unwrap();
    assert_eq!(during.signature.matches("v1=").count(), 2, "{}", during.signature);
    assert!(python_verifies(&rotated.secret, &during));
    assert!(python_verifies(&old_secret, &during));

    // Without overlap, the old secret stops at once.
    let again = webhooks
        .rotate_secret(&Actor::host(), &id, Some(0))
        .await
        .unwrap();
    app.state
        .core
        .identities
        .upsert_user(&dir, user(2, "ACTIVE"), "test")
        .await
        .unwrap();
    receiver.wait_for_events(3).await;
    let after = receiver.received().pop().unwrap();
    assert_eq!(after.signature.matches("v1=").count(), 1);
    assert!(python_verifies(&again.secret, &after));
    assert!(!python_verifies(&rotated.secret, &after));
    assert!(webhooks
        .rotate_secret(&Actor::host(), &id, Some(1000))
        .await
        .is_err());
}

#[tokio::test]
async fn urls_must_be_https_to_public_addresses_unless_the_operator_allows_a_network() {
    let app = crate::helpers::spawn_app().await;
    let webhooks = &app.state.core.webhooks;
    let try_url = |url: &'static str| async move {
        webhooks
            .create(
                &Actor::host(),
                &WebhookSettings {
                    url: url.into(),
                    ..WebhookSettings::default()
                },
            )
            .await
    };
    for (url, says) in [
        ("http://hooks.example.com/", "https"),
        ("http://127.0.0.1:9/hook", "ROSTER_WEBHOOK_ALLOWED_NETWORKS"),
        (
            "https://169.254.169.254/latest",
            "ROSTER_WEBHOOK_ALLOWED_NETWORKS",
        ),
        ("https://10.0.0.5/hook", "private"),
        ("https://user:pw@hooks.example.com/", "password"),
    ] {
        let err = try_url(url).await.unwrap_err();
        assert_eq!(err.kind, server::domain::ErrorKind::Invalid, "{url}");
        assert!(err.message.contains(says), "{url}: {}", err.message);
    }
    let err = webhooks
        .create(
            &Actor::host(),
            &WebhookSettings {
                url: "https://hooks.example.com/".into(),
                event_types: vec!["user.gone".into()],
                ..WebhookSettings::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("user.deprovisioned"), "{}", err.message);
    assert!(webhooks.list().await.unwrap().is_empty(), "nothing half-made");
    // A public https URL is fine (nothing is sent until events commit).
    assert!(try_url("https://hooks.example.com/roster").await.is_ok());
}

#[tokio::test]
async fn an_endpoint_held_by_a_process_that_died_is_sent_to_once_its_lease_lapses() {
    let (app, receiver, dir, (id, _)) = with_endpoint(&[]).await;
    let (store, _) = app.state.core.internals();
    // Another process took the endpoint and died mid-delivery.
    let now = server::store::sortable(time::OffsetDateTime::now_utc());
    let lapse = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    assert!(store
        .claim_webhook(
            id.as_str(),
            "webhooks-dead",
            &now,
            &server::store::sortable(lapse)
        )
        .await
        .unwrap()
        .is_some());
    app.state
        .core
        .identities
        .upsert_user(&dir, user(1, "ACTIVE"), "test")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(receiver.events().is_empty(), "the lease is respected");
    let events = receiver.wait_for_events(1).await;
    assert_eq!(events[0]["type"], "user.created");
    // The dead holder's late write is refused (fenced).
    let late = store
        .finish_webhook_attempt(
            "webhooks-dead",
            &server::store::AttemptRecord {
                endpoint_id: id.as_str(),
                claimed_through: 0,
                delivery: None,
                advance_to: Some(0),
                next_attempt_at: &now,
                disable: None,
            },
        )
        .await
        .unwrap();
    assert!(!late);
    assert_ne!(
        app.state.core.webhooks.get(&id).await.unwrap().delivered_through,
        "0"
    );
}

#[tokio::test]
async fn the_cli_and_rest_api_manage_endpoints_and_read_the_delivery_log() {
    use crate::cli::roster;
    use server::model::TokenScope;
    let app = spawn_app_with(FAST).await;
    let receiver = Receiver::start().await;
    let dir = push_directory(&app).await;
    let writer = crate::rest::token(&app, TokenScope::ReadWrite).await;
    let reader = crate::rest::token(&app, TokenScope::ReadOnly).await;
    let types = "user.created,user.deprovisioned";

    let created = roster(
        &app,
        Some(&writer),
        &[
            "webhooks",
            "create",
            &receiver.url,
            "--types",
            types,
            "--directories",
            dir.as_str(),
            "--json",
        ],
    )
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let created: Value = serde_json::from_str(&created.stdout).unwrap();
    let id = created["webhook"]["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        created["webhook"]["event_types"],
        json!(["user.created", "user.deprovisioned"])
    );
    assert_eq!(created["webhook"]["directory_ids"], json!([dir.as_str()]));

    // A read-only token reads but cannot change anything.
    let refused = roster(&app, Some(&reader), &["webhooks", "create", &receiver.url]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("read-only"), "{}", refused.stderr);
    let listed = roster(&app, Some(&reader), &["webhooks", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret), "a secret is never listed");
    let bad = roster(
        &app,
        Some(&writer),
        &["webhooks", "create", "http://example.com/"],
    )
    .await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("https"), "{}", bad.stderr);

    let test = roster(&app, Some(&writer), &["webhooks", "test", &id]).await;
    assert_eq!(test.code, 0, "{}{}", test.stdout, test.stderr);
    assert!(test.stdout.contains("Delivered"), "{}", test.stdout);
    assert!(python_verifies(&secret, &receiver.received()[0]));

    app.state
        .core
        .identities
        .upsert_user(&dir, user(1, "ACTIVE"), "test")
        .await
        .unwrap();
    let events = receiver.wait_for_events(2).await;
    assert_eq!(events[1]["type"], "user.created");
    let log = roster(&app, Some(&reader), &["webhooks", "deliveries", &id, "--json"]).await;
    let log: Value = serde_json::from_str(&log.stdout).unwrap();
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["events", "test"], "{log:#}");
    assert_eq!(log[0]["status_code"], 204);

    let disabled = roster(&app, Some(&writer), &["webhooks", "disable", &id]).await;
    assert_eq!(disabled.code, 0, "{}", disabled.stderr);
    let shown = roster(&app, Some(&reader), &["webhooks", "show", &id]).await;
    assert!(shown.stdout.contains("disabled"), "{}", shown.stdout);
    assert_eq!(
        roster(&app, Some(&writer), &["webhooks", "enable", &id])
            .await
            .code,
        0
    );
    let rotated = roster(
        &app,
        Some(&writer),
        &["webhooks", "rotate-secret", &id, "--overlap-hours", "2"],
    )
    .await;
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    assert!(
        rotated.stdout.contains("whsec_") && rotated.stdout.contains("still signs until"),
        "{}",
        rotated.stdout
    );
    let replay = roster(
        &app,
        Some(&writer),
        &["webhooks", "replay", &id, "--after", "evt_3"],
    )
    .await;
    assert_ne!(replay.code, 0);
    assert!(replay.stderr.contains("cursor"), "{}", replay.stderr);

    // The audit log names each change, by the token that made it.
    let audit = app
        .state
        .core
        .audit
        .list(&server::domain::audit::AuditQuery {
            action: Some("webhook.".into()),
            actor: None,
            failed_only: false,
            cursor: None,
            limit: Some(50),
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "webhook.created",
            "webhook.tested",
            "webhook.disabled",
            "webhook.enabled",
            "webhook.secret_rotated"
        ]
    );
    assert!(audit.entries.iter().all(|e| e.actor_kind == "api-token"));
    assert_eq!(
        roster(&app, Some(&writer), &["webhooks", "delete", &id])
            .await
            .code,
        0
    );
    let gone = roster(&app, Some(&reader), &["webhooks", "show", &id]).await;
    assert_ne!(gone.code, 0);
}

#[tokio::test]
async fn a_replay_made_while_a_batch_is_in_flight_is_not_undone_by_its_outcome() {
    let (app, receiver, dir, (id, _)) = with_endpoint(&[]).await;
    app.state
        .core
        .identities
        .upsert_user(&dir, user(1, "ACTIVE"), "test")
        .await
        .unwrap();
    receiver.wait_for_events(1).await;
    let (store, _) = app.state.core.internals();
    // Another sender holds the endpoint mid-batch when an admin replays from
    // 0 (it gets the lease once the app's sender has recorded its batch).
    let now = time::OffsetDateTime::now_utc();
    let mut claimed = None;
    for _ in 0..600 {
        claimed = store
            .claim_webhook(
                id.as_str(),
                "webhooks-busy",
                &server::store::sortable(time::OffsetDateTime::now_utc()),
                &server::store::sortable(now + time::Duration::seconds(30)),
            )
            .await
            .unwrap();
        if claimed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claimed = claimed.expect("the lease is free once the batch is recorded");
    let sent_through = claimed.delivered_through;
    app.state
        .core
        .webhooks
        .replay(&Actor::host(), &id, "0")
        .await
        .unwrap();
    let kept = store
        .finish_webhook_attempt(
            "webhooks-busy",
            &server::store::AttemptRecord {
                endpoint_id: id.as_str(),
                claimed_through: claimed.delivered_through,
                delivery: None,
                advance_to: Some(sent_through + 1),
                next_attempt_at: &server::store::sortable(now),
                disable: None,
            },
        )
        .await
        .unwrap();
    assert!(!kept, "the replay wins");
    // The lease was given back and the replay runs: everything again.
    let events = receiver.wait_for_events(2 + 1).await;
    assert!(
        events.iter().any(|e| e["type"] == "directory.created"),
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_batch_that_cannot_be_prepared_is_a_failed_attempt_not_a_stuck_endpoint() {
    let (app, receiver, dir, (id, _)) = with_endpoint(&[]).await;
    let (store, _) = app.state.core.internals();
    // A secret that cannot be opened (as after an import under another master key).
    let now = server::store::sortable(time::OffsetDateTime::now_utc());
    store
        .rotate_webhook_secret(id.as_str(), "not-a-sealed-secret", &now, &now)
        .await
        .unwrap();
    app.state
        .core
        .identities
        .upsert_user(&dir, user(1, "ACTIVE"), "test")
        .await
        .unwrap();
    let webhooks = &app.state.core.webhooks;
    wait_until("the endpoint to be disabled", || async {
        !webhooks.get(&id).await.unwrap().enabled
    })
    .await;
    let log = webhooks.deliveries(&id, None, 10).await.unwrap();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert!(log.iter().all(|d| d.outcome == "failed"
        && d.error
            .as_deref()
            .unwrap_or_default()
            .contains("could not prepare the batch")));
    assert!(receiver.events().is_empty());
    assert_eq!(webhooks.troubled().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_restart_mid_delivery_sends_the_batch_again_once_the_lease_lapses() {
    let data_dir = tempfile::tempdir().unwrap();
    let database_url = if crate::helpers::on_postgres() {
        Some(crate::pg::fresh_database().await)
    } else {
        None
    };
    let mut env = FAST.to_vec();
    if let Some(url) = &database_url {
        env.push(("ROSTER_DATABASE_URL", url.as_str()));
    }
    let receiver = Receiver::start().await;
    receiver.state.hang_next.store(1, Ordering::SeqCst);

    // The first process: its request is in flight when it goes down.
    let first = crate::helpers::try_build(&data_dir, &env).await.unwrap();
    let core = first.state().core.clone();
    let running = tokio::spawn(first.run_until_stopped());
    let dir = core
        .scim
        .create_push_directory(&Actor::host(), "Pushed")
        .await
        .unwrap();
    let created = core
        .webhooks
        .create(
            &Actor::host(),
            &WebhookSettings {
                url: receiver.url.clone(),
                ..WebhookSettings::default()
            },
        )
        .await
        .unwrap();
    let id = WebhookId::parse(&created.webhook.id).unwrap();
    core.identities
        .upsert_user(&dir, user(1, "ACTIVE"), "test")
        .await
        .unwrap();
    wait_until("the request to be in flight", || async {
        receiver.state.requests.load(Ordering::SeqCst) >= 1
    })
    .await;
    running.abort();
    let _ = running.await;
    drop(core);

    // The second process on the same database waits out the dead one's
    // lease (the timeout and 5 s), then sends the same batch.
    let second = crate::helpers::try_build(&data_dir, &env).await.unwrap();
    let core = second.state().core.clone();
    let _running = tokio::spawn(second.run_until_stopped());
    let restarted = std::time::Instant::now();
    let events = receiver.wait_for_events(1).await;
    assert_eq!(events[0]["type"], "user.created");
    assert!(
        restarted.elapsed() >= Duration::from_secs(2),
        "the lease was respected"
    );
    // The attempt is recorded once the receiver's answer is in.
    let mut log = core.webhooks.deliveries(&id, None, 10).await.unwrap();
    for _ in 0..100 {
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = core.webhooks.deliveries(&id, None, 10).await.unwrap();
    }
    assert_eq!(
        log.len(),
        1,
        "only the second process recorded an attempt: {log:#?}"
    );
    assert_eq!((log[0].outcome.as_str(), log[0].attempt), ("delivered", 1));
    assert_eq!(
        core.webhooks.get(&id).await.unwrap().delivered_through,
        events[0]["cursor"].as_str().unwrap()
    );
}
