//! JWS compact parsing (strict: three base64url parts, JSON-object header and
//! claims, read raw so every member can be checked the way Okta does), RS256
//! signature verification with `jsonwebtoken`, and RSA JWK handling.

use jsonwebtoken::{crypto, Algorithm, DecodingKey};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::util::{b64url, b64url_decode, b64url_decode_lenient};

/// Okta requires at least 2048-bit RSA keys.
const MIN_RSA_BITS: usize = 2048;
/// JWK members that only a private key has; a public JWK carrying them is rejected.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

#[derive(Debug)]
pub(crate) struct Jwt<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> Jwt<'a> {
    /// Splits and decodes a compact JWS; `None` if it is not three base64url JSON-object parts.
    pub fn parse(token: &'a str) -> Option<Jwt<'a>> {
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header = decode_object(h)?;
        let claims = decode_object(c)?;
        b64url_decode(s)?;
        let signature = s;
        let signing_input = &token[..h.len() + 1 + c.len()];
        Some(Jwt {
            header,
            claims,
            signing_input,
            signature,
        })
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim in seconds (fractions are truncated).
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }

    pub fn verify_rs256(&self, key: &RsaPublicKey) -> bool {
        let key = DecodingKey::from_rsa_raw_components(&key.n().to_bytes_be(), &key.e().to_bytes_be());
        crypto::verify(
            self.signature,
            self.signing_input.as_bytes(),
            &key,
            Algorithm::RS256,
        )
        .unwrap_or(false)
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(part)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Builds an RSA public key from a JWK, rejecting private members, non-RSA and short keys.
pub(crate) fn rsa_key_from_jwk(jwk: &Map<String, Value>) -> Result<RsaPublicKey, String> {
    if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        return Err(format!("the JWK contains the private key member '{m}'"));
    }
    match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => {}
        Some(other) => return Err(format!("unsupported key type '{other}' (only RSA is supported)")),
        None => return Err("the JWK has no 'kty'".into()),
    }
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(b64url_decode_lenient)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| format!("the JWK has no valid '{name}'"))
    };
    let n = BigUint::from_bytes_be(&member("n")?);
    let e = BigUint::from_bytes_be(&member("e")?);
    if n.bits() < MIN_RSA_BITS {
        return Err(format!("RSA keys must be at least {MIN_RSA_BITS} bits"));
    }
    RsaPublicKey::new(n, e).map_err(|e| format!("invalid RSA key: {e}"))
}

/// RFC 7638 thumbprint of an RSA JWK: SHA-256 over `{"e":..,"kty":"RSA","n":..}`, base64url.
pub(crate) fn rsa_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let e = jwk.get("e")?.as_str()?;
    let n = jwk.get("n")?.as_str()?;
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    Some(b64url(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .expect("json");
        assert_eq!(
            rsa_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert!(rsa_key_from_jwk(&jwk).is_ok());
    }

    #[test]
    fn rejects_private_and_malformed() {
        let jwk: Map<String, Value> =
            serde_json::from_str(r#"{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}"#).expect("json");
        assert!(rsa_key_from_jwk(&jwk).is_err());
        assert!(Jwt::parse("a.b").is_none());
        assert!(Jwt::parse("e30.e30.").is_some());
    }
}
