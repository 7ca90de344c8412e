-- enrollkit schema, version 10: enrollment policies (issue #25). A program's policies are JSON
-- text (Policy: windows, deadline, capacity, waitlist, prerequisites), NULL for none; a user's
-- partnerships a JSON array of ids, as groups are; an enrollment's deadline; two statuses.
ALTER TABLE programs ADD COLUMN policy_json TEXT;
ALTER TABLE users ADD COLUMN partnerships_json TEXT NOT NULL DEFAULT '[]';

-- Statuses 11 (waitlisted, open) and 12 (expired, closed): the CHECK on enrollments.status
-- widens. SQLite cannot alter a CHECK, so the table's stored definition is edited (the
-- procedure SQLite documents for loosening a constraint: every row satisfies the wider one,
-- so nothing is rewritten), and the ALTER TABLE after it makes SQLite read the new
-- definition. A test migrates a version 9 file and stores both statuses.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, 'CHECK (status BETWEEN 0 AND 10)', 'CHECK (status BETWEEN 0 AND 12)')
WHERE type = 'table' AND name = 'enrollments';
PRAGMA writable_schema = OFF;
ALTER TABLE enrollments ADD COLUMN deadline_at INTEGER;

-- Open: every status but completed (7), failed (8), canceled (10) and expired (12).
DROP INDEX enrollments_one_open;
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status < 7 OR status = 9 OR status = 11;
-- Store::expire_due: open enrollments with a deadline, soonest first (dropped ones wait for
-- their reactivation).
CREATE INDEX enrollments_deadline ON enrollments (deadline_at, rid)
    WHERE deadline_at IS NOT NULL AND (status < 7 OR status = 11);

DROP VIEW status_names;
CREATE VIEW status_names (kind, status, name) AS
    VALUES (0, 1, 'active'), (0, 7, 'completed'), (0, 9, 'dropped'), (0, 11, 'waitlisted'),
           (0, 12, 'expired'),
           (1, 0, 'enrolled'), (1, 1, 'in_progress'), (1, 7, 'completed'), (1, 8, 'failed'),
           (1, 11, 'waitlisted'),
           (2, 0, 'new'), (2, 1, 'active'), (2, 2, 'processing'), (2, 3, 'active_batch'),
           (2, 4, 'processing_batch'), (2, 5, 'delivered'), (2, 6, 'paused'),
           (2, 7, 'completed'), (2, 8, 'failed'), (2, 10, 'canceled'), (2, 11, 'waitlisted');

DROP VIEW enrollments_view;
CREATE VIEW enrollments_view AS
SELECT e.id,
       e.user_id,
       e.program_id,
       (SELECT name FROM kind_names k WHERE k.kind = e.kind) AS kind,
       (SELECT name FROM status_names s WHERE s.kind = e.kind AND s.status = e.status) AS status,
       (SELECT name FROM status_names s WHERE s.kind = e.kind AND s.status = e.resume_status)
           AS resume_status,
       e.trigger,
       e.added_by_user_id,
       e.added_by_program_id,
       e.partnership_id,
       e.mentor_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.mentor_assigned_at / 1000.0, 'unixepoch') AS mentor_assigned_at,
       e.timezone,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.enrolled_at / 1000.0, 'unixepoch') AS enrolled_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.start_at / 1000.0, 'unixepoch') AS start_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.started_at / 1000.0, 'unixepoch') AS started_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.delivered_at / 1000.0, 'unixepoch') AS delivered_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.completed_at / 1000.0, 'unixepoch') AS completed_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.failed_at / 1000.0, 'unixepoch') AS failed_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.dropped_at / 1000.0, 'unixepoch') AS dropped_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.canceled_at / 1000.0, 'unixepoch') AS canceled_at,
       e.failure_reason,
       e.failure_message,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.next_step_at / 1000.0, 'unixepoch') AS next_step_at,
       e.steps_delivered,
       e.steps_completed,
       e.steps_skipped,
       e.progress AS progress_percent,
       e.attempts,
       e.best_score,
       e.passed,
       e.previous_id,
       e.attempt_number,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.updated_at / 1000.0, 'unixepoch') AS updated_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.paused_at / 1000.0, 'unixepoch') AS paused_at,
       e.claimed_by,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.lease_until / 1000.0, 'unixepoch') AS lease_until,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.deadline_at / 1000.0, 'unixepoch') AS deadline_at
FROM enrollments e;

DROP VIEW users_view;
CREATE VIEW users_view AS
SELECT id, email, display_name, external_id, department, location, manager_id,
       groups_json AS groups, timezone, hire_date, partnerships_json AS partnerships,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated_at
FROM users;
