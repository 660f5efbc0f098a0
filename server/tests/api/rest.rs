//! The REST API: API-token authentication (never cookies), problems,
//! the whole set-up path from a draft to synced users, cursor paging, the
//! membership invariant, and the OpenAPI document.

use crate::{
    helpers::{spawn_app, spawn_app_with, TestApp},
    okta_fixture::{start_sim, ALL_SCOPES},
};
use okta_sim::{ServiceAppPatch, ServiceAppSpec};
use serde_json::{json, Value};
use server::model::TokenScope;
use std::collections::BTreeSet;

pub async fn token(app: &TestApp, scope: TokenScope) -> String {
    app.state
        .core
        .instance
        .tokens()
        .create(&server::domain::Actor::host(), "test", scope)
        .await
        .expect("token created")
        .secret
}

/// A public key that is not Roster's.
pub fn placeholder_jwk() -> Value {
    let key = server::okta::KeyPair::generate().expect("key");
    serde_json::to_value(key.public_jwk()).expect("jwk")
}

fn api(app: &TestApp, path: &str) -> String {
    app.url(&format!("/api/v1{path}"))
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, api(app, path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    call(app, reqwest::Method::GET, path, token, None).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(app, reqwest::Method::POST, path, token, Some(body)).await
}

#[tokio::test]
async fn the_api_takes_tokens_not_cookies_and_tokens_do_not_open_the_ui() {
    let app = spawn_app().await;
    // A signed-in browser session is not an API credential.
    app.sign_in_with_setup_link().await;
    let with_cookie = app.client.get(api(&app, "/directories")).send().await.unwrap();
    assert_eq!(with_cookie.status(), 401);
    assert_eq!(
        with_cookie.headers()["www-authenticate"],
        "Bearer realm=\"roster\""
    );
    assert_eq!(with_cookie.headers()["content-type"], "application/problem+json");
    let problem: Value = with_cookie.json().await.unwrap();
    assert_eq!(problem["kind"], "unauthorized");
    assert!(problem["hint"].as_str().unwrap().contains("Bearer"));

    let read_only = token(&app, TokenScope::ReadOnly).await;
    let (status, list) = get(&app, "/directories", &read_only).await;
    assert_eq!((status, list), (200, json!([])));
    // A read-only token cannot write, and nothing is created.
    let (status, problem) = post(&app, "/directories", &read_only, json!({})).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["kind"], "forbidden");
    let (_, drafts) = get(&app, "/directories/drafts", &read_only).await;
    assert_eq!(drafts, json!([]));

    // A token never works on the UI's routes.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/"))
        .bearer_auth(&read_only)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    assert_eq!(page.headers()["location"], "/signin");

    // Listed with its use, then revoked: it stops at once.
    let read_write = token(&app, TokenScope::ReadWrite).await;
    // A token made with a token goes when its maker is revoked.
    let (status, minted) = post(
        &app,
        "/tokens",
        &read_write,
        json!({ "name": "child", "scope": "read-write" }),
    )
    .await;
    assert_eq!(status, 201, "{minted}");
    let child = minted["secret"].as_str().unwrap().to_owned();
    let (status, grandchild) = post(
        &app,
        "/tokens",
        &child,
        json!({ "name": "grandchild", "scope": "read-only" }),
    )
    .await;
    assert_eq!(status, 201);
    let grandchild = grandchild["secret"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/tokens/{}", minted["id"].as_str().unwrap()),
        &read_write,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(get(&app, "/directories", &child).await.0, 401);
    assert_eq!(get(&app, "/directories", &grandchild).await.0, 401);
    assert_eq!(
        get(&app, "/directories", &read_write).await.0,
        200,
        "its maker still works"
    );
    let (_, tokens) = get(&app, "/tokens", &read_write).await;
    let listed = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scope"] == "read-only" && t["name"] == "test")
        .unwrap()
        .clone();
    assert!(listed["last_used_at"].is_string(), "{listed}");
    assert!(listed.get("secret").is_none() && !tokens.to_string().contains(&read_only));
    let id = listed["id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/tokens/{id}"),
        &read_write,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, problem) = get(&app, "/directories", &read_only).await;
    assert_eq!(status, 401);
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    let (status, _) = get(&app, "/directories", "roster_not-a-real-token").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn errors_are_problems_that_say_what_to_fix() {
    let app = spawn_app().await;
    let rw = token(&app, TokenScope::ReadWrite).await;
    let (status, p) = get(&app, "/directories/0b6c5d1e-0000-4000-8000-000000000001", &rw).await;
    assert_eq!((status, p["kind"].as_str()), (404, Some("not_found")));
    assert_eq!(p["detail"], "The directory was not found.");
    let (status, p) = get(&app, "/directories/not-an-id/users", &rw).await;
    assert_eq!(status, 404, "{p}");
    let (status, p) = post(
        &app,
        "/directories",
        &rw,
        json!({ "okta_domain": "evil.example.com", "client_id": "0oa1" }),
    )
    .await;
    assert_eq!((status, p["kind"].as_str()), (422, Some("invalid")), "{p}");
    let (_, drafts) = get(&app, "/directories/drafts", &rw).await;
    assert_eq!(drafts, json!([]), "bad input creates nothing");
    let (status, p) = post(
        &app,
        "/directories",
        &rw,
        json!({ "okta_domain": "acme.okta.com" }),
    )
    .await;
    assert_eq!(status, 422);
    assert!(p["detail"].as_str().unwrap().contains("client_id"), "{p}");
    let (_, drafts) = get(&app, "/directories/drafts", &rw).await;
    assert_eq!(drafts, json!([]), "half a connection creates nothing either");
    let (status, p) = post(&app, "/directories", &rw, json!({ "surprise": 1 })).await;
    assert_eq!(status, 422);
    assert!(p["detail"].as_str().unwrap().contains("surprise"), "{p}");
    let (status, p) = post(&app, "/tokens", &rw, json!({ "name": "x", "scope": "admin" })).await;
    assert_eq!(status, 422);
    assert!(p["detail"].as_str().unwrap().contains("read-only"));
    let (status, p) = get(
        &app,
        "/directories/0b6c5d1e-0000-4000-8000-000000000001/users?sort=shoe-size",
        &rw,
    )
    .await;
    assert_eq!(status, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("Unknown sort"), "{p}");
    let (status, p) = get(&app, "/no-such-thing", &rw).await;
    assert_eq!(status, 404);
    assert!(p["detail"].as_str().unwrap().contains("openapi.json"));
}

/// Pages through a list with a small limit, following `next` cursors.
async fn all_pages(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = format!("{path}?limit=7");
    loop {
        let (status, page) = get(app, &url, token).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_url"].as_str() {
            Some(next) => url = next.trim_start_matches("/api/v1").to_owned(),
            None => break,
        }
    }
    items
}

