-- enrollkit schema, version 7: enrollment ids that a caller chose in UUID form
-- (0190a8f2-c3d4-7e5f-8a9b-0c1d2e3f4a5b) take the enr_ form of the same 128-bit value, which is
-- how every call now stores and looks them up (validate::enrollment_id). Before, they were
-- stored as given and would no longer be found. The history and lineage follow. The function
-- is registered by the migrating connection (register_migration_functions).
UPDATE enrollments SET id = enrollkit_enrollment_id(id)
    WHERE id GLOB '[0-9a-fA-F]*-*-*-*-*' AND length(id) = 36;
UPDATE enrollments SET previous_id = enrollkit_enrollment_id(previous_id)
    WHERE previous_id GLOB '[0-9a-fA-F]*-*-*-*-*' AND length(previous_id) = 36;
UPDATE events SET enrollment_id = enrollkit_enrollment_id(enrollment_id)
    WHERE enrollment_id GLOB '[0-9a-fA-F]*-*-*-*-*' AND length(enrollment_id) = 36;
