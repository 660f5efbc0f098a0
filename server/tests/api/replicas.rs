//! Several Roster processes on one PostgreSQL database: the real `roster`
//! binary three times, the Okta simulator, a throwaway cluster. One sync per
//! directory cluster-wide, progress seen on every replica, a replica killed
//! with SIGKILL mid-sync and its run taken over, a session valid on every
//! replica, and readiness that follows the database.

use crate::{
    okta_fixture::{start_sim, ALL_SCOPES},
    pg,
    rest::placeholder_jwk,
};
use base64::Engine;
use okta_sim::{FaultKind, FaultRule, ServiceAppPatch, ServiceAppSpec};
use serde_json::{json, Value};
use std::{
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::net::{TcpListener, TcpStream};

/// One `roster` process.
struct Replica {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    database_url: String,
    master_key: String,
    public_url: String,
    sim_url: String,
}

impl Cluster {
    fn command(&self, data: &tempfile::TempDir) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
        command
            .env_clear()
            .env("ROSTER_DATA_DIR", data.path())
            .env("ROSTER_DATABASE_URL", &self.database_url)
            .env("ROSTER_MASTER_KEY", &self.master_key)
            .env("ROSTER_PUBLIC_URL", &self.public_url)
            .env("ROSTER_OKTA_EXTRA_ORIGINS", &self.sim_url)
            .env("ROSTER_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
            .env("ROSTER_WEBHOOK_BATCH_SIZE", "4")
            .env("ROSTER_LOG", "warn");
        command
    }

    async fn start(&self, port: u16) -> Replica {
        let data = tempfile::tempdir().unwrap();
        let child = self
            .command(&data)
            .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("roster starts");
        let replica = Replica {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
        };
        wait_for(Duration::from_secs(60), || async {
            status_of(&format!("{}/readyz", replica.url)).await == Some(200)
        })
        .await
        .unwrap_or_else(|| panic!("replica on {port} never became ready"));
        replica
    }

    /// `roster admin …` on the host, against the shared database.
    async fn admin(&self, args: &[&str]) -> String {
        let data = tempfile::tempdir().unwrap();
        let mut command = self.command(&data);
        command.arg("admin").args(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn status_of(url: &str) -> Option<u16> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    client.get(url).send().await.ok().map(|r| r.status().as_u16())
}

async fn wait_for<F, Fut>(limit: Duration, mut check: F) -> Option<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// Fetches until `done` holds: the value that did, or the last one seen.
async fn poll<F, Fut>(limit: Duration, mut fetch: F, done: impl Fn(&Value) -> bool) -> Result<Value, Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < limit {
        last = fetch().await;
        if done(&last) {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

async fn call(
    replica: &Replica,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/api/v1{path}", replica.url))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(replica: &Replica, path: &str, token: &str) -> (u16, Value) {
    call(replica, reqwest::Method::GET, path, token, None).await
}

async fn post(replica: &Replica, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(replica, reqwest::Method::POST, path, token, Some(body)).await
}

/// A TCP forwarder the test can cut: the database "goes away" for the
/// replica behind it, and comes back, without touching the cluster.
struct Cuttable {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Cuttable {
    async fn to(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (target, flag) = (target.to_owned(), up.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    break;
                };
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let (target, flag) = (target.clone(), flag.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let cut = async {
                        while flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, _ = cut => {} }
                });
            }
        });
        Self { port, up }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// host:port of a postgres:// URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once('@').map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn three_replicas_share_one_database() {
    let sim = start_sim(300, 10, 900).await;
    let handle = sim.handle();
    let database_url = pg::fresh_database().await;
    let ports = [free_port(), free_port(), free_port()];
    let cluster = Cluster {
        database_url: database_url.clone(),
        master_key: base64::engine::general_purpose::STANDARD.encode([42u8; 32]),
        public_url: format!("http://127.0.0.1:{}", ports[0]),
        sim_url: sim.base_url().to_owned(),
    };
    // Migrations by the operator's command, then three replicas at once.
    let migrated = cluster.admin(&["migrate"]).await;
    assert!(migrated.contains("PostgreSQL database"), "{migrated}");
    let (a, b, c) = tokio::join!(
        cluster.start(ports[0]),
        cluster.start(ports[1]),
        cluster.start(ports[2])
    );
    let replicas = [&a, &b, &c];
    let created = cluster
        .admin(&["create-token", "--name", "ops", "--scope", "read-write", "--json"])
        .await;
    let token = serde_json::from_str::<Value>(&created).unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // A directory set up through replica A.
    let registered = handle
        .register_service_app(ServiceAppSpec {
            name: "Roster Sync".into(),
            jwks: Some(json!({ "keys": [placeholder_jwk()] })),
            scopes: Some(ALL_SCOPES.iter().map(|s| s.to_string()).collect()),
            admin_role: Some(true),
            ..ServiceAppSpec::default()
        })
        .unwrap();
    let (status, draft) = post(
        &a,
        "/directories",
        &token,
        json!({ "okta_domain": sim.base_url(), "client_id": registered.client_id }),
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    handle
        .update_service_app(
            &registered.client_id,
            ServiceAppPatch {
                jwks: Some(json!({ "keys": [draft["key"]["jwk"]] })),
                ..ServiceAppPatch::default()
            },
        )
        .unwrap();
    // Verified on B (it unseals the key A made: one master key, one database).
    let (status, report) = post(
        &b,
        &format!("/directories/{id}/verify"),
        &token,
        json!({ "app_id": handle.roster_app_id() }),
    )
    .await;
    assert_eq!((status, report["ok"].clone()), (200, json!(true)), "{report}");

    // Slow member pages keep the first sync running for a while.
    handle.add_fault(FaultRule {
        path_prefix: "/api/v1/groups/".into(),
        kind: FaultKind::Slow { ms: 1_500 },
        count: 1_000,
        after: 0,
    });
    let (status, created) = post(
        &a,
        &format!("/directories/{id}/create"),
        &token,
        json!({ "name": "Acme" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");

    // Every replica sees the one run A started, and its progress moving.
    let mut run_id = String::new();
    for replica in replicas {
        let seen = poll(
            Duration::from_secs(30),
            || async { get(replica, &format!("/directories/{id}"), &token).await.1["progress"].clone() },
            |p| !p.is_null(),
        )
        .await
        .unwrap_or_else(|_| panic!("no progress seen on {}", replica.url));
        if run_id.is_empty() {
            run_id = seen["run_id"].as_str().unwrap().to_owned();
        }
        assert_eq!(
            seen["run_id"],
            json!(run_id),
            "one run, seen alike on {}",
            replica.url
        );
    }
    wait_for(Duration::from_secs(30), || async {
        let (_, d) = get(&c, &format!("/directories/{id}"), &token).await;
        d["progress"]["pages"].as_u64().unwrap_or(0) > 0
    })
    .await
    .expect("C sees A's pages counted (progress is published through the database)");

    // Sync Now on B and on C while A runs: already syncing, nothing started.
    for replica in [&b, &c] {
        let (status, problem) = post(replica, &format!("/directories/{id}/sync"), &token, json!({})).await;
        assert_eq!(status, 409, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("already syncing"),
            "{problem}"
        );
    }
    let (_, runs) = get(&b, &format!("/directories/{id}/runs"), &token).await;
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");

    // A dies mid-sync. Within the lease its run is failed, nothing applied.
    let killed_at = Instant::now();
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let failed = poll(
        Duration::from_secs(40),
        || async { get(&b, &format!("/directories/{id}/runs"), &token).await.1[0].clone() },
        |run| run["status"] == "failed",
    )
    .await
    .unwrap_or_else(|run| panic!("the killed run is still {run}"));
    assert_eq!(failed["error"]["code"], "interrupted", "{failed}");
    eprintln!("killed run failed after {:?}", killed_at.elapsed());
    let (_, detail) = get(&b, &format!("/directories/{id}"), &token).await;
    assert_eq!(
        detail["counts"]["users_total"], 0,
        "nothing of the killed run applied: {detail}"
    );
    assert!(detail["progress"].is_null());

    // Sync Now on C takes over and succeeds.
    handle.clear_faults();
    let (status, started) = post(&c, &format!("/directories/{id}/sync"), &token, json!({})).await;
    assert_eq!(status, 202, "{started}");
    let last = poll(
        Duration::from_secs(60),
        || async { get(&b, &format!("/directories/{id}"), &token).await.1 },
        |d| d["last_run"]["status"] == "succeeded" && d["progress"].is_null(),
    )
    .await
    .unwrap_or_else(|d| panic!("C's sync did not succeed: {d}"));
    let assigned = handle.app_user_ids(&handle.roster_app_id()).unwrap();
    let present = assigned
        .iter()
        .filter(|u| handle.user(u).unwrap()["status"] != "DEPROVISIONED")
        .count();
    assert_eq!(last["counts"]["users_total"], json!(present), "{last}");

    // A session made through B works on C (sessions live in the database).
    let output = cluster.admin(&["setup-link"]).await;
    let link = output
        .split_whitespace()
        .find(|w| w.contains("token="))
        .expect("a link");
    let token_param = link.split_once("token=").unwrap().1;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = browser
        .post(format!("{}/setup", b.url))
        .header("origin", &cluster.public_url)
        .header("accept", "text/html")
        .form(&[("token", token_param)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection(), "{}", signed_in.status());
    for replica in [&b, &c] {
        let page = browser
            .get(format!("{}/directories/{id}", replica.url))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200, "signed in on {}", replica.url);
        assert!(page.text().await.unwrap().contains("Acme"));
    }
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = stranger
        .get(format!("{}/directories/{id}", c.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 303, "no session, no page");
    assert_eq!(page.headers()["location"], "/signin");
}

#[tokio::test]
async fn readiness_follows_the_database_and_recovers_without_a_restart() {
    let database_url = pg::fresh_database().await;
    let proxy = Cuttable::to(&host_port(&database_url)).await;
    let through_proxy = database_url.replace(&host_port(&database_url), &format!("127.0.0.1:{}", proxy.port));
    let port = free_port();
    let cluster = Cluster {
        database_url: through_proxy,
        master_key: base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        public_url: format!("http://127.0.0.1:{port}"),
        sim_url: "http://127.0.0.1:9".into(),
    };
    let replica = cluster.start(port).await;
    let readyz = format!("{}/readyz", replica.url);
    assert_eq!(status_of(&readyz).await, Some(200));
    proxy.set_up(false);
    wait_for(Duration::from_secs(20), || async {
        status_of(&readyz).await == Some(503)
    })
    .await
    .expect("/readyz fails while the database is unreachable");
    let healthz = format!("{}/healthz", replica.url);
    assert_eq!(
        status_of(&healthz).await,
        Some(200),
        "the process itself is alive"
    );
    proxy.set_up(true);
    wait_for(Duration::from_secs(20), || async {
        status_of(&readyz).await == Some(200)
    })
    .await
    .expect("ready again once the database is back, with no restart");
}

#[tokio::test]
async fn three_replicas_send_each_event_to_a_webhook_once_and_in_order() {
    let sim = start_sim(5, 1, 5).await;
    let database_url = pg::fresh_database().await;
    let ports = [free_port(), free_port(), free_port()];
    let cluster = Cluster {
        database_url,
        master_key: base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        public_url: format!("http://127.0.0.1:{}", ports[0]),
        sim_url: sim.base_url().to_owned(),
    };
    cluster.admin(&["migrate"]).await;
    let (a, b, c) = tokio::join!(
        cluster.start(ports[0]),
        cluster.start(ports[1]),
        cluster.start(ports[2])
    );
    let created = cluster
        .admin(&["create-token", "--name", "ops", "--scope", "read-write", "--json"])
        .await;
    let token = serde_json::from_str::<Value>(&created).unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiver = crate::webhooks::Receiver::start().await;
    let (status, hook) = post(&a, "/webhooks", &token, json!({ "url": receiver.url })).await;
    assert_eq!(status, 201, "{hook}");

    // A SCIM-only directory; Okta's pushes land on all three replicas.
    let (status, dir) = post(&b, "/directories/scim", &token, json!({ "name": "Pushed" })).await;
    assert_eq!(status, 201, "{dir}");
    let id = dir["directory_id"].as_str().unwrap().to_owned();
    let (status, scim) = post(
        &c,
        &format!("/directories/{id}/scim/tokens"),
        &token,
        json!({ "name": "okta" }),
    )
    .await;
    assert_eq!(status, 201, "{scim}");
    let scim_token = scim["secret"].as_str().unwrap().to_owned();
    let replicas = [&a, &b, &c];
    let pushes = (0..24).map(|n| {
        let replica = replicas[n % 3];
        let (url, scim_token) = (format!("{}/scim/v2/{id}/Users", replica.url), scim_token.clone());
        async move {
            let login = format!("user{n}@example.com");
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(scim_token)
                .json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": login, "externalId": format!("00uREPLICA{n:08}"), "active": true,
                    "name": { "givenName": "Rep", "familyName": format!("{n}") },
                    "emails": [{ "primary": true, "value": login, "type": "work" }],
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
        }
    });
    futures_util::future::join_all(pushes).await;

    // directory.created and 24 user.created, each once, in commit order,
    // though every replica's sender was looking.
    let events = receiver.wait_for_events(25).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let events_after = receiver.events();
    assert_eq!(events_after.len(), 25, "no event sent twice: {events_after:#?}");
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    assert_eq!(events.iter().filter(|e| e["type"] == "user.created").count(), 24);
    let (_, log) = get(
        &c,
        &format!(
            "/webhooks/{}/deliveries?limit=100",
            hook["webhook"]["id"].as_str().unwrap()
        ),
        &token,
    )
    .await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|d| d["outcome"] == "delivered"),
        "{log}"
    );
}
