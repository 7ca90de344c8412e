-- enrollkit schema, version 6: read-only views for people who open the file with the sqlite3
-- shell, Datasette or a BI tool. The tables store statuses as integers and times as epoch
-- milliseconds; the views show status names in each program's vocabulary and times as
-- ISO-8601 UTC text (2026-01-15T10:30:00.000Z). enrollkit itself never reads them.
--
-- status_names and step_status_names copy the engine's tables (Status::code, Status::name,
-- the step status codes); a test (core/src/sqlite/database.rs, views_name_every_status_as_the_engine)
-- fails when they drift.

CREATE VIEW kind_names (kind, name) AS
    VALUES (0, 'course'), (1, 'certification'), (2, 'track');

CREATE VIEW status_names (kind, status, name) AS
    VALUES (0, 1, 'active'), (0, 7, 'completed'), (0, 9, 'dropped'),
           (1, 0, 'enrolled'), (1, 1, 'in_progress'), (1, 7, 'completed'), (1, 8, 'failed'),
           (2, 0, 'new'), (2, 1, 'active'), (2, 2, 'processing'), (2, 3, 'active_batch'),
           (2, 4, 'processing_batch'), (2, 5, 'delivered'), (2, 6, 'paused'),
           (2, 7, 'completed'), (2, 8, 'failed'), (2, 10, 'canceled');

CREATE VIEW step_status_names (status, name) AS
    VALUES (0, 'pending'), (1, 'delivered'), (2, 'completed'), (3, 'failed'), (4, 'skipped');

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
       strftime('%Y-%m-%dT%H:%M:%fZ', e.updated_at / 1000.0, 'unixepoch') AS updated_at
FROM enrollments e;

CREATE VIEW step_progress_view AS
SELECT e.id AS enrollment_id,
       e.program_id,
       p.step_id,
       (SELECT name FROM step_status_names s WHERE s.status = p.status) AS status,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.started_at / 1000.0, 'unixepoch') AS started_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.delivered_at / 1000.0, 'unixepoch') AS delivered_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.completed_at / 1000.0, 'unixepoch') AS completed_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.failed_at / 1000.0, 'unixepoch') AS failed_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', p.skipped_at / 1000.0, 'unixepoch') AS skipped_at,
       p.failure_reason,
       p.failure_message,
       p.destination_type,
       p.result_json
FROM step_progress p JOIN enrollments e ON e.rid = p.enrollment_rid;

CREATE VIEW events_view AS
SELECT seq,
       enrollment_id,
       user_id,
       program_id,
       action,
       from_status,
       to_status,
       actor,
       reason,
       strftime('%Y-%m-%dT%H:%M:%fZ', at / 1000.0, 'unixepoch') AS at
FROM events;

CREATE VIEW users_view AS
SELECT id, email, display_name, external_id, department, location, manager_id,
       groups_json AS groups, timezone,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated_at
FROM users;
