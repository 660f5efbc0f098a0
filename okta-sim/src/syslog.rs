//! The org's System Log: one event per change the admin API makes, as Okta records it, read at
//! `GET /api/v1/logs` (scope `okta.logs.read`, its own rate-limit bucket) and pushed to event
//! hooks (`event_hooks`).
//!
//! Like Okta's, the log is eventually consistent: with a visibility delay set, an event can
//! appear after events published later than it, so a poller that only moves forward from its
//! last event's time misses it unless it re-reads an overlap.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::errors::OktaError;
use crate::org::{Org, UserStatus};
use crate::util::{b64url, b64url_decode, rfc3339_millis as rfc3339};

/// Okta's event type names, for the changes the simulator makes.
pub(crate) mod types {
    pub const USER_CREATE: &str = "user.lifecycle.create";
    pub const USER_ACTIVATE: &str = "user.lifecycle.activate";
    pub const USER_REACTIVATE: &str = "user.lifecycle.reactivate";
    pub const USER_SUSPEND: &str = "user.lifecycle.suspend";
    pub const USER_UNSUSPEND: &str = "user.lifecycle.unsuspend";
    pub const USER_DEACTIVATE: &str = "user.lifecycle.deactivate";
    pub const USER_DELETE: &str = "user.lifecycle.delete.initiated";
    pub const USER_PROFILE: &str = "user.account.update_profile";
    pub const MEMBER_ADD: &str = "group.user_membership.add";
    pub const MEMBER_REMOVE: &str = "group.user_membership.remove";
    pub const GROUP_CREATE: &str = "group.lifecycle.create";
    pub const GROUP_PROFILE: &str = "group.profile.update";
    pub const GROUP_DELETE: &str = "group.lifecycle.delete";
    pub const GROUP_APP_ADD: &str = "group.application_assignment.add";
    pub const GROUP_APP_REMOVE: &str = "group.application_assignment.remove";
    pub const APP_USER_ADD: &str = "application.user_membership.add";
    pub const APP_USER_REMOVE: &str = "application.user_membership.remove";

    /// Every type the simulator records (an event hook may subscribe to these).
    pub const ALL: &[&str] = &[
        USER_CREATE,
        USER_ACTIVATE,
        USER_REACTIVATE,
        USER_SUSPEND,
        USER_UNSUSPEND,
        USER_DEACTIVATE,
        USER_DELETE,
        USER_PROFILE,
        MEMBER_ADD,
        MEMBER_REMOVE,
        GROUP_CREATE,
        GROUP_PROFILE,
        GROUP_DELETE,
        GROUP_APP_ADD,
        GROUP_APP_REMOVE,
        APP_USER_ADD,
        APP_USER_REMOVE,
    ];
}

/// Something an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub id: String,
    /// Okta's target type: `User`, `UserGroup`, `AppInstance`, `AppUser`.
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

impl Target {
    pub fn user(org: &Org, id: &str) -> Target {
        let (login, name) = org.users.get(id).map_or((id.to_owned(), id.to_owned()), |u| {
            (
                u.profile.login.clone(),
                format!("{} {}", u.profile.first_name, u.profile.last_name),
            )
        });
        Target {
            id: id.to_owned(),
            kind: "User",
            alternate_id: login,
            display_name: name,
        }
    }

    /// The user as an app's assignment (Okta names it by the user's id for Okta-sourced apps).
    pub fn app_user(org: &Org, id: &str) -> Target {
        Target {
            kind: "AppUser",
            ..Target::user(org, id)
        }
    }

    pub fn group(org: &Org, id: &str) -> Target {
        let name = org
            .groups
            .get(id)
            .map_or_else(|| id.to_owned(), |g| g.name.clone());
        Target {
            id: id.to_owned(),
            kind: "UserGroup",
            alternate_id: "unknown".into(),
            display_name: name,
        }
    }

    pub fn app(org: &Org, id: &str) -> Target {
        let (name, label) = org.apps.get(id).map_or((id.to_owned(), id.to_owned()), |a| {
            (a.name.clone(), a.label.clone())
        });
        Target {
            id: id.to_owned(),
            kind: "AppInstance",
            alternate_id: label,
            display_name: name,
        }
    }

    fn render(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "alternateId": self.alternate_id,
            "displayName": self.display_name,
            "detailEntry": null,
        })
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEvent {
    pub uuid: String,
    /// Epoch milliseconds.
    pub published: i64,
    /// When it shows in `GET /api/v1/logs` (when it was logged plus the delay in force).
    pub visible_at: i64,
    pub event_type: &'static str,
    pub targets: Vec<Target>,
}

