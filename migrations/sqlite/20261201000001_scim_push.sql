-- SCIM 2.0 push beside the pull sync, into the same identity store.

-- Which ways a directory learns about its people: the pull sync (Okta API
-- Services app), SCIM push (Okta's provisioning), or both.
ALTER TABLE directories ADD COLUMN pull_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE directories ADD COLUMN scim_enabled INTEGER NOT NULL DEFAULT 0;

-- Per record: the SCIM externalId; the last SCIM document written (never a
-- password); a version that every change bumps (ETag / meta.version);
-- provenance (seen by a pull, written by a push); whose id the key is
-- ('okta': an Okta id, within the pull's authority; 'roster': minted for a
-- push that carried no Okta id, which a pull never removes); and when a push
-- deactivated the user (a stale pull must not bring them back).
ALTER TABLE directory_users ADD COLUMN external_id TEXT;
ALTER TABLE directory_users ADD COLUMN scim_resource TEXT;
ALTER TABLE directory_users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE directory_users ADD COLUMN via_pull INTEGER NOT NULL DEFAULT 1;
ALTER TABLE directory_users ADD COLUMN via_push INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_users ADD COLUMN keyed_by TEXT NOT NULL DEFAULT 'okta';
ALTER TABLE directory_users ADD COLUMN push_deactivated_at TEXT;

ALTER TABLE directory_groups ADD COLUMN external_id TEXT;
ALTER TABLE directory_groups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE directory_groups ADD COLUMN via_pull INTEGER NOT NULL DEFAULT 1;
ALTER TABLE directory_groups ADD COLUMN via_push INTEGER NOT NULL DEFAULT 0;
ALTER TABLE directory_groups ADD COLUMN keyed_by TEXT NOT NULL DEFAULT 'okta';

-- SCIM's userName is caseExact=false: lookups compare without case.
CREATE INDEX directory_users_by_login_nocase ON directory_users (dataset, login COLLATE NOCASE);
CREATE INDEX directory_users_by_external_id ON directory_users (dataset, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX directory_users_by_email_nocase ON directory_users (dataset, email COLLATE NOCASE);
CREATE INDEX directory_groups_by_name_nocase ON directory_groups (dataset, name COLLATE NOCASE);

-- Bearer tokens Okta presents: only a SHA-256 of the secret is kept.
CREATE TABLE scim_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX scim_tokens_by_directory ON scim_tokens (directory_id, created_at);

-- Recent SCIM requests per directory, for troubleshooting: no bodies, no
-- secrets. Only the newest few hundred per directory are kept.
CREATE TABLE scim_requests (
    key          INTEGER PRIMARY KEY,
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    -- scimType and detail of an error answer.
    error        TEXT
);
CREATE INDEX scim_requests_by_directory ON scim_requests (directory_id, key);
