"""Typed records and str-valued enums for the objects enrollkit returns."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime, timezone
from enum import Enum
from typing import (Any, Callable, ClassVar, Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Set, Tuple, Type,
                    TypeVar, Union)

from .exceptions import ERRORS, EnrollkitError, ValidationError

__all__ = [
    "Kind",
    "ProgramState",
    "Trigger",
    "FailureReason",
    "StepStatus",
    "View",
    "BatchMode",
    "Order",
    "Actor",
    "User",
    "Step",
    "Assessment",
    "Program",
    "Enrollment",
    "StepProgress",
    "Attempt",
    "Event",
    "EnrollOutcome",
    "Page",
]


class Kind(str, Enum):
    """What kind of program: it picks the lifecycle vocabulary."""

    COURSE = "course"
    CERTIFICATION = "certification"
    TRACK = "track"


class ProgramState(str, Enum):
    """Publication state; only ``ACTIVE`` programs accept enrollments."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Trigger(str, Enum):
    """How an enrollment was created (the track reference's list)."""

    USER_JOIN = "user_join"
    MANUAL_USER_TRIGGER = "manual_user_trigger"
    SELF_JOIN = "self_join"
    SCHEDULE = "schedule"
    WORK_ANNIVERSARY = "work_anniversary"
    ADDED_BY_ANOTHER_WORKFLOW = "added_by_another_workflow"


class FailureReason(str, Enum):
    """Why an enrollment failed."""

    USER_NOT_FOUND = "user_not_found"
    USER_ALREADY_IN_WORKFLOW = "user_already_in_workflow"
    USER_REMOVED_FROM_WORKFLOW = "user_removed_from_workflow"
    WORKFLOW_NOT_ACTIVE = "workflow_not_active"
    UNKNOWN_ERROR = "unknown_error"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"


class StepStatus(str, Enum):
    """Status of one step of one enrollment."""

    PENDING = "pending"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class View(str, Enum):
    """A reference API's JSON shape for ``Store.render``."""

    TRACK = "track"
    CERTIFICATION = "certification"
    COURSE = "course"


class BatchMode(str, Enum):
    """How ``Store.enroll_many`` treats failed rows."""

    ALL_OR_NOTHING = "all_or_nothing"
    BEST_EFFORT = "best_effort"


class Order(str, Enum):
    """Listing order (creation order)."""

    OLDEST_FIRST = "oldest_first"
    NEWEST_FIRST = "newest_first"


class Actor:
    """Who performs an operation, as the string enrollkit expects.

    >>> Actor.learner("usr_1")
    'learner:usr_1'
    """

    ADMIN: ClassVar[str] = "admin"
    SYSTEM: ClassVar[str] = "system"

    @staticmethod
    def learner(user_id: str) -> str:
        """The actor string of the learner ``user_id``."""
        return f"learner:{user_id}"


# ------------------------------------------------------------------------------------------
# Conversions between the canonical JSON form and Python values

# Python 3.11+ reads the canonical form's "Z"; 3.9 and 3.10 read only an offset.
_FROMISOFORMAT_READS_Z = sys.version_info >= (3, 11)


def _parse_time(text: str) -> datetime:
    if len(text) == 24 and text[10] == "T" and text[23] == "Z":
        # The canonical form: fromisoformat is ~10x faster than strptime.
        try:
            return datetime.fromisoformat(text if _FROMISOFORMAT_READS_Z else text[:23] + "+00:00")
        except ValueError:
            pass
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def parse_time(text: Optional[str]) -> Optional[datetime]:
    """``2026-01-15T10:30:00.000Z`` → an aware UTC ``datetime`` (``None`` stays ``None``)."""
    return None if text is None else _parse_time(text)


