//! The kinds of change the event log records: one name per change, as
//! downstream apps filter and switch on them.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum EventType {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    UserCreated => "user.created",
    UserUpdated => "user.updated",
    UserSuspended => "user.suspended",
    UserReactivated => "user.reactivated",
    UserDeprovisioned => "user.deprovisioned",
    GroupCreated => "group.created",
    GroupUpdated => "group.updated",
    GroupDeleted => "group.deleted",
    GroupMemberAdded => "group.member_added",
    GroupMemberRemoved => "group.member_removed",
    DirectoryCreated => "directory.created",
    DirectoryDeleted => "directory.deleted",
    DirectoryPaused => "directory.paused",
    DirectoryResumed => "directory.resumed",
    SyncSucceeded => "sync.succeeded",
    SyncFailed => "sync.failed",
    SyncHeldForReview => "sync.held_for_review",
}

impl EventType {
    /// The event a pause or resume produces: only a change of state is one.
    pub fn of_pause_change(was_paused: bool, paused: bool) -> Option<Self> {
        match (was_paused, paused) {
            (false, true) => Some(Self::DirectoryPaused),
            (true, false) => Some(Self::DirectoryResumed),
            _ => None,
        }
    }

    /// The event a run that ends without applying produces, if any (a
    /// success is announced by the apply that commits it).
    pub fn of_run_end(status: super::RunStatus) -> Option<Self> {
        match status {
            super::RunStatus::Failed => Some(Self::SyncFailed),
            super::RunStatus::NeedsConfirmation => Some(Self::SyncHeldForReview),
            _ => None,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::EventType;

    #[test]
    fn every_name_parses_back() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
            assert_eq!(serde_json::to_string(t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        assert_eq!(EventType::parse("user.nope"), None);
    }
}
