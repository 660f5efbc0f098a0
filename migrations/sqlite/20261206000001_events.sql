-- The change log downstream apps read (the events API, `roster events tail`,
-- webhooks): one row per change, written by the transaction that makes the
-- change. SQLite runs one writer at a time, so a transaction's positions come
-- after every committed one: paging by position never skips an event that
-- commits late. AUTOINCREMENT: positions are never reused after a prune.
CREATE TABLE events (
    position     INTEGER PRIMARY KEY AUTOINCREMENT,
    type         TEXT NOT NULL,
    directory_id TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    -- The entity's own version where it has one (users, groups); else NULL
    -- and the position serves.
    version      INTEGER,
    occurred_at  TEXT NOT NULL,
    -- NULL for a membership event: its data, the group and user ids, are
    -- the entity id's two halves (a first sync writes hundreds of thousands).
    data         TEXT
);
-- Retention prunes from the oldest position on (positions follow time), so
-- no index on occurred_at: each event costs one index entry less to write.
CREATE INDEX events_by_directory ON events (directory_id, position);

-- How far retention has pruned: a cursor below it has missed events.
CREATE TABLE event_log_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through  INTEGER NOT NULL
);
INSERT INTO event_log_state (id, pruned_through) VALUES (1, 0);