#[tokio::test]
async fn a_directory_goes_from_draft_to_synced_users_over_the_api() {
    let sim = start_sim(60, 6, 160).await;
    let app = spawn_app_with(&[("ROSTER_OKTA_EXTRA_ORIGINS", sim.base_url())]).await;
    let rw = token(&app, TokenScope::ReadWrite).await;
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

    let (status, draft) = post(
        &app,
        "/directories",
        &rw,
        json!({ "okta_domain": sim.base_url(), "client_id": registered.client_id }),
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    assert!(draft["key"]["pem"].as_str().unwrap().contains("PUBLIC KEY"));
    assert!(draft["jwks_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/directories/{id}/jwks.json")));
    assert_eq!(draft["verified"], false);

    // Before the key is in Okta, Verify says so and Create is refused.
    let (status, report) = post(&app, &format!("/directories/{id}/verify"), &rw, json!({})).await;
    assert_eq!((status, report["ok"].clone()), (200, json!(false)), "{report}");
    let (status, p) = post(
        &app,
        &format!("/directories/{id}/create"),
        &rw,
        json!({ "name": "Acme" }),
    )
    .await;
    assert_eq!((status, p["kind"].as_str()), (409, Some("conflict")), "{p}");

    handle
        .update_service_app(
            &registered.client_id,
            ServiceAppPatch {
                jwks: Some(json!({ "keys": [draft["key"]["jwk"]] })),
                ..ServiceAppPatch::default()
            },
        )
        .unwrap();
    // Several apps are readable: Verify names them, and the admin picks one.
    let (_, report) = post(&app, &format!("/directories/{id}/verify"), &rw, json!({})).await;
    assert_eq!(report["ok"], false);
    assert!(report["apps"].as_array().unwrap().len() > 1, "{report}");
    let (status, report) = post(
        &app,
        &format!("/directories/{id}/verify"),
        &rw,
        json!({ "app_id": handle.roster_app_id() }),
    )
    .await;
    assert_eq!((status, report["ok"].clone()), (200, json!(true)), "{report}");
    let (status, created) = post(
        &app,
        &format!("/directories/{id}/create"),
        &rw,
        json!({ "name": "Acme" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "Acme");

    // The first sync runs in the background; wait for its run to end.
    let mut detail = Value::Null;
    for _ in 0..200 {
        let (_, d) = get(&app, &format!("/directories/{id}"), &rw).await;
        if d["last_run"]["status"] == "succeeded" && d["progress"].is_null() {
            detail = d;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(detail["state"], "active", "{detail}");
    assert_eq!(detail["status"], "healthy");

    // Users: every page once, equal to what the simulator assigned.
    let app_id = handle.roster_app_id();
    let present: BTreeSet<String> = handle
        .app_user_ids(&app_id)
        .unwrap()
        .into_iter()
        .filter(|u| handle.user(u).unwrap()["status"] != "DEPROVISIONED")
        .collect();
    let users = all_pages(&app, &format!("/directories/{id}/users"), &rw).await;
    let listed: BTreeSet<String> = users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), users.len(), "no user twice across pages");
    assert_eq!(listed, present);
    let counts = &detail["counts"];
    assert_eq!(counts["users_total"], json!(present.len()));
    assert_eq!(
        counts["users_active"].as_i64().unwrap() + counts["users_suspended"].as_i64().unwrap(),
        present.len() as i64
    );

    // Groups and members: a member is always a present user (Okta lists
    // members of every status; deprovisioned ones must never show).
    let groups = all_pages(&app, &format!("/directories/{id}/groups"), &rw).await;
    let app_groups: BTreeSet<String> = handle.app_group_ids(&app_id).unwrap().into_iter().collect();
    assert_eq!(
        groups
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>(),
        app_groups
    );
    let mut hidden = 0;
    for g in &groups {
        let gid = g["id"].as_str().unwrap();
        let members = all_pages(&app, &format!("/directories/{id}/groups/{gid}/members"), &rw).await;
        let listed: BTreeSet<String> = members
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        let in_okta: BTreeSet<String> = handle.group_member_ids(gid).unwrap().into_iter().collect();
        let expected: BTreeSet<String> = in_okta.intersection(&present).cloned().collect();
        hidden += in_okta.len() - expected.len();
        assert_eq!(listed, expected, "members of {gid}");
        assert_eq!(g["members"], json!(expected.len()));
        // The users list filtered by group agrees.
        let (_, by_group) = get(
            &app,
            &format!("/directories/{id}/users?group={gid}&limit=200"),
            &rw,
        )
        .await;
        assert_eq!(by_group["total"], json!(expected.len()));
    }
    assert!(
        hidden > 0,
        "the org has members who are not present users, so the invariant was exercised"
    );

    // One user in full; an unknown one is a 404 problem.
    let some = users[0]["id"].as_str().unwrap();
    let (status, user) = get(&app, &format!("/directories/{id}/users/{some}"), &rw).await;
    assert_eq!(status, 200);
    assert_eq!(user["history"][0]["event"], "added");
    let (status, _) = get(&app, &format!("/directories/{id}/users/00uNOBODY"), &rw).await;
    assert_eq!(status, 404);

    // Runs, and a paused directory refuses Sync Now until resumed.
    let (_, runs) = get(&app, &format!("/directories/{id}/runs"), &rw).await;
    let run_id = runs[0]["id"].as_str().unwrap();
    let (status, run) = get(&app, &format!("/directories/{id}/runs/{run_id}"), &rw).await;
    assert_eq!((status, run["trigger"].as_str()), (200, Some("first")));
    let (status, _) = post(&app, &format!("/directories/{id}/pause"), &rw, json!({})).await;
    assert_eq!(status, 204);
    let (status, p) = post(&app, &format!("/directories/{id}/sync"), &rw, json!({})).await;
    assert_eq!((status, p["kind"].as_str()), (409, Some("conflict")), "{p}");
    assert!(p["hint"].as_str().unwrap().contains("resume"));
    post(&app, &format!("/directories/{id}/resume"), &rw, json!({})).await;
    let (status, started) = post(&app, &format!("/directories/{id}/sync"), &rw, json!({})).await;
    assert_eq!(status, 202, "{started}");

    // Delete needs the name typed.
    for _ in 0..200 {
        let (_, d) = get(&app, &format!("/directories/{id}"), &rw).await;
        if d["progress"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, p) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/directories/{id}?confirm_name=Nope"),
        &rw,
        None,
    )
    .await;
    assert_eq!(status, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("Acme"));
    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/directories/{id}?confirm_name=Acme"),
        &rw,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = get(&app, &format!("/directories/{id}"), &rw).await;
    assert_eq!(status, 404);

    // The event log told the story, in order, and outlives the directory.
    let read_only = token(&app, TokenScope::ReadOnly).await;
    let lifecycle = "directory.created,directory.paused,directory.resumed,directory.deleted,sync.succeeded";
    let mut events = Vec::new();
    let mut cursor = "0".to_owned();
    loop {
        let (status, page) = get(
            &app,
            &format!("/events?directory={id}&types={lifecycle}&after={cursor}&limit=2"),
            &read_only,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        events.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if page["has_more"] == false {
            break;
        }
    }
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "directory.created",
            "sync.succeeded",
            "directory.paused",
            "directory.resumed",
            "sync.succeeded",
            "directory.deleted"
        ],
        "{events:#?}"
    );
    assert_eq!(events[0]["data"]["name"], "Acme");
    assert_eq!(events[1]["data"]["trigger"], "first");
    assert!(events[1]["data"]["users_added"].as_i64().unwrap() > 0);
    assert_eq!(events[5]["entity_id"].as_str(), Some(id.as_str()));
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    // Nothing newer: the cursor stays, and the page is empty.
    let (_, empty) = get(&app, &format!("/events?after={cursor}"), &read_only).await;
    assert_eq!(
        (empty["items"].clone(), empty["next_cursor"].clone()),
        (json!([]), json!(cursor))
    );
    // The newest, and by type.
    let (_, newest) = get(&app, "/events?last=1", &read_only).await;
    assert_eq!(newest["items"][0]["type"], "directory.deleted");
    let (_, syncs) = get(&app, "/events?types=sync.succeeded", &read_only).await;
    assert_eq!(syncs["items"].as_array().unwrap().len(), 2);
    // Wrong input says what is accepted.
    let (status, p) = get(&app, "/events?types=user.gone", &read_only).await;
    assert_eq!(status, 422, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("user.deprovisioned"),
        "{p}"
    );
    let (status, p) = get(&app, "/events?after=evt_3", &read_only).await;
    assert_eq!(status, 422, "{p}");
}

#[tokio::test]
async fn the_openapi_document_parses_and_lists_every_route() {
    let app = spawn_app().await;
    // Public, like any API description.
    let doc: Value = reqwest::get(api(&app, "/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("get", "/directories"),
        ("post", "/directories"),
        ("get", "/directories/drafts"),
        ("get", "/directories/{id}"),
        ("delete", "/directories/{id}"),
        ("put", "/directories/{id}/connection"),
        ("post", "/directories/{id}/verify"),
        ("post", "/directories/{id}/preview"),
        ("post", "/directories/{id}/create"),
        ("put", "/directories/{id}/settings"),
        ("post", "/directories/{id}/pause"),
        ("post", "/directories/{id}/resume"),
        ("post", "/directories/{id}/sync"),
        ("post", "/directories/{id}/rotate-key"),
        ("get", "/directories/{id}/runs"),
        ("get", "/directories/{id}/okta-hook"),
        ("post", "/directories/{id}/okta-hook"),
        ("get", "/directories/{id}/log-polling"),
        ("put", "/directories/{id}/log-polling"),
        ("get", "/directories/{id}/runs/{run_id}"),
        ("post", "/directories/{id}/pending/apply"),
        ("post", "/directories/{id}/pending/discard"),
        ("get", "/directories/{id}/users"),
        ("get", "/directories/{id}/users/{user_id}"),
        ("get", "/directories/{id}/groups"),
        ("get", "/directories/{id}/groups/{group_id}"),
        ("get", "/directories/{id}/groups/{group_id}/members"),
        ("get", "/tokens"),
        ("post", "/tokens"),
        ("delete", "/tokens/{token_id}"),
        ("get", "/signin"),
        ("put", "/signin"),
        ("delete", "/signin"),
        ("get", "/audit"),
        ("get", "/events"),
        ("get", "/directories/{id}/scim"),
        ("put", "/directories/{id}/scim"),
        ("post", "/directories/{id}/scim/tokens"),
        ("delete", "/directories/{id}/scim/tokens/{token_id}"),
        ("get", "/directories/{id}/scim/requests"),
        ("post", "/directories/scim"),
        ("get", "/webhooks"),
        ("post", "/webhooks"),
        ("get", "/webhooks/{webhook_id}"),
        ("put", "/webhooks/{webhook_id}"),
        ("delete", "/webhooks/{webhook_id}"),
        ("post", "/webhooks/{webhook_id}/enable"),
        ("post", "/webhooks/{webhook_id}/disable"),
        ("post", "/webhooks/{webhook_id}/rotate-secret"),
        ("post", "/webhooks/{webhook_id}/test"),
        ("post", "/webhooks/{webhook_id}/replay"),
        ("get", "/webhooks/{webhook_id}/deliveries"),
        ("get", "/notifications"),
        ("post", "/notifications/test"),
    ];
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let wanted: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, wanted);
    // Every documented route is served (none falls through to the API's 404 route).
    let rw = token(&app, TokenScope::ReadWrite).await;
    for (method, path) in &wanted {
        let concrete = path
            .replace("{id}", "0b6c5d1e-0000-4000-8000-000000000001")
            .replace("{run_id}", "0b6c5d1e-0000-4000-8000-000000000002")
            .replace("{token_id}", "0b6c5d1e-0000-4000-8000-000000000003")
            .replace("{webhook_id}", "0b6c5d1e-0000-4000-8000-000000000004")
            .replace("{user_id}", "00u1")
            .replace("{group_id}", "00g1");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = (method != reqwest::Method::GET && method != reqwest::Method::DELETE).then(|| json!({}));
        let (_, answer) = call(&app, method.clone(), &concrete, &rw, body).await;
        assert!(
            !answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("No such API route"),
            "{method} {path} is documented but not routed"
        );
    }
    // Each operation says it needs the bearer token scheme.
    assert!(doc["components"]["securitySchemes"]["api_token"]["scheme"] == "bearer");
}
