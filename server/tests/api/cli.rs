//! The `roster` binary itself, run as a process against a spawned server and
//! the Okta simulator: the scripted set-up path, exit codes, host-side admin.

use crate::{
    helpers::{client, spawn_app, spawn_app_with, TestApp},
    okta_fixture::{start_sim, ALL_SCOPES},
    rest::placeholder_jwk,
};
use okta_sim::{ServiceAppPatch, ServiceAppSpec};
use serde_json::Value;
use std::collections::BTreeSet;

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs the real binary off the test's runtime (which keeps serving meanwhile).
pub(crate) async fn roster(app: &TestApp, token: Option<&str>, args: &[&str]) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .args(args)
        .env_clear()
        .env("ROSTER_URL", &app.address)
        .env("ROSTER_DATA_DIR", app.data_dir.path())
        .env("ROSTER_LOG", "warn");
    if let Some(token) = token {
        command.env("ROSTER_TOKEN", token);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("roster runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn the_cli_adds_verifies_creates_syncs_and_lists_what_okta_has() {
    let sim = start_sim(45, 5, 120).await;
    let app = spawn_app_with(&[("ROSTER_OKTA_EXTRA_ORIGINS", sim.base_url())]).await;

    // Bootstrap a token on the host, next to the running server.
    let created = roster(
        &app,
        None,
        &[
            "admin",
            "create-token",
            "--name",
            "cli",
            "--scope",
            "read-write",
            "--json",
        ],
    )
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let token = created.json()["secret"].as_str().unwrap().to_owned();
    assert!(token.starts_with("roster_"));
    let token = Some(token.as_str());

    // The Okta admin creates the API Services app first; its key comes from Roster.
    let handle = sim.handle();
    let registered = handle
        .register_service_app(ServiceAppSpec {
            name: "Roster Sync".into(),
            // Created in Okta before Roster's key exists: someone else's key for now.
            jwks: Some(serde_json::json!({ "keys": [placeholder_jwk()] })),
            scopes: Some(ALL_SCOPES.iter().map(|s| s.to_string()).collect()),
            admin_role: Some(true),
            ..ServiceAppSpec::default()
        })
        .unwrap();
    let add = roster(
        &app,
        token,
        &[
            "directories",
            "add",
            "okta",
            "--domain",
            sim.base_url(),
            "--client-id",
            &registered.client_id,
            "--json",
        ],
    )
    .await;
    assert_eq!(add.code, 0, "{}", add.stderr);
    let draft = add.json();
    let id = draft["id"].as_str().unwrap().to_owned();
    handle
        .update_service_app(
            &registered.client_id,
            ServiceAppPatch {
                jwks: Some(serde_json::json!({ "keys": [draft["key"]["jwk"]] })),
                ..ServiceAppPatch::default()
            },
        )
        .unwrap();

    let verify = roster(&app, token, &["directories", "verify", &id]).await;
    assert_eq!(verify.code, 1, "several apps are readable and none is chosen");
    assert!(
        verify.stdout.contains("fix: Pick the Okta app"),
        "{}",
        verify.stdout
    );
    let verify = roster(
        &app,
        token,
        &["directories", "verify", &id, "--app", &handle.roster_app_id()],
    )
    .await;
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains("PASS") && !verify.stdout.contains("FAIL"),
        "{}",
        verify.stdout
    );
    let create = roster(&app, token, &["directories", "create", &id, "--name", "Acme CLI"]).await;
    assert_eq!(create.code, 0, "{}", create.stderr);

    // The first sync starts on Create; a second Sync Now waits for it.
    let mut synced = None;
    for _ in 0..100 {
        let run = roster(&app, token, &["directories", "sync", &id, "--wait"]).await;
        if run.code == 0 {
            synced = Some(run);
            break;
        }
        assert!(run.stderr.contains("already syncing"), "{}", run.stderr);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let synced = synced.expect("a sync ran to the end");
    assert!(synced.stdout.contains("Sync succeeded"), "{}", synced.stdout);

    let users = roster(&app, token, &["users", "list", "--directory", &id, "--json"]).await;
    assert_eq!(users.code, 0, "{}", users.stderr);
    let listed: BTreeSet<String> = users
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = handle
        .app_user_ids(&handle.roster_app_id())
        .unwrap()
        .into_iter()
        .filter(|u| handle.user(u).unwrap()["status"] != "DEPROVISIONED")
        .collect();
    assert_eq!(listed, expected);

    let table = roster(&app, token, &["directories", "list"]).await;
    assert_eq!(table.code, 0);
    assert!(table.stdout.starts_with("ID"), "{}", table.stdout);
    assert!(
        table.stdout.contains("Acme CLI") && table.stdout.contains("healthy"),
        "{}",
        table.stdout
    );

    // The event log: JSON Lines with --json, one line per event otherwise.
    let tail = roster(
        &app,
        token,
        &["events", "tail", "--directory", &id, "--after", "0", "--json"],
    )
    .await;
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    let lines: Vec<Value> = tail
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = lines.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "directory.created", "{types:?}");
    // Without --after: the newest (here 2).
    let newest = roster(
        &app,
        token,
        &["events", "tail", "--directory", &id, "--last", "2"],
    )
    .await;
    assert_eq!(newest.stdout.lines().count(), 2, "{}", newest.stdout);
    assert!(newest.stdout.lines().last().unwrap().contains("sync.succeeded"));
    assert!(
        types.iter().filter(|t| **t == "sync.succeeded").count() >= 2,
        "{types:?}"
    );
    let last_cursor = lines.last().unwrap()["cursor"].as_str().unwrap().to_owned();
    let after = roster(&app, token, &["events", "tail", "--after", &last_cursor]).await;
    assert_eq!((after.code, after.stdout.as_str()), (0, ""), "{}", after.stderr);
    let syncs = roster(
        &app,
        token,
        &["events", "tail", "--types", "sync.succeeded", "--last", "1"],
    )
    .await;
    assert_eq!(syncs.code, 0, "{}", syncs.stderr);
    assert_eq!(syncs.stdout.lines().count(), 1, "{}", syncs.stdout);
    assert!(syncs.stdout.contains("sync.succeeded"), "{}", syncs.stdout);
    let bad = roster(&app, token, &["events", "tail", "--types", "user.gone"]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("user.deprovisioned"), "{}", bad.stderr);

    // Failures: exit 1 with the server's words; usage: exit 2.
    let missing = roster(
        &app,
        token,
        &["runs", "show", "0b6c5d1e-0000-4000-8000-000000000009", "-d", &id],
    )
    .await;
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("was not found"), "{}", missing.stderr);
    let bad_status = roster(&app, token, &["users", "list", "-d", &id, "--status", "gone"]).await;
    assert_eq!(bad_status.code, 2, "{}", bad_status.stderr);
    assert!(bad_status.stderr.contains("ACTIVE"));
    let no_directory = roster(&app, token, &["users", "list"]).await;
    assert_eq!(no_directory.code, 2);
    let no_token = roster(&app, None, &["directories", "list"]).await;
    assert_eq!(no_token.code, 2);
    assert!(no_token.stderr.contains("ROSTER_TOKEN"), "{}", no_token.stderr);
    let wrong_name = roster(&app, token, &["directories", "delete", &id, "--confirm", "Acme"]).await;
    assert_eq!(wrong_name.code, 2, "{}", wrong_name.stderr);
    assert!(wrong_name.stderr.contains("Acme CLI"));
}

