-- Okta Event Hooks: per directory, the header Okta sends with every delivery
-- (Okta signs nothing: a static secret in an admin-chosen header, compared in
-- constant time by its hash; sealed too, so the set-up page can show it).
CREATE TABLE okta_event_hooks (
    directory_id     TEXT PRIMARY KEY REFERENCES directories (id) ON DELETE CASCADE,
    header_name      TEXT NOT NULL,
    secret_hash      TEXT NOT NULL,
    secret_sealed    TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    verified_at      TEXT,
    last_delivery_at TEXT,
    deliveries       INTEGER NOT NULL DEFAULT 0
);

-- Okta event uuids already received: a delivery Okta repeats is dropped.
CREATE TABLE okta_hook_events (
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    uuid         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (directory_id, uuid)
) WITHOUT ROWID;

-- Records to re-read from Okta (a targeted refresh), one row per record:
-- triggers for the same record coalesce into it. Each trigger moves `due_at`
-- a moment later (a burst is refreshed once it quiets down), but never past
-- `due_by`, a bound set by the first trigger. A worker claims rows
-- (claimed_by/claimed_until); a trigger arriving while a row is claimed
-- sets `requeued`, so the record is read again after the refresh in flight.
CREATE TABLE refresh_queue (
    directory_id  TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    entity_id     TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    due_by        TEXT NOT NULL,
    queued_at     TEXT NOT NULL,
    claimed_by    TEXT,
    claimed_until TEXT,
    requeued      INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (directory_id, kind, entity_id)
);
CREATE INDEX refresh_queue_due ON refresh_queue (due_at);
