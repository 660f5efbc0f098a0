-- Webhook endpoints: where Roster posts the event log. Each endpoint keeps
-- its own cursor, delivered_through (the last event position it has been
-- sent, or passed over because its filters do not want it), and is delivered to by one replica at
-- a time (the lease), one batch in flight, so its events arrive in order.
CREATE TABLE webhook_endpoints (
    id                     uuid PRIMARY KEY,
    url                    text NOT NULL,
    description            text NOT NULL DEFAULT '',
    -- [] means every event type / every directory.
    event_types            jsonb NOT NULL DEFAULT '[]',
    directory_ids          jsonb NOT NULL DEFAULT '[]',
    enabled                boolean NOT NULL,
    -- Sealed with the master key; the previous secret still signs (beside
    -- the new one) until previous_secret_until, so receivers can roll over.
    secret_sealed          text NOT NULL,
    previous_secret_sealed text,
    previous_secret_until  timestamptz,
    delivered_through      bigint NOT NULL,
    -- Consecutive failed attempts of the batch at the cursor, since when.
    failures               integer NOT NULL DEFAULT 0,
    failing_since          timestamptz,
    next_attempt_at        timestamptz NOT NULL,
    disabled_reason        text,
    disabled_at            timestamptz,
    lease_holder           text,
    lease_until            timestamptz,
    last_success_at        timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);

-- One row per attempt (and per test event): what an admin reads to debug.
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL,
    kind             text NOT NULL,
    attempt          integer NOT NULL,
    first_position   bigint,
    last_position    bigint,
    event_count      integer NOT NULL,
    outcome          text NOT NULL,
    status_code      integer,
    latency_ms       bigint NOT NULL,
    error            text,
    response_snippet text
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
