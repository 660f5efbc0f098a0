//! Bad configuration stops the server with one actionable line, never a panic.

use crate::helpers::{spawn_app, try_build};
use std::process::Command;

fn run_binary(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in vars {
        command.env(k, v);
    }
    let output = command.output().expect("binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_one_line_error(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
    assert!(lines[0].starts_with("roster: error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn malformed_database_url_is_one_line() {
    let (code, stderr) = run_binary(&[("ROSTER_DATABASE_URL", "postgres//oops")]);
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "ROSTER_DATABASE_URL");
}

#[test]
fn unwritable_data_dir_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let data_dir = file.join("data");
    let (code, stderr) = run_binary(&[
        ("ROSTER_DATA_DIR", data_dir.to_str().unwrap()),
        ("ROSTER_LISTEN", "127.0.0.1:0"),
    ]);
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "ROSTER_DATA_DIR");
}

#[test]
fn corrupted_key_file_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("master.key"), "garbage").unwrap();
    // Private modes, so the only line is the key error (looser ones get a warning).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(
            dir.path().join("master.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let (code, stderr) = run_binary(&[
        ("ROSTER_DATA_DIR", dir.path().to_str().unwrap()),
        ("ROSTER_LISTEN", "127.0.0.1:0"),
    ]);
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "master key file");
}

#[tokio::test]
async fn port_in_use_is_a_listen_error() {
    let running = spawn_app().await;
    let port = running.address.rsplit(':').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let err = try_build(&dir, &[("ROSTER_LISTEN", &listen)])
        .await
        .err()
        .expect("second bind fails");
    let message = err.to_string();
    assert!(
        message.contains("cannot listen on") && message.contains("ROSTER_LISTEN"),
        "{message}"
    );
    assert!(!message.contains('\n'));
}

#[tokio::test]
async fn restart_keeps_data_and_prints_no_link_once_an_admin_exists() {
    let first = spawn_app().await;
    first.sign_in_with_setup_link().await;
    let again = try_build(&first.data_dir, &[])
        .await
        .expect("second start on the same data");
    assert!(again.setup_link().is_none());
}

/// The cluster's URL with one part changed.
fn postgres_url_with(change: impl Fn(&str) -> String) -> String {
    change(crate::pg::cluster_url())
}

#[test]
fn postgres_problems_are_one_line_and_never_print_the_password() {
    let dir = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let run = |url: &str| {
        run_binary(&[
            ("ROSTER_DATA_DIR", data_dir.as_str()),
            ("ROSTER_LISTEN", "127.0.0.1:0"),
            (
                "ROSTER_MASTER_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            ("ROSTER_DATABASE_URL", url),
        ])
    };
    // Nothing listens on port 9 (discard).
    let (code, stderr) = run("postgres://roster:s3cret-pw@127.0.0.1:9/roster");
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "is PostgreSQL running");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
    assert!(stderr.contains("roster:***@127.0.0.1:9"), "{stderr}");

    let missing = postgres_url_with(|u| format!("{}/no_such_db", u.rsplit_once('/').unwrap().0));
    let (code, stderr) = run(&missing);
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "does not exist; create it");

    let stranger = postgres_url_with(|u| u.replacen("postgres://roster@", "postgres://nobody@", 1));
    let (code, stderr) = run(&stranger);
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "nobody");

    let (code, stderr) = run("postgres://roster:pw@127.0.0.1:5432");
    assert_eq!(code, Some(2));
    assert_one_line_error(&stderr, "names no database");
    assert!(!stderr.contains(":pw@"), "{stderr}");
}
