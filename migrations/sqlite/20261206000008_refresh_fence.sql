-- When a targeted refresh last wrote a record. A full sync running at the
-- time read its pages earlier: its apply leaves records refreshed since it
-- started as the refresh wrote them (a refresh need not wait for the sync).
ALTER TABLE directory_users ADD COLUMN refreshed_at TEXT;
ALTER TABLE directory_groups ADD COLUMN refreshed_at TEXT;
