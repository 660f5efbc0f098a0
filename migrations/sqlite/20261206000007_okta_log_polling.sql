-- System Log polling, the pull way to near-real-time deprovisioning: per
-- directory, whether and how often Roster reads Okta's System Log, and the
-- durable cursor. `cursor_at` is the newest `published` time read (events up
-- to it are queued for a refresh); each poll re-reads from `reread_from`
-- (the cursor minus an overlap, for Okta's late-arriving events), the event
-- uuids telling repeats apart. `covered_since` is where the unbroken reading
-- starts: at or before `reconciled_at` (the start of the last full sync that
-- succeeded), the log accounts for every change since, and a scheduled sync
-- may fetch only what it names. `state` is off | healthy | failing | gap.
CREATE TABLE okta_log_polling (
    directory_id   TEXT PRIMARY KEY REFERENCES directories (id) ON DELETE CASCADE,
    enabled        INTEGER NOT NULL DEFAULT 0,
    interval_secs  INTEGER NOT NULL DEFAULT 60,
    reconcile_secs INTEGER NOT NULL DEFAULT 86400,
    state          TEXT NOT NULL DEFAULT 'off' CHECK (state IN ('off', 'healthy', 'failing', 'gap')),
    cursor_at      TEXT,
    reread_from    TEXT,
    covered_since  TEXT,
    reconciled_at  TEXT,
    next_poll_at   TEXT,
    last_poll_at   TEXT,
    last_events    INTEGER NOT NULL DEFAULT 0,
    polls          INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    gap_reason     TEXT,
    updated_at     TEXT NOT NULL
);

-- When a seen event was published: a poller's overlap re-reads events, and
-- their uuids are kept while they can still be re-read.
ALTER TABLE okta_hook_events ADD COLUMN published TEXT;

-- A scheduled sync with a healthy System Log cursor fetches only what the
-- log names ('incremental'); every other sync lists everything ('full').
ALTER TABLE sync_runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental'));
