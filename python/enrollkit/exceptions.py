"""Exceptions raised by enrollkit: one class per stable error code, all under EnrollkitError.

>>> import enrollkit
>>> store = enrollkit.Store.in_memory()
>>> try:
...     store.get_user("nobody")
... except enrollkit.NotFoundError as e:
...     print(e.code, e.entity, e.id)
not_found user nobody
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Type, Union

__all__ = [
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
    "ERRORS",
]


class EnrollkitError(Exception):
    """Base class of every enrollkit error.

    Attributes:
        code: the stable machine-readable code (``not_found``, ``already_enrolled``, ...).
        message: a human-readable description (may change between releases).
        details: the error as a dict: ``code``, ``message`` and the error's own fields.

    When an operation raises, the database is unchanged.
    """

    code: str = "error"

    def __init__(self, message: str, details: Union[str, Mapping[str, Any], None] = None) -> None:
        super().__init__(message)
        self.message = message
        parsed: Dict[str, Any] = json.loads(details) if isinstance(details, str) else dict(details or {})
        parsed.setdefault("code", self.code)
        parsed.setdefault("message", message)
        self.details: Dict[str, Any] = parsed

    def __reduce__(self) -> Any:
        return (type(self), (self.message, self.details))

    def _detail(self, key: str) -> Any:
        return self.details.get(key)


class NotFoundError(EnrollkitError):
    """The user, program or enrollment does not exist."""

    code = "not_found"

    @property
    def entity(self) -> Optional[str]:
        """What was looked up: ``user``, ``program``, ``enrollment``, ..."""
        return self._detail("entity")  # type: ignore[no-any-return]

    @property
    def id(self) -> Optional[str]:
        """The identifier that was not found."""
        return self._detail("id")  # type: ignore[no-any-return]


class AlreadyEnrolledError(EnrollkitError):
    """The user already has an enrollment that blocks a new one; ``existing_id`` names it."""

    code = "already_enrolled"

    @property
    def existing_id(self) -> str:
        """The id of the enrollment that blocks the new one."""
        return str(self._detail("existing_id"))

    @property
    def status(self) -> Optional[str]:
        """The existing enrollment's status, in its program's vocabulary."""
        return self._detail("status")  # type: ignore[no-any-return]


class InvalidTransitionError(EnrollkitError):
    """The lifecycle does not allow this change (``from_status`` → ``to_status`` by ``action``)."""

    code = "invalid_transition"

    @property
    def from_status(self) -> Optional[str]:
        """The current status."""
        return self._detail("from")  # type: ignore[no-any-return]

    @property
    def to_status(self) -> Optional[str]:
        """The status the operation would have produced."""
        return self._detail("to")  # type: ignore[no-any-return]

    @property
    def action(self) -> Optional[str]:
        """The refused operation (``drop``, ``progress``, ``complete_step``, ...)."""
        return self._detail("action")  # type: ignore[no-any-return]


class PermissionDeniedError(EnrollkitError):
    """The actor may not do this (e.g. a learner acting on someone else's enrollment)."""

    code = "permission_denied"


class ValidationError(EnrollkitError, ValueError):
    """Bad input: an empty or oversized id, a percentage outside 0-100, malformed JSON, ...

    Also a ``ValueError``.
    """

    code = "validation"

    @property
    def field(self) -> Optional[str]:
        """The argument or field at fault."""
        return self._detail("field")  # type: ignore[no-any-return]


class ConflictError(EnrollkitError):
    """Conflicts with other records (a taken email, an existing program id, ...)."""

    code = "conflict"


class ProgramNotActiveError(EnrollkitError):
    """The program is not active (published), so it accepts no enrollments."""

    code = "program_not_active"


class AttemptLimitReachedError(EnrollkitError):
    """Every allowed assessment attempt has been used."""

    code = "attempt_limit_reached"

    @property
    def limit(self) -> Optional[int]:
        """The program's attempt limit."""
        return self._detail("limit")  # type: ignore[no-any-return]


class BusyError(EnrollkitError):
    """The database stayed locked by another connection longer than the busy timeout."""

    code = "busy"


class SchemaTooNewError(EnrollkitError):
    """The database was written by a newer enrollkit."""

    code = "schema_too_new"


class CorruptError(EnrollkitError):
    """The file is not an enrollkit database, or it is damaged. It was not modified."""

    code = "corrupt"


class StorageError(EnrollkitError):
    """Any other storage failure (disk full, read-only file, a closed store, ...)."""

    code = "storage"


class EnrollmentClosedError(EnrollkitError):
    """The program's enrollment window is not open: it opens later, or has closed."""

    code = "enrollment_closed"

    @property
    def program_id(self) -> Optional[str]:
        """The program."""
        return self._detail("program_id")  # type: ignore[no-any-return]

    @property
    def opens_at(self) -> Optional[str]:
        """When enrolling opens (RFC 3339), if it has not yet."""
        return self._detail("opens_at")  # type: ignore[no-any-return]

    @property
    def closed_at(self) -> Optional[str]:
        """When enrolling closed (RFC 3339), if it has."""
        return self._detail("closed_at")  # type: ignore[no-any-return]


class PrerequisitesNotMetError(EnrollkitError):
    """The user has not completed every program this one requires."""

    code = "prerequisites_not_met"

    @property
    def program_id(self) -> Optional[str]:
        """The program."""
        return self._detail("program_id")  # type: ignore[no-any-return]

    @property
    def missing(self) -> List[str]:
        """The required programs the user has not completed, in the program's order."""
        return list(self._detail("missing") or [])


class ProgramFullError(EnrollkitError):
    """Every seat of the program is taken and it has no waitlist."""

    code = "program_full"

    @property
    def program_id(self) -> Optional[str]:
        """The program."""
        return self._detail("program_id")  # type: ignore[no-any-return]

    @property
    def capacity(self) -> Optional[int]:
        """The program's capacity."""
        return self._detail("capacity")  # type: ignore[no-any-return]


ERRORS: Dict[str, Type[EnrollkitError]] = {
    cls.code: cls
    for cls in (
        NotFoundError,
        AlreadyEnrolledError,
        InvalidTransitionError,
        PermissionDeniedError,
        ValidationError,
        ConflictError,
        ProgramNotActiveError,
        AttemptLimitReachedError,
        BusyError,
        SchemaTooNewError,
        CorruptError,
        StorageError,
        EnrollmentClosedError,
        PrerequisitesNotMetError,
        ProgramFullError,
    )
}
"""The exception class for each error code."""
