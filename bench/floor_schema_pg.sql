-- floor_schema.sql for PostgreSQL: the schema a careful developer would write by hand for
-- workload W, the same tables, columns and indexes with PostgreSQL's types (times as epoch
-- milliseconds in BIGINT, `rid` a bigserial). Same semantics as enrollkit's: one open
-- enrollment per user and program enforced by a partial unique index, a history event per
-- change, foreign keys; nothing more. Used by the PostgreSQL floor (bench/src/floor_pg.rs)
-- and the psycopg contender (bench/contenders.py).
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    email       TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE programs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE enrollments (
    rid           BIGSERIAL PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id),
    program_id    TEXT NOT NULL REFERENCES programs (id),
    status        TEXT NOT NULL,
    progress      DOUBLE PRECISION NOT NULL DEFAULT 0,
    enrolled_at   BIGINT NOT NULL,
    completed_at  BIGINT,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status <> 'completed';
CREATE INDEX enrollments_program_status ON enrollments (program_id, status, rid);

CREATE TABLE events (
    seq            BIGSERIAL PRIMARY KEY,
    enrollment_id  TEXT NOT NULL,
    action         TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT,
    at             BIGINT NOT NULL
);
CREATE INDEX events_enrollment ON events (enrollment_id);
