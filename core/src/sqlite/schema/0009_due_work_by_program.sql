-- enrollkit schema, version 9: scheduled work of one program (issue #24). Store::due and
-- Store::claim_due with a program walk this index in the order of enrollments_due (schema 8),
-- whose condition it shares, rather than passing over the other programs' work.
CREATE INDEX enrollments_due_program ON enrollments (program_id, next_step_at, rid)
    WHERE status IN (1, 2, 3, 4) AND next_step_at IS NOT NULL;