impl LogEvent {
    pub fn new(event_type: &'static str, targets: Vec<Target>) -> LogEvent {
        LogEvent {
            uuid: uuid::Uuid::new_v4().to_string(),
            published: 0,
            visible_at: 0,
            event_type,
            targets,
        }
    }

    /// Okta's LogEvent object (the fields a client reads, and enough of the rest to look real).
    pub fn render(&self) -> Value {
        json!({
            "uuid": self.uuid,
            "published": rfc3339(self.published),
            "eventType": self.event_type,
            "version": "0",
            "severity": "INFO",
            "legacyEventType": null,
            "displayMessage": display_message(self.event_type),
            "actor": {
                "id": "00uSimAdministrator1",
                "type": "User",
                "alternateId": "admin@okta-sim.example",
                "displayName": "okta-sim admin",
                "detailEntry": null
            },
            "client": { "ipAddress": "127.0.0.1", "userAgent": { "rawUserAgent": "okta-sim" } },
            "outcome": { "result": "SUCCESS", "reason": null },
            "transaction": { "type": "WEB", "id": self.uuid, "detail": {} },
            "debugContext": { "debugData": {} },
            "target": self.targets.iter().map(Target::render).collect::<Vec<_>>(),
        })
    }
}

fn display_message(event_type: &str) -> &'static str {
    match event_type {
        types::USER_CREATE => "Create Okta user",
        types::USER_ACTIVATE => "Activate Okta user",
        types::USER_REACTIVATE => "Reactivate Okta user",
        types::USER_SUSPEND => "Suspend Okta user",
        types::USER_UNSUSPEND => "Unsuspend Okta user",
        types::USER_DEACTIVATE => "Deactivate Okta user",
        types::USER_DELETE => "Delete Okta user initiated",
        types::USER_PROFILE => "Update user profile for Okta",
        types::MEMBER_ADD => "Add user to group membership",
        types::MEMBER_REMOVE => "Remove user from group membership",
        types::GROUP_CREATE => "Create okta user group",
        types::GROUP_PROFILE => "Update group profile",
        types::GROUP_DELETE => "Delete Okta group",
        types::GROUP_APP_ADD => "Add assigned application to group",
        types::GROUP_APP_REMOVE => "Remove assigned application from group",
        types::APP_USER_ADD => "Add user to application membership",
        types::APP_USER_REMOVE => "Remove user from application membership",
        _ => "Okta event",
    }
}

/// The lifecycle event a status change is (none for changes Roster does not subscribe to).
pub(crate) fn status_event(was: UserStatus, now: UserStatus) -> Option<&'static str> {
    use UserStatus::*;
    Some(match (was, now) {
        (a, b) if a == b => return None,
        (_, Deprovisioned) => types::USER_DEACTIVATE,
        (Deprovisioned, _) => types::USER_REACTIVATE,
        (_, Suspended) => types::USER_SUSPEND,
        (Suspended, _) => types::USER_UNSUSPEND,
        (Staged | Provisioned, Active) => types::USER_ACTIVATE,
        _ => return None,
    })
}

/// The apps each of `users` is assigned to, to diff around a change: a group membership or a
/// group's assignment changes app assignments, and Okta logs those too.
pub(crate) fn app_assignments(org: &Org, users: &[String]) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for app in org.apps.values() {
        for user in users {
            if app.users.contains_key(user) {
                pairs.insert((app.id.clone(), user.clone()));
            }
        }
    }
    pairs
}

/// `application.user_membership.*` for the assignments that came and went.
pub(crate) fn assignment_events(
    org: &Org,
    before: &BTreeSet<(String, String)>,
    after: &BTreeSet<(String, String)>,
) -> Vec<LogEvent> {
    let event = |event_type, (app, user): &(String, String)| {
        LogEvent::new(
            event_type,
            vec![Target::app_user(org, user), Target::app(org, app)],
        )
    };
    let mut events: Vec<LogEvent> = before
        .difference(after)
        .map(|pair| event(types::APP_USER_REMOVE, pair))
        .collect();
    events.extend(
        after
            .difference(before)
            .map(|pair| event(types::APP_USER_ADD, pair)),
    );
    events
}

/// The log, in the order events were published.
#[derive(Debug, Default)]
pub(crate) struct SystemLog {
    events: Vec<LogEvent>,
    /// How long new events stay invisible to `GET /api/v1/logs` (late arrival).
    pub visibility_delay_ms: i64,
}

