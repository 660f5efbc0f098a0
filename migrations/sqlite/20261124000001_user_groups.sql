-- Memberships by user become a table of their own instead of an index on
-- directory_memberships. An index entry lands wherever its user sorts, so a
-- sync that adds 500 000 memberships paid a random B-tree descent for each;
-- two tables, each written in its own key order, are filled sequentially.
-- Both are only ever changed together, in the apply transaction.
DROP INDEX directory_memberships_by_user;
CREATE TABLE directory_user_groups (
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    PRIMARY KEY (directory_id, user_id, group_id)
) WITHOUT ROWID;
INSERT INTO directory_user_groups (directory_id, user_id, group_id)
    SELECT directory_id, user_id, group_id FROM directory_memberships ORDER BY 1, 2, 3;

-- How many groups a user is in, kept by each apply, so the users table can
-- sort by it with a keyset index instead of counting every user's groups.
ALTER TABLE directory_users ADD COLUMN group_count INTEGER NOT NULL DEFAULT 0;
UPDATE directory_users SET group_count = (
    SELECT COUNT(*) FROM directory_user_groups m
     WHERE m.directory_id = directory_users.directory_id AND m.user_id = directory_users.okta_id);
CREATE INDEX directory_users_by_groups_key ON directory_users (directory_id, deleted_at, group_count, okta_id);
