-- enrollkit schema for PostgreSQL, version 10 (as SQLite's 0010): a program's enrollment
-- policies as JSON text, NULL for none; a user's partnerships a JSON array of ids; an
-- enrollment's deadline; statuses 11 (waitlisted, open) and 12 (expired, closed).
ALTER TABLE programs ADD COLUMN policy_json TEXT;
ALTER TABLE users ADD COLUMN partnerships_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE enrollments DROP CONSTRAINT enrollments_status_check,
    ADD CONSTRAINT enrollments_status_check CHECK (status BETWEEN 0 AND 12),
    ADD COLUMN deadline_at BIGINT;
DROP INDEX enrollments_one_open;
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status < 7 OR status = 9 OR status = 11;
CREATE INDEX enrollments_deadline ON enrollments (deadline_at, rid)
    WHERE deadline_at IS NOT NULL AND (status < 7 OR status = 11);
