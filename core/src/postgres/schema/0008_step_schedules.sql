-- enrollkit schema for PostgreSQL, version 8 (as SQLite's 0008): step schedules, JSON text
-- (StepSchedule), NULL for none; a paused enrollment keeps when it was paused.
ALTER TABLE program_steps ADD COLUMN schedule_json TEXT;
ALTER TABLE enrollments ADD COLUMN paused_at BIGINT;
