-- enrollkit schema for PostgreSQL, version 8 (as SQLite's 0008): step schedules, JSON text
-- (StepSchedule), NULL for none; a paused enrollment keeps when it was paused; a claimed one
-- the worker holding it and until when; the due-work queue's index.
ALTER TABLE program_steps ADD COLUMN schedule_json TEXT;
-- A user's hire date, YYYY-MM-DD, for work anniversaries (Store::enroll_anniversaries).
ALTER TABLE users ADD COLUMN hire_date TEXT;
ALTER TABLE enrollments ADD COLUMN paused_at BIGINT;
ALTER TABLE enrollments ADD COLUMN claimed_by TEXT;
ALTER TABLE enrollments ADD COLUMN lease_until BIGINT;
-- The due-work queue (Store::claim_due): running enrollments by when their next step is due,
-- oldest first; claimed ones (processing, processing_batch) are in it for their lease's end.
CREATE INDEX enrollments_due ON enrollments (next_step_at, rid)
    WHERE status IN (1, 2, 3, 4) AND next_step_at IS NOT NULL;