impl SystemLog {
    /// Stamps and appends a change's events (one millisecond apart, so they sort in the order
    /// they happened); returns them as stamped.
    pub fn append(&mut self, mut events: Vec<LogEvent>, now: i64) -> Vec<LogEvent> {
        let last = self.events.last().map_or(i64::MIN, |e| e.published);
        for (at, e) in (now.max(last + 1)..).zip(events.iter_mut()) {
            e.published = at;
            // From when it was logged: a burst's later events are stamped ahead of the clock.
            e.visible_at = now + self.visibility_delay_ms;
        }
        self.events.extend(events.iter().cloned());
        events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// A page of `GET /api/v1/logs`, and the cursor after its last event.
    pub fn query(&self, q: &LogQuery, now: i64) -> (Vec<&LogEvent>, Option<Cursor>) {
        let matches = |e: &&LogEvent| {
            e.visible_at <= now
                && e.published >= q.since
                && q.until.is_none_or(|u| e.published < u)
                && (q.types.is_empty() || q.types.contains(e.event_type))
        };
        let mut page: Vec<&LogEvent> = if q.descending {
            self.events.iter().rev().filter(matches).take(q.limit).collect()
        } else {
            self.events
                .iter()
                .filter(matches)
                .filter(|e| q.after.as_ref().is_none_or(|c| c.is_before(e)))
                .take(q.limit)
                .collect()
        };
        // Visible order: by time, then uuid (what the cursor compares).
        if !q.descending {
            page.sort_by(|a, b| (a.published, &a.uuid).cmp(&(b.published, &b.uuid)));
        }
        let cursor = page.last().map(|e| Cursor {
            published: e.published,
            uuid: e.uuid.clone(),
        });
        (page, cursor)
    }
}

/// Where a polling client stands: after this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub published: i64,
    pub uuid: String,
}

impl Cursor {
    fn is_before(&self, e: &LogEvent) -> bool {
        (self.published, self.uuid.as_str()) < (e.published, e.uuid.as_str())
    }

    pub fn encode(&self) -> String {
        b64url(format!("{}:{}", self.published, self.uuid))
    }

    fn decode(raw: &str) -> Option<Cursor> {
        let text = String::from_utf8(b64url_decode(raw)?).ok()?;
        let (published, uuid) = text.split_once(':')?;
        Some(Cursor {
            published: published.parse().ok()?,
            uuid: uuid.to_owned(),
        })
    }
}

/// A parsed `GET /api/v1/logs` query.
#[derive(Debug, Clone)]
pub(crate) struct LogQuery {
    pub since: i64,
    pub until: Option<i64>,
    pub types: BTreeSet<String>,
    pub limit: usize,
    pub descending: bool,
    pub after: Option<Cursor>,
}

pub(crate) const DEFAULT_LIMIT: usize = 100;
pub(crate) const MAX_LIMIT: usize = 1000;
/// Okta keeps 90 days; a request without `since` reads the last 7 days.
const DEFAULT_SINCE_MS: i64 = 7 * 86_400_000;

impl LogQuery {
    pub fn parse(q: &std::collections::HashMap<String, String>, now: i64) -> Result<LogQuery, OktaError> {
        if q.contains_key("q") {
            return Err(OktaError::validation("q", "not supported by okta-sim"));
        }
        let time = |name: &str| -> Result<Option<i64>, OktaError> {
            q.get(name)
                .map(|raw| {
                    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                        .map_err(|_| OktaError::validation(name, "must be an ISO 8601 timestamp"))
                })
                .transpose()
        };
        let since = time("since")?.unwrap_or(now - DEFAULT_SINCE_MS);
        let until = time("until")?;
        let descending = match q.get("sortOrder").map(String::as_str) {
            None | Some("ASCENDING") => false,
            Some("DESCENDING") => true,
            Some(_) => {
                return Err(OktaError::validation(
                    "sortOrder",
                    "must be ASCENDING or DESCENDING",
                ))
            }
        };
        let limit = match q.get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| OktaError::validation("limit", "must be a positive integer"))?
                .min(MAX_LIMIT),
        };
        let after = match q.get("after") {
            None => None,
            Some(_) if descending => {
                return Err(OktaError::validation("after", "only with sortOrder=ASCENDING"))
            }
            Some(raw) => {
                Some(Cursor::decode(raw).ok_or_else(|| OktaError::validation("after", "invalid cursor"))?)
            }
        };
        let types = match q.get("filter") {
            None => BTreeSet::new(),
            Some(filter) => parse_filter(filter)?,
        };
        Ok(LogQuery {
            since,
            until,
            types,
            limit,
            descending,
            after,
        })
    }

    /// A polling request (no `until`, oldest first): Okta always links a next page, empty
    /// until something new is logged.
    pub fn is_polling(&self) -> bool {
        self.until.is_none() && !self.descending
    }
}

