-- One sync per directory at a time, across every process on the database:
-- a lease row with an expiry the holder renews, and a token that the writes
-- of its run check (fencing). Expiry is in Unix milliseconds.
CREATE TABLE sync_leases (
    directory_id TEXT PRIMARY KEY NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    token        TEXT NOT NULL,
    holder       TEXT NOT NULL,
    run_id       TEXT,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sync_leases_by_run ON sync_leases (run_id) WHERE run_id IS NOT NULL;
