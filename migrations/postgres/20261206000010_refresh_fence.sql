-- When a targeted refresh last wrote a record (see SQLite's migration of the same name).
ALTER TABLE directory_users ADD COLUMN refreshed_at timestamptz;
ALTER TABLE directory_groups ADD COLUMN refreshed_at timestamptz;
