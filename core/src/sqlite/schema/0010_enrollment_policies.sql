-- enrollkit schema, version 10: enrollment policies (issue #25). A program's policies are JSON
-- text (Policy: windows, deadline, capacity, waitlist, prerequisites), NULL for none; a user's
-- partnerships a JSON array of ids, as groups are.
ALTER TABLE programs ADD COLUMN policy_json TEXT;
ALTER TABLE users ADD COLUMN partnerships_json TEXT NOT NULL DEFAULT '[]';

DROP VIEW users_view;
CREATE VIEW users_view AS
SELECT id, email, display_name, external_id, department, location, manager_id,
       groups_json AS groups, timezone, hire_date, partnerships_json AS partnerships,
       strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch') AS updated_at
FROM users;
