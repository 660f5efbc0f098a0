use serde::{Deserialize, Serialize};

/// The display name of this Roster instance, validated where it enters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceName(String);

impl InstanceName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter a name for this Roster instance.".into());
        }
        let chars = name.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "The name is {chars} characters long; use at most {}.",
                Self::MAX_CHARS
            ));
        }
        if name.chars().any(char::is_control) {
            return Err("The name cannot contain control characters such as tabs or line breaks.".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceName;

    #[test]
    fn trims_and_accepts_ordinary_names() {
        assert_eq!(
            InstanceName::parse("  Acme Roster ").unwrap().as_str(),
            "Acme Roster"
        );
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert!(InstanceName::parse("   ").is_err());
        assert!(InstanceName::parse(&"x".repeat(65)).is_err());
        assert!(InstanceName::parse(&"é".repeat(64)).is_ok());
        assert!(InstanceName::parse("a\tb").is_err());
    }
}
