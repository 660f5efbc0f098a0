-- A run stages, per group whose members it fetched, the members to add and to
-- remove (JSON arrays of Okta user ids) instead of one row per membership: a
-- first sync of 500 000 memberships stages 5 000 rows, an unchanged one none.
-- Staging of the old shape cannot be applied any more; runs waiting for
-- confirmation are discarded (the next sync computes their diff again).
UPDATE sync_runs SET status = 'discarded' WHERE status = 'needs_confirmation';
DELETE FROM sync_staging_users;
DELETE FROM sync_staging_groups;
DROP TABLE sync_staging_memberships;
CREATE TABLE sync_staging_memberships (
    run_id   TEXT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    added    TEXT NOT NULL,
    removed  TEXT NOT NULL,
    PRIMARY KEY (run_id, group_id)
);

-- Memberships are all key: without a rowid the table is its primary key, one
-- B-tree less to write for every membership a sync adds or removes.
CREATE TABLE directory_memberships_new (
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    group_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    PRIMARY KEY (directory_id, group_id, user_id)
) WITHOUT ROWID;
INSERT INTO directory_memberships_new (directory_id, group_id, user_id)
    SELECT directory_id, group_id, user_id FROM directory_memberships;
DROP TABLE directory_memberships;
ALTER TABLE directory_memberships_new RENAME TO directory_memberships;
CREATE INDEX directory_memberships_by_user ON directory_memberships (directory_id, user_id);
