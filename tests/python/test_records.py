"""The native records and the conversions at the boundary: every record's attributes, equality,
hashing, repr, pickling and dict forms; requests taken from Python objects; bad values refused
with typed errors (deep nesting included, without a RecursionError or a crash)."""

import copy
import math
import pickle
import types
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import enrollkit
import pytest
from enrollkit import (
    Actor,
    Anchor,
    Assessment,
    Attempt,
    Claim,
    Deadline,
    DelayUnit,
    Enrollment,
    EnrollOutcome,
    Erasure,
    Event,
    FailureReason,
    Kind,
    Page,
    Policy,
    Program,
    ProgramReport,
    ProgramState,
    Step,
    StepFunnel,
    StepProgress,
    StepSchedule,
    StepStatus,
    Store,
    Trigger,
    User,
)
from enrollkit import _enrollkit

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
RECORDS = [User, StepSchedule, Step, Assessment, Deadline, Policy, Program, Enrollment, StepProgress, Attempt, Event,
           StepFunnel, ProgramReport, EnrollOutcome, Claim, Erasure, Page]
# Keys to_dict() leaves out when they are absent, as the core's JSON does.
OMITTED_WHEN_ABSENT = {"enrollment", "existing_id", "error", "schedule", "at", "after_days", "hire_date", "user_id",
                       "policy"}


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.in_memory(manual_clock=True)
    s.set_time(T0)
    s.upsert_user(User(id="u1", email="u1@example.com", groups=["a", "b"]))
    s.upsert_user(User(id="u2"))
    s.create_program(Program(id="trk", kind=Kind.TRACK, title="Track", state=ProgramState.ACTIVE, steps=[
        Step("hello", "message", "Hello", learner_completable=False), Step("survey", "survey", "Survey")]))
    s.create_program(Program(id="crs", kind="course", title="Course", state="active", self_enrollment=True,
                             assessment=Assessment(60, max_attempts=3)))
    s.create_program(Program(id="drip", kind=Kind.TRACK, title="Drip", state=ProgramState.ACTIVE, steps=[
        Step("welcome", "message", "Welcome", learner_completable=False),
        Step("tip", "message", "Tip", False, StepSchedule(Anchor.PREVIOUS_STEP, 1, DelayUnit.BUSINESS_DAYS, "09:00")),
        Step("nudge", "message", "Nudge", False, {"after": "previous_step", "delay": 90, "unit": "minutes"})]))
    yield s
    s.close()


def one_of_each(store: Store) -> Dict[type, List[Any]]:
    """At least one record of every type, as the store returns them."""
    t = store.enroll("u1", "trk")
    store.deliver_step(t.id, "survey")
    store.complete_step(t.id, "survey", {"answers": [1, {"x": None}]}, actor="learner:u1")
    c = store.enroll("u1", "crs")
    c, attempt = store.submit_attempt(c.id, 70)
    outcomes = store.enroll_many([{"user_id": "u2", "program_id": "crs"}, {"user_id": "u1", "program_id": "crs"},
                                  {"user_id": "ghost", "program_id": "crs"}], mode="best_effort")
    report = store.report("trk")
    store.upsert_user(User(id="vet", hire_date="2020-01-15"))
    anniversaries = store.enroll_anniversaries("crs", "2026-01-15") + store.enroll_anniversaries("crs", "2026-01-15")
    store.enroll("u2", "drip")
    claims = store.claim_due("w1", 10, 60)
    due = store.due()
    drip = store.get_program("drip").steps
    store.create_program(Program(id="fixed", kind="certification", title="F", state="active", policy=Policy(
        enroll_closes_at=T0 + timedelta(days=30), deadline=Deadline(at=T0 + timedelta(days=60)), capacity=5,
        waitlist=True, prerequisites=["crs"])))
    store.create_program(Program(id="relative", kind="course", title="R", state="active",
                                 policy={"deadline": {"after_days": 7}}))
    policies = [p.policy for p in store.list_programs() if p.policy is not None]
    assert len(policies) == 2
    store.upsert_user(User(id="gone", email="gone@example.com"))
    store.enroll("gone", "crs")
    erasures = [store.erase_user("gone"), store.erase_user("vet")]
    return {
        User: store.list_users(),
        StepSchedule: [step.schedule for step in drip if step.schedule is not None],
        Step: store.get_program("trk").steps + drip,
        Assessment: [a for a in [store.get_program("crs").assessment] if a is not None],
        Deadline: [p.deadline for p in policies if p.deadline is not None],
        Policy: policies,
        Program: store.list_programs(),
        Enrollment: [store.get_enrollment(t.id), c],
        StepProgress: store.step_progress(t.id),
        Attempt: [attempt],
        Event: store.history(t.id),
        StepFunnel: report.steps,
        ProgramReport: [report],
        EnrollOutcome: outcomes + anniversaries,
        Claim: claims + due,
        Erasure: erasures,
        Page: [store.list_page(per_page=1), store.list_page()],
    }


def properties(cls: type) -> List[str]:
    return [name for name, v in vars(cls).items() if isinstance(v, types.GetSetDescriptorType)]


def test_records_are_the_native_classes_under_their_public_names() -> None:
    for cls in RECORDS:
        assert getattr(enrollkit, cls.__name__) is cls is getattr(_enrollkit, cls.__name__)
        assert cls.__module__ == "enrollkit"
        with pytest.raises(TypeError):
            type("Sub", (cls,), {})  # final, as the stub says


