//! Unseals a directory's keys into the credentials the Okta client needs.

use crate::{
    crypto::MasterKey,
    model::{KeyPurpose, KeyState},
    okta::{ClientId, Credentials, KeyPair, OktaError, OktaOrigin},
    store::{Directory, StoredKey},
};

/// The purpose string a directory key is sealed under.
pub fn seal_purpose(directory_id: &str, kid: &str) -> String {
    format!("directory:{directory_id}:key:{kid}")
}

pub fn open_key(master_key: &MasterKey, directory_id: &str, key: &StoredKey) -> Result<KeyPair, OktaError> {
    let der = master_key
        .open(&key.sealed_private, &seal_purpose(directory_id, &key.kid))
        .map_err(|e| OktaError::Key(e.to_string()))?;
    KeyPair::from_pkcs8_der(&der).map_err(|e| OktaError::Key(e.to_string()))
}

/// `client_key_state` is `Active` for syncs and may be `Next` when verifying a rotation.
pub fn load(
    master_key: &MasterKey,
    directory: &Directory,
    keys: &[StoredKey],
    client_key_state: KeyState,
    extra_origins: &[String],
) -> Result<Credentials, OktaError> {
    let origin = OktaOrigin::parse(&directory.okta_origin, extra_origins)
        .map_err(|e| OktaError::InvalidClient(format!("stored Okta domain is not valid: {e}")))?;
    let client_id = ClientId::parse(&directory.client_id).map_err(OktaError::InvalidClient)?;
    let pick =
        |purpose: KeyPurpose, state: KeyState| keys.iter().find(|k| k.purpose == purpose && k.state == state);
    let client = pick(KeyPurpose::Client, client_key_state)
        .ok_or_else(|| OktaError::Key(format!("the directory has no {client_key_state:?} client key")))?;
    let dpop = pick(KeyPurpose::Dpop, KeyState::Active)
        .ok_or_else(|| OktaError::Key("the directory has no DPoP key".into()))?;
    Ok(Credentials {
        origin,
        client_id,
        key: open_key(master_key, &directory.id, client)?,
        dpop_key: open_key(master_key, &directory.id, dpop)?,
    })
}
