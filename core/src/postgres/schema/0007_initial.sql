-- enrollkit schema for PostgreSQL, version 7: the shape SQLite files have at version 7, in one
-- step (PostgreSQL databases start at 7; later versions add a file each, as SQLite's do).
-- Times are epoch milliseconds and statuses integer codes, as in SQLite, so that both
-- backends export the same bytes.

CREATE TABLE enrollkit_schema (
    version  BIGINT NOT NULL
);
INSERT INTO enrollkit_schema (version) VALUES (7);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT,
    display_name  TEXT,
    external_id   TEXT,
    department    TEXT,
    location      TEXT,
    manager_id    TEXT,
    groups_json   TEXT NOT NULL DEFAULT '[]',
    timezone      TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- SQLite's NOCASE folds ASCII letters only; so does this expression, so that both backends
-- call the same two emails equal.
CREATE UNIQUE INDEX users_email ON users (translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    'abcdefghijklmnopqrstuvwxyz')) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE programs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('course', 'certification', 'track')),
    title            TEXT NOT NULL,
    description      TEXT,
    state            TEXT NOT NULL CHECK (state IN ('draft', 'active', 'paused', 'archived')),
    self_enrollment  BOOLEAN NOT NULL,
    passing_score    DOUBLE PRECISION CHECK (passing_score BETWEEN 0 AND 100),
    max_attempts     BIGINT CHECK (max_attempts >= 1),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE program_steps (
    program_id           TEXT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    step_id              TEXT NOT NULL,
    position             BIGINT NOT NULL,
    step_type            TEXT NOT NULL,
    title                TEXT NOT NULL,
    learner_completable  BOOLEAN NOT NULL,
    PRIMARY KEY (program_id, step_id)
);

CREATE TABLE enrollments (
    rid                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   TEXT NOT NULL CONSTRAINT enrollments_id_unique UNIQUE,
    -- No foreign keys to users and programs: checking them for every inserted row would
    -- double the cost of a bulk enrollment. Programs are never deleted, and a write that
    -- enrolls a user holds a KEY SHARE lock on the user's row until it commits.
    user_id              TEXT NOT NULL,
    program_id           TEXT NOT NULL,
    kind                 BIGINT NOT NULL CHECK (kind BETWEEN 0 AND 2),
    status               BIGINT NOT NULL CHECK (status BETWEEN 0 AND 10),
    resume_status        BIGINT,
    trigger              TEXT NOT NULL,
    added_by_user_id     TEXT,
    added_by_program_id  TEXT,
    partnership_id       TEXT,
    mentor_id            TEXT,
    mentor_assigned_at   BIGINT,
    timezone             TEXT,
    enrolled_at          BIGINT NOT NULL,
    start_at             BIGINT,
    started_at           BIGINT,
    delivered_at         BIGINT,
    completed_at         BIGINT,
    failed_at            BIGINT,
    dropped_at           BIGINT,
    canceled_at          BIGINT,
    failure_reason       TEXT,
    failure_message      TEXT,
    next_step_at         BIGINT,
    steps_delivered      BIGINT NOT NULL DEFAULT 0,
    steps_completed      BIGINT NOT NULL DEFAULT 0,
    steps_skipped        BIGINT NOT NULL DEFAULT 0,
    progress             DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts             BIGINT NOT NULL DEFAULT 0,
    best_score           DOUBLE PRECISION,
    passed               BOOLEAN,
    previous_id          TEXT,
    attempt_number       BIGINT NOT NULL DEFAULT 1,
    updated_at           BIGINT NOT NULL
);

-- At most one open enrollment per user and program, enforced by the database itself. Open =
-- every status except completed (7), failed (8) and canceled (10).
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status < 7 OR status = 9;
CREATE INDEX enrollments_user ON enrollments (user_id, rid);
CREATE INDEX enrollments_program_status ON enrollments (program_id, status, rid);
CREATE INDEX enrollments_program ON enrollments (program_id, rid);
CREATE INDEX enrollments_scheduled ON enrollments (start_at) WHERE status = 0 AND start_at IS NOT NULL;

CREATE TABLE step_progress (
    enrollment_rid    BIGINT NOT NULL REFERENCES enrollments (rid) ON DELETE CASCADE,
    step_id           TEXT NOT NULL,
    status            BIGINT NOT NULL CHECK (status BETWEEN 0 AND 4),
    started_at        BIGINT,
    delivered_at      BIGINT,
    completed_at      BIGINT,
    failed_at         BIGINT,
    skipped_at        BIGINT,
    failure_reason    TEXT,
    failure_message   TEXT,
    destination_type  TEXT,
    result_json       TEXT,
    PRIMARY KEY (enrollment_rid, step_id)
);

CREATE TABLE attempts (
    enrollment_rid  BIGINT NOT NULL REFERENCES enrollments (rid) ON DELETE CASCADE,
    number          BIGINT NOT NULL,
    score           DOUBLE PRECISION NOT NULL CHECK (score BETWEEN 0 AND 100),
    passed          BOOLEAN,
    submitted_at    BIGINT NOT NULL,
    PRIMARY KEY (enrollment_rid, number)
);

-- Append-only history and change feed. Numbers come from the identity's sequence; imports
-- give their own and move the sequence past them. Appends are serialized by a transaction
-- lock (see `postgres::tx`), so numbers are visible in the order they were given.
CREATE TABLE events (
    seq            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    enrollment_id  TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    program_id     TEXT NOT NULL,
    action         TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT,
    actor          TEXT NOT NULL,
    reason         TEXT,
    at             BIGINT NOT NULL
);
CREATE INDEX events_enrollment ON events (enrollment_id, seq);
CREATE INDEX events_user ON events (user_id, seq);

-- Programs are cached between transactions (storage::ProgramCache) while `program_version`
-- stays the same: every statement that changes programs or their steps sets it to the next
-- value of a sequence, which PostgreSQL never hands out twice, even to a transaction that
-- rolls back. A write reads it with the enrollment it locks (no round trip of its own).
CREATE SEQUENCE program_version_numbers;
CREATE TABLE program_version (
    id       INT PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO program_version (id, version) VALUES (1, 0);
CREATE FUNCTION program_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE program_version SET version = nextval('program_version_numbers');
    RETURN NULL;
END
$$;
CREATE TRIGGER programs_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON programs
    FOR EACH STATEMENT EXECUTE FUNCTION program_version_bump();
CREATE TRIGGER program_steps_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON program_steps FOR EACH STATEMENT EXECUTE FUNCTION program_version_bump();
