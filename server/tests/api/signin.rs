//! Sign-in configuration through the REST API and the CLI: validation, the
//! untested-save rule, the sealed secret, who may change it, and the audit
//! log's record of it. (The browser flow against a real OpenID Provider is
//! in end2end/tests/okta-signin.spec.ts.)

use crate::{cli::roster, helpers::spawn_app, rest::token};
use serde_json::{json, Value};
use server::model::TokenScope;

const SECRET: &str = "oidc-client-secret-Zq81-never-in-clear";

#[tokio::test]
async fn settings_are_validated_saved_sealed_and_audited() {
    let app = spawn_app().await;
    let rw = token(&app, TokenScope::ReadWrite).await;
    let ro = token(&app, TokenScope::ReadOnly).await;
    let put = |token: String, body: Value| {
        let (client, url) = (app.client.clone(), app.url("/api/v1/signin"));
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let body = |issuer: &str, save_anyway: bool| {
        json!({
            "issuer": issuer, "client_id": "0oaSignInApp00000001", "client_secret": SECRET,
            "admin_groups": "Roster Admins", "viewer_groups": "Helpdesk", "save_anyway": save_anyway,
        })
    };

    let bad = put(rw.clone(), body("https://evil.example", true)).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("not an Okta domain"));
    let untested = put(rw.clone(), body("acme.okta.com", false)).await;
    assert_eq!(untested.status(), 409, "saving untested needs save_anyway");
    assert!(untested.text().await.unwrap().contains("Test sign-in"));
    let viewer = put(ro.clone(), body("acme.okta.com", true)).await;
    assert_eq!(viewer.status(), 403, "a read-only token changes nothing");

    let saved = put(rw.clone(), body("acme.okta.com/oauth2/default", true)).await;
    assert_eq!(saved.status(), 200);
    let view: Value = saved.json().await.unwrap();
    assert_eq!(view["issuer"], "https://acme.okta.com/oauth2/default");
    assert_eq!(view["client_secret_set"], true);
    assert!(view["tested_by"].is_null(), "saved untested, and says so");
    assert_eq!(
        view["okta_app"]["sign_in_redirect_uri"],
        format!("{}/auth/callback", app.address)
    );
    let shown = app
        .client
        .get(app.url("/api/v1/signin"))
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !shown.contains(SECRET) && shown.contains("acme.okta.com"),
        "{shown}"
    );

    // Sealed at rest: not in any file of the data directory.
    for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{} holds the secret in clear",
                path.display()
            );
        }
    }

    // The secret is kept when a later save leaves it out.
    let mut keep = body("acme.okta.com", true);
    keep["client_secret"] = Value::Null;
    assert_eq!(put(rw.clone(), keep).await.status(), 200);

    let audit: Value = app
        .client
        .get(app.url("/api/v1/audit?action=signin_settings.saved"))
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "two saves: {audit}");
    assert_eq!(entries[0]["actor_kind"], "api-token");
    assert_eq!(entries[0]["detail"]["secret_replaced"], false);
    assert_eq!(entries[1]["detail"]["secret_replaced"], true);
    assert!(!audit.to_string().contains(SECRET));
    let bad_filter = app
        .client
        .get(app.url("/api/v1/audit?action=nonsense"))
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_filter.status(), 422);

    let removed = app
        .client
        .delete(app.url("/api/v1/signin"))
        .bearer_auth(&rw)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let after: Value = app
        .client
        .get(app.url("/api/v1/signin"))
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["configured"], false);
}

#[tokio::test]
async fn the_cli_sets_shows_and_audits_sign_in() {
    let app = spawn_app().await;
    let rw = token(&app, TokenScope::ReadWrite).await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .args([
            "signin",
            "set",
            "--issuer",
            "acme.okta.com",
            "--client-id",
            "0oaSignInApp00000001",
            "--client-secret-stdin",
            "--admin-group",
            "Roster Admins",
            "--admin-group",
            "IT",
        ])
        .env_clear()
        .env("ROSTER_URL", &app.address)
        .env("ROSTER_TOKEN", &rw)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{SECRET}\n").as_bytes())
            .unwrap();
    }
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Test sign-in"), "says it is untested: {stderr}");
    assert!(
        stdout.contains("https://acme.okta.com") && stdout.contains("Roster Admins, IT"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET));

    let show = roster(&app, Some(&rw), &["signin", "show", "--json"]).await;
    let v: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(v["admin_groups"], json!(["Roster Admins", "IT"]));

    let audit = roster(
        &app,
        Some(&rw),
        &["audit", "--action", "signin_settings.", "--json"],
    )
    .await;
    let list: Value = serde_json::from_str(&audit.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["action"], "signin_settings.saved");
}
