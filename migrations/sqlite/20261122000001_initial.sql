-- Roster's first schema. Ids are UUID strings, timestamps are UTC.

CREATE TABLE instance_settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE admins (
    id              TEXT PRIMARY KEY NOT NULL,
    display_name    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_sign_in_at TEXT
);

-- One-time links that create the first admin session; only a hash is kept.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE directories (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    provider   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
