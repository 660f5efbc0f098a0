-- Okta Event Hooks and the refresh queue (see SQLite's migration of the
-- same name).
CREATE TABLE okta_event_hooks (
    directory_id     uuid PRIMARY KEY REFERENCES directories (id) ON DELETE CASCADE,
    header_name      text NOT NULL,
    secret_hash      text NOT NULL,
    secret_sealed    text NOT NULL,
    created_at       timestamptz NOT NULL,
    verified_at      timestamptz,
    last_delivery_at timestamptz,
    deliveries       bigint NOT NULL DEFAULT 0
);

CREATE TABLE okta_hook_events (
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    uuid         text NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (directory_id, uuid)
);

CREATE TABLE refresh_queue (
    directory_id  uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('user', 'group')),
    entity_id     text NOT NULL,
    due_at        timestamptz NOT NULL,
    due_by        timestamptz NOT NULL,
    queued_at     timestamptz NOT NULL,
    claimed_by    text,
    claimed_until timestamptz,
    requeued      boolean NOT NULL DEFAULT false,
    attempts      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (directory_id, kind, entity_id)
);
CREATE INDEX refresh_queue_due ON refresh_queue (due_at);