#[tokio::test]
async fn setup_link_works_offline_and_signs_in_an_existing_admin() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    // The only admin's session is lost: the host prints a new link.
    let run = roster(&app, None, &["admin", "setup-link"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let link = run
        .stdout
        .split_whitespace()
        .find(|w| w.contains("/setup?token="))
        .expect("a link is printed")
        .to_owned();
    let token = link.split_once("token=").map(|(_, t)| t.to_owned()).unwrap();
    let browser = client();
    let redeem = |browser: reqwest::Client| {
        let (url, origin, token) = (app.url("/setup"), app.origin(), token.clone());
        async move {
            browser
                .post(url)
                .header("origin", origin)
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let opened = redeem(browser.clone()).await;
    assert_eq!(opened.headers()["location"], "/welcome");
    let home = browser
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200, "signed in again");
    // One use only.
    let again = redeem(client()).await;
    assert_eq!(again.status(), 403);
    assert!(again.text().await.unwrap().contains("roster admin setup-link"));
    // The break-glass use is in the audit log.
    let log = app
        .state
        .core
        .audit
        .list(&server::domain::audit::AuditQuery::default())
        .await
        .unwrap();
    let actions: Vec<&str> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"recovery_link.issued") && actions.contains(&"recovery_link.used"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn completions_and_help_need_no_server() {
    let app = spawn_app().await;
    let bash = roster(&app, None, &["completions", "bash"]).await;
    assert_eq!(bash.code, 0);
    assert!(bash.stdout.contains("roster") && bash.stdout.contains("directories"));
    let help = roster(&app, None, &["directories", "--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("sync"));
    let typo = roster(&app, None, &["directorys"]).await;
    assert_eq!(typo.code, 2);
}
