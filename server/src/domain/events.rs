//! The event log as downstream apps read it: every change Roster applies, in
//! the order it committed, behind a cursor that never skips one (the store's
//! `events` module says why that holds on both databases), kept for a
//! retention period and pruned in the background.

use super::{DomainError, DomainResult, ErrorKind};
use crate::{
    model::{DirectoryId, EventType},
    store::{EventFilter, EventRow, Store},
};
use serde::Serialize;
use utoipa::ToSchema;

/// How many events a page holds when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;
/// Events are kept this long unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Event {
    /// Unique and stable: `evt_` and the event's position.
    pub id: String,
    /// Pass as `after` to read what follows this event.
    pub cursor: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub directory_id: String,
    /// The user, group, membership (`group_id:user_id`), directory or run.
    pub entity_id: String,
    /// Grows with every change of the entity: drop an event whose version is
    /// lower than one already applied.
    pub version: i64,
    pub occurred_at: String,
    /// The entity as it is after the change (for a removal, as it was last).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EventsPage {
    pub items: Vec<Event>,
    /// The cursor to ask with next: the last event's, or the one asked with
    /// when nothing newer has committed yet.
    pub next_cursor: String,
    /// More events are waiting: ask again at once.
    pub has_more: bool,
}

/// A read of the log; every field optional.
#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    /// A `cursor` / `next_cursor`; none: from the oldest event kept.
    pub after: Option<String>,
    pub limit: Option<i64>,
    /// Event type names (`user.deprovisioned`, …); none: all.
    pub types: Vec<String>,
    pub directory: Option<String>,
    /// The newest this many events instead of those after a cursor.
    pub last: Option<i64>,
}

#[derive(Clone)]
pub struct Events {
    store: Store,
}

impl Events {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn page(&self, query: &EventsQuery) -> DomainResult<EventsPage> {
        let after = parse_cursor(query.after.as_deref())?;
        if query.last.is_some() && after > 0 {
            return Err(DomainError::invalid(
                "Ask with either after (what follows a cursor) or last (the newest events), not both.",
            ));
        }
        let limit = query.last.or(query.limit).unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DomainError::invalid(format!(
                "limit (or last) must be between 1 and {MAX_LIMIT}; got {limit}."
            )));
        }
        let types = parse_types(&query.types)?;
        let directory = query
            .directory
            .as_deref()
            .map(|d| DirectoryId::parse(d).map(|id| id.to_string()))
            .transpose()
            .map_err(|_| DomainError::invalid("directory must be a directory id (a UUID)."))?;
        let pruned_through = self.store.events_pruned_through().await?;
        if after < pruned_through {
            return Err(DomainError::new(
                ErrorKind::Conflict,
                format!(
                    "Events after cursor {after} are no longer kept: the retention period removed those up to {pruned_through}."
                ),
            )
            .with_hint(
                "Reconcile from the users and groups lists, then read events again without a cursor \
                 (or with the newest cursor you hold from after that).",
            ));
        }
        // One more than asked tells whether more are waiting.
        let mut rows = self
            .store
            .events_page(&EventFilter {
                after,
                limit: limit + 1,
                types: &types,
                directory_ids: directory.as_slice(),
                through: None,
                newest: query.last.is_some(),
            })
            .await?;
        let has_more = query.last.is_none() && rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        if query.last.is_some() {
            rows.reverse();
        }
        // Never behind what retention removed, so the next read is valid.
        let next_cursor = rows
            .last()
            .map_or(after, |r| r.position)
            .max(pruned_through)
            .to_string();
        let items = rows.into_iter().map(event_of).collect::<DomainResult<Vec<_>>>()?;
        Ok(EventsPage {
            items,
            next_cursor,
            has_more,
        })
    }

    /// Drops events older than `retention`; the pruner calls this.
    pub async fn prune(&self, retention: time::Duration) -> DomainResult<u64> {
        Ok(self.store.prune_events(retention).await?)
    }
}

fn parse_cursor(raw: Option<&str>) -> DomainResult<i64> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            DomainError::invalid(format!(
                "after must be a cursor from a previous page (a number); got {c:?}."
            ))
        }),
    }
}

pub(crate) fn parse_types(raw: &[String]) -> DomainResult<Vec<String>> {
    let mut types = Vec::new();
    for name in raw
        .iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let Some(t) = EventType::parse(name) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(DomainError::invalid(format!(
                "{name:?} is not an event type; the types are {}.",
                known.join(", ")
            )));
        };
        types.push(t.as_str().to_owned());
    }
    Ok(types)
}

pub(crate) fn event_of(row: EventRow) -> DomainResult<Event> {
    let event_type = EventType::parse(&row.event_type)
        .ok_or_else(|| DomainError::internal("events", format!("unknown event type {:?}", row.event_type)))?;
    let data = serde_json::from_str(&row.data).map_err(|e| {
        DomainError::internal(
            "events",
            format!("event {} holds invalid JSON: {e}", row.position),
        )
    })?;
    Ok(Event {
        id: format!("evt_{}", row.position),
        cursor: row.position.to_string(),
        event_type,
        directory_id: row.directory_id,
        entity_id: row.entity_id,
        version: row.version,
        occurred_at: row.occurred_at,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_types_are_checked() {
        assert_eq!(parse_cursor(None).unwrap(), 0);
        assert_eq!(parse_cursor(Some(" 42 ")).unwrap(), 42);
        assert!(parse_cursor(Some("-1")).is_err());
        assert!(parse_cursor(Some("evt_4")).is_err());
        assert_eq!(
            parse_types(&["user.created, sync.failed".into()]).unwrap(),
            ["user.created", "sync.failed"]
        );
        let err = parse_types(&["user.gone".into()]).unwrap_err();
        assert!(err.message.contains("user.deprovisioned"), "{}", err.message);
    }
}
