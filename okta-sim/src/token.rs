//! `POST /oauth2/v1/token`: client-credentials grant with `private_key_jwt` client authentication
//! and optional DPoP binding, validated like Okta's org authorization server.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{json, Value};

use crate::apps::{fetch_jwks, select_key, ServiceAppInfo, KNOWN_SCOPES};
use crate::dpop::{validate_proof, Expected};
use crate::errors::OAuthError;
use crate::jwt::Jwt;
use crate::state::Shared;
use crate::util::{b64url, lock, now_ms, random_base62, read, write};

pub(crate) const TOKEN_PATH: &str = "/oauth2/v1/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Allowed clock skew for assertion `iat`/`nbf`.
const SKEW_S: i64 = 60;
/// Okta rejects assertions that expire more than an hour out.
const MAX_ASSERTION_LIFETIME_S: i64 = 3600;

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_ms: i64,
    /// RFC 7638 thumbprint of the DPoP key this token is bound to (`cnf.jkt`).
    pub jkt: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: HashMap<String, IssuedToken>,
    last_prune_ms: i64,
}

impl TokenStore {
    fn insert(&mut self, token: String, issued: IssuedToken, now: i64) {
        if now - self.last_prune_ms > 60_000 {
            self.tokens.retain(|_, t| t.expires_ms > now);
            self.last_prune_ms = now;
        }
        self.tokens.insert(token, issued);
    }

    /// The token's grant, unless unknown or expired.
    pub fn get(&self, token: &str, now: i64) -> Option<IssuedToken> {
        self.tokens.get(token).filter(|t| t.expires_ms > now).cloned()
    }
}

pub(crate) async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let params = match form {
        Ok(Form(pairs)) => pairs,
        Err(_) => {
            return OAuthError::bad_request(
                "invalid_request",
                "The request body must be application/x-www-form-urlencoded.",
            )
            .into_response()
        }
    };
    match grant(&shared, &headers, params).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn grant(
    shared: &Shared,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Result<Response, OAuthError> {
    let mut params = HashMap::new();
    for (k, v) in pairs {
        if params.insert(k.clone(), v).is_some() {
            return Err(OAuthError::bad_request(
                "invalid_request",
                format!("The '{k}' parameter was repeated."),
            ));
        }
    }
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    match param("grant_type") {
        None => return Err(OAuthError::bad_request("invalid_request", "The 'grant_type' parameter is required.")),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].",
            ))
        }
    }
    let now = now_ms();
    let client = authenticate_client(shared, headers, &params, now).await?;
    let jkt = dpop_binding(shared, headers, &client, now)?;
    let scopes = granted_scopes(&client, param("scope"))?;
    Ok(issue(shared, &client, scopes, jkt, now))
}

/// Okta's `private_key_jwt` checks, in the order Okta reports them.
async fn authenticate_client(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    now: i64,
) -> Result<ServiceAppInfo, OAuthError> {
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    match param("client_assertion_type") {
        Some(JWT_BEARER) => {}
        Some(_) => {
            return Err(OAuthError::invalid_client(
                "The client_assertion_type is invalid.",
            ))
        }
        None if param("client_secret").is_some() => {
            return Err(OAuthError::invalid_client(
                "The client is configured for private_key_jwt; client_secret is not accepted.",
            ))
        }
        None => {
            return Err(OAuthError::invalid_client(
                "Client authentication failed. Either the client or the client credentials are invalid.",
            ))
        }
    }
    let assertion = param("client_assertion")
        .ok_or_else(|| OAuthError::invalid_client("The client_assertion parameter is required."))?;
    let jwt = Jwt::parse(assertion)
        .ok_or_else(|| OAuthError::invalid_client("The client_assertion token is malformed."))?;
    if jwt.header_str("alg") != Some("RS256") {
        return Err(OAuthError::invalid_client(
            "The client_assertion token must be signed with RS256.",
        ));
    }
    let (Some(iss), Some(sub)) = (jwt.claim_str("iss"), jwt.claim_str("sub")) else {
        return Err(OAuthError::invalid_client(
            "The client_assertion token must contain 'iss' and 'sub' claims.",
        ));
    };
    if iss != sub {
        return Err(OAuthError::invalid_client(
            "The 'iss' and 'sub' claims of the client_assertion must both be the client_id.",
        ));
    }
    if param("client_id").is_some_and(|cid| cid != sub) {
        return Err(OAuthError::invalid_client(
            "The client_id does not match the client_assertion subject.",
        ));
    }
    let client = read(&shared.service_apps)
        .get(sub)
        .map(|a| a.info.clone())
        .ok_or_else(|| OAuthError::invalid_client("Invalid value for 'client_id' parameter."))?;

    let kid = jwt.header_str("kid");
    let key = verification_key(shared, &client, kid).await?;
    if !jwt.verify_rs256(&key) {
        return Err(OAuthError::invalid_client(
            "The client_assertion signature is invalid.",
        ));
    }

    let expected_aud = shared.request_url(headers, TOKEN_PATH);
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(a)) => *a == expected_aud,
        Some(Value::Array(a)) => a.len() == 1 && a[0].as_str() == Some(expected_aud.as_str()),
        _ => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client(
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        ));
    }
    let now_s = now / 1000;
    let exp = jwt.claim_time("exp").ok_or_else(|| {
        OAuthError::invalid_client("The client_assertion token must contain an 'exp' claim.")
    })?;
    if exp <= now_s {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is expired.",
        ));
    }
    let iat = jwt.claim_time("iat");
    let too_long =
        exp - now_s > MAX_ASSERTION_LIFETIME_S || iat.is_some_and(|i| exp - i > MAX_ASSERTION_LIFETIME_S);
    if too_long {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has an expiration too far into the future.",
        ));
    }
    if iat.is_some_and(|i| i > now_s + SKEW_S) {
        return Err(OAuthError::invalid_client(
            "The client_assertion token was issued in the future.",
        ));
    }
    if jwt.claim_time("nbf").is_some_and(|n| n > now_s + SKEW_S) {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is not valid yet.",
        ));
    }
    let jti = jwt.claim_str("jti").filter(|j| !j.is_empty()).ok_or_else(|| {
        OAuthError::invalid_client("The client_assertion token must contain a 'jti' claim.")
    })?;
    // The jti is spent here, even if the request fails later (e.g. on use_dpop_nonce).
    let fresh = lock(&shared.replay).insert(format!("assertion\u{0}{sub}\u{0}{jti}"), exp * 1000, now);
    if !fresh {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has already been used.",
        ));
    }
    Ok(client)
}

