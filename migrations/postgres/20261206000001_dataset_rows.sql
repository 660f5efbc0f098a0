-- A dataset's rows go with it through one statement per table, run by a
-- statement trigger, instead of foreign keys: PostgreSQL checks a foreign key
-- row by row (a lookup and a row lock in the parent for every row written),
-- which was a third of a first sync's database time. The store keeps the
-- guarantee the keys gave: every transaction that writes a dataset's rows
-- first holds the dataset (`FOR KEY SHARE` on its row, or the directory's
-- write lock, which deleting a directory takes too), so rows are never
-- written into a dataset that is being or has been dropped.
ALTER TABLE directory_users DROP CONSTRAINT directory_users_dataset_fkey;
ALTER TABLE directory_groups DROP CONSTRAINT directory_groups_dataset_fkey;
ALTER TABLE directory_memberships DROP CONSTRAINT directory_memberships_dataset_fkey;
ALTER TABLE directory_user_groups DROP CONSTRAINT directory_user_groups_dataset_fkey;
ALTER TABLE directory_user_events DROP CONSTRAINT directory_user_events_dataset_fkey;
ALTER TABLE directory_user_group_counts DROP CONSTRAINT directory_user_group_counts_dataset_fkey;

CREATE FUNCTION drop_dataset_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM directory_memberships WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_user_groups WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_user_group_counts WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_user_events WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_groups WHERE dataset IN (SELECT key FROM dropped);
    DELETE FROM directory_users WHERE dataset IN (SELECT key FROM dropped);
    RETURN NULL;
END
$$;

-- Fires for deletes cascaded from `directories` too.
CREATE TRIGGER directory_datasets_drop_rows
    AFTER DELETE ON directory_datasets
    REFERENCING OLD TABLE AS dropped
    FOR EACH STATEMENT EXECUTE FUNCTION drop_dataset_rows();
