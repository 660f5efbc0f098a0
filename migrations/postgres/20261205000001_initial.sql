-- Roster's schema on PostgreSQL 15+: the same tables as the SQLite schema
-- (migrations/sqlite, 11 migrations), written for PostgreSQL: uuid ids,
-- timestamptz, boolean, jsonb, identity keys, case-insensitive indexes on
-- lower(…). SQLite keeps its own history; this folder starts here.
-- Okta ids are COLLATE "C": compared byte by byte, as SQLite does, so keyset
-- pages by id have one order everywhere and id indexes skip locale rules.

-- Timestamps leave the database as RFC 3339 UTC text, the form the store's
-- row types share with SQLite (parse_timestamp reads both).
CREATE FUNCTION rfc3339(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

CREATE TABLE instance_settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE admins (
    id              uuid PRIMARY KEY,
    display_name    text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz,
    issuer          text,
    subject         text,
    email           text
);
CREATE UNIQUE INDEX admins_by_subject ON admins (issuer, subject) WHERE subject IS NOT NULL;

CREATE TABLE setup_tokens (
    token_hash text PRIMARY KEY,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE directories (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL,
    provider             text NOT NULL,
    created_at           timestamptz NOT NULL,
    okta_origin          text NOT NULL DEFAULT '',
    client_id            text NOT NULL DEFAULT '',
    app_id               text,
    app_label            text,
    state                text NOT NULL DEFAULT 'active' CHECK (state IN ('draft', 'active')),
    sync_interval_secs   bigint NOT NULL DEFAULT 7200,
    rate_limit_share     double precision NOT NULL DEFAULT 0.5,
    breaker_threshold    double precision NOT NULL DEFAULT 0.2,
    paused               boolean NOT NULL DEFAULT false,
    paused_reason        text,
    dpop_required        boolean,
    verified_fingerprint text,
    verified_at          timestamptz,
    next_sync_at         timestamptz,
    last_success_at      timestamptz,
    failing_since        timestamptz,
    updated_at           timestamptz,
    pull_enabled         boolean NOT NULL DEFAULT true,
    scim_enabled         boolean NOT NULL DEFAULT false
);
CREATE INDEX directories_due ON directories (next_sync_at) WHERE state = 'active' AND NOT paused;

CREATE TABLE directory_keys (
    id             uuid PRIMARY KEY,
    directory_id   uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    kid            text NOT NULL,
    purpose        text NOT NULL CHECK (purpose IN ('client', 'dpop')),
    state          text NOT NULL CHECK (state IN ('active', 'next', 'retired')),
    public_jwk     jsonb NOT NULL,
    sealed_private text NOT NULL,
    created_at     timestamptz NOT NULL,
    retired_at     timestamptz
);
CREATE INDEX directory_keys_by_directory ON directory_keys (directory_id, purpose, state);

CREATE TABLE sync_runs (
    id                  uuid PRIMARY KEY,
    directory_id        uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    trigger             text NOT NULL,
    status              text NOT NULL,
    phase               text NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    api_calls           bigint NOT NULL DEFAULT 0,
    pages               bigint NOT NULL DEFAULT 0,
    rate_limited        bigint NOT NULL DEFAULT 0,
    paced_waits         bigint NOT NULL DEFAULT 0,
    waited_ms           bigint NOT NULL DEFAULT 0,
    retries             bigint NOT NULL DEFAULT 0,
    users_fetched       bigint NOT NULL DEFAULT 0,
    groups_fetched      bigint NOT NULL DEFAULT 0,
    groups_skipped      bigint NOT NULL DEFAULT 0,
    users_added         bigint NOT NULL DEFAULT 0,
    users_updated       bigint NOT NULL DEFAULT 0,
    users_removed       bigint NOT NULL DEFAULT 0,
    groups_added        bigint NOT NULL DEFAULT 0,
    groups_updated      bigint NOT NULL DEFAULT 0,
    groups_removed      bigint NOT NULL DEFAULT 0,
    memberships_added   bigint NOT NULL DEFAULT 0,
    memberships_removed bigint NOT NULL DEFAULT 0,
    diff_sample         jsonb,
    error_code          text,
    error_class         text,
    error_message       text,
    error_hint          text
);
CREATE INDEX sync_runs_by_directory ON sync_runs (directory_id, started_at);
CREATE INDEX sync_runs_running ON sync_runs (directory_id) WHERE status = 'running';

-- What a run fetched, before it is applied in one transaction. Unlogged: a
-- crash loses only runs that are failed on restart anyway, and staging
-- writes skip the WAL.
CREATE UNLOGGED TABLE sync_staging_users (
    run_id            uuid NOT NULL,
    okta_id           text COLLATE "C" NOT NULL,
    login             text NOT NULL,
    email             text,
    first_name        text,
    last_name         text,
    display_name      text NOT NULL,
    status            text NOT NULL,
    suspended         boolean NOT NULL,
    profile           jsonb NOT NULL,
    okta_last_updated timestamptz,
    content_hash      text NOT NULL,
    PRIMARY KEY (run_id, okta_id)
);

CREATE UNLOGGED TABLE sync_staging_groups (
    run_id                       uuid NOT NULL,
    okta_id                      text COLLATE "C" NOT NULL,
    name                         text NOT NULL,
    description                  text,
    kind                         text NOT NULL,
    okta_last_updated            timestamptz,
    okta_last_membership_updated timestamptz,
    content_hash                 text NOT NULL,
    PRIMARY KEY (run_id, okta_id)
);

CREATE UNLOGGED TABLE sync_staging_memberships (
    run_id   uuid NOT NULL,
    group_id text COLLATE "C" NOT NULL,
    added    jsonb NOT NULL,
    removed  jsonb NOT NULL,
    PRIMARY KEY (run_id, group_id)
);

-- A directory's synced records live in a dataset; a first sync builds a new
-- one and makes it live in one commit.
CREATE TABLE directory_datasets (
    key          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    run_id       uuid,
    live         boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX directory_datasets_live ON directory_datasets (directory_id) WHERE live;
CREATE INDEX directory_datasets_by_directory ON directory_datasets (directory_id);
CREATE INDEX directory_datasets_by_run ON directory_datasets (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE directory_users (
    dataset             bigint NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    okta_id             text COLLATE "C" NOT NULL,
    login               text NOT NULL,
    email               text,
    first_name          text,
    last_name           text,
    display_name        text NOT NULL,
    status              text NOT NULL,
    suspended           boolean NOT NULL DEFAULT false,
    profile             jsonb NOT NULL,
    okta_last_updated   timestamptz,
    content_hash        text NOT NULL,
    first_seen_at       timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
    external_id         text,
    scim_resource       jsonb,
    version             bigint NOT NULL DEFAULT 1,
    via_pull            boolean NOT NULL DEFAULT true,
    via_push            boolean NOT NULL DEFAULT false,
    keyed_by            text NOT NULL DEFAULT 'okta' CHECK (keyed_by IN ('okta', 'roster')),
    push_deactivated_at timestamptz,
    PRIMARY KEY (dataset, okta_id)
);
CREATE INDEX directory_users_by_name ON directory_users (dataset, display_name, okta_id) WHERE deleted_at IS NULL;
CREATE INDEX directory_users_by_login_key ON directory_users (dataset, login, okta_id) WHERE deleted_at IS NULL;
CREATE INDEX directory_users_by_email_key ON directory_users (dataset, (coalesce(email, '')), okta_id) WHERE deleted_at IS NULL;
CREATE INDEX directory_users_by_status_key ON directory_users (dataset, status, okta_id) WHERE deleted_at IS NULL;
CREATE INDEX directory_users_by_updated_key ON directory_users (dataset, updated_at, okta_id) WHERE deleted_at IS NULL;
CREATE INDEX directory_users_by_login_nocase ON directory_users (dataset, lower(login));
CREATE INDEX directory_users_by_email_nocase ON directory_users (dataset, lower(email));
CREATE INDEX directory_users_by_external_id ON directory_users (dataset, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE directory_groups (
    dataset                      bigint NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    okta_id                      text COLLATE "C" NOT NULL,
    name                         text NOT NULL,
    description                  text,
    kind                         text NOT NULL,
    okta_last_updated            timestamptz,
    okta_last_membership_updated timestamptz,
    content_hash                 text NOT NULL,
    first_seen_at                timestamptz NOT NULL,
    last_seen_at                 timestamptz NOT NULL,
    updated_at                   timestamptz NOT NULL,
    deleted_at                   timestamptz,
    external_id                  text,
    version                      bigint NOT NULL DEFAULT 1,
    via_pull                     boolean NOT NULL DEFAULT true,
    via_push                     boolean NOT NULL DEFAULT false,
    keyed_by                     text NOT NULL DEFAULT 'okta' CHECK (keyed_by IN ('okta', 'roster')),
    PRIMARY KEY (dataset, okta_id)
);
CREATE INDEX directory_groups_by_name ON directory_groups (dataset, name, okta_id) WHERE deleted_at IS NULL;
CREATE INDEX directory_groups_by_name_nocase ON directory_groups (dataset, lower(name));

CREATE TABLE directory_memberships (
    dataset  bigint NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    group_id text COLLATE "C" NOT NULL,
    user_id  text COLLATE "C" NOT NULL,
    PRIMARY KEY (dataset, group_id, user_id)
);

-- The same pairs keyed by user: a user's groups without scanning memberships.
CREATE TABLE directory_user_groups (
    dataset  bigint NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    user_id  text COLLATE "C" NOT NULL,
    group_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (dataset, user_id, group_id)
);

CREATE TABLE directory_user_events (
    seq     bigint GENERATED ALWAYS AS IDENTITY,
    dataset bigint NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    okta_id text COLLATE "C" NOT NULL,
    run_id  text NOT NULL,
    event   text NOT NULL CHECK (event IN ('added', 'status', 'removed')),
    status  text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX directory_user_events_by_user ON directory_user_events (dataset, okta_id, at);

-- Present users (not removed) and how many present groups each is in.
CREATE TABLE directory_user_group_counts (
    dataset     bigint NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    user_id     text COLLATE "C" NOT NULL,
    group_count bigint NOT NULL,
    PRIMARY KEY (dataset, user_id)
);
CREATE INDEX directory_user_group_counts_by_count ON directory_user_group_counts (dataset, group_count, user_id);

CREATE VIEW present_memberships AS
    SELECT m.dataset, m.group_id, m.user_id
    FROM directory_memberships m
    JOIN directory_user_group_counts p ON p.dataset = m.dataset AND p.user_id = m.user_id
    JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id AND g.deleted_at IS NULL;

CREATE VIEW present_user_groups AS
    SELECT m.dataset, m.user_id, m.group_id
    FROM directory_user_groups m
    JOIN directory_user_group_counts p ON p.dataset = m.dataset AND p.user_id = m.user_id
    JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id AND g.deleted_at IS NULL;

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    parent_id    uuid REFERENCES api_tokens (id),
    name         text NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('read-only', 'read-write')),
    token_hash   text NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE signin_settings (
    id                   integer PRIMARY KEY CHECK (id = 1),
    issuer               text NOT NULL,
    client_id            text NOT NULL,
    -- Sealed with the master key; never read back out to any page or API.
    client_secret_sealed text NOT NULL,
    admin_groups         jsonb NOT NULL,
    viewer_groups        jsonb NOT NULL,
    tested_at            timestamptz,
    tested_by            text,
    updated_at           timestamptz NOT NULL,
    updated_by           text NOT NULL
);

CREATE TABLE signins (
    id             uuid PRIMARY KEY,
    admin_id       uuid NOT NULL REFERENCES admins (id),
    role           text NOT NULL CHECK (role IN ('admin', 'viewer')),
    method         text NOT NULL CHECK (method IN ('okta', 'setup-link', 'recovery-link')),
    subject        text,
    email          text,
    groups         jsonb NOT NULL DEFAULT '[]',
    ip             text,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);
CREATE INDEX signins_by_subject ON signins (subject) WHERE revoked_at IS NULL;
CREATE INDEX signins_by_email ON signins (lower(email)) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_kind text NOT NULL,
    actor_id   text,
    actor_name text NOT NULL,
    action     text NOT NULL,
    target     text,
    detail     jsonb NOT NULL DEFAULT '{}',
    outcome    text NOT NULL CHECK (outcome IN ('ok', 'failed')),
    ip         text
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE INDEX audit_log_by_action ON audit_log (action, at);

CREATE TABLE scim_tokens (
    id           uuid PRIMARY KEY,
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX scim_tokens_by_directory ON scim_tokens (directory_id, created_at);

CREATE TABLE scim_requests (
    key          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    directory_id uuid NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    status       integer NOT NULL,
    duration_ms  bigint NOT NULL,
    error        text
);
CREATE INDEX scim_requests_by_directory ON scim_requests (directory_id, key);

-- One sync per directory at a time, cluster-wide: a lease row with an
-- expiry its holder renews, and a token that the run's writes check
-- (fencing). Not an advisory lock: a failover or PgBouncer in transaction
-- mode silently drops session-level advisory locks.
CREATE TABLE sync_leases (
    directory_id uuid PRIMARY KEY REFERENCES directories (id) ON DELETE CASCADE,
    token        uuid NOT NULL,
    holder       text NOT NULL,
    run_id       uuid,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sync_leases_by_run ON sync_leases (run_id) WHERE run_id IS NOT NULL;
