"""``enrollkit.Store``: the Pythonic face of the native store."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from enum import Enum
from numbers import Real
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from . import _enrollkit
from ._types import (
    Attempt,
    BatchMode,
    Enrollment,
    EnrollOutcome,
    Event,
    FailureReason,
    Kind,
    Order,
    Page,
    Program,
    ProgramReport,
    ProgramState,
    StepProgress,
    Trigger,
    User,
    View,
    _from_native,
    _native_outcome,
    _native_page,
    format_time,
)

__all__ = ["Store"]

ADMIN = "admin"
StrEnumLike = Union[str, Kind, ProgramState, Trigger, FailureReason, View, BatchMode, Order]
Time = Union[datetime, str]


def _str(name: str, value: Any) -> str:
    """A string argument; wrong types are a ``TypeError`` (bad values are checked by the core)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _opt(name: str, value: Any) -> Optional[str]:
    """An optional string argument."""
    return None if value is None else _str(name, value)


def _number(name: str, value: Any) -> float:
    if value.__class__ is float or value.__class__ is int:  # not bool; without the ABC check
        return float(value)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0 or value > 0xFFFFFFFF:
        from .exceptions import ValidationError

        raise ValidationError(f"invalid {name}: {value} is out of range", {"field": name})
    return value


def _enum(value: StrEnumLike) -> str:
    """A str enum member's value, or a plain string (the core checks the name)."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a str or str enum, not {type(value).__name__}")


def _opt_enum(value: Optional[StrEnumLike]) -> Optional[str]:
    return None if value is None else _enum(value)


def _actor(actor: Any) -> str:
    return _str("actor", actor)


class Store:
    """An enrollkit database: one SQLite file (or a private in-memory database).

    Thread-safe: share one ``Store`` between threads; database work releases the GIL. Use it as
    a context manager, or call ``close()``. A store of a file it may write runs one native
    thread of its own, which checkpoints the write-ahead log; ``close()`` stops it.

    Every enrollment operation takes ``actor``: ``"admin"`` (the default), ``"system"`` or
    ``Actor.learner(user_id)``. Learners see and change only their own enrollments.

    >>> import enrollkit
    >>> with enrollkit.Store.in_memory() as store:
    ...     _ = store.upsert_user(enrollkit.User(id="usr_1"))
    ...     _ = store.create_program(enrollkit.Program(id="crs_1", kind=enrollkit.Kind.COURSE,
    ...             title="Rust 101", state=enrollkit.ProgramState.ACTIVE, self_enrollment=True))
    ...     e = store.enroll("usr_1", "crs_1", actor=enrollkit.Actor.learner("usr_1"))
    ...     store.set_progress(e.id, 100, actor=enrollkit.Actor.learner("usr_1")).status
    'completed'
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]", None],
        *,
        durable: bool = False,
        busy_timeout: float = 5.0,
        create: bool = True,
        manual_clock: bool = False,
        read_only: bool = False,
    ) -> None:
        """Opens (creating or upgrading as needed) the database at ``path``; ``None`` opens a
        private in-memory database.

        Args:
            path: the database file.
            durable: ``synchronous=FULL``: every commit is on disk when the call returns
                (default: ``NORMAL``, which survives process crashes but may lose the last
                commits on power loss).
            busy_timeout: seconds to wait for another connection's lock before ``BusyError``.
            create: create the file if it is missing (otherwise ``StorageError``).
            manual_clock: the store's clock moves only with ``set_time``/``advance_time``.
            read_only: open for reading only, for a file this process may not write: every
                read works, every write raises ``StorageError``, and the file is never
                created nor upgraded. Without it, opening a file that cannot be written
                raises ``StorageError``. In-memory stores refuse it (``ValidationError``).
        """
        p = None if path is None else os.fspath(path)
        if p is not None and not isinstance(p, str):
            raise TypeError("path must be a str or os.PathLike[str]")
        timeout = _number("busy_timeout", busy_timeout)
        if not 0 <= timeout <= 86400:
            from .exceptions import ValidationError

            raise ValidationError("invalid busy_timeout: must be 0 to 86400 seconds", {"field": "busy_timeout"})
        self._native = _enrollkit.Store(
            p, bool(durable), int(timeout * 1000), bool(create), bool(manual_clock), bool(read_only)
        )

    @classmethod
    def in_memory(cls, *, manual_clock: bool = False) -> Store:
        """A private in-memory database, gone when the store is closed.

        >>> Store.in_memory().schema_version >= 1
        True
        """
        return cls(None, manual_clock=manual_clock)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Releases the database. Further calls raise ``StorageError``. Closing twice is fine."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._native.closed()

    @property
    def path(self) -> Optional[str]:
        """The database file, or ``None`` in memory."""
        return self._native.path()

    @property
    def schema_version(self) -> int:
        """The database's schema version (``PRAGMA user_version``)."""
        return self._native.schema_version()

    def now(self) -> datetime:
        """The store's current time (UTC)."""
        from ._types import parse_time

        t = parse_time(self._native.now())
        assert t is not None
        return t

    def set_time(self, at: Time) -> None:
        """Sets a manual clock (``manual_clock=True`` stores only)."""
        self._native.set_time(format_time(at, "at") or "")

    def advance_time(self, by: Union[timedelta, int]) -> None:
        """Moves a manual clock by a ``timedelta`` or a number of milliseconds."""
        ms = int(by.total_seconds() * 1000) if isinstance(by, timedelta) else _count("by", abs(by)) * (1 if by >= 0 else -1)
        self._native.advance_time(ms)

    def stats(self) -> Dict[str, int]:
        """How many ``users``, ``programs``, ``enrollments`` and ``events`` the database holds.

        >>> Store.in_memory().stats()
        {'users': 0, 'programs': 0, 'enrollments': 0, 'events': 0}
        """
        return self._native.stats()  # type: ignore[no-any-return]

    def check(self) -> List[str]:
        """Checks the whole database (SQLite integrity and enrollkit's invariants); returns the
        violations, ``[]`` when all is well."""
        return self._native.check()  # type: ignore[no-any-return]

    # -- files ---------------------------------------------------------------------------

    def export(self, path: Union[str, "os.PathLike[str]"]) -> Dict[str, int]:
        """Writes the whole database to ``path`` as JSON Lines (the enrollkit export format);
        returns the number of records of each type. Importing it into an empty store and
        exporting again gives the same bytes."""
        return self._native.export(_str("path", os.fspath(path)))  # type: ignore[no-any-return]

    def import_file(self, path: Union[str, "os.PathLike[str]"], *,
                    mode: Union[BatchMode, str] = BatchMode.ALL_OR_NOTHING) -> Dict[str, Any]:
        """Imports an export file in one transaction. Returns ``{"imported": counts,
        "errors": [{"line", "error"}], "committed": bool}``; with ``ALL_OR_NOTHING`` any refused
        line leaves the database unchanged. An import into an empty database file that no other
        connection has open holds the file alone until it returns: other connections (other
        threads' reads included) wait, up to their busy timeout, instead of reading the empty
        database."""
        raw = self._native.import_file(_str("path", os.fspath(path)), _enum(mode))
        return raw  # type: ignore[no-any-return]

    def enroll_csv(self, path: Union[str, "os.PathLike[str]"], *,
                   mode: Union[BatchMode, str] = BatchMode.ALL_OR_NOTHING, actor: str = ADMIN) -> Dict[str, Any]:
        """Enrolls the rows of a CSV roster in one transaction, as ``enroll_many`` would.

        The header names the columns: one of ``user_id``, ``email``, ``external_id``; then
        ``program_id``; optionally ``id``, ``trigger``, ``added_by_user_id``,
        ``added_by_program_id``, ``partnership_id``, ``timezone``, ``start_at``,
        ``allow_reenroll``, ``batch`` (``true``/``false``). An empty cell is an absent field.
        Returns ``{"imported": counts, "errors": [{"line", "error"}], "committed": bool}``;
        a refused row (``already_enrolled`` included) is reported with the line it starts on,
        and with ``ALL_OR_NOTHING`` leaves the database unchanged. A header that is not a
        roster's raises ``ValidationError``.

        >>> import enrollkit, os, tempfile
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="u1", email="ada@example.com"))
        >>> _ = store.create_program(enrollkit.Program(id="c1", kind=enrollkit.Kind.COURSE, title="C",
        ...     state=enrollkit.ProgramState.ACTIVE))
        >>> path = os.path.join(tempfile.mkdtemp(), "roster.csv")
        >>> _ = open(path, "w").write("email,program_id\\nada@example.com,c1\\nbob@example.com,c1\\n")
        >>> report = store.enroll_csv(path, mode=enrollkit.BatchMode.BEST_EFFORT)
        >>> report["imported"]["enrollments"], [(e["line"], e["error"]["code"]) for e in report["errors"]]
        (1, [(3, 'not_found')])
        """
        raw = self._native.enroll_csv(_actor(actor), _str("path", os.fspath(path)), _enum(mode))
        return raw  # type: ignore[no-any-return]

    def export_csv(self, path: Union[str, "os.PathLike[str]"], *, program_id: Optional[str] = None) -> int:
        """Writes enrollments (optionally of one program) as CSV; returns the row count."""
        return self._native.export_csv(_str("path", os.fspath(path)), _opt("program_id", program_id))

    def backup(self, dest: Union[str, "os.PathLike[str]"]) -> None:
        """Copies the database to the new file ``dest`` with SQLite's backup API, consistently,
        while others write (``ConflictError`` if ``dest`` exists)."""
        self._native.backup(_str("dest", os.fspath(dest)))

    # -- users ---------------------------------------------------------------------------

    def upsert_user(self, user: Union[User, Mapping[str, Any]]) -> User:
        """Creates the user or replaces every field of an existing one.

        >>> Store.in_memory().upsert_user(User(id="u1", email="a@example.com")).email
        'a@example.com'
        """
        data = user.to_dict() if isinstance(user, User) else dict(user)
        return _from_native(User, self._native.upsert_user(json.dumps(data)))

    def upsert_users(self, users: Iterable[Union[User, Mapping[str, Any]]]) -> int:
        """Creates or replaces many users in one transaction, all or nothing; returns how many
        were written. A refused user raises its error (the message names its 0-based row) and
        writes nothing.

        >>> Store.in_memory().upsert_users([User(id="u1"), {"id": "u2"}])
        2
        """
        data = [u.to_dict() if isinstance(u, User) else dict(u) for u in users]
        return self._native.upsert_users(json.dumps(data))

    def get_user(self, id: str) -> User:
        """The user with this id (``NotFoundError`` otherwise)."""
        return _from_native(User, self._native.find_user("id", _str("id", id)))

    def find_user(self, *, email: Optional[str] = None, external_id: Optional[str] = None) -> User:
        """The user with this email (case-insensitive) or external id."""
        if (email is None) == (external_id is None):
            raise TypeError("give exactly one of email= or external_id=")
        by, value = ("email", email) if email is not None else ("external_id", external_id)
        return _from_native(User, self._native.find_user(by, _str(by, value)))

    def list_users(self, *, after: Optional[str] = None, limit: int = 100) -> List[User]:
        """Users ordered by id, after ``after`` (exclusive), at most ``limit`` (1-1000)."""
        raw = self._native.list_users(_opt("after", after), _count("limit", limit))
        return [_from_native(User, u) for u in raw]

    # -- programs ------------------------------------------------------------------------

    def create_program(self, program: Union[Program, Mapping[str, Any]]) -> Program:
        """Creates a program with its steps (``ConflictError`` if the id exists)."""
        spec = program.spec() if isinstance(program, Program) else dict(program)
        return _from_native(Program, self._native.create_program(json.dumps(spec)))

    def update_program(self, program: Union[Program, Mapping[str, Any]]) -> Program:
        """Replaces a program's settings; steps may change only while it has no enrollments."""
        spec = program.spec() if isinstance(program, Program) else dict(program)
        return _from_native(Program, self._native.update_program(json.dumps(spec)))

    def get_program(self, id: str) -> Program:
        """The program with its steps."""
        return _from_native(Program, self._native.get_program(_str("id", id)))

    def list_programs(
        self,
        *,
        kind: Optional[Union[Kind, str]] = None,
        state: Optional[Union[ProgramState, str]] = None,
        after: Optional[str] = None,
        limit: int = 100,
    ) -> List[Program]:
        """Programs ordered by id, optionally of one kind and state."""
        raw = self._native.list_programs(_opt_enum(kind), _opt_enum(state), _opt("after", after), _count("limit", limit))
        return [_from_native(Program, p) for p in raw]

    # -- enrolling -----------------------------------------------------------------------

    @staticmethod
    def _request(
        user_id: Optional[str],
        program_id: str,
        email: Optional[str] = None,
        external_id: Optional[str] = None,
        id: Optional[str] = None,
        trigger: Optional[Union[Trigger, str]] = None,
        added_by_user_id: Optional[str] = None,
        added_by_program_id: Optional[str] = None,
        partnership_id: Optional[str] = None,
        timezone: Optional[str] = None,
        start_at: Optional[Time] = None,
        allow_reenroll: bool = False,
        batch: bool = False,
    ) -> Dict[str, Any]:
        req: Dict[str, Any] = {"program_id": _str("program_id", program_id)}
        for name, value in (("user_id", user_id), ("email", email), ("external_id", external_id), ("id", id),
                            ("added_by_user_id", added_by_user_id), ("added_by_program_id", added_by_program_id),
                            ("partnership_id", partnership_id), ("timezone", timezone)):
            if value is not None:
                req[name] = _str(name, value)
        if trigger is not None:
            req["trigger"] = _enum(trigger)
        if start_at is not None:
            req["start_at"] = format_time(start_at, "start_at")
        if allow_reenroll:
            req["allow_reenroll"] = True
        if batch:
            req["batch"] = True
        return req

    def enroll(
        self,
        user_id: Optional[str],
        program_id: str,
        *,
        email: Optional[str] = None,
        external_id: Optional[str] = None,
        id: Optional[str] = None,
        trigger: Optional[Union[Trigger, str]] = None,
        added_by_user_id: Optional[str] = None,
        added_by_program_id: Optional[str] = None,
        partnership_id: Optional[str] = None,
        timezone: Optional[str] = None,
        start_at: Optional[Time] = None,
        allow_reenroll: bool = False,
        batch: bool = False,
        actor: str = ADMIN,
    ) -> Enrollment:
        """Enrolls a user (by ``user_id``, or ``email=``/``external_id=`` with ``user_id=None``).

        Raises ``AlreadyEnrolledError`` (with ``existing_id``) while the user has an open
        enrollment in the program, or a completed one without ``allow_reenroll=True``;
        ``ProgramNotActiveError`` unless the program is active; ``PermissionDeniedError`` when a
        learner enrolls someone else or the program does not allow self-enrollment.
        """
        req = self._request(user_id, program_id, email, external_id, id, trigger, added_by_user_id,
                            added_by_program_id, partnership_id, timezone, start_at, allow_reenroll, batch)
        return _from_native(Enrollment, self._native.enroll(_actor(actor), json.dumps(req)))

    def enroll_many(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        mode: Union[BatchMode, str] = BatchMode.ALL_OR_NOTHING,
        actor: str = ADMIN,
    ) -> List[EnrollOutcome]:
        """Enrolls a batch in one transaction, with one outcome per request.

        Each request is a mapping with the keyword arguments of ``enroll`` (``user_id`` or
        ``email`` or ``external_id``, ``program_id``, ...). In ``ALL_OR_NOTHING`` mode a failed
        row rolls everything back (the others report ``not_applied``, including a row already
        enrolled by an earlier row of the batch).
        """
        rows = [self._request(**{"user_id": None, **dict(r)}) for r in requests]
        raw = self._native.enroll_many(_actor(actor), json.dumps(rows), _enum(mode))
        return [_native_outcome(o) for o in raw]

    # -- one enrollment ------------------------------------------------------------------

    def get_enrollment(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """The enrollment with this id."""
        return _from_native(Enrollment, self._native.get_enrollment(_actor(actor), _str("id", id)))

    def _enrollment(self, raw: Dict[str, Any]) -> Enrollment:
        return _from_native(Enrollment, raw)

    def set_progress(self, id: str, percent: float, *, actor: str = ADMIN) -> Enrollment:
        """Sets the progress (0-100) of a course or certification without steps; 100 completes
        a course."""
        return self._enrollment(self._native.set_progress(_actor(actor), _str("id", id), _number("percent", percent)))

    def add_progress(self, id: str, delta: float, *, actor: str = ADMIN) -> Enrollment:
        """Adds ``delta`` (-100 to 100) to the progress of a course or certification without
        steps, reading and writing in one transaction, so concurrent additions are never lost
        (unlike ``get_enrollment`` then ``set_progress``). The result is kept within 0-100;
        reaching 100 completes a course.

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="u1"))
        >>> _ = store.create_program(enrollkit.Program(id="c1", kind=enrollkit.Kind.COURSE, title="C",
        ...     state=enrollkit.ProgramState.ACTIVE, self_enrollment=True))
        >>> e = store.enroll("u1", "c1")
        >>> store.add_progress(e.id, 70).progress_percent
        70.0
        >>> store.add_progress(e.id, 70).status
        'completed'
        """
        return self._enrollment(self._native.add_progress(_actor(actor), _str("id", id), _number("delta", delta)))

    def _transition(self, id: str, command: str, actor: str) -> Enrollment:
        return self._enrollment(self._native.transition(_actor(actor), _str("id", id), command))

    def start(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Starts a ``new`` (scheduled track or certification) enrollment now."""
        return self._transition(id, "start", actor)

    def drop(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Drops a course enrollment (``active`` → ``dropped``)."""
        return self._transition(id, "drop", actor)

    def reactivate(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Reactivates a dropped course enrollment."""
        return self._transition(id, "reactivate", actor)

    def pause(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Pauses a track enrollment."""
        return self._transition(id, "pause", actor)

    def resume(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Resumes a paused track enrollment to the status it was paused from."""
        return self._transition(id, "resume", actor)

    def cancel(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Cancels a track enrollment."""
        return self._transition(id, "cancel", actor)

    def begin_processing(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """A worker claims a track enrollment (``active`` → ``processing``)."""
        return self._transition(id, "begin_processing", actor)

    def end_processing(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """The worker is done (``processing`` → ``active``)."""
        return self._transition(id, "end_processing", actor)

    def fail(self, id: str, reason: Union[FailureReason, str], message: Optional[str] = None, *,
             actor: str = ADMIN) -> Enrollment:
        """Fails a track or certification enrollment with a reason."""
        return self._enrollment(self._native.fail(_actor(actor), _str("id", id), _enum(reason),
                                                  _opt("message", message)))

    def _step(self, id: str, step_id: str, change: str, detail: Optional[str], message: Optional[str],
              actor: str) -> Enrollment:
        raw = self._native.update_step(_actor(actor), _str("id", id), _str("step_id", step_id), change, detail, message)
        return self._enrollment(raw)

    def start_step(self, id: str, step_id: str, *, actor: str = ADMIN) -> Enrollment:
        """Marks work on a step as started."""
        return self._step(id, step_id, "start", None, None, actor)

    def deliver_step(self, id: str, step_id: str, destination_type: Optional[str] = None, *,
                     actor: str = ADMIN) -> Enrollment:
        """Marks a step delivered (to ``destination_type``: ``user``, ``channel``, ...)."""
        return self._step(id, step_id, "deliver", _opt("destination_type", destination_type), None, actor)

    def complete_step(self, id: str, step_id: str, result: Optional[Mapping[str, Any]] = None, *,
                      actor: str = ADMIN) -> Enrollment:
        """Marks a step completed, with an optional result: a JSON object (dict), e.g. survey
        answers. Anything else is a ``ValidationError``; values JSON cannot hold, a
        ``TypeError`` or ``ValueError`` from ``json``."""
        detail = None if result is None else json.dumps(result, allow_nan=False)
        return self._step(id, step_id, "complete", detail, None, actor)

    def fail_step(self, id: str, step_id: str, reason: str, message: Optional[str] = None, *,
                  actor: str = ADMIN) -> Enrollment:
        """Marks a step failed with a reason code (it may be retried)."""
        return self._step(id, step_id, "fail", _str("reason", reason), _opt("message", message), actor)

    def skip_step(self, id: str, step_id: str, *, actor: str = ADMIN) -> Enrollment:
        """Marks a step skipped."""
        return self._step(id, step_id, "skip", None, None, actor)

    def submit_attempt(self, id: str, score: float, *, actor: str = ADMIN) -> Tuple[Enrollment, Attempt]:
        """Records an assessment attempt (score 0-100); returns the enrollment and the attempt."""
        data = self._native.submit_attempt(_actor(actor), _str("id", id), _number("score", score))
        return _from_native(Enrollment, data["enrollment"]), _from_native(Attempt, data["attempt"])

    def assign_mentor(self, id: str, mentor_id: Optional[str], *, actor: str = ADMIN) -> Enrollment:
        """Assigns a mentor (a known user), or removes it with ``None``."""
        return self._enrollment(self._native.assign_mentor(_actor(actor), _str("id", id),
                                                           _opt("mentor_id", mentor_id)))

    def set_next_step_at(self, id: str, at: Optional[Time], *, actor: str = ADMIN) -> Enrollment:
        """Sets (or clears with ``None``) when the next step is scheduled."""
        return self._enrollment(self._native.set_next_step_at(_actor(actor), _str("id", id), format_time(at, "at")))

    def start_due(self, *, limit: int = 100, actor: str = "system") -> List[str]:
        """Starts scheduled enrollments whose start time has come; returns their ids."""
        return self._native.start_due(_actor(actor), _count("limit", limit))  # type: ignore[no-any-return]

    def delete_enrollment(self, id: str, *, actor: str = ADMIN) -> None:
        """Deletes the enrollment with its steps and attempts (admin only); history stays."""
        self._native.delete_enrollment(_actor(actor), _str("id", id))

    # -- reading -------------------------------------------------------------------------

    def step_progress(self, id: str, *, actor: str = ADMIN) -> List[StepProgress]:
        """Progress of every step of the enrollment's program, in step order."""
        return [_from_native(StepProgress, p) for p in self._native.step_progress(_actor(actor), _str("id", id))]

    def attempts(self, id: str, *, actor: str = ADMIN) -> List[Attempt]:
        """The enrollment's assessment attempts, oldest first."""
        return [_from_native(Attempt, a) for a in self._native.attempts(_actor(actor), _str("id", id))]

    def history(self, id: str, *, actor: str = ADMIN) -> List[Event]:
        """The enrollment's history, oldest first (kept after deletion)."""
        return [_from_native(Event, e) for e in self._native.history(_actor(actor), _str("id", id))]

    def status_at(self, id: str, at: Time, *, actor: str = ADMIN) -> Optional[str]:
        """The enrollment's status at instant ``at``, or ``None`` when it did not exist then."""
        return self._native.status_at(_actor(actor), _str("id", id), format_time(at, "at") or "")

    def events_after(self, after: int = 0, *, limit: int = 100, actor: str = ADMIN) -> List[Event]:
        """The change feed: events with a sequence number above ``after``, oldest first."""
        if isinstance(after, bool) or not isinstance(after, int):
            raise TypeError("after must be an int")
        raw = self._native.events_after(_actor(actor), after, _count("limit", limit))
        return [_from_native(Event, e) for e in raw]

    def lineage(self, user_id: str, program_id: str, *, actor: str = ADMIN) -> List[Enrollment]:
        """Every enrollment of the user in the program, oldest first."""
        raw = self._native.lineage(_actor(actor), _str("user_id", user_id), _str("program_id", program_id))
        return [_from_native(Enrollment, e) for e in raw]

    @staticmethod
    def _query(filters: Dict[str, Any]) -> Dict[str, Any]:
        q: Dict[str, Any] = {}
        for name in ("user_id", "program_id", "status"):
            if filters.get(name) is not None:
                q[name] = _str(name, filters[name])
        for name in ("trigger", "order"):
            if filters.get(name) is not None:
                q[name] = _enum(filters[name])
        for name in ("enrolled_from", "enrolled_to", "completed_from", "completed_to"):
            if filters.get(name) is not None:
                q[name] = format_time(filters[name], name)
        return q

    def list_page(
        self,
        *,
        page: int = 1,
        per_page: int = 20,
        user_id: Optional[str] = None,
        program_id: Optional[str] = None,
        status: Optional[str] = None,
        trigger: Optional[Union[Trigger, str]] = None,
        enrolled_from: Optional[Time] = None,
        enrolled_to: Optional[Time] = None,
        completed_from: Optional[Time] = None,
        completed_to: Optional[Time] = None,
        order: Union[Order, str] = Order.OLDEST_FIRST,
        starting_after: Optional[str] = None,
        actor: str = ADMIN,
    ) -> Page:
        """One page of enrollments, as the course reference pages them (``page``, ``per_page``
        up to 100), or after the enrollment ``starting_after`` (keyset cursor; ``page`` is then
        ignored and ``per_page`` is the page size). ``status`` is in the program's vocabulary."""
        q = self._query(dict(user_id=user_id, program_id=program_id, status=status, trigger=trigger,
                             enrolled_from=enrolled_from, enrolled_to=enrolled_to,
                             completed_from=completed_from, completed_to=completed_to, order=order))
        if starting_after is not None:
            q["starting_after"] = _str("starting_after", starting_after)
            q["limit"] = _count("per_page", per_page)
        else:
            q["page"] = _count("page", page)
            q["per_page"] = _count("per_page", per_page)
        return _native_page(self._native.list_enrollments(_actor(actor), json.dumps(q)))

    def list_enrollments(
        self,
        *,
        user_id: Optional[str] = None,
        program_id: Optional[str] = None,
        status: Optional[str] = None,
        trigger: Optional[Union[Trigger, str]] = None,
        enrolled_from: Optional[Time] = None,
        enrolled_to: Optional[Time] = None,
        completed_from: Optional[Time] = None,
        completed_to: Optional[Time] = None,
        order: Union[Order, str] = Order.OLDEST_FIRST,
        page_size: int = 100,
        actor: str = ADMIN,
    ) -> Iterator[Enrollment]:
        """Every matching enrollment, fetched lazily page by page with keyset cursors (stable
        while rows are written). Bad filters raise on the first ``next()``.

        >>> store = Store.in_memory()
        >>> list(store.list_enrollments(status="active"))
        []
        """
        filters: Dict[str, Any] = dict(user_id=user_id, program_id=program_id, status=status, trigger=trigger,
                       enrolled_from=enrolled_from, enrolled_to=enrolled_to, completed_from=completed_from,
                       completed_to=completed_to, order=order, actor=actor)
        cursor: Optional[str] = None
        while True:
            # The first page by number, the rest by keyset cursor: both report next_cursor.
            page = self.list_page(per_page=page_size, starting_after=cursor, **filters)
            yield from page.items
            if not page.has_more or page.next_cursor is None:
                return
            cursor = page.next_cursor

    def report(self, program_id: str, *, actor: str = ADMIN) -> ProgramReport:
        """The program's report, read in one snapshot: the track reference's summary
        (``total_enrollees``, ``active``, ``completed``, ``failed``, ``paused``, ``canceled``,
        ``average_completion_rate`` in percent, ``average_time_to_complete`` in seconds), the
        counts per status in the program's vocabulary and the step funnel. For admins and the
        system; a learner gets ``PermissionDeniedError``.

        >>> s = Store.in_memory()
        >>> _ = s.create_program(Program(id="crs", kind="course", title="C", state="active"))
        >>> s.report("crs").total_enrollees
        0
        """
        return _from_native(ProgramReport, self._native.report(_actor(actor), _str("program_id", program_id)))

    def render(self, id: str, view: Union[View, str], *, actor: str = ADMIN) -> Dict[str, Any]:
        """The enrollment in a reference API's JSON shape (``View.TRACK``, ``CERTIFICATION``,
        ``COURSE``), as a dict."""
        raw = self._native.render(_actor(actor), _str("id", id), _enum(view))
        return raw  # type: ignore[no-any-return]
