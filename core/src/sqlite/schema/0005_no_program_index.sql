-- enrollkit schema, version 5.
--
-- Drop enrollments_program (program_id, rid). It served one listing only, a program's
-- enrollments of every status in creation order, and cost every new enrollment a B-tree write
-- (about 7 % of a bulk enrollment's instructions) and its bytes. That listing now merges the
-- program's per-status runs of enrollments_program_status, which are in rid order too. Foreign
-- key checks of programs use enrollments_program_status, which starts with program_id.
DROP INDEX enrollments_program;
