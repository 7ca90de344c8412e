#!/usr/bin/env python3
"""Workload W (bench/README.md) for the Python contenders; prints one JSON object of figures,
the same as ``enrollkit-bench`` prints for the Rust contenders.

    contenders.py python|sqlite3|sqlalchemy DB_PATH N [--programs P] [--ops OPS]
                  [--rounds R] [--queries Q]
    contenders.py python-pg|psycopg LOCATION N [same options] [--threads T]

* ``python``: enrollkit's Python module, as an application would call it;
* ``sqlite3``: hand-written SQL with the standard library's ``sqlite3`` over
  ``bench/floor_schema.sql`` (``executemany`` for the bulk phase);
* ``sqlalchemy``: SQLAlchemy 2.x ORM models of the same schema, a session per operation.

Every SQLite contender uses WAL, ``synchronous = NORMAL`` (phase B also ``FULL``), foreign keys,
an event row per change and the partial unique index for one open enrollment (enrollkit: its
own).

On PostgreSQL, at LOCATION (key=value settings or a URL; each run creates the database
``bench_<contender>_<N>`` there, dropping one of that name first):

* ``python-pg``: enrollkit's Python module opened on the new database, the same calls as
  ``python``;
* ``psycopg``: hand-written SQL with psycopg 3 over ``bench/floor_schema_pg.sql``
  (``executemany``, which psycopg pipelines, for the bulk phase; explicit transactions; the
  statements psycopg prepares by itself from their fifth run).

Phase B has one kind of round there (``single``: the median of R rounds), and phase C's first
page is also timed from T client threads at once (``first_page_threads``).
"""

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Protocol, Sequence

SCHEMA = (Path(__file__).resolve().parent / "floor_schema.sql").read_text()
SCHEMA_PG = (Path(__file__).resolve().parent / "floor_schema_pg.sql").read_text()

CHUNK = 10_000  # enrollments (and users) per bulk transaction in phase A
STEPS = 10  # progress steps per enrollment in phase B (10 x 10 % completes it)
PER_PAGE = 20  # rows per page in phase C


