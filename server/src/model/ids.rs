//! Typed ids. A `DirectoryId` cannot be passed where a `RunId` is expected,
//! and every id is checked once, where it enters (a URL, a form, a CLI flag).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an id was refused; adapters turn it into their own "invalid input".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} “{value}” is not valid: {expected}")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

macro_rules! id_conversions {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(raw: String) -> Result<Self, InvalidId> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(raw: &str) -> Result<Self, InvalidId> {
                Self::parse(raw)
            }
        }
    };
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let raw = raw.trim();
                uuid::Uuid::parse_str(raw)
                    .map(|u| Self(u.hyphenated().to_string()))
                    .map_err(|_| InvalidId {
                        what: $what,
                        value: raw.chars().take(64).collect(),
                        expected: "expected a UUID such as 0b6c5d1e-…",
                    })
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        id_conversions!($name);
    };
}

macro_rules! okta_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// Okta ids are short alphanumeric strings (`00u1abcd…`); anything
            /// else cannot name a record and is refused before any query.
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let raw = raw.trim();
                let ok = !raw.is_empty()
                    && raw.len() <= 64
                    && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(InvalidId {
                        what: $what,
                        value: raw.chars().take(64).collect(),
                        expected: "expected an Okta id (letters and digits, e.g. 00u1a2b3c4D5e6F7g8h9)",
                    })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        id_conversions!($name);
    };
}

uuid_id!(
    /// A directory (an Okta org connection), draft or active.
    DirectoryId,
    "Directory id"
);
uuid_id!(
    /// One sync run (a sync, a preview).
    RunId,
    "Run id"
);
uuid_id!(
    /// An API token (its id, never the secret).
    TokenId,
    "Token id"
);
uuid_id!(
    /// A webhook endpoint.
    WebhookId,
    "Webhook id"
);
okta_id!(
    /// An Okta user id (`00u…`).
    OktaUserId,
    "Okta user id"
);
okta_id!(
    /// An Okta group id (`00g…`).
    OktaGroupId,
    "Okta group id"
);
okta_id!(
    /// An Okta app id (`0oa…`).
    OktaAppId,
    "Okta app id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_are_normalised_and_checked() {
        let id = DirectoryId::parse(" 0B6C5D1E-0000-4000-8000-000000000001 ").unwrap();
        assert_eq!(id.as_str(), "0b6c5d1e-0000-4000-8000-000000000001");
        let err = RunId::parse("../etc/passwd").unwrap_err();
        assert_eq!(err.what, "Run id");
        assert!(err.to_string().contains("UUID"));
    }

    #[test]
    fn okta_ids_refuse_what_cannot_be_an_id() {
        assert!(OktaUserId::parse("00u1a2b3c4D5e6F7g8h9").is_ok());
        assert!(OktaGroupId::parse("").is_err());
        assert!(OktaGroupId::parse("00g' OR 1=1 --").is_err());
        assert!(OktaUserId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn ids_round_trip_through_json() {
        let id = DirectoryId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<DirectoryId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<DirectoryId>("\"nope\"").is_err());
    }
}
