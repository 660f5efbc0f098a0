-- What happened to each user, run by run: added, status changes, removed.
-- Written inside the apply transaction, so it never disagrees with the users.
CREATE TABLE directory_user_events (
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    okta_id      TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    event        TEXT NOT NULL CHECK (event IN ('added', 'status', 'removed')),
    status       TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX directory_user_events_by_user ON directory_user_events (directory_id, okta_id, at);

-- Keyset indexes for each sortable column of the users table (the key is the
-- column then the Okta id); they supersede the single-column lookups.
DROP INDEX directory_users_by_email;
DROP INDEX directory_users_by_login;
DROP INDEX directory_users_by_status;
CREATE INDEX directory_users_by_login_key ON directory_users (directory_id, deleted_at, login, okta_id);
CREATE INDEX directory_users_by_email_key ON directory_users (directory_id, deleted_at, IFNULL(email, ''), okta_id);
CREATE INDEX directory_users_by_status_key ON directory_users (directory_id, deleted_at, status, okta_id);
CREATE INDEX directory_users_by_updated_key ON directory_users (directory_id, deleted_at, updated_at, okta_id);
