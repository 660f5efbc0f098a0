-- A Test sign-in in progress: shared by every replica, so its tab may come
-- back through any of them. The settings under test are sealed.
CREATE TABLE signin_tests (
    id              text PRIMARY KEY,
    settings_sealed text NOT NULL,
    started_by      text NOT NULL,
    started_at      timestamptz NOT NULL,
    report          jsonb NOT NULL
);
CREATE INDEX signin_tests_by_start ON signin_tests (started_at);