/// `eventType eq "a" or eventType eq "b"` (optionally in parentheses): the event types asked
/// for. Anything else is refused rather than ignored.
fn parse_filter(filter: &str) -> Result<BTreeSet<String>, OktaError> {
    let invalid =
        || OktaError::validation("filter", "okta-sim supports only eventType eq \"…\" joined by or");
    let trimmed = filter.trim();
    let inner = trimmed
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(trimmed);
    let mut types = BTreeSet::new();
    for term in inner.split(" or ") {
        let term = term.trim().trim_start_matches('(').trim_end_matches(')').trim();
        let value = term
            .strip_prefix("eventType eq ")
            .map(str::trim)
            .and_then(|v| v.strip_prefix('"'))
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.is_empty() && !v.contains('"'))
            .ok_or_else(invalid)?;
        types.insert(value.to_owned());
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn query(pairs: &[(&str, &str)]) -> Result<LogQuery, OktaError> {
        let q: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LogQuery::parse(&q, 1_000_000_000)
    }

    fn event(t: &'static str) -> LogEvent {
        LogEvent::new(t, vec![])
    }

    #[test]
    fn filters_name_event_types_and_nothing_else() {
        let q = query(&[(
            "filter",
            "eventType eq \"user.lifecycle.deactivate\" or eventType eq \"group.user_membership.add\"",
        )])
        .unwrap();
        assert_eq!(q.types.len(), 2);
        assert!(query(&[("filter", "(eventType eq \"a.b\")")]).is_ok());
        assert!(query(&[("filter", "target.id eq \"00u1\"")]).is_err());
        assert!(query(&[("filter", "eventType sw \"user\"")]).is_err());
        assert!(query(&[("q", "x")]).is_err());
        assert!(query(&[("sortOrder", "UP")]).is_err());
        assert!(query(&[("limit", "0")]).is_err());
        assert_eq!(query(&[("limit", "5000")]).unwrap().limit, MAX_LIMIT);
    }

    #[test]
    fn a_poll_moves_on_by_cursor_and_misses_a_late_event_unless_it_looks_back() {
        let mut log = SystemLog::default();
        log.append(
            vec![event(types::USER_SUSPEND), event(types::USER_UNSUSPEND)],
            1000,
        );
        let q = LogQuery {
            since: 0,
            until: None,
            types: BTreeSet::new(),
            limit: 1,
            descending: false,
            after: None,
        };
        let (page, cursor) = log.query(&q, 5000);
        assert_eq!(page.len(), 1);
        let (next, cursor) = log.query(
            &LogQuery {
                after: cursor,
                ..q.clone()
            },
            5000,
        );
        assert_eq!(next[0].event_type, types::USER_UNSUSPEND);
        // Logged now but visible only later, with an earlier time than the next one.
        log.visibility_delay_ms = 100;
        let late = log.append(vec![event(types::USER_DEACTIVATE)], 2000);
        log.visibility_delay_ms = 0;
        log.append(vec![event(types::MEMBER_ADD)], 2050);
        let (seen, cursor) = log.query(
            &LogQuery {
                after: cursor,
                limit: 10,
                ..q.clone()
            },
            2060,
        );
        assert_eq!(
            seen.iter().map(|e| e.event_type).collect::<Vec<_>>(),
            [types::MEMBER_ADD]
        );
        let (after_it, _) = log.query(
            &LogQuery {
                after: cursor,
                limit: 10,
                ..q.clone()
            },
            3000,
        );
        assert!(after_it.is_empty(), "the cursor is past the late event");
        let (overlap, _) = log.query(
            &LogQuery {
                since: 1999,
                limit: 10,
                ..q
            },
            3000,
        );
        assert!(
            overlap.iter().any(|e| e.uuid == late[0].uuid),
            "an overlap finds it"
        );
    }

    #[test]
    fn status_changes_map_to_lifecycle_events() {
        use UserStatus::*;
        assert_eq!(status_event(Active, Deprovisioned), Some(types::USER_DEACTIVATE));
        assert_eq!(status_event(Deprovisioned, Active), Some(types::USER_REACTIVATE));
        assert_eq!(status_event(Active, Suspended), Some(types::USER_SUSPEND));
        assert_eq!(status_event(Suspended, Active), Some(types::USER_UNSUSPEND));
        assert_eq!(status_event(Staged, Active), Some(types::USER_ACTIVATE));
        assert_eq!(status_event(Active, LockedOut), None);
        assert_eq!(status_event(Active, Active), None);
    }
}
