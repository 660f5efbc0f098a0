//! A first sync's records as events, at the cost of one narrow item per
//! record instead of a row each in `events` (which cost PostgreSQL 4 s at
//! commit for a 100 000-user org, under the events lock).
//!
//! The first sync writes its items while it fetches, into a dataset nobody
//! reads yet: one per group, user and membership. Its commit reserves a block
//! of positions the way any append draws one (after every committed event,
//! under the events lock on PostgreSQL, by the one writer on SQLite) and
//! records the block in `event_blocks`; so the cursor's guarantee holds for
//! blocks as it does for rows. A block's events are its groups'
//! `group.created`, then its users' `user.created`, then its memberships'
//! `group.member_added`, each at `first_position + <its kind's start> + ordinal`,
//! and their data is read from the records as they are now (the entity's
//! current representation, as the issue asks of every event).
//!
//! A page is read in one snapshot (a read transaction): rows and blocks
//! interleave by position, and a block committed between two of the page's
//! queries would otherwise be stepped over.

use super::{
    events::{GroupSnap, UserSnap},
    EventFilter, EventRow, StoreError,
};
use crate::model::EventType;
use sqlx::SqliteConnection;
use std::collections::HashMap;

/// A block of a first sync's events.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct EventBlock {
    pub first_position: i64,
    pub last_position: i64,
    pub directory_id: String,
    pub dataset: i64,
    /// Offsets of the users and of the memberships within the block.
    pub users_at: i64,
    pub members_at: i64,
    pub occurred_at: String,
}

/// What an item stands for, in the block's order: a consumer learns of a
/// group and a user before their membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Group,
    User,
    Member,
}

impl BlockKind {
    const ALL: [BlockKind; 3] = [BlockKind::Group, BlockKind::User, BlockKind::Member];

    /// The `kind` column's value.
    pub fn code(self) -> i16 {
        match self {
            BlockKind::Group => 0,
            BlockKind::User => 1,
            BlockKind::Member => 2,
        }
    }

    fn event_type(self) -> EventType {
        match self {
            BlockKind::Group => EventType::GroupCreated,
            BlockKind::User => EventType::UserCreated,
            BlockKind::Member => EventType::GroupMemberAdded,
        }
    }
}

impl EventBlock {
    /// The first and last position of `kind`'s events (last < first: none).
    fn span(&self, kind: BlockKind) -> (i64, i64) {
        let first = self.first_position;
        match kind {
            BlockKind::Group => (first, first + self.users_at - 1),
            BlockKind::User => (first + self.users_at, first + self.members_at - 1),
            BlockKind::Member => (first + self.members_at, self.last_position),
        }
    }
}

/// How many items of each kind a first sync wrote, counted at its commit; a
/// kind's count is one past its greatest ordinal (a replaced membership
/// listing leaves gaps, which become unused positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BlockSize {
    pub groups: i64,
    pub users: i64,
    pub members: i64,
}

impl BlockSize {
    pub fn total(&self) -> i64 {
        self.groups + self.users + self.members
    }

    /// The block these items take from `first_position` on.
    pub fn block(&self, first_position: i64, directory_id: &str, dataset: i64, at: &str) -> EventBlock {
        EventBlock {
            first_position,
            last_position: first_position + self.total() - 1,
            directory_id: directory_id.to_owned(),
            dataset,
            users_at: self.groups,
            members_at: self.groups + self.users,
            occurred_at: at.to_owned(),
        }
    }
}

/// The queries a page of events needs, on one connection in one snapshot.
pub(crate) trait EventReader {
    /// Plain rows with positions in `from..=to` that pass the filter.
    async fn rows(
        &mut self,
        from: i64,
        to: i64,
        limit: i64,
        descending: bool,
        filter: &EventFilter<'_>,
    ) -> Result<Vec<EventRow>, StoreError>;
    /// The first block (the last, descending) with positions in `from..=to`.
    async fn block(&mut self, from: i64, to: i64, descending: bool)
        -> Result<Option<EventBlock>, StoreError>;
    /// `(ordinal, entity id)` of a dataset's items of `kind` with the ordinal in
    /// `from..=to`.
    async fn items(
        &mut self,
        dataset: i64,
        kind: BlockKind,
        from: i64,
        to: i64,
        limit: i64,
        descending: bool,
    ) -> Result<Vec<(i64, String)>, StoreError>;
    async fn users(&mut self, dataset: i64, ids: &[&str]) -> Result<Vec<UserSnap>, StoreError>;
    async fn groups(&mut self, dataset: i64, ids: &[&str]) -> Result<Vec<GroupSnap>, StoreError>;
}

