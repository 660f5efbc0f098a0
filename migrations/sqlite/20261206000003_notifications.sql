-- Problems admins were told about by e-mail, one row per open problem
-- ("directory:<id>:failing", "webhook:<id>:disabled", …): when it was first
-- seen and how many reminders went out, so a broken directory is mailed
-- about at once, then a day later, then every 3 days, then weekly, and not on
-- every check. A row goes when its problem does. `sent_count` is also the
-- compare-and-set ticket that lets one process (of several replicas) send.
CREATE TABLE notifications (
    subject       TEXT PRIMARY KEY,
    first_seen_at TEXT NOT NULL,
    sent_count    INTEGER NOT NULL DEFAULT 0,
    last_sent_at  TEXT,
    last_error    TEXT
);
