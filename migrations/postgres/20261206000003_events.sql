-- The change log downstream apps read (the events API, `roster events tail`,
-- webhooks): one row per change, written by the transaction that makes the
-- change. Every transaction that appends events first takes one
-- transaction-scoped advisory lock, held until it commits, so positions are
-- drawn by one transaction at a time, in the order they commit: paging by
-- position never skips an event that commits late (a rollback leaves a gap,
-- never a late smaller position). No foreign key to `directories`: a
-- directory's events outlive it (`directory.deleted` is one of them).
CREATE TABLE events (
    position     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         text NOT NULL,
    directory_id uuid NOT NULL,
    entity_id    text NOT NULL,
    version      bigint,
    occurred_at  timestamptz NOT NULL,
    -- NULL for a membership event: its data are the entity id's two halves.
    data         jsonb
);
-- Retention prunes from the oldest position on: no index on occurred_at.
CREATE INDEX events_by_directory ON events (directory_id, position);

CREATE TABLE event_log_state (
    id              integer PRIMARY KEY CHECK (id = 1),
    pruned_through  bigint NOT NULL
);
INSERT INTO event_log_state (id, pruned_through) VALUES (1, 0);
