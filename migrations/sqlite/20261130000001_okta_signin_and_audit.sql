-- Sign in with Okta: the OIDC app's settings (one row), who signed in, the
-- sign-ins that back live sessions (so they can be revoked by person), and
-- the audit log.

CREATE TABLE signin_settings (
    id                   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    issuer               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    -- Sealed with the master key; never read back out to any page or API.
    client_secret_sealed TEXT NOT NULL,
    admin_groups         TEXT NOT NULL, -- JSON array of group names
    viewer_groups        TEXT NOT NULL, -- JSON array of group names
    tested_at            TEXT,
    tested_by            TEXT,
    updated_at           TEXT NOT NULL,
    updated_by           TEXT NOT NULL
);

-- People who signed in through Okta get a row in admins too, keyed by the
-- issuer and subject; the setup link's first admin has neither.
ALTER TABLE admins ADD COLUMN issuer TEXT;
ALTER TABLE admins ADD COLUMN subject TEXT;
ALTER TABLE admins ADD COLUMN email TEXT;
CREATE UNIQUE INDEX admins_by_subject ON admins (issuer, subject) WHERE subject IS NOT NULL;

-- One row per sign-in. The browser session holds only this row's id, so a
-- sign-in can be revoked (deprovisioning, sign-out) wherever its session is.
CREATE TABLE signins (
    id             TEXT PRIMARY KEY NOT NULL,
    admin_id       TEXT NOT NULL REFERENCES admins (id),
    role           TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    method         TEXT NOT NULL CHECK (method IN ('okta', 'setup-link', 'recovery-link')),
    subject        TEXT,
    email          TEXT,
    groups         TEXT NOT NULL DEFAULT '[]', -- JSON array, as the ID token said
    ip             TEXT,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL, -- the absolute timeout
    revoked_at     TEXT,
    revoked_reason TEXT
);
CREATE INDEX signins_by_subject ON signins (subject) WHERE revoked_at IS NULL;
CREATE INDEX signins_by_email ON signins (email COLLATE NOCASE) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT,
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    detail     TEXT NOT NULL DEFAULT '{}', -- JSON object
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
    ip         TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE INDEX audit_log_by_action ON audit_log (action, at);
