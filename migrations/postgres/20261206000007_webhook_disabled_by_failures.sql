-- Whether the sender (not an admin) disabled an endpoint (see SQLite's
-- migration of the same name).
ALTER TABLE webhook_endpoints ADD COLUMN disabled_by_failures boolean NOT NULL DEFAULT false;
UPDATE webhook_endpoints SET disabled_by_failures = true
WHERE NOT enabled AND disabled_reason LIKE 'Disabled by Roster:%';