class Workload:
    """What to run; the same arithmetic as bench/src/main.rs."""

    def __init__(self, db: Path, n: int, programs: int, ops: int, rounds: int, queries: int,
                 full_round: bool = True, threads: int = 4, location: str = "") -> None:
        self.db, self.n, self.programs, self.ops, self.queries = db, n, programs, ops, queries
        self.rounds = rounds
        # Whether phase B ends with a round with synchronous FULL (SQLite; PostgreSQL has one
        # kind of round); client threads of phase C's concurrent first pages (PostgreSQL);
        # the PostgreSQL database the run uses.
        self.full_round, self.threads, self.location = full_round, threads, location

    @staticmethod
    def user(i: int) -> str:
        return f"usr_{i:08}"

    @staticmethod
    def program(j: int) -> str:
        return f"crs_{j:05}"

    def chunks(self) -> Iterator[range]:
        """The index ranges of phase A's bulk transactions."""
        for start in range(0, self.n, CHUNK):
            yield range(start, min(start + CHUNK, self.n))

    def b_rounds(self) -> int:
        """Rounds of phase B in all: the NORMAL rounds, and FULL's where there is one."""
        return self.rounds + (1 if self.full_round else 0)

    def b_targets(self) -> int:
        """Enrollments one round of phase B changes."""
        return min(self.ops // STEPS, self.n // self.b_rounds())

    def b_changed(self) -> int:
        """Enrollments phase B changes in all (the first ones by creation index): the NORMAL
        rounds' in turn, then FULL's."""
        return self.b_rounds() * self.b_targets()

    def last_page(self, j: int) -> int:
        """The 1-based number of the last page of program j's active enrollments after B."""

        def count(limit: int) -> int:
            return -(-(limit - j) // self.programs) if limit > j else 0

        active = count(self.n) - count(self.b_changed())
        return max(-(-active // PER_PAGE), 1)


def rate(count: int, f: Callable[[], Any]) -> float:
    """Runs f and returns count per second of its run."""
    start = time.perf_counter()
    f()
    return count / (time.perf_counter() - start)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id() -> str:
    return f"enr_{uuid.uuid4().hex}"


class Contender(Protocol):
    """One way of running workload W: bulk load, single operations, pages. The three classes
    below implement it."""

    def open(self, w: Workload, full: bool) -> None:
        """Connects to w.db (synchronous FULL if `full`, else NORMAL)."""

    def close(self) -> None:
        """Closes the connection (the WAL is checkpointed when it is the last)."""

    def bulk(self, w: Workload, figures: Dict[str, Any]) -> List[str]:
        """Phase A; returns the ids of the enrollments phase B changes."""

    def single(self, eid: str) -> None:
        """One operation of phase B: read, check active, add 10 % (100 % completes)."""

    def page(self, program: str, offset: int) -> Sequence[Any]:
        """A page of the program's active enrollments, newest first, skipping offset rows."""

    def keyset(self, program: str, after: Any) -> Sequence[Any]:
        """The page after cursor ``after`` (from ``cursor``)."""

    def cursor(self, row: Any) -> Any:
        """The keyset cursor of a listed row."""


def phase_b(c: Contender, ids: List[str]) -> float:
    """A round of phase B on ids: operations per second."""

    def steps() -> None:
        for _ in range(STEPS):
            for i in ids:
                c.single(i)

    return rate(len(ids) * STEPS, steps)


def queries(c: Contender, w: Workload, figures: Dict[str, Any]) -> None:
    """Phase C: first pages, last pages by offset and by keyset cursor."""
    program = [w.program(q % w.programs) for q in range(w.queries)]
    offset = [(w.last_page(q % w.programs) - 1) * PER_PAGE for q in range(w.queries)]

    def timed(q: Callable[[int], Sequence[Any]]) -> float:
        def loop() -> None:
            for i in range(w.queries):
                if not q(i):
                    raise SystemExit(f"query {i}: empty page")

        return rate(w.queries, loop)

    figures["first_page"] = timed(lambda q: c.page(program[q], 0))
    figures["offset_deep"] = timed(lambda q: c.page(program[q], offset[q]))
    # Keyset: the cursor is the last row of the page before the last one (fetched untimed).
    cursors = [c.cursor(c.page(program[q], offset[q] - PER_PAGE)[-1]) if offset[q] else None
               for q in range(w.queries)]
    figures["keyset_deep"] = timed(lambda q: c.keyset(program[q], cursors[q]))


def run(c: Contender, w: Workload) -> Dict[str, Any]:
    figures: Dict[str, Any] = {}
    c.open(w, full=False)
    targets = c.bulk(w, figures)
    c.close()
    figures["db_bytes"] = w.db.stat().st_size
    per_round = w.b_targets()
    # NORMAL: the median of w.rounds rounds, each on enrollments of its own; FULL: one round.
    c.open(w, full=False)
    figures["single_normal"] = statistics.median(
        phase_b(c, targets[r * per_round:(r + 1) * per_round]) for r in range(w.rounds))
    c.close()
    c.open(w, full=True)
    figures["single_full"] = phase_b(c, targets[w.rounds * per_round:])
    c.close()
    c.open(w, full=False)
    queries(c, w, figures)
    c.close()
    return figures


class PgContender(Contender, Protocol):
    """A contender on PostgreSQL: also a page reader for each client thread of phase C."""

    def worker(self) -> "Worker":
        """What a client thread lists first pages with: its own connection, or the shared
        store."""


class Worker(Protocol):
    def page(self, program: str, offset: int) -> Sequence[Any]:
        """As Contender.page."""

    def close(self) -> None:
        """Releases what the thread opened."""


# First pages each client thread runs before the timed ones (not timed): connections opened
# and statements prepared.
WARM_UP = 100


def fresh_database(base: str, name: str) -> str:
    """Creates the database `name` on the server at `base` (dropping one of that name first)
    and returns its location (key=value settings)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return make_conninfo(base, dbname=name)


def database_bytes(location: str) -> int:
    """Bytes of every table of the public schema, indexes and TOAST included."""
    import psycopg

    with psycopg.connect(location, autocommit=True) as c:
        row = c.execute("SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchone()
        return int(row[0]) if row else 0


def concurrent_first_pages(c: PgContender, w: Workload) -> float:
    """Phase C's first pages from w.threads client threads at once (each WARM_UP untimed
    first, then w.queries; query q of thread t on program (q * threads + t) % programs): the
    queries of all threads per second from their common start to the last one's end."""
    start = threading.Barrier(w.threads + 1)
    errors: List[BaseException] = []
    workers: List[Worker] = []

    def client(t: int) -> None:
        worker = None
        try:
            worker = c.worker()
            workers.append(worker)
            for q in range(min(WARM_UP, w.queries)):
                worker.page(w.program((q * w.threads + t) % w.programs), 0)
        except BaseException as e:  # reported after the threads end
            errors.append(e)
        start.wait()  # every thread waits here, failed or not
        if worker is None or errors:
            return
        try:
            for q in range(w.queries):
                if not worker.page(w.program((q * w.threads + t) % w.programs), 0):
                    raise SystemExit(f"thread {t}, query {q}: empty first page")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(w.threads)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.close()
    if errors:
        raise errors[0]
    return w.threads * w.queries / seconds


def run_pg(c: PgContender, w: Workload) -> Dict[str, Any]:
    """Workload W on PostgreSQL: phase A, phase B (the median of w.rounds rounds), phase C and
    its first pages from w.threads client threads, all on one connection or store."""
    figures: Dict[str, Any] = {}
    c.open(w, full=False)
    targets = c.bulk(w, figures)
    figures["db_bytes"] = database_bytes(w.location)
    per_round = w.b_targets()
    figures["single"] = statistics.median(
        phase_b(c, targets[r * per_round:(r + 1) * per_round]) for r in range(w.rounds))
    queries(c, w, figures)
    figures["first_page_threads"] = concurrent_first_pages(c, w)
    figures["threads"] = w.threads
    c.close()
    return figures


class EnrollkitPython:
    """enrollkit's Python module."""

    def open(self, w: Workload, full: bool) -> None:
        import enrollkit

        self.ek = enrollkit
        self.store = enrollkit.Store(w.db, durable=full)

    def close(self) -> None:
        self.store.close()

    def bulk(self, w: Workload, figures: Dict[str, Any]) -> List[str]:
        ek = self.ek
        for j in range(w.programs):
            self.store.create_program(ek.Program(id=w.program(j), kind=ek.Kind.COURSE, title=f"Course {j}",
                                                 state=ek.ProgramState.ACTIVE, self_enrollment=True))
        figures["users"] = rate(w.n, lambda: [self.store.upsert_users([{"id": w.user(i)} for i in r])
                                              for r in w.chunks()])
        keep = w.b_changed()
        targets: List[str] = []

        def enroll() -> None:
            for r in w.chunks():
                outcomes = self.store.enroll_many(
                    [{"user_id": w.user(i), "program_id": w.program(i % w.programs)} for i in r])
                for o in outcomes:
                    if o.enrollment is None:
                        raise SystemExit(f"unexpected outcome {o.outcome}")
                    if len(targets) < keep:
                        targets.append(o.enrollment.id)

        figures["enroll"] = rate(w.n, enroll)
        return targets

    def single(self, eid: str) -> None:
        # One transaction: add_progress reads, refuses unless active, adds and records.
        self.store.add_progress(eid, 10)

    def page(self, program: str, offset: int) -> Sequence[Any]:
        return self.store.list_page(program_id=program, status="active", order="newest_first",
                                    page=offset // PER_PAGE + 1, per_page=PER_PAGE).items

    def keyset(self, program: str, after: Any) -> Sequence[Any]:
        return self.store.list_page(program_id=program, status="active", order="newest_first",
                                    starting_after=after, per_page=PER_PAGE).items

    def cursor(self, row: Any) -> Any:
        return row.id


class EnrollkitPythonPg(EnrollkitPython):
    """enrollkit's Python module on PostgreSQL: the same calls as EnrollkitPython. The store
    (thread-safe, a pool of connections) serves every client thread of phase C."""

    def open(self, w: Workload, full: bool) -> None:
        import enrollkit

        self.ek = enrollkit
        self.store = enrollkit.Store(w.location)

    def worker(self) -> Worker:
        return _SharedStore(self)


class _SharedStore:
    def __init__(self, owner: EnrollkitPythonPg) -> None:
        self.owner = owner

    def page(self, program: str, offset: int) -> Sequence[Any]:
        return self.owner.page(program, offset)

    def close(self) -> None:
        pass


COLUMNS = "rid, id, user_id, program_id, status, progress, enrolled_at, completed_at, updated_at"


class Sqlite3:
    """Hand-written SQL with the standard library's sqlite3 (explicit transactions)."""

    def open(self, w: Workload, full: bool) -> None:
        import sqlite3

        self.c = sqlite3.connect(w.db, isolation_level=None, timeout=5.0, cached_statements=64)
        self.c.execute("PRAGMA journal_mode = WAL")
        self.c.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
        self.c.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        self.c.close()

    def bulk(self, w: Workload, figures: Dict[str, Any]) -> List[str]:
        c = self.c
        c.executescript(SCHEMA)
        c.execute("BEGIN")
        c.executemany("INSERT INTO programs (id, kind, title, state, created_at) VALUES (?, 'course', ?, 'active', ?)",
                      [(w.program(j), f"Course {j}", now_ms()) for j in range(w.programs)])
        c.execute("COMMIT")

        def users() -> None:
            for r in w.chunks():
                c.execute("BEGIN")
                c.executemany("INSERT INTO users (id, created_at) VALUES (?, ?)",
                              [(w.user(i), now_ms()) for i in r])
                c.execute("COMMIT")

        figures["users"] = rate(w.n, users)
        keep = w.b_changed()
        targets: List[str] = []

        def enroll() -> None:
            for r in w.chunks():
                rows = [(new_id(), w.user(i), w.program(i % w.programs), now_ms()) for i in r]
                c.execute("BEGIN")
                c.executemany("INSERT INTO enrollments (id, user_id, program_id, status, enrolled_at, updated_at)"
                              " VALUES (?, ?, ?, 'active', ?, ?4)", rows)
                c.executemany("INSERT INTO events (enrollment_id, action, to_status, at)"
                              " VALUES (?, 'enrolled', 'active', ?)", [(r[0], r[3]) for r in rows])
                c.execute("COMMIT")
                targets.extend(r[0] for r in rows[:keep - len(targets)])

        figures["enroll"] = rate(w.n, enroll)
        return targets

    def single(self, eid: str) -> None:
        c = self.c
        c.execute("BEGIN IMMEDIATE")
        try:
            rid, status, progress = c.execute("SELECT rid, status, progress FROM enrollments WHERE id = ?",
                                              (eid,)).fetchone()
            if status != "active":
                raise SystemExit(f"{eid} is not active")
            at, progress = now_ms(), progress + 10
            if progress >= 100:
                c.execute("UPDATE enrollments SET status = 'completed', progress = 100, completed_at = ?2,"
                          " updated_at = ?2 WHERE rid = ?1", (rid, at))
                c.execute("INSERT INTO events (enrollment_id, action, from_status, to_status, at)"
                          " VALUES (?, 'completed', 'active', 'completed', ?)", (eid, at))
            else:
                c.execute("UPDATE enrollments SET progress = ?, updated_at = ? WHERE rid = ?", (progress, at, rid))
                c.execute("INSERT INTO events (enrollment_id, action, from_status, to_status, at)"
                          " VALUES (?, 'progress', 'active', 'active', ?)", (eid, at))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def page(self, program: str, offset: int) -> Sequence[Any]:
        return self.c.execute(f"SELECT {COLUMNS} FROM enrollments WHERE program_id = ? AND status = 'active'"
                              " ORDER BY rid DESC LIMIT ? OFFSET ?", (program, PER_PAGE, offset)).fetchall()

    def keyset(self, program: str, after: Any) -> Sequence[Any]:
        return self.c.execute(f"SELECT {COLUMNS} FROM enrollments WHERE program_id = ? AND status = 'active'"
                              " AND rid < ? ORDER BY rid DESC LIMIT ?",
                              (program, after if after is not None else 2**63 - 1, PER_PAGE)).fetchall()

    def cursor(self, row: Any) -> Any:
        return row[0]


class SqlAlchemy:
    """SQLAlchemy 2.x ORM models of floor_schema.sql; one session per operation."""

    def __init__(self) -> None:
        from sqlalchemy import ForeignKey, Index, Integer, String, text
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class User(Base):
            __tablename__ = "users"
            id: Mapped[str] = mapped_column(String, primary_key=True)
            email: Mapped[Optional[str]]
            created_at: Mapped[int]

        class Program(Base):
            __tablename__ = "programs"
            id: Mapped[str] = mapped_column(String, primary_key=True)
            kind: Mapped[str]
            title: Mapped[str]
            state: Mapped[str]
            created_at: Mapped[int]

        class Enrollment(Base):
            __tablename__ = "enrollments"
            rid: Mapped[int] = mapped_column(Integer, primary_key=True)
            id: Mapped[str] = mapped_column(unique=True)
            user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
            program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
            status: Mapped[str]
            progress: Mapped[float] = mapped_column(default=0.0)
            enrolled_at: Mapped[int]
            completed_at: Mapped[Optional[int]]
            updated_at: Mapped[int]
            __table_args__ = (
                Index("enrollments_one_open", "user_id", "program_id", unique=True,
                      sqlite_where=text("status <> 'completed'")),
                Index("enrollments_program_status", "program_id", "status", "rid"),
            )

        class Event(Base):
            __tablename__ = "events"
            seq: Mapped[int] = mapped_column(Integer, primary_key=True)
            enrollment_id: Mapped[str] = mapped_column(index=True)
            action: Mapped[str]
            from_status: Mapped[Optional[str]]
            to_status: Mapped[Optional[str]]
            at: Mapped[int]

        self.Base, self.User, self.Program, self.Enrollment, self.Event = Base, User, Program, Enrollment, Event

    def open(self, w: Workload, full: bool) -> None:
        from sqlalchemy import create_engine, event
        from sqlalchemy.orm import sessionmaker

        self.engine = create_engine(f"sqlite:///{w.db}", connect_args={"timeout": 5.0})

        @event.listens_for(self.engine, "connect")
        def pragmas(conn: Any, _: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        self.Session = sessionmaker(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def bulk(self, w: Workload, figures: Dict[str, Any]) -> List[str]:
        self.Base.metadata.create_all(self.engine)
        with self.Session.begin() as s:
            s.add_all(self.Program(id=w.program(j), kind="course", title=f"Course {j}", state="active",
                                   created_at=now_ms()) for j in range(w.programs))

        def users() -> None:
            for r in w.chunks():
                with self.Session.begin() as s:
                    s.add_all(self.User(id=w.user(i), created_at=now_ms()) for i in r)

        figures["users"] = rate(w.n, users)
        keep = w.b_changed()
        targets: List[str] = []

        def enroll() -> None:
            for r in w.chunks():
                with self.Session.begin() as s:
                    for i in r:
                        at = now_ms()
                        e = self.Enrollment(id=new_id(), user_id=w.user(i), program_id=w.program(i % w.programs),
                                            status="active", enrolled_at=at, updated_at=at)
                        s.add(e)
                        s.add(self.Event(enrollment_id=e.id, action="enrolled", to_status="active", at=at))
                        if len(targets) < keep:
                            targets.append(e.id)

        figures["enroll"] = rate(w.n, enroll)
        return targets

    def single(self, eid: str) -> None:
        from sqlalchemy import select

        with self.Session.begin() as s:
            e = s.scalars(select(self.Enrollment).where(self.Enrollment.id == eid)).one()
            if e.status != "active":
                raise SystemExit(f"{eid} is not active")
            at = now_ms()
            e.progress += 10
            e.updated_at = at
            action = "progress"
            if e.progress >= 100:
                e.progress, e.status, e.completed_at, action = 100.0, "completed", at, "completed"
            s.add(self.Event(enrollment_id=eid, action=action, from_status="active", to_status=e.status, at=at))

    def _select(self, program: str) -> Any:
        from sqlalchemy import select

        E = self.Enrollment
        return (select(E).where(E.program_id == program, E.status == "active")
                .order_by(E.rid.desc()).limit(PER_PAGE))

    def page(self, program: str, offset: int) -> Sequence[Any]:
        with self.Session() as s:
            return s.scalars(self._select(program).offset(offset)).all()

    def keyset(self, program: str, after: Any) -> Sequence[Any]:
        with self.Session() as s:
            q = self._select(program)
            return s.scalars(q if after is None else q.where(self.Enrollment.rid < after)).all()

    def cursor(self, row: Any) -> Any:
        return row.rid


class Psycopg:
    """Hand-written SQL with psycopg 3 over floor_schema_pg.sql: autocommit connections,
    explicit transactions for writes (``with conn.transaction()``), the row read in phase B
    locked (``FOR UPDATE``), as a program that other processes write beside must under READ
    COMMITTED. psycopg prepares a statement by itself from its fifth run (prepare_threshold)."""

    PAGE = (f"SELECT {COLUMNS} FROM enrollments WHERE program_id = %s AND status = 'active'"
            " ORDER BY rid DESC LIMIT %s OFFSET %s")

    def open(self, w: Workload, full: bool) -> None:
        import psycopg

        self.location = w.location
        self.c = psycopg.connect(w.location, autocommit=True)

    def close(self) -> None:
        self.c.close()

    def bulk(self, w: Workload, figures: Dict[str, Any]) -> List[str]:
        c = self.c
        c.execute(SCHEMA_PG)
        with c.transaction():
            c.cursor().executemany(
                "INSERT INTO programs (id, kind, title, state, created_at) VALUES (%s, 'course', %s, 'active', %s)",
                [(w.program(j), f"Course {j}", now_ms()) for j in range(w.programs)])

        def users() -> None:
            for r in w.chunks():
                with c.transaction():
                    c.cursor().executemany("INSERT INTO users (id, created_at) VALUES (%s, %s)",
                                           [(w.user(i), now_ms()) for i in r])

        figures["users"] = rate(w.n, users)
        keep = w.b_changed()
        targets: List[str] = []

        def enroll() -> None:
            for r in w.chunks():
                rows = [(new_id(), w.user(i), w.program(i % w.programs), now_ms()) for i in r]
                with c.transaction():
                    cur = c.cursor()
                    cur.executemany("INSERT INTO enrollments (id, user_id, program_id, status, enrolled_at,"
                                    " updated_at) VALUES (%s, %s, %s, 'active', %s, %s)",
                                    [(e, u, p, at, at) for e, u, p, at in rows])
                    cur.executemany("INSERT INTO events (enrollment_id, action, to_status, at)"
                                    " VALUES (%s, 'enrolled', 'active', %s)", [(r[0], r[3]) for r in rows])
                targets.extend(r[0] for r in rows[:keep - len(targets)])

        figures["enroll"] = rate(w.n, enroll)
        return targets

    def single(self, eid: str) -> None:
        c = self.c
        with c.transaction():
            row = c.execute("SELECT rid, status, progress FROM enrollments WHERE id = %s FOR UPDATE",
                            (eid,)).fetchone()
            if row is None or row[1] != "active":
                raise SystemExit(f"{eid} is not active")
            rid, _, progress = row
            at, progress = now_ms(), progress + 10
            if progress >= 100:
                c.execute("UPDATE enrollments SET status = 'completed', progress = 100, completed_at = %s,"
                          " updated_at = %s WHERE rid = %s", (at, at, rid))
                c.execute("INSERT INTO events (enrollment_id, action, from_status, to_status, at)"
                          " VALUES (%s, 'completed', 'active', 'completed', %s)", (eid, at))
            else:
                c.execute("UPDATE enrollments SET progress = %s, updated_at = %s WHERE rid = %s",
                          (progress, at, rid))
                c.execute("INSERT INTO events (enrollment_id, action, from_status, to_status, at)"
                          " VALUES (%s, 'progress', 'active', 'active', %s)", (eid, at))

    def page(self, program: str, offset: int) -> Sequence[Any]:
        return self.c.execute(self.PAGE, (program, PER_PAGE, offset)).fetchall()

    def keyset(self, program: str, after: Any) -> Sequence[Any]:
        return self.c.execute(f"SELECT {COLUMNS} FROM enrollments WHERE program_id = %s AND status = 'active'"
                              " AND rid < %s ORDER BY rid DESC LIMIT %s",
                              (program, after if after is not None else 2**63 - 1, PER_PAGE)).fetchall()

    def cursor(self, row: Any) -> Any:
        return row[0]

    def worker(self) -> Worker:
        return _PsycopgWorker(self.location)


class _PsycopgWorker:
    """A client thread's own connection."""

    def __init__(self, location: str) -> None:
        import psycopg

        self.c = psycopg.connect(location, autocommit=True)

    def page(self, program: str, offset: int) -> Sequence[Any]:
        return self.c.execute(Psycopg.PAGE, (program, PER_PAGE, offset)).fetchall()

    def close(self) -> None:
        self.c.close()


CONTENDERS: Dict[str, Callable[[], Contender]] = {
    "python": EnrollkitPython,
    "sqlite3": Sqlite3,
    "sqlalchemy": SqlAlchemy,
}
# The PostgreSQL contenders: they take the server's location instead of a file.
PG_CONTENDERS: Dict[str, Callable[[], PgContender]] = {
    "python-pg": EnrollkitPythonPg,
    "psycopg": Psycopg,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=[*CONTENDERS, *PG_CONTENDERS])
    parser.add_argument("db", help="database file, or the PostgreSQL server's location")
    parser.add_argument("n", type=int)
    parser.add_argument("--programs", type=int, default=1_000)
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=4)
    a = parser.parse_args()
    if (min(a.n, a.programs, a.queries, a.rounds, a.threads) <= 0 or a.programs > a.n or a.ops < STEPS
            or a.n <= a.rounds):
        parser.error("need N >= programs > 0, N > rounds > 0, queries > 0, threads > 0, ops >= 10")
    if a.contender in PG_CONTENDERS:
        name = f"bench_{a.contender.replace('-', '_')}_{a.n}"
        w = Workload(Path(), a.n, a.programs, a.ops, a.rounds, a.queries, full_round=False,
                     threads=a.threads, location=fresh_database(a.db, name))
        figures = run_pg(PG_CONTENDERS[a.contender](), w)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{a.db}{suffix}").unlink(missing_ok=True)
        w = Workload(Path(a.db), a.n, a.programs, a.ops, a.rounds, a.queries)
        figures = run(CONTENDERS[a.contender](), w)
    print(json.dumps({"contender": a.contender, "n": a.n, **figures}))


if __name__ == "__main__":
    main()
