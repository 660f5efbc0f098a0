//! The HTTP surface as an outsider probes it: headers, body limits, the
//! origin rule, public paths, file modes, the setup link's GET and its rate
//! limit, and the core refusing a viewer's changes.

use crate::helpers::{client, spawn_app, spawn_app_with};
use server::{
    domain::{Actor, ErrorKind},
    model::{DirectoryId, Role},
};

#[tokio::test]
async fn every_page_carries_the_security_headers_and_a_nonce_that_the_scripts_use() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    for path in ["/", "/signin", "/settings/sign-in"] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let h = response.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "plain http: no HSTS"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the CSP")
            .to_owned();
        let html = response.text().await.unwrap();
        let scripts = html.matches("<script").count();
        assert!(scripts > 0, "{path} has scripts");
        assert_eq!(
            html.matches(&format!("nonce=\"{nonce}\"")).count(),
            scripts,
            "every script carries the nonce on {path}"
        );
    }
    let other = app.get_page("/signin").await;
    let again = other.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!again.is_empty());
    let api = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store");
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn https_public_url_adds_hsts_and_mutations_are_checked_against_it_behind_a_proxy() {
    let app = spawn_app_with(&[("ROSTER_PUBLIC_URL", "https://roster.example.com")]).await;
    // A proxy rewrote Host: the origin check compares with the public URL, not Host.
    let response = app.sign_in_with_setup_link().await;
    assert_eq!(
        response.status(),
        303,
        "same public origin accepted whatever Host says"
    );
    let page = app.get_page("/signin").await;
    assert!(page.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    // The same host over plain http is another origin.
    let refused = app
        .client
        .post(app.url("/signout"))
        .header("origin", "http://roster.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn origin_less_and_cross_site_posts_with_a_session_are_refused() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let bare = app.client.post(app.url("/signout")).send().await.unwrap();
    assert_eq!(bare.status(), 403, "no Origin, no Sec-Fetch-Site");
    let same_site = app
        .client
        .post(app.url("/signout"))
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 403);
    assert_eq!(app.get_page("/").await.status(), 200, "the session survived");
    let fetch_meta = app
        .client
        .post(app.url("/signout"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fetch_meta.status(),
        303,
        "a same-origin browser request without Origin is fine"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_not_500() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let big = "x".repeat(3 * 1024 * 1024);
    let server_fn = app
        .client
        .post(app.url("/api/rename_instance"))
        .header("origin", app.origin())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(server_fn.status(), 413);
    let token = crate::rest::token(&app, server::model::TokenScope::ReadWrite).await;
    let rest = app
        .client
        .post(app.url("/api/v1/directories"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(format!("{{\"okta_domain\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 413);
}

#[tokio::test]
async fn only_a_directory_id_jwks_path_is_public() {
    let app = spawn_app().await;
    for path in [
        "/directories/jwks.json",
        "/directories/6f1c2d3e-0000-4000-8000-000000000000/users/jwks.json",
    ] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), 303, "{path} needs a session");
        assert_eq!(response.headers()["location"], "/signin");
    }
    let real = app
        .client
        .get(app.url("/directories/6f1c2d3e-0000-4000-8000-000000000000/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        real.status(),
        303,
        "the real JWKS path is public (404 for an unknown directory)"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = server::startup::Application::build(crate::helpers::config_with(&data, &[]))
        .await
        .unwrap();
    drop(app);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(data.path()), 0o700);
    // The database files exist now; the next start tightens them (and new ones are created under 0700).
    let again = server::startup::Application::build(crate::helpers::config_with(&data, &[]))
        .await
        .unwrap();
    drop(again);
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file()
            && path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("roster.db")
        {
            assert_eq!(mode(&path) & 0o077, 0, "{} is {:o}", path.display(), mode(&path));
        }
    }
}

#[tokio::test]
async fn the_setup_get_only_asks_and_guesses_are_rate_limited() {
    let app = spawn_app().await;
    let link = app.setup_link.clone().unwrap();
    let path = link.split_once(&app.address).unwrap().1.to_owned();
    // A link preview fetches it: nothing is spent, no session is made.
    let preview = client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert!(
        html.contains("method=\"post\"") && html.contains("Continue"),
        "{html}"
    );
    assert_eq!(app.state.core.instance.overview().await.unwrap().admins, 0);
    // Guessing is limited per address…
    let mut last = 0;
    for i in 0..11 {
        last = app
            .post_form("/setup", &[("token", &format!("guess-{i}"))])
            .await
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
    // …and the real link still works from another address's budget? Same
    // address here: it is refused until the window passes.
    assert_eq!(app.sign_in_with_setup_link().await.status(), 429);
}

#[tokio::test]
async fn the_core_refuses_a_viewers_changes_and_audits_an_admins() {
    let app = spawn_app().await;
    let core = &app.state.core;
    let viewer = Actor::person(
        uuid::Uuid::new_v4(),
        Role::Viewer,
        "Vera Viewer",
        Some("10.0.0.9".into()),
    );
    let refused = core.directories.start_draft(&viewer).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Forbidden);
    assert!(refused.message.contains("read-only"), "{refused:?}");
    let unknown = DirectoryId::new();
    assert_eq!(
        core.directories.pause(&viewer, &unknown).await.unwrap_err().kind,
        ErrorKind::Forbidden
    );
    assert_eq!(
        core.sync.sync_now(&viewer, &unknown).await.unwrap_err().kind,
        ErrorKind::Forbidden
    );
    assert_eq!(
        core.instance.rename(&viewer, "Nope").await.unwrap_err().kind,
        ErrorKind::Forbidden
    );
    let admin = Actor::person(
        uuid::Uuid::new_v4(),
        Role::Admin,
        "Ada Admin",
        Some("10.0.0.7".into()),
    );
    let draft = core.directories.start_draft(&admin).await.unwrap();
    let log = core.audit.list(&Default::default()).await.unwrap();
    let entry = log
        .entries
        .iter()
        .find(|e| e.action == "directory.key_generated")
        .expect("key generation audited");
    assert_eq!(entry.actor_name, "Ada Admin");
    assert_eq!(entry.ip.as_deref(), Some("10.0.0.7"));
    assert_eq!(entry.target.as_deref(), Some(draft.id.as_str()));
    assert!(
        log.entries.iter().all(|e| e.actor_name != "Vera Viewer"),
        "refusals changed nothing"
    );
}
