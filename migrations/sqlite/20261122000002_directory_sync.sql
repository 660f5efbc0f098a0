-- Okta directory sync: configuration, keys, synced records, runs, staging.

ALTER TABLE directories ADD COLUMN okta_origin TEXT NOT NULL DEFAULT '';
ALTER TABLE directories ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE directories ADD COLUMN app_id TEXT;
ALTER TABLE directories ADD COLUMN app_label TEXT;
-- 'draft' while the wizard runs; 'active' once created.
ALTER TABLE directories ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE directories ADD COLUMN sync_interval_secs INTEGER NOT NULL DEFAULT 7200;
ALTER TABLE directories ADD COLUMN rate_limit_share REAL NOT NULL DEFAULT 0.5;
ALTER TABLE directories ADD COLUMN breaker_threshold REAL NOT NULL DEFAULT 0.2;
ALTER TABLE directories ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directories ADD COLUMN paused_reason TEXT;
ALTER TABLE directories ADD COLUMN dpop_required INTEGER;
-- What the last successful verify checked; any change to domain, client id,
-- key or app makes it stale.
ALTER TABLE directories ADD COLUMN verified_fingerprint TEXT;
ALTER TABLE directories ADD COLUMN verified_at TEXT;
ALTER TABLE directories ADD COLUMN next_sync_at TEXT;
ALTER TABLE directories ADD COLUMN last_success_at TEXT;
ALTER TABLE directories ADD COLUMN failing_since TEXT;
ALTER TABLE directories ADD COLUMN updated_at TEXT;

CREATE INDEX directories_due ON directories (state, paused, next_sync_at);

CREATE TABLE directory_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    directory_id   TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    kid            TEXT NOT NULL,
    -- 'client' authenticates to Okta; 'dpop' signs DPoP proofs.
    purpose        TEXT NOT NULL,
    -- 'active', 'next' (published, used after the next successful verify), 'retired'
    state          TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    sealed_private TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    retired_at     TEXT
);
CREATE INDEX directory_keys_by_directory ON directory_keys (directory_id, purpose, state);

CREATE TABLE directory_users (
    directory_id      TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    okta_id           TEXT NOT NULL,
    login             TEXT NOT NULL,
    email             TEXT,
    first_name        TEXT,
    last_name         TEXT,
    display_name      TEXT NOT NULL,
    status            TEXT NOT NULL,
    suspended         INTEGER NOT NULL DEFAULT 0,
    profile           TEXT NOT NULL,
    okta_last_updated TEXT,
    content_hash      TEXT NOT NULL,
    first_seen_at     TEXT NOT NULL,
    last_seen_at      TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    deleted_at        TEXT,
    PRIMARY KEY (directory_id, okta_id)
);
CREATE INDEX directory_users_by_name ON directory_users (directory_id, deleted_at, display_name, okta_id);
CREATE INDEX directory_users_by_email ON directory_users (directory_id, email);
CREATE INDEX directory_users_by_login ON directory_users (directory_id, login);
CREATE INDEX directory_users_by_status ON directory_users (directory_id, status);

CREATE TABLE directory_groups (
    directory_id                 TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    okta_id                      TEXT NOT NULL,
    name                         TEXT NOT NULL,
    description                  TEXT,
    kind                         TEXT NOT NULL,
    okta_last_updated            TEXT,
    okta_last_membership_updated TEXT,
    content_hash                 TEXT NOT NULL,
    first_seen_at                TEXT NOT NULL,
    last_seen_at                 TEXT NOT NULL,
    updated_at                   TEXT NOT NULL,
    deleted_at                   TEXT,
    PRIMARY KEY (directory_id, okta_id)
);
CREATE INDEX directory_groups_by_name ON directory_groups (directory_id, deleted_at, name, okta_id);

-- Okta group membership of assigned groups (members may or may not be
-- assigned to the app themselves; readers join with live users).
CREATE TABLE directory_memberships (
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    group_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    PRIMARY KEY (directory_id, group_id, user_id)
);
CREATE INDEX directory_memberships_by_user ON directory_memberships (directory_id, user_id);

CREATE TABLE sync_runs (
    id                  TEXT PRIMARY KEY NOT NULL,
    directory_id        TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    trigger             TEXT NOT NULL,
    -- 'running', 'succeeded', 'failed', 'needs_confirmation', 'discarded'
    status              TEXT NOT NULL,
    phase               TEXT NOT NULL,
    started_at          TEXT NOT NULL,
    finished_at         TEXT,
    api_calls           INTEGER NOT NULL DEFAULT 0,
    pages               INTEGER NOT NULL DEFAULT 0,
    rate_limited        INTEGER NOT NULL DEFAULT 0,
    paced_waits         INTEGER NOT NULL DEFAULT 0,
    waited_ms           INTEGER NOT NULL DEFAULT 0,
    retries             INTEGER NOT NULL DEFAULT 0,
    users_fetched       INTEGER NOT NULL DEFAULT 0,
    groups_fetched      INTEGER NOT NULL DEFAULT 0,
    groups_skipped      INTEGER NOT NULL DEFAULT 0,
    users_added         INTEGER NOT NULL DEFAULT 0,
    users_updated       INTEGER NOT NULL DEFAULT 0,
    users_removed       INTEGER NOT NULL DEFAULT 0,
    groups_added        INTEGER NOT NULL DEFAULT 0,
    groups_updated      INTEGER NOT NULL DEFAULT 0,
    groups_removed      INTEGER NOT NULL DEFAULT 0,
    memberships_added   INTEGER NOT NULL DEFAULT 0,
    memberships_removed INTEGER NOT NULL DEFAULT 0,
    diff_sample         TEXT,
    error_code          TEXT,
    error_class         TEXT,
    error_message       TEXT,
    error_hint          TEXT
);
CREATE INDEX sync_runs_by_directory ON sync_runs (directory_id, started_at);
CREATE INDEX sync_runs_by_status ON sync_runs (status);

-- Everything a run fetched, before it is applied in one transaction.
CREATE TABLE sync_staging_users (
    run_id            TEXT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    okta_id           TEXT NOT NULL,
    login             TEXT NOT NULL,
    email             TEXT,
    first_name        TEXT,
    last_name         TEXT,
    display_name      TEXT NOT NULL,
    status            TEXT NOT NULL,
    suspended         INTEGER NOT NULL,
    profile           TEXT NOT NULL,
    okta_last_updated TEXT,
    content_hash      TEXT NOT NULL,
    PRIMARY KEY (run_id, okta_id)
);

CREATE TABLE sync_staging_groups (
    run_id                       TEXT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    okta_id                      TEXT NOT NULL,
    name                         TEXT NOT NULL,
    description                  TEXT,
    kind                         TEXT NOT NULL,
    okta_last_updated            TEXT,
    okta_last_membership_updated TEXT,
    content_hash                 TEXT NOT NULL,
    PRIMARY KEY (run_id, okta_id)
);

CREATE TABLE sync_staging_memberships (
    run_id   TEXT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (run_id, group_id, user_id)
);