/// A page of events, rows and blocks merged by position.
pub(crate) async fn read_page<R: EventReader>(
    reader: &mut R,
    filter: &EventFilter<'_>,
) -> Result<Vec<EventRow>, StoreError> {
    let limit = usize::try_from(filter.limit).unwrap_or(0);
    let descending = filter.newest;
    let (mut from, mut to) = (
        if descending {
            1
        } else {
            filter.after.saturating_add(1)
        },
        filter.through.unwrap_or(i64::MAX),
    );
    let mut page = Vec::new();
    while from <= to && page.len() < limit {
        let block = reader.block(from, to, descending).await?;
        // The rows on this side of the block (or all that are left).
        let (rows_from, rows_to) = match &block {
            None => (from, to),
            Some(b) if descending => (b.last_position + 1, to),
            Some(b) => (from, b.first_position - 1),
        };
        if rows_from <= rows_to {
            let need = (limit - page.len()) as i64;
            page.extend(reader.rows(rows_from, rows_to, need, descending, filter).await?);
        }
        let Some(block) = block else { break };
        let wanted = filter.directory_ids.is_empty() || filter.directory_ids.contains(&block.directory_id);
        if wanted && page.len() < limit {
            let range = (from.max(block.first_position), to.min(block.last_position));
            let need = limit - page.len();
            page.extend(block_events(reader, &block, range, need, descending, filter.types).await?);
        }
        if descending {
            to = block.first_position - 1;
        } else {
            from = block.last_position + 1;
        }
    }
    page.truncate(limit);
    Ok(page)
}

/// Up to `limit` of a block's events with positions in `range`.
async fn block_events<R: EventReader>(
    reader: &mut R,
    block: &EventBlock,
    (from, to): (i64, i64),
    limit: usize,
    descending: bool,
    types: &[String],
) -> Result<Vec<EventRow>, StoreError> {
    let mut kinds = BlockKind::ALL;
    if descending {
        kinds.reverse();
    }
    let mut events = Vec::new();
    for kind in kinds {
        let (start, end) = block.span(kind);
        let (lo, hi) = (from.max(start), to.min(end));
        let wanted = types.is_empty() || types.iter().any(|t| t == kind.event_type().as_str());
        if !wanted || lo > hi || events.len() >= limit {
            continue;
        }
        let need = (limit - events.len()) as i64;
        let items = reader
            .items(block.dataset, kind, lo - start, hi - start, need, descending)
            .await?;
        let ids: Vec<&str> = items.iter().map(|(_, id)| id.as_str()).collect();
        let records = match kind {
            BlockKind::User => reader
                .users(block.dataset, &ids)
                .await?
                .into_iter()
                .map(|u| (u.okta_id.clone(), (u.data(), u.version)))
                .collect(),
            BlockKind::Group => reader
                .groups(block.dataset, &ids)
                .await?
                .into_iter()
                .map(|g| (g.okta_id.clone(), (g.data(), g.version)))
                .collect(),
            BlockKind::Member => HashMap::new(),
        };
        for (ordinal, entity_id) in &items {
            let position = start + ordinal;
            let (data, version) = match kind {
                BlockKind::Member => {
                    let (group, user) = entity_id.split_once(':').unwrap_or((entity_id, ""));
                    (
                        serde_json::json!({ "group_id": group, "user_id": user }),
                        position,
                    )
                }
                // Erased since (a SCIM DELETE): only its id is known.
                _ => records.get(entity_id).cloned().unwrap_or_else(|| {
                    (
                        serde_json::json!({ "id": entity_id, "state": "removed" }),
                        position,
                    )
                }),
            };
            events.push(EventRow {
                position,
                event_type: kind.event_type().as_str().to_owned(),
                directory_id: block.directory_id.clone(),
                entity_id: entity_id.clone(),
                version,
                occurred_at: block.occurred_at.clone(),
                data: data.to_string(),
            });
        }
    }
    Ok(events)
}

/// The greatest position handed out, by a row or a block (0: none).
pub(super) const LAST_POSITION: &str = "max(coalesce((SELECT max(position) FROM events), 0),
    coalesce((SELECT max(last_position) FROM event_blocks), 0))";

/// Retention's view of the log: a row's position or a block's last, and
/// when it happened, in position order.
pub(super) const LOG_ENTRIES: &str = "SELECT position, occurred_at FROM events WHERE position > $1
    UNION ALL SELECT last_position, occurred_at FROM event_blocks WHERE last_position > $1
    ORDER BY 1 LIMIT $2";

