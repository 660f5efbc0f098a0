//! The event log: one row per change the store applies, appended by the
//! transaction that makes the change (an outbox), read by position.
//!
//! A reader pages by position and must never skip an event that commits
//! late with a smaller position. Both backends hand out positions in commit
//! order: SQLite runs one write transaction at a time, so a transaction's
//! positions come after every committed one; on PostgreSQL every transaction
//! that appends events first takes one transaction-scoped advisory lock,
//! held until it commits (`postgres/events.rs`). The events of one
//! transaction are appended in the order its changes happen.

use super::{now, timestamp, SqliteStore, StoreError};
use sqlx::SqliteConnection;

/// An event as stored; `data` is the entity's normalised representation (for
/// a removal, the last known), as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub position: i64,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub directory_id: String,
    pub entity_id: String,
    /// The entity's version where it has one (users, groups); else the
    /// position.
    pub version: i64,
    pub occurred_at: String,
    pub data: String,
}

/// Which events a page holds.
#[derive(Debug, Clone, Default)]
pub struct EventFilter<'a> {
    /// Events after this position (0: from the oldest kept).
    pub after: i64,
    pub limit: i64,
    /// Event type names; empty: all.
    pub types: &'a [String],
    /// Directory ids; empty: all.
    pub directory_ids: &'a [String],
    /// Only events up to this position (a high-water mark read before).
    pub through: Option<i64>,
    /// The newest `limit` events instead (`after` ignored), newest first.
    pub newest: bool,
}

/// `directory.*` data: the directory as it is after the change.
pub(super) const DIRECTORY_DATA: &str = "json_object('id', id, 'name', name, 'state', state,
    'paused', json(CASE WHEN paused THEN 'true' ELSE 'false' END), 'paused_reason', paused_reason,
    'pull', json(CASE WHEN pull_enabled THEN 'true' ELSE 'false' END),
    'scim', json(CASE WHEN scim_enabled THEN 'true' ELSE 'false' END))";

/// `sync.*` data: the run as it ended.
pub(super) const RUN_DATA: &str = "json_object('run_id', id, 'trigger', trigger, 'status', status,
    'started_at', started_at, 'finished_at', finished_at,
    'users_added', users_added, 'users_updated', users_updated, 'users_removed', users_removed,
    'groups_added', groups_added, 'groups_updated', groups_updated, 'groups_removed', groups_removed,
    'memberships_added', memberships_added, 'memberships_removed', memberships_removed,
    'error', CASE WHEN error_code IS NULL THEN NULL ELSE json_object('code', error_code,
        'class', error_class, 'message', error_message, 'hint', error_hint) END)";

/// Appends the `directory.*` event of `event_type` for directory `$1` as it
/// is now (call after the change, or before a deletion).
pub(super) async fn append_directory_event(
    conn: &mut SqliteConnection,
    event_type: crate::model::EventType,
    directory_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT $2, id, id, NULL, $3, {DIRECTORY_DATA} FROM directories WHERE id = $1"
    ))
    .bind(directory_id)
    .bind(event_type.as_str())
    .bind(timestamp(now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends the `sync.*` event of `event_type` for run `run_id` as it ended.
/// A preview (the wizard's dry run, which changes nothing) is not an event.
pub(super) async fn append_run_event(
    conn: &mut SqliteConnection,
    event_type: crate::model::EventType,
    run_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
         SELECT $2, directory_id, id, NULL, $3, {RUN_DATA} FROM sync_runs WHERE id = $1 AND trigger != 'preview'"
    ))
    .bind(run_id)
    .bind(event_type.as_str())
    .bind(timestamp(now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The users named, as they are in `dataset` now.
pub(super) async fn user_snaps(
    conn: &mut SqliteConnection,
    dataset: i64,
    ids: &[&str],
) -> Result<Vec<UserSnap>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT okta_id, login, email, first_name, last_name, display_name, status, profile, version,
                deleted_at IS NOT NULL AS removed
         FROM directory_users WHERE dataset = $1 AND okta_id IN (SELECT value FROM json_each($2))",
    )
    .bind(dataset)
    .bind(id_list(ids)?)
    .fetch_all(&mut *conn)
    .await?)
}

