-- enrollkit schema for PostgreSQL, version 9 (as SQLite's 0009): scheduled work of one program,
-- for Store::due and Store::claim_due with a program, in the order of enrollments_due.
CREATE INDEX enrollments_due_program ON enrollments (program_id, next_step_at, rid)
    WHERE status IN (1, 2, 3, 4) AND next_step_at IS NOT NULL;
