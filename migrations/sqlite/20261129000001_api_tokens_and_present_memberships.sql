-- API tokens for the REST API and the CLI: only a SHA-256 of the secret is
-- kept, with a short prefix so an admin can tell tokens apart. A token made
-- with another token names it as parent: revoking a token revokes the tokens
-- it made, so a leaked token cannot leave working tokens behind.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    parent_id    TEXT REFERENCES api_tokens (id),
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read-only', 'read-write')),
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- A membership as the product reads it: a present user in a present group.
-- Okta lists members of every status, so the tables keep rows of users that
-- are deprovisioned or not assigned; every membership read goes through
-- these views and so can never return them. A user is present exactly when
-- it has a row in the narrow directory_user_group_counts (kept so by every
-- writer: a sync's apply, a first sync, single writes), which answers that
-- far cheaper than the wide users rows.
CREATE VIEW present_memberships AS
    SELECT m.dataset, m.group_id, m.user_id
    FROM directory_memberships m
    CROSS JOIN directory_user_group_counts p ON p.dataset = m.dataset AND p.user_id = m.user_id
    CROSS JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id AND g.deleted_at IS NULL;

CREATE VIEW present_user_groups AS
    SELECT m.dataset, m.user_id, m.group_id
    FROM directory_user_groups m
    CROSS JOIN directory_user_group_counts p ON p.dataset = m.dataset AND p.user_id = m.user_id
    CROSS JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id AND g.deleted_at IS NULL;
