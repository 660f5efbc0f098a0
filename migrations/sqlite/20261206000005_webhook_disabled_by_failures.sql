-- Whether the sender (not an admin) disabled an endpoint, as a fact of its
-- own instead of a prefix of the reason's text: the Overview, the cards and
-- the mail treat an endpoint disabled by failures as a problem.
ALTER TABLE webhook_endpoints ADD COLUMN disabled_by_failures INTEGER NOT NULL DEFAULT 0;
UPDATE webhook_endpoints SET disabled_by_failures = 1
WHERE NOT enabled AND disabled_reason LIKE 'Disabled by Roster:%';
