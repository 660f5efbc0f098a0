//! Small shared helpers: clock, Okta-style ids and timestamps, base64url, poison-tolerant locks.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An Okta-looking id: a 3-char type prefix (`00u`, `00g`, `0oa`, ...) plus 17 base62 chars.
pub(crate) fn okta_id(prefix: &str, rng: &mut impl Rng) -> String {
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    id.push_str(&random_base62(17, rng));
    id
}

pub(crate) fn random_base62(len: usize, rng: &mut impl Rng) -> String {
    (0..len)
        .map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char)
        .collect()
}

/// Okta timestamps always carry milliseconds and a `Z`: `2026-01-02T03:04:05.000Z`.
pub(crate) fn rfc3339_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            millis
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

pub(crate) fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict (unpadded) base64url, as JWS compact serialization requires.
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// JWK members are base64url too, but some tools pad them; accepting padding there is harmless.
pub(crate) fn b64url_decode_lenient(s: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(s).ok()
}

// A panic in one request must not wedge the simulator, so poisoned locks are simply reused.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_okta_timestamps() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(1_767_323_045_007), "2026-01-02T03:04:05.007Z");
    }

    #[test]
    fn ids_have_okta_shape() {
        let mut rng = rand::thread_rng();
        let id = okta_id("00u", &mut rng);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
