//! DPoP (RFC 9449) proof validation, server nonces and `jti` replay tracking.

use std::collections::HashMap;

use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::jwt::{rsa_key_from_jwk, rsa_thumbprint, Jwt};
use crate::util::{b64url, random_base62};

/// Proof `iat` may differ from our clock by this much either way.
const PROOF_IAT_WINDOW_S: i64 = 300;
/// Nonces rotate this often; the current and the previous one are accepted.
const NONCE_ROTATION_MS: i64 = 5 * 60 * 1000;
/// Used proof jtis are remembered a little longer than a proof can be valid.
const PROOF_JTI_TTL_MS: i64 = 2 * PROOF_IAT_WINDOW_S * 1000 + 60_000;

/// What the request itself says, to compare against the proof's claims.
pub(crate) struct Expected<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// The access token presented with a resource request (checked against `ath`).
    pub access_token: Option<&'a str>,
}

#[derive(Debug)]
pub(crate) struct ValidProof {
    pub jkt: String,
    pub nonce: Option<String>,
}

/// Validates signature and claims; does not judge the nonce (the token endpoint does that).
pub(crate) fn validate_proof(
    proof: &str,
    expected: &Expected<'_>,
    now_ms: i64,
    replay: &mut ReplayCache,
) -> Result<ValidProof, String> {
    let jwt = Jwt::parse(proof).ok_or("The DPoP proof JWT is malformed.")?;
    if jwt.header_str("typ") != Some("dpop+jwt") {
        return Err("The DPoP proof JWT header 'typ' must be 'dpop+jwt'.".into());
    }
    match jwt.header_str("alg") {
        Some("RS256") => {}
        Some("ES256") => {
            return Err("The DPoP proof JWT 'alg' ES256 is not supported by okta-sim; use RS256.".into())
        }
        _ => return Err("The DPoP proof JWT 'alg' is missing or not supported.".into()),
    }
    let jwk = jwt
        .header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or("The DPoP proof JWT header 'jwk' is missing.")?;
    let key = rsa_key_from_jwk(jwk).map_err(|e| format!("The DPoP proof JWT 'jwk' is invalid: {e}."))?;
    if !jwt.verify_rs256(&key) {
        return Err("The DPoP proof JWT signature is invalid.".into());
    }
    let jkt = rsa_thumbprint(jwk).ok_or("The DPoP proof JWT 'jwk' is invalid.")?;
    if jwt.claim_str("htm") != Some(expected.method) {
        return Err("The DPoP proof JWT 'htm' claim does not match the request method.".into());
    }
    let htu = jwt
        .claim_str("htu")
        .ok_or("The DPoP proof JWT 'htu' claim is missing.")?;
    if strip_query(htu) != expected.url {
        return Err("The DPoP proof JWT 'htu' claim does not match the request URL.".into());
    }
    let iat = jwt
        .claim_time("iat")
        .ok_or("The DPoP proof JWT 'iat' claim is missing.")?;
    if (iat - now_ms / 1000).abs() > PROOF_IAT_WINDOW_S {
        return Err("The DPoP proof JWT 'iat' claim is outside the acceptable window.".into());
    }
    let jti = jwt
        .claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or("The DPoP proof JWT 'jti' claim is missing.")?;
    if let Some(token) = expected.access_token {
        let ath = b64url(Sha256::digest(token.as_bytes()));
        if jwt.claim_str("ath") != Some(ath.as_str()) {
            return Err("The DPoP proof JWT 'ath' claim does not match the access token.".into());
        }
    }
    if !replay.insert(
        format!("dpop\u{0}{jkt}\u{0}{jti}"),
        now_ms + PROOF_JTI_TTL_MS,
        now_ms,
    ) {
        return Err("The DPoP proof JWT 'jti' has already been used.".into());
    }
    Ok(ValidProof {
        jkt,
        nonce: jwt.claim_str("nonce").map(str::to_owned),
    })
}

/// RFC 9449 compares `htu` without query and fragment.
fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// Remembers used `jti`s (client assertions and DPoP proofs) until they could no longer be valid.
#[derive(Debug, Default)]
pub(crate) struct ReplayCache {
    seen: HashMap<String, i64>,
    last_prune_ms: i64,
}

impl ReplayCache {
    /// Records `key`; false if it was already recorded and has not expired.
    pub fn insert(&mut self, key: String, expires_ms: i64, now_ms: i64) -> bool {
        if now_ms - self.last_prune_ms > 30_000 {
            self.seen.retain(|_, exp| *exp > now_ms);
            self.last_prune_ms = now_ms;
        }
        match self.seen.get(&key) {
            Some(exp) if *exp > now_ms => false,
            _ => {
                self.seen.insert(key, expires_ms);
                true
            }
        }
    }
}

/// Server-issued DPoP nonces.
#[derive(Debug)]
pub(crate) struct Nonces {
    current: String,
    previous: Option<String>,
    rotated_ms: i64,
}

impl Nonces {
    pub fn new(now_ms: i64) -> Self {
        Nonces {
            current: fresh_nonce(),
            previous: None,
            rotated_ms: now_ms,
        }
    }

    pub fn rotate(&mut self, now_ms: i64) {
        self.previous = Some(std::mem::replace(&mut self.current, fresh_nonce()));
        self.rotated_ms = now_ms;
    }

    pub fn current(&mut self, now_ms: i64) -> String {
        if now_ms - self.rotated_ms >= NONCE_ROTATION_MS {
            self.rotate(now_ms);
        }
        self.current.clone()
    }

    pub fn is_valid(&mut self, nonce: &str, now_ms: i64) -> bool {
        let current = self.current(now_ms);
        nonce == current || self.previous.as_deref() == Some(nonce)
    }
}

fn fresh_nonce() -> String {
    let mut rng = rand::thread_rng();
    let len = rng.gen_range(40..=48);
    random_base62(len, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_accept_current_and_previous() {
        let mut n = Nonces::new(0);
        let first = n.current(1);
        n.rotate(2);
        let second = n.current(3);
        assert_ne!(first, second);
        assert!(n.is_valid(&first, 4) && n.is_valid(&second, 4));
        n.rotate(5);
        assert!(!n.is_valid(&first, 6));
        assert!(!n.is_valid(&first, NONCE_ROTATION_MS * 3));
    }

    #[test]
    fn replay_cache_expires() {
        let mut c = ReplayCache::default();
        assert!(c.insert("a".into(), 100, 0));
        assert!(!c.insert("a".into(), 100, 50));
        assert!(c.insert("a".into(), 300, 200));
    }

    #[test]
    fn htu_ignores_query() {
        assert_eq!(strip_query("http://h/p?x=1#f"), "http://h/p");
    }
}
