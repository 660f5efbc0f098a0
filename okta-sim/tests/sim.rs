//! End-to-end tests over real HTTP against a started simulator.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use okta_sim::{
    FaultKind, FaultRule, NewGroup, NewUser, RateLimitConfig, RunningSim, ServiceAppSpec, SimConfig,
    UserPatch,
};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ALL_SCOPES: &[&str] = &["okta.users.read", "okta.groups.read", "okta.apps.read"];

// ---------- JWT helpers (test-only) ----------

/// One 2048-bit key per test binary: generation is slow in debug builds.
fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa keygen"))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn public_jwk() -> Value {
    let public = key().to_public_key();
    json!({ "kty": "RSA", "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()) })
}

fn jwks(kid: &str) -> Value {
    let mut jwk = public_jwk();
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    json!({ "keys": [jwk] })
}

fn sign(header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let sig = SigningKey::<Sha256>::new(key().clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(sig.to_bytes()))
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn assertion_claims(base: &str, client_id: &str) -> Value {
    let now = now_s();
    json!({
        "iss": client_id, "sub": client_id, "aud": format!("{base}/oauth2/v1/token"),
        "iat": now, "exp": now + 300, "jti": jti()
    })
}

fn assertion(base: &str, client_id: &str, kid: &str) -> String {
    sign(
        &json!({ "alg": "RS256", "kid": kid }),
        &assertion_claims(base, client_id),
    )
}

fn dpop_proof(htm: &str, htu: &str, nonce: Option<&str>, access_token: Option<&str>) -> String {
    let mut claims = json!({ "htm": htm, "htu": htu, "iat": now_s(), "jti": jti() });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = access_token {
        claims["ath"] = json!(b64(Sha256::digest(t.as_bytes())));
    }
    sign(
        &json!({ "typ": "dpop+jwt", "alg": "RS256", "jwk": public_jwk() }),
        &claims,
    )
}

// ---------- simulator helpers ----------

async fn start(config: SimConfig) -> RunningSim {
    RunningSim::start(config).await.expect("sim starts")
}

async fn start_default() -> RunningSim {
    start(SimConfig::default()).await
}

fn register(sim: &RunningSim, dpop: bool, scopes: &[&str], admin_role: bool) -> String {
    sim.handle()
        .register_service_app(ServiceAppSpec {
            name: "Roster Sync".into(),
            jwks: Some(jwks("k1")),
            dpop_required: Some(dpop),
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
            admin_role: Some(admin_role),
            ..Default::default()
        })
        .expect("register")
        .client_id
}

async fn token_request(
    sim: &RunningSim,
    assertion: &str,
    scope: &str,
    dpop: Option<String>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/oauth2/v1/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ]);
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    req.send().await.expect("token request")
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

async fn bearer_token(sim: &RunningSim, client_id: &str, scope: &str) -> String {
    let resp = token_request(sim, &assertion(sim.base_url(), client_id, "k1"), scope, None).await;
    assert_eq!(resp.status(), 200);
    let body = json_of(resp).await;
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Full DPoP dance: first request earns a nonce, second gets the token.
async fn dpop_token(sim: &RunningSim, client_id: &str, scope: &str) -> String {
    let token_url = format!("{}/oauth2/v1/token", sim.base_url());
    let first = token_request(
        sim,
        &assertion(sim.base_url(), client_id, "k1"),
        scope,
        Some(dpop_proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(first.status(), 400);
    let nonce = first.headers()["dpop-nonce"].to_str().expect("nonce").to_owned();
    let second = token_request(
        sim,
        &assertion(sim.base_url(), client_id, "k1"),
        scope,
        Some(dpop_proof("POST", &token_url, Some(&nonce), None)),
    )
    .await;
    assert_eq!(second.status(), 200);
    let body = json_of(second).await;
    assert_eq!(body["token_type"], "DPoP");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn get(sim: &RunningSim, path_and_query: &str, token: &str) -> reqwest::Response {
    let url = if path_and_query.starts_with("http") {
        path_and_query.to_owned()
    } else {
        format!("{}{path_and_query}", sim.base_url())
    };
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("api request")
}

fn links(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

fn next_link(resp: &reqwest::Response) -> Option<String> {
    links(resp)
        .into_iter()
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| {
            let start = l.find('<').expect("<") + 1;
            let end = l.find('>').expect(">");
            l[start..end].to_owned()
        })
}

async fn expect_invalid_client(sim: &RunningSim, assertion: &str, description: &str) {
    let resp = token_request(sim, assertion, "okta.users.read", None).await;
    assert_eq!(resp.status(), 401, "expected 401 for {description}");
    let body = json_of(resp).await;
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], description);
}

// ---------- tests ----------

#[tokio::test]
async fn seeding_is_deterministic_and_counts_match() {
    let config = SimConfig {
        seed: 42,
        users: 300,
        groups: 25,
        memberships: 900,
        ..SimConfig::default()
    };
    let a = start(config.clone()).await;
    let b = start(config.clone()).await;
    let c = start(SimConfig { seed: 43, ..config }).await;
    let (ha, hb, hc) = (a.handle(), b.handle(), c.handle());
    let sa = ha.org_summary();
    assert_eq!((sa.users, sa.groups, sa.memberships, sa.apps), (300, 25, 900, 3));
    assert_eq!(sa.roster_client_id, okta_sim::ROSTER_CLIENT_ID);
    assert_eq!(sa, hb.org_summary());
    assert_eq!(ha.user_ids(), hb.user_ids());
    let first = &ha.user_ids()[0];
    // Identical apart from the base URL inside `_links`.
    let strip = |mut v: Value| {
        v.as_object_mut().expect("object").remove("_links");
        v
    };
    assert_eq!(
        strip(ha.user(first).expect("user")),
        strip(hb.user(first).expect("user"))
    );
    assert_ne!(ha.user_ids(), hc.user_ids());
    // ~2% of users and ~5% of groups are left out of the Roster app.
    let unassigned = sa.users - sa.roster_app_users;
    assert!((6..=40).contains(&unassigned), "unassigned users: {unassigned}");
    assert_eq!(sa.roster_app_groups, 24);

    let org: Value = json_of(
        reqwest::get(format!("{}/.well-known/okta-organization", a.base_url()))
            .await
            .expect("well-known"),
    )
    .await;
    assert_eq!(org["id"], json!(sa.org_id));
    assert!(org["id"].as_str().expect("id").starts_with("00o"));
    assert_eq!(org["pipeline"], "idx");
    assert_eq!(org["_links"]["organization"]["href"], a.base_url());
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}

#[tokio::test]
async fn app_user_pagination_walks_every_user_once() {
    let sim = start(SimConfig {
        users: 120,
        groups: 12,
        memberships: 300,
        ..SimConfig::default()
    })
    .await;
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let token = bearer_token(&sim, &client_id, "okta.apps.read okta.users.read").await;
    let app_id = sim.handle().roster_app_id();
    let path = format!("/api/v1/apps/{app_id}/users");

    let first = get(&sim, &format!("{path}?limit=7&expand=user"), &token).await;
    assert_eq!(first.status(), 200);
    let ls = links(&first);
    assert!(
        ls.contains(&format!(
            "<{}{path}?limit=7&expand=user>; rel=\"self\"",
            sim.base_url()
        )),
        "{ls:?}"
    );
    let next = next_link(&first).expect("next link");
    let prefix = format!("{}{path}?after=", sim.base_url());
    assert!(
        next.starts_with(&prefix) && next.ends_with("&limit=7&expand=user"),
        "{next}"
    );

    let mut seen = Vec::new();
    let mut resp = first;
    let mut pages = 0;
    loop {
        pages += 1;
        let next = next_link(&resp);
        let items = json_of(resp).await;
        for item in items.as_array().expect("array") {
            assert_eq!(item["_embedded"]["user"]["id"], item["id"]);
            assert!(["USER", "GROUP"].contains(&item["scope"].as_str().expect("scope")));
            assert_eq!(item["syncState"], "DISABLED");
            assert!(item["credentials"]["userName"]
                .as_str()
                .expect("userName")
                .ends_with("@example.com"));
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match next {
            Some(url) => resp = get(&sim, &url, &token).await,
            None => break,
        }
    }
    let expected = sim.handle().app_user_ids(&app_id).expect("ids");
    assert_eq!(seen, expected, "every assigned user exactly once, in id order");
    assert_eq!(pages, expected.len().div_ceil(7));
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());

    // Without expand=user there is no _embedded, and a cursor for a deleted id still continues.
    let third = &expected[2];
    sim.handle().delete_user(third).expect("delete");
    let cursor = URL_SAFE_NO_PAD.encode(third);
    let page = json_of(get(&sim, &format!("{path}?after={cursor}&limit=2"), &token).await).await;
    assert_eq!(page[0]["id"], json!(expected[3]));
    assert!(page[0].get("_embedded").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn limits_are_clamped_and_validated() {
    let sim = start_default().await;
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let token = bearer_token(
        &sim,
        &client_id,
        "okta.apps.read okta.users.read okta.groups.read",
    )
    .await;
    let app_id = sim.handle().roster_app_id();

    let resp = get(&sim, &format!("/api/v1/apps/{app_id}/users?limit=100000"), &token).await;
    assert_eq!(resp.status(), 200);
    assert!(links(&resp)[0].contains("limit=500"), "{:?}", links(&resp));
    assert!(next_link(&resp).is_none(), "50-user org fits one page");

    let resp = get(&sim, "/api/v1/users?limit=5000", &token).await;
    assert!(links(&resp)[0].contains("limit=200"));
    let users = json_of(resp).await;
    let users = users.as_array().expect("array");
    assert!(users.iter().all(|u| u["status"] != "DEPROVISIONED"));
    let u = &users[0];
    for field in [
        "id",
        "status",
        "created",
        "lastUpdated",
        "profile",
        "credentials",
        "_links",
        "type",
    ] {
        assert!(u.get(field).is_some(), "user has {field}");
    }
    assert!(
        u["created"].as_str().expect("created").ends_with(".000Z")
            || u["created"].as_str().expect("c").ends_with('Z')
    );
    assert_eq!(u["credentials"]["provider"]["type"], "OKTA");

    let resp = get(&sim, "/api/v1/groups?limit=0", &token).await;
    assert_eq!(resp.status(), 400);
    let body = json_of(resp).await;
    assert_eq!(body["errorCode"], "E0000001");

    let resp = get(&sim, "/api/v1/apps?limit=2", &token).await;
    assert_eq!(resp.status(), 200);
    assert!(next_link(&resp).is_some());
    let apps = json_of(resp).await;
    assert_eq!(apps.as_array().expect("array").len(), 2);

    let resp = get(&sim, "/api/v1/apps/0oaDoesNotExist000/users", &token).await;
    assert_eq!(resp.status(), 404);
    let body = json_of(resp).await;
    assert_eq!(body["errorCode"], "E0000007");
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 0oaDoesNotExist000 (AppInstance)"
    );
    let resp = get(&sim, "/api/v1/groups/00gNope/users", &token).await;
    assert_eq!(
        json_of(resp).await["errorSummary"],
        "Not found: Resource not found: 00gNope (UserGroup)"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn client_assertion_rejections() {
    let sim = start_default().await;
    let base = sim.base_url().to_owned();
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let header = json!({ "alg": "RS256", "kid": "k1" });

    // Bad signature: flip the last signature byte.
    let good = assertion(&base, &client_id, "k1");
    let (input, sig) = good.rsplit_once('.').expect("jws");
    let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("sig");
    if let Some(last) = sig.last_mut() {
        *last ^= 1;
    }
    let tampered = format!("{input}.{}", b64(sig));
    expect_invalid_client(&sim, &tampered, "The client_assertion signature is invalid.").await;

    let mut claims = assertion_claims(&base, &client_id);
    claims["aud"] = json!(format!("{base}/oauth2/default/v1/token"));
    expect_invalid_client(
        &sim,
        &sign(&header, &claims),
        "The audience claim for client_assertion must be the endpoint invoked for the request.",
    )
    .await;

    let mut claims = assertion_claims(&base, &client_id);
    claims["exp"] = json!(now_s() + 3700);
    expect_invalid_client(
        &sim,
        &sign(&header, &claims),
        "The client_assertion token has an expiration too far into the future.",
    )
    .await;

    let mut claims = assertion_claims(&base, &client_id);
    claims["exp"] = json!(now_s() - 10);
    expect_invalid_client(
        &sim,
        &sign(&header, &claims),
        "The client_assertion token is expired.",
    )
    .await;

    let claims = assertion_claims(&base, &client_id);
    let once = sign(&header, &claims);
    assert_eq!(
        token_request(&sim, &once, "okta.users.read", None).await.status(),
        200
    );
    expect_invalid_client(&sim, &once, "The client_assertion token has already been used.").await;

    expect_invalid_client(
        &sim,
        &assertion(&base, &client_id, "other-kid"),
        "The client_assertion JWT kid is invalid.",
    )
    .await;
    expect_invalid_client(
        &sim,
        &assertion(&base, "0oaUnknownClient0000", "k1"),
        "Invalid value for 'client_id' parameter.",
    )
    .await;

    let none_alg = format!(
        "{}.{}.",
        b64(json!({ "alg": "none" }).to_string()),
        b64(assertion_claims(&base, &client_id).to_string())
    );
    expect_invalid_client(
        &sim,
        &none_alg,
        "The client_assertion token must be signed with RS256.",
    )
    .await;

    // Audience as a single-element array is fine; no kid is fine with exactly one key.
    let mut claims = assertion_claims(&base, &client_id);
    claims["aud"] = json!([format!("{base}/oauth2/v1/token")]);
    let resp = token_request(
        &sim,
        &sign(&json!({ "alg": "RS256" }), &claims),
        "okta.users.read",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);

    let resp = reqwest::Client::new()
        .post(format!("{base}/oauth2/v1/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    assert_eq!(json_of(resp).await["error"], "unsupported_grant_type");
    sim.shutdown().await;
}

#[tokio::test]
async fn scopes_are_enforced_at_token_time_and_on_calls() {
    let sim = start_default().await;
    let base = sim.base_url().to_owned();
    let client_id = register(&sim, false, &["okta.apps.read", "okta.groups.read"], true);

    let resp = token_request(
        &sim,
        &assertion(&base, &client_id, "k1"),
        "okta.apps.read okta.users.read",
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body = json_of(resp).await;
    assert_eq!(body["error"], "invalid_scope");
    assert_eq!(
        body["error_description"],
        "The following scopes are not allowed for this client: okta.users.read"
    );

    let resp = token_request(&sim, &assertion(&base, &client_id, "k1"), "okta.bogus.read", None).await;
    assert_eq!(json_of(resp).await["error"], "invalid_scope");

    // A token without okta.users.read cannot expand users.
    let token = bearer_token(&sim, &client_id, "okta.apps.read").await;
    let app_id = sim.handle().roster_app_id();
    assert_eq!(
        get(&sim, &format!("/api/v1/apps/{app_id}/users"), &token)
            .await
            .status(),
        200
    );
    let resp = get(&sim, &format!("/api/v1/apps/{app_id}/users?expand=user"), &token).await;
    assert_eq!(resp.status(), 403);
    let www = resp.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(www.starts_with("Bearer error=\"insufficient_scope\""), "{www}");
    let body = json_of(resp).await;
    assert_eq!(body["errorCode"], "E0000006");
    assert_eq!(
        body["errorSummary"],
        "You do not have permission to perform the requested action"
    );
    assert!(body["errorId"].as_str().expect("errorId").starts_with("oae"));
    assert_eq!(body["errorCauses"], json!([]));
    assert_eq!(get(&sim, "/api/v1/groups", &token).await.status(), 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_role_is_required_and_checked_live() {
    let sim = start_default().await;
    let client_id = register(&sim, false, ALL_SCOPES, false);
    let token = bearer_token(&sim, &client_id, "okta.users.read").await;
    let resp = get(&sim, "/api/v1/users", &token).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("www-authenticate").is_none());
    assert_eq!(json_of(resp).await["errorCode"], "E0000006");

    sim.handle()
        .update_service_app(
            &client_id,
            okta_sim::ServiceAppPatch {
                admin_role: Some(true),
                ..Default::default()
            },
        )
        .expect("patch");
    assert_eq!(get(&sim, "/api/v1/users", &token).await.status(), 200);

    // Unknown or expired tokens get E0000011.
    let resp = get(&sim, "/api/v1/users", "not-a-token").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .contains("error=\"invalid_token\""));
    assert_eq!(json_of(resp).await["errorCode"], "E0000011");
    sim.handle().set_token_lifetime(Duration::from_secs(1));
    let short = bearer_token(&sim, &client_id, "okta.users.read").await;
    assert_eq!(get(&sim, "/api/v1/users", &short).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&sim, "/api/v1/users", &short).await.status(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn dpop_flow_end_to_end() {
    let sim = start_default().await;
    let base = sim.base_url().to_owned();
    let token_url = format!("{base}/oauth2/v1/token");
    let client_id = register(&sim, true, ALL_SCOPES, true);

    // No proof at all.
    let resp = token_request(&sim, &assertion(&base, &client_id, "k1"), "okta.users.read", None).await;
    assert_eq!(resp.status(), 400);
    let body = json_of(resp).await;
    assert_eq!(
        body,
        json!({"error":"invalid_dpop_proof","error_description":"The DPoP proof JWT header is missing."})
    );

    // Proof without nonce: use_dpop_nonce + header. The assertion's jti is spent anyway.
    let spent = assertion(&base, &client_id, "k1");
    let resp = token_request(
        &sim,
        &spent,
        "okta.users.read",
        Some(dpop_proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let nonce = resp.headers()["dpop-nonce"].to_str().expect("nonce").to_owned();
    let body = json_of(resp).await;
    assert_eq!(body["error"], "use_dpop_nonce");
    assert_eq!(
        body["error_description"],
        "Authorization server requires nonce in DPoP proof."
    );
    let resp = token_request(
        &sim,
        &spent,
        "okta.users.read",
        Some(dpop_proof("POST", &token_url, Some(&nonce), None)),
    )
    .await;
    assert_eq!(
        json_of(resp).await["error_description"],
        "The client_assertion token has already been used."
    );

    // Stale nonce and wrong htu are rejected.
    let resp = token_request(
        &sim,
        &assertion(&base, &client_id, "k1"),
        "okta.users.read",
        Some(dpop_proof("POST", &token_url, Some("stale"), None)),
    )
    .await;
    assert_eq!(json_of(resp).await["error"], "use_dpop_nonce");
    let resp = token_request(
        &sim,
        &assertion(&base, &client_id, "k1"),
        "okta.users.read",
        Some(dpop_proof(
            "POST",
            &format!("{base}/oauth2/v1/tokenx"),
            Some(&nonce),
            None,
        )),
    )
    .await;
    assert_eq!(json_of(resp).await["error"], "invalid_dpop_proof");

    let token = dpop_token(&sim, &client_id, "okta.users.read okta.groups.read").await;
    let users_url = format!("{base}/api/v1/users");
    let call = |proof: String, scheme: &'static str| {
        let token = token.clone();
        let url = users_url.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{url}?limit=3"))
                .header("Authorization", format!("{scheme} {token}"))
                .header("DPoP", proof)
                .send()
                .await
                .expect("send")
        }
    };
    let ok = call(dpop_proof("GET", &users_url, None, Some(&token)), "DPoP").await;
    assert_eq!(ok.status(), 200);

    for (proof, what) in [
        (
            dpop_proof("GET", &users_url, None, Some("some-other-token")),
            "ath",
        ),
        (
            dpop_proof("GET", &format!("{base}/api/v1/groups"), None, Some(&token)),
            "htu",
        ),
        (dpop_proof("POST", &users_url, None, Some(&token)), "htm"),
    ] {
        let resp = call(proof, "DPoP").await;
        assert_eq!(resp.status(), 401, "wrong {what}");
        let www = resp.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(www.starts_with("DPoP error=\"invalid_dpop_proof\""), "{www}");
        assert_eq!(json_of(resp).await["errorCode"], "E0000011");
    }
    // A replayed proof is rejected too.
    let proof = dpop_proof("GET", &users_url, None, Some(&token));
    assert_eq!(call(proof.clone(), "DPoP").await.status(), 200);
    assert_eq!(call(proof, "DPoP").await.status(), 401);

    // Sending the DPoP-bound token as a Bearer token.
    let resp = get(&sim, "/api/v1/users", &token).await;
    assert_eq!(resp.status(), 401);
    let www = resp.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(www.starts_with("DPoP error=\"invalid_token\""), "{www}");

    // A non-DPoP app ignores a proof and issues a Bearer token.
    let plain = register(&sim, false, ALL_SCOPES, true);
    let resp = token_request(
        &sim,
        &assertion(&base, &plain, "k1"),
        "okta.users.read",
        Some(dpop_proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(json_of(resp).await["token_type"], "Bearer");
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limits_return_429_with_headers() {
    let config = SimConfig {
        rate_limit: RateLimitConfig {
            per_minute_default: 3,
            window: Duration::from_secs(86_400),
        },
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let token = bearer_token(&sim, &client_id, "okta.groups.read").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = get(&sim, "/api/v1/groups", &token).await;
        let h = resp.headers();
        assert_eq!(h["x-rate-limit-limit"], "3");
        let reset: i64 = h["x-rate-limit-reset"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("int");
        assert!(reset > now_s());
        statuses.push((
            resp.status().as_u16(),
            resp.headers()["x-rate-limit-remaining"]
                .to_str()
                .expect("a")
                .to_owned(),
        ));
        if resp.status() == 429 {
            let body = json_of(resp).await;
            assert_eq!(body["errorCode"], "E0000047");
            assert_eq!(
                body["errorSummary"],
                "API call exceeded rate limit due to too many requests."
            );
        }
    }
    let expected: Vec<(u16, String)> = [(200, "2"), (200, "1"), (200, "0"), (429, "0"), (429, "0")]
        .iter()
        .map(|(s, r)| (*s, r.to_string()))
        .collect();
    assert_eq!(statuses, expected);
    // Other buckets are independent.
    assert_eq!(get(&sim, "/api/v1/users", &token).await.status(), 403);

    let stats = sim.handle().stats();
    assert_eq!(stats.buckets["groups"].requests, 5);
    assert_eq!(stats.buckets["groups"].rate_limited, 2);
    assert_eq!(stats.buckets["token"].requests, 1);
    assert_eq!(stats.paths["GET /api/v1/groups"], 5);

    // Short windows reset; the reported reset second is never early.
    sim.handle()
        .set_rate_limit(RateLimitConfig {
            per_minute_default: 1,
            window: Duration::from_millis(500),
        })
        .expect("set");
    // Retry in case a request lands right on a window boundary.
    let mut resp = get(&sim, "/api/v1/groups", &token).await;
    for _ in 0..5 {
        if resp.status() == 429 {
            break;
        }
        resp = get(&sim, "/api/v1/groups", &token).await;
    }
    assert_eq!(resp.status(), 429);
    let reset: i64 = resp.headers()["x-rate-limit-reset"]
        .to_str()
        .expect("a")
        .parse()
        .expect("int");
    let wait = (reset * 1000)
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("t")
            .as_millis() as i64;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64 + 20)).await;
    assert_eq!(get(&sim, "/api/v1/groups", &token).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_inject_errors_drops_and_delays() {
    let sim = start_default().await;
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let token = bearer_token(&sim, &client_id, "okta.groups.read okta.users.read").await;
    let h = sim.handle();

    h.add_fault(FaultRule {
        path_prefix: "/api/v1/groups".into(),
        kind: FaultKind::Status500,
        count: 1,
        after: 1,
    });
    assert_eq!(
        get(&sim, "/api/v1/groups", &token).await.status(),
        200,
        "first is skipped"
    );
    let resp = get(&sim, "/api/v1/groups", &token).await;
    assert_eq!(resp.status(), 500);
    assert!(resp.headers().contains_key("x-rate-limit-remaining"));
    assert_eq!(json_of(resp).await["errorCode"], "E0000009");
    assert_eq!(
        get(&sim, "/api/v1/groups", &token).await.status(),
        200,
        "rule exhausted"
    );

    h.add_fault(FaultRule {
        path_prefix: "/api/v1/groups".into(),
        kind: FaultKind::DropConnection,
        count: 1,
        after: 0,
    });
    let dropped = match reqwest::Client::new()
        .get(format!("{}/api/v1/groups", sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
    {
        Ok(resp) => resp.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(dropped, "connection must be cut mid-response");
    assert_eq!(get(&sim, "/api/v1/groups", &token).await.status(), 200);

    // Slow requests do not hold up others.
    h.add_fault(FaultRule {
        path_prefix: "/api/v1/groups".into(),
        kind: FaultKind::Slow { ms: 800 },
        count: 1,
        after: 0,
    });
    let started = std::time::Instant::now();
    let slow = get(&sim, "/api/v1/groups", &token);
    let fast = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let resp = get(&sim, "/api/v1/users", &token).await;
        (resp.status(), started.elapsed())
    };
    let (slow, (fast_status, fast_elapsed)) = tokio::join!(slow, fast);
    assert_eq!(fast_status, 200);
    assert!(fast_elapsed < Duration::from_millis(600), "{fast_elapsed:?}");
    assert_eq!(slow.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(800));

    h.add_fault(FaultRule {
        path_prefix: "/api".into(),
        kind: FaultKind::Status503,
        count: 5,
        after: 0,
    });
    assert_eq!(h.faults().len(), 1);
    h.clear_faults();
    assert!(h.faults().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_http_api_and_jwks_uri() {
    let sim = start_default().await;
    let base = sim.base_url().to_owned();
    let http = reqwest::Client::new();

    // Serve a JWKS from a throwaway loopback server, like Roster's dev server would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let jwks_addr = listener.local_addr().expect("addr");
    let served = jwks("rotating-1");
    let router = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || async move { axum::Json(served.clone()) }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let resp = http
        .post(format!("{base}/sim/service-apps"))
        .json(&json!({
            "name": "Roster Sync",
            "jwks_uri": format!("http://{jwks_addr}/jwks.json"),
            "scopes": ALL_SCOPES,
            "admin_role": true,
            "dpop_required": false
        }))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), 201);
    let app = json_of(resp).await;
    let client_id = app["client_id"].as_str().expect("client_id").to_owned();
    assert!(
        client_id.starts_with("0oa") && client_id.len() == 20,
        "{client_id}"
    );

    let resp = token_request(
        &sim,
        &assertion(&base, &client_id, "rotating-1"),
        "okta.groups.read",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);

    // Bad registrations are refused.
    let resp = http
        .post(format!("{base}/sim/service-apps"))
        .json(&json!({ "name": "x", "jwks_uri": "http://10.0.0.1/jwks.json" }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let mut private = public_jwk();
    private["d"] = json!("AQAB");
    let resp = http
        .post(format!("{base}/sim/service-apps"))
        .json(&json!({ "name": "x", "jwks": { "keys": [private] } }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);

    let resp = http
        .patch(format!("{base}/sim/service-apps/{client_id}"))
        .json(&json!({ "scopes": ["okta.users.read"] }))
        .send()
        .await
        .expect("patch");
    assert_eq!(json_of(resp).await["scopes"], json!(["okta.users.read"]));
    let list = json_of(
        http.get(format!("{base}/sim/service-apps"))
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(list.as_array().expect("array").len(), 1);

    // Org mutations through HTTP.
    let org = json_of(http.get(format!("{base}/sim/org")).send().await.expect("org")).await;
    let app_id = org["roster_app_id"].as_str().expect("app id").to_owned();
    let user = json_of(
        http.post(format!("{base}/sim/users"))
            .json(&json!({ "firstName": "Grace", "lastName": "Hopper", "department": "Navy" }))
            .send()
            .await
            .expect("create user"),
    )
    .await;
    let uid = user["id"].as_str().expect("uid").to_owned();
    assert_eq!(user["profile"]["login"], "grace.hopper@example.com");
    let group = json_of(
        http.post(format!("{base}/sim/groups"))
            .json(&json!({ "name": "Pioneers" }))
            .send()
            .await
            .expect("group"),
    )
    .await;
    let gid = group["id"].as_str().expect("gid").to_owned();
    let before = group["lastMembershipUpdated"].as_str().expect("lmu").to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(
            http.put(format!("{base}/sim/groups/{gid}/users/{uid}"))
                .send()
                .await
                .expect("put")
        ),
        204
    );
    assert_eq!(
        status(
            http.post(format!("{base}/sim/apps/{app_id}/groups/{gid}"))
                .send()
                .await
                .expect("assign")
        ),
        204
    );
    let members = sim.handle().group_member_ids(&gid).expect("members");
    assert_eq!(members, vec![uid.clone()]);
    assert_ne!(
        sim.handle().group(&gid).expect("group")["lastMembershipUpdated"],
        json!(before)
    );
    assert!(sim.handle().app_user_ids(&app_id).expect("ids").contains(&uid));
    let listed = json_of(
        http.get(format!("{base}/sim/apps/{app_id}/groups"))
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert!(listed.as_array().expect("ids").contains(&json!(gid)));
    let listed = json_of(
        http.get(format!("{base}/sim/apps/{app_id}/users"))
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert!(listed.as_array().expect("ids").contains(&json!(uid)));

    let patched = json_of(
        http.patch(format!("{base}/sim/users/{uid}"))
            .json(&json!({ "profile": { "title": "Rear Admiral" }, "status": "suspend" }))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(patched["status"], "SUSPENDED");
    assert_eq!(patched["profile"]["title"], "Rear Admiral");
    let resp = http
        .patch(format!("{base}/sim/users/{uid}"))
        .json(&json!({ "status": "unlock" }))
        .send()
        .await;
    assert_eq!(resp.expect("patch").status(), 400);

    let resp = http
        .post(format!("{base}/sim/faults"))
        .json(&json!({"path_prefix":"/api/v1/users","kind":"status503"}));
    assert_eq!(status(resp.send().await.expect("fault")), 204);
    let resp = http
        .post(format!("{base}/sim/token-lifetime"))
        .json(&json!({ "seconds": 2 }))
        .send()
        .await;
    assert_eq!(status(resp.expect("lifetime")), 200);
    let resp = http
        .post(format!("{base}/sim/rate-limits"))
        .json(&json!({ "limit": 50, "window_ms": 1000 }))
        .send()
        .await;
    assert_eq!(json_of(resp.expect("limits")).await["window_ms"], 1000);
    let stats = json_of(http.get(format!("{base}/sim/stats")).send().await.expect("stats")).await;
    assert_eq!(stats["buckets"]["token"]["requests"], 1);
    assert_eq!(
        status(
            http.post(format!("{base}/sim/stats/reset"))
                .send()
                .await
                .expect("reset")
        ),
        204
    );
    assert_eq!(sim.handle().stats().total_requests, 0);
    assert_eq!(
        status(
            http.delete(format!("{base}/sim/faults"))
                .send()
                .await
                .expect("clear")
        ),
        204
    );
    assert_eq!(
        status(
            http.delete(format!("{base}/sim/users/{uid}"))
                .send()
                .await
                .expect("delete")
        ),
        204
    );
    assert!(sim.handle().user(&uid).is_none());
    assert_eq!(
        status(
            http.delete(format!("{base}/sim/service-apps/{client_id}"))
                .send()
                .await
                .expect("del")
        ),
        204
    );

    server.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn handle_mutations_show_up_in_the_api() {
    let sim = start_default().await;
    let h = sim.handle();
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let token = bearer_token(
        &sim,
        &client_id,
        "okta.users.read okta.groups.read okta.apps.read",
    )
    .await;
    let app_id = h.roster_app_id();

    let uid = h
        .create_user(NewUser {
            first_name: "Alan".into(),
            last_name: "Turing".into(),
            ..Default::default()
        })
        .expect("user");
    h.assign_user_to_app(&app_id, &uid).expect("assign");
    let user = json_of(get(&sim, &format!("/api/v1/users/{uid}"), &token).await).await;
    assert_eq!(user["status"], "ACTIVE");
    let first_updated = user["lastUpdated"].clone();

    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut profile = serde_json::Map::new();
    profile.insert("department".into(), json!("Bletchley"));
    h.update_user(
        &uid,
        UserPatch {
            profile: Some(profile),
            status: None,
        },
    )
    .expect("update");
    let user = json_of(get(&sim, &format!("/api/v1/users/{uid}"), &token).await).await;
    assert_eq!(user["profile"]["department"], "Bletchley");
    assert_ne!(user["lastUpdated"], first_updated);

    let gid = h
        .create_group(NewGroup {
            name: "Codebreakers".into(),
            ..Default::default()
        })
        .expect("group");
    h.add_group_member(&gid, &uid).expect("member");
    let members = json_of(get(&sim, &format!("/api/v1/groups/{gid}/users"), &token).await).await;
    assert_eq!(members[0]["id"], json!(uid));
    let group = json_of(get(&sim, &format!("/api/v1/groups/{gid}"), &token).await).await;
    assert_eq!(group["objectClass"], json!(["okta:user_group"]));
    assert_eq!(group["type"], "OKTA_GROUP");

    h.update_user(
        &uid,
        UserPatch {
            profile: None,
            status: Some("deactivate".into()),
        },
    )
    .expect("deactivate");
    assert!(!h.app_user_ids(&app_id).expect("ids").contains(&uid));
    let resp = get(&sim, &format!("/api/v1/apps/{app_id}/users?limit=500"), &token).await;
    let ids: Vec<Value> = json_of(resp)
        .await
        .as_array()
        .expect("a")
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    assert!(!ids.contains(&json!(uid)));
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_page_creates_service_apps_from_forms() {
    let sim = start_default().await;
    let base = sim.base_url().to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http
        .get(format!("{base}/sim"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Require Demonstrating Proof of Possession (DPoP) header in token requests"));
    assert!(page.contains("Use a URL to fetch keys dynamically"));

    let resp = http
        .post(format!("{base}/sim/ui/service-apps"))
        .form(&[
            ("name", "Roster Sync"),
            ("key_mode", "jwk"),
            ("jwk", &public_jwk().to_string()),
            ("dpop_required", "on"),
            ("scope_users", "on"),
            ("scope_apps", "on"),
            ("admin_role", "on"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 303);
    let apps = sim.handle().service_apps();
    assert_eq!(apps.len(), 1);
    assert!(apps[0].dpop_required && apps[0].admin_role);
    assert_eq!(apps[0].scopes, vec!["okta.users.read", "okta.apps.read"]);
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains(&apps[0].client_id));

    let resp = http
        .post(format!("{base}/sim/ui/service-apps"))
        .form(&[("name", "Broken"), ("key_mode", "jwk"), ("jwk", "not json")])
        .send()
        .await
        .expect("post");
    assert!(resp.headers()["location"]
        .to_str()
        .expect("loc")
        .starts_with("/sim?error="));
    sim.shutdown().await;
}

#[tokio::test]
#[ignore = "slow in debug builds; run with --ignored to check scale"]
async fn seeds_a_large_org_quickly() {
    let started = std::time::Instant::now();
    let sim = start(SimConfig {
        users: 100_000,
        groups: 5_000,
        memberships: 500_000,
        ..SimConfig::default()
    })
    .await;
    let s = sim.handle().org_summary();
    assert_eq!((s.users, s.groups, s.memberships), (100_000, 5_000, 500_000));
    eprintln!("seeded in {:?}", started.elapsed());
    sim.shutdown().await;
}

// ---------- System Log, single assignments, event hooks ----------

const LOG_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.groups.read",
    "okta.apps.read",
    "okta.logs.read",
];

fn patch_status(op: &str) -> UserPatch {
    UserPatch {
        profile: None,
        status: Some(op.into()),
    }
}

fn since_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// Every event of a polling read from `first`, following `next` links until a page is empty;
/// and the last `next` link (a poller keeps it).
async fn poll_all(sim: &RunningSim, first: &str, token: &str) -> (Vec<Value>, String) {
    let mut url = first.to_owned();
    let mut events = Vec::new();
    loop {
        let resp = get(sim, &url, token).await;
        assert_eq!(resp.status(), 200, "{url}");
        let next = next_link(&resp).expect("a polling read always links a next page");
        let page = json_of(resp).await;
        let page = page.as_array().expect("array").clone();
        if page.is_empty() {
            return (events, next);
        }
        events.extend(page);
        url = next;
    }
}

#[tokio::test]
async fn the_system_log_records_each_change_and_pages_like_okta() {
    let sim = start_default().await;
    let h = sim.handle();
    let app_id = h.roster_app_id();
    let client_id = register(&sim, false, LOG_SCOPES, true);
    let without = bearer_token(&sim, &client_id, "okta.users.read").await;
    let since = since_now();
    let first = format!(
        "/api/v1/logs?since={}&sortOrder=ASCENDING&limit=3",
        since.replace(':', "%3A").replace('+', "%2B")
    );
    let refused = get(&sim, &first, &without).await;
    assert_eq!(refused.status(), 403, "okta.logs.read is required");
    let token = bearer_token(&sim, &client_id, "okta.logs.read").await;

    let uid = h
        .create_user(NewUser {
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            ..Default::default()
        })
        .expect("user");
    h.assign_user_to_app(&app_id, &uid).expect("assign");
    let gid = h
        .create_group(NewGroup {
            name: "Navy".into(),
            ..Default::default()
        })
        .expect("group");
    h.add_group_member(&gid, &uid).expect("member");
    h.add_group_member(&gid, &uid)
        .expect("again: no change, no event");
    h.assign_group_to_app(&app_id, &gid).expect("group assignment");
    h.update_group(
        &gid,
        okta_sim::GroupPatch {
            description: Some("Fleet".into()),
            ..Default::default()
        },
    )
    .expect("group profile");
    h.update_user(&uid, patch_status("suspend")).expect("suspend");
    h.update_user(&uid, patch_status("deactivate"))
        .expect("deactivate");
    h.delete_group(&gid).expect("delete group");

    let (events, _) = poll_all(&sim, &first, &token).await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "user.lifecycle.create",
            "user.lifecycle.activate",
            "application.user_membership.add",
            "group.lifecycle.create",
            "group.user_membership.add",
            "group.application_assignment.add",
            "group.profile.update",
            "user.lifecycle.suspend",
            "user.lifecycle.deactivate",
            "application.user_membership.remove",
            "group.lifecycle.delete",
        ]
    );
    let deactivated = &events[8];
    assert_eq!(deactivated["target"][0]["id"], json!(uid));
    assert_eq!(deactivated["target"][0]["type"], "User");
    assert_eq!(events[4]["target"][1]["id"], json!(gid));
    assert_eq!(events[4]["target"][1]["type"], "UserGroup");
    let uuids: HashSet<&str> = events.iter().map(|e| e["uuid"].as_str().expect("uuid")).collect();
    assert_eq!(uuids.len(), events.len());
    let published: Vec<&str> = events
        .iter()
        .map(|e| e["published"].as_str().expect("t"))
        .collect();
    assert!(published.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    // A filter names event types; anything else is refused.
    let filtered = get(
        &sim,
        &format!(
            "{first}&filter={}",
            "eventType eq \"user.lifecycle.deactivate\" or eventType eq \"group.lifecycle.delete\""
                .replace(' ', "%20")
                .replace('"', "%22")
        ),
        &token,
    )
    .await;
    let filtered = json_of(filtered).await;
    assert_eq!(filtered.as_array().expect("a").len(), 2);
    let bad = get(&sim, &format!("{first}&filter=target.id%20eq%20%22x%22"), &token).await;
    assert_eq!(bad.status(), 400);

    // Late arrival: logged now, visible to readers only after the delay.
    let (_, next) = poll_all(&sim, &first, &token).await;
    h.set_system_log_delay(Duration::from_millis(300));
    h.update_user(&uid, patch_status("activate")).expect("reactivate");
    h.set_system_log_delay(Duration::ZERO);
    let (seen, _) = poll_all(&sim, &next, &token).await;
    assert!(seen.is_empty(), "not visible yet");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (seen, _) = poll_all(&sim, &next, &token).await;
    assert_eq!(seen[0]["eventType"], "user.lifecycle.reactivate");

    // Its own rate-limit bucket.
    h.set_bucket_limit("logs", 2).expect("bucket");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get(&sim, &first, &token).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(
        get(
            &sim,
            &format!("/api/v1/users/{uid}"),
            &bearer_token(&sim, &client_id, "okta.users.read").await
        )
        .await
        .status(),
        200,
        "other buckets are not touched"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn one_assignment_is_read_at_a_time_and_404_when_absent() {
    let sim = start_default().await;
    let h = sim.handle();
    let app_id = h.roster_app_id();
    let client_id = register(&sim, false, ALL_SCOPES, true);
    let token = bearer_token(
        &sim,
        &client_id,
        "okta.users.read okta.groups.read okta.apps.read",
    )
    .await;
    let assigned = h.app_user_ids(&app_id).expect("ids")[0].clone();
    let user = json_of(
        get(
            &sim,
            &format!("/api/v1/apps/{app_id}/users/{assigned}?expand=user"),
            &token,
        )
        .await,
    )
    .await;
    assert_eq!(user["id"], json!(assigned));
    assert_eq!(user["_embedded"]["user"]["id"], json!(assigned));
    let outsider = h
        .create_user(NewUser {
            first_name: "Not".into(),
            last_name: "Assigned".into(),
            ..Default::default()
        })
        .expect("user");
    let missing = get(&sim, &format!("/api/v1/apps/{app_id}/users/{outsider}"), &token).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(json_of(missing).await["errorCode"], "E0000007");
    let group = h.app_group_ids(&app_id).expect("groups")[0].clone();
    let found = get(&sim, &format!("/api/v1/apps/{app_id}/groups/{group}"), &token).await;
    assert_eq!(json_of(found).await["id"], json!(group));
    let lone = h
        .create_group(NewGroup {
            name: "Lone".into(),
            ..Default::default()
        })
        .expect("group");
    assert_eq!(
        get(&sim, &format!("/api/v1/apps/{app_id}/groups/{lone}"), &token)
            .await
            .status(),
        404
    );
    sim.shutdown().await;
}

/// A delivery as received: the secret header's value and the body.
type Received = (Option<String>, Value);

/// A hook receiver on loopback: answers Okta's verification and records deliveries.
#[derive(Clone, Default)]
struct HookReceiver {
    posts: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl HookReceiver {
    async fn start(&self) -> String {
        use axum::{extract::State, http::HeaderMap, http::StatusCode, routing::get, Json, Router};
        async fn verify(headers: HeaderMap) -> Json<Value> {
            let challenge = headers
                .get("x-okta-verification-challenge")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            Json(json!({ "verification": challenge }))
        }
        async fn deliver(
            State(r): State<HookReceiver>,
            headers: HeaderMap,
            Json(body): Json<Value>,
        ) -> StatusCode {
            let secret = headers
                .get("x-roster-secret")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            r.posts.lock().expect("lock").push((secret, body));
            if r.failing.load(std::sync::atomic::Ordering::SeqCst) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
        let app = Router::new()
            .route("/hook", get(verify).post(deliver))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    fn events(&self) -> Vec<Vec<Value>> {
        self.posts
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, body)| body["data"]["events"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    async fn wait_for(&self, batches: usize) -> Vec<Vec<Value>> {
        for _ in 0..100 {
            let got = self.events();
            if got.len() >= batches {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("only {} of {batches} deliveries arrived", self.events().len());
    }
}

fn hook_spec(uri: &str, types: &[&str]) -> okta_sim::HookSpec {
    serde_json::from_value(json!({
        "name": "Roster",
        "events": { "type": "EVENT_TYPE", "items": types },
        "channel": {
            "type": "HTTP",
            "version": "1.0.0",
            "config": {
                "uri": uri,
                "headers": [],
                "authScheme": { "type": "HEADER", "key": "x-roster-secret", "value": "s3cret" }
            }
        }
    }))
    .expect("spec")
}

#[tokio::test]
async fn event_hooks_verify_then_deliver_batches_with_duplicates_and_reordering() {
    let sim = start_default().await;
    let h = sim.handle();
    let receiver = HookReceiver::default();
    let uri = receiver.start().await;
    let types = [
        "user.lifecycle.suspend",
        "user.lifecycle.unsuspend",
        "user.lifecycle.deactivate",
    ];
    assert!(
        h.create_event_hook(hook_spec("http://example.com/hook", &types))
            .is_err(),
        "https only"
    );
    assert!(
        h.create_event_hook(hook_spec(&uri, &["user.session.start"]))
            .is_err(),
        "not eligible"
    );
    let hook = h.create_event_hook(hook_spec(&uri, &types)).expect("hook");
    let id = hook["id"].as_str().expect("id").to_owned();
    assert_eq!(hook["verificationStatus"], "UNVERIFIED");
    assert!(
        hook["channel"]["config"]["authScheme"]["value"].is_null(),
        "the secret is not returned"
    );
    let uid = h
        .create_user(NewUser {
            first_name: "Ada".into(),
            last_name: "Hook".into(),
            ..Default::default()
        })
        .expect("user");

    // Unverified: nothing is sent.
    h.update_user(&uid, patch_status("suspend")).expect("suspend");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.events().is_empty());
    let verified = h.verify_event_hook(&id).await.expect("verify");
    assert_eq!(verified["verificationStatus"], "VERIFIED");

    h.update_user(&uid, patch_status("unsuspend")).expect("unsuspend");
    let batches = receiver.wait_for(1).await;
    assert_eq!(batches[0][0]["eventType"], "user.lifecycle.unsuspend");
    assert_eq!(batches[0][0]["target"][0]["id"], json!(uid));
    assert_eq!(
        receiver.posts.lock().expect("lock")[0].0.as_deref(),
        Some("s3cret")
    );

    // Duplicated and reordered: the same batch twice, newest first.
    h.set_hook_faults(okta_sim::HookFaults {
        duplicate: true,
        reorder: true,
    });
    h.update_user(&uid, patch_status("suspend")).expect("suspend");
    h.update_user(&uid, patch_status("deactivate"))
        .expect("deactivate");
    let batches = receiver.wait_for(3).await;
    let kinds = |b: &Vec<Value>| {
        b.iter()
            .map(|e| e["eventType"].as_str().expect("t").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&batches[1]),
        ["user.lifecycle.deactivate", "user.lifecycle.suspend"]
    );
    assert_eq!(batches[1], batches[2], "delivered twice");

    // A failing receiver: Okta tries once more, then gives up.
    h.set_hook_faults(okta_sim::HookFaults::default());
    receiver.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    h.update_user(&uid, patch_status("activate"))
        .expect("reactivate is not subscribed");
    h.update_user(&uid, patch_status("suspend")).expect("suspend");
    let batches = receiver.wait_for(5).await;
    assert_eq!(batches.len(), 5, "one retry, no more");
    let listed = h.event_hooks();
    assert_eq!(listed[0]["_deliveries"].as_array().expect("d").len(), 5);
    sim.shutdown().await;
}
