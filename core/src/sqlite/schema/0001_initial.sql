-- enrollkit schema, version 1 (SQLite).
--
-- Times are epoch milliseconds (UTC). Enrollment status is the canonical status code:
--   0 new, 1 active, 2 processing, 3 active_batch, 4 processing_batch, 5 delivered,
--   6 paused, 7 completed, 8 failed, 9 dropped, 10 canceled
-- Program kind on enrollments: 0 course, 1 certification, 2 track.
-- Step status: 0 pending, 1 delivered, 2 completed, 3 failed, 4 skipped.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT,
    display_name  TEXT,
    external_id   TEXT,
    department    TEXT,
    location      TEXT,
    manager_id    TEXT,
    groups_json   TEXT NOT NULL DEFAULT '[]',
    timezone      TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE programs (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('course', 'certification', 'track')),
    title            TEXT NOT NULL,
    description      TEXT,
    state            TEXT NOT NULL CHECK (state IN ('draft', 'active', 'paused', 'archived')),
    self_enrollment  INTEGER NOT NULL CHECK (self_enrollment IN (0, 1)),
    passing_score    REAL CHECK (passing_score BETWEEN 0 AND 100),
    max_attempts     INTEGER CHECK (max_attempts >= 1),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE program_steps (
    program_id           TEXT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    step_id              TEXT NOT NULL,
    position             INTEGER NOT NULL,
    step_type            TEXT NOT NULL,
    title                TEXT NOT NULL,
    learner_completable  INTEGER NOT NULL CHECK (learner_completable IN (0, 1)),
    PRIMARY KEY (program_id, step_id)
) WITHOUT ROWID;

CREATE TABLE enrollments (
    rid                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    user_id              TEXT NOT NULL REFERENCES users (id),
    program_id           TEXT NOT NULL REFERENCES programs (id),
    kind                 INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 2),
    status               INTEGER NOT NULL CHECK (status BETWEEN 0 AND 10),
    resume_status        INTEGER,
    trigger              TEXT NOT NULL,
    added_by_user_id     TEXT,
    added_by_program_id  TEXT,
    partnership_id       TEXT,
    mentor_id            TEXT,
    mentor_assigned_at   INTEGER,
    timezone             TEXT,
    enrolled_at          INTEGER NOT NULL,
    start_at             INTEGER,
    started_at           INTEGER,
    delivered_at         INTEGER,
    completed_at         INTEGER,
    failed_at            INTEGER,
    dropped_at           INTEGER,
    canceled_at          INTEGER,
    failure_reason       TEXT,
    failure_message      TEXT,
    next_step_at         INTEGER,
    steps_delivered      INTEGER NOT NULL DEFAULT 0,
    steps_completed      INTEGER NOT NULL DEFAULT 0,
    steps_skipped        INTEGER NOT NULL DEFAULT 0,
    progress             REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts             INTEGER NOT NULL DEFAULT 0,
    best_score           REAL,
    passed               INTEGER,
    previous_id          TEXT,
    attempt_number       INTEGER NOT NULL DEFAULT 1,
    updated_at           INTEGER NOT NULL
);

-- At most one open enrollment per user and program, enforced by the database itself.
-- Open = every status except completed (7), failed (8) and canceled (10).
CREATE UNIQUE INDEX enrollments_one_open ON enrollments (user_id, program_id)
    WHERE status NOT IN (7, 8, 10);
-- Lists: by user, by program (and status), newest or oldest first by rid (keyset cursors).
CREATE INDEX enrollments_user ON enrollments (user_id, rid);
CREATE INDEX enrollments_program ON enrollments (program_id, rid);
CREATE INDEX enrollments_program_status ON enrollments (program_id, status, rid);
CREATE INDEX enrollments_scheduled ON enrollments (start_at) WHERE status = 0 AND start_at IS NOT NULL;

CREATE TABLE step_progress (
    enrollment_rid    INTEGER NOT NULL REFERENCES enrollments (rid) ON DELETE CASCADE,
    step_id           TEXT NOT NULL,
    status            INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
    started_at        INTEGER,
    delivered_at      INTEGER,
    completed_at      INTEGER,
    failed_at         INTEGER,
    skipped_at        INTEGER,
    failure_reason    TEXT,
    failure_message   TEXT,
    destination_type  TEXT,
    result_json       TEXT,
    PRIMARY KEY (enrollment_rid, step_id)
) WITHOUT ROWID;

CREATE TABLE attempts (
    enrollment_rid  INTEGER NOT NULL REFERENCES enrollments (rid) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    score           REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
    passed          INTEGER,
    submitted_at    INTEGER NOT NULL,
    PRIMARY KEY (enrollment_rid, number)
) WITHOUT ROWID;

-- Append-only history and change feed. AUTOINCREMENT: a sequence number is never reused.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    enrollment_id  TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    program_id     TEXT NOT NULL,
    action         TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT,
    actor          TEXT NOT NULL,
    reason         TEXT,
    at             INTEGER NOT NULL
);

CREATE INDEX events_enrollment ON events (enrollment_id, seq);
