//! Okta System Log events as triggers for a targeted refresh, whichever way
//! they arrive (an event hook's delivery or a System Log poll): the event
//! types Roster follows, Okta's LogEvent fields it reads, and the records
//! an event asks to re-read. An event is a trigger, never data.

use crate::store::{sortable, RefreshItem, SeenEvent};
use serde::Deserialize;

/// The event types Roster follows (Okta's names).
pub const EVENT_TYPES: &[&str] = &[
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.deactivate",
    "user.lifecycle.delete.initiated",
    "user.account.update_profile",
    "group.user_membership.add",
    "group.user_membership.remove",
    "group.profile.update",
    "group.lifecycle.delete",
    "group.application_assignment.add",
    "group.application_assignment.remove",
    "application.user_membership.add",
    "application.user_membership.remove",
];

/// The fields of Okta's LogEvent a trigger needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub uuid: String,
    #[serde(default)]
    pub published: String,
    pub event_type: String,
    #[serde(default)]
    pub target: Vec<LogTarget>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogTarget {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl LogEvent {
    /// When Okta published it, if it says so in RFC 3339.
    pub fn published_at(&self) -> Option<time::OffsetDateTime> {
        time::OffsetDateTime::parse(&self.published, &time::format_description::well_known::Rfc3339).ok()
    }

    /// The event as the store records it.
    pub fn seen(&self) -> SeenEvent {
        SeenEvent {
            uuid: self.uuid.clone(),
            published: self.published_at().map(sortable),
            items: refresh_items(&self.event_type, &self.target),
        }
    }
}

/// The records an event asks to re-read: its users and groups. An event
/// type Roster does not follow asks for nothing.
pub fn refresh_items(event_type: &str, targets: &[LogTarget]) -> Vec<RefreshItem> {
    if !EVENT_TYPES.contains(&event_type) {
        return Vec::new();
    }
    let mut items: Vec<RefreshItem> = targets
        .iter()
        .filter_map(|t| match t.kind.as_str() {
            "User" | "AppUser" => Some(("user".to_owned(), t.id.clone())),
            "UserGroup" => Some(("group".to_owned(), t.id.clone())),
            _ => None,
        })
        .collect();
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(list: &[(&str, &str)]) -> Vec<LogTarget> {
        list.iter()
            .map(|(id, kind)| LogTarget {
                id: (*id).to_owned(),
                kind: (*kind).to_owned(),
            })
            .collect()
    }

    #[test]
    fn events_name_the_records_to_reread() {
        let items = |t: &str, list: &[(&str, &str)]| refresh_items(t, &targets(list));
        assert_eq!(
            items("user.lifecycle.deactivate", &[("00u1", "User")]),
            vec![("user".to_owned(), "00u1".to_owned())]
        );
        assert_eq!(
            items(
                "group.user_membership.add",
                &[("00u1", "User"), ("00g1", "UserGroup")]
            ),
            vec![
                ("group".to_owned(), "00g1".to_owned()),
                ("user".to_owned(), "00u1".to_owned())
            ]
        );
        assert_eq!(
            items(
                "application.user_membership.remove",
                &[("00u1", "AppUser"), ("0oa1", "AppInstance")]
            ),
            vec![("user".to_owned(), "00u1".to_owned())]
        );
        assert!(
            items("user.session.start", &[("00u1", "User")]).is_empty(),
            "not followed"
        );
    }

    #[test]
    fn an_event_keeps_when_okta_published_it() {
        let event: LogEvent = serde_json::from_value(serde_json::json!({
            "uuid": "u1", "published": "2026-12-06T10:00:00.123Z", "eventType": "user.lifecycle.suspend",
            "target": [{"id": "00u1", "type": "User"}]
        }))
        .unwrap();
        let seen = event.seen();
        assert_eq!(seen.published.as_deref(), Some("2026-12-06T10:00:00.123000Z"));
        assert_eq!(seen.items.len(), 1);
    }
}
