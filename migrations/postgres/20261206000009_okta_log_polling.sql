-- System Log polling and its cursor (see SQLite's migration of the same name).
CREATE TABLE okta_log_polling (
    directory_id   uuid PRIMARY KEY REFERENCES directories (id) ON DELETE CASCADE,
    enabled        boolean NOT NULL DEFAULT false,
    interval_secs  bigint NOT NULL DEFAULT 60,
    reconcile_secs bigint NOT NULL DEFAULT 86400,
    state          text NOT NULL DEFAULT 'off' CHECK (state IN ('off', 'healthy', 'failing', 'gap')),
    cursor_at      timestamptz,
    reread_from    timestamptz,
    covered_since  timestamptz,
    reconciled_at  timestamptz,
    next_poll_at   timestamptz,
    last_poll_at   timestamptz,
    last_events    bigint NOT NULL DEFAULT 0,
    polls          bigint NOT NULL DEFAULT 0,
    last_error     text,
    gap_reason     text,
    updated_at     timestamptz NOT NULL
);

ALTER TABLE okta_hook_events ADD COLUMN published timestamptz;

ALTER TABLE sync_runs ADD COLUMN mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental'));
