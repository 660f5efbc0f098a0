//! `make bench-sync`: how fast and how lean a full Okta sync is, how little an
//! unchanged re-sync asks of Okta, and how close to the rate limits a paced
//! run gets without a single 429.
//!
//! The simulator runs as its own process (`target/release/okta-sim`, next to
//! this example's binary), so the peak RSS printed is Roster's alone. Sizes
//! can be scaled for quick runs:
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `BENCH_USERS` / `BENCH_GROUPS` / `BENCH_MEMBERSHIPS` | 100000 / 5000 / 500000 | the zero-latency org |
//! | `BENCH_PACED_USERS` / `_GROUPS` / `_MEMBERSHIPS` | 20000 / 500 / 50000 | the paced org |
//! | `BENCH_PACED_LIMIT` / `BENCH_PACED_WINDOW_MS` | 20 / 1000 | each bucket's limit per window |
//! | `BENCH_SHARE` | 0.5 | the directory's rate-limit share in the paced run |
//! | `BENCH_ROUNDS` | 5 | full syncs, each set against the mean of the bare fetches right before and after it; the median round counts |
//! | `BENCH_SKIP_PACED` | unset | `1` skips the paced run |
//! | `BENCH_KEEP_DB` | unset | a directory: the full-sync database is kept there |
//! | `OKTA_SIM_BIN` | `okta-sim` next to `target/release` | the simulator binary |
//! | `BENCH_DATABASE` | `sqlite` | `postgres`: each store is a fresh database in a throwaway cluster (`scripts/pg-throwaway.sh`) |
//!
//! Targets (reported, never fatal): full sync ≤ 1.5 × the bare fetch (2 × on
//! PostgreSQL, a server across a socket) and
//! ≤ 300 MB peak RSS; unchanged re-sync ≤ 300 API calls; users table p95 ≤
//! 50 ms and REST API list p95 ≤ 20 ms at 100 000 users; paced run within
//! 10 % of the theoretical minimum with no 429.

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use server::model::RunStatus;
use server::{
    config::DatabaseUrl,
    crypto::MasterKey,
    domain::directories::DirectoryService,
    okta::{model, KeyPair, RetryPolicy, SYNC_SCOPES},
    store::{RunRow, Store},
    sync::{
        http_client, EngineConfig, SyncEngine, Trigger, APP_GROUPS_PAGE, APP_USERS_PAGE, GROUP_MEMBERS_PAGE,
        MEMBER_FETCH_CONCURRENCY,
    },
};
use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const FULL_SYNC_RATIO_TARGET: f64 = 1.5;
const FULL_SYNC_RATIO_TARGET_POSTGRES: f64 = 2.0;

/// The PostgreSQL cluster of a `BENCH_DATABASE=postgres` run, started once.
static POSTGRES: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn on_postgres() -> bool {
    std::env::var("BENCH_DATABASE").is_ok_and(|d| d == "postgres")
}

fn ratio_target() -> f64 {
    if on_postgres() {
        FULL_SYNC_RATIO_TARGET_POSTGRES
    } else {
        FULL_SYNC_RATIO_TARGET
    }
}

/// A fresh database named `name` in the benchmark's throwaway cluster.
async fn postgres_database(name: &str) -> BenchResult<String> {
    let base = match POSTGRES.get() {
        Some(url) => url.clone(),
        None => {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-throwaway.sh");
            let mut child = Command::new("bash")
                .arg(script)
                .arg(std::process::id().to_string())
                .stdout(Stdio::piped())
                .spawn()?;
            let mut line = String::new();
            BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
            if !line.starts_with("postgres://") {
                return Err("scripts/pg-throwaway.sh did not start PostgreSQL".into());
            }
            // It lives until this process exits, then removes the cluster.
            std::mem::forget(child);
            POSTGRES.get_or_init(|| line.trim().to_owned()).clone()
        }
    };
    let database = format!("bench_{}", name.replace('-', "_"));
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await?;
    sqlx::Executor::execute(
        &mut admin,
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str(),
    )
    .await?;
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {database}").as_str()).await?;
    let (prefix, _) = base.rsplit_once('/').ok_or("no database in the URL")?;
    Ok(format!("{prefix}/{database}"))
}
const PEAK_RSS_TARGET_MB: f64 = 300.0;
const RESYNC_CALLS_TARGET: u64 = 300;
const PACED_SLACK_TARGET: f64 = 0.10;
/// Lines that continue the figure above them.
const INDENT: &str = "                                          ";
/// A limit no run reaches: the zero-latency runs measure Roster, not pacing.
const UNLIMITED: u32 = 1_000_000_000;

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone, Copy)]
struct Sizes {
    users: usize,
    groups: usize,
    memberships: usize,
}

impl std::fmt::Display for Sizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} groups, {} memberships",
            thousands(self.users as u64),
            thousands(self.groups as u64),
            thousands(self.memberships as u64)
        )
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

// ---------------------------------------------------------------- simulator

