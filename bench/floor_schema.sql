-- The schema a careful developer would write by hand for workload W: the same semantics as
-- enrollkit's (one open enrollment per user and program enforced by a partial unique index, a
-- history event per change, foreign keys), nothing more. Used by the floor (plain rusqlite),
-- the Python sqlite3 contender and, as ORM models, the SQLAlchemy contender.
CREATE TABLE users (
    id          TEXT PRIMARY KEY NOT NULL,
    email       TEXT,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE programs (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE enrollments (
    rid           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id),
    program_id    TEXT NOT NULL REFERENCES programs (id),
    status        TEXT NOT NULL,
    progress      REAL NOT NULL DEFAULT 0,
    enrolled_at   INTEGER NOT NULL,
    completed_at  INTEGER,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status <> 'completed';
CREATE INDEX enrollments_program_status ON enrollments (program_id, status, rid);

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    enrollment_id  TEXT NOT NULL,
    action         TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT,
    at             INTEGER NOT NULL
);
CREATE INDEX events_enrollment ON events (enrollment_id);
