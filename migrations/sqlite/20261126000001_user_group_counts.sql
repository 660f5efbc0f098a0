-- A user's group count moves out of the users row into a narrow table of its
-- own, one row per present user. A first sync only knows the counts once the
-- last group's members are in, after its users were written: setting them
-- on the users rows rewrote every (wide) row and a users index at the very
-- end of the sync, while nothing else could run. Filling this table is a
-- tenth of that work. The users table sorts by group count through its index.
CREATE TABLE directory_user_group_counts (
    dataset     INTEGER NOT NULL REFERENCES directory_datasets (key) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    group_count INTEGER NOT NULL,
    PRIMARY KEY (dataset, user_id)
) WITHOUT ROWID;
INSERT INTO directory_user_group_counts (dataset, user_id, group_count)
    SELECT dataset, okta_id, group_count FROM directory_users WHERE deleted_at IS NULL ORDER BY 1, 2;
CREATE INDEX directory_user_group_counts_by_count ON directory_user_group_counts (dataset, group_count, user_id);

DROP INDEX directory_users_by_groups_key;
ALTER TABLE directory_users DROP COLUMN group_count;
