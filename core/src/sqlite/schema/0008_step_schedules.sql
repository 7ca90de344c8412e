-- enrollkit schema, version 8: step schedules (issue #24). A step's schedule is JSON text
-- (StepSchedule: {"after": ..., "delay": ..., "unit": ..., "at": ...}), NULL for none; a paused
-- enrollment keeps when it was paused, by which resume shifts its next step; a claimed one the
-- worker holding it and until when.
ALTER TABLE program_steps ADD COLUMN schedule_json TEXT;
-- A user's hire date, YYYY-MM-DD, for work anniversaries (Store::enroll_anniversaries).
ALTER TABLE users ADD COLUMN hire_date TEXT;
ALTER TABLE enrollments ADD COLUMN paused_at INTEGER;
ALTER TABLE enrollments ADD COLUMN claimed_by TEXT;
ALTER TABLE enrollments ADD COLUMN lease_until INTEGER;
-- The due-work queue (Store::claim_due): running enrollments by when their next step is due,
-- oldest first; claimed ones (processing, processing_batch) are in it for their lease's end.
CREATE INDEX enrollments_due ON enrollments (next_step_at, rid)
    WHERE status IN (1, 2, 3, 4) AND next_step_at IS NOT NULL;

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
       strftime('%Y-%m-%dT%H:%M:%fZ', e.lease_until / 1000.0, 'unixepoch') AS lease_until
FROM enrollments e;

DROP VIEW users_view;
CREATE VIEW users_view AS
SELECT id, email, display_name, external_id, department, location, manager_id,
       groups_json AS groups, timezone, hire_date,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated_at
FROM users;
