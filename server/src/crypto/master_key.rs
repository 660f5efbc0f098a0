use aes_gcm::{
    aead::{Aead, KeyInit, OsRng, Payload},
    AeadCore, Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};
use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

const KEY_FILE: &str = "master.key";
const FORMAT: &str = "v1";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key file {path} is corrupted ({reason}); restore it from your backup, or move it away to start with a new key (existing secrets then cannot be opened)")]
    Corrupted { path: String, reason: String },
    #[error("ROSTER_MASTER_KEY is not valid: {0}; generate one with `openssl rand -base64 32`")]
    InvalidEnv(String),
    #[error("cannot create master key file {path}: {reason}; make the data directory writable or set ROSTER_DATA_DIR")]
    Write { path: String, reason: String },
    #[error("cannot read master key file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("no master key at {path}: copy the old data directory's master.key there, or set ROSTER_MASTER_KEY to it")]
    Missing { path: String },
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value was made with key {0}, not with this instance's master key")]
    WrongKey(String),
    #[error("sealed value failed authentication (tampered, or sealed for another purpose)")]
    Tampered,
}

/// A 256-bit AES-GCM key. The key id (first 8 bytes of its SHA-256, hex) is
/// stored with every sealed value so a wrong key is told apart from tampering.
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Uses `ROSTER_MASTER_KEY` when given, else `data_dir/master.key`,
    /// creating that file (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path, from_env: Option<&str>) -> Result<Self, KeyError> {
        if let Some(encoded) = from_env {
            return Self::from_base64(encoded).map_err(KeyError::InvalidEnv);
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text).map_err(|reason| KeyError::Corrupted {
                path: path.display().to_string(),
                reason,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(&path),
            Err(e) => Err(KeyError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Like [`MasterKey::load_or_create`], but never makes a new key: for
    /// moving an instance, whose secrets need the key they were sealed with.
    pub fn load_existing(data_dir: &Path, from_env: Option<&str>) -> Result<Self, KeyError> {
        let path = data_dir.join(KEY_FILE);
        if from_env.is_none() && !path.exists() {
            return Err(KeyError::Missing {
                path: path.display().to_string(),
            });
        }
        Self::load_or_create(data_dir, from_env)
    }

    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&key);
        Self::from_bytes(bytes)
    }

    pub fn from_base64(encoded: &str) -> Result<Self, String> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| "not base64".to_string())?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| format!("expected 32 bytes, found {}", decoded.len()))?;
        Ok(Self::from_bytes(Zeroizing::new(bytes)))
    }

    fn from_bytes(key: Zeroizing<[u8; 32]>) -> Self {
        let digest = Sha256::digest(key.as_slice());
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { key, id }
    }

    fn create(path: &PathBuf) -> Result<Self, KeyError> {
        let key = Self::generate();
        let write_err = |e: std::io::Error| KeyError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(write_err)?;
        let encoded = Zeroizing::new(STANDARD.encode(key.key.as_slice()));
        file.write_all(encoded.as_bytes()).map_err(write_err)?;
        file.write_all(b"\n").map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        tracing::info!(key_id = %key.id, path = %path.display(), "generated a new master key; back it up with the database");
        Ok(key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `plaintext`, binding it to `purpose` (e.g. `directory:<id>:private-key`)
    /// so a sealed value cannot be swapped into another field.
    /// Format: `v1.<key id>.<base64url(nonce ‖ ciphertext)>`.
    pub fn seal(&self, plaintext: &[u8], purpose: &str) -> String {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_slice()));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // AES-GCM encryption of an in-memory buffer only fails for >64 GiB inputs.
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("{FORMAT}.{}.{}", self.id, URL_SAFE_NO_PAD.encode(blob))
    }

    pub fn open(&self, sealed: &str, purpose: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SealError::Malformed);
        };
        if key_id != self.id {
            return Err(SealError::WrongKey(key_id.to_owned()));
        }
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| SealError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_slice()));
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_random_nonces() {
        let key = MasterKey::generate();
        let a = key.seal(b"private key bytes", "directory:1:private-key");
        let b = key.seal(b"private key bytes", "directory:1:private-key");
        assert_ne!(a, b, "each seal uses a fresh nonce");
        assert!(!a.contains("private key"));
        assert_eq!(
            key.open(&a, "directory:1:private-key").unwrap().as_slice(),
            b"private key bytes"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"secret", "p");
        let (head, body) = sealed.rsplit_once('.').unwrap();
        let mut blob = URL_SAFE_NO_PAD.decode(body).unwrap();
        let last = blob.len() - 1;
        blob[last] ^= 0x01;
        let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(blob));
        assert_eq!(key.open(&tampered, "p"), Err(SealError::Tampered));
        assert_eq!(key.open(&sealed, "another purpose"), Err(SealError::Tampered));
        assert_eq!(key.open("v1.abc", "p"), Err(SealError::Malformed));
    }

    #[test]
    fn a_different_key_is_reported_as_such() {
        let sealed = MasterKey::generate().seal(b"secret", "p");
        let other = MasterKey::generate();
        assert!(matches!(other.open(&sealed, "p"), Err(SealError::WrongKey(_))));
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create(dir.path(), None).unwrap();
        let again = MasterKey::load_or_create(dir.path(), None).unwrap();
        assert_eq!(first.id(), again.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = first.seal(b"x", "p");
        assert_eq!(again.open(&sealed, "p").unwrap().as_slice(), b"x");
    }

    #[test]
    fn corrupted_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = MasterKey::load_or_create(dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("corrupted") && err.contains("master.key"), "{err}");
        std::fs::write(dir.path().join(KEY_FILE), STANDARD.encode([1u8; 16])).unwrap();
        let err = MasterKey::load_or_create(dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 32 bytes"), "{err}");
    }
}