/// Adds the groups' items (the users' and memberships' were written during
/// the fetch) and reserves the block of a first sync's events; call in the
/// commit's transaction, before its `sync.succeeded`.
pub(super) async fn append_first_sync_block(
    conn: &mut SqliteConnection,
    directory_id: &str,
    dataset: i64,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO event_block_items (dataset, kind, ordinal, entity_id)
         SELECT dataset, 0, row_number() OVER (ORDER BY okta_id) - 1, okta_id
         FROM directory_groups WHERE dataset = $1 ORDER BY okta_id",
    )
    .bind(dataset)
    .execute(&mut *conn)
    .await?;
    let size = sqlite_block_size(conn, dataset).await?;
    if size.total() == 0 {
        return Ok(());
    }
    // AUTOINCREMENT hands out one past `sqlite_sequence` (or the greatest
    // row): move it past the block so rows after it follow it.
    let last_handed_out: i64 = sqlx::query_scalar(&format!(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), {LAST_POSITION})"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let block = size.block(last_handed_out + 1, directory_id, dataset, at);
    let moved = sqlx::query("UPDATE sqlite_sequence SET seq = $1 WHERE name = 'events'")
        .bind(block.last_position)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if moved == 0 {
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', $1)")
            .bind(block.last_position)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO event_blocks (first_position, last_position, directory_id, dataset, users_at, members_at, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(block.first_position)
    .bind(block.last_position)
    .bind(&block.directory_id)
    .bind(block.dataset)
    .bind(block.users_at)
    .bind(block.members_at)
    .bind(&block.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn sqlite_block_size(conn: &mut SqliteConnection, dataset: i64) -> Result<BlockSize, StoreError> {
    let mut counts = [0_i64; 3];
    for kind in BlockKind::ALL {
        counts[kind.code() as usize] = sqlx::query_scalar(
            "SELECT coalesce(max(ordinal) + 1, 0) FROM event_block_items WHERE dataset = $1 AND kind = $2",
        )
        .bind(dataset)
        .bind(kind.code())
        .fetch_one(&mut *conn)
        .await?;
    }
    Ok(BlockSize {
        groups: counts[0],
        users: counts[1],
        members: counts[2],
    })
}

impl EventReader for SqliteConnection {
    async fn rows(
        &mut self,
        from: i64,
        to: i64,
        limit: i64,
        descending: bool,
        filter: &EventFilter<'_>,
    ) -> Result<Vec<EventRow>, StoreError> {
        let json = |v: &[String]| serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()));
        let order = if descending { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT position, type, directory_id, entity_id, coalesce(version, position) AS version,
                    occurred_at,
                    coalesce(data, json_object('group_id', substr(entity_id, 1, instr(entity_id, ':') - 1),
                                               'user_id', substr(entity_id, instr(entity_id, ':') + 1))) AS data
             FROM events
             WHERE position BETWEEN $1 AND $2
               AND ($3 = '[]' OR type IN (SELECT value FROM json_each($3)))
               AND ($4 = '[]' OR directory_id IN (SELECT value FROM json_each($4)))
             ORDER BY position {order} LIMIT $5"
        ))
        .bind(from)
        .bind(to)
        .bind(json(filter.types)?)
        .bind(json(filter.directory_ids)?)
        .bind(limit)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn block(
        &mut self,
        from: i64,
        to: i64,
        descending: bool,
    ) -> Result<Option<EventBlock>, StoreError> {
        let order = if descending { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT first_position, last_position, directory_id, dataset, users_at, members_at, occurred_at
             FROM event_blocks WHERE last_position >= $1 AND first_position <= $2
             ORDER BY first_position {order} LIMIT 1"
        ))
        .bind(from)
        .bind(to)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn items(
        &mut self,
        dataset: i64,
        kind: BlockKind,
        from: i64,
        to: i64,
        limit: i64,
        descending: bool,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let order = if descending { "DESC" } else { "ASC" };
        Ok(sqlx::query_as(&format!(
            "SELECT ordinal, entity_id FROM event_block_items
             WHERE dataset = $1 AND kind = $2 AND ordinal BETWEEN $3 AND $4
             ORDER BY ordinal {order} LIMIT $5"
        ))
        .bind(dataset)
        .bind(kind.code())
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn users(&mut self, dataset: i64, ids: &[&str]) -> Result<Vec<UserSnap>, StoreError> {
        super::events::user_snaps(self, dataset, ids).await
    }

    async fn groups(&mut self, dataset: i64, ids: &[&str]) -> Result<Vec<GroupSnap>, StoreError> {
        super::events::group_snaps(self, dataset, ids).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_places_groups_then_users_then_memberships() {
        let size = BlockSize {
            groups: 2,
            users: 3,
            members: 4,
        };
        let block = size.block(10, "d", 1, "t");
        assert_eq!(block.last_position, 18);
        assert_eq!(block.span(BlockKind::Group), (10, 11));
        assert_eq!(block.span(BlockKind::User), (12, 14));
        assert_eq!(block.span(BlockKind::Member), (15, 18));
        let empty_users = BlockSize { users: 0, ..size }.block(10, "d", 1, "t");
        let (first, last) = empty_users.span(BlockKind::User);
        assert!(last < first);
    }
}
