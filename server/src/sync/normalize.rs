//! Okta objects → rows to stage. Decides who counts as present and computes a
//! content hash so unchanged records are recognised without field-by-field compares.

use crate::okta::model::{Group, User};
use crate::store::{StagedGroup, StagedUser};
use sha2::{Digest, Sha256};

/// Okta statuses of users that should be in the directory. SUSPENDED users
/// are kept (marked suspended); DEPROVISIONED users are removed.
pub fn is_present(status: &str) -> bool {
    matches!(
        status,
        "ACTIVE" | "STAGED" | "PROVISIONED" | "RECOVERY" | "PASSWORD_EXPIRED" | "LOCKED_OUT" | "SUSPENDED"
    )
}

/// Statuses Okta gives users: present ones and DEPROVISIONED.
pub fn is_known_status(status: &str) -> bool {
    is_present(status) || status == "DEPROVISIONED"
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let mut hex = String::with_capacity(32);
    for b in &hasher.finalize()[..16] {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// Serialises a user's traits straight from the parsed profile (no copy).
struct Traits<'a>(&'a User);

impl serde::Serialize for Traits<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.trait_entries())
    }
}

/// `None` for users that are not present (deprovisioned, unknown status).
pub fn stage_user(user: &User) -> Option<StagedUser> {
    if !is_present(&user.status) {
        return None;
    }
    let login = user.profile_str("login").unwrap_or(&user.id).to_owned();
    let email = user.profile_str("email").map(str::to_owned);
    let first_name = user.profile_str("firstName").map(str::to_owned);
    let last_name = user.profile_str("lastName").map(str::to_owned);
    let display_name = user
        .profile_str("displayName")
        .map(str::to_owned)
        .or_else(|| {
            let full = [first_name.as_deref(), last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty()).then_some(full)
        })
        .unwrap_or_else(|| login.clone());
    // serde_json's map is ordered by key, so the same profile always serialises the same.
    let profile_json = serde_json::to_string(&Traits(user)).unwrap_or_else(|_| "{}".to_owned());
    let content_hash = hash(&[
        &login,
        email.as_deref().unwrap_or(""),
        &display_name,
        &user.status,
        &profile_json,
    ]);
    Some(StagedUser {
        okta_id: user.id.clone(),
        suspended: user.status == "SUSPENDED",
        status: user.status.clone(),
        okta_last_updated: user.last_updated.clone(),
        login,
        email,
        first_name,
        last_name,
        display_name,
        profile_json,
        content_hash,
    })
}

pub fn stage_group(group: &Group) -> StagedGroup {
    let name = if group.profile.name.is_empty() {
        group.id.clone()
    } else {
        group.profile.name.clone()
    };
    let description = group.profile.description.clone().filter(|d| !d.is_empty());
    let content_hash = hash(&[&name, description.as_deref().unwrap_or(""), &group.kind]);
    StagedGroup {
        okta_id: group.id.clone(),
        name,
        description,
        kind: group.kind.clone(),
        okta_last_updated: group.last_updated.clone(),
        okta_last_membership_updated: group.last_membership_updated.clone(),
        content_hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(status: &str, profile: serde_json::Value) -> User {
        serde_json::from_value(json!({ "id": "00u1", "status": status, "lastUpdated": "2026-01-01T00:00:00.000Z", "profile": profile })).unwrap()
    }

    #[test]
    fn statuses_map_to_presence() {
        let p = json!({ "login": "a@x.com" });
        assert!(stage_user(&user("ACTIVE", p.clone())).is_some());
        assert!(stage_user(&user("LOCKED_OUT", p.clone())).is_some());
        let suspended = stage_user(&user("SUSPENDED", p.clone())).unwrap();
        assert!(suspended.suspended);
        assert!(stage_user(&user("DEPROVISIONED", p)).is_none());
    }

    #[test]
    fn keeps_non_empty_traits_and_hashes_content() {
        let a = stage_user(&user("ACTIVE", json!({ "login": "a@x.com", "firstName": "Ada", "lastName": "L", "title": "", "mobilePhone": null, "department": "R&D" }))).unwrap();
        assert_eq!(a.display_name, "Ada L");
        let traits: serde_json::Value = serde_json::from_str(&a.profile_json).unwrap();
        assert_eq!(
            traits,
            json!({ "login": "a@x.com", "firstName": "Ada", "lastName": "L", "department": "R&D" })
        );
        let b = stage_user(&user(
            "ACTIVE",
            json!({ "login": "a@x.com", "firstName": "Ada", "lastName": "L", "department": "Ops" }),
        ))
        .unwrap();
        assert_ne!(a.content_hash, b.content_hash);
        let c = stage_user(&user(
            "ACTIVE",
            json!({ "department": "R&D", "lastName": "L", "firstName": "Ada", "login": "a@x.com" }),
        ))
        .unwrap();
        assert_eq!(a.content_hash, c.content_hash, "attribute order does not matter");
    }
}
