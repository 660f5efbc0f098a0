-- A Test sign-in in progress: shared by every process on the database, so
-- its tab may come back through any replica. The settings under test
-- (client secret included) are sealed with the master key.
CREATE TABLE signin_tests (
    id              TEXT PRIMARY KEY NOT NULL,
    settings_sealed TEXT NOT NULL,
    started_by      TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    report          TEXT NOT NULL -- JSON
);
CREATE INDEX signin_tests_by_start ON signin_tests (started_at);
