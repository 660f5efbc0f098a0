//! The two JWTs Roster signs for Okta, with `jsonwebtoken`: the client
//! assertion that authenticates the service app, and DPoP proofs (RFC 9449)
//! that bind tokens to a key.

use super::keys::KeyPair;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{
    jwk::{AlgorithmParameters, CommonParameters, Jwk, RSAKeyParameters, RSAKeyType},
    Algorithm, Header,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Okta rejects assertions valid for more than an hour; five minutes is plenty.
const ASSERTION_LIFETIME_SECS: i64 = 300;

fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    htm: &'a str,
    htu: &'a str,
    iat: i64,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
}

/// Signing cannot fail for a key that was built (its DER is ours); should it,
/// the request goes out unsigned and Okta's refusal says so.
fn sign(header: &Header, claims: &impl Serialize, key: &KeyPair) -> String {
    jsonwebtoken::encode(header, claims, key.encoding_key()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not sign a JWT");
        String::new()
    })
}

/// `private_key_jwt` client assertion. A fresh one (fresh `jti`) for every
/// token request: Okta spends a jti even when the request fails.
pub fn client_assertion(key: &KeyPair, client_id: &str, token_url: &str, now: i64) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid().to_owned());
    let claims = AssertionClaims {
        iss: client_id,
        sub: client_id,
        aud: token_url,
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
        jti: new_jti(),
    };
    sign(&header, &claims, key)
}

/// A DPoP proof for one request. `htu` is the URL without query or
/// fragment; `access_token` adds `ath` on resource requests.
pub fn dpop_proof(
    key: &KeyPair,
    method: &str,
    url: &str,
    now: i64,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> String {
    let public = key.public_jwk();
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("dpop+jwt".into());
    // Only the public members: `kty`, `n`, `e`.
    header.jwk = Some(Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: public.n,
            e: public.e,
        }),
    });
    let claims = ProofClaims {
        htm: method,
        htu: url.split(['?', '#']).next().unwrap_or(url),
        iat: now,
        jti: new_jti(),
        nonce,
        ath: access_token.map(|token| URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))),
    };
    sign(&header, &claims, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okta::keys::tests::test_key;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::Value;

    /// Verifies the signature with the public JWK and returns (header, claims).
    fn verified(jwt: &str) -> (Value, Value) {
        let jwk = test_key().public_jwk();
        let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(jwt, &key, &validation).unwrap();
        let header = serde_json::to_value(&data.header).unwrap();
        (header, data.claims)
    }

    #[test]
    fn client_assertion_has_okta_required_claims() {
        let jwt = client_assertion(test_key(), "0oa1", "https://acme.okta.com/oauth2/v1/token", 1_000);
        let (header, claims) = verified(&jwt);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], test_key().kid());
        assert_eq!(claims["iss"], "0oa1");
        assert_eq!(claims["sub"], "0oa1");
        assert_eq!(claims["aud"], "https://acme.okta.com/oauth2/v1/token");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
        let again = client_assertion(test_key(), "0oa1", "https://acme.okta.com/oauth2/v1/token", 1_000);
        assert_ne!(verified(&again).1["jti"], claims["jti"]);
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
        let (header, claims) = verified(&proof);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["jwk"]["kty"], "RSA");
        assert_eq!(header["jwk"]["n"], test_key().public_jwk().n);
        assert!(header["jwk"].get("d").is_none(), "no private parts in the proof");
        assert!(header.get("kid").is_none_or(Value::is_null));
        assert_eq!(claims["htu"], "https://a.okta.com/api/v1/users");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["ath"], URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok")));
        let bare = dpop_proof(
            test_key(),
            "POST",
            "https://a.okta.com/oauth2/v1/token",
            5,
            None,
            None,
        );
        let (_, claims) = verified(&bare);
        assert!(claims.get("nonce").is_none() && claims.get("ath").is_none());
    }
}
