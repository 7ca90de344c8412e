"""Property tests (hypothesis) over the Python API.

* A state machine drives random enroll / add_progress / set_progress / drop / reactivate /
  list calls by random actors (admin and learners) against a small model of the course rules,
  and checks after every step that the store agrees with the model, that a learner lists only
  their own enrollments, and that enrollkit's invariant check passes.
* Strings full of SQL metacharacters, quotes, NUL bytes and very long values are either stored
  and returned exactly or refused with ``ValidationError``; nothing else.
* Random program policies are either accepted and read back equal (from their dicts, pickles and
  the store) or refused with ``ValidationError``, by the record and the store alike.
"""

import pickle
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import enrollkit
import pytest
from enrollkit import Actor, Kind, Policy, Program, ProgramState, Store, User
from enrollkit._types import format_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

USERS = ["u0", "u1", "u2"]
PROGRAMS = ["c0", "c1"]
ACTORS = [Actor.ADMIN] + [Actor.learner(u) for u in USERS]


class Model:
    """What the course rules say should have happened: one record per enrollment."""

    def __init__(self) -> None:
        self.enrollments: Dict[str, Dict[str, object]] = {}

    def open_one(self, user: str, program: str) -> Optional[str]:
        for id, e in self.enrollments.items():
            if e["user"] == user and e["program"] == program and e["status"] in ("active", "dropped"):
                return id
        return None

    def any_one(self, user: str, program: str) -> Optional[str]:
        ids = [id for id, e in self.enrollments.items() if e["user"] == user and e["program"] == program]
        return ids[-1] if ids else None


def allowed(actor: str, user: str) -> bool:
    return actor == Actor.ADMIN or actor == Actor.learner(user)


class CourseRules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = Store.in_memory()
        for u in USERS:
            self.store.upsert_user(User(id=u))
        for p in PROGRAMS:
            self.store.create_program(Program(id=p, kind=Kind.COURSE, title=p, state=ProgramState.ACTIVE,
                                              self_enrollment=True))
        self.model = Model()
        self.ids: List[str] = []

    def teardown(self) -> None:
        self.store.close()

    @rule(actor=st.sampled_from(ACTORS), user=st.sampled_from(USERS), program=st.sampled_from(PROGRAMS),
          again=st.booleans())
    def enroll(self, actor: str, user: str, program: str, again: bool) -> None:
        existing = self.model.open_one(user, program) or (None if again else self.model.any_one(user, program))
        if not allowed(actor, user):
            with pytest.raises(enrollkit.PermissionDeniedError):
                self.store.enroll(user, program, actor=actor, allow_reenroll=again)
        elif existing is not None:
            with pytest.raises(enrollkit.AlreadyEnrolledError) as err:
                self.store.enroll(user, program, actor=actor, allow_reenroll=again)
            assert err.value.details["existing_id"] == existing
        else:
            e = self.store.enroll(user, program, actor=actor, allow_reenroll=again)
            assert (e.user_id, e.program_id, e.status, e.progress_percent) == (user, program, "active", 0)
            self.model.enrollments[e.id] = {"user": user, "program": program, "status": "active", "progress": 0.0}
            self.ids.append(e.id)

    def pick(self, data: st.DataObject) -> Tuple[str, Dict[str, object]]:
        id = data.draw(st.sampled_from(self.ids))
        return id, self.model.enrollments[id]

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), actor=st.sampled_from(ACTORS),
          delta=st.one_of(st.integers(-100, 100).map(float), st.floats(allow_nan=True)))
    def add_progress(self, data: st.DataObject, actor: str, delta: float) -> None:
        id, e = self.pick(data)
        if not -100 <= delta <= 100:
            with pytest.raises(enrollkit.ValidationError):
                self.store.add_progress(id, delta, actor=actor)
        elif not allowed(actor, str(e["user"])):
            with pytest.raises(enrollkit.PermissionDeniedError):
                self.store.add_progress(id, delta, actor=actor)
        elif e["status"] != "active":
            with pytest.raises(enrollkit.InvalidTransitionError):
                self.store.add_progress(id, delta, actor=actor)
        else:
            got = self.store.add_progress(id, delta, actor=actor)
            e["progress"] = min(max(float(e["progress"]) + delta, 0.0), 100.0)  # type: ignore[arg-type]
            if e["progress"] == 100.0:
                e["status"] = "completed"
            assert (got.status, got.progress_percent) == (e["status"], e["progress"])

    @precondition(lambda self: self.ids)
    @rule(data=st.data(), actor=st.sampled_from(ACTORS), drop=st.booleans())
    def drop_or_reactivate(self, data: st.DataObject, actor: str, drop: bool) -> None:
        id, e = self.pick(data)
        call = self.store.drop if drop else self.store.reactivate
        before, after = ("active", "dropped") if drop else ("dropped", "active")
        if not allowed(actor, str(e["user"])):
            with pytest.raises(enrollkit.PermissionDeniedError):
                call(id, actor=actor)
        elif e["status"] != before:
            with pytest.raises(enrollkit.InvalidTransitionError):
                call(id, actor=actor)
        else:
            assert call(id, actor=actor).status == after
            e["status"] = after

    @rule(user=st.sampled_from(USERS), program=st.one_of(st.none(), st.sampled_from(PROGRAMS)))
    def learner_lists_only_their_own(self, user: str, program: Optional[str]) -> None:
        listed = list(self.store.list_enrollments(actor=Actor.learner(user), program_id=program, page_size=7))
        expected = {id for id, e in self.model.enrollments.items()
                    if e["user"] == user and (program is None or e["program"] == program)}
        assert {e.id for e in listed} == expected
        assert all(e.user_id == user for e in listed)

    @invariant()
    def store_agrees_with_the_model(self) -> None:
        listed = {e.id: e for e in self.store.list_enrollments(page_size=50)}
        assert set(listed) == set(self.model.enrollments)
        for id, e in self.model.enrollments.items():
            got = listed[id]
            assert (got.user_id, got.program_id, got.status, got.progress_percent) == (
                e["user"], e["program"], e["status"], e["progress"])

    @invariant()
    def invariants_hold(self) -> None:
        assert self.store.check() == []