def test_attributes_match_to_dict_repr_and_the_core(store: Store) -> None:
    attrs = _enrollkit._record_attributes()
    assert set(attrs) == {cls.__name__ for cls in RECORDS}
    for cls, records in one_of_each(store).items():
        assert records, cls
        assert sorted(properties(cls)) == sorted(attrs[cls.__name__]), cls
        for r in records:
            # to_dict is the core's own JSON form: a field the core adds without a property here
            # shows up as a key nobody can read.
            d = r.to_dict()
            assert list(d) == [a for a in attrs[cls.__name__] if a in d], cls
            assert set(d) == set(attrs[cls.__name__]) - (OMITTED_WHEN_ABSENT - set(d)), cls
            for key in OMITTED_WHEN_ABSENT & (set(attrs[cls.__name__]) - set(d)):
                assert getattr(r, key) is None, (cls, key)
            text = repr(r)
            assert text.startswith(f"{cls.__name__}(") and all(f"{a}=" in text for a in attrs[cls.__name__])


def test_enum_members_match_the_core() -> None:
    for name, values in _enrollkit._enum_values().items():
        enum = getattr(enrollkit, name)
        assert [m.value for m in enum] == values, name


def test_fields_are_typed(store: Store) -> None:
    records = one_of_each(store)
    e = records[Enrollment][0]
    assert e.kind is Kind.TRACK and e.trigger is Trigger.MANUAL_USER_TRIGGER and e.status == "active"
    assert type(e.enrolled_at) is datetime and e.enrolled_at.tzinfo is timezone.utc and e.enrolled_at == T0
    assert e.completed_at is None and e.failure_reason is None
    assert (e.steps_delivered, e.steps_completed, e.steps_total, e.completion_percent) == (1, 1, 2, 50.0)
    p = store.get_program("crs")
    assert p.kind is Kind.COURSE and p.state is ProgramState.ACTIVE and p.created_at == T0
    assert p.assessment == Assessment(60, 3) and p.steps == []
    steps = records[StepProgress]
    assert [s.status for s in steps] == [StepStatus.PENDING, StepStatus.COMPLETED]
    assert steps[1].result == {"answers": [1, {"x": None}]} and steps[0].result is None
    assert steps[1].completed_at == T0 and steps[0].completed_at is None
    failed = records[EnrollOutcome][2]
    assert failed.outcome == "failed" and isinstance(failed.error, enrollkit.NotFoundError)
    assert failed.error.details["id"] == "ghost"
    assert records[EnrollOutcome][1].existing_id is not None
    assert isinstance(records[ProgramReport][0].by_status, dict)
    u = store.get_user("u1")
    assert u.groups == ["a", "b"]
    u.groups.append("c")  # a new list on each read: the record does not change
    assert u.groups == ["a", "b"]


def test_records_are_immutable(store: Store) -> None:
    for records in one_of_each(store).values():
        r = records[0]
        name = properties(type(r))[0]
        with pytest.raises(AttributeError):
            setattr(r, name, getattr(r, name))
        with pytest.raises(AttributeError):
            r.extra = 1


def test_equality_hashing_pickling_and_dicts(store: Store) -> None:
    for cls, records in one_of_each(store).items():
        for r in records:
            again = cls.from_dict(r.to_dict())  # type: ignore[attr-defined]
            assert again == r and not (again != r), cls
            assert pickle.loads(pickle.dumps(r)) == r, cls
            assert copy.deepcopy(r) == r and copy.copy(r) == r, cls
            assert r != object() and r != r.to_dict(), cls
            if cls in (EnrollOutcome, Page):
                with pytest.raises(TypeError):
                    hash(r)
            else:
                assert hash(again) == hash(r) and {r, again} == {r}, cls
    e = store.enroll("u2", "trk")
    later = store.deliver_step(e.id, "survey")
    assert later != e and later.id == e.id


def test_from_dict_skips_unknown_keys_and_names_missing_ones(store: Store) -> None:
    e = store.enroll("u1", "crs")
    d = e.to_dict()
    assert Enrollment.from_dict({**d, "from_the_future": 1}) == e
    # Times as datetimes, enums as members: what the records themselves hold.
    assert Enrollment.from_dict({**d, "enrolled_at": e.enrolled_at, "kind": Kind.COURSE}) == e
    del d["user_id"]
    with pytest.raises(TypeError, match="user_id"):
        Enrollment.from_dict(d)
    p = store.get_program("trk")
    assert Program.from_dict(p.to_dict()) == p
    assert Program.from_dict({**p.to_dict(), "steps": p.steps}) == p
    assert p.spec() == {k: v for k, v in p.to_dict().items() if k not in ("created_at", "updated_at")}
    with pytest.raises(TypeError):
        User.from_dict(["id", "u1"])  # type: ignore[arg-type]
    assert EnrollOutcome.from_dict({"outcome": "not_applied"}) == EnrollOutcome("not_applied")
    assert Page.from_dict({"items": [], "has_more": False, "next_cursor": None}) == Page([], False)


