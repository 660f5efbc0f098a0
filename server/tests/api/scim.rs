//! SCIM 2.0 push: Okta's real request shapes against the running server,
//! and a pull and a push on the same directory converging.

use crate::helpers::{spawn_app, TestApp};
use crate::okta_fixture::{ready, start_sim, ServiceApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::{
    domain::{identities::UserQuery, Actor, PageRequest},
    model::{DirectoryId, RunStatus, Trigger},
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub struct Scim {
    pub base: String,
    pub token: String,
    pub directory: DirectoryId,
    client: reqwest::Client,
}

impl Scim {
    pub async fn for_directory(app: &TestApp, directory: &DirectoryId) -> Self {
        let issued = app
            .state
            .core
            .scim
            .create_token(&Actor::host(), directory, "Okta")
            .await
            .unwrap();
        Self {
            base: app.url(&format!("/scim/v2/{directory}")),
            token: issued.secret,
            directory: directory.clone(),
            client: reqwest::Client::new(),
        }
    }

    pub async fn push_only(app: &TestApp) -> Self {
        let id = app
            .state
            .core
            .scim
            .create_push_directory(&Actor::host(), "Okta (SCIM)")
            .await
            .unwrap();
        Self::for_directory(app, &id).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send_with(method, path, body, &[]).await.0
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> ((StatusCode, Value), reqwest::header::HeaderMap) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        ((status, value), headers)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }
}

fn okta_user(login: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": login,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": login, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

fn filter(expr: &str) -> String {
    format!("/Users?filter={}", urlencode(expr))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_error(answer: &(StatusCode, Value), status: u16, scim_type: Option<&str>) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert_eq!(answer.1["schemas"], json!([ERROR]), "{}", answer.1);
    assert_eq!(answer.1["status"], status.to_string());
    assert!(answer.1["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(answer.1["scimType"].as_str(), scim_type, "{}", answer.1);
}

#[tokio::test]
async fn okta_user_provisioning_round_trips() {
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;

    // Okta looks the user up first: an empty ListResponse.
    let (status, empty) = scim.get(&filter(r#"userName eq "ada@example.com""#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["totalResults"], 0);
    assert_eq!(empty["Resources"], json!([]));

    // Create: 201, Location, ETag, the Okta id as id, no password back.
    let ((status, ada), headers) = scim
        .send_with(
            Method::POST,
            "/Users",
            Some(okta_user("ada@example.com", "00ujl29u0le5T6Aj10h7")),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ada}");
    assert_eq!(ada["id"], "00ujl29u0le5T6Aj10h7");
    assert!(ada.get("password").is_none() && ada.get("groups").is_none());
    assert_eq!(ada["active"], true);
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("{}/Users/00ujl29u0le5T6Aj10h7", scim.base)
    );
    assert_eq!(ada["meta"]["location"], headers["location"].to_str().unwrap());
    assert_eq!(
        headers["etag"].to_str().unwrap(),
        ada["meta"]["version"].as_str().unwrap()
    );
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/scim+json"));

    // userName is caseExact=false: a duplicate in other case is a 409, and lookups ignore case.
    let dup = scim
        .send(
            Method::POST,
            "/Users",
            Some(okta_user("ADA@example.com", "00uOTHER00000000000a")),
        )
        .await;
    assert_error(&dup, 409, Some("uniqueness"));
    let (_, found) = scim.get(&filter(r#"userName eq "ADA@EXAMPLE.COM""#)).await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], "00ujl29u0le5T6Aj10h7");
    for expr in [
        r#"externalId eq "00ujl29u0le5T6Aj10h7""#,
        r#"emails.value eq "Ada@Example.com""#,
        r#"emails[value eq "ada@example.com"]"#,
        r#"id eq "00ujl29u0le5T6Aj10h7""#,
        r#"meta.lastModified gt "2020-01-01T00:00:00Z""#,
        r#"userName pr and (active eq true or externalId eq "x")"#,
    ] {
        let (status, list) = scim.get(&filter(expr)).await;
        assert_eq!(
            (status, list["totalResults"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{expr}: {list}"
        );
    }
    let (_, none) = scim
        .get(&filter(r#"meta.lastModified gt "2999-01-01T00:00:00Z""#))
        .await;
    assert_eq!(none["totalResults"], 0);

    // attributes / excludedAttributes.
    let (_, only) = scim.get("/Users/00ujl29u0le5T6Aj10h7?attributes=userName").await;
    assert_eq!(
        only,
        json!({"schemas": [USER], "id": "00ujl29u0le5T6Aj10h7", "userName": "ada@example.com"})
    );
    let (_, without) = scim.get("/Users?excludedAttributes=emails,name").await;
    assert!(without["Resources"][0].get("emails").is_none() && without["Resources"][0].get("name").is_none());

    // PUT is a full replace and honours If-Match.
    let version = ada["meta"]["version"].as_str().unwrap().to_owned();
    let mut renamed = okta_user("ada@example.com", "00ujl29u0le5T6Aj10h7");
    renamed["name"]["familyName"] = json!("Byron");
    let ((status, put), _) = scim
        .send_with(
            Method::PUT,
            "/Users/00ujl29u0le5T6Aj10h7",
            Some(renamed.clone()),
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["name"]["familyName"], "Byron");
    assert_ne!(put["meta"]["version"].as_str(), Some(version.as_str()));
    let ((status, stale), _) = scim
        .send_with(
            Method::PUT,
            "/Users/00ujl29u0le5T6Aj10h7",
            Some(renamed.clone()),
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");

    // A custom app deactivates with PUT active:false: the user leaves every list but SCIM still reads it.
    let dir = scim.directory.clone();
    let present = |app: &TestApp| {
        let dir = dir.clone();
        let core = app.state.core.clone();
        async move {
            core.identities
                .users(
                    &dir,
                    &UserQuery {
                        page: PageRequest::first(50),
                        ..UserQuery::default()
                    },
                )
                .await
                .unwrap()
                .total
        }
    };
    assert_eq!(present(&app).await, 1);
    renamed["active"] = json!(false);
    let (status, off) = scim
        .send(Method::PUT, "/Users/00ujl29u0le5T6Aj10h7", Some(renamed))
        .await;
    assert_eq!(
        (status, off["active"].clone()),
        (StatusCode::OK, json!(false)),
        "{off}"
    );
    assert_eq!(present(&app).await, 0);
    let (_, read) = scim.get("/Users/00ujl29u0le5T6Aj10h7").await;
    assert_eq!(read["active"], false);

    // An OIN app reactivates and deactivates with a path-less PATCH.
    for active in [true, false] {
        let (status, patched) = scim
            .send(
                Method::PATCH,
                "/Users/00ujl29u0le5T6Aj10h7",
                Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": active}}]})),
            )
            .await;
        assert_eq!(
            (status, patched["active"].clone()),
            (StatusCode::OK, json!(active)),
            "{patched}"
        );
        assert_eq!(present(&app).await, i64::from(active));
    }
    let detail = app
        .state
        .core
        .identities
        .user(
            &dir,
            &server::model::OktaUserId::parse("00ujl29u0le5T6Aj10h7").unwrap(),
        )
        .await
        .unwrap();
    let events: Vec<&str> = detail.history.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["removed", "added", "removed", "added"], "newest first");

    // PATCH with a path; a read-only attribute is refused.
    let (status, titled) = scim
        .send(
            Method::PATCH,
            "/Users/00ujl29u0le5T6Aj10h7",
            Some(json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "title", "value": "Countess"},
                {"op": "replace", "path": "name.givenName", "value": "Augusta"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (titled["title"].as_str(), titled["name"]["givenName"].as_str()),
        (Some("Countess"), Some("Augusta"))
    );
    let immutable = scim
        .send(
            Method::PATCH,
            "/Users/00ujl29u0le5T6Aj10h7",
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "x"}]})),
        )
        .await;
    assert_error(&immutable, 400, Some("mutability"));

    // DELETE: 204, then 404 with a SCIM error.
    let (status, _) = scim
        .send(Method::DELETE, "/Users/00ujl29u0le5T6Aj10h7", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&scim.get("/Users/00ujl29u0le5T6Aj10h7").await, 404, None);
}

#[tokio::test]
async fn bad_tokens_filters_and_bodies_get_scim_errors_and_change_nothing() {
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;
    let raw = reqwest::Client::new();
    let url = format!("{}/Users", scim.base);
    for auth in [None, Some("Bearer wrong"), Some("Basic dXNlcjpwYXNz")] {
        let mut request = raw.get(&url);
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        let response = request.send().await.unwrap();
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let answer = (response.status(), response.json::<Value>().await.unwrap());
        assert_error(&answer, 401, None);
    }
    // Another directory's token is no good here.
    let other = Scim::push_only(&app).await;
    let response = raw.get(&url).bearer_auth(&other.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    assert_error(
        &scim.get(&filter("userName eq")).await,
        400,
        Some("invalidFilter"),
    );
    assert_error(
        &scim.get(&filter(r#"title eq "x""#)).await,
        400,
        Some("invalidFilter"),
    );
    assert_error(
        &scim
            .get(&filter(&format!(
                "{}userName pr{}",
                "(".repeat(100),
                ")".repeat(100)
            )))
            .await,
        400,
        Some("invalidFilter"),
    );
    assert_error(&scim.get("/Users?count=many").await, 400, Some("invalidValue"));

    let bad_json = raw
        .post(&url)
        .bearer_auth(&scim.token)
        .header("content-type", "application/json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    let answer = (bad_json.status(), bad_json.json::<Value>().await.unwrap());
    assert_error(&answer, 400, Some("invalidSyntax"));
    let huge = raw
        .post(&url)
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body(format!("{{\"userName\": \"{}\"}}", "x".repeat(5 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    let answer = (huge.status(), huge.json::<Value>().await.unwrap());
    assert_error(&answer, 413, None);
    let no_name = scim
        .send(Method::POST, "/Users", Some(json!({"schemas": [USER]})))
        .await;
    assert_error(&no_name, 400, Some("invalidValue"));
    let (status, list) = scim.get("/Users").await;
    assert_eq!(
        (status, list["totalResults"].as_i64()),
        (StatusCode::OK, Some(0)),
        "nothing was written"
    );

    // Discovery is GET only; unknown paths are SCIM 404s.
    assert_eq!(scim.get("/ServiceProviderConfig").await.0, StatusCode::OK);
    assert_error(
        &scim.send(Method::POST, "/ServiceProviderConfig", None).await,
        405,
        None,
    );
    assert_error(&scim.get("/Nope").await, 404, None);
    let (_, schemas) = scim.get("/Schemas").await;
    assert_eq!(schemas["totalResults"], 3);

    // A revoked token stops at once; the log saw it all, without secrets.
    let tokens = app
        .state
        .core
        .scim
        .settings(&scim.directory)
        .await
        .unwrap()
        .tokens;
    app.state
        .core
        .scim
        .revoke_token(&Actor::host(), &scim.directory, &tokens[0].id)
        .await
        .unwrap();
    assert_error(&scim.get("/Users").await, 401, None);
    let log = app.state.core.scim.requests(&scim.directory, 100).await.unwrap();
    assert!(log.len() >= 12, "{log:?}");
    assert_eq!(
        (log[0].status, log[0].method.as_str(), log[0].path.as_str()),
        (401, "GET", "/Users")
    );
    assert!(log
        .iter()
        .any(|r| r.error.as_deref().is_some_and(|e| e.starts_with("invalidFilter"))));
    let text = format!("{log:?}");
    assert!(!text.contains(&scim.token) && !text.contains("xxxxxxxx"));
}

#[tokio::test]
async fn okta_group_push_adds_removes_replaces_renames_and_deletes() {
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;
    let mut ids = Vec::new();
    for (i, login) in ["ada@x.com", "bob@x.com", "cy@x.com"].iter().enumerate() {
        let (status, u) = scim
            .send(
                Method::POST,
                "/Users",
                Some(okta_user(login, &format!("00u{:0>17}", i + 1))),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{u}");
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let (status, group) = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Engineering", "members": []})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    let dup = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "engineering"})),
        )
        .await;
    assert_error(&dup, 409, Some("uniqueness"));
    let (_, found) = scim
        .get(&format!(
            "/Groups?filter={}",
            urlencode(r#"displayName eq "Engineering""#)
        ))
        .await;
    assert_eq!(found["Resources"][0]["id"], gid.as_str());

    let members = |v: &Value| -> Vec<String> {
        let mut m: Vec<String> = v["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        m.sort();
        m
    };
    let patch = |ops: Value| Some(json!({"schemas": [PATCH], "Operations": ops}));
    let path = format!("/Groups/{gid}");
    let (status, g) = scim
        .send(
            Method::PATCH,
            &path,
            patch(json!([{"op": "add", "path": "members", "value": [{"value": ids[0], "display": "ada"}, {"value": ids[1]}]}])),
        )
        .await;
    // A member change answers 204 (no member list sent back); the group shows it.
    assert_eq!(status, StatusCode::NO_CONTENT, "{g}");
    let (_, g) = scim.get(&path).await;
    assert_eq!(members(&g), [ids[0].clone(), ids[1].clone()]);
    let (status, _) = scim
        .send(
            Method::PATCH,
            &path,
            patch(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}])),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(members(&scim.get(&path).await.1), [ids[1].clone()]);
    let (status, _) = scim
        .send(
            Method::PATCH,
            &path,
            patch(json!([{"op": "replace", "path": "members", "value": [{"value": ids[2]}]}])),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(members(&scim.get(&path).await.1), [ids[2].clone()]);
    // A PUT without members (a rename) keeps them.
    let (status, put) = scim
        .send(
            Method::PUT,
            &path,
            Some(json!({"schemas": [GROUP], "displayName": "Engineering"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(members(&put), [ids[2].clone()]);
    // Okta renames with its own id in the value: not a change of id.
    let (status, g) = scim
        .send(
            Method::PATCH,
            &path,
            patch(json!([{"op": "replace", "value": {"id": gid, "displayName": "Platform"}}])),
        )
        .await;
    assert_eq!(
        (status, g["displayName"].as_str()),
        (StatusCode::OK, Some("Platform")),
        "{g}"
    );
    let other_id = scim
        .send(
            Method::PATCH,
            &path,
            patch(json!([{"op": "replace", "value": {"id": "someone-else"}}])),
        )
        .await;
    assert_error(&other_id, 400, Some("mutability"));
    let unknown = scim
        .send(
            Method::PATCH,
            &path,
            patch(json!([{"op": "add", "path": "members", "value": [{"value": "00uNOBODY"}]}])),
        )
        .await;
    assert_error(&unknown, 400, Some("invalidValue"));

    // The identity store sees exactly what SCIM says.
    let core = &app.state.core;
    let gid_typed = server::model::OktaGroupId::parse(&gid).unwrap();
    let stored = core
        .identities
        .members(&scim.directory, &gid_typed, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        stored.items.iter().map(|m| m.id.to_string()).collect::<Vec<_>>(),
        [ids[2].clone()]
    );
    assert_eq!(
        core.identities
            .group(&scim.directory, &gid_typed)
            .await
            .unwrap()
            .name,
        "Platform"
    );

    let (_, lean) = scim.get(&format!("{path}?excludedAttributes=members")).await;
    assert!(lean.get("members").is_none() && lean["displayName"] == "Platform");
    let (_, by_member) = scim
        .get(&format!(
            "/Groups?filter={}",
            urlencode(&format!("members[value eq \"{}\"]", ids[2]))
        ))
        .await;
    assert_eq!(by_member["totalResults"], 1);

    let (status, _) = scim.send(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&scim.get(&path).await, 404, None);
}

#[tokio::test]
async fn ten_thousand_users_page_through_in_a_stable_order() {
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;
    // Seed through the store's own push write, 10 000 times, concurrently.
    let (status, _) = scim
        .send(Method::POST, "/Users", Some(okta_user("seed@x.com", "seed")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let store = app.state.core.internals().0.clone();
    if let Some(pool) = store.postgres_pool() {
        sqlx::query(
            "INSERT INTO directory_users (dataset, okta_id, login, display_name, status, profile, content_hash,
                 first_seen_at, last_seen_at, updated_at, via_pull, via_push, keyed_by)
             SELECT u.dataset, format('u%s', lpad(i::text, 5, '0')), format('user%s@x.com', lpad(i::text, 5, '0')),
                 'User', 'ACTIVE', '{}', 'h', u.first_seen_at, u.first_seen_at, u.first_seen_at, false, true, 'roster'
             FROM generate_series(1, 9999) AS i, (SELECT dataset, first_seen_at FROM directory_users LIMIT 1) u",
        )
        .execute(pool)
        .await
        .unwrap();
    } else {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
             INSERT INTO directory_users (dataset, okta_id, login, display_name, status, profile, content_hash,
                 first_seen_at, last_seen_at, updated_at, via_pull, via_push, keyed_by)
             SELECT d.dataset, printf('u%05d', i), printf('user%05d@x.com', i), 'User', 'ACTIVE', '{}', 'h',
                 u.first_seen_at, u.first_seen_at, u.first_seen_at, 0, 1, 'roster'
             FROM n, (SELECT dataset, first_seen_at FROM directory_users LIMIT 1) u, (SELECT dataset FROM directory_users LIMIT 1) d",
        )
        .execute(store.sqlite_pool().expect("a SQLite store"))
        .await
        .unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut start = 1;
    loop {
        let (status, page) = scim
            .get(&format!(
                "/Users?startIndex={start}&count=1000&attributes=userName"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["totalResults"].as_i64(), Some(10_000));
        assert_eq!(page["startIndex"].as_i64(), Some(start));
        let items = page["Resources"].as_array().unwrap();
        assert_eq!(page["itemsPerPage"].as_u64(), Some(items.len() as u64));
        if items.is_empty() {
            break;
        }
        for item in items {
            assert!(
                seen.insert(item["id"].as_str().unwrap().to_owned()),
                "no id twice"
            );
        }
        start += items.len() as i64;
    }
    assert_eq!(seen.len(), 10_000);
    let (_, count_only) = scim.get("/Users?count=0").await;
    assert_eq!(
        (
            count_only["totalResults"].as_i64(),
            count_only["itemsPerPage"].as_i64()
        ),
        (Some(10_000), Some(0))
    );
}

#[tokio::test]
async fn a_pull_and_a_push_on_one_directory_converge() {
    let f = ready(start_sim(20, 2, 20).await, ServiceApp::default()).await;
    let engine = f.service.engine();
    assert_eq!(
        engine
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
    let core = &f.app.state.core;
    let dir = DirectoryId::parse(&f.directory_id).unwrap();
    core.scim.set_enabled(&Actor::host(), &dir, true).await.unwrap();
    let scim = Scim::for_directory(&f.app, &dir).await;
    let sim = f.sim();
    let app_id = sim.roster_app_id();

    // 1. A user created by SCIM (Okta sends its own id as externalId), then seen by a pull: one record, both sources.
    let newcomer = sim
        .create_user(okta_sim::NewUser {
            first_name: "New".into(),
            last_name: "Comer".into(),
            login: Some("newcomer@example.com".into()),
            email: Some("newcomer@example.com".into()),
            ..okta_sim::NewUser::default()
        })
        .unwrap();
    sim.assign_user_to_app(&app_id, &newcomer).unwrap();
    let (status, pushed) = scim
        .send(
            Method::POST,
            "/Users",
            Some(okta_user("newcomer@example.com", &newcomer)),
        )
        .await;
    assert_eq!(
        (status, pushed["id"].as_str()),
        (StatusCode::CREATED, Some(newcomer.as_str())),
        "{pushed}"
    );
    assert_eq!(
        engine
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
    let detail = core
        .identities
        .user(&dir, &server::model::OktaUserId::parse(&newcomer).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (detail.provenance.as_str(), detail.removed_at.is_none()),
        ("pull+push", true)
    );
    let (_, by_name) = scim.get(&filter(r#"userName eq "newcomer@example.com""#)).await;
    assert_eq!(by_name["totalResults"], 1, "no duplicate");

    // 2. Deactivated by SCIM while Okta still lists them ACTIVE: the push wins
    // (the pull read is older than the deactivation), until Okta changes the user again.
    let (status, _) = scim
        .send(
            Method::PATCH,
            &format!("/Users/{newcomer}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        engine
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
    let held = core
        .identities
        .user(&dir, &server::model::OktaUserId::parse(&newcomer).unwrap())
        .await
        .unwrap();
    assert!(
        held.removed_at.is_some(),
        "a stale ACTIVE from the pull does not resurrect them"
    );
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    sim.update_user(
        &newcomer,
        okta_sim::UserPatch {
            profile: json!({"title": "Returned"}).as_object().cloned(),
            ..okta_sim::UserPatch::default()
        },
    )
    .unwrap();
    assert_eq!(
        engine
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
    let back = core
        .identities
        .user(&dir, &server::model::OktaUserId::parse(&newcomer).unwrap())
        .await
        .unwrap();
    assert!(
        back.removed_at.is_none(),
        "Okta showing a newer change brings them back"
    );

    // 3. A membership added by a push and absent in Okta is removed by the next pull.
    let gid = sim.app_group_ids(&app_id).unwrap()[0].clone();
    let okta_members = sim.group_member_ids(&gid).unwrap();
    let outsider = f
        .expected_user_ids()
        .into_iter()
        .find(|u| !okta_members.contains(u))
        .expect("someone outside the group");
    let (status, g) = scim
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": outsider}]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{g}");
    let (_, g) = scim.get(&format!("/Groups/{gid}")).await;
    let member_ids = |v: &Value| -> Vec<String> {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(member_ids(&g).contains(&outsider));
    assert_eq!(
        engine
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
    let (_, after) = scim.get(&format!("/Groups/{gid}")).await;
    assert!(
        !member_ids(&after).contains(&outsider),
        "the pull re-read the group from Okta"
    );
}

#[tokio::test]
async fn every_filter_operator_maps_to_sql_that_answers_right() {
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;
    for (login, ext) in [("ada@example.com", "ext-Ada"), ("bob@example.org", "ext-bob")] {
        let (status, _) = scim
            .send(Method::POST, "/Users", Some(okta_user(login, ext)))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, group) = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Eng", "externalId": "g-ext"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    for (expr, expected) in [
        (r#"userName co "EXAMPLE""#, 2),
        (r#"userName sw "ADA""#, 1),
        (r#"userName ew ".org""#, 1),
        (r#"userName ne "ada@example.com""#, 1),
        (r#"externalId co "Ada""#, 1),
        (r#"externalId co "ada""#, 0),
        (r#"externalId sw "ext-""#, 2),
        (r#"externalId ew "bob""#, 1),
        (r#"externalId eq "EXT-ADA""#, 0),
        (r#"name.familyName eq "lovelace""#, 2),
        (r#"displayName pr"#, 2),
        (r#"title pr or userName pr"#, -1),
        (r#"not (userName sw "ada")"#, 1),
        (r#"externalId eq null"#, 0),
        (r#"active ne true"#, 0),
        (
            r#"meta.created le "2999-01-01T00:00:00Z" and meta.lastModified ge "2000-01-01T00:00:00Z""#,
            2,
        ),
        (r#"userName co "100%_\\""#, 0),
    ] {
        let (status, list) = scim.get(&filter(expr)).await;
        if expected < 0 {
            assert_error(&(status, list), 400, Some("invalidFilter"));
        } else {
            assert_eq!(
                (status, list["totalResults"].as_i64()),
                (StatusCode::OK, Some(expected)),
                "{expr}: {list}"
            );
        }
    }
    for (expr, expected) in [
        (r#"displayName eq "ENG""#, 1),
        (r#"externalId eq "g-ext""#, 1),
        (r#"displayName sw "E" and members pr"#, 0),
        (r#"id pr"#, 1),
    ] {
        let (status, list) = scim.get(&format!("/Groups?filter={}", urlencode(expr))).await;
        assert_eq!(
            (status, list["totalResults"].as_i64()),
            (StatusCode::OK, Some(expected)),
            "{expr}: {list}"
        );
    }
    // A SearchRequest body takes the same filter.
    let (status, found) = scim
        .send(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"bob\"", "attributes": ["userName"]})),
        )
        .await;
    assert_eq!(
        (status, found["totalResults"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{found}"
    );
    assert!(found["Resources"][0].get("emails").is_none());
}

#[tokio::test]
async fn a_scim_deactivation_or_delete_revokes_the_persons_sessions_at_once() {
    use server::{domain::signin::SessionCheck, model::Role};
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;
    let (store, _) = app.state.core.internals();
    let signin = &app.state.core.signin;
    let hour = time::Duration::hours(1);
    let issuer = "https://acme.okta.com";
    let by_subject =
        crate::sessions::okta_signin(store, issuer, "00uSIGNED00000000001", None, Role::Admin, hour).await;
    let by_email = crate::sessions::okta_signin(
        store,
        issuer,
        "00uELSEWHERE00000001",
        Some("Grace@Example.com"),
        Role::Admin,
        hour,
    )
    .await;
    let bystander =
        crate::sessions::okta_signin(store, issuer, "00uBYSTANDER00000001", None, Role::Admin, hour).await;

    let (status, _) = scim
        .send(
            Method::POST,
            "/Users",
            Some(okta_user("ada@example.com", "00uSIGNED00000000001")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, grace) = scim
        .send(
            Method::POST,
            "/Users",
            Some(okta_user("grace@example.com", "not-an-okta-id")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for id in [&by_subject, &by_email, &bystander] {
        assert_eq!(signin.check(id).await.unwrap().0, SessionCheck::Valid);
    }

    // Okta's OIN deactivation: the answer comes after the revocation.
    let (status, _) = scim
        .send(
            Method::PATCH,
            "/Users/00uSIGNED00000000001",
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signin.check(&by_subject).await.unwrap().0, SessionCheck::Revoked);
    assert_eq!(signin.check(&by_email).await.unwrap().0, SessionCheck::Valid);

    // A DELETE of a user keyed by a minted id: matched by e-mail.
    let (status, _) = scim
        .send(
            Method::DELETE,
            &format!("/Users/{}", grace["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(signin.check(&by_email).await.unwrap().0, SessionCheck::Revoked);
    assert_eq!(signin.check(&bystander).await.unwrap().0, SessionCheck::Valid);
}

#[tokio::test]
async fn a_pushed_group_change_revokes_an_admin_who_left_the_admin_group() {
    use server::{
        domain::signin::{SessionCheck, SettingsInput},
        model::Role,
    };
    let app = spawn_app().await;
    let scim = Scim::push_only(&app).await;
    let core = &app.state.core;
    core.signin
        .save(
            &Actor::host(),
            &SettingsInput {
                issuer: "https://acme.okta.com".into(),
                client_id: "0oaSignInApp00000001".into(),
                client_secret: Some("s".into()),
                admin_groups: "Roster Admins".into(),
                viewer_groups: String::new(),
            },
            None,
            true,
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (login, ext) in [
        ("ada@example.com", "00uADMIN000000000001"),
        ("bob@example.com", "00uADMIN000000000002"),
    ] {
        let (status, u) = scim
            .send(Method::POST, "/Users", Some(okta_user(login, ext)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{u}");
        ids.push(ext.to_owned());
    }
    let (status, group) = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Roster Admins", "members": [{"value": ids[0]}, {"value": ids[1]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (store, _) = core.internals();
    let hour = time::Duration::hours(1);
    let ada =
        crate::sessions::okta_signin(store, "https://acme.okta.com", &ids[0], None, Role::Admin, hour).await;
    let bob =
        crate::sessions::okta_signin(store, "https://acme.okta.com", &ids[1], None, Role::Admin, hour).await;

    let (status, _) = scim
        .send(
            Method::PATCH,
            &format!("/Groups/{}", group["id"].as_str().unwrap()),
            Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        core.signin.check(&ada).await.unwrap().0,
        SessionCheck::Revoked,
        "left the admin group"
    );
    assert_eq!(
        core.signin.check(&bob).await.unwrap().0,
        SessionCheck::Valid,
        "still in it"
    );
}
