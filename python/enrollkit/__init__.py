"""enrollkit: an embedded enrollment engine.

Users, programs (courses, certifications, onboarding tracks), enrollments, per-step progress,
assessment attempts and the full history of every change, in one SQLite file, with the
lifecycle rules enforced by the same Rust core that C and Rust applications use.

>>> import enrollkit
>>> store = enrollkit.Store.in_memory()
>>> _ = store.upsert_user(enrollkit.User(id="usr_1", email="ada@example.com"))
>>> _ = store.create_program(enrollkit.Program(id="crs_1", kind=enrollkit.Kind.COURSE,
...     title="Rust 101", state=enrollkit.ProgramState.ACTIVE))
>>> e = store.enroll("usr_1", "crs_1")
>>> try:
...     store.enroll("usr_1", "crs_1")
... except enrollkit.AlreadyEnrolledError as err:
...     err.existing_id == e.id
True
"""

from ._enrollkit import __version__
from ._store import Store
from ._types import (
    Actor,
    Anchor,
    Assessment,
    Attempt,
    BatchMode,
    Claim,
    Deadline,
    DelayUnit,
    Enrollment,
    EnrollOutcome,
    Erasure,
    Event,
    FailureReason,
    Kind,
    Order,
    Page,
    Policy,
    Program,
    ProgramReport,
    ProgramState,
    Step,
    StepFunnel,
    StepProgress,
    StepChange,
    StepSchedule,
    StepStatus,
    Trigger,
    User,
    View,
)
from .exceptions import (
    ERRORS,
    AlreadyEnrolledError,
    AttemptLimitReachedError,
    BusyError,
    ConflictError,
    CorruptError,
    EnrollkitError,
    EnrollmentClosedError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    PrerequisitesNotMetError,
    ProgramFullError,
    ProgramNotActiveError,
    SchemaTooNewError,
    StorageError,
    ValidationError,
)

__all__ = [
    "__version__",
    "Store",
    "Actor",
    "Anchor",
    "Assessment",
    "Attempt",
    "BatchMode",
    "Claim",
    "Deadline",
    "DelayUnit",
    "Enrollment",
    "EnrollOutcome",
    "Erasure",
    "Event",
    "FailureReason",
    "Kind",
    "Order",
    "Page",
    "Policy",
    "Program",
    "ProgramReport",
    "ProgramState",
    "Step",
    "StepFunnel",
    "StepProgress",
    "StepChange",
    "StepSchedule",
    "StepStatus",
    "Trigger",
    "User",
    "View",
    "ERRORS",
    "EnrollkitError",
    "NotFoundError",
    "AlreadyEnrolledError",
    "InvalidTransitionError",
    "PermissionDeniedError",
    "ValidationError",
    "ConflictError",
    "ProgramNotActiveError",
    "AttemptLimitReachedError",
    "BusyError",
    "SchemaTooNewError",
    "CorruptError",
    "StorageError",
    "EnrollmentClosedError",
    "PrerequisitesNotMetError",
    "ProgramFullError",
]
