"""The Python API: every method, every exception class, threads, and bad input of every type."""

import json
import math
import os
import pickle
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple

import enrollkit
import pytest
from scenario_driver import backends, fresh_postgres_database
from enrollkit import (
    Actor,
    Anchor,
    Assessment,
    BatchMode,
    Claim,
    Deadline,
    DelayUnit,
    Enrollment,
    Erasure,
    FailureReason,
    Kind,
    Order,
    Policy,
    Program,
    ProgramState,
    Step,
    StepChange,
    StepSchedule,
    StepStatus,
    Store,
    Trigger,
    User,
    View,
)

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
LEARNER = Actor.learner("u1")


def course(id: str = "crs", **kw: object) -> Program:
    return Program(id=id, kind=Kind.COURSE, title="Course", state=ProgramState.ACTIVE,
                   self_enrollment=True, **kw)  # type: ignore[arg-type]


def track() -> Program:
    return Program(id="trk", kind=Kind.TRACK, title="Track", state=ProgramState.ACTIVE, steps=[
        Step("hello", "message", "Hello", learner_completable=False),
        Step("survey", "survey", "Survey"),
        Step("task", "task", "Task"),
    ])


@pytest.fixture(params=backends())
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store with users and programs: in memory, and in a new PostgreSQL database under
    scripts/pg (every test that takes it runs on both)."""
    if request.param == "postgres":
        s = Store(fresh_postgres_database(), manual_clock=True)
    else:
        s = Store.in_memory(manual_clock=True)
    s.set_time(T0)
    s.upsert_user(User(id="u1", email="u1@example.com", external_id="X1", display_name="Una",
                       groups=["Eng"], timezone="Europe/Berlin", manager_id="u2"))
    s.upsert_user({"id": "u2", "email": "u2@example.com", "display_name": "Dos"})
    s.create_program(course(assessment=Assessment(passing_score=60, max_attempts=2)))
    s.create_program(track())
    s.create_program(Program(id="cert", kind=Kind.CERTIFICATION, title="Cert", state="active"))
    yield s
    assert s.closed or s.check() == []
    s.close()


# -- opening ---------------------------------------------------------------------------------


def test_file_store_round_trip(tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "e.db")
    with Store(path, durable=True) as s:
        assert s.path == path and s.schema_version >= 1
        s.upsert_user(User(id="u1"))
        s.create_program(course())
        e = s.enroll("u1", "crs")
    assert s.closed
    with pytest.raises(enrollkit.StorageError):
        s.get_user("u1")
    s.close()  # closing twice is fine
    with Store(path, create=False) as again:
        assert again.get_enrollment(e.id) == e


def test_sql_views_read_from_outside_the_library(tmp_path: "os.PathLike[str]") -> None:
    """The views a SQL reader sees (sqlite3 here, a different SQLite from enrollkit's): names
    in each program's vocabulary and ISO-8601 UTC times, the same as the records'."""
    import sqlite3

    path = os.path.join(tmp_path, "views.db")
    with Store(path, manual_clock=True) as s:
        s.set_time(T0 + timedelta(milliseconds=123))
        s.upsert_user(User(id="u1", email="u1@example.com"))
        s.create_program(track())
        s.create_program(Program(id="cert", kind=Kind.CERTIFICATION, title="Cert", state="active"))
        t = s.enroll("u1", "trk")
        t = s.deliver_step(t.id, "hello")
        c = s.enroll("u1", "cert")
        c = s.set_progress(c.id, 40)
        records = {e.id: e for e in (t, c)}
        steps = s.step_progress(t.id)
        history = s.history(c.id)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM enrollments_view ORDER BY id").fetchall()
        assert {r["id"] for r in rows} == set(records)
        for r in rows:
            e = records[r["id"]].to_dict()
            for key in ("kind", "status", "enrolled_at", "started_at", "updated_at", "progress_percent", "steps_delivered"):
                assert r[key] == e[key], (key, r[key], e[key])
        assert {r["status"] for r in rows} == {"active", "in_progress"}
        assert rows[0]["enrolled_at"] == "2026-01-15T10:00:00.123Z"
        step_rows = conn.execute(
            "SELECT step_id, status, delivered_at FROM step_progress_view WHERE enrollment_id = ?", (t.id,)
        ).fetchall()
        touched = [p for p in steps if p.status is not StepStatus.PENDING]
        assert [(r["step_id"], r["status"]) for r in step_rows] == [(p.step_id, p.status.value) for p in touched]
        assert step_rows[0]["delivered_at"] == "2026-01-15T10:00:00.123Z"
        events = conn.execute(
            "SELECT seq, action, to_status, at FROM events_view WHERE enrollment_id = ? ORDER BY seq", (c.id,)
        ).fetchall()
        assert [(r["seq"], r["action"], r["to_status"]) for r in events] == [
            (ev.seq, ev.action, ev.to_status) for ev in history
        ]
        assert all(r["at"] == "2026-01-15T10:00:00.123Z" for r in events)
        user = conn.execute("SELECT email, created_at FROM users_view").fetchone()
        assert tuple(user) == ("u1@example.com", "2026-01-15T10:00:00.123Z")
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("UPDATE enrollments_view SET status = 'completed'")


def test_read_only(tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "e.db")
    with Store(path) as s:
        s.upsert_user(User(id="u1"))
        s.create_program(course())
        e = s.enroll("u1", "crs")
    with open(path, "rb") as f:
        before = f.read()
    with Store(path, read_only=True) as ro:
        assert ro.get_enrollment(e.id) == e
        with pytest.raises(enrollkit.StorageError, match="read-only"):
            ro.upsert_user(User(id="u2"))
        with pytest.raises(enrollkit.StorageError, match="read-only"):
            ro.drop(e.id)
    with open(path, "rb") as f:
        assert f.read() == before
    with pytest.raises(enrollkit.StorageError):
        Store(os.path.join(tmp_path, "never.db"), read_only=True)
    assert not os.path.exists(os.path.join(tmp_path, "never.db"))
    with pytest.raises(enrollkit.ValidationError):
        Store(None, read_only=True)


def test_new_files_are_the_owners_only(tmp_path: "os.PathLike[str]") -> None:
    old = os.umask(0o022)
    try:
        for name, owner_only, expected in [("private", True, 0o600), ("shared", False, 0o644)]:
            path = os.path.join(tmp_path, f"{name}.db")
            with Store(path, owner_only=owner_only) as s:
                s.upsert_user(User(id="u1"))
                modes = [os.stat(path + suffix).st_mode & 0o777 for suffix in ("", "-wal", "-shm")]
                s.backup(os.path.join(tmp_path, f"{name}.backup"))
            modes.append(os.stat(os.path.join(tmp_path, f"{name}.backup")).st_mode & 0o777)
            assert modes == [expected] * 4, name
    finally:
        os.umask(old)


def test_open_errors(tmp_path: "os.PathLike[str]") -> None:
    with pytest.raises(enrollkit.StorageError):
        Store(os.path.join(tmp_path, "missing.db"), create=False)
    garbage = os.path.join(tmp_path, "garbage.db")
    with open(garbage, "wb") as f:
        f.write(bytes(range(256)) * 16)
    with pytest.raises(enrollkit.CorruptError):
        Store(garbage)
    assert os.path.getsize(garbage) == 4096
    newer = os.path.join(tmp_path, "newer.db")
    Store(newer).close()
    with open(newer, "r+b") as f:
        f.seek(60)
        f.write((99).to_bytes(4, "big"))
    with pytest.raises(enrollkit.SchemaTooNewError) as info:
        Store(newer)
    assert info.value.details["found"] == 99
    with pytest.raises(TypeError):
        Store(42)  # type: ignore[arg-type]
    with pytest.raises(enrollkit.ValidationError):
        Store(None, busy_timeout=-1)


def test_clock(store: Store) -> None:
    assert store.now() == T0 and store.now().tzinfo is not None
    store.advance_time(timedelta(seconds=1.5))
    store.advance_time(500)
    assert store.now() == T0 + timedelta(seconds=2)
    store.set_time("2026-02-01T00:00:00+01:00")
    assert store.now() == datetime(2026, 1, 31, 23, tzinfo=timezone.utc)
    with pytest.raises(enrollkit.ValidationError):
        store.set_time(datetime(2026, 1, 1))  # naive
    with pytest.raises(enrollkit.ValidationError):
        Store.in_memory().set_time(T0)  # not a manual clock


# -- users and programs ----------------------------------------------------------------------


def test_users(store: Store) -> None:
    u = store.get_user("u1")
    assert u == User(id="u1", email="u1@example.com", external_id="X1", display_name="Una", groups=["Eng"],
                     timezone="Europe/Berlin", manager_id="u2")
    assert store.find_user(email="U1@EXAMPLE.COM").id == "u1"
    assert store.find_user(external_id="X1").id == "u1"
    with pytest.raises(TypeError):
        store.find_user()
    with pytest.raises(TypeError):
        store.find_user(email="a@b.c", external_id="X")
    assert [x.id for x in store.list_users(limit=1)] == ["u1"]
    assert [x.id for x in store.list_users(after="u1")] == ["u2"]
    with pytest.raises(enrollkit.ConflictError):
        store.upsert_user(User(id="u3", email="u1@example.com"))
    with pytest.raises(enrollkit.NotFoundError) as info:
        store.get_user("nobody")
    assert (info.value.entity, info.value.id) == ("user", "nobody")
    with pytest.raises(enrollkit.ValidationError):
        store.upsert_user({"id": "u4", "shoe_size": 44})


def test_upsert_users_is_all_or_nothing(store: Store) -> None:
    assert store.upsert_users([User(id="b1"), {"id": "b2", "email": "b2@example.com"}]) == 2
    assert store.get_user("b2").email == "b2@example.com"
    assert store.upsert_users([]) == 0
    with pytest.raises(enrollkit.ConflictError, match="row 1"):
        store.upsert_users([User(id="b3"), User(id="b4", email="U1@example.com")])
    with pytest.raises(enrollkit.NotFoundError):
        store.get_user("b3")
    with pytest.raises(enrollkit.ValidationError, match="row 1"):
        store.upsert_users([{"id": "b5"}, {"id": ""}])
    with pytest.raises(enrollkit.NotFoundError):
        store.get_user("b5")


def test_programs(store: Store) -> None:
    p = store.get_program("trk")
    assert p.kind is Kind.TRACK and p.state is ProgramState.ACTIVE
    assert [s.id for s in p.steps] == ["hello", "survey", "task"]
    assert p.created_at == T0 and p.created_at.tzinfo is not None
    assert [x.id for x in store.list_programs(kind=Kind.COURSE)] == ["crs"]
    assert [x.id for x in store.list_programs(state="active", after="crs", limit=1)] == ["trk"]
    updated = store.update_program(Program(id="cert", kind=Kind.CERTIFICATION, title="Renamed",
                                           state=ProgramState.PAUSED))
    assert updated.title == "Renamed" and updated.state is ProgramState.PAUSED
    with pytest.raises(enrollkit.ValidationError):
        store.update_program(Program(id="cert", kind=Kind.COURSE, title="X", state=ProgramState.PAUSED))
    with pytest.raises(enrollkit.ConflictError):
        store.create_program(course())
    with pytest.raises(enrollkit.ValidationError):
        store.list_programs(kind="webinar")


# -- enrollments -----------------------------------------------------------------------------


def test_course_lifecycle_and_records(store: Store) -> None:
    e = store.enroll("u1", "crs", actor=LEARNER)
    assert isinstance(e, Enrollment)
    assert e.status == "active" and e.kind is Kind.COURSE and e.kind == "course"
    assert e.trigger is Trigger.SELF_JOIN and e.enrolled_at == T0 and e.completed_at is None
    assert e.timezone == "Europe/Berlin" and e.progress_percent == 0
    with pytest.raises(enrollkit.AlreadyEnrolledError) as info:
        store.enroll("u1", "crs")
    assert info.value.existing_id == e.id and info.value.status == "active"
    store.advance_time(60_000)
    e2 = store.set_progress(e.id, 40, actor=LEARNER)
    assert e2.progress_percent == 40 and e2.started_at == T0 + timedelta(minutes=1)
    e2, attempt = store.submit_attempt(e.id, 55, actor=LEARNER)
    assert (attempt.number, attempt.score, attempt.passed) == (1, 55, False)
    store.submit_attempt(e.id, 75.5, actor=LEARNER)
    with pytest.raises(enrollkit.AttemptLimitReachedError) as limit:
        store.submit_attempt(e.id, 99, actor=LEARNER)
    assert limit.value.limit == 2
    assert [a.score for a in store.attempts(e.id)] == [55, 75.5]
    assert store.drop(e.id, actor=LEARNER).status == "dropped"
    with pytest.raises(enrollkit.InvalidTransitionError) as bad:
        store.drop(e.id)
    assert (bad.value.from_status, bad.value.to_status, bad.value.action) == ("dropped", "dropped", "drop")
    assert store.reactivate(e.id, actor=LEARNER).status == "active"
    done = store.set_progress(e.id, 100, actor=LEARNER)
    assert done.status == "completed" and done.best_score == 75.5 and done.passed is True
    assert store.render(e.id, View.COURSE) == {
        "id": e.id, "user_id": "u1", "course_id": "crs", "status": "completed", "progress_percent": 100,
        "enrolled_at": "2026-01-15T10:00:00.000Z", "completed_at": "2026-01-15T10:01:00.000Z"}
    again = store.enroll("u1", "crs", allow_reenroll=True)
    assert (again.previous_id, again.attempt_number) == (e.id, 2)
    assert [x.id for x in store.lineage("u1", "crs", actor=LEARNER)] == [e.id, again.id]
    assert Enrollment.from_dict(done.to_dict()) == done
    # Fields of a newer enrollkit are skipped; a missing required field is a TypeError.
    assert Enrollment.from_dict({**done.to_dict(), "from_the_future": 1}) == done
    partial = done.to_dict()
    del partial["user_id"]
    with pytest.raises(TypeError, match="user_id"):
        Enrollment.from_dict(partial)
    history = store.history(e.id, actor=LEARNER)
    assert history[0].action == "enrolled" and history[-1].to_status == "completed"
    assert history[0].at.tzinfo is not None
    assert store.status_at(e.id, T0) == "active"
    assert store.status_at(e.id, T0 - timedelta(seconds=1)) is None
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.delete_enrollment(e.id, actor=LEARNER)
    store.delete_enrollment(e.id)
    with pytest.raises(enrollkit.NotFoundError):
        store.get_enrollment(e.id)
    assert store.history(e.id)[-1].action == "deleted"


def test_track_steps_mentor_schedule(store: Store) -> None:
    e = store.enroll(None, "trk", email="u1@example.com", trigger=Trigger.USER_JOIN,
                     added_by_program_id="wf_src", actor=Actor.SYSTEM)
    assert e.status == "active" and e.added_by_program_id == "wf_src"
    store.start_step(e.id, "hello", actor=Actor.SYSTEM)
    store.deliver_step(e.id, "hello", "user", actor=Actor.SYSTEM)
    store.deliver_step(e.id, "survey", actor=Actor.SYSTEM)
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.complete_step(e.id, "hello", actor=LEARNER)
    with pytest.raises(enrollkit.ValidationError) as v:
        store.complete_step(e.id, "survey", [1, 2], actor=LEARNER)  # type: ignore[arg-type]
    assert v.value.field == "result"
    e = store.complete_step(e.id, "survey", {"answers": [{"value": 8}]}, actor=LEARNER)
    assert (e.steps_delivered, e.steps_completed) == (2, 1)
    store.fail_step(e.id, "task", "bounced", "Mailbox full", actor=Actor.SYSTEM)
    assert store.begin_processing(e.id).status == "processing"
    assert store.pause(e.id).resume_status == "processing"
    assert store.resume(e.id).status == "processing"
    assert store.end_processing(e.id).status == "active"
    m = store.assign_mentor(e.id, "u2")
    assert m.mentor_id == "u2" and m.mentor_assigned_at == T0
    assert store.assign_mentor(e.id, None).mentor_id is None
    nxt = T0 + timedelta(days=5)
    assert store.set_next_step_at(e.id, nxt).next_step_at == nxt
    assert store.set_next_step_at(e.id, None).next_step_at is None
    done = store.skip_step(e.id, "task", actor=Actor.SYSTEM)
    assert done.status == "completed" and done.delivered_at == T0
    steps = store.step_progress(e.id, actor=LEARNER)
    assert [s.status for s in steps] == [StepStatus.DELIVERED, StepStatus.COMPLETED, StepStatus.SKIPPED]
    assert steps[1].result == {"answers": [{"value": 8}]} and steps[2].failure_reason == "bounced"
    # Results come back as json.loads would build them: same types, same values.
    rich = {"n": -(2**63), "u": 2**64 - 1, "f": 0.1, "e": 1e-300, "t": True, "z": None,
            "s": "é\u0000'; DROP TABLE x; --", "l": [[], {}, [1.5, "x"]], "": {"nested": {"k": 1}}}
    store.upsert_user(User(id="u3"))
    again = store.enroll("u3", "trk", actor=Actor.SYSTEM)
    store.deliver_step(again.id, "survey", actor=Actor.SYSTEM)
    store.complete_step(again.id, "survey", rich, actor="learner:u3")
    back = store.step_progress(again.id)[1].result
    assert back == rich and json.dumps(back) == json.dumps(rich)
    assert [type(back[k]) for k in "nuft"] == [int, int, float, bool]
    view = store.render(e.id, "track")
    assert view["object"] == "track_enrollee" and view["manager_name"] == "Dos"
    assert view["step_progress"][0]["object"] == "track_step_progress"

    later = store.enroll("u2", "trk", start_at=T0 + timedelta(hours=1), actor=Actor.SYSTEM)
    assert later.status == "new" and later.start_at == T0 + timedelta(hours=1)
    assert store.start_due() == []
    store.advance_time(timedelta(hours=1))
    assert store.start_due() == [later.id]
    assert store.cancel(later.id).status == "canceled"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_step_schedules_set_next_step_at(store: Store) -> None:
    """A drip in New York across the March 2027 change: welcome at once, a tip the next business
    day at 09:00, a survey on day 3 after the start at 09:00; a pause moves the pending step."""
    p = store.create_program(Program(id="drip", kind=Kind.TRACK, title="Drip", state=ProgramState.ACTIVE, steps=[
        Step("welcome", "message", "Welcome", learner_completable=False),
        Step("tip", "message", "Tip", False, StepSchedule(Anchor.PREVIOUS_STEP, 1, DelayUnit.BUSINESS_DAYS, "09:00")),
        Step("survey", "message", "Survey", False, {"after": "start", "delay": 3, "unit": "days", "at": "09:00"}),
    ]))
    assert store.get_program("drip") == p and p.steps[2].schedule == StepSchedule("start", 3, "days", "09:00")
    store.upsert_user(User(id="ny", timezone="America/New_York"))
    store.set_time("2027-03-12T21:00:00Z")  # Friday 16:00 EST; New York springs forward on Sunday the 14th
    e = store.enroll("ny", "drip", actor=Actor.SYSTEM)
    assert e.timezone == "America/New_York" and e.next_step_at == utc("2027-03-12T21:00:00Z")  # welcome at once
    store.set_time("2027-03-12T21:05:00Z")
    e = store.deliver_step(e.id, "welcome", actor=Actor.SYSTEM)
    assert e.next_step_at == utc("2027-03-15T13:00:00Z")  # the next business day, Monday, at 09:00 EDT
    store.set_time("2027-03-13T12:00:00Z")
    e = store.pause(e.id)
    assert (e.status, e.paused_at, e.next_step_at) == ("paused", utc("2027-03-13T12:00:00Z"), utc("2027-03-15T13:00:00Z"))
    assert store.get_enrollment(e.id) == e
    store.advance_time(timedelta(days=2, hours=3))
    e = store.resume(e.id)
    # Moved by the time spent paused, two days and three hours.
    assert (e.status, e.paused_at, e.next_step_at) == ("active", None, utc("2027-03-17T16:00:00Z"))
    store.set_time("2027-03-17T16:00:00Z")
    e = store.deliver_step(e.id, "tip", actor=Actor.SYSTEM)
    assert e.next_step_at == utc("2027-03-15T13:00:00Z")  # day 3 after the start: Monday 09:00 EDT, due already
    e = store.deliver_step(e.id, "survey", actor=Actor.SYSTEM)
    assert e.status == "completed" and e.next_step_at is None
    # A scheduled start has no next step until it starts; a track without schedules leaves the
    # time to the host.
    later = store.enroll("u2", "drip", start_at=utc("2027-03-18T09:00:00Z"), actor=Actor.SYSTEM)
    assert later.status == "new" and later.next_step_at is None
    store.set_time("2027-03-18T09:00:00Z")
    assert store.start_due() == [later.id]
    assert store.get_enrollment(later.id).next_step_at == utc("2027-03-18T09:00:00Z")
    assert store.enroll("u2", "trk", actor=Actor.SYSTEM).next_step_at is None
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.create_program({"id": "crs2", "kind": "course", "title": "C", "state": "active", "steps": [
            {"id": "a", "step_type": "lesson", "title": "A", "learner_completable": True,
             "schedule": {"after": "start", "delay": 1, "unit": "days"}}]})
    assert refused.value.field == "schedule"


def queue_program(store: Store) -> None:
    """A track whose first step is due when an enrollment starts, the second at once after it,
    the third two days later at 09:00."""
    store.create_program(Program(id="q", kind=Kind.TRACK, title="Queue", state=ProgramState.ACTIVE, steps=[
        Step("one", "message", "One", learner_completable=False),
        Step("two", "message", "Two", False, StepSchedule(Anchor.PREVIOUS_STEP, 0, DelayUnit.MINUTES)),
        Step("three", "message", "Three", False, {"after": "previous_step", "delay": 2, "unit": "days", "at": "09:00"}),
    ]))


def test_claim_due_and_every_way_to_end_a_claim(store: Store) -> None:
    queue_program(store)
    a = store.enroll("u1", "q", actor=Actor.SYSTEM)
    b = store.enroll("u2", "q", batch=True, actor=Actor.SYSTEM)
    assert a.next_step_at == T0 and a.claimed_by is None and a.lease_until is None
    claims = store.claim_due("w1", 10, timedelta(seconds=30))
    assert all(isinstance(c, Claim) for c in claims)
    assert [(c.enrollment.id, c.enrollment.status, c.step_id) for c in claims] == [
        (a.id, "processing", "one"), (b.id, "processing_batch", "one")]
    assert {(c.enrollment.claimed_by, c.enrollment.lease_until) for c in claims} == {("w1", T0 + timedelta(seconds=30))}
    assert store.get_enrollment(a.id) == claims[0].enrollment
    assert store.claim_due("w2") == []
    assert [ev.action for ev in store.history(a.id)][-1] == "claim"

    # The lease ends: w2 takes both over; w1's late calls are refused and change nothing.
    store.advance_time(timedelta(seconds=30))
    assert [c.enrollment.claimed_by for c in store.claim_due("w2", lease=45.5)] == ["w2", "w2"]
    with pytest.raises(enrollkit.ConflictError):
        store.complete_claim("w1", a.id, StepChange.DELIVER)
    with pytest.raises(enrollkit.ConflictError):
        store.release_claim("w1", b.id)
    assert store.get_enrollment(a.id).lease_until == T0 + timedelta(seconds=75.5)
    e = store.complete_claim("w2", a.id, StepChange.DELIVER, destination_type="user")
    assert (e.status, e.claimed_by, e.lease_until, e.steps_delivered) == ("active", None, None, 1)
    assert e.next_step_at == T0 + timedelta(seconds=30)  # step two: 0 minutes after step one
    assert store.step_progress(a.id)[0].destination_type == "user"
    e = store.release_claim("w2", b.id)
    assert (e.status, e.next_step_at) == ("active_batch", T0)  # still due

    # Step two of a (completed, with a result) and one of b (failed), then b's two (skipped).
    assert [(c.enrollment.id, c.step_id) for c in store.claim_due("w3", 10, 60)] == [(b.id, "one"), (a.id, "two")]
    e = store.complete_claim("w3", a.id, "complete", result={"ok": True})
    # Two days later at 09:00 where u1 is, Berlin (08:00Z in winter).
    assert e.steps_completed == 1 and e.next_step_at == utc("2026-01-17T08:00:00Z")
    assert store.step_progress(a.id)[1].result == {"ok": True}
    e = store.complete_claim("w3", b.id, StepChange.FAIL, reason="bounced", message="Mailbox full")
    assert store.step_progress(b.id)[0].status is StepStatus.FAILED
    assert [c.step_id for c in store.claim_due("w3", 10, 60)] == ["two"]
    assert store.complete_claim("w3", b.id, "skip").steps_skipped == 1
    assert store.claim_due("w3") == []  # three is two days away
    with pytest.raises(enrollkit.ConflictError):
        store.complete_claim("w3", b.id, "skip")


def test_a_batch_of_claims_completed_at_once(store: Store) -> None:
    queue_program(store)
    a = store.enroll("u1", "q", actor=Actor.SYSTEM)
    b = store.enroll("u2", "q", actor=Actor.SYSTEM)
    assert len(store.claim_due("w1", 10)) == 2
    results = store.complete_claims("w1", [a.id, "enr_nope", b.id], StepChange.DELIVER, destination_type="user")
    assert isinstance(results[0], Enrollment) and isinstance(results[2], Enrollment)
    assert isinstance(results[1], enrollkit.NotFoundError)
    assert [r.steps_delivered for r in (results[0], results[2]) if isinstance(r, Enrollment)] == [1, 1]
    assert isinstance(store.complete_claims("w1", [a.id], "skip")[0], enrollkit.ConflictError)
    with pytest.raises(TypeError):
        store.complete_claims("w1", [a.id], "skip", reason="x")


def test_claim_arguments(store: Store) -> None:
    queue_program(store)
    e = store.enroll("u1", "q", actor=Actor.SYSTEM)
    for bad_lease in (0, 0.0004, -1, timedelta(0), timedelta(days=1, milliseconds=1), float("nan"), float("inf"), 1e300):
        with pytest.raises(enrollkit.ValidationError) as refused:
            store.claim_due("w1", 10, bad_lease)
        assert refused.value.field == "lease", bad_lease
    for wrong in ("60", None, True, [60]):
        with pytest.raises(TypeError):
            store.claim_due("w1", 10, wrong)  # type: ignore[arg-type]
    for bad_worker in ("", " w", "w\n", "x" * 129):
        with pytest.raises(enrollkit.ValidationError) as refused:
            store.claim_due(bad_worker)
        assert refused.value.field == "worker_id"
    for bad_limit in (0, 1001):
        with pytest.raises(enrollkit.ValidationError):
            store.claim_due("w1", bad_limit)
    assert store.get_enrollment(e.id).status == "active"  # nothing was claimed
    [c] = store.claim_due("w1", 1, timedelta(days=1))
    assert c.enrollment.lease_until == T0 + timedelta(days=1)
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.complete_claim("w1", e.id, StepChange.START)
    assert refused.value.field == "change"
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.complete_claim("w1", e.id, "explode")
    assert refused.value.field == "change"
    with pytest.raises(TypeError):
        store.complete_claim("w1", e.id, "deliver", result={"x": 1})
    with pytest.raises(TypeError):
        store.complete_claim("w1", e.id, "skip", reason="why")
    with pytest.raises(TypeError):
        store.complete_claim("w1", e.id, "fail")
    with pytest.raises(TypeError):
        store.complete_claim("w1", e.id, 3)  # type: ignore[arg-type]
    with pytest.raises(enrollkit.ValidationError):
        store.complete_claim("w1", e.id, "fail", reason="not valid!")
    with pytest.raises(enrollkit.ValidationError):
        store.complete_claim("w1", e.id, "complete", result={"x": float("nan")})
    with pytest.raises(enrollkit.NotFoundError):
        store.release_claim("w1", "enr_missing")
    assert store.get_enrollment(e.id).claimed_by == "w1"  # the refused calls changed nothing
    assert store.release_claim("w1", e.id).status == "active"


def test_claims_from_threads_never_overlap(store: Store) -> None:
    """Four threads claim and deliver the 80 steps that come due (steps one and two of 40
    enrollments; three is days away): each is delivered exactly once."""
    queue_program(store)
    ids = set()
    for i in range(40):
        store.upsert_user(User(id=f"t{i}"))
        ids.add(store.enroll(f"t{i}", "q", actor=Actor.SYSTEM).id)
    delivered: List[Tuple[str, Optional[str]]] = []
    errors: List[BaseException] = []

    def work(worker: str) -> None:
        try:
            while True:
                claims = store.claim_due(worker, 3, 60)
                if not claims:
                    return
                for c in claims:
                    store.complete_claim(worker, c.enrollment.id, "deliver")
                    delivered.append((c.enrollment.id, c.step_id))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert sorted(delivered) == sorted((i, step) for i in ids for step in ("one", "two"))
    assert all(store.get_enrollment(i).steps_delivered == 2 for i in ids)


def test_claim_records() -> None:
    e = Enrollment(id="e", user_id="u", program_id="p", kind="track", status="processing", trigger="schedule",
                   enrolled_at=T0, updated_at=T0, claimed_by="w1", lease_until=T0 + timedelta(minutes=1))
    c = Claim(e, "one")
    assert (c.enrollment, c.step_id) == (e, "one") and Claim(e) != c and Claim(e).step_id is None
    assert c.to_dict() == {"enrollment": e.to_dict(), "step_id": "one"}
    assert Claim.from_dict(c.to_dict()) == c and pickle.loads(pickle.dumps(c)) == c
    assert hash(Claim.from_dict(c.to_dict())) == hash(c)
    assert repr(c).startswith("Claim(enrollment=Enrollment(id='e'")
    with pytest.raises(TypeError):
        Claim({"id": "e"})  # type: ignore[arg-type]


def test_claim_due_of_one_program(store: Store) -> None:
    """A worker of one program claims only that program's work; the others' stays due."""
    queue_program(store)
    a = store.enroll("u1", "q", actor=Actor.SYSTEM)
    store.advance_time(1000)
    b = store.enroll("u2", "q", actor=Actor.SYSTEM)
    store.advance_time(1000)
    store.create_program(Program(id="other", kind=Kind.TRACK, title="Other", state="active", steps=[
        Step("only", "message", "Only", False, {"after": "start", "delay": 0, "unit": "minutes"})]))
    o = store.enroll("u1", "other", actor=Actor.SYSTEM)
    # Keyword after the positional order of before (worker, limit, lease).
    claims = store.claim_due("w1", 1, timedelta(seconds=30), program_id="other")
    assert [(c.enrollment.id, c.enrollment.program_id, c.step_id) for c in claims] == [(o.id, "other", "only")]
    assert store.claim_due("w1", program_id="other") == []
    assert store.get_enrollment(a.id).claimed_by is None  # older, but of another program
    assert [ev.action for ev in store.history(a.id)] == ["enrolled"]
    assert [c.enrollment.id for c in store.claim_due("w2", program_id="q")] == [a.id, b.id]
    with pytest.raises(enrollkit.NotFoundError):
        store.claim_due("w1", program_id="nope")
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.claim_due("w1", program_id="")
    assert refused.value.field == "program_id"
    with pytest.raises(TypeError):
        store.claim_due("w1", program_id=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.claim_due("w1", 10, 60, "q")  # type: ignore[call-arg]  # program_id is keyword-only


def test_due_reads_the_queue_without_claiming(store: Store) -> None:
    queue_program(store)
    a = store.enroll("u1", "q", actor=Actor.SYSTEM)
    store.advance_time(1000)
    b = store.enroll("u2", "q", actor=Actor.SYSTEM)
    t = store.enroll("u1", "trk", actor=Actor.SYSTEM)
    assert t.next_step_at is None  # a track without schedules: not in the queue
    store.advance_time(1000)
    later = store.set_next_step_at(t.id, T0 + timedelta(hours=1))
    due = store.due()
    assert all(isinstance(c, Claim) for c in due)
    # Soonest first: the order claim_due takes them in.
    assert [(c.enrollment.id, c.step_id, c.enrollment.claimed_by) for c in due] == [
        (a.id, "one", None), (b.id, "one", None), (t.id, "hello", None)]
    assert [c.enrollment.next_step_at for c in due] == [T0, T0 + timedelta(seconds=1), later.next_step_at]
    assert due[0].enrollment == store.get_enrollment(a.id)
    # until: an aware datetime or RFC 3339 text, inclusive; limit; one program.
    assert [c.enrollment.id for c in store.due(until=T0)] == [a.id]
    assert [c.enrollment.id for c in store.due(until="2026-01-15T10:00:01Z")] == [a.id, b.id]
    assert [c.enrollment.id for c in store.due(until=T0 - timedelta(seconds=1))] == []
    assert [c.enrollment.id for c in store.due(limit=2)] == [a.id, b.id]
    assert [c.enrollment.id for c in store.due(program_id="trk", actor=Actor.SYSTEM)] == [t.id]
    assert [c.enrollment.id for c in store.due(program_id="crs")] == []
    assert all(ev.action == "enrolled" for ev in store.history(a.id))  # nothing was claimed
    # Claimed work stays listed, with its worker and lease.
    [c] = store.claim_due("w1", 1, 60)
    [first, *_] = store.due()
    assert (first.enrollment.id, first.enrollment.claimed_by, first.enrollment.lease_until, first.step_id) == (
        a.id, "w1", c.enrollment.lease_until, "one")
    assert first == c
    # Refusals.
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.due(actor=LEARNER)
    with pytest.raises(enrollkit.NotFoundError):
        store.due(program_id="nope")
    for bad_limit in (0, 1001, -1):
        with pytest.raises(enrollkit.ValidationError) as refused:
            store.due(limit=bad_limit)
        assert refused.value.field == "limit"
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.due(until=datetime(2026, 1, 15, 10))  # naive
    assert refused.value.field == "until"
    with pytest.raises(enrollkit.ValidationError):
        store.due(until="soon")
    for wrong in (date(2026, 1, 15), 1768471200, True):
        with pytest.raises(TypeError):
            store.due(until=wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.due("q")  # type: ignore[call-arg]  # every argument is a keyword


def test_renew_claim(store: Store) -> None:
    queue_program(store)
    e = store.enroll("u1", "q", actor=Actor.SYSTEM)
    [c] = store.claim_due("w1", 1, timedelta(seconds=30))
    store.advance_time(timedelta(seconds=20))
    renewed = store.renew_claim("w1", e.id, timedelta(minutes=2))
    assert (renewed.status, renewed.claimed_by, renewed.lease_until) == (
        "processing", "w1", T0 + timedelta(seconds=20, minutes=2))
    assert store.get_enrollment(e.id) == renewed
    [*_, event] = store.history(e.id)
    assert (event.action, event.reason) == ("renew", "worker=w1 lease_until=2026-01-15T10:02:20.000Z")
    assert store.renew_claim("w1", e.id, 90.5).lease_until == T0 + timedelta(seconds=110.5)  # seconds
    assert store.renew_claim("w1", e.id).lease_until == T0 + timedelta(seconds=80)  # a minute by default
    # Past the first lease's end, the claim is still w1's: nobody takes it over.
    store.advance_time(timedelta(seconds=40))
    assert store.claim_due("w2") == []
    # Another worker cannot renew it; refused calls change nothing.
    with pytest.raises(enrollkit.ConflictError):
        store.renew_claim("w2", e.id, 60)
    for bad_lease in (0, timedelta(days=1, milliseconds=1), float("nan")):
        with pytest.raises(enrollkit.ValidationError) as refused:
            store.renew_claim("w1", e.id, bad_lease)
        assert refused.value.field == "lease"
    for wrong in ("60", None, True):
        with pytest.raises(TypeError):
            store.renew_claim("w1", e.id, wrong)  # type: ignore[arg-type]
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.renew_claim("", e.id, 60)
    assert refused.value.field == "worker_id"
    with pytest.raises(enrollkit.NotFoundError):
        store.renew_claim("w1", "enr_missing", 60)
    assert store.get_enrollment(e.id).lease_until == T0 + timedelta(seconds=80)
    # Once the lease has ended and another worker took the enrollment over, w1 cannot renew.
    store.advance_time(timedelta(seconds=20))
    assert [c.enrollment.claimed_by for c in store.claim_due("w2")] == ["w2"]
    with pytest.raises(enrollkit.ConflictError):
        store.renew_claim("w1", e.id, 60)
    assert store.complete_claim("w2", e.id, "deliver").claimed_by is None
    with pytest.raises(enrollkit.ConflictError):
        store.renew_claim("w2", e.id, 60)  # no claim left to renew


def test_a_claim_with_no_step_to_run(store: Store) -> None:
    """Work the host timed (set_next_step_at) when every step of the program has run: the
    claim names no step; delivering ends it and clears the time, failing it is refused."""
    e = store.enroll("u1", "trk", actor=Actor.SYSTEM)
    for step in ("hello", "survey"):
        store.deliver_step(e.id, step, actor=Actor.SYSTEM)
    store.fail_step(e.id, "task", "bounced", actor=Actor.SYSTEM)
    e = store.set_next_step_at(e.id, T0, actor=Actor.SYSTEM)
    assert e.status == "active"
    [c] = store.claim_due("w1", program_id="trk")
    assert (c.enrollment.id, c.step_id) == (e.id, None)
    assert [(d.enrollment.id, d.step_id) for d in store.due()] == [(e.id, None)]
    with pytest.raises(enrollkit.ValidationError) as refused:
        store.complete_claim("w1", e.id, StepChange.FAIL, reason="x")
    assert refused.value.field == "change"
    assert store.get_enrollment(e.id).claimed_by == "w1"  # refused: nothing changed
    done = store.complete_claim("w1", e.id, StepChange.DELIVER)
    assert (done.status, done.claimed_by, done.lease_until, done.next_step_at) == ("active", None, None, None)
    assert store.step_progress(e.id)[2].status is StepStatus.FAILED  # no step changed
    [*_, event] = store.history(e.id)
    assert (event.action, event.reason) == ("deliver_step", "worker=w1 step=none")
    assert store.claim_due("w1") == [] and store.due() == []  # not due again at once


def test_a_scheduled_track_whose_steps_ran_with_one_failed_fails(store: Store) -> None:
    queue_program(store)
    e = store.enroll("u1", "q", actor=Actor.SYSTEM)
    store.claim_due("w1", 1)
    store.complete_claim("w1", e.id, StepChange.FAIL, reason="bounced", message="Mailbox full")
    store.claim_due("w1", 1)
    e = store.complete_claim("w1", e.id, StepChange.DELIVER)
    assert e.status == "active" and e.next_step_at is not None
    store.set_time(e.next_step_at)
    [c] = store.claim_due("w1", 1)
    assert c.step_id == "three"
    e = store.complete_claim("w1", e.id, "deliver")
    assert (e.status, e.failure_reason, e.next_step_at, e.claimed_by) == (
        "failed", FailureReason.UNKNOWN_ERROR, None, None)
    assert e.failure_message is not None and "one (bounced)" in e.failure_message


def test_work_anniversaries(store: Store) -> None:
    """Users hired on 10 March enrolled on 10 March 2026 in their own zone, once; the 29th of
    February on the 28th in a year without one."""
    queue_program(store)
    store.upsert_users([
        User(id="tokyo", timezone="Asia/Tokyo", hire_date="2019-03-10"),
        {"id": "newyork", "timezone": "America/New_York", "hire_date": "2025-03-10"},
        {"id": "new", "hire_date": "2026-03-10"},  # not a year yet
        {"id": "leap", "hire_date": "2024-02-29"},
    ])
    assert store.get_user("tokyo").hire_date == "2019-03-10" and store.get_user("u1").hire_date is None
    with pytest.raises(enrollkit.ValidationError) as bad:
        store.upsert_user({"id": "x", "hire_date": "2026-02-30"})
    assert bad.value.field == "hire_date"
    store.set_time("2026-03-01T00:00:00Z")
    outcomes = store.enroll_anniversaries("q", date(2026, 3, 10), actor=Actor.SYSTEM)
    assert [(o.user_id, o.outcome) for o in outcomes] == [("newyork", "created"), ("tokyo", "created")]
    made = [o.enrollment for o in outcomes if o.enrollment is not None]
    assert [(e.user_id, e.trigger, e.status) for e in made] == [
        ("newyork", Trigger.WORK_ANNIVERSARY, "new"), ("tokyo", Trigger.WORK_ANNIVERSARY, "new")]
    # Midnight of the day where each user is: New York on summer time (04:00Z), Tokyo (15:00Z the day before).
    assert [e.start_at for e in made] == [utc("2026-03-10T04:00:00Z"), utc("2026-03-09T15:00:00Z")]
    again = store.enroll_anniversaries("q", "2026-03-10")
    assert [(o.user_id, o.outcome, o.existing_id) for o in again] == [
        (e.user_id, "already_enrolled", e.id) for e in made]
    # As the core's JSON: the outcome's object with the user's id.
    assert [o.to_dict() for o in again] == [
        {"outcome": "already_enrolled", "existing_id": e.id, "user_id": e.user_id} for e in made]
    assert outcomes[0].to_dict()["user_id"] == "newyork" and outcomes[0].to_dict()["enrollment"]["user_id"] == "newyork"
    store.set_time("2026-03-10T05:00:00Z")
    assert sorted(store.start_due()) == sorted(e.id for e in made)
    store.cancel(made[0].id)
    assert [o.outcome for o in store.enroll_anniversaries("q", "2026-03-10")] == ["already_enrolled"] * 2
    [leap] = store.enroll_anniversaries("crs", "2027-02-28")
    assert leap.enrollment is not None and leap.enrollment.user_id == "leap" and leap.enrollment.status == "active"
    assert leap.user_id == "leap"
    assert store.enroll_anniversaries("crs", "2028-02-28") == []  # 2028 has a 29th
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.enroll_anniversaries("q", "2026-03-10", actor=Actor.learner("tokyo"))
    with pytest.raises(enrollkit.ValidationError) as bad:
        store.enroll_anniversaries("q", "2026-3-10")
    assert bad.value.field == "on_date"
    with pytest.raises(enrollkit.NotFoundError):
        store.enroll_anniversaries("nope", "2026-03-10")
    for wrong in (datetime(2026, 3, 10, tzinfo=timezone.utc), 20260310, None):
        with pytest.raises(TypeError):
            store.enroll_anniversaries("q", wrong)  # type: ignore[arg-type]


def test_certification(store: Store) -> None:
    e = store.enroll("u2", "cert", partnership_id="prt_1")
    assert e.status == "enrolled" and e.partnership_id == "prt_1"
    assert store.start(e.id).status == "in_progress"
    failed = store.fail(e.id, FailureReason.WORKFLOW_NOT_ACTIVE, "Closed")
    assert failed.failure_reason is FailureReason.WORKFLOW_NOT_ACTIVE and failed.failed_at == T0
    assert store.render(e.id, View.CERTIFICATION)["status"] == "failed"
    with pytest.raises(enrollkit.ValidationError):
        store.fail(e.id, "bored")


def test_program_not_active_and_permissions(store: Store) -> None:
    store.create_program(Program(id="draft", kind=Kind.COURSE, title="D", state=ProgramState.DRAFT))
    with pytest.raises(enrollkit.ProgramNotActiveError) as info:
        store.enroll("u1", "draft")
    assert info.value.details["state"] == "draft"
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.enroll("u2", "crs", actor=LEARNER)
    e = store.enroll("u2", "crs")
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.get_enrollment(e.id, actor=LEARNER)
    with pytest.raises(enrollkit.PermissionDeniedError):
        list(store.list_enrollments(user_id="u2", actor=LEARNER))
    assert list(store.list_enrollments(actor=LEARNER)) == []


def test_enroll_many(store: Store) -> None:
    rows = [{"user_id": "u1", "program_id": "crs"}, {"user_id": "ghost", "program_id": "crs"}]
    # Rolled back: the second row, enrolled only by the first, is not applied either.
    out = store.enroll_many(rows[:1] + rows)
    assert [o.outcome for o in out] == ["not_applied", "not_applied", "failed"]
    assert isinstance(out[2].error, enrollkit.NotFoundError)
    out = store.enroll_many(rows + [{"email": "u2@example.com", "program_id": "trk", "batch": True}],
                            mode=BatchMode.BEST_EFFORT, actor=Actor.SYSTEM)
    assert [o.outcome for o in out] == ["created", "failed", "created"]
    assert out[2].enrollment is not None and out[2].enrollment.status == "active_batch"
    again = store.enroll_many(rows[:1], mode="best_effort")
    assert again[0].outcome == "already_enrolled" and again[0].existing_id == out[0].enrollment.id  # type: ignore[union-attr]
    assert again[0].to_dict() == {"outcome": "already_enrolled", "existing_id": again[0].existing_id}
    assert {o.user_id for o in out} == {None}  # enroll_many's rows name no user; anniversaries do
    with pytest.raises(enrollkit.ValidationError):
        store.enroll_many(rows, mode="sometimes")


def test_listing(store: Store) -> None:
    for i in range(25):
        store.upsert_user(User(id=f"p{i:02}"))
        store.enroll(f"p{i:02}", "crs")
        store.advance_time(1000)
    ids = [e.id for e in store.list_enrollments(program_id="crs", page_size=7)]
    assert len(ids) == 25 and ids == sorted(ids)
    newest = [e.id for e in store.list_enrollments(program_id="crs", order=Order.NEWEST_FIRST, page_size=10)]
    assert newest == ids[::-1]
    page = store.list_page(program_id="crs", page=2, per_page=10)
    assert [e.id for e in page.items] == ids[10:20] and page.has_more
    assert store.list_page(program_id="crs").items == [store.get_enrollment(i) for i in ids[:20]]
    after = store.list_page(starting_after=ids[22], per_page=10)
    assert [e.id for e in after.items] == ids[23:] and not after.has_more and after.next_cursor is None
    window = list(store.list_enrollments(enrolled_from=T0 + timedelta(seconds=5),
                                         enrolled_to=T0 + timedelta(seconds=8)))
    assert [e.id for e in window] == ids[5:8]
    assert list(store.list_enrollments(status="completed")) == []
    assert len(list(store.list_enrollments(status="active", trigger=Trigger.MANUAL_USER_TRIGGER))) == 25
    with pytest.raises(enrollkit.ValidationError):
        store.list_page(per_page=101)
    with pytest.raises(enrollkit.ValidationError):
        next(store.list_enrollments(status="in_progress", program_id="crs"))
    feed = store.events_after(0, limit=5)
    assert [ev.seq for ev in feed] == [1, 2, 3, 4, 5]
    assert [ev.seq for ev in store.events_after(feed[-1].seq, limit=2)] == [6, 7]


# -- bad input of every type -----------------------------------------------------------------

BAD_IDS = ["", " x", "x\x00y", "tab\tid", "x" * 129, "x" * 100_000]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_invalid_ids_are_validation_errors(store: Store, bad: str) -> None:
    for call in (lambda: store.get_user(bad), lambda: store.get_enrollment(bad),
                 lambda: store.enroll(bad, "crs"), lambda: store.enroll("u1", bad),
                 lambda: store.upsert_user(User(id=bad)), lambda: store.get_program(bad)):
        with pytest.raises(enrollkit.ValidationError):
            call()
    assert list(store.list_enrollments()) == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.01, 100.01, -1e300])
def test_bad_numbers(store: Store, value: float) -> None:
    e = store.enroll("u1", "crs")
    with pytest.raises(enrollkit.ValidationError) as info:
        store.set_progress(e.id, value)
    assert info.value.field == "progress" and isinstance(info.value, ValueError)
    with pytest.raises(enrollkit.ValidationError):
        store.submit_attempt(e.id, value)
    assert store.get_enrollment(e.id) == e


@pytest.mark.parametrize("value", [None, "50", True, [50], object()])
def test_numbers_of_the_wrong_type(store: Store, value: object) -> None:
    e = store.enroll("u1", "crs")
    with pytest.raises(TypeError):
        store.set_progress(e.id, value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.submit_attempt(e.id, value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.events_after(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.list_page(per_page=value)  # type: ignore[arg-type]
    assert store.get_enrollment(e.id) == e


@pytest.mark.parametrize("value", [None, 50, True, ["u1"], b"u1", object()])
def test_strings_of_the_wrong_type(store: Store, value: object) -> None:
    e = store.enroll("u1", "crs")
    with pytest.raises(TypeError):
        store.get_enrollment(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.drop(e.id, actor=value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.enroll("u2", value)  # type: ignore[arg-type]
    with pytest.raises((TypeError, enrollkit.ValidationError)):  # None: no user named at all
        store.enroll(value, "crs")  # type: ignore[arg-type]
    if value is not None:
        with pytest.raises(TypeError):
            store.set_next_step_at(e.id, value)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            store.assign_mentor(e.id, value)  # type: ignore[arg-type]
    assert store.get_enrollment(e.id) == e


def test_other_bad_input(store: Store) -> None:
    e = store.enroll("u1", "trk", actor=Actor.SYSTEM)
    with pytest.raises(enrollkit.ValidationError):
        store.drop(e.id, actor="root")
    with pytest.raises(enrollkit.ValidationError):
        store.set_next_step_at(e.id, datetime(2026, 1, 1))  # naive
    with pytest.raises(enrollkit.ValidationError):
        store.set_next_step_at(e.id, "tomorrow")
    with pytest.raises(enrollkit.ValidationError):
        store.complete_step(e.id, "survey", {"score": math.nan})
    with pytest.raises(enrollkit.ValidationError):
        store.complete_step(e.id, "survey", {"blob": "x" * 70_000})
    with pytest.raises(enrollkit.ValidationError):
        store.list_users(limit=-1)
    with pytest.raises(enrollkit.ValidationError):
        store.list_users(limit=0)
    with pytest.raises(enrollkit.ValidationError):
        store.enroll("u1", "crs", trigger="telepathy")
    with pytest.raises(enrollkit.ValidationError):
        store.render(e.id, "slack")
    odd = "o'brien\"; DROP TABLE users;--"
    assert store.upsert_user(User(id=odd, display_name=odd)).display_name == odd
    assert store.get_enrollment(e.id) == e


# -- exceptions ------------------------------------------------------------------------------


def test_exception_hierarchy() -> None:
    native = enrollkit._enrollkit.error_codes()
    assert set(enrollkit.ERRORS) == {code for code, _ in native}
    for code, name in native:
        assert getattr(enrollkit.exceptions, name) is enrollkit.ERRORS[code], code
    for code, cls in enrollkit.ERRORS.items():
        assert issubclass(cls, enrollkit.EnrollkitError) and cls.code == code
        err = cls("boom", {"field": "x"})
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is cls and again.details == err.details
    assert issubclass(enrollkit.ValidationError, ValueError)
    assert not issubclass(enrollkit.NotFoundError, ValueError)


def test_busy_error_and_gil_released(tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "busy.db")
    with Store(path, busy_timeout=0.8) as s:
        s.upsert_user(User(id="u1"))
        s.create_program(course())
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
             "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(2)", path],
            stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            ticks: List[int] = []
            stop = threading.Event()

            def spin() -> None:
                while not stop.is_set():
                    ticks.append(1)

            spinner = threading.Thread(target=spin)
            spinner.start()
            try:
                with pytest.raises(enrollkit.BusyError):
                    s.enroll("u1", "crs")
            finally:
                stop.set()
                spinner.join()
            # The other thread kept running while enroll waited for the lock: the GIL was free.
            assert len(ticks) > 1000
            assert s.get_program("crs").id == "crs"  # readers are not blocked
        finally:
            holder.wait()
        s.enroll("u1", "crs")


def test_threads_share_one_store(tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "threads.db")
    with Store(path) as s:
        s.create_program(course())
        errors: List[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(20):
                    uid = f"t{t}_{i}"
                    s.upsert_user(User(id=uid))
                    me = Actor.learner(uid)
                    e = s.enroll(uid, "crs", actor=me)
                    for p in (30, 60, 100):
                        s.set_progress(e.id, p, actor=me)
                    assert [x.id for x in s.list_enrollments(actor=me)] == [e.id]
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert len(list(s.list_enrollments(status="completed"))) == 160
        assert len(s.events_after(0, limit=1000)) == 160 * 4
        assert s.check() == []


def test_export_import_csv_backup(store: Store, tmp_path: "os.PathLike[str]",
                                  request: pytest.FixtureRequest) -> None:
    e = store.enroll("u1", "trk", actor=Actor.SYSTEM)
    store.complete_step(e.id, "survey", {"answers": [1]}, actor=LEARNER)
    first, second = os.path.join(tmp_path, "a.jsonl"), os.path.join(tmp_path, "b.jsonl")
    counts = store.export(first)
    assert counts == {"users": 2, "programs": 3, "enrollments": 1, "events": 2}
    assert store.stats() == counts
    with Store.in_memory() as copy:
        report = copy.import_file(first)
        assert report["committed"] and report["errors"] == []
        copy.export(second)
        with open(first, "rb") as f1, open(second, "rb") as f2:
            assert f1.read() == f2.read()
        again = copy.import_file(first, mode=BatchMode.BEST_EFFORT)
        assert {err["error"]["code"] for err in again["errors"]} == {"conflict"}
    # Into an empty file (written through a rollback journal): the same export, and the file is
    # back in WAL mode afterwards (the next write creates the -wal file).
    loaded, third = os.path.join(tmp_path, "loaded.db"), os.path.join(tmp_path, "c.jsonl")
    with Store(loaded) as file_copy:
        assert file_copy.import_file(first)["committed"]
        file_copy.export(third)
        with open(first, "rb") as f1, open(third, "rb") as f3:
            assert f1.read() == f3.read()
        file_copy.upsert_user(User(id="after_import"))
        assert os.path.exists(loaded + "-wal")
    csv_path = os.path.join(tmp_path, "e.csv")
    assert store.export_csv(csv_path, program_id="trk") == 1
    with open(csv_path) as f:
        assert f.readline().startswith("id,user_id,program_id")
    dest = os.path.join(tmp_path, "backup.db")
    if request.node.callspec.params["store"] == "postgres":
        # SQLite's backup API copies files; PostgreSQL has pg_dump, and export.
        with pytest.raises(enrollkit.ValidationError, match="pg_dump"):
            store.backup(dest)
        assert not os.path.exists(dest)
    else:
        store.backup(dest)
        with pytest.raises(enrollkit.ConflictError):
            store.backup(dest)
        with Store(dest) as b:
            assert b.get_enrollment(e.id) == store.get_enrollment(e.id)
    with pytest.raises(enrollkit.StorageError):
        store.import_file(os.path.join(tmp_path, "missing.jsonl"))


def test_enroll_csv_roster(store: Store, tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "roster.csv")
    with open(path, "w", newline="") as f:
        f.write("\ufeffuser_id,program_id,trigger,start_at\r\n"
                "u1,crs,schedule,\r\n"
                "u2,trk,,2026-02-01T00:00:00Z\r\n"
                "u1,crs,,\r\n")
    before = store.stats()
    report = store.enroll_csv(path)
    assert not report["committed"] and report["imported"]["enrollments"] == 0
    assert [(e["line"], e["error"]["code"]) for e in report["errors"]] == [(4, "already_enrolled")]
    assert store.stats() == before
    report = store.enroll_csv(path, mode=BatchMode.BEST_EFFORT, actor=Actor.SYSTEM)
    assert report["committed"] and report["imported"]["enrollments"] == 2
    e = list(store.list_enrollments(user_id="u2"))[0]
    assert e.status == "new" and e.start_at == datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert list(store.list_enrollments(user_id="u1"))[0].trigger is Trigger.SCHEDULE
    learner = store.enroll_csv(path, mode="best_effort", actor=LEARNER)
    assert {e["error"]["code"] for e in learner["errors"]} == {"already_enrolled", "permission_denied"}
    with open(path, "w") as f:
        f.write("id,user_id,program_id,kind\n")
    with pytest.raises(enrollkit.ValidationError, match="unknown column"):
        store.enroll_csv(path)
    with pytest.raises(enrollkit.StorageError):
        store.enroll_csv(os.path.join(tmp_path, "missing.csv"))
    with pytest.raises(TypeError):
        store.enroll_csv(path, actor=1)  # type: ignore[arg-type]


def test_concurrent_add_progress_loses_no_addition(tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "c.db")
    store = enrollkit.Store(path)
    store.upsert_user(enrollkit.User(id="u1"))
    store.create_program(enrollkit.Program(id="c1", kind=enrollkit.Kind.COURSE, title="C",
                                           state=enrollkit.ProgramState.ACTIVE))
    eid = store.enroll("u1", "c1").id
    others = [enrollkit.Store(path) for _ in range(2)]

    def add(s: enrollkit.Store) -> None:
        for _ in range(15):
            s.add_progress(eid, 1)

    threads = [threading.Thread(target=add, args=(s,)) for s in [store, store, store, store, *others]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    e = store.get_enrollment(eid)
    assert (e.progress_percent, e.status) == (90.0, "active")
    with pytest.raises(enrollkit.ValidationError):
        store.add_progress(eid, float("nan"))
    with pytest.raises(TypeError):
        store.add_progress(eid, "5")  # type: ignore[arg-type]


def test_close_stops_the_checkpoint_thread_first(tmp_path: "os.PathLike[str]") -> None:
    # Past 1,000 WAL pages (40,000 users with 100-character names in one write, about 1,600
    # pages) the store's own thread is asked to checkpoint. close() stops it first, so the
    # writer closes last and removes the WAL.
    path = os.path.join(tmp_path, "w.db")
    store = enrollkit.Store(path)
    users = [enrollkit.User(id=f"bulk{i}", email=f"b{i}@example.com", display_name="n" * 100)
             for i in range(40_000)]
    assert store.upsert_users(users) == 40_000
    assert os.path.getsize(path + "-wal") > 1_000 * 4_120
    store.close()
    assert not os.path.exists(path + "-wal")
    with enrollkit.Store(path) as reopened:
        assert reopened.find_user(email="b39999@example.com").id == "bulk39999"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads (3.12+)
def test_a_forked_child_closes_its_copy_of_a_store(tmp_path: "os.PathLike[str]") -> None:
    # A child forked while a store is open (a pre-forking server, say) has no checkpoint
    # thread: closing its copy of the store must not wait for the parent's.
    path = os.path.join(tmp_path, "fork.db")
    store = enrollkit.Store(path)
    store.upsert_user(enrollkit.User(id="u1"))
    pid = os.fork()
    if pid == 0:
        try:
            store.close()
            code = 0
        except BaseException:
            code = 1
        os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung closing its store")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.get_user("u1").id == "u1"
    store.close()


def test_report_summarises_a_program(store: Store) -> None:
    from enrollkit import ProgramReport, StepFunnel

    e = store.enroll("u1", "trk")
    store.deliver_step(e.id, "survey")
    r = store.report("trk")
    assert isinstance(r, ProgramReport) and r.kind is Kind.TRACK
    assert (r.total_enrollees, r.active, r.completed, r.failed, r.paused, r.canceled) == (1, 1, 0, 0, 0, 0)
    assert r.average_time_to_complete is None and r.by_status == {"active": 1}
    assert all(isinstance(s, StepFunnel) for s in r.steps)
    survey = next(s for s in r.steps if s.step_id == "survey")
    assert (survey.delivered, survey.completed) == (1, 0)
    assert ProgramReport.from_dict(r.to_dict()) == r
    assert pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.report("trk", actor="learner:u1")
    with pytest.raises(enrollkit.NotFoundError):
        store.report("nope")
    with pytest.raises(enrollkit.ValidationError):
        store.report("")


# -- enrollment policies -----------------------------------------------------------------------


def test_enrollment_windows(store: Store) -> None:
    window = Policy(enroll_opens_at=T0 + timedelta(days=1), enroll_closes_at="2026-02-01T00:00:00Z")
    spring = store.create_program(course("spring", policy=window))
    assert spring.policy == window and store.get_program("spring").policy == window
    assert spring.to_dict()["policy"]["enroll_opens_at"] == "2026-01-16T10:00:00.000Z"
    before = store.stats()
    with pytest.raises(enrollkit.EnrollmentClosedError) as early:
        store.enroll("u1", "spring", actor=LEARNER)
    assert (early.value.program_id, early.value.opens_at, early.value.closed_at) == (
        "spring", "2026-01-16T10:00:00.000Z", None)
    assert str(early.value) == "enrollment in spring opens at 2026-01-16T10:00:00.000Z"
    assert store.stats() == before
    store.set_time(T0 + timedelta(days=1))
    e = store.enroll("u1", "spring", actor=LEARNER)
    assert e.status == "active" and e.deadline_at is None
    store.set_time("2026-02-01T00:00:00Z")
    with pytest.raises(enrollkit.EnrollmentClosedError) as late:
        store.enroll("u2", "spring")
    assert (late.value.opens_at, late.value.closed_at) == (None, "2026-02-01T00:00:00.000Z")
    [row] = store.enroll_many([{"user_id": "u2", "program_id": "spring"}], mode=BatchMode.BEST_EFFORT)
    assert row.outcome == "failed" and isinstance(row.error, enrollkit.EnrollmentClosedError)
    assert row.error.closed_at == "2026-02-01T00:00:00.000Z"
    # Programs without a policy have none, and their JSON no "policy" key.
    assert store.get_program("crs").policy is None and "policy" not in store.get_program("crs").to_dict()
    # Policies change with update_program; an empty one removes them.
    assert store.update_program(course("spring", policy=Policy())).policy is None
    assert store.enroll("u2", "spring").status == "active"


def test_policies_are_checked_when_stored(store: Store) -> None:
    before = store.stats()
    cases: List[Tuple[Dict[str, Any], str]] = [
        ({"enroll_opens_at": "2026-03-01T00:00:00Z", "enroll_closes_at": "2026-02-01T00:00:00Z"},
         "enroll_closes_at"),
        ({"waitlist": True}, "waitlist"),
        ({"capacity": 0}, "capacity"),
        ({"deadline": {"after_days": 0}}, "deadline"),
        ({"prerequisites": ["crs", "crs"]}, "prerequisites"),
        ({"prerequisites": ["x"]}, "prerequisites"),  # itself
    ]
    for policy, field in cases:
        with pytest.raises(enrollkit.ValidationError) as info:
            store.create_program({"id": "x", "kind": "course", "title": "X", "state": "active", "policy": policy})
        assert info.value.field == field, policy
    with pytest.raises(enrollkit.NotFoundError):
        store.create_program(course("x", policy=Policy(prerequisites=["nope"])))
    store.create_program(course("a", policy={"prerequisites": ["crs"]}))
    with pytest.raises(enrollkit.ValidationError) as cycle:
        store.update_program(course("crs", policy=Policy(prerequisites=["a"])))
    assert cycle.value.field == "prerequisites"
    assert store.get_program("crs").policy is None
    assert store.stats() == {**before, "programs": before["programs"] + 1}


def test_prerequisites_and_the_admins_override(store: Store) -> None:
    store.create_program(course("basics"))
    store.create_program(course("advanced", policy=Policy(prerequisites=["crs", "basics"])))
    crs = store.enroll("u1", "crs", actor=LEARNER)
    store.set_progress(crs.id, 100, actor=LEARNER)
    basics = store.enroll("u1", "basics", actor=LEARNER)
    before = store.stats()
    with pytest.raises(enrollkit.PrerequisitesNotMetError) as info:
        store.enroll("u1", "advanced", actor=LEARNER)
    assert (info.value.program_id, info.value.missing) == ("advanced", ["basics"])
    assert store.stats() == before
    store.set_progress(basics.id, 100, actor=LEARNER)
    assert store.enroll("u1", "advanced", actor=LEARNER).status == "active"
    with pytest.raises(enrollkit.PrerequisitesNotMetError) as none:
        store.enroll("u2", "advanced")
    assert none.value.missing == ["crs", "basics"]
    before = store.stats()
    # Only an admin overrides, and gives a reason the history keeps.
    for actor in (Actor.SYSTEM, Actor.learner("u2")):
        with pytest.raises(enrollkit.PermissionDeniedError):
            store.enroll("u2", "advanced", override_prerequisites="transfer credit", actor=actor)
    for blank in ("", " "):
        with pytest.raises(enrollkit.ValidationError) as bad:
            store.enroll("u2", "advanced", override_prerequisites=blank)
        assert bad.value.field == "override_prerequisites"
    with pytest.raises(TypeError):
        store.enroll("u2", "advanced", override_prerequisites=True)  # type: ignore[arg-type]
    assert store.stats() == before
    e = store.enroll("u2", "advanced", override_prerequisites="transfer credit")
    assert store.history(e.id)[0].reason == "manual_user_trigger; prerequisites overridden: transfer credit"
    # The rows of enroll_many take it too.
    store.upsert_user(User(id="u3"))
    out = store.enroll_many([{"user_id": "u3", "program_id": "advanced"},
                             {"user_id": "u3", "program_id": "advanced", "override_prerequisites": "waived"}],
                            mode="best_effort")
    assert [o.outcome for o in out] == ["failed", "created"]
    assert isinstance(out[0].error, enrollkit.PrerequisitesNotMetError) and out[0].error.missing == ["crs", "basics"]
    assert out[1].enrollment is not None
    assert store.history(out[1].enrollment.id)[0].reason == "manual_user_trigger; prerequisites overridden: waived"
    with pytest.raises(TypeError, match="row 0"):
        store.enroll_many([{"user_id": "u3", "program_id": "advanced", "override_prerequisites": 1}])


def test_partner_users_enroll_in_certifications_with_their_partnerships(store: Store) -> None:
    partner = store.upsert_user(User(id="p1", partnerships=["prt_a", "prt_b"]))
    assert partner.partnerships == ["prt_a", "prt_b"] and store.get_user("p1") == partner
    assert partner.to_dict()["partnerships"] == ["prt_a", "prt_b"] and store.get_user("u1").partnerships == []
    assert store.upsert_user({"id": "p2", "partnerships": ("prt_c",)}).partnerships == ["prt_c"]
    before = store.stats()
    for given in (None, "prt_z"):
        with pytest.raises(enrollkit.ValidationError) as info:
            store.enroll("p1", "cert", partnership_id=given)
        assert info.value.field == "partnership_id"
    assert store.stats() == before
    assert store.enroll("p1", "cert", partnership_id="prt_b").partnership_id == "prt_b"
    assert store.enroll("u1", "cert").partnership_id is None  # not a partner user
    assert store.enroll("p1", "crs").status == "active"  # courses do not ask
    with pytest.raises(enrollkit.ValidationError) as bad:
        store.upsert_user(User(id="p3", partnerships=[" "]))
    assert bad.value.field == "partnerships"
    with pytest.raises(enrollkit.ValidationError) as wrong:
        store.upsert_user({"id": "p3", "partnerships": "prt_a"})
    assert wrong.value.field == "user"


def test_deadlines_and_expire_due(store: Store) -> None:
    store.set_time("2026-03-01T00:00:00Z")
    store.create_program(course("timed", policy=Policy(deadline=Deadline(after_days=30))))
    store.create_program(Program(id="cert2", kind=Kind.CERTIFICATION, title="Cert", state="active",
                                 policy={"deadline": {"at": "2026-03-15T00:00:00Z"}}))
    store.create_program(Program(id="trk2", kind=Kind.TRACK, title="Track", state="active",
                                 steps=[Step("s", "message", "S", learner_completable=False)],
                                 policy=Policy(deadline={"after_days": 30})))
    store.upsert_users([User(id="u3")])
    c1 = store.enroll("u1", "timed")
    assert c1.deadline_at == utc("2026-03-31T00:00:00Z") and c1.to_dict()["deadline_at"] == "2026-03-31T00:00:00.000Z"
    cert = store.enroll("u1", "cert2")
    assert cert.deadline_at == utc("2026-03-15T00:00:00Z")
    t1 = store.enroll("u1", "trk2")
    assert store.enroll("u1", "crs").deadline_at is None
    done = store.enroll("u2", "timed")
    store.set_progress(done.id, 100)
    dropped = store.drop(store.enroll("u3", "timed").id)
    assert store.expire_due() == []
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.expire_due(actor=LEARNER)
    for bad in (0, 1001, -1):
        with pytest.raises(enrollkit.ValidationError) as info:
            store.expire_due(limit=bad)
        assert info.value.field == "limit"
    with pytest.raises(TypeError):
        store.expire_due(limit="1")  # type: ignore[arg-type]
    store.set_time("2026-03-15T00:00:00Z")
    assert store.expire_due(actor=Actor.ADMIN) == [cert.id]
    store.set_time("2026-04-01T00:00:00Z")
    first = store.expire_due(limit=1)
    assert len(first) == 1
    assert sorted(first + store.expire_due()) == sorted([c1.id, t1.id])
    expired = store.get_enrollment(c1.id)
    assert (expired.status, expired.failure_reason) == ("expired", None)
    for e in (store.get_enrollment(cert.id), store.get_enrollment(t1.id)):
        assert (e.status, e.failure_reason) == ("failed", FailureReason.DEADLINE_PASSED)
    assert store.get_enrollment(t1.id).next_step_at is None
    assert store.get_enrollment(done.id).status == "completed"
    assert store.get_enrollment(dropped.id).status == "dropped"
    last = store.history(c1.id)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason) == (
        "expire", "active", "expired", "deadline=2026-03-31T00:00:00.000Z")
    assert [e.id for e in store.list_enrollments(program_id="timed", status="expired")] == [c1.id]
    assert store.report("timed").by_status == {"completed": 1, "dropped": 1, "expired": 1}
    # An expired course is closed: the user enrolls again, with a new deadline.
    again = store.enroll("u1", "timed")
    assert again.deadline_at == utc("2026-05-01T00:00:00Z") and store.expire_due() == []


def test_policy_error_details() -> None:
    closed = enrollkit.EnrollmentClosedError(
        "enrollment in p closed at 2026-01-01T00:00:00.000Z",
        {"code": "enrollment_closed", "program_id": "p", "opens_at": None, "closed_at": "2026-01-01T00:00:00.000Z"})
    assert (closed.program_id, closed.opens_at, closed.closed_at) == ("p", None, "2026-01-01T00:00:00.000Z")
    missing = enrollkit.PrerequisitesNotMetError("needs a", {"code": "prerequisites_not_met", "program_id": "p",
                                                             "missing": ["a", "b"]})
    assert (missing.program_id, missing.missing) == ("p", ["a", "b"])
    assert enrollkit.PrerequisitesNotMetError("x", {}).missing == []
    full = enrollkit.ProgramFullError("full", {"code": "program_full", "program_id": "p", "capacity": 30})
    assert (full.program_id, full.capacity) == ("p", 30)
    for err in (closed, missing, full):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err) and again.details == err.details
        assert enrollkit.ERRORS[err.code] is type(err)


def test_capacity_and_the_waitlist(store: Store) -> None:
    store.upsert_users([User(id=f"w{i}") for i in range(4)])
    store.create_program(course("seats", policy=Policy(capacity=2, waitlist=True, deadline=Deadline(after_days=7))))
    a, b, c, d = (store.enroll(f"w{i}", "seats", actor=Actor.learner(f"w{i}")) for i in range(4))
    assert [e.status for e in (a, b, c, d)] == ["active", "active", "waitlisted", "waitlisted"]
    assert a.deadline_at == T0 + timedelta(days=7) and c.deadline_at is None and c.started_at is None
    assert [e.id for e in store.waitlist("seats")] == [c.id, d.id]
    assert [e.id for e in store.waitlist("seats", limit=1, actor=Actor.SYSTEM)] == [c.id]
    assert store.waitlist_position(d.id, actor=Actor.learner("w3")) == 2 and store.waitlist_position(a.id) is None
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.waitlist_position(d.id, actor=Actor.learner("w2"))
    with pytest.raises(enrollkit.PermissionDeniedError):
        store.waitlist("seats", actor=LEARNER)
    with pytest.raises(enrollkit.NotFoundError):
        store.waitlist("nope")
    with pytest.raises(enrollkit.ValidationError):
        store.waitlist("seats", limit=0)
    with pytest.raises(enrollkit.AlreadyEnrolledError) as twice:
        store.enroll("w2", "seats")
    assert (twice.value.existing_id, twice.value.status) == (c.id, "waitlisted")
    with pytest.raises(enrollkit.InvalidTransitionError):
        store.set_progress(c.id, 10)
    # A seat that frees goes to the head of the waitlist, in the same call.
    store.advance_time(timedelta(days=1))
    store.drop(a.id)
    promoted = store.get_enrollment(c.id)
    assert promoted.status == "active" and promoted.deadline_at == T0 + timedelta(days=8)
    last = store.history(c.id)[-1]
    assert (last.action, last.from_status, last.to_status, last.actor, last.reason) == (
        "promote", "waitlisted", "active", "system", "seat_freed")
    assert store.waitlist_position(d.id) == 1
    with pytest.raises(enrollkit.ProgramFullError) as full:
        store.reactivate(a.id)
    assert (full.value.program_id, full.value.capacity) == ("seats", 2)
    store.set_progress(b.id, 100)
    assert store.get_enrollment(d.id).status == "active" and store.waitlist("seats") == []
    # Without a waitlist a full program refuses; a larger capacity seats the waitlist.
    store.create_program(Program(id="strict", kind=Kind.CERTIFICATION, title="S", state="active",
                                 policy=Policy(capacity=1)))
    store.enroll("w0", "strict")
    before = store.stats()
    with pytest.raises(enrollkit.ProgramFullError) as refused:
        store.enroll("w1", "strict")
    assert (refused.value.program_id, refused.value.capacity) == ("strict", 1) and store.stats() == before
    [row] = store.enroll_many([{"user_id": "w1", "program_id": "strict"}], mode="best_effort")
    assert isinstance(row.error, enrollkit.ProgramFullError) and row.error.capacity == 1
    store.update_program(Program(id="strict", kind=Kind.CERTIFICATION, title="S", state="active",
                                 policy=Policy(capacity=1, waitlist=True)))
    waiting = store.enroll("w1", "strict")
    assert waiting.status == "waitlisted" and store.report("strict").by_status == {"enrolled": 1, "waitlisted": 1}
    store.update_program(Program(id="strict", kind=Kind.CERTIFICATION, title="S", state="active",
                                 policy={"capacity": 5, "waitlist": True}))
    assert store.get_enrollment(waiting.id).status == "enrolled"


# -- erasure -----------------------------------------------------------------------------------

# Distinctive strings: found anywhere in a file, they can only be the erased person's.
GONE_ID = "vic_9f3k2q"
GONE_EMAIL = "victim.9f3k2q@example.com"
GONE_NAME = "Vicky Ninefthree"


def with_a_person_to_erase(store: Store) -> Dict[str, str]:
    """The person GONE_ID with two enrollments (a seat of a one-seat program, with progress, and
    a certification with an attempt), and others whose records name them: a manager, who enrolled
    someone, a mentor, a failure message. Returns the enrollment ids by name."""
    store.upsert_user(User(id=GONE_ID, email=GONE_EMAIL, display_name=GONE_NAME))
    store.upsert_users([User(id=o, manager_id=GONE_ID) for o in ("o1", "o2", "o3")])
    store.create_program(course("seat", policy=Policy(capacity=1, waitlist=True)))
    store.create_program(Program(id="exam", kind=Kind.CERTIFICATION, title="Exam", state="active",
                                 assessment=Assessment(passing_score=80)))
    learner = Actor.learner(GONE_ID)
    seat = store.enroll(GONE_ID, "seat", actor=learner)
    store.set_progress(seat.id, 40, actor=learner)
    waiting = store.enroll("o1", "seat")
    assert waiting.status == "waitlisted"
    exam = store.enroll(GONE_ID, "exam")
    store.submit_attempt(exam.id, 61.5, actor=learner)
    added = store.enroll("o2", "exam", added_by_user_id=GONE_ID)
    store.assign_mentor(added.id, GONE_ID)
    failed = store.enroll("o3", "exam")
    store.fail(failed.id, FailureReason.UNKNOWN_ERROR, f"asked {GONE_NAME} ({GONE_EMAIL}) to review")
    return {"seat": seat.id, "exam": exam.id, "waiting": waiting.id, "added": added.id, "failed": failed.id}


def assert_gone(what: str, data: bytes) -> None:
    for needle in (GONE_ID, GONE_EMAIL, GONE_NAME):
        assert needle.encode() not in data, f"{needle} found in {what}"


def test_erase_user(store: Store, tmp_path: "os.PathLike[str]") -> None:
    ids = with_a_person_to_erase(store)
    before = store.stats()
    # Only an admin erases; refusals change nothing.
    for actor in (Actor.SYSTEM, Actor.learner(GONE_ID), LEARNER):
        with pytest.raises(enrollkit.PermissionDeniedError):
            store.erase_user(GONE_ID, actor=actor)
    with pytest.raises(enrollkit.NotFoundError) as unknown:
        store.erase_user("nobody")
    assert (unknown.value.entity, unknown.value.id) == ("user", "nobody")
    for bad in ("", " "):
        with pytest.raises(enrollkit.ValidationError) as invalid:
            store.erase_user(bad)
        assert invalid.value.field == "user_id"
    with pytest.raises(TypeError):
        store.erase_user(None)  # type: ignore[arg-type]
    assert store.stats() == before and store.get_user(GONE_ID).email == GONE_EMAIL

    erased = store.erase_user(GONE_ID, actor=Actor.ADMIN)
    assert isinstance(erased, Erasure)
    assert (erased.enrollments, erased.events) == (2, 4)
    assert erased.tombstone.startswith("erased_") and len(erased.tombstone) == len("erased_") + 26
    assert GONE_ID not in erased.tombstone
    # The user and their enrollments are gone...
    with pytest.raises(enrollkit.NotFoundError):
        store.get_user(GONE_ID)
    for name in ("seat", "exam"):
        with pytest.raises(enrollkit.NotFoundError):
            store.get_enrollment(ids[name])
    assert list(store.list_enrollments(user_id=GONE_ID)) == []
    # Events: one user_erased, one promote (the freed seat); none removed.
    assert store.stats() == {**before, "users": before["users"] - 1, "enrollments": before["enrollments"] - 2,
                             "events": before["events"] + 2}
    # ...their history stays, in order, under the tombstone and without reasons...
    for name, actions in (("seat", ["enrolled", "progress"]), ("exam", ["enrolled", "attempt"])):
        history = store.history(ids[name])
        assert [e.action for e in history] == actions
        assert all(e.user_id == erased.tombstone and e.reason is None for e in history)
        assert all(e.enrollment_id == ids[name] and e.seq > 0 for e in history)
        assert history[0].to_status is not None  # statuses are kept
    assert store.history(ids["seat"])[1].actor == Actor.learner(erased.tombstone)
    # ...with one user_erased event in the feed.
    feed = store.events_after(0, limit=1000)
    [event] = [e for e in feed if e.action == "user_erased"]
    assert (event.user_id, event.enrollment_id, event.actor) == (erased.tombstone, erased.tombstone, "admin")
    assert event.reason == "enrollments=2"
    # Their seat went to the waitlist, in the same call; others' records no longer name them.
    assert [(e.action, e.enrollment_id) for e in feed[-2:]] == [("user_erased", erased.tombstone),
                                                                 ("promote", ids["waiting"])]
    assert store.get_enrollment(ids["waiting"]).status == "active"
    assert [store.get_user(o).manager_id for o in ("o1", "o2", "o3")] == [None, None, None]
    added = store.get_enrollment(ids["added"])
    assert (added.added_by_user_id, added.mentor_id, added.mentor_assigned_at) == (None, None, None)
    message = store.get_enrollment(ids["failed"]).failure_message
    assert message == f"asked {erased.tombstone} ({erased.tombstone}) to review"
    export = os.path.join(tmp_path, "after.jsonl")
    store.export(export)
    with open(export, "rb") as f:
        assert_gone("the export", f.read())
    # Once only; compact runs on every backend.
    with pytest.raises(enrollkit.NotFoundError):
        store.erase_user(GONE_ID)
    store.compact()
    assert store.check() == []


def test_erase_user_and_compact_leave_nothing_in_the_file_or_the_wal(tmp_path: "os.PathLike[str]") -> None:
    path = os.path.join(tmp_path, "erase.db")

    def files() -> Dict[str, bytes]:
        out = {}
        for suffix in ("", "-wal"):
            if os.path.exists(path + suffix):
                with open(path + suffix, "rb") as f:
                    out[path + suffix] = f.read()
        return out

    with Store(path, manual_clock=True) as s:
        s.set_time(T0)
        s.upsert_user(User(id="u1"))
        ids = with_a_person_to_erase(s)
        stored = b"".join(files().values())
        assert all(n.encode() in stored for n in (GONE_ID, GONE_EMAIL, GONE_NAME))  # the test can fail
        erased = s.erase_user(GONE_ID)
        assert erased.enrollments == 2
        s.compact()
        written = files()
        assert path in written
        for name, data in written.items():
            assert_gone(name, data)
        # The store goes on as before.
        assert [e.user_id for e in s.history(ids["exam"])] == [erased.tombstone] * 2
        assert s.enroll("u1", "seat").status == "waitlisted" and s.check() == []
    for name, data in files().items():
        assert_gone(name, data)
    with Store(path, read_only=True) as ro:
        with pytest.raises(enrollkit.StorageError, match="read-only"):
            ro.compact()
        with pytest.raises(enrollkit.StorageError, match="read-only"):
            ro.erase_user("u1")


def test_compact_is_busy_while_another_process_reads(tmp_path: "os.PathLike[str]") -> None:
    """A reader in another process keeps the WAL from being emptied: BusyError, after the busy
    timeout; once it is done, compact runs. (The reader is Python's sqlite3 in a child process:
    two SQLite libraries in one process do not see each other's locks.)"""
    path = os.path.join(tmp_path, "busy.db")
    reader_code = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN')\n"
        "print(conn.execute('SELECT count(*) FROM users').fetchone()[0], flush=True)\n"
        "sys.stdin.readline()\n"
        "conn.execute('COMMIT')\n"
        "conn.close()\n"
    )
    with Store(path, busy_timeout=0.2) as s:
        s.upsert_users([User(id=f"r{i}") for i in range(20)])
        reader = subprocess.Popen([sys.executable, "-c", reader_code, path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout is not None and reader.stdin is not None
            assert reader.stdout.readline().strip() == "20"  # reading, in a transaction
            s.upsert_user(User(id="later"))
            with pytest.raises(enrollkit.BusyError):
                s.compact()
            reader.stdin.write("done\n")
            reader.stdin.flush()
            assert reader.wait(timeout=30) == 0
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
        s.compact()
        assert os.path.getsize(path + "-wal") == 0
        assert len(s.list_users()) == 21 and s.check() == []
