-- What a targeted refresh wrote, and when: a full sync running at the time
-- read its pages earlier, so its apply leaves these records as the refresh
-- wrote them (a refresh need not wait for the sync). A record the refresh
-- found gone and Roster never stored is fenced too, or the sync would add it.
CREATE TABLE refresh_fences (
    dataset      INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    okta_id      TEXT NOT NULL,
    refreshed_at TEXT NOT NULL,
    PRIMARY KEY (dataset, kind, okta_id)
) WITHOUT ROWID;