/// Finds the assertion's key; `jwks_uri` apps re-fetch when the kid is not cached.
async fn verification_key(
    shared: &Shared,
    client: &ServiceAppInfo,
    kid: Option<&str>,
) -> Result<rsa::RsaPublicKey, OAuthError> {
    let kid_invalid = || OAuthError::invalid_client("The client_assertion JWT kid is invalid.");
    let cached = read(&shared.service_apps)
        .get(&client.client_id)
        .and_then(|a| select_key(&a.keys, kid).map(|k| k.key.clone()));
    if let Some(key) = cached {
        return Ok(key);
    }
    let Some(uri) = &client.jwks_uri else {
        return Err(kid_invalid());
    };
    let keys = fetch_jwks(&shared.http, uri).await.map_err(|e| {
        tracing::warn!(client_id = %client.client_id, "JWKS fetch failed: {e}");
        OAuthError::invalid_client(format!(
            "Unable to retrieve the client's keys from its jwks_uri: {e}"
        ))
    })?;
    let key = select_key(&keys, kid).map(|k| k.key.clone());
    write(&shared.service_apps).set_fetched_keys(&client.client_id, keys);
    key.ok_or_else(kid_invalid)
}

/// Returns the key thumbprint to bind the token to, or `None` for a Bearer token.
fn dpop_binding(
    shared: &Shared,
    headers: &HeaderMap,
    client: &ServiceAppInfo,
    now: i64,
) -> Result<Option<String>, OAuthError> {
    if !client.dpop_required {
        // Like Okta: a proof sent to a non-DPoP app is ignored and a Bearer token issued.
        return Ok(None);
    }
    let invalid = |d: &str| OAuthError::bad_request("invalid_dpop_proof", d);
    let mut proofs = headers.get_all("DPoP").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Err(invalid("The DPoP proof JWT header is missing.")),
        (Some(_), Some(_)) => return Err(invalid("Only one DPoP proof JWT header is allowed.")),
        (Some(p), None) => p
            .to_str()
            .map_err(|_| invalid("The DPoP proof JWT is malformed."))?,
    };
    let url = shared.request_url(headers, TOKEN_PATH);
    let expected = Expected {
        method: "POST",
        url: &url,
        access_token: None,
    };
    let valid = validate_proof(proof, &expected, now, &mut lock(&shared.replay)).map_err(|d| invalid(&d))?;
    let mut nonces = lock(&shared.nonces);
    if !valid.nonce.as_deref().is_some_and(|n| nonces.is_valid(n, now)) {
        let mut err = OAuthError::bad_request(
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof.",
        );
        err.dpop_nonce = Some(nonces.current(now));
        return Err(err);
    }
    Ok(Some(valid.jkt))
}

fn granted_scopes(client: &ServiceAppInfo, scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let invalid = |d: String| OAuthError::bad_request("invalid_scope", d);
    let Some(scope) = scope.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(invalid(
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided."
                .into(),
        ));
    };
    let mut requested: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !requested.iter().any(|r| r == s) {
            requested.push(s.to_owned());
        }
    }
    if requested.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(invalid(
            "One or more scopes are not configured for the authorization server resource.".into(),
        ));
    }
    let missing: Vec<&str> = requested
        .iter()
        .filter(|s| !client.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "The following scopes are not allowed for this client: {}",
            missing.join(" ")
        )));
    }
    Ok(requested)
}

fn issue(
    shared: &Shared,
    client: &ServiceAppInfo,
    scopes: Vec<String>,
    jkt: Option<String>,
    now: i64,
) -> Response {
    let lifetime = i64::try_from(shared.token_lifetime_s.load(Ordering::Relaxed)).unwrap_or(3600);
    let now_s = now / 1000;
    let mut rng = rand::thread_rng();
    // Shaped like Okta's JWT access tokens so clients that peek at claims see the usual ones;
    // the signature is random because only this simulator ever validates the token.
    let header = json!({ "kid": "okta-sim", "alg": "RS256" });
    let mut claims = json!({
        "ver": 1,
        "jti": format!("AT.{}", random_base62(43, &mut rng)),
        "iss": shared.base_url,
        "aud": shared.base_url,
        "iat": now_s,
        "exp": now_s + lifetime,
        "cid": client.client_id,
        "scp": scopes,
        "sub": client.client_id,
    });
    if let Some(jkt) = &jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    let token = format!(
        "{}.{}.{}",
        b64url(header.to_string()),
        b64url(claims.to_string()),
        random_base62(342, &mut rng)
    );
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    let body = json!({
        "token_type": token_type,
        "expires_in": lifetime,
        "access_token": token,
        "scope": scopes.join(" "),
    });
    let issued = IssuedToken {
        client_id: client.client_id.clone(),
        scopes,
        expires_ms: now + lifetime * 1000,
        jkt,
    };
    lock(&shared.tokens).insert(token, issued, now);
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}
