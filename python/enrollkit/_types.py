"""Typed records and str-valued enums for the objects enrollkit returns.

The records (``User``, ``StepSchedule``, ``Step``, ``Assessment``, ``Deadline``, ``Policy``, ``Program``,
``Enrollment``, ``StepProgress``, ``Attempt``, ``Event``, ``StepFunnel``, ``ProgramReport``, ``EnrollOutcome``,
``Claim``, ``Erasure``, ``Page``) are
native classes of the extension module: immutable, compared by value, with ``repr``,
``to_dict()``/``from_dict()`` (the canonical JSON form) and pickling. Their times are aware UTC
datetimes and their enum fields members of the ``str`` enums below.

>>> User(id="usr_1", email="ada@example.com").to_dict()["email"]
'ada@example.com'
>>> p = Program(id="crs_1", kind="course", title="Rust 101", state=ProgramState.ACTIVE)
>>> p.kind is Kind.COURSE, p.steps, p.created_at
(True, [], None)
>>> Program.from_dict(p.to_dict()) == p
True

A program's enrollment policies are a ``Policy`` (``None`` when it has none, and then absent from
``to_dict()``); a mapping of its fields does as well:

>>> p = Program(id="crs_2", kind="course", title="Rust 201", state="active",
...             policy={"prerequisites": ["crs_1"], "deadline": {"after_days": 30}})
>>> p.policy.prerequisites, p.policy.deadline
(['crs_1'], Deadline(at=None, after_days=30))
>>> p.to_dict()["policy"]["deadline"]
{'after_days': 30}
>>> plain = Program(id="c", kind="course", title="C", state="draft")
>>> plain.policy, "policy" in plain.to_dict()
(None, False)
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from ._enrollkit import (
    Assessment,
    Attempt,
    Claim,
    Deadline,
    EnrollOutcome,
    Enrollment,
    Erasure,
    Event,
    Page,
    Policy,
    Program,
    ProgramReport,
    Step,
    StepFunnel,
    StepProgress,
    StepSchedule,
    User,
    format_time,
    parse_time,
)

__all__ = [
    "Kind",
    "ProgramState",
    "Trigger",
    "FailureReason",
    "StepStatus",
    "StepChange",
    "Anchor",
    "DelayUnit",
    "View",
    "BatchMode",
    "Order",
    "Actor",
    "User",
    "StepSchedule",
    "Step",
    "Assessment",
    "Deadline",
    "Policy",
    "Program",
    "Enrollment",
    "StepProgress",
    "Attempt",
    "Event",
    "StepFunnel",
    "ProgramReport",
    "EnrollOutcome",
    "Claim",
    "Erasure",
    "Page",
    "format_time",
    "parse_time",
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
    DEADLINE_PASSED = "deadline_passed"


class StepStatus(str, Enum):
    """Status of one step of one enrollment."""

    PENDING = "pending"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepChange(str, Enum):
    """A change to one step: how ``Store.complete_claim`` ends a claim (``START`` settles no
    step, so a claim cannot end with it), as the CLI's ``step`` command names them."""

    START = "start"
    DELIVER = "deliver"
    COMPLETE = "complete"
    FAIL = "fail"
    SKIP = "skip"


class Anchor(str, Enum):
    """What a step schedule's delay counts from."""

    START = "start"
    PREVIOUS_STEP = "previous_step"


class DelayUnit(str, Enum):
    """The unit of a step schedule's delay: minutes and hours are elapsed time; days and
    business days (Monday to Friday) count in the enrollee's time zone."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    BUSINESS_DAYS = "business_days"


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