TestCourseRules = CourseRules.TestCase
TestCourseRules.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])

NASTY = st.one_of(
    st.text(min_size=0, max_size=40),
    st.sampled_from(["'; DROP TABLE users; --", "\" OR 1=1 --", "%_\\", "a\x00b", "\x00", "Robert'); --",
                     " padded ", "é\u0301", "\U0001F600", "x" * 300, "y" * 100_000]),
)


@settings(max_examples=150, deadline=None)
@given(id=NASTY, name=NASTY, email=NASTY)
def test_strings_are_stored_exactly_or_refused(id: str, name: str, email: str) -> None:
    with Store.in_memory() as store:
        try:
            stored = store.upsert_user(User(id=id, display_name=name, email=email))
        except enrollkit.ValidationError:
            assert store.list_users() == []  # refused: nothing written
            return
        assert (stored.id, stored.display_name, stored.email) == (id, name, email)
        got = store.get_user(id)
        assert (got.id, got.display_name, got.email) == (id, name, email)
        assert store.check() == []


INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(timezone.utc)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
DEADLINES = st.one_of(st.none(), st.builds(lambda at: {"at": at}, INSTANTS),
                      st.builds(lambda days: {"after_days": days}, st.integers(-2, 36_502)))


@settings(max_examples=150, deadline=None)
@given(opens=st.none() | INSTANTS, closes=st.none() | INSTANTS, deadline=DEADLINES,
       capacity=st.none() | st.integers(-1, 5), waitlist=st.booleans(),
       prerequisites=st.lists(st.sampled_from(PROGRAMS + ["", " c0"]), max_size=3))
def test_policies_round_trip_or_are_refused(opens: Optional[datetime], closes: Optional[datetime],
                                             deadline: Optional[Dict[str, Any]], capacity: Optional[int],
                                             waitlist: bool, prerequisites: List[str]) -> None:
    """A policy the record accepts reads back equal from its dict, its pickle and the store (as
    ``None`` when empty); one it refuses, the store refuses as a mapping too, writing nothing."""
    fields: Dict[str, Any] = dict(enroll_opens_at=opens, enroll_closes_at=closes, deadline=deadline,
                                  capacity=capacity, waitlist=waitlist, prerequisites=prerequisites)
    with Store.in_memory() as store:
        for p in PROGRAMS:
            store.create_program(Program(id=p, kind=Kind.COURSE, title=p, state=ProgramState.ACTIVE))
        program = {"id": "p", "kind": "course", "title": "P", "state": "active", "policy": fields}
        try:
            policy = Policy(**fields)
        except enrollkit.ValidationError:
            with pytest.raises(enrollkit.ValidationError):
                store.create_program(program)
            assert store.stats()["programs"] == len(PROGRAMS)
            return
        assert Policy.from_dict(policy.to_dict()) == policy and pickle.loads(pickle.dumps(policy)) == policy
        assert policy.enroll_opens_at == opens and policy.enroll_closes_at == closes
        assert (policy.capacity, policy.waitlist, policy.prerequisites) == (capacity, waitlist, prerequisites)
        assert (policy.deadline.to_dict() if policy.deadline else None) == (
            deadline and {k: format_time(v) if k == "at" else v for k, v in deadline.items()})
        stored = store.create_program(program).policy
        assert stored == (None if policy == Policy() else policy) and store.get_program("p").policy == stored
        assert store.check() == []
