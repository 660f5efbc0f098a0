//! A real PostgreSQL for the tests: one throwaway cluster per test process
//! (`scripts/pg-throwaway.sh`: initdb in a temporary directory as an
//! unprivileged user, a private socket directory, a free port; stopped and
//! removed when this process exits, however it exits), and a fresh database
//! in it for each test. `ROSTER_TEST_POSTGRES_URL` points at another server
//! instead.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::OnceLock,
};

static CLUSTER: OnceLock<String> = OnceLock::new();

/// The cluster's URL (its `roster` database), starting it on first use.
pub fn cluster_url() -> &'static str {
    CLUSTER.get_or_init(|| {
        if let Ok(url) = std::env::var("ROSTER_TEST_POSTGRES_URL") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-throwaway.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .arg(std::process::id().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/pg-throwaway.sh");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the cluster URL");
        assert!(
            line.starts_with("postgres://"),
            "scripts/pg-throwaway.sh did not start PostgreSQL (see its message above); got {line:?}"
        );
        // The script lives on until this process exits, then removes the cluster.
        std::mem::forget(child);
        line.trim().to_owned()
    })
}

/// A new, empty database in the cluster; its URL.
pub async fn fresh_database() -> String {
    let base = cluster_url();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(base)
        .await
        .expect("connect to the test cluster");
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    let (prefix, _) = base.rsplit_once('/').expect("a database in the URL");
    format!("{prefix}/{name}")
}
