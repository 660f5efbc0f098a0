/// An Okta OAuth client id, checked for shape before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let id = raw.trim();
        if id.is_empty() {
            return Err("Enter the Client ID shown on the API Services app's General tab.".into());
        }
        if id.chars().any(char::is_whitespace) {
            return Err(
                "The Client ID cannot contain spaces; copy it again with the copy button in Okta.".into(),
            );
        }
        if id.contains("://") || id.contains('.') {
            return Err(
                "That looks like a URL or domain; the Client ID is a code such as 0oa1b2c3d4e5f6g7h8i9."
                    .into(),
            );
        }
        if !(16..=64).contains(&id.len())
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("Okta Client IDs are 20 letters and digits, such as 0oa1b2c3d4e5f6g7h8i9.".into());
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ClientId;

    #[test]
    fn accepts_okta_shaped_ids_and_explains_the_rest() {
        assert_eq!(
            ClientId::parse(" 0oa1b2c3d4e5f6g7h8i9 ").unwrap().as_str(),
            "0oa1b2c3d4e5f6g7h8i9"
        );
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("0oa1b2c3 d4e5f6g7h8i9")
            .unwrap_err()
            .contains("spaces"));
        assert!(ClientId::parse("https://acme.okta.com")
            .unwrap_err()
            .contains("URL"));
        assert!(ClientId::parse("short").is_err());
        assert!(ClientId::parse("0oa1b2c3d4e5f6g7h8i9;drop").is_err());
    }
}
