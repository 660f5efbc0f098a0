-- A directory's synced records (users, groups, memberships, user history) are
-- filed under an integer dataset key instead of the directory's 36-character
-- id. Every index entry carried that id: for 100 000 users and 500 000
-- memberships it was a third of all the bytes a first sync wrote.
--
-- The indirection also lets a first sync build its records in place: they are
-- written under a dataset that is not live yet while the fetch runs, and the
-- apply makes it live in one small update. Readers only ever see the live one.
CREATE TABLE directory_datasets (
    key          INTEGER PRIMARY KEY,
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    -- The run building a dataset that is not live yet (dropped if it fails).
    run_id       TEXT,
    live         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX directory_datasets_live ON directory_datasets (directory_id) WHERE live = 1;
CREATE INDEX directory_datasets_by_directory ON directory_datasets (directory_id);
CREATE INDEX directory_datasets_by_run ON directory_datasets (run_id) WHERE run_id IS NOT NULL;

INSERT INTO directory_datasets (directory_id, live)
    SELECT id, 1 FROM directories d
     WHERE d.last_success_at IS NOT NULL
        OR EXISTS (SELECT 1 FROM directory_users u WHERE u.directory_id = d.id)
        OR EXISTS (SELECT 1 FROM directory_groups g WHERE g.directory_id = d.id);

CREATE TABLE directory_users_new (
    dataset           INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
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
    group_count       INTEGER NOT NULL DEFAULT 0,
    first_seen_at     TEXT NOT NULL,
    last_seen_at      TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    deleted_at        TEXT,
    PRIMARY KEY (dataset, okta_id)
);
INSERT INTO directory_users_new (dataset, okta_id, login, email, first_name, last_name, display_name, status,
        suspended, profile, okta_last_updated, content_hash, group_count, first_seen_at, last_seen_at, updated_at,
        deleted_at)
    SELECT d.key, u.okta_id, u.login, u.email, u.first_name, u.last_name, u.display_name, u.status, u.suspended,
        u.profile, u.okta_last_updated, u.content_hash, u.group_count, u.first_seen_at, u.last_seen_at, u.updated_at,
        u.deleted_at
    FROM directory_users u JOIN directory_datasets d ON d.directory_id = u.directory_id AND d.live = 1
    ORDER BY 1, 2;
DROP TABLE directory_users;
ALTER TABLE directory_users_new RENAME TO directory_users;
-- The users table's keyset orders; the default one (by name) covers the
-- searched columns too, so a search scans the index alone.
CREATE INDEX directory_users_by_name ON directory_users
    (dataset, deleted_at, display_name, okta_id, email, login, status);
CREATE INDEX directory_users_by_login_key ON directory_users (dataset, deleted_at, login, okta_id);
CREATE INDEX directory_users_by_email_key ON directory_users (dataset, deleted_at, IFNULL(email, ''), okta_id);
CREATE INDEX directory_users_by_status_key ON directory_users (dataset, deleted_at, status, okta_id);
CREATE INDEX directory_users_by_updated_key ON directory_users (dataset, deleted_at, updated_at, okta_id);
CREATE INDEX directory_users_by_groups_key ON directory_users (dataset, deleted_at, group_count, okta_id);

CREATE TABLE directory_groups_new (
    dataset                      INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
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
    PRIMARY KEY (dataset, okta_id)
);
INSERT INTO directory_groups_new (dataset, okta_id, name, description, kind, okta_last_updated,
        okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at)
    SELECT d.key, g.okta_id, g.name, g.description, g.kind, g.okta_last_updated, g.okta_last_membership_updated,
        g.content_hash, g.first_seen_at, g.last_seen_at, g.updated_at, g.deleted_at
    FROM directory_groups g JOIN directory_datasets d ON d.directory_id = g.directory_id AND d.live = 1
    ORDER BY 1, 2;
DROP TABLE directory_groups;
ALTER TABLE directory_groups_new RENAME TO directory_groups;
CREATE INDEX directory_groups_by_name ON directory_groups (dataset, deleted_at, name, okta_id);

CREATE TABLE directory_memberships_new (
    dataset  INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (dataset, group_id, user_id)
) WITHOUT ROWID;
INSERT INTO directory_memberships_new (dataset, group_id, user_id)
    SELECT d.key, m.group_id, m.user_id
    FROM directory_memberships m JOIN directory_datasets d ON d.directory_id = m.directory_id AND d.live = 1
    ORDER BY 1, 2, 3;
DROP TABLE directory_memberships;
ALTER TABLE directory_memberships_new RENAME TO directory_memberships;

CREATE TABLE directory_user_groups_new (
    dataset  INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    group_id TEXT NOT NULL,
    PRIMARY KEY (dataset, user_id, group_id)
) WITHOUT ROWID;
INSERT INTO directory_user_groups_new (dataset, user_id, group_id)
    SELECT d.key, m.user_id, m.group_id
    FROM directory_user_groups m JOIN directory_datasets d ON d.directory_id = m.directory_id AND d.live = 1
    ORDER BY 1, 2, 3;
DROP TABLE directory_user_groups;
ALTER TABLE directory_user_groups_new RENAME TO directory_user_groups;

CREATE TABLE directory_user_events_new (
    dataset INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    okta_id TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    event   TEXT NOT NULL CHECK (event IN ('added', 'status', 'removed')),
    status  TEXT NOT NULL,
    at      TEXT NOT NULL
);
INSERT INTO directory_user_events_new (dataset, okta_id, run_id, event, status, at)
    SELECT d.key, e.okta_id, e.run_id, e.event, e.status, e.at
    FROM directory_user_events e JOIN directory_datasets d ON d.directory_id = e.directory_id AND d.live = 1
    ORDER BY e.rowid;
DROP TABLE directory_user_events;
ALTER TABLE directory_user_events_new RENAME TO directory_user_events;
CREATE INDEX directory_user_events_by_user ON directory_user_events (dataset, okta_id, at);
