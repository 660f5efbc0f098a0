-- Webhook endpoints: where Roster posts the event log. Each endpoint keeps
-- its own cursor, delivered_through (the last event position it has been
-- sent, or passed over because its filters do not want it), and is delivered to by one process at
-- a time (the lease), one batch in flight, so its events arrive in order.
CREATE TABLE webhook_endpoints (
    id                     TEXT PRIMARY KEY,
    url                    TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    -- JSON arrays; [] means every event type / every directory.
    event_types            TEXT NOT NULL DEFAULT '[]',
    directory_ids          TEXT NOT NULL DEFAULT '[]',
    enabled                INTEGER NOT NULL,
    -- Sealed with the master key; the previous secret still signs (beside
    -- the new one) until previous_secret_until, so receivers can roll over.
    secret_sealed          TEXT NOT NULL,
    previous_secret_sealed TEXT,
    previous_secret_until  TEXT,
    delivered_through      INTEGER NOT NULL,
    -- Consecutive failed attempts of the batch at the cursor, since when.
    failures               INTEGER NOT NULL DEFAULT 0,
    failing_since          TEXT,
    next_attempt_at        TEXT NOT NULL,
    disabled_reason        TEXT,
    disabled_at            TEXT,
    lease_holder           TEXT,
    lease_until            TEXT,
    last_success_at        TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);

-- One row per attempt (and per test event): what an admin reads to debug.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempted_at     TEXT NOT NULL,
    kind             TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    first_position   INTEGER,
    last_position    INTEGER,
    event_count      INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    response_snippet TEXT
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