/// `okta-sim` as a child process; killed when dropped.
struct SimProcess {
    child: Child,
    base_url: String,
    admin: reqwest::Client,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim_binary() -> BenchResult<PathBuf> {
    if let Ok(path) = std::env::var("OKTA_SIM_BIN") {
        return Ok(PathBuf::from(path));
    }
    // target/release/examples/bench_sync → target/release/okta-sim
    let exe = std::env::current_exe()?;
    let release_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .ok_or("cannot locate the target directory")?;
    let bin = release_dir.join("okta-sim");
    if !bin.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p okta-sim` (or set OKTA_SIM_BIN)",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

impl SimProcess {
    async fn start(sizes: Sizes) -> BenchResult<Self> {
        let bin = sim_binary()?;
        let mut child = Command::new(&bin)
            .args(["--listen", "127.0.0.1:0", "--seed", "1"])
            .args(["--users", &sizes.users.to_string()])
            .args(["--groups", &sizes.groups.to_string()])
            .args(["--memberships", &sizes.memberships.to_string()])
            .args(["--rate-limit-per-minute", &UNLIMITED.to_string()])
            .env("RUST_LOG", "okta_sim=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout from okta-sim")?;
        // Seeding a large org takes seconds; the first line says it listens.
        let base_url = tokio::task::spawn_blocking(move || -> BenchResult<String> {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Err("okta-sim exited before it listened".into());
                }
                if let Some(url) = line.trim().strip_prefix("okta-sim listening on ") {
                    let url = url.to_owned();
                    // Keep draining so the simulator never blocks on a full pipe.
                    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
                    return Ok(url);
                }
            }
        })
        .await??;
        let sim = Self {
            child,
            base_url,
            admin: reqwest::Client::new(),
        };
        sim.get("/sim/org").await?;
        Ok(sim)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn get(&self, path: &str) -> BenchResult<Value> {
        let response = self.admin.get(format!("{}{path}", self.base_url)).send().await?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("okta-sim GET {path}: {status}: {}", response.text().await?).into());
        }
        Ok(response.json().await?)
    }

    async fn post(&self, path: &str, body: Option<Value>) -> BenchResult<Value> {
        let mut request = self.admin.post(format!("{}{path}", self.base_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("okta-sim POST {path}: {status}: {text}").into());
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    /// A service app that authenticates with `jwk` and reads users, groups and apps.
    async fn register_service_app(&self, name: &str, jwk: Value) -> BenchResult<String> {
        let app = self
            .post(
                "/sim/service-apps",
                Some(json!({
                    "name": name,
                    "jwks": { "keys": [jwk] },
                    // Both Roster and the bare fetch send Bearer tokens, so the
                    // comparison measures the engine, not proof signing.
                    "dpop_required": false,
                    // Roster's, and okta.logs.read for System Log polling.
                    "scopes": SYNC_SCOPES.iter().copied().chain(["okta.logs.read"]).collect::<Vec<_>>(),
                    "admin_role": true,
                })),
            )
            .await?;
        Ok(app["client_id"]
            .as_str()
            .ok_or("service app without client_id")?
            .to_owned())
    }

    async fn delete(&self, path: &str) -> BenchResult<()> {
        let response = self
            .admin
            .delete(format!("{}{path}", self.base_url))
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("okta-sim DELETE {path}: {status}: {}", response.text().await?).into());
        }
        Ok(())
    }

    async fn patch(&self, path: &str, body: Value) -> BenchResult<()> {
        let response = self
            .admin
            .patch(format!("{}{path}", self.base_url))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("okta-sim PATCH {path}: {status}: {}", response.text().await?).into());
        }
        Ok(())
    }

    async fn set_rate_limit(&self, limit: u32, window_ms: u64) -> BenchResult<()> {
        self.post(
            "/sim/rate-limits",
            Some(json!({ "limit": limit, "window_ms": window_ms })),
        )
        .await?;
        Ok(())
    }

    async fn reset_stats(&self) -> BenchResult<()> {
        self.post("/sim/stats/reset", None).await?;
        Ok(())
    }

    async fn stats(&self) -> BenchResult<SimStats> {
        let stats = self.get("/sim/stats").await?;
        let mut buckets = BTreeMap::new();
        if let Some(map) = stats["buckets"].as_object() {
            for (name, b) in map {
                buckets.insert(
                    name.clone(),
                    (
                        b["requests"].as_u64().unwrap_or(0),
                        b["rate_limited"].as_u64().unwrap_or(0),
                    ),
                );
            }
        }
        Ok(SimStats {
            total: stats["total_requests"].as_u64().unwrap_or(0),
            buckets,
        })
    }
}

/// What the simulator counted: total requests, and per bucket (requests, 429s).
struct SimStats {
    total: u64,
    buckets: BTreeMap<String, (u64, u64)>,
}

impl SimStats {
    fn rate_limited(&self) -> u64 {
        self.buckets.values().map(|(_, limited)| limited).sum()
    }
}

struct OrgInfo {
    roster_app_id: String,
    roster_client_id: String,
    app_users: u64,
    app_groups: u64,
}

async fn org_info(sim: &SimProcess) -> BenchResult<OrgInfo> {
    let org = sim.get("/sim/org").await?;
    let text = |key: &str| -> BenchResult<String> {
        Ok(org[key]
            .as_str()
            .ok_or_else(|| format!("/sim/org has no {key}"))?
            .to_owned())
    };
    Ok(OrgInfo {
        roster_app_id: text("roster_app_id")?,
        roster_client_id: text("roster_client_id")?,
        app_users: org["roster_app_users"].as_u64().unwrap_or(0),
        app_groups: org["roster_app_groups"].as_u64().unwrap_or(0),
    })
}

// ---------------------------------------------------------------- Roster

/// A Roster store and directory connected to the simulator the way an admin
/// would: keys generated, the public key registered, verified, activated.
struct Roster {
    _data: Option<tempfile::TempDir>,
    /// The data directory (database inside), for the REST API's server.
    dir: PathBuf,
    /// The database's URL (a SQLite file in `dir`, or PostgreSQL).
    database_url: String,
    store: Store,
    engine: SyncEngine,
    directory_id: String,
}

async fn connect_roster(
    sim: &SimProcess,
    org: &OrgInfo,
    rate_limit_share: f64,
    name: &str,
) -> BenchResult<Roster> {
    // BENCH_KEEP_DB=dir keeps the database for a look with sqlite3 afterwards.
    let (data, dir) = match std::env::var_os("BENCH_KEEP_DB") {
        Some(dir) => {
            let dir = PathBuf::from(dir).join(name);
            std::fs::create_dir_all(&dir)?;
            (None, dir)
        }
        None => {
            let temp = tempfile::tempdir()?;
            let path = temp.path().to_owned();
            (Some(temp), path)
        }
    };
    let database_url = if on_postgres() {
        postgres_database(name).await?
    } else {
        format!("sqlite://{}", dir.join("roster.db").display())
    };
    let url = DatabaseUrl::parse(&database_url)?;
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    // The data directory's key file: the servers the later sections start
    // on the same directory open the directory's keys with it.
    let master_key = Arc::new(MasterKey::load_or_create(&dir, None)?);
    let extra_origins = vec![sim.base_url.clone()];
    let retry = RetryPolicy::default();
    let engine = SyncEngine::new(
        store.clone(),
        master_key.clone(),
        http_client()?,
        EngineConfig {
            max_concurrent_runs: 1,
            retry,
            extra_origins: extra_origins.clone(),
        },
    );
    let service = DirectoryService::new(
        store.clone(),
        master_key,
        http_client()?,
        engine.clone(),
        extra_origins,
        "http://127.0.0.1:3000".into(),
        retry,
    );
    let key = service.create_draft_with_keys().await?;
    let client_id = sim
        .register_service_app("Roster (benchmark)", serde_json::to_value(&key.jwk)?)
        .await?;
    let directory_id = key.directory_id;
    service
        .set_connection(&directory_id, &sim.base_url, &client_id, None)
        .await?;
    let report = service.verify(&directory_id, Some(&org.roster_client_id)).await?;
    if !report.ok() {
        return Err(format!("verify failed: {:#?}", report.items).into());
    }
    service.activate(&directory_id, "Benchmark").await?;
    store
        .set_sync_settings(&directory_id, 7_200, rate_limit_share, 0.2)
        .await?;
    Ok(Roster {
        _data: data,
        dir,
        database_url,
        store,
        engine,
        directory_id,
    })
}

struct SyncResult {
    wall: Duration,
    run: RunRow,
    /// (phase, how long it lasted, Roster's and PostgreSQL's CPU seconds
    /// in it), in order.
    phases: Vec<(String, Duration, f64, f64)>,
    /// Events the sync appended to the event log.
    events: i64,
}

impl Roster {
    async fn sync(&self) -> BenchResult<SyncResult> {
        let done = Arc::new(AtomicBool::new(false));
        let monitor = {
            let engine = self.engine.clone();
            let directory_id = self.directory_id.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut seen: Vec<(String, Instant, f64, f64)> = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    if let Ok(Some(p)) = engine.progress(&directory_id).await {
                        if seen.last().is_none_or(|(phase, ..)| *phase != p.phase) {
                            seen.push((p.phase, Instant::now(), cpu_secs("self"), postgres_cpu_secs()));
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                seen
            })
        };
        let events_before = self.newest_event().await?;
        let started = Instant::now();
        let outcome = self
            .engine
            .sync_and_wait(&self.directory_id, Trigger::Manual)
            .await?;
        let wall = started.elapsed();
        let ended = Instant::now();
        let (ended_cpu, ended_pg) = (cpu_secs("self"), postgres_cpu_secs());
        done.store(true, Ordering::Relaxed);
        let seen = monitor.await?;
        if outcome.status != RunStatus::Succeeded {
            return Err(format!("sync ended {:?}: {:?}", outcome.status, outcome.error).into());
        }
        let run = self
            .store
            .run(&outcome.run_id)
            .await?
            .ok_or("the run record is missing")?;
        let phases = seen
            .iter()
            .enumerate()
            .map(|(i, (phase, at, cpu, pg))| {
                let (until, until_cpu, until_pg) = seen
                    .get(i + 1)
                    .map_or((ended, ended_cpu, ended_pg), |(_, next, next_cpu, next_pg)| {
                        (*next, *next_cpu, *next_pg)
                    });
                (
                    phase.clone(),
                    until - *at,
                    until_cpu - cpu,
                    (until_pg - pg).max(0.0),
                )
            })
            .collect();
        let events = self.newest_event().await? - events_before;
        Ok(SyncResult {
            wall,
            run,
            phases,
            events,
        })
    }

    /// Reads the whole event log in pages of 1000, as a consumer catching up
    /// does: how many events, and how long it took.
    async fn read_events(&self) -> BenchResult<(usize, Duration)> {
        let started = Instant::now();
        let (mut after, mut count) = (0, 0);
        loop {
            let page = self
                .store
                .events_page(&server::store::EventFilter {
                    after,
                    limit: 1000,
                    ..server::store::EventFilter::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            count += page.len();
        }
        Ok((count, started.elapsed()))
    }

    /// The newest event's position (positions count from 1 in a fresh store).
    async fn newest_event(&self) -> BenchResult<i64> {
        Ok(self
            .store
            .events_page(&server::store::EventFilter {
                limit: 1,
                newest: true,
                ..server::store::EventFilter::default()
            })
            .await?
            .first()
            .map_or(0, |e| e.position))
    }
}

/// "users 1.20 s (CPU 0.9) · …": each phase's wall time and Roster's CPU in
/// it (and PostgreSQL's, on that backend).
fn phase_line(phases: &[(String, Duration, f64, f64)]) -> String {
    phases
        .iter()
        .filter(|(_, d, ..)| *d >= Duration::from_millis(5))
        .map(|(phase, d, cpu, pg)| {
            let pg = if *pg > 0.0 {
                format!(", PG {pg:.1}")
            } else {
                String::new()
            };
            format!("{phase} {:.2} s (CPU {cpu:.1}{pg})", d.as_secs_f64())
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

// ---------------------------------------------------------------- memory

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so the next reading is the
/// peak of what runs after this call only.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// User + system CPU seconds a process has used (`/proc/<pid>/stat`, USER_HZ = 100).
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at "state".
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used so far by every PostgreSQL process on this machine (the
/// throwaway cluster is the only one the benchmark runs).
fn postgres_cpu_secs() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|comm| comm.trim() == "postgres")
        })
        .map(|e| cpu_secs(&e.file_name().to_string_lossy()))
        .sum()
}

/// CPU used by Roster (this process), the simulator and PostgreSQL across `f`.
struct CpuUse {
    roster: f64,
    sim: f64,
    postgres: f64,
}

impl CpuUse {
    fn line(&self, wall: Duration) -> String {
        let postgres = if self.postgres >= 0.05 {
            format!(", PostgreSQL {:.1} s", self.postgres)
        } else {
            String::new()
        };
        format!(
            "CPU: Roster {:.1} s, okta-sim {:.1} s{postgres} = {:.0} % of {} cores",
            self.roster,
            self.sim,
            (self.roster + self.sim + self.postgres)
                / wall.as_secs_f64().max(1e-9)
                / std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
                * 100.0,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )
    }
}

/// Backends that exit during `f` are not counted (their CPU is gone from
/// /proc); the pool keeps its connections, so that is rare.
async fn measure_cpu<T, F: std::future::Future<Output = T>>(sim_pid: u32, f: F) -> (T, CpuUse) {
    let sim_pid = sim_pid.to_string();
    let (roster0, sim0, pg0) = (cpu_secs("self"), cpu_secs(&sim_pid), postgres_cpu_secs());
    let out = f.await;
    let cpu = CpuUse {
        roster: cpu_secs("self") - roster0,
        sim: cpu_secs(&sim_pid) - sim0,
        postgres: (postgres_cpu_secs() - pg0).max(0.0),
    };
    (out, cpu)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------- bare fetch

/// The id is all the engine reads of a group member; the bare fetch parses the same.
#[derive(serde::Deserialize)]
struct MemberRef {
    #[allow(dead_code)]
    id: String,
}

/// Plain reqwest with a Bearer token: the floor any sync has to pay.
struct BareClient {
    http: reqwest::Client,
    authorization: String,
    calls: std::sync::atomic::AtomicU64,
}

fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|link| link.contains("rel=\"next\""))
        .and_then(|link| {
            let start = link.find('<')? + 1;
            let end = link.find('>')?;
            Some(link[start..end].to_owned())
        })
}

impl BareClient {
    /// Registers its own service app and gets a token with `private_key_jwt`.
    async fn connect(sim: &SimProcess) -> BenchResult<Self> {
        let key = tokio::task::spawn_blocking(KeyPair::generate).await??;
        let client_id = sim
            .register_service_app("Bare fetch (benchmark)", serde_json::to_value(key.public_jwk())?)
            .await?;
        let token_url = format!("{}/oauth2/v1/token", sim.base_url);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(key.kid().to_owned());
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": token_url,
            "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
        });
        let assertion = jsonwebtoken::encode(&header, &claims, key.encoding_key())?;
        let http = http_client()?;
        let scope = SYNC_SCOPES.join(" ");
        let response = http
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| format!("token request failed: {status} {body}"))?;
        Ok(Self {
            http,
            authorization: format!("Bearer {token}"),
            calls: Default::default(),
        })
    }

    /// Follows `next` links from `url`, parsing each page into `T`.
    async fn each_page<T: DeserializeOwned>(
        &self,
        url: String,
        mut on_page: impl FnMut(Vec<T>),
    ) -> BenchResult<()> {
        let mut url = Some(url);
        while let Some(current) = url {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let response = self
                .http
                .get(&current)
                .header(reqwest::header::ACCEPT, "application/json")
                .header(reqwest::header::AUTHORIZATION, &self.authorization)
                .send()
                .await?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("GET {current}: {status}").into());
            }
            url = next_link(response.headers());
            let body = response.bytes().await?;
            on_page(serde_json::from_slice(&body)?);
        }
        Ok(())
    }
}

/// A bare fetch with the calls it made and the CPU it took.
struct BareRun {
    bare: BareResult,
    calls: u64,
    cpu: CpuUse,
}

async fn measure_bare(sim: &SimProcess, client: &BareClient, org: &OrgInfo) -> BenchResult<BareRun> {
    let calls_before = client.calls.load(Ordering::Relaxed);
    let (bare, cpu) = measure_cpu(sim.pid(), bare_fetch(client, &sim.base_url, &org.roster_app_id)).await;
    let bare = bare?;
    Ok(BareRun {
        calls: bare.calls - calls_before,
        bare,
        cpu,
    })
}

/// One full sync, the bare fetch measured right before it, and the mean of
/// that and the one right after it, which the full sync is compared with.
struct Round {
    bare: BareRun,
    reference: Duration,
    full: SyncResult,
    full_cpu: CpuUse,
    full_sim: SimStats,
    ratio: f64,
}

struct BareResult {
    wall: Duration,
    /// When the app-user pages were all in.
    users_done: Duration,
    calls: u64,
    users: u64,
    groups: u64,
    memberships: u64,
}

/// The engine's pages with its page sizes and concurrency (app users beside
/// app groups then every group's members, `MEMBER_FETCH_CONCURRENCY` groups at
/// a time), parsed into the same types; nothing normalised, nothing stored.
async fn bare_fetch(client: &BareClient, base_url: &str, app_id: &str) -> BenchResult<BareResult> {
    let started = Instant::now();
    let users = async {
        let mut users = 0u64;
        client
            .each_page::<model::AppUser>(
                format!("{base_url}/api/v1/apps/{app_id}/users?expand=user&limit={APP_USERS_PAGE}"),
                |page| users += page.iter().filter(|u| u.embedded.is_some()).count() as u64,
            )
            .await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((users, started.elapsed()))
    };
    let groups_and_members = async {
        let mut group_ids = Vec::new();
        client
            .each_page::<model::AppGroup>(
                format!("{base_url}/api/v1/apps/{app_id}/groups?expand=group&limit={APP_GROUPS_PAGE}"),
                |page| group_ids.extend(page.into_iter().filter_map(|g| g.embedded.map(|e| e.inner.id))),
            )
            .await?;
        let groups = group_ids.len() as u64;
        let memberships: u64 = stream::iter(group_ids)
            .map(|group_id| async move {
                let mut members = 0u64;
                client
                    .each_page::<MemberRef>(
                        format!("{base_url}/api/v1/groups/{group_id}/users?limit={GROUP_MEMBERS_PAGE}"),
                        |page| members += page.len() as u64,
                    )
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(members)
            })
            .buffer_unordered(MEMBER_FETCH_CONCURRENCY)
            .try_fold(0, |sum, n| async move { Ok(sum + n) })
            .await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((groups, memberships))
    };
    let ((users, users_done), (groups, memberships)) = futures_util::try_join!(users, groups_and_members)?;
    Ok(BareResult {
        wall: started.elapsed(),
        users_done,
        calls: client.calls.load(Ordering::Relaxed),
        users,
        groups,
        memberships,
    })
}

// ---------------------------------------------------------------- the runs

struct Targets {
    results: Vec<(&'static str, bool)>,
}

impl Targets {
    fn check(&mut self, name: &'static str, pass: bool) -> &'static str {
        self.results.push((name, pass));
        verdict(pass)
    }
}

async fn zero_latency(targets: &mut Targets) -> BenchResult<()> {
    let sizes = Sizes {
        users: env_num("BENCH_USERS", 100_000),
        groups: env_num("BENCH_GROUPS", 5_000),
        memberships: env_num("BENCH_MEMBERSHIPS", 500_000),
    };
    println!("Zero-latency org: {sizes} (okta-sim seeding …)");
    let seeding = Instant::now();
    let sim = SimProcess::start(sizes).await?;
    let org = org_info(&sim).await?;
    println!(
        "  okta-sim pid {} ready in {}; the Roster app has {} users and {} groups assigned",
        sim.pid(),
        secs(seeding.elapsed()),
        thousands(org.app_users),
        thousands(org.app_groups)
    );

    println!("  both Roster and the bare fetch send Bearer tokens (the service apps do not require DPoP)");
    let bare_client = BareClient::connect(&sim).await?;
    // Warm-up pass so no measured run pays for cold caches first.
    bare_fetch(&bare_client, &sim.base_url, &org.roster_app_id).await?;

    // This machine's speed drifts by tens of percent within minutes, so each
    // full sync (into a fresh store) is set against the bare fetches measured
    // right before and right after it (their mean), and the median round is
    // the result.
    let rounds = env_num("BENCH_ROUNDS", 5usize).max(1);
    let mut measured = Vec::with_capacity(rounds);
    let mut roster = None;
    let mut peak_kb = 0;
    let mut peak_reset = false;
    let mut before = measure_bare(&sim, &bare_client, &org).await?;
    for round in 1..=rounds {
        // The previous round's store is closed before the next one opens.
        drop(roster.take());
        let fresh = connect_roster(&sim, &org, 1.0, &format!("round-{round}")).await?;
        if round == 1 {
            peak_reset = reset_peak_rss();
        }
        sim.reset_stats().await?;
        let (full, full_cpu) = measure_cpu(sim.pid(), fresh.sync()).await;
        let full = full?;
        // Later rounds start with what the allocator kept from earlier ones.
        if round == 1 {
            peak_kb = status_kb("VmHWM:").unwrap_or(0);
        }
        let full_sim = sim.stats().await?;
        let after = measure_bare(&sim, &bare_client, &org).await?;
        let reference = (before.bare.wall + after.bare.wall) / 2;
        let ratio = full.wall.as_secs_f64() / reference.as_secs_f64().max(1e-9);
        println!(
            "  round {round}: full sync {:>7}, bare fetch {:>7} before and {:>7} after → {ratio:.2} ×",
            secs(full.wall),
            secs(before.bare.wall),
            secs(after.bare.wall)
        );
        measured.push(Round {
            bare: std::mem::replace(&mut before, after),
            reference,
            full,
            full_cpu,
            full_sim,
            ratio,
        });
        roster = Some(fresh);
    }
    let roster = roster.ok_or("no round ran")?;
    measured.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    let Round {
        bare: BareRun {
            bare,
            calls: bare_calls,
            cpu: bare_cpu,
        },
        reference,
        full,
        full_cpu,
        full_sim,
        ratio,
    } = measured.swap_remove(measured.len() / 2);

    sim.reset_stats().await?;
    let (again, again_cpu) = measure_cpu(sim.pid(), roster.sync()).await;
    let again = again?;
    let again_sim = sim.stats().await?;

    let calls = full.run.api_calls as u64;
    let resync_calls = again.run.api_calls as u64;
    println!();
    println!("Full sync (zero latency; the median of {rounds} rounds)");
    println!(
        "  wall time                {:>12}   ({})",
        secs(full.wall),
        phase_line(&full.phases)
    );
    println!("{INDENT}{}", full_cpu.line(full.wall));
    // A first sync writes its records' events with its records, during the
    // fetch, and its commit makes them one block of positions.
    println!(
        "  event log                {:>12}   (written with the records and committed with them: {} events/s over the sync)",
        format!("{} events", thousands(full.events as u64)),
        thousands((full.events as f64 / full.wall.as_secs_f64().max(1e-9)) as u64)
    );
    let (read, read_wall) = roster.read_events().await?;
    println!(
        "  reading them back        {:>12}   ({} events in pages of 1 000, as a consumer catching up)",
        format!(
            "{}/s",
            thousands((read as f64 / read_wall.as_secs_f64().max(1e-9)) as u64)
        ),
        thousands(read as u64)
    );
    println!(
        "  bare fetch-and-parse     {:>12}   (the mean of the bare fetches right before and after that sync)",
        secs(reference)
    );
    println!(
        "  the one before           {:>12}   (app users done at {:.2} s; {} pages, {} users, {} groups, {} memberships; {} groups at a time, no store)",
        secs(bare.wall),
        bare.users_done.as_secs_f64(),
        thousands(bare_calls),
        thousands(bare.users),
        thousands(bare.groups),
        thousands(bare.memberships),
        MEMBER_FETCH_CONCURRENCY
    );
    println!("{INDENT}{}", bare_cpu.line(bare.wall));
    println!(
        "  ratio                    {:>10.2} ×   target ≤ {} ×      {}",
        ratio,
        ratio_target(),
        targets.check(
            if on_postgres() {
                "full sync ≤ 2 × bare fetch (PostgreSQL)"
            } else {
                "full sync ≤ 1.5 × bare fetch"
            },
            ratio <= ratio_target()
        )
    );
    println!(
        "  API calls                {:>12}   (okta-sim counted {}; {} users, {} groups fetched, {} memberships added)",
        thousands(calls),
        thousands(full_sim.total),
        thousands(full.run.users_fetched as u64),
        thousands(full.run.groups_fetched as u64),
        thousands(full.run.memberships_added as u64)
    );
    // The first round's: the process had not synced before.
    let peak_mb = mb(peak_kb);
    println!(
        "  peak RSS                 {:>9.0} MB   target ≤ {PEAK_RSS_TARGET_MB:.0} MB     {}{}",
        peak_mb,
        targets.check(
            "full sync ≤ 300 MB peak RSS",
            peak_kb > 0 && peak_mb <= PEAK_RSS_TARGET_MB
        ),
        if peak_reset {
            "  (round 1, before the process had synced)"
        } else {
            "  (peak since start: VmHWM could not be reset)"
        }
    );
    println!();
    println!("Unchanged re-sync");
    println!(
        "  API calls                {:>12}   target ≤ {RESYNC_CALLS_TARGET}         {}   (okta-sim counted {}; {} of {} groups skipped)",
        thousands(resync_calls),
        targets.check("unchanged re-sync ≤ 300 API calls", resync_calls <= RESYNC_CALLS_TARGET),
        thousands(again_sim.total),
        thousands(again.run.groups_skipped as u64),
        thousands(again.run.groups_fetched as u64)
    );
    println!(
        "  wall time                {:>12}   ({})",
        secs(again.wall),
        phase_line(&again.phases)
    );
    println!("{INDENT}{}", again_cpu.line(again.wall));
    let changes = again.run.users_added
        + again.run.users_updated
        + again.run.users_removed
        + again.run.memberships_added
        + again.run.memberships_removed;
    if changes != 0 {
        println!("  note: the re-sync found {changes} changes in an unchanged org");
    }
    users_table(&roster, targets).await?;
    rest_lists(&roster, targets).await?;
    webhook_latency(&roster, targets).await?;
    hook_deprovisioning(&sim, &roster, targets).await
}

/// One users-table page as the portal serves it: the rows and the total.
async fn time_page(
    store: &Store,
    id: &str,
    filter: server::store::UserFilter<'_>,
) -> BenchResult<(Vec<server::store::UserListRow>, Duration)> {
    let started = Instant::now();
    let rows = store.list_users(id, &filter, 51).await?;
    store
        .count_users(
            id,
            &server::store::UserFilter {
                after: None,
                ..filter
            },
        )
        .await?;
    Ok((rows, started.elapsed()))
}

/// The users table's server time with the synced org: each query is what one
/// page costs the portal (the page plus its total), over first pages of every
/// sort, deep keyset pages, searches and the status filter.
async fn users_table(roster: &Roster, targets: &mut Targets) -> BenchResult<()> {
    use server::store::{UserFilter, UserSort};
    let (store, id) = (&roster.store, roster.directory_id.as_str());
    let some_login = store
        .list_users(
            id,
            &UserFilter {
                sort: UserSort::Updated,
                ..UserFilter::default()
            },
            1,
        )
        .await?
        .first()
        .map(|r| r.login.clone())
        .unwrap_or_default();
    let mut timings: Vec<Duration> = Vec::new();
    for _round in 0..3 {
        for sort in [
            UserSort::Name,
            UserSort::Email,
            UserSort::Login,
            UserSort::Status,
            UserSort::Updated,
        ] {
            // Twenty pages deep through the keyset.
            let mut after: Option<(String, String)> = None;
            for _ in 0..20 {
                let filter = UserFilter {
                    sort,
                    after: after.as_ref().map(|(k, i)| (k.as_str(), i.as_str())),
                    ..UserFilter::default()
                };
                let (rows, took) = time_page(store, id, filter).await?;
                timings.push(took);
                after = rows.last().map(|r| (r.sort_key.clone(), r.okta_id.clone()));
            }
        }
        for search in ["ada", "example.com", some_login.as_str(), "no-such-person"] {
            let (_, took) = time_page(
                store,
                id,
                UserFilter {
                    search,
                    ..UserFilter::default()
                },
            )
            .await?;
            timings.push(took);
        }
        for status in ["SUSPENDED", "ACTIVE"] {
            let (_, took) = time_page(
                store,
                id,
                UserFilter {
                    status,
                    ..UserFilter::default()
                },
            )
            .await?;
            timings.push(took);
        }
    }
    timings.sort();
    let at = |q: f64| timings[((timings.len() as f64 - 1.0) * q).round() as usize];
    let p95 = at(0.95);
    println!();
    println!("Users table ({} pages of 50 with their totals)", timings.len());
    println!(
        "  p95 server time          {:>9.1} ms   target ≤ 50 ms          {}   (p50 {:.1} ms, max {:.1} ms)",
        p95.as_secs_f64() * 1e3,
        targets.check(
            "users table p95 ≤ 50 ms per page",
            p95 <= Duration::from_millis(50)
        ),
        at(0.5).as_secs_f64() * 1e3,
        timings[timings.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}

const REST_P95_TARGET_MS: u64 = 20;

/// The REST API's lists on the synced org, through a real Roster server on
/// loopback with an API token: users (every sort, deep cursor pages,
/// searches, status and group filters), groups and a group's members. The
/// time is the request's round trip, an upper bound of the server's time.
async fn rest_lists(roster: &Roster, targets: &mut Targets) -> BenchResult<()> {
    let vars: std::collections::HashMap<String, String> = [
        ("ROSTER_LISTEN", "127.0.0.1:0".to_owned()),
        ("ROSTER_DATA_DIR", roster.dir.display().to_string()),
        ("ROSTER_DATABASE_URL", roster.database_url.clone()),
        ("ROSTER_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = server::startup::Application::build(server::config::Config::load(&vars)?).await?;
    let base = format!(
        "http://127.0.0.1:{}/api/v1/directories/{}",
        app.port(),
        roster.directory_id
    );
    let token = app
        .state()
        .core
        .instance
        .tokens()
        .create(
            &server::domain::Actor::host(),
            "benchmark",
            server::model::TokenScope::ReadOnly,
        )
        .await?
        .secret;
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let started = Instant::now();
            let response = http.get(&path).bearer_auth(&token).send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            if !status.is_success() {
                return Err(format!("{path}: {status} {body}").into());
            }
            BenchResult::Ok((body, started.elapsed()))
        }
    };
    let mut timings: Vec<Duration> = Vec::new();
    let mut by_kind: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut note = |kind: &'static str, took: Duration, timings: &mut Vec<Duration>| {
        timings.push(took);
        by_kind.entry(kind).or_default().push(took);
    };
    let (groups, _) = get(format!("{base}/groups?limit=50")).await?;
    let group = groups["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    for _round in 0..3 {
        for sort in ["name", "email", "login", "status", "updated", "groups"] {
            let mut next = Some(format!("{base}/users?sort={sort}&limit=50"));
            for _ in 0..20 {
                let Some(url) = next.take() else { break };
                let (page, took) = get(url).await?;
                note("users pages (every sort)", took, &mut timings);
                next = page["next"]
                    .as_str()
                    .map(|cursor| format!("{base}/users?sort={sort}&limit=50&after={cursor}"));
            }
        }
        for (kind, query) in [
            ("users searched", "search=ada"),
            ("users searched", "search=example.com"),
            ("users searched", "search=no-such-person"),
            ("users by status", "status=SUSPENDED"),
            ("users by status", "status=ACTIVE"),
        ] {
            note(
                kind,
                get(format!("{base}/users?{query}&limit=50")).await?.1,
                &mut timings,
            );
        }
        if !group.is_empty() {
            let took = get(format!("{base}/users?group={group}&limit=50")).await?.1;
            note("users of a group", took, &mut timings);
            let took = get(format!("{base}/groups/{group}/members?limit=50")).await?.1;
            note("group members", took, &mut timings);
        }
        let mut next = Some(format!("{base}/groups?limit=50"));
        for _ in 0..10 {
            let Some(url) = next.take() else { break };
            let (page, took) = get(url).await?;
            note("groups pages", took, &mut timings);
            next = page["next"]
                .as_str()
                .map(|cursor| format!("{base}/groups?limit=50&after={cursor}"));
        }
    }
    server.abort();
    timings.sort();
    let at = |q: f64| timings[((timings.len() as f64 - 1.0) * q).round() as usize];
    let p95 = at(0.95);
    println!();
    println!(
        "REST API lists ({} requests of 50 items with totals, token-authenticated)",
        timings.len()
    );
    println!(
        "  p95 round trip           {:>9.1} ms   target ≤ {REST_P95_TARGET_MS} ms          {}   (p50 {:.1} ms, max {:.1} ms)",
        p95.as_secs_f64() * 1e3,
        targets.check(
            "REST list p95 ≤ 20 ms",
            p95 <= Duration::from_millis(REST_P95_TARGET_MS)
        ),
        at(0.5).as_secs_f64() * 1e3,
        timings[timings.len() - 1].as_secs_f64() * 1e3
    );
    for (kind, mut times) in by_kind {
        times.sort();
        let p95 = times[((times.len() as f64 - 1.0) * 0.95).round() as usize];
        println!(
            "{INDENT}{kind}: p95 {:.1} ms over {}",
            p95.as_secs_f64() * 1e3,
            times.len()
        );
    }
    Ok(())
}

/// Webhook writes to measure: each a user created through the identity
/// write API, one every 20 ms.
const WEBHOOK_WRITES: usize = 200;
const WEBHOOK_P95_TARGET_MS: u64 = 1_000;

/// Delivery latency from a change's commit to a webhook receiver on
/// loopback: the server as deployed (its sender polls every 200 ms), a
/// receiver that answers 204 and notes when each event arrived.
async fn webhook_latency(roster: &Roster, targets: &mut Targets) -> BenchResult<()> {
    use std::sync::Mutex;
    let arrivals: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let receiver = {
        let arrivals = Arc::clone(&arrivals);
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let arrivals = Arc::clone(&arrivals);
                async move {
                    let at = Instant::now();
                    if let Ok(batch) = serde_json::from_slice::<Value>(&body) {
                        if let Ok(mut seen) = arrivals.lock() {
                            for event in batch["events"].as_array().into_iter().flatten() {
                                if let Some(entity) = event["entity_id"].as_str() {
                                    seen.entry(entity.to_owned()).or_insert(at);
                                }
                            }
                        }
                    }
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://127.0.0.1:{}/hook", listener.local_addr()?.port());
    let receiving = tokio::spawn(async move { axum::serve(listener, receiver).await });
    let vars: HashMap<String, String> = [
        ("ROSTER_LISTEN", "127.0.0.1:0".to_owned()),
        ("ROSTER_DATA_DIR", roster.dir.display().to_string()),
        ("ROSTER_DATABASE_URL", roster.database_url.clone()),
        ("ROSTER_LOG", "warn".to_owned()),
        ("ROSTER_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = server::startup::Application::build(server::config::Config::load(&vars)?).await?;
    let core = app.state().core.clone();
    let server = tokio::spawn(app.run_until_stopped());
    let host = server::domain::Actor::host();
    let directory = core
        .scim
        .create_push_directory(&host, "Webhook benchmark")
        .await?;
    core.webhooks
        .create(
            &host,
            &server::domain::webhooks::WebhookSettings {
                url: hook_url,
                event_types: vec!["user.created".into()],
                ..Default::default()
            },
        )
        .await?;
    let mut committed: Vec<(String, Instant)> = Vec::with_capacity(WEBHOOK_WRITES);
    for n in 0..WEBHOOK_WRITES {
        let id = format!("00uWEBHOOK{n:08}");
        let login = format!("hook{n}@example.com");
        let profile =
            serde_json::json!({ "login": login, "email": login, "firstName": "Web", "lastName": "Hook" });
        let input = server::domain::identities::UserInput {
            id: server::model::OktaUserId::parse(&id)?,
            status: "ACTIVE".into(),
            profile: profile.as_object().cloned().unwrap_or_default(),
            last_updated: None,
        };
        core.identities
            .upsert_user(&directory, input, "benchmark")
            .await?;
        committed.push((id, Instant::now()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().map(|a| a.len()).unwrap_or(0) < WEBHOOK_WRITES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.abort();
    receiving.abort();
    let arrived = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut latencies: Vec<Duration> = committed
        .iter()
        .filter_map(|(id, at)| arrived.get(id).map(|got| got.saturating_duration_since(*at)))
        .collect();
    latencies.sort();
    if latencies.len() < WEBHOOK_WRITES {
        return Err(format!(
            "only {} of {WEBHOOK_WRITES} webhook events arrived",
            latencies.len()
        )
        .into());
    }
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!();
    println!("Webhooks ({WEBHOOK_WRITES} user writes, one every 20 ms, to a receiver on loopback)");
    println!(
        "  commit → receiver p95    {:>9.0} ms   target ≤ {WEBHOOK_P95_TARGET_MS} ms        {}   (p50 {:.0} ms, max {:.0} ms)",
        at(0.95).as_secs_f64() * 1e3,
        targets.check(
            "webhook delivery p95 ≤ 1 s",
            at(0.95) <= Duration::from_millis(WEBHOOK_P95_TARGET_MS)
        ),
        at(0.5).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}

/// Deactivations timed from okta-sim to Roster, through Okta Event Hooks.
const HOOK_DEACTIVATIONS: usize = 50;
const HOOK_P95_TARGET_MS: u64 = 5_000;
/// A burst: this many users, each changed this many times as fast as the
/// simulator takes it.
const BURST_USERS: usize = 200;
const BURST_ROUNDS: usize = 5;

/// Okta Event Hooks end to end: the server as deployed (its refresh worker),
/// okta-sim delivering to it. Deprovisioning latency is from the
/// deactivation in okta-sim to the user removed in Roster (the same
/// transaction appends `user.deprovisioned`; sessions are revoked right
/// after); the burst counts the user refreshes 1 000 events cause.
async fn hook_deprovisioning(sim: &SimProcess, roster: &Roster, targets: &mut Targets) -> BenchResult<()> {
    let vars: HashMap<String, String> = [
        ("ROSTER_LISTEN", "127.0.0.1:0".to_owned()),
        ("ROSTER_DATA_DIR", roster.dir.display().to_string()),
        ("ROSTER_DATABASE_URL", roster.database_url.clone()),
        ("ROSTER_LOG", "warn".to_owned()),
        ("ROSTER_OKTA_EXTRA_ORIGINS", sim.base_url.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = server::startup::Application::build(server::config::Config::load(&vars)?).await?;
    let core = app.state().core.clone();
    let server = tokio::spawn(app.run_until_stopped());
    let host = server::domain::Actor::host();
    let directory = server::model::DirectoryId::parse(&roster.directory_id)?;
    let setup = core.okta_hooks.create(&host, &directory, None).await?;
    let hook = sim
        .post(
            "/sim/event-hooks",
            Some(json!({
                "name": "Roster",
                "events": { "type": "EVENT_TYPE", "items": setup.event_types },
                "channel": { "type": "HTTP", "version": "1.0.0", "config": {
                    "uri": setup.url,
                    "authScheme": { "type": "HEADER", "key": setup.header_name, "value": setup.secret }
                }}
            })),
        )
        .await?;
    let hook_id = hook["id"].as_str().ok_or("hook without id")?.to_owned();
    sim.post(&format!("/sim/event-hooks/{hook_id}/lifecycle/verify"), None)
        .await?;

    let mut active = Vec::new();
    let mut after = String::new();
    while active.len() < HOOK_DEACTIVATIONS + BURST_USERS + POLL_DEACTIVATIONS + CHANGED_USERS {
        let page = roster
            .store
            .users_page(&roster.directory_id, &after, 1000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.okta_id.clone();
        active.extend(
            page.into_iter()
                .filter(|u| u.status == "ACTIVE" && u.deleted_at.is_none())
                .map(|u| u.okta_id),
        );
    }
    if active.len() < HOOK_DEACTIVATIONS + BURST_USERS {
        return Err("too few active users for the event hook benchmark".into());
    }
    let (leavers, burst) = active.split_at(HOOK_DEACTIVATIONS);
    let burst = &burst[..BURST_USERS];

    // One deactivation every 100 ms, each watched until Roster removed the user.
    let latencies = deactivate_and_watch(sim, roster, leavers, Duration::from_millis(100)).await?;
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];

    // The burst: 1 000 profile changes, 5 per user, as fast as they go.
    tokio::time::sleep(Duration::from_secs(4)).await;
    sim.reset_stats().await?;
    let burst_started = Instant::now();
    for round in 0..BURST_ROUNDS {
        for id in burst {
            sim.patch(
                &format!("/sim/users/{id}"),
                json!({ "profile": { "title": format!("Burst {round}") } }),
            )
            .await?;
        }
    }
    let sent = burst_started.elapsed();
    // Until the queue is empty and has stayed so.
    let mut quiet_since = None;
    while burst_started.elapsed() < Duration::from_secs(120) {
        let far = server::store::sortable(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
        let queued = roster.store.due_refreshes(&far).await?.len();
        match (queued, quiet_since) {
            (0, None) => quiet_since = Some(Instant::now()),
            (0, Some(since)) if since.elapsed() > Duration::from_secs(2) => break,
            (0, Some(_)) => {}
            _ => quiet_since = None,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = sim.stats().await?;
    let refreshes = stats.buckets.get("apps").map_or(0, |(requests, _)| *requests);

    println!();
    println!(
        "Okta Event Hooks (okta-sim delivering to the server as deployed; {HOOK_DEACTIVATIONS} deactivations, one every 100 ms)"
    );
    println!(
        "  deactivation → removed p95 {:>7.0} ms   target ≤ {HOOK_P95_TARGET_MS} ms        {}   (p50 {:.0} ms, max {:.0} ms; user.deprovisioned in the same transaction)",
        at(0.95).as_secs_f64() * 1e3,
        targets.check(
            "hook deprovisioning p95 ≤ 5 s",
            at(0.95) <= Duration::from_millis(HOOK_P95_TARGET_MS)
        ),
        at(0.5).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  burst of {} events, {BURST_USERS} users {:>4} refreshes   target ≤ {BURST_USERS}          {}   ({} 429s; the changes took {} to make)",
        BURST_USERS * BURST_ROUNDS,
        refreshes,
        targets.check(
            "a burst of 1 000 hook events for 200 users: ≤ 200 refreshes, no 429",
            refreshes <= BURST_USERS as u64 && stats.rate_limited() == 0
        ),
        stats.rate_limited(),
        secs(sent)
    );
    // Polling is measured without pushes.
    sim.delete(&format!("/sim/event-hooks/{hook_id}")).await?;
    let polled = log_polling(
        sim,
        roster,
        &core,
        &active[HOOK_DEACTIVATIONS + BURST_USERS..],
        targets,
    )
    .await;
    server.abort();
    polled
}

/// Deactivates `users` in okta-sim one every `spacing`, each watched until
/// Roster removed the user: how long each took, shortest first.
async fn deactivate_and_watch(
    sim: &SimProcess,
    roster: &Roster,
    users: &[String],
    spacing: Duration,
) -> BenchResult<Vec<Duration>> {
    let mut watchers = Vec::new();
    for id in users {
        let started = Instant::now();
        sim.patch(&format!("/sim/users/{id}"), json!({ "status": "deactivate" }))
            .await?;
        let (store, directory_id, id) = (roster.store.clone(), roster.directory_id.clone(), id.clone());
        watchers.push(tokio::spawn(async move {
            while started.elapsed() < Duration::from_secs(90) {
                if let Ok(Some(user)) = store.user(&directory_id, &id).await {
                    if user.deleted_at.is_some() {
                        return Some(started.elapsed());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            None
        }));
        tokio::time::sleep(spacing).await;
    }
    let mut latencies = Vec::new();
    for watcher in watchers {
        latencies.push(watcher.await?.ok_or("a deactivation never reached Roster")?);
    }
    latencies.sort();
    Ok(latencies)
}

/// Deactivations measured with System Log polling, one every 400 ms so they
/// fall all along the poll interval.
const POLL_DEACTIVATIONS: usize = 50;
const POLL_INTERVAL_SECS: i64 = 10;
const POLL_P95_TARGET_MS: u64 = 15_000;
const CHANGED_USERS: usize = 100;
const QUIET_SYNC_CALLS_TARGET: i64 = 5;

/// System Log polling on the same server: deprovisioning latency at a 10 s
/// interval, then the API calls of scheduled syncs that a healthy cursor
/// makes incremental (an unchanged org; 100 users changed), with polling
/// slowed down so the scheduled sync, not the poller, finds the changes.
async fn log_polling(
    sim: &SimProcess,
    roster: &Roster,
    core: &server::domain::Core,
    users: &[String],
    targets: &mut Targets,
) -> BenchResult<()> {
    if users.len() < POLL_DEACTIVATIONS + CHANGED_USERS {
        return Err("too few active users for the System Log polling benchmark".into());
    }
    let (leavers, rest) = users.split_at(POLL_DEACTIVATIONS);
    let changed = &rest[..CHANGED_USERS];
    let host = server::domain::Actor::host();
    let directory = server::model::DirectoryId::parse(&roster.directory_id)?;
    let polling = |interval: i64| server::domain::log_polling::LogPollingInput {
        enabled: true,
        interval_secs: Some(interval),
        reconcile_hours: None,
    };
    core.log_polling
        .set(&host, &directory, &polling(POLL_INTERVAL_SECS))
        .await?;
    // The first poll catches up from the last full sync.
    let caught_up = Instant::now();
    while core.log_polling.get(&directory).await?.polls == 0 && caught_up.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let latencies = deactivate_and_watch(sim, roster, leavers, Duration::from_millis(400)).await?;
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];

    // Scheduled syncs: polling slowed to once an hour, so what they read is theirs.
    core.log_polling.set(&host, &directory, &polling(3_600)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let engine = core.directories.engine();
    let scheduled = |label: &'static str| async move {
        sim.reset_stats().await?;
        let started = Instant::now();
        let outcome = engine
            .sync_and_wait(&roster.directory_id, Trigger::Schedule)
            .await?;
        let wall = started.elapsed();
        let run = roster
            .store
            .run(&outcome.run_id)
            .await?
            .ok_or("the run record is missing")?;
        if run.mode != server::model::RunMode::Incremental || run.status != RunStatus::Succeeded {
            return Err(format!("{label}: the scheduled sync ran {:?}, {:?}", run.mode, run.status).into());
        }
        let sim_total = sim.stats().await?.total;
        BenchResult::Ok((run, sim_total, wall))
    };
    let (quiet, quiet_sim, quiet_wall) = scheduled("unchanged org").await?;
    for (n, id) in changed.iter().enumerate() {
        sim.patch(
            &format!("/sim/users/{id}"),
            json!({ "profile": { "title": format!("Changed {n}") } }),
        )
        .await?;
    }
    let (busy, busy_sim, busy_wall) = scheduled("100 users changed").await?;
    core.log_polling
        .set(
            &host,
            &directory,
            &server::domain::log_polling::LogPollingInput::default(),
        )
        .await?;

    println!();
    println!(
        "System Log polling (every {POLL_INTERVAL_SECS} s, the server as deployed; {POLL_DEACTIVATIONS} deactivations, one every 400 ms)"
    );
    println!(
        "  deactivation → removed p95 {:>7.0} ms   target ≤ {POLL_P95_TARGET_MS} ms       {}   (p50 {:.0} ms, max {:.0} ms)",
        at(0.95).as_secs_f64() * 1e3,
        targets.check(
            "polling deprovisioning p95 ≤ 15 s at a 10 s interval",
            at(0.95) <= Duration::from_millis(POLL_P95_TARGET_MS)
        ),
        at(0.5).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  scheduled sync, unchanged {:>8} calls   target ≤ {QUIET_SYNC_CALLS_TARGET}            {}   (incremental; okta-sim counted {} with the token; {}; a full re-sync lists everything)",
        quiet.api_calls,
        targets.check(
            "an unchanged org's scheduled sync with System Log polling ≤ 5 API calls",
            quiet.api_calls <= QUIET_SYNC_CALLS_TARGET
        ),
        quiet_sim,
        secs(quiet_wall)
    );
    let busy_target = 2 * CHANGED_USERS as i64 + 5;
    println!(
        "  scheduled sync, {CHANGED_USERS} changed {:>6} calls   target ≤ {busy_target}          {}   (incremental; okta-sim counted {} with the token; {}; {} users updated)",
        busy.api_calls,
        targets.check(
            "100 users changed: scheduled sync ≤ 2 × changed + 5 API calls",
            busy.api_calls <= busy_target
        ),
        busy_sim,
        secs(busy_wall),
        busy.users_updated
    );
    Ok(())
}

async fn paced(targets: &mut Targets) -> BenchResult<()> {
    let sizes = Sizes {
        users: env_num("BENCH_PACED_USERS", 20_000),
        groups: env_num("BENCH_PACED_GROUPS", 500),
        memberships: env_num("BENCH_PACED_MEMBERSHIPS", 50_000),
    };
    let limit: u32 = env_num("BENCH_PACED_LIMIT", 20);
    let window_ms: u64 = env_num("BENCH_PACED_WINDOW_MS", 1_000);
    let share: f64 = env_num("BENCH_SHARE", 0.5);
    println!();
    println!(
        "Paced run: {sizes}; every bucket {limit} requests per {window_ms} ms (Okta's per-minute windows, scaled down), share {share}"
    );
    let sim = SimProcess::start(sizes).await?;
    let org = org_info(&sim).await?;
    let roster = connect_roster(&sim, &org, share, "paced").await?;
    // Fresh counts in every bucket: verify's calls do not eat into the run's windows.
    sim.set_rate_limit(limit, window_ms).await?;
    sim.reset_stats().await?;
    // Start at the beginning of a window (windows are aligned to multiples of
    // their length), so the minimum below is exact rather than ± a window.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(window_ms - now_ms % window_ms + 5)).await;
    let run = roster.sync().await?;
    let stats = sim.stats().await?;

    // Roster may spend `allowed` calls of each bucket per window. A bucket
    // needing n calls needs ceil(n / allowed) windows; its last calls go out
    // at the start of the last one. Buckets are independent, so the busiest
    // bucket sets the minimum.
    let allowed = ((f64::from(limit) * share).floor()).max(1.0) as u64;
    let window = Duration::from_millis(window_ms);
    println!("  bucket        calls   windows of {allowed} calls   429s");
    let mut minimum = Duration::ZERO;
    let mut in_order = Duration::ZERO;
    for (bucket, (requests, limited)) in &stats.buckets {
        let windows = requests.div_ceil(allowed);
        let needed = window * u32::try_from(windows.saturating_sub(1))?;
        minimum = minimum.max(needed);
        in_order += window * u32::try_from(windows)?;
        println!(
            "  {bucket:<10} {:>7}   {:>18}   {limited:>5}",
            thousands(*requests),
            windows
        );
    }
    let over = run.wall.as_secs_f64() / minimum.as_secs_f64().max(1e-9) - 1.0;
    let limited = stats.rate_limited();
    println!(
        "  wall time                {:>12}   ({})",
        secs(run.wall),
        phase_line(&run.phases)
    );
    println!(
        "  theoretical minimum      {:>12}   (the busiest bucket's windows at {allowed} calls each; {} if the buckets were used one after another)",
        secs(minimum),
        secs(in_order)
    );
    println!(
        "  over the minimum         {:>10.1} %   target ≤ {:.0} %       {}",
        over * 100.0,
        PACED_SLACK_TARGET * 100.0,
        targets.check("paced run within 10 % of the minimum", over <= PACED_SLACK_TARGET)
    );
    println!(
        "  429 responses            {:>12}   target 0            {}   (Roster saw {}; {} paced waits, {} in all)",
        limited,
        targets.check("paced run without a 429", limited == 0 && run.run.rate_limited == 0),
        run.run.rate_limited,
        run.run.paced_waits,
        secs(Duration::from_millis(run.run.waited_ms as u64))
    );
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error")),
        )
        .init();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let database = if on_postgres() {
        "PostgreSQL in a throwaway cluster"
    } else {
        "SQLite"
    };
    println!("Roster sync benchmark ({cpus} CPUs; okta-sim in its own process; {database})");
    println!();
    let mut targets = Targets { results: Vec::new() };
    let mut result = zero_latency(&mut targets).await;
    if result.is_ok() && std::env::var("BENCH_SKIP_PACED").as_deref() != Ok("1") {
        result = paced(&mut targets).await;
    }
    if let Err(e) = result {
        eprintln!("bench-sync: error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let passed = targets.results.iter().filter(|(_, pass)| *pass).count();
    println!();
    println!("Targets: {passed} of {} pass", targets.results.len());
    for (name, pass) in &targets.results {
        println!("  {}  {name}", verdict(*pass));
    }
    std::process::ExitCode::SUCCESS
}
