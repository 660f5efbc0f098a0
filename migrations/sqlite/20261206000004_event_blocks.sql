-- A first sync's records as events, without a row each in `events`: the
-- first sync writes one narrow item per record while it fetches (its
-- dataset is not live, so nobody sees them), and its commit reserves a block
-- of positions after every committed event (SQLite runs one writer at a time)
-- and records it here. The block's events are its groups (`group.created`),
-- then its users (`user.created`), then its memberships
-- (`group.member_added`), at `first_position + <kind's start> + ordinal`; their
-- data is read from the records as they are (the "current representation").
CREATE TABLE event_blocks (
    first_position INTEGER PRIMARY KEY,
    last_position  INTEGER NOT NULL,
    directory_id   TEXT NOT NULL,
    dataset        INTEGER NOT NULL,
    -- Offsets of the users and of the memberships within the block.
    users_at       INTEGER NOT NULL,
    members_at     INTEGER NOT NULL,
    occurred_at    TEXT NOT NULL
);

-- kind: 0 group, 1 user, 2 membership ("<group>:<user>"). A membership
-- listing Okta repeats replaces its items, so ordinals may have gaps; positions
-- may too, never a repeat.
CREATE TABLE event_block_items (
    dataset   INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    kind      INTEGER NOT NULL,
    ordinal   INTEGER NOT NULL,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (dataset, kind, ordinal)
) WITHOUT ROWID;
