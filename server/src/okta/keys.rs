//! RSA key pairs for `private_key_jwt` client authentication and DPoP proofs.
//! The private half is only ever held sealed at rest or in memory here.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rsa::{
    pkcs1::EncodeRsaPrivateKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding},
    traits::PublicKeyParts,
    RsaPrivateKey, RsaPublicKey,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate an RSA key: {0}")]
    Generate(String),
    #[error("stored private key is unreadable: {0}")]
    Decode(String),
    #[error("could not encode the key: {0}")]
    Encode(String),
}

/// A public RSA key as a JWK, the form Okta's "Add key" dialog accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    pub n: String,
    pub e: String,
}

/// A signing key with its RFC 7638 thumbprint as key id.
#[derive(Clone)]
pub struct KeyPair {
    private: RsaPrivateKey,
    kid: String,
    /// The same key as `jsonwebtoken` signs with (PKCS#1 DER inside).
    signing: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    pub fn generate() -> Result<Self, KeyError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, BITS)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_private(private)
    }

    fn from_private(private: RsaPrivateKey) -> Result<Self, KeyError> {
        let kid = thumbprint(&RsaPublicKey::from(&private));
        let pkcs1 = private
            .to_pkcs1_der()
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        let signing = jsonwebtoken::EncodingKey::from_rsa_der(pkcs1.as_bytes());
        Ok(Self {
            private,
            kid,
            signing,
        })
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let private = RsaPrivateKey::from_pkcs8_der(der).map_err(|e| KeyError::Decode(e.to_string()))?;
        Self::from_private(private)
    }

    /// PKCS#8 DER of the private key, for sealing; zeroed when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.private
            .to_pkcs8_der()
            .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
            .map_err(|e| KeyError::Encode(e.to_string()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_jwk(&self) -> PublicJwk {
        let public = RsaPublicKey::from(&self.private);
        PublicJwk {
            kty: "RSA".into(),
            kid: self.kid.clone(),
            use_: "sig".into(),
            alg: "RS256".into(),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }
    }

    pub fn public_pem(&self) -> Result<String, KeyError> {
        RsaPublicKey::from(&self.private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// The key for `jsonwebtoken::encode` (RS256).
    pub fn encoding_key(&self) -> &jsonwebtoken::EncodingKey {
        &self.signing
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in order.
pub fn thumbprint(public: &RsaPublicKey) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        URL_SAFE_NO_PAD.encode(public.n().to_bytes_be())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Key generation is slow in debug builds; tests share one key.
    pub(crate) fn test_key() -> &'static KeyPair {
        static KEY: OnceLock<KeyPair> = OnceLock::new();
        KEY.get_or_init(|| KeyPair::generate().unwrap())
    }

    #[test]
    fn jwk_kid_is_the_rfc7638_thumbprint_and_survives_a_round_trip() {
        let key = test_key();
        let jwk = key.public_jwk();
        assert_eq!(jwk.kid, key.kid());
        assert_eq!(jwk.e, "AQAB");
        assert_eq!(URL_SAFE_NO_PAD.decode(&jwk.n).unwrap().len(), 256);
        let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, jwk.e, jwk.n);
        assert_eq!(
            jwk.kid,
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
        let restored = KeyPair::from_pkcs8_der(&key.to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(restored.kid(), key.kid());
        assert!(key
            .public_pem()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
    }
}
