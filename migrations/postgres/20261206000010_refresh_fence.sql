-- What a targeted refresh wrote, and when (see SQLite's migration of the same name).
CREATE TABLE refresh_fences (
    dataset      bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('user', 'group')),
    okta_id      text NOT NULL,
    refreshed_at timestamptz NOT NULL,
    PRIMARY KEY (dataset, kind, okta_id)
);