def format_time(value: Union[datetime, str, None], field: str = "timestamp") -> Optional[str]:
    """An aware ``datetime`` (or an RFC 3339 string) → ``2026-01-15T10:30:00.000Z``.

    Naive datetimes are refused with ``ValidationError``: enrollkit stores UTC instants.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime or an RFC 3339 string, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"invalid {field}: naive datetime; give a timezone (e.g. timezone.utc)",
                              {"field": field})
    u = value.astimezone(timezone.utc)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}."
            f"{u.microsecond // 1000:03d}Z")


R = TypeVar("R", bound="_Record")


class _Plan(NamedTuple):
    """How ``from_dict`` builds one record class."""

    fields: FrozenSet[str]  # other names are skipped (fields of a newer enrollkit)
    times: Tuple[str, ...]  # RFC 3339 strings -> datetime
    # (field, its enum's members by value, the enum): str -> enum member
    enums: Tuple[Tuple[str, Mapping[Any, Any], Type[Enum]], ...]
    nested: Tuple[Tuple[str, Callable[[Any], Any]], ...]  # dicts (lists of dicts) -> records
    required: FrozenSet[str]
    factories: Tuple[Tuple[str, Callable[[], Any]], ...]


_PLANS: Dict[type, _Plan] = {}


def _plan(cls: Type[_Record]) -> _Plan:
    def nested(sub: Type[_Record], many: bool) -> Callable[[Any], Any]:
        return (lambda v: [sub.from_dict(x) for x in v]) if many else sub.from_dict

    fields: Set[str] = set()
    required, factories = set(), []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        fields.add(f.name)
        if f.default_factory is not dataclasses.MISSING:
            factories.append((f.name, f.default_factory))
        elif f.default is dataclasses.MISSING:
            required.add(f.name)
    plan = _PLANS[cls] = _Plan(
        frozenset(fields),
        tuple(cls._times),
        tuple((name, enum._value2member_map_, enum) for name, enum in cls._enums.items()),
        tuple((name, nested(*spec)) for name, spec in cls._nested.items()),
        frozenset(required),
        tuple(factories),
    )
    return plan


def _convert_times(plan: _Plan, values: Dict[str, Any]) -> None:
    """Converts, in place, the RFC 3339 strings among the record's times to datetimes."""
    for name in plan.times:
        v = values.get(name)
        if v.__class__ is str:
            values[name] = _parse_time(v)


def _convert_objects(plan: _Plan, values: Dict[str, Any]) -> None:
    """Converts, in place, enum values and nested records."""
    for name, members, enum in plan.enums:
        v = values.get(name)
        if v is not None:
            values[name] = members.get(v) or enum(v)  # the call raises for unknown values
    for name, build in plan.nested:
        v = values.get(name)
        if v is not None:
            values[name] = build(v)


def _from_native(cls: Type[R], data: Dict[str, Any]) -> R:
    """The record of a dict the native module just built: it has exactly the record's fields
    (tests/python/test_api.py checks every record type), its times are already datetimes and
    nobody else holds it, so it is converted in place and becomes the record's ``__dict__``."""
    plan = _PLANS.get(cls) or _plan(cls)
    _convert_objects(plan, data)
    record = object.__new__(cls)
    object.__setattr__(record, "__dict__", data)
    return record


class _Record:
    """Shared ``from_dict``/``to_dict`` for the dataclasses below."""

    _times: ClassVar[Tuple[str, ...]] = ()
    _enums: ClassVar[Dict[str, Type[Enum]]] = {}
    _nested: ClassVar[Dict[str, Tuple[Type[_Record], bool]]] = {}

    @classmethod
    def from_dict(cls: Type[R], data: Mapping[str, Any]) -> R:
        """Builds the record from its canonical JSON form (as parsed by ``json.loads``); times
        may also be given as datetimes."""
        plan = _PLANS.get(cls) or _plan(cls)
        if data.keys() <= plan.fields:  # as enrollkit writes it: one set operation
            values: Dict[str, Any] = dict(data)
        else:
            values = {k: v for k, v in data.items() if k in plan.fields}
        _convert_times(plan, values)
        _convert_objects(plan, values)
        if not plan.required <= values.keys():
            return cls(**values)  # raises the TypeError that names the missing field
        # The generated __init__ of a frozen dataclass sets each field through
        # object.__setattr__ (~13 us for an Enrollment); filling __dict__ gives the same record
        # (absent fields read their class-level defaults).
        record = object.__new__(cls)
        for name, factory in plan.factories:
            if name not in values:
                values[name] = factory()
        record.__dict__.update(values)
        return record

    def to_dict(self) -> Dict[str, Any]:
        """The record in its canonical JSON form: times as RFC 3339 strings, enums as strings."""
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if f.name in self._times:
                v = format_time(v, f.name)
            elif isinstance(v, Enum):
                v = v.value
            elif isinstance(v, _Record):
                v = v.to_dict()
            elif isinstance(v, (list, tuple)) and f.name in self._nested:
                v = [x.to_dict() for x in v]
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out


