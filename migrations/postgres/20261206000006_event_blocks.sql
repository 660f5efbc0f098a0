-- A first sync's records as events, without a row each in `events` (see
-- SQLite's migration of the same name): items written during the fetch into
-- a dataset nobody reads yet, and one block of positions reserved at commit
-- under the events lock, so a block commits like any other append.
CREATE TABLE event_blocks (
    first_position bigint PRIMARY KEY,
    last_position  bigint NOT NULL,
    directory_id   uuid NOT NULL,
    dataset        bigint NOT NULL,
    users_at       bigint NOT NULL,
    members_at     bigint NOT NULL,
    occurred_at    timestamptz NOT NULL
);

-- No foreign key (see `dataset_rows`): the items go with their dataset
-- through `drop_dataset_rows`.
CREATE TABLE event_block_items (
    dataset   bigint NOT NULL,
    kind      smallint NOT NULL,
    ordinal   bigint NOT NULL,
    entity_id text NOT NULL,
    PRIMARY KEY (dataset, kind, ordinal)
);

CREATE OR REPLACE FUNCTION drop_dataset_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM directory_memberships WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_user_groups WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_user_group_counts WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_user_events WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_groups WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_users WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM event_block_items WHERE dataset IN (SELECT key FROM dropped);
    RETURN NULL;
END
$$;