def test_constructors() -> None:
    u = User("u1", groups=("x",))
    assert u == User(id="u1", groups=["x"]) and u.to_dict()["groups"] == ["x"]
    e = Enrollment(id="e", user_id="u", program_id="p", kind="certification", status="in_progress",
                   trigger=Trigger.SCHEDULE, enrolled_at="2026-01-15T10:00:00Z",
                   updated_at=T0 + timedelta(microseconds=1500), failure_reason="unknown_error")
    assert e.enrolled_at == T0 and e.updated_at == T0 + timedelta(milliseconds=1)
    assert e.failure_reason is FailureReason.UNKNOWN_ERROR and e.attempt_number == 1
    with pytest.raises(enrollkit.ValidationError) as bad_status:
        Enrollment(id="e", user_id="u", program_id="p", kind="course", status="in_progress",
                   trigger="schedule", enrolled_at=T0, updated_at=T0)
    assert bad_status.value.field == "status"
    with pytest.raises(enrollkit.ValidationError):
        Program(id="p", kind="webinar", title="T", state="active")
    with pytest.raises(enrollkit.ValidationError) as naive:
        Attempt(1, 50, datetime(2026, 1, 1))
    assert naive.value.field == "submitted_at"
    with pytest.raises(TypeError):
        Attempt(1, 50, date(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        User(id=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        User(id="u", groups="ab")  # a str is a Sequence[str] to mypy, not to the record
    with pytest.raises(TypeError):
        Attempt(True, 50, T0)
    with pytest.raises(enrollkit.ValidationError):
        Attempt(-1, 50, T0)
    with pytest.raises(TypeError):
        Assessment("60")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Program(id="p", kind="course", title="T", state="active", steps=[{"id": "s"}])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        EnrollOutcome("failed", error=ValueError("x"))  # type: ignore[arg-type]
    # The policies' statuses, in their vocabularies, and the deadline's failure reason.
    late = Enrollment(id="e", user_id="u", program_id="p", kind="course", status="expired", trigger="schedule",
                      enrolled_at=T0, updated_at=T0, deadline_at="2026-02-14T10:00:00Z")
    assert late.deadline_at == T0 + timedelta(days=30) and late.to_dict()["deadline_at"] == "2026-02-14T10:00:00.000Z"
    assert Enrollment.from_dict(late.to_dict()) == late and late.status == "expired"
    for kind in ("course", "certification", "track"):
        waiting = Enrollment(id="e", user_id="u", program_id="p", kind=kind, status="waitlisted", trigger="schedule",
                             enrolled_at=T0, updated_at=T0)
        assert waiting.status == "waitlisted" and waiting.deadline_at is None
    for kind in ("certification", "track"):
        with pytest.raises(enrollkit.ValidationError):
            Enrollment(id="e", user_id="u", program_id="p", kind=kind, status="expired", trigger="schedule",
                       enrolled_at=T0, updated_at=T0)
    failed = Enrollment(id="e", user_id="u", program_id="p", kind="certification", status="failed",
                        trigger="schedule", enrolled_at=T0, updated_at=T0, failure_reason="deadline_passed")
    assert failed.failure_reason is FailureReason.DEADLINE_PASSED
    partner = User("p", partnerships=("prt_a",))
    assert partner.partnerships == ["prt_a"] and User.from_dict(partner.to_dict()) == partner
    assert partner != User("p") and User("p").to_dict()["partnerships"] == []


def test_enroll_outcomes_name_a_user_only_when_given_one() -> None:
    e = Enrollment(id="e", user_id="u1", program_id="p", kind="course", status="active", trigger="work_anniversary",
                   enrolled_at=T0, updated_at=T0)
    created = EnrollOutcome("created", e, user_id="u1")
    assert created.user_id == "u1" and EnrollOutcome("created", e).user_id is None
    assert created.to_dict() == {"outcome": "created", "enrollment": e.to_dict(), "user_id": "u1"}
    assert "user_id" not in EnrollOutcome("created", e).to_dict()  # enroll_many's JSON, unchanged
    assert created != EnrollOutcome("created", e) and created != EnrollOutcome("created", e, user_id="u2")
    assert created == EnrollOutcome(outcome="created", enrollment=e, user_id="u1")
    assert EnrollOutcome.from_dict(created.to_dict()) == created and pickle.loads(pickle.dumps(created)) == created
    assert EnrollOutcome.from_dict({"outcome": "created", "enrollment": e.to_dict()}).user_id is None
    assert repr(created).endswith(", user_id='u1')")
    seen = EnrollOutcome("already_enrolled", existing_id="e", user_id="u1")
    assert seen.to_dict() == {"outcome": "already_enrolled", "existing_id": "e", "user_id": "u1"}
    assert EnrollOutcome.from_dict({"user_id": "u1", "outcome": "already_enrolled", "existing_id": "e"}) == seen
    failed = EnrollOutcome("failed", error=enrollkit.NotFoundError("no", {"code": "not_found"}), user_id="u1")
    assert pickle.loads(pickle.dumps(failed)) == failed and failed.to_dict()["user_id"] == "u1"
    with pytest.raises(TypeError):
        EnrollOutcome("created", user_id=5)  # type: ignore[arg-type]


def test_erasures() -> None:
    tombstone = "erased_01JH5Z8K6Q" + "0" * 16
    e = Erasure(tombstone, 2, 5)
    assert (e.tombstone, e.enrollments, e.events) == (tombstone, 2, 5)
    assert e == Erasure(tombstone=tombstone, enrollments=2, events=5) and hash(e) == hash(Erasure(tombstone, 2, 5))
    assert e != Erasure(tombstone, 2, 6) and e != Erasure(tombstone, 1, 5) and e != Erasure("erased_other", 2, 5)
    # The core's JSON of an erasure, as the other surfaces return it.
    assert e.to_dict() == {"tombstone": tombstone, "enrollments": 2, "events": 5}
    assert list(e.to_dict()) == ["tombstone", "enrollments", "events"]
    assert Erasure.from_dict(e.to_dict()) == e and Erasure.from_dict({**e.to_dict(), "programs": 1}) == e
    assert pickle.loads(pickle.dumps(e)) == e and copy.deepcopy(e) == e
    assert repr(e) == f"Erasure(tombstone='{tombstone}', enrollments=2, events=5)"
    assert Erasure("erased_x", 0, 2**63 - 1).events == 2**63 - 1
    with pytest.raises(AttributeError):
        e.events = 6  # type: ignore[misc]
    with pytest.raises(TypeError, match="events"):
        Erasure.from_dict({"tombstone": tombstone, "enrollments": 2})
    wrong: List[Dict[str, Any]] = [{"enrollments": "2"}, {"enrollments": True}, {"events": 1.0}, {"tombstone": None}]
    for bad in wrong:
        with pytest.raises(TypeError):
            Erasure(**{"tombstone": tombstone, "enrollments": 2, "events": 5, **bad})
    out_of_range: List[Dict[str, Any]] = [{"enrollments": -1}, {"events": 2**63}]
    for bad in out_of_range:
        with pytest.raises(enrollkit.ValidationError):
            Erasure(**{"tombstone": tombstone, "enrollments": 2, "events": 5, **bad})


def test_step_schedules() -> None:
    day3 = StepSchedule("start", 3, "days", "09:00")
    assert day3.after is Anchor.START and day3.unit is DelayUnit.DAYS and (day3.delay, day3.at) == (3, "09:00")
    assert day3 == StepSchedule(after=Anchor.START, delay=3, unit=DelayUnit.DAYS, at="09:00")
    assert hash(day3) == hash(StepSchedule(Anchor.START, 3, DelayUnit.DAYS, "09:00"))
    assert day3 != StepSchedule("start", 3, "days", "09:30") and day3 != StepSchedule("start", 3, "days")
    assert day3.to_dict() == {"after": "start", "delay": 3, "unit": "days", "at": "09:00"}
    soon = StepSchedule("previous_step", 90, "minutes")
    assert soon.at is None and soon.to_dict() == {"after": "previous_step", "delay": 90, "unit": "minutes"}
    assert StepSchedule.from_dict(soon.to_dict()) == soon and pickle.loads(pickle.dumps(day3)) == day3
    assert repr(day3).startswith("StepSchedule(after=")
    step = Step("tip", "message", "Tip", False, {"after": "previous_step", "delay": 1, "unit": "business_days"})
    assert step.schedule == StepSchedule("previous_step", 1, "business_days")
    assert step.to_dict()["schedule"] == {"after": "previous_step", "delay": 1, "unit": "business_days"}
    assert Step.from_dict(step.to_dict()) == step and Step.from_dict({**step.to_dict(), "schedule": None}) != step
    assert Step("a", "lesson", "A").schedule is None and "schedule" not in Step("a", "lesson", "A").to_dict()
    assert Step("a", "lesson", "A", schedule=day3).schedule == day3
    # Every bad value is a ValidationError naming the schedule's field, never a bare Python error.
    cases: List[Tuple[Dict[str, Any], str]] = [
        ({"unit": "weeks"}, "schedule.unit"), ({"after": "enrollment"}, "schedule.after"),
        ({"at": "25:00"}, "schedule.at"), ({"at": "9:00"}, "schedule.at"),
        ({"unit": "hours", "at": "09:00"}, "schedule.at"), ({"delay": -1}, "schedule.delay"),
        ({"delay": 10 * 366 * 24 * 60 + 1}, "schedule.delay"), ({"delay": 2**40}, "schedule.delay")]
    for kwargs, field in cases:
        args: Dict[str, Any] = {"after": "start", "delay": 1, "unit": "days", **kwargs}
        with pytest.raises(enrollkit.ValidationError) as info:
            StepSchedule(**args)
        assert info.value.field == field, kwargs
        with pytest.raises(enrollkit.ValidationError):
            Step("a", "message", "A", schedule=args)
    wrong_types: List[Dict[str, Any]] = [{"delay": "1"}, {"delay": True}, {"at": 900}, {"unit": 3}]
    for bad in wrong_types:
        with pytest.raises(TypeError):
            StepSchedule(**{"after": "start", "delay": 1, "unit": "days", **bad})
    with pytest.raises(TypeError):
        Step("a", "message", "A", schedule="daily")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unit"):
        Step("a", "message", "A", schedule={"after": "start", "delay": 1})


def test_deadlines() -> None:
    fixed = Deadline(at="2026-06-30T00:00:00Z")
    assert fixed.at == datetime(2026, 6, 30, tzinfo=timezone.utc) and fixed.after_days is None
    assert fixed.to_dict() == {"at": "2026-06-30T00:00:00.000Z"}
    assert fixed == Deadline(at=datetime(2026, 6, 30, tzinfo=timezone.utc)) and fixed != Deadline(after_days=1)
    relative = Deadline(after_days=90)
    assert (relative.at, relative.after_days, relative.to_dict()) == (None, 90, {"after_days": 90})
    assert hash(relative) == hash(Deadline(after_days=90)) and {relative, Deadline(after_days=90)} == {relative}
    for d in (fixed, relative):
        assert Deadline.from_dict(d.to_dict()) == d and pickle.loads(pickle.dumps(d)) == d
    assert repr(relative) == "Deadline(at=None, after_days=90)"
    assert Deadline(after_days=1) != Deadline(after_days=2) and Deadline(after_days=36500).after_days == 36500
    bad: List[Dict[str, Any]] = [{}, {"at": T0, "after_days": 1}, {"at": None, "after_days": None}, {"after_days": 0},
                                 {"after_days": 36501}, {"after_days": -1}, {"after_days": 2**40}]
    for kwargs in bad:
        with pytest.raises(enrollkit.ValidationError) as info:
            Deadline(**kwargs)
        assert info.value.field == "deadline", kwargs
    with pytest.raises(enrollkit.ValidationError):
        Deadline(at=datetime(2026, 6, 30))  # naive
    with pytest.raises(enrollkit.ValidationError):
        Deadline(at="end of June")
    for wrong in ({"after_days": "90"}, {"after_days": True}, {"after_days": 9.0}, {"at": 20260630}):
        with pytest.raises(TypeError):
            Deadline(**wrong)
    with pytest.raises(TypeError):
        Deadline(90)  # type: ignore[call-arg, arg-type]  # keyword-only: which would 90 be?


def test_policies() -> None:
    p = Policy(enroll_opens_at="2026-01-01T00:00:00Z", enroll_closes_at=T0 + timedelta(days=30),
               deadline={"after_days": 90}, capacity=30, waitlist=True, prerequisites=("crs_intro", "crs_basics"))
    assert p.enroll_opens_at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert p.enroll_closes_at == T0 + timedelta(days=30) and p.deadline == Deadline(after_days=90)
    assert (p.capacity, p.waitlist, p.prerequisites) == (30, True, ["crs_intro", "crs_basics"])
    # The core's JSON: every field, once any is set.
    assert p.to_dict() == {"enroll_opens_at": "2026-01-01T00:00:00.000Z", "enroll_closes_at": "2026-02-14T10:00:00.000Z",
                           "deadline": {"after_days": 90}, "capacity": 30, "waitlist": True,
                           "prerequisites": ["crs_intro", "crs_basics"]}
    assert Policy().to_dict() == {"enroll_opens_at": None, "enroll_closes_at": None, "deadline": None,
                                  "capacity": None, "waitlist": False, "prerequisites": []}
    assert Policy.from_dict(p.to_dict()) == p and pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert Policy.from_dict({**p.to_dict(), "seats_left": 3}) == p  # a newer enrollkit's field
    assert hash(Policy.from_dict(p.to_dict())) == hash(p) and len({p, Policy.from_dict(p.to_dict()), Policy()}) == 2
    assert Policy(deadline=Deadline(after_days=90)) == Policy(deadline={"after_days": 90}) != Policy()
    assert Policy(prerequisites=["a", "b"]) != Policy(prerequisites=["b", "a"])
    assert repr(Policy()) == ("Policy(enroll_opens_at=None, enroll_closes_at=None, deadline=None, capacity=None, "
                              "waitlist=False, prerequisites=[])")
    p.prerequisites.append("x")  # a new list on each read
    assert p.prerequisites == ["crs_intro", "crs_basics"]
    cases: List[Tuple[Dict[str, Any], str]] = [
        ({"enroll_opens_at": T0, "enroll_closes_at": T0}, "enroll_closes_at"),
        ({"deadline": {"after_days": 0}}, "deadline"),
        ({"deadline": {}}, "deadline"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": -1}, "capacity"),
        ({"waitlist": True}, "waitlist"),
        ({"prerequisites": ["a", "a"]}, "prerequisites"),
        ({"prerequisites": [" a"]}, "prerequisites"),
        ({"prerequisites": [f"p{i}" for i in range(101)]}, "prerequisites"),
        ({"enroll_opens_at": datetime(2026, 1, 1)}, "enroll_opens_at"),
    ]
    for kwargs, field in cases:
        with pytest.raises(enrollkit.ValidationError) as info:
            Policy(**kwargs)
        assert info.value.field == field, kwargs
    for wrong in ({"prerequisites": "crs"}, {"prerequisites": [1]}, {"waitlist": 1}, {"capacity": "3"},
                  {"deadline": 90}, {"deadline": "90 days"}, {"enroll_opens_at": 5}):
        with pytest.raises(TypeError):
            Policy(**wrong)
    assert Policy(waitlist=True, capacity=1).waitlist and Policy(capacity=None).capacity is None


def test_programs_with_policies() -> None:
    p = Program(id="adv", kind="course", title="A", state="active", policy={"prerequisites": ["crs"]})
    assert p.policy == Policy(prerequisites=["crs"]) and p.to_dict()["policy"]["prerequisites"] == ["crs"]
    assert list(p.to_dict())[-3:] == ["policy", "created_at", "updated_at"]
    assert p.spec()["policy"] == Policy(prerequisites=["crs"]).to_dict()
    assert Program.from_dict(p.to_dict()) == p and pickle.loads(pickle.dumps(p)) == p
    plain = Program(id="adv", kind="course", title="A", state="active")
    assert plain.policy is None and "policy" not in plain.to_dict() and plain != p
    assert Program(id="adv", kind="course", title="A", state="active", policy=Policy()) == plain
    assert Program(id="adv", kind="course", title="A", state="active", policy=p.policy) == p
    assert Program.from_dict({**plain.to_dict(), "policy": None}) == plain
    with pytest.raises(TypeError):
        Program(id="adv", kind="course", title="A", state="active", policy=["crs"])  # type: ignore[arg-type]
    with pytest.raises(enrollkit.ValidationError):
        Program(id="adv", kind="course", title="A", state="active", policy={"capacity": 0})


# -- requests from Python objects ----------------------------------------------------------------


@pytest.mark.parametrize("bad, field", [
    ({"id": 5}, "user"),
    ({"id": "u9", "groups": "ab"}, "user"),
    ({"id": "u9", "groups": [1]}, "user"),
    ({"id": "u9", "groups": None}, "user"),
    ({"id": "u9", "email": b"a@b.c"}, "user"),
    ({"id": "u9", "shoe_size": 44}, "user"),
    ({"email": "a@b.c"}, "user"),
    ({1: "u9"}, "user"),
    ("u9", "user"),
    (["u9"], "user"),
    ({"id": ""}, "user_id"),
])
def test_bad_user_mappings_are_validation_errors(store: Store, bad: Any, field: str) -> None:
    before = store.stats()
    with pytest.raises(enrollkit.ValidationError) as info:
        store.upsert_user(bad)
    assert info.value.field == field
    with pytest.raises(enrollkit.ValidationError, match="row 1") as row:
        store.upsert_users([{"id": "u8"}, bad])
    assert row.value.field == field
    assert store.stats() == before


def test_users_from_records_mappings_and_iterables(store: Store) -> None:
    class Row(Dict[str, Any]):
        pass

    rows: List[Any] = [User("g1"), {"id": "g2", "groups": ("x",)}, Row(id="g3")]
    assert store.upsert_users(u for u in rows) == 3
    assert store.get_user("g2").groups == ["x"]
    assert store.upsert_user(types.MappingProxyType({"id": "g4", "email": None})).email is None
    with pytest.raises(TypeError):
        store.upsert_users(5)  # type: ignore[arg-type]


# Policies of program mappings the core's JSON reader refuses (as a validation error of the program).
BAD_POLICIES: List[Any] = [
    None, "open", ["crs"], {"cap": 3}, {"capacity": "3"}, {"capacity": -1}, {"capacity": True}, {"waitlist": 1},
    {"waitlist": None}, {"prerequisites": "crs"}, {"prerequisites": None}, {"prerequisites": [1]},
    {"enroll_opens_at": "tomorrow"}, {"enroll_opens_at": 1767225600}, {"enroll_closes_at": datetime(2026, 1, 1)},
    {"deadline": 90}, {"deadline": {}}, {"deadline": {"days": 90}},
    {"deadline": {"after_days": 90, "at": "2026-01-01T00:00:00Z"}}, {"deadline": {"after_days": -1}},
    {"deadline": {"after_days": "90"}}, {"deadline": {"at": None}}, {"deadline": {"at": "soon"}},
]


@pytest.mark.parametrize("bad", [
    {"id": "p", "kind": 5, "title": "T", "state": "active"},
    {"id": "p", "kind": "webinar", "title": "T", "state": "active"},
    {"id": "p", "kind": "course", "title": "T"},
    {"id": "p", "kind": "course", "title": "T", "state": "active", "steps": "abc"},
    {"id": "p", "kind": "course", "title": "T", "state": "active", "steps": [{"id": "s", "step_type": "lesson",
                                                                                "title": "S"}]},
    {"id": "p", "kind": "course", "title": "T", "state": "active", "self_enrollment": 1},
    {"id": "p", "kind": "course", "title": "T", "state": "active", "assessment": {"passing_score": "60"}},
    {"id": "p", "kind": "course", "title": "T", "state": "active", "assessment": {"passing_score": 6,
                                                                                  "max_attempts": -1}},
    {"id": "p", "kind": "course", "title": "T", "state": "active", "created_at": "2026-01-01T00:00:00Z"},
    *({"id": "p", "kind": "track", "title": "T", "state": "active",
       "steps": [{"id": "s", "step_type": "message", "title": "S", "learner_completable": False, "schedule": schedule}]}
      for schedule in [{"after": "start", "delay": 1, "unit": "weeks"},
                       {"after": "start", "delay": 1, "unit": "days", "at": "25:00"},
                       {"after": "start", "delay": 1, "unit": "days", "at": 9},
                       {"after": "later", "delay": 1, "unit": "days"},
                       {"after": "start", "delay": -1, "unit": "days"},
                       {"after": "start", "delay": 1.0, "unit": "days"},
                       {"after": "start", "unit": "days"},
                       {"after": "start", "delay": 1, "unit": "days", "every": "week"},
                       "daily", [1, "days"]]),
    *({"id": "p", "kind": "course", "title": "T", "state": "active", "policy": policy}
      for policy in BAD_POLICIES),
])
def test_bad_program_mappings_are_validation_errors(store: Store, bad: Dict[str, Any]) -> None:
    with pytest.raises(enrollkit.ValidationError) as info:
        store.create_program(bad)
    assert info.value.field == "program"


def test_schedules_the_store_refuses(store: Store) -> None:
    """Schedules that read fine but break a rule: the store refuses them, as it does in JSON."""
    step: Dict[str, Any] = {"id": "s", "step_type": "message", "title": "S", "learner_completable": False}
    before = store.stats()
    for kind, schedule, field in [
        ("course", {"after": "start", "delay": 1, "unit": "days"}, "schedule"),
        ("certification", StepSchedule("start", 1, "days"), "schedule"),
        ("track", {"after": "start", "delay": 2, "unit": "hours", "at": "09:00"}, "schedule.at"),
        ("track", {"after": "start", "delay": 10 * 366 * 24 * 60 + 1, "unit": "minutes"}, "schedule.delay"),
    ]:
        with pytest.raises(enrollkit.ValidationError) as info:
            store.create_program({"id": "p", "kind": kind, "title": "T", "state": "active",
                                  "steps": [{**step, "schedule": schedule}]})
        assert info.value.field == field, (kind, schedule)
    with pytest.raises(enrollkit.ValidationError) as bad_zone:
        store.upsert_user(User("mars", timezone="Mars/Olympus"))
    assert bad_zone.value.field == "timezone"
    with pytest.raises(enrollkit.ValidationError) as bad_enroll_zone:
        store.enroll("u2", "drip", timezone="Mars/Olympus")
    assert bad_enroll_zone.value.field == "timezone"
    assert store.stats() == before


def test_program_mappings_take_records_and_enum_members(store: Store) -> None:
    p = store.create_program({"id": "p2", "kind": Kind.TRACK, "title": "T", "state": ProgramState.DRAFT,
                              "steps": [Step("a", "task", "A"), {"id": "b", "step_type": "task", "title": "B",
                                                                 "learner_completable": False}],
                              "assessment": Assessment(50)})
    assert [s.id for s in p.steps] == ["a", "b"] and p.assessment == Assessment(50.0, None)
    assert store.update_program(p).title == "T"
    timed = store.create_program({"id": "p5", "kind": "track", "title": "T", "state": ProgramState.ACTIVE, "steps": [
        {"id": "a", "step_type": "message", "title": "A", "learner_completable": False,
         "schedule": StepSchedule(Anchor.START, 1, DelayUnit.DAYS, "09:00")},
        {"id": "b", "step_type": "message", "title": "B", "learner_completable": False,
         "schedule": {"after": Anchor.PREVIOUS_STEP, "delay": 2, "unit": DelayUnit.HOURS, "at": None}},
        {"id": "c", "step_type": "message", "title": "C", "learner_completable": False, "schedule": None}]})
    assert [s.schedule for s in timed.steps] == [StepSchedule("start", 1, "days", "09:00"),
                                                 StepSchedule("previous_step", 2, "hours"), None]
    assert store.get_program("p5") == timed and Program.from_dict(timed.to_dict()) == timed
    # Policies as records or mappings, times as text or aware datetimes, the deadline either way.
    expected = Policy(enroll_opens_at=T0, deadline=Deadline(after_days=30), capacity=None, prerequisites=["crs"])
    forms: List[Any] = [
        expected,
        {"enroll_opens_at": T0, "deadline": Deadline(after_days=30), "prerequisites": ("crs",)},
        types.MappingProxyType({"enroll_opens_at": "2026-01-15T11:00:00+01:00", "enroll_closes_at": None,
                                "deadline": {"after_days": 30}, "capacity": None, "waitlist": False,
                                "prerequisites": ["crs"]}),
        expected.to_dict(),
    ]
    for i, policy in enumerate(forms):
        made = store.create_program({"id": f"p6{i}", "kind": "course", "title": "T", "state": "active",
                                     "policy": policy})
        assert made.policy == expected and store.get_program(f"p6{i}") == made, policy
    plain: Dict[str, Any] = {"id": "p60", "kind": "course", "title": "T", "state": "active"}
    assert store.update_program(plain).policy is None and store.get_program("p60").policy is None
    assert store.update_program({**plain, "policy": expected}).policy == expected
    assert store.update_program({**plain, "policy": {}}).policy is None
    fixed = store.update_program(Program(id="p60", kind="course", title="T", state="active",
                                         policy={"deadline": {"at": T0}}))
    assert fixed.policy == Policy(deadline=Deadline(at=T0)) and store.get_program("p60") == fixed


def test_enroll_rows_are_keyword_arguments(store: Store) -> None:
    with pytest.raises(TypeError, match="row 1"):
        store.enroll_many([{"user_id": "u1", "program_id": "crs"}, {"user_id": "u2", "program": "crs"}])
    with pytest.raises(TypeError, match="row 0"):
        store.enroll_many([{"user_id": 7, "program_id": "crs"}])
    with pytest.raises(TypeError):
        store.enroll_many(["u1"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.enroll_many([{"user_id": "u1"}])
    with pytest.raises(enrollkit.ValidationError, match="row 0"):
        store.enroll_many([{"user_id": "u1", "program_id": "crs", "trigger": "telepathy"}])
    assert store.stats()["enrollments"] == 0
    rows = ({"email": "u1@example.com", "program_id": "trk", "start_at": T0 + timedelta(days=1),
             "trigger": Trigger.SCHEDULE, "batch": 0} for _ in range(1))
    [out] = store.enroll_many(rows)
    assert out.enrollment is not None and out.enrollment.start_at == T0 + timedelta(days=1)


# -- step results ------------------------------------------------------------------------------


def nested(depth: int, leaf: Any = 1) -> Any:
    """A result nested `depth` containers deep (built without recursion)."""
    value = leaf
    for i in range(depth - 1):
        value = {"k": value} if i % 2 else [value]
    return {"k": value}


@pytest.fixture
def step(store: Store) -> Iterator[Any]:
    e = store.enroll("u1", "trk")
    store.deliver_step(e.id, "survey")

    def complete(result: Any) -> Enrollment:
        return store.complete_step(e.id, "survey", result)

    yield complete


@pytest.mark.parametrize("depth", [128, 5_000, 1_000_000])
def test_deep_results_are_refused_without_recursion(step: Any, depth: int) -> None:
    with pytest.raises(enrollkit.ValidationError, match="127 levels") as info:
        step(nested(depth))
    assert info.value.field == "result"


def test_the_deepest_result_accepted_is_read_back(store: Store, step: Any) -> None:
    deepest = nested(_enrollkit.MAX_JSON_DEPTH)
    e = step(deepest)
    assert store.step_progress(e.id)[1].result == deepest


@pytest.mark.parametrize("bad", [
    {"n": math.nan}, {"n": math.inf}, {"n": 2**64}, {"n": -(2**63) - 1}, {"s": {1, 2}}, {"b": b"x"},
    {"o": object()}, {1: "one"}, {"d": date(2026, 1, 1)}, {"x": "y" * 70_000},
    [1, 2], "text", 5,
])
def test_bad_results_are_validation_errors(step: Any, bad: Any) -> None:
    with pytest.raises(enrollkit.ValidationError) as info:
        step(bad)
    assert info.value.field == "result"


def test_cyclic_results_are_validation_errors(step: Any) -> None:
    cycle: Dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(enrollkit.ValidationError):
        step(cycle)
    loop: List[Any] = []
    loop.append(loop)
    with pytest.raises(enrollkit.ValidationError):
        step({"l": loop})


def test_mappings_that_change_what_holds_them_are_read_from_snapshots(store: Store, step: Any) -> None:
    # A nested mapping's items() runs Python code while the outer dict is read: changing the
    # outer dict then must not break the conversion (PyO3's dict iterator would panic).
    outer: Dict[str, Any] = {}

    class Meddling(Mapping[str, int]):
        def __getitem__(self, key: str) -> int:
            return 1

        def __len__(self) -> int:
            return 1

        def __iter__(self) -> Iterator[str]:
            outer[f"added{len(outer)}"] = 2
            return iter(["a"])

    outer.update(first=Meddling(), second=3)
    e = step(outer)
    assert store.step_progress(e.id)[1].result == {"first": {"a": 1}, "second": 3}
    program: Dict[str, Any] = {"id": "p3", "kind": "course", "title": "T", "state": "active"}

    class Steps(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            return {"id": "s", "step_type": "lesson", "title": "S", "learner_completable": True}[key]

        def __len__(self) -> int:
            return 4

        def __iter__(self) -> Iterator[str]:
            program[f"extra{len(program)}"] = None
            return iter(["id", "step_type", "title", "learner_completable"])

    program["steps"] = [Steps()]
    assert [s.id for s in store.create_program(program).steps] == ["s"]
    assert "extra5" in program  # added while the program was read, which went on unharmed
    # A step's schedule mapping that changes the step while it is read.
    timed: Dict[str, Any] = {"id": "s", "step_type": "message", "title": "S", "learner_completable": False}

    class Schedule(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            return {"after": "start", "delay": 2, "unit": "days", "at": "08:30"}[key]

        def __len__(self) -> int:
            return 4

        def __iter__(self) -> Iterator[str]:
            timed[f"extra{len(timed)}"] = None
            return iter(["after", "delay", "unit", "at"])

    timed["schedule"] = Schedule()
    created = store.create_program({"id": "p4", "kind": "track", "title": "T", "state": "active", "steps": [timed]})
    assert created.steps[0].schedule == StepSchedule("start", 2, "days", "08:30")
    assert "extra5" in timed


def test_results_keep_types_and_key_order(store: Store, step: Any) -> None:
    result = {"z": 1, "a": (1, 2.5), "m": types.MappingProxyType({"b": True, "a": None}), "s": Trigger.SCHEDULE,
              "big": 2**64 - 1, "neg": -(2**63)}
    e = step(result)
    back = store.step_progress(e.id)[1].result
    assert back == {"z": 1, "a": [1, 2.5], "m": {"b": True, "a": None}, "s": "schedule", "big": 2**64 - 1,
                    "neg": -(2**63)}
    assert back is not None and list(back) == ["z", "a", "m", "s", "big", "neg"] and list(back["m"]) == ["b", "a"]


def test_time_helpers() -> None:
    from enrollkit._types import format_time, parse_time

    assert format_time(T0 + timedelta(microseconds=999)) == "2026-01-15T10:00:00.000Z"
    assert format_time("2026-01-15T11:00:00+01:00") == "2026-01-15T10:00:00.000Z"
    assert format_time(None) is None and parse_time(None) is None
    assert parse_time("2026-01-15T10:00:00.123Z") == T0 + timedelta(milliseconds=123)
    with pytest.raises(enrollkit.ValidationError):
        parse_time("tomorrow")
    with pytest.raises(enrollkit.ValidationError):
        format_time(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        format_time(5)  # type: ignore[arg-type]
    east = timezone(timedelta(hours=5))
    assert format_time(datetime(1, 1, 1, 5, tzinfo=east)) == "0001-01-01T00:00:00.000Z"
    with pytest.raises(enrollkit.ValidationError, match="year"):
        format_time(datetime(1, 1, 1, 4, tzinfo=east))  # year 0 in UTC
    assert parse_time("9999-12-31T23:59:59.999Z") == datetime(9999, 12, 31, 23, 59, 59, 999000, timezone.utc)


def test_learner_actor_strings(store: Store) -> None:
    e = store.enroll("u1", "crs", actor=Actor.learner("u1"))
    assert store.get_enrollment(e.id, actor=Actor.learner("u1")) == e
    with pytest.raises(enrollkit.ValidationError):
        store.get_enrollment(e.id, actor="learner:")