@dataclasses.dataclass(frozen=True)
class User(_Record):
    """A person who can be enrolled; callers bring their own ids.

    >>> User(id="usr_1", email="ada@example.com").to_dict()["email"]
    'ada@example.com'
    """

    id: str
    email: Optional[str] = None
    display_name: Optional[str] = None
    external_id: Optional[str] = None
    department: Optional[str] = None
    location: Optional[str] = None
    manager_id: Optional[str] = None
    groups: List[str] = dataclasses.field(default_factory=list)
    timezone: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Step(_Record):
    """One step of a program; ``learner_completable`` says whether the learner can complete it."""

    id: str
    step_type: str
    title: str
    learner_completable: bool = True


@dataclasses.dataclass(frozen=True)
class Assessment(_Record):
    """Assessment rules: a passing score (0-100) and an optional attempt limit."""

    passing_score: float
    max_attempts: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Program(_Record):
    """A course, certification or track. ``created_at``/``updated_at`` are set by the store.

    >>> Program(id="crs_1", kind=Kind.COURSE, title="Rust 101", state=ProgramState.ACTIVE).kind.value
    'course'
    """

    id: str
    kind: Kind
    title: str
    state: ProgramState
    description: Optional[str] = None
    self_enrollment: bool = False
    steps: List[Step] = dataclasses.field(default_factory=list)
    assessment: Optional[Assessment] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None

    _times = ("created_at", "updated_at")
    _enums = {"kind": Kind, "state": ProgramState}
    _nested = {"steps": (Step, True), "assessment": (Assessment, False)}

    def spec(self) -> Dict[str, Any]:
        """The fields a store accepts to create or update the program."""
        d = self.to_dict()
        d.pop("created_at")
        d.pop("updated_at")
        return d


@dataclasses.dataclass(frozen=True)
class Enrollment(_Record):
    """One user's attempt at one program. ``status`` is in the program's vocabulary
    (``active``/``completed``/``dropped`` for courses, ``enrolled``/``in_progress``/...
    for certifications, ``new``/``active``/``delivered``/... for tracks)."""

    id: str
    user_id: str
    program_id: str
    kind: Kind
    status: str
    trigger: Trigger
    enrolled_at: datetime
    updated_at: datetime
    resume_status: Optional[str] = None
    added_by_user_id: Optional[str] = None
    added_by_program_id: Optional[str] = None
    partnership_id: Optional[str] = None
    mentor_id: Optional[str] = None
    mentor_assigned_at: Optional[datetime] = None
    timezone: Optional[str] = None
    start_at: Optional[datetime] = None
    started_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    failed_at: Optional[datetime] = None
    dropped_at: Optional[datetime] = None
    canceled_at: Optional[datetime] = None
    failure_reason: Optional[FailureReason] = None
    failure_message: Optional[str] = None
    next_step_at: Optional[datetime] = None
    steps_delivered: int = 0
    steps_completed: int = 0
    steps_skipped: int = 0
    steps_total: int = 0
    delivery_percent: float = 0.0
    completion_percent: float = 0.0
    progress_percent: float = 0.0
    attempts: int = 0
    best_score: Optional[float] = None
    passed: Optional[bool] = None
    previous_id: Optional[str] = None
    attempt_number: int = 1

    _times = ("mentor_assigned_at", "enrolled_at", "start_at", "started_at", "delivered_at",
              "completed_at", "failed_at", "dropped_at", "canceled_at", "next_step_at", "updated_at")
    _enums = {"kind": Kind, "trigger": Trigger, "failure_reason": FailureReason}


@dataclasses.dataclass(frozen=True)
class StepProgress(_Record):
    """Progress of one step of one enrollment; ``result`` is the step's JSON result."""

    step_id: str
    status: StepStatus
    started_at: Optional[datetime] = None
    delivered_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    failed_at: Optional[datetime] = None
    skipped_at: Optional[datetime] = None
    failure_reason: Optional[str] = None
    failure_message: Optional[str] = None
    destination_type: Optional[str] = None
    result: Optional[Dict[str, Any]] = None

    _times = ("started_at", "delivered_at", "completed_at", "failed_at", "skipped_at")
    _enums = {"status": StepStatus}


