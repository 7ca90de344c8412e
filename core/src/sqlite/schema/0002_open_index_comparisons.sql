-- enrollkit schema, version 2: the condition of the one-open-enrollment index without an IN
-- list. SQLite evaluates `status NOT IN (7, 8, 10)` through a temporary table on every insert
-- and every status change; two comparisons cost nothing. The set is the same: open means every
-- status except completed (7), failed (8) and canceled (10), and statuses are 0-10 (CHECK).
DROP INDEX enrollments_one_open;
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status < 7 OR status = 9;