/// The groups named, as they are in `dataset` now.
pub(super) async fn group_snaps(
    conn: &mut SqliteConnection,
    dataset: i64,
    ids: &[&str],
) -> Result<Vec<GroupSnap>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(
        "SELECT okta_id, name, description, kind, version, deleted_at IS NOT NULL AS removed
         FROM directory_groups WHERE dataset = $1 AND okta_id IN (SELECT value FROM json_each($2))",
    )
    .bind(dataset)
    .bind(id_list(ids)?)
    .fetch_all(&mut *conn)
    .await?)
}

fn id_list(ids: &[&str]) -> Result<String, StoreError> {
    serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The users and groups named, and the present memberships of either, as
/// they are in `dataset` now.
pub(super) async fn snapshot(
    conn: &mut SqliteConnection,
    dataset: i64,
    users: &[&str],
    groups: &[&str],
) -> Result<Snapshot, StoreError> {
    let mut snapshot = Snapshot::default();
    if !users.is_empty() {
        let rows = user_snaps(conn, dataset, users).await?;
        snapshot.users = rows.into_iter().map(|u| (u.okta_id.clone(), u)).collect();
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT group_id, user_id FROM present_user_groups
             WHERE dataset = $1 AND user_id IN (SELECT value FROM json_each($2))",
        )
        .bind(dataset)
        .bind(id_list(users)?)
        .fetch_all(&mut *conn)
        .await?;
        snapshot.members.extend(pairs);
    }
    if !groups.is_empty() {
        let rows = group_snaps(conn, dataset, groups).await?;
        snapshot.groups = rows.into_iter().map(|g| (g.okta_id.clone(), g)).collect();
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT group_id, user_id FROM present_memberships
             WHERE dataset = $1 AND group_id IN (SELECT value FROM json_each($2))",
        )
        .bind(dataset)
        .bind(id_list(groups)?)
        .fetch_all(&mut *conn)
        .await?;
        snapshot.members.extend(pairs);
    }
    Ok(snapshot)
}