@dataclasses.dataclass(frozen=True)
class Attempt(_Record):
    """One scored assessment submission."""

    number: int
    score: float
    submitted_at: datetime
    passed: Optional[bool] = None

    _times = ("submitted_at",)


@dataclasses.dataclass(frozen=True)
class Event(_Record):
    """One history entry (also the change feed): ``from_status`` → ``to_status`` by ``actor``."""

    seq: int
    enrollment_id: str
    user_id: str
    program_id: str
    action: str
    actor: str
    at: datetime
    from_status: Optional[str] = None
    to_status: Optional[str] = None
    reason: Optional[str] = None

    _times = ("at",)


@dataclasses.dataclass(frozen=True)
class StepFunnel(_Record):
    """One step's line of a program report's funnel: how many enrollments have the step
    ``delivered`` (completed included), ``completed``, ``skipped`` and ``failed``."""

    step_id: str
    position: int
    delivered: int
    completed: int
    skipped: int
    failed: int


@dataclasses.dataclass(frozen=True)
class ProgramReport(_Record):
    """A program's report (``Store.report``). The summary fields are the track reference's:
    ``active`` counts open enrollments that are not paused, ``canceled`` canceled tracks and
    dropped courses; ``average_completion_rate`` is in percent (0-100) and
    ``average_time_to_complete`` in seconds (``None`` when nobody completed). ``by_status``
    counts enrollments per status in the program's vocabulary; ``steps`` is the funnel."""

    program_id: str
    kind: Kind
    total_enrollees: int
    active: int
    completed: int
    failed: int
    paused: int
    canceled: int
    average_completion_rate: float
    average_time_to_complete: Optional[float]
    by_status: Dict[str, int]
    steps: List[StepFunnel]

    _enums = {"kind": Kind}
    _nested = {"steps": (StepFunnel, True)}


@dataclasses.dataclass(frozen=True)
class EnrollOutcome:
    """The result of one row of ``Store.enroll_many``: ``outcome`` is ``created``,
    ``already_enrolled``, ``failed`` or ``not_applied``."""

    outcome: str
    enrollment: Optional[Enrollment] = None
    existing_id: Optional[str] = None
    error: Optional[EnrollkitError] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnrollOutcome:
        """Builds the outcome from its canonical JSON form."""
        return cls._build(data, Enrollment.from_dict)

    @classmethod
    def _build(cls, data: Mapping[str, Any], enrollment: Callable[[Any], Enrollment]) -> EnrollOutcome:
        error = None
        if "error" in data:
            details = data["error"]
            error = ERRORS.get(details.get("code"), EnrollkitError)(details.get("message", ""), details)
        built = enrollment(data["enrollment"]) if "enrollment" in data else None
        return cls(data["outcome"], built, data.get("existing_id"), error)

    def to_dict(self) -> Dict[str, Any]:
        """The canonical JSON form."""
        out: Dict[str, Any] = {"outcome": self.outcome}
        if self.enrollment is not None:
            out["enrollment"] = self.enrollment.to_dict()
        if self.existing_id is not None:
            out["existing_id"] = self.existing_id
        if self.error is not None:
            out["error"] = self.error.details
        return out


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of enrollments; pass ``next_cursor`` as ``starting_after`` for the next."""

    items: List[Enrollment]
    has_more: bool
    next_cursor: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Page:
        """Builds the page from its canonical JSON form."""
        return cls._build(data, Enrollment.from_dict)

    @classmethod
    def _build(cls, data: Mapping[str, Any], enrollment: Callable[[Any], Enrollment]) -> Page:
        return cls([enrollment(e) for e in data["items"]], data["has_more"], data["next_cursor"])

    def to_dict(self) -> Dict[str, Any]:
        """The canonical JSON form."""
        return {"items": [e.to_dict() for e in self.items], "has_more": self.has_more,
                "next_cursor": self.next_cursor}


def _native_enrollment(data: Dict[str, Any]) -> Enrollment:
    return _from_native(Enrollment, data)


def _native_outcome(data: Dict[str, Any]) -> EnrollOutcome:
    """``EnrollOutcome.from_dict`` for the native module's results (see ``_from_native``)."""
    return EnrollOutcome._build(data, _native_enrollment)


def _native_page(data: Dict[str, Any]) -> Page:
    """``Page.from_dict`` for the native module's results (see ``_from_native``)."""
    return Page._build(data, _native_enrollment)
