//! `make bench-scim`: SCIM push under load, on SQLite. Roster runs as its own
//! process (`target/release/roster`); 200 clients each create their own user
//! and then, for 30 s, look it up by `userName eq`, replace it (PUT), patch
//! it (PATCH), read it by id, and now and then re-create it on purpose (a
//! deliberate 409). At the end every client's last write must be what a
//! GET returns: a lost write is counted, never hidden.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `BENCH_CLIENTS` | 200 | concurrent clients |
//! | `BENCH_SECONDS` | 30 | how long they run |
//! | `BENCH_THINK_MS` | 0 | pause after each request (0: every client sends its next request at once) |
//! | `ROSTER_BIN` | `target/release/roster` | the server binary |
//!
//! Targets (reported, never fatal): `GET /Users?filter=userName eq` p95 ≤
//! 10 ms, writes p95 ≤ 50 ms, 0 lost writes, 0 errors besides the 409s.

use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LOOKUP_P95_TARGET_MS: f64 = 10.0;
const WRITE_P95_TARGET_MS: f64 = 50.0;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn roster_bin() -> PathBuf {
    std::env::var("ROSTER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let mut p = std::env::current_exe().unwrap_or_default();
            p.pop();
            if p.ends_with("examples") {
                p.pop();
            }
            p.join("roster")
        })
}

fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[derive(Default)]
struct Tally {
    /// Latencies in µs per kind of request.
    latencies: BTreeMap<&'static str, Vec<u64>>,
    conflicts: u64,
    errors: Vec<String>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn user_body(login: &str, title: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": login,
        "name": {"givenName": "Bench", "familyName": "Client"},
        "emails": [{"primary": true, "value": login, "type": "work"}],
        "displayName": "Bench Client",
        "title": title,
        "active": true
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> BenchResult<(u16, Value, u64)> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value, micros))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One client: its own user, then a loop of lookups and writes.
async fn run_client(
    client: Arc<Client>,
    n: u64,
    until: Instant,
    think: Duration,
    tally: Arc<Mutex<Tally>>,
) -> BenchResult<(String, String)> {
    let login = format!("bench-{n:04}@example.com");
    let (status, created, micros) = client
        .send(reqwest::Method::POST, "/Users", Some(&user_body(&login, "v0")))
        .await?;
    if status != 201 {
        return Err(format!("create {login}: {status} {created}").into());
    }
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let mut local = Tally::default();
    local.latencies.entry("POST /Users").or_default().push(micros);
    let mut last_title = "v0".to_owned();
    let mut i = 0u64;
    while Instant::now() < until {
        if !think.is_zero() {
            tokio::time::sleep(think).await;
        }
        i += 1;
        let kind = i % 5;
        let (label, method, path, body): (&'static str, reqwest::Method, String, Option<Value>) = match kind {
            0 | 2 => (
                "GET filter userName eq",
                reqwest::Method::GET,
                format!("/Users?filter={}", encode(&format!("userName eq \"{login}\""))),
                None,
            ),
            1 => {
                let title = format!("put-{i}");
                (
                    "PUT /Users/{id}",
                    reqwest::Method::PUT,
                    format!("/Users/{id}"),
                    Some(user_body(&login, &title)),
                )
            }
            3 => {
                let title = format!("patch-{i}");
                (
                    "PATCH /Users/{id}",
                    reqwest::Method::PATCH,
                    format!("/Users/{id}"),
                    Some(
                        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": title}]}),
                    ),
                )
            }
            _ if i % 25 == 4 => (
                "POST duplicate (409)",
                reqwest::Method::POST,
                "/Users".to_owned(),
                Some(user_body(&login.to_uppercase(), "dup")),
            ),
            _ => (
                "GET /Users/{id}",
                reqwest::Method::GET,
                format!("/Users/{id}"),
                None,
            ),
        };
        let (status, answer, micros) = client.send(method, &path, body.as_ref()).await?;
        local.latencies.entry(label).or_default().push(micros);
        match (label, status) {
            ("POST duplicate (409)", 409) => local.conflicts += 1,
            ("PUT /Users/{id}" | "PATCH /Users/{id}", 200) => {
                last_title = answer["title"].as_str().unwrap_or_default().to_owned();
            }
            (_, 200) => {}
            (_, other) => local.errors.push(format!("{label}: {other} {answer}")),
        }
    }
    let mut t = tally.lock().await;
    for (k, v) in local.latencies {
        t.latencies.entry(k).or_default().extend(v);
    }
    t.conflicts += local.conflicts;
    t.errors.extend(local.errors);
    Ok((id, last_title))
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let clients = env_or("BENCH_CLIENTS", 200);
    let seconds = env_or("BENCH_SECONDS", 30);
    let think = Duration::from_millis(env_or("BENCH_THINK_MS", 0));
    let data = tempfile::tempdir()?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let bin = roster_bin();
    let env = |cmd: &mut Command| {
        cmd.env("ROSTER_DATA_DIR", data.path())
            .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
            .env("ROSTER_PUBLIC_URL", &url)
            .env("ROSTER_LOG", "warn");
    };
    let mut make_token = Command::new(&bin);
    env(&mut make_token);
    let out = make_token
        .args([
            "admin",
            "create-token",
            "--name",
            "bench",
            "--scope",
            "read-write",
            "--json",
        ])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{} admin create-token failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let api_token = serde_json::from_slice::<Value>(&out.stdout)?["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut serve = Command::new(&bin);
    env(&mut serve);
    let _server = Server(
        serve
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()?;
    let ready = Instant::now();
    while http.get(format!("{url}/healthz")).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(20) {
            return Err("Roster did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let directory: Value = http
        .post(format!("{url}/api/v1/directories/scim"))
        .bearer_auth(&api_token)
        .json(&json!({"name": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let directory_id = directory["directory_id"]
        .as_str()
        .ok_or("no directory id")?
        .to_owned();
    let issued: Value = http
        .post(format!("{url}/api/v1/directories/{directory_id}/scim/tokens"))
        .bearer_auth(&api_token)
        .json(&json!({"name": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let client = Arc::new(Client {
        http,
        base: format!("{url}/scim/v2/{directory_id}"),
        token: issued["secret"].as_str().ok_or("no token")?.to_owned(),
    });

    println!(
        "SCIM push benchmark: {clients} clients for {seconds} s, {} ms between requests, against {} (SQLite)",
        think.as_millis(),
        bin.display()
    );
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            tokio::spawn(run_client(
                Arc::clone(&client),
                n,
                until,
                think,
                Arc::clone(&tally),
            ))
        })
        .collect();
    let mut last_writes = Vec::new();
    for task in tasks {
        last_writes.push(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();

    // Every client's last acknowledged write is what a read returns.
    let mut lost = 0;
    for (id, title) in &last_writes {
        let (status, user, _) = client
            .send(reqwest::Method::GET, &format!("/Users/{id}"), None)
            .await?;
        if status != 200 || user["title"].as_str() != Some(title.as_str()) {
            lost += 1;
        }
    }

    let mut t = tally.lock().await;
    let total: usize = t.latencies.values().map(Vec::len).sum();
    println!(
        "  requests                {total} in {elapsed:.1} s = {:.0} requests/s",
        total as f64 / elapsed
    );
    println!(
        "  {:<26} {:>8} {:>9} {:>9} {:>9}",
        "request", "count", "p50 ms", "p95 ms", "p99 ms"
    );
    let mut lookup_p95 = 0.0;
    let mut write_p95: f64 = 0.0;
    for (kind, v) in t.latencies.iter_mut() {
        v.sort_unstable();
        let p95 = percentile(v, 95.0);
        println!(
            "  {:<26} {:>8} {:>9.2} {:>9.2} {:>9.2}",
            kind,
            v.len(),
            percentile(v, 50.0),
            p95,
            percentile(v, 99.0)
        );
        if *kind == "GET filter userName eq" {
            lookup_p95 = p95;
        }
        if kind.starts_with("PUT") || kind.starts_with("PATCH") || *kind == "POST /Users" {
            write_p95 = write_p95.max(p95);
        }
    }
    let all_writes: Vec<u64> = {
        let mut w: Vec<u64> = t
            .latencies
            .iter()
            .filter(|(k, _)| k.starts_with("PUT") || k.starts_with("PATCH") || **k == "POST /Users")
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        w.sort_unstable();
        w
    };
    println!(
        "  writes (POST/PUT/PATCH)  {} p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        all_writes.len(),
        percentile(&all_writes, 50.0),
        percentile(&all_writes, 95.0),
        percentile(&all_writes, 99.0)
    );
    println!("  deliberate 409s          {}", t.conflicts);
    println!("  other errors             {}", t.errors.len());
    for e in t.errors.iter().take(5) {
        println!("                           {e}");
    }
    println!("  lost writes              {lost} of {}", last_writes.len());
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "  targets: lookup p95 ≤ {LOOKUP_P95_TARGET_MS} ms {}; writes p95 ≤ {WRITE_P95_TARGET_MS} ms {}; 0 lost {}; 0 errors {}",
        verdict(lookup_p95 <= LOOKUP_P95_TARGET_MS),
        verdict(percentile(&all_writes, 95.0) <= WRITE_P95_TARGET_MS),
        verdict(lost == 0),
        verdict(t.errors.is_empty())
    );
    Ok(())
}
