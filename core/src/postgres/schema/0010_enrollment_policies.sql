-- enrollkit schema for PostgreSQL, version 10 (as SQLite's 0010): a program's enrollment
-- policies as JSON text, NULL for none; a user's partnerships a JSON array of ids.
ALTER TABLE programs ADD COLUMN policy_json TEXT;
ALTER TABLE users ADD COLUMN partnerships_json TEXT NOT NULL DEFAULT '[]';