/// Appends the events of what a single write changed since `before` (the
/// same users and groups, read again now).
pub(super) async fn append_changes(
    conn: &mut SqliteConnection,
    directory_id: &str,
    dataset: i64,
    before: &Snapshot,
    users: &[&str],
    groups: &[&str],
) -> Result<(), StoreError> {
    let after = snapshot(conn, dataset, users, groups).await?;
    let at = timestamp(now());
    for event in changes(before, &after) {
        sqlx::query(
            "INSERT INTO events (type, directory_id, entity_id, version, occurred_at, data)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.event_type.as_str())
        .bind(directory_id)
        .bind(&event.entity_id)
        .bind(event.version)
        .bind(&at)
        .bind(stored_data(&event))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl SqliteStore {
    /// A page of events, rows and first-sync blocks merged, read in one
    /// snapshot.
    pub async fn events_page(&self, filter: &EventFilter<'_>) -> Result<Vec<EventRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let page = super::event_blocks::read_page(&mut *tx, filter).await?;
        tx.commit().await?;
        Ok(page)
    }

    /// The last position retention removed (0: none): a reader whose cursor
    /// is below it has missed events.
    pub async fn events_pruned_through(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT pruned_through FROM event_log_state WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Removes events older than `keep`; returns how many. Positions follow
    /// time, so the oldest are read in position order, a chunk at a time,
    /// up to the first one still young enough to keep.
    pub async fn prune_events(&self, keep: time::Duration) -> Result<u64, StoreError> {
        let cutoff = now() - keep;
        let mut tx = self.writer.begin().await?;
        let mut through = None;
        loop {
            let rows: Vec<(i64, String)> = sqlx::query_as(super::event_blocks::LOG_ENTRIES)
                .bind(through.unwrap_or(0))
                .bind(PRUNE_CHUNK as i64)
                .fetch_all(&mut *tx)
                .await?;
            let rows = rows
                .into_iter()
                .map(|(position, at)| Ok((position, super::parse_timestamp(&at)? < cutoff)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let (last_old, more) = leading_old(&rows);
            through = last_old.or(through);
            if !more {
                break;
            }
        }
        let Some(through) = through else {
            return Ok(0);
        };
        let mut removed = sqlx::query("DELETE FROM events WHERE position <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "DELETE FROM event_block_items WHERE dataset IN (SELECT dataset FROM event_blocks WHERE last_position <= $1)",
        )
        .bind(through)
        .execute(&mut *tx)
        .await?;
        removed += blocks_pruned(
            sqlx::query_as(
                "DELETE FROM event_blocks WHERE last_position <= $1 RETURNING first_position, last_position",
            )
            .bind(through)
            .fetch_all(&mut *tx)
            .await?,
        );
        sqlx::query("UPDATE event_log_state SET pruned_through = max(pruned_through, $1) WHERE id = 1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// How many events the pruned blocks `(first, last)` held.
pub(super) fn blocks_pruned(blocks: Vec<(i64, i64)>) -> u64 {
    blocks
        .iter()
        .map(|(first, last)| (last - first + 1).max(0) as u64)
        .sum()
}

/// Retention reads the oldest events this many at a time.
pub(super) const PRUNE_CHUNK: usize = 1000;

/// Of a chunk of `(position, older than the cutoff)` rows in position
/// order: the last position of the leading old ones, and whether the next
/// chunk may hold more (every row was old and the chunk was full).
pub(super) fn leading_old(rows: &[(i64, bool)]) -> (Option<i64>, bool) {
    let last_old = rows.iter().take_while(|(_, old)| *old).last().map(|(p, _)| *p);
    let more = rows.len() == PRUNE_CHUNK && rows.iter().all(|(_, old)| *old);
    (last_old, more)
}

/// A user as the event log describes it (both backends read the same row).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct UserSnap {
    pub okta_id: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: String,
    pub status: String,
    /// JSON text.
    pub profile: String,
    pub version: i64,
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct GroupSnap {
    pub okta_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub version: i64,
    pub removed: bool,
}

/// The records a single write may change, read before and after it: the
/// users and groups it names and every present membership of either.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub users: std::collections::BTreeMap<String, UserSnap>,
    pub groups: std::collections::BTreeMap<String, GroupSnap>,
    /// (group, user) pairs of present users in present groups.
    pub members: std::collections::BTreeSet<(String, String)>,
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewEvent {
    pub event_type: crate::model::EventType,
    pub entity_id: String,
    /// None: the position serves.
    pub version: Option<i64>,
    pub data: serde_json::Value,
}

impl UserSnap {
    pub(crate) fn data(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.okta_id,
            "login": self.login,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": self.display_name,
            "status": self.status,
            "state": if self.removed { "removed" } else { "present" },
            "profile": serde_json::from_str::<serde_json::Value>(&self.profile).unwrap_or(serde_json::Value::Null),
        })
    }
}

impl GroupSnap {
    pub(crate) fn data(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.okta_id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "state": if self.removed { "removed" } else { "present" },
        })
    }
}

/// What changed between two snapshots, as events, in the order a consumer
/// must apply them: membership removals first, then removals of users and
/// groups (a removed group's member removals before its `group.deleted`,
/// a deprovisioned user's before anything could show it present again),
/// then creations and updates, then membership additions.
pub(crate) fn changes(before: &Snapshot, after: &Snapshot) -> Vec<NewEvent> {
    use crate::model::EventType;
    let mut removed_members = Vec::new();
    let mut removals = Vec::new();
    let mut upserts = Vec::new();
    let mut added_members = Vec::new();
    let member = |event_type, (group, user): &(String, String)| NewEvent {
        event_type,
        entity_id: format!("{group}:{user}"),
        version: None,
        data: serde_json::json!({ "group_id": group, "user_id": user }),
    };
    for pair in before.members.difference(&after.members) {
        removed_members.push(member(EventType::GroupMemberRemoved, pair));
    }
    for pair in after.members.difference(&before.members) {
        added_members.push(member(EventType::GroupMemberAdded, pair));
    }
    for (id, now) in &after.users {
        let was = before.users.get(id).filter(|u| !u.removed);
        let event = |event_type| NewEvent {
            event_type,
            entity_id: id.clone(),
            version: Some(now.version),
            data: now.data(),
        };
        match (was, now.removed) {
            (None, false) => upserts.push(event(EventType::UserCreated)),
            (Some(_), true) => removals.push(event(EventType::UserDeprovisioned)),
            (None, true) => {}
            (Some(was), false) => {
                let mut changed = changed_fields(&was.data(), &now.data());
                changed.retain(|f| f != "status");
                let lifecycle = status_event(&was.status, &now.status);
                if let Some(lifecycle) = lifecycle {
                    let mut e = event(lifecycle);
                    if lifecycle == EventType::UserDeprovisioned {
                        removals.push(e);
                    } else {
                        e.data["previous_status"] = serde_json::json!(was.status);
                        upserts.push(e);
                    }
                } else if was.status != now.status {
                    changed.insert(0, "status".to_owned());
                }
                if !changed.is_empty() {
                    let mut e = event(EventType::UserUpdated);
                    e.data["changed"] = serde_json::json!(changed);
                    upserts.push(e);
                }
            }
        }
    }
    for (id, now) in &after.groups {
        let was = before.groups.get(id).filter(|g| !g.removed);
        let event = |event_type| NewEvent {
            event_type,
            entity_id: id.clone(),
            version: Some(now.version),
            data: now.data(),
        };
        match (was, now.removed) {
            (None, false) => upserts.push(event(EventType::GroupCreated)),
            (Some(_), true) => removals.push(event(EventType::GroupDeleted)),
            (None, true) => {}
            (Some(was), false) => {
                let changed = changed_fields(&was.data(), &now.data());
                if !changed.is_empty() {
                    let mut e = event(EventType::GroupUpdated);
                    e.data["changed"] = serde_json::json!(changed);
                    upserts.push(e);
                }
            }
        }
    }
    // A record erased outright (SCIM DELETE) is absent afterwards.
    for (id, was) in &before.users {
        if !was.removed && !after.users.contains_key(id) {
            let mut gone = was.clone();
            gone.removed = true;
            removals.push(NewEvent {
                event_type: EventType::UserDeprovisioned,
                entity_id: id.clone(),
                version: Some(was.version + 1),
                data: gone.data(),
            });
        }
    }
    removed_members
        .into_iter()
        .chain(removals)
        .chain(upserts)
        .chain(added_members)
        .collect()
}

/// What the `data` column holds: nothing for a membership event, whose data
/// the reads rebuild from its entity id.
pub(crate) fn stored_data(event: &NewEvent) -> Option<String> {
    use crate::model::EventType;
    match event.event_type {
        EventType::GroupMemberAdded | EventType::GroupMemberRemoved => None,
        _ => Some(event.data.to_string()),
    }
}

/// The lifecycle event a status change is, if it is one.
fn status_event(was: &str, now: &str) -> Option<crate::model::EventType> {
    use crate::model::EventType;
    if was == now {
        return None;
    }
    match now {
        "SUSPENDED" => Some(EventType::UserSuspended),
        "DEPROVISIONED" => Some(EventType::UserDeprovisioned),
        _ if matches!(was, "SUSPENDED" | "DEPROVISIONED") => Some(EventType::UserReactivated),
        _ => None,
    }
}

/// Names of the attributes that differ (`profile.<name>` inside the profile).
fn changed_fields(was: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let mut changed = Vec::new();
    let (Some(was), Some(now)) = (was.as_object(), now.as_object()) else {
        return changed;
    };
    for (key, value) in now {
        if key == "profile" {
            let empty = serde_json::Map::new();
            let old = was.get(key).and_then(|v| v.as_object()).unwrap_or(&empty);
            let new = value.as_object().unwrap_or(&empty);
            let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            changed.extend(
                names
                    .into_iter()
                    .filter(|k| old.get(*k) != new.get(*k))
                    .map(|k| format!("profile.{k}")),
            );
        } else if was.get(key) != Some(value) {
            changed.push(key.clone());
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_stops_at_the_first_young_event() {
        assert_eq!(leading_old(&[]), (None, false));
        assert_eq!(
            leading_old(&[(4, true), (5, true), (6, false), (7, true)]),
            (Some(5), false)
        );
        assert_eq!(leading_old(&[(4, false)]), (None, false));
        let full: Vec<(i64, bool)> = (1..=PRUNE_CHUNK as i64).map(|p| (p, true)).collect();
        assert_eq!(leading_old(&full), (Some(PRUNE_CHUNK as i64), true));
    }
    use crate::model::EventType;

    fn user(id: &str, status: &str, removed: bool, version: i64) -> UserSnap {
        UserSnap {
            okta_id: id.into(),
            login: format!("{id}@example.com"),
            email: None,
            first_name: None,
            last_name: None,
            display_name: id.into(),
            status: status.into(),
            profile: r#"{"department":"Eng"}"#.into(),
            version,
            removed,
        }
    }

    fn types(events: &[NewEvent]) -> Vec<EventType> {
        events.iter().map(|e| e.event_type).collect()
    }

    #[test]
    fn a_deprovisioning_removes_memberships_first() {
        let mut before = Snapshot::default();
        before.users.insert("u1".into(), user("u1", "ACTIVE", false, 3));
        before.members.insert(("g1".into(), "u1".into()));
        let mut after = Snapshot::default();
        after.users.insert("u1".into(), user("u1", "ACTIVE", true, 4));
        let events = changes(&before, &after);
        assert_eq!(
            types(&events),
            [EventType::GroupMemberRemoved, EventType::UserDeprovisioned]
        );
        assert_eq!(events[1].version, Some(4));
        assert_eq!(events[1].data["state"], "removed");
        assert_eq!(events[0].entity_id, "g1:u1");
    }

    #[test]
    fn status_changes_are_lifecycle_events_and_attributes_are_named() {
        let mut before = Snapshot::default();
        before.users.insert("u1".into(), user("u1", "ACTIVE", false, 1));
        let mut after = Snapshot::default();
        let mut suspended = user("u1", "SUSPENDED", false, 2);
        suspended.profile = r#"{"department":"Sales"}"#.into();
        suspended.email = Some("new@example.com".into());
        after.users.insert("u1".into(), suspended);
        let events = changes(&before, &after);
        assert_eq!(types(&events), [EventType::UserSuspended, EventType::UserUpdated]);
        assert_eq!(
            events[1].data["changed"],
            serde_json::json!(["email", "profile.department"])
        );
        assert_eq!(events[0].data["previous_status"], "ACTIVE");
        // Back to ACTIVE: reactivated; a new user: created; no change: nothing.
        let back = changes(&after, &before);
        assert_eq!(types(&back)[0], EventType::UserReactivated);
        assert!(changes(&before, &before).is_empty());
        let created = changes(&Snapshot::default(), &before);
        assert_eq!(types(&created), [EventType::UserCreated]);
    }

    #[test]
    fn a_deleted_groups_members_go_before_it() {
        let group = |removed| GroupSnap {
            okta_id: "g1".into(),
            name: "Eng".into(),
            description: None,
            kind: "OKTA_GROUP".into(),
            version: 1,
            removed,
        };
        let mut before = Snapshot::default();
        before.groups.insert("g1".into(), group(false));
        before.members.insert(("g1".into(), "u1".into()));
        before.members.insert(("g1".into(), "u2".into()));
        let mut after = Snapshot::default();
        after.groups.insert("g1".into(), group(true));
        assert_eq!(
            types(&changes(&before, &after)),
            [
                EventType::GroupMemberRemoved,
                EventType::GroupMemberRemoved,
                EventType::GroupDeleted
            ]
        );
    }
}
