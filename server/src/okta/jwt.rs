//! The two JWTs Roster signs for Okta: the client assertion that
//! authenticates the service app, and DPoP proofs that bind tokens to a key.

use super::keys::KeyPair;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Okta rejects assertions valid for more than an hour; five minutes is plenty.
const ASSERTION_LIFETIME_SECS: i64 = 300;

fn compact(header: &Value, claims: &Value, key: &KeyPair) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(key.sign_rs256(signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `private_key_jwt` client assertion. A fresh one (fresh `jti`) for every
/// token request: Okta spends a jti even when the request fails.
pub fn client_assertion(key: &KeyPair, client_id: &str, token_url: &str, now: i64) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": key.kid() });
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
        "jti": new_jti(),
    });
    compact(&header, &claims, key)
}

/// A DPoP proof (RFC 9449) for one request. `htu` must be the URL without
/// query or fragment; `access_token` adds `ath` on resource requests.
pub fn dpop_proof(
    key: &KeyPair,
    method: &str,
    url: &str,
    now: i64,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> String {
    let htu = url.split(['?', '#']).next().unwrap_or(url);
    let jwk = key.public_jwk();
    let header = json!({
        "typ": "dpop+jwt",
        "alg": "RS256",
        "jwk": { "kty": jwk.kty, "n": jwk.n, "e": jwk.e },
    });
    let mut claims = json!({ "htm": method, "htu": htu, "iat": now, "jti": new_jti() });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(token) = access_token {
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
    }
    compact(&header, &claims, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okta::keys::tests::test_key;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn client_assertion_has_okta_required_claims() {
        let jwt = client_assertion(test_key(), "0oa1", "https://acme.okta.com/oauth2/v1/token", 1_000);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], test_key().kid());
        assert_eq!(claims["iss"], "0oa1");
        assert_eq!(claims["sub"], "0oa1");
        assert_eq!(claims["aud"], "https://acme.okta.com/oauth2/v1/token");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
        let again = client_assertion(test_key(), "0oa1", "https://acme.okta.com/oauth2/v1/token", 1_000);
        assert_ne!(decode(again.split('.').nth(1).unwrap())["jti"], claims["jti"]);
    }

    #[test]
    fn dpop_proof_strips_the_query_and_hashes_the_token() {
        let proof = dpop_proof(
            test_key(),
            "GET",
            "https://a.okta.com/api/v1/users?limit=2",
            5,
            Some("n1"),
            Some("tok"),
        );
        let parts: Vec<&str> = proof.split('.').collect();
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        assert_eq!(header["typ"], "dpop+jwt");
        assert!(header["jwk"].get("d").is_none(), "no private parts in the proof");
        assert_eq!(claims["htu"], "https://a.okta.com/api/v1/users");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["ath"], URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok")));
    }
}
