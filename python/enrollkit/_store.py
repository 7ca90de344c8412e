"""``enrollkit.Store``: the Pythonic face of the native store."""

from __future__ import annotations

import math
import os
from datetime import date, datetime, timedelta
from numbers import Real
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from . import _enrollkit
from .exceptions import EnrollkitError
from ._types import (
    Attempt,
    BatchMode,
    Claim,
    Enrollment,
    EnrollOutcome,
    Erasure,
    Event,
    FailureReason,
    Kind,
    Order,
    Page,
    Program,
    ProgramReport,
    ProgramState,
    StepChange,
    StepProgress,
    Trigger,
    User,
    View,
)

__all__ = ["Store"]


def _change_name(change: Union[StepChange, str], destination_type: Optional[str],
                 result: Optional[Mapping[str, Any]], reason: Optional[str], message: Optional[str]) -> str:
    """The wire name of ``change``; ``TypeError`` for an option that does not go with it."""
    name = change.value if isinstance(change, StepChange) else change
    if not isinstance(name, str):
        raise TypeError(f"change must be a StepChange or a str, not {type(change).__name__}")
    given = {k for k, v in (("destination_type", destination_type), ("result", result), ("reason", reason),
                            ("message", message)) if v is not None}
    stray = given - _CHANGE_OPTIONS.get(name, set())
    if stray:
        raise TypeError(f"{', '.join(sorted(stray))} does not go with the step change {name!r}")
    if name == "fail" and reason is None:
        raise TypeError("the step change 'fail' needs reason=")
    return name

ADMIN = "admin"
Time = Union[datetime, str]
Lease = Union[timedelta, float]

# Options of complete_claim, by the step change they belong to.
_CHANGE_OPTIONS = {
    "deliver": {"destination_type"},
    "complete": {"result"},
    "fail": {"reason", "message"},
}


def _path(name: str, value: Union[str, "os.PathLike[str]"]) -> str:
    """A file path argument (``str`` or ``os.PathLike[str]``); other types are a ``TypeError``."""
    p = os.fspath(value)
    if not isinstance(p, str):
        raise TypeError(f"{name} must be a str or os.PathLike[str], not {type(p).__name__}")
    return p


def _lease_ms(lease: Lease) -> int:
    """A lease in whole milliseconds, from a ``timedelta`` or a number of seconds (rounded down,
    as the core counts); the core checks the range."""
    if isinstance(lease, timedelta):
        return lease // timedelta(milliseconds=1)
    if isinstance(lease, bool) or not isinstance(lease, Real):
        raise TypeError(f"lease must be a timedelta or a number of seconds, not {type(lease).__name__}")
    seconds = float(lease)
    if not math.isfinite(seconds):
        from .exceptions import ValidationError

        raise ValidationError(f"invalid lease: {lease!r} is not between 1 ms and a day", {"field": "lease"})
    return math.floor(seconds * 1000)


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
        owner_only: bool = True,
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
            owner_only: a database file this store creates (with its WAL and shared-memory
                files, and the copies ``backup`` writes) is readable and writable by its owner
                only (mode 0600, whatever the umask); ``False`` gives new files SQLite's 0644
                less the umask. Files that exist keep their mode.
        """
        p = None if path is None else _path("path", path)
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, Real):
            raise TypeError(f"busy_timeout must be a number, not {type(busy_timeout).__name__}")
        timeout = float(busy_timeout)
        if not 0 <= timeout <= 86400:
            from .exceptions import ValidationError

            raise ValidationError("invalid busy_timeout: must be 0 to 86400 seconds", {"field": "busy_timeout"})
        self._native: _enrollkit.Store = _enrollkit.Store(
            p,
            bool(durable),
            int(timeout * 1000),
            bool(create),
            bool(manual_clock),
            bool(read_only),
            bool(owner_only),
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
        return self._native.now()

    def set_time(self, at: Time) -> None:
        """Sets a manual clock (``manual_clock=True`` stores only)."""
        self._native.set_time(at)

    def advance_time(self, by: Union[timedelta, int]) -> None:
        """Moves a manual clock by a ``timedelta`` or a number of milliseconds."""
        if isinstance(by, timedelta):
            ms = int(by.total_seconds() * 1000)
        elif isinstance(by, bool) or not isinstance(by, int):
            raise TypeError(f"by must be a timedelta or an int, not {type(by).__name__}")
        elif abs(by) > 0xFFFFFFFF:
            from .exceptions import ValidationError

            raise ValidationError(f"invalid by: {by} is out of range", {"field": "by"})
        else:
            ms = by
        self._native.advance_time(ms)

    def stats(self) -> Dict[str, int]:
        """How many ``users``, ``programs``, ``enrollments`` and ``events`` the database holds.

        >>> Store.in_memory().stats()
        {'users': 0, 'programs': 0, 'enrollments': 0, 'events': 0}
        """
        return self._native.stats()

    def check(self) -> List[str]:
        """Checks the whole database (SQLite integrity and enrollkit's invariants); returns the
        violations, ``[]`` when all is well."""
        return self._native.check()

    # -- files ---------------------------------------------------------------------------

    def export(self, path: Union[str, "os.PathLike[str]"]) -> Dict[str, int]:
        """Writes the whole database to ``path`` as JSON Lines (the enrollkit export format);
        returns the number of records of each type. Importing it into an empty store and
        exporting again gives the same bytes."""
        return self._native.export(_path("path", path))

    def import_file(self, path: Union[str, "os.PathLike[str]"], *,
                    mode: Union[BatchMode, str] = BatchMode.ALL_OR_NOTHING) -> Dict[str, Any]:
        """Imports an export file in one transaction. Returns ``{"imported": counts,
        "errors": [{"line", "error"}], "committed": bool}``; with ``ALL_OR_NOTHING`` any refused
        line leaves the database unchanged. An import into an empty database file that no other
        connection has open holds the file alone until it returns: other connections (other
        threads' reads included) wait, up to their busy timeout, instead of reading the empty
        database."""
        return self._native.import_file(_path("path", path), mode)

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
        return self._native.enroll_csv(actor, _path("path", path), mode)

    def export_csv(self, path: Union[str, "os.PathLike[str]"], *, program_id: Optional[str] = None) -> int:
        """Writes enrollments (optionally of one program) as CSV; returns the row count."""
        return self._native.export_csv(_path("path", path), program_id)

    def backup(self, dest: Union[str, "os.PathLike[str]"]) -> None:
        """Copies the database to the new file ``dest`` with SQLite's backup API, consistently,
        while others write (``ConflictError`` if ``dest`` exists)."""
        self._native.backup(_path("dest", dest))

    def compact(self) -> None:
        """Rewrites the database so that nothing deleted or overwritten is left in it (after
        ``erase_user``, say). SQLite checkpoints the write-ahead log, leaving it empty, rebuilds
        the file (``VACUUM``: it needs free disk space about the file's size and holds the writer
        meanwhile) and checkpoints again; PostgreSQL vacuums the tables (the server's own WAL and
        backups keep what its retention says). Raises ``BusyError`` when another connection (of
        another ``Store`` or process) keeps the log from being emptied, ``StorageError`` on a
        read-only store.

        >>> Store.in_memory().compact()
        """
        self._native.compact()

    # -- users ---------------------------------------------------------------------------

    def upsert_user(self, user: Union[User, Mapping[str, Any]]) -> User:
        """Creates the user or replaces every field of an existing one.

        >>> Store.in_memory().upsert_user(User(id="u1", email="a@example.com")).email
        'a@example.com'
        """
        return self._native.upsert_user(user)

    def upsert_users(self, users: Iterable[Union[User, Mapping[str, Any]]]) -> int:
        """Creates or replaces many users in one transaction, all or nothing; returns how many
        were written. A refused user raises its error (the message names its 0-based row) and
        writes nothing.

        >>> Store.in_memory().upsert_users([User(id="u1"), {"id": "u2"}])
        2
        """
        return self._native.upsert_users(users)

    def get_user(self, id: str) -> User:
        """The user with this id (``NotFoundError`` otherwise)."""
        return self._native.find_user("id", id)

    def find_user(self, *, email: Optional[str] = None, external_id: Optional[str] = None) -> User:
        """The user with this email (case-insensitive) or external id."""
        if email is not None and external_id is None:
            return self._native.find_user("email", email)
        if external_id is not None and email is None:
            return self._native.find_user("external_id", external_id)
        raise TypeError("give exactly one of email= or external_id=")

    def list_users(self, *, after: Optional[str] = None, limit: int = 100) -> List[User]:
        """Users ordered by id, after ``after`` (exclusive), at most ``limit`` (1-1000)."""
        return self._native.list_users(after, limit)

    def erase_user(self, user_id: str, *, actor: str = ADMIN) -> Erasure:
        """Erases the user on request (admin only), in one transaction: deletes them with every
        enrollment of theirs, its step progress and attempts, and scrubs them from the history.
        Their events keep their sequence numbers, actions and statuses, but name a tombstone
        (``Erasure.tombstone``, ``erased_`` and random characters) instead of the user and lose
        their reasons (scores, messages, free text). Others' records no longer name them: a
        manager, a mentor or who enrolled someone is cleared, and in other free text (events'
        reasons, failure messages, step results) their id, email and name, as stored and when
        at least 4 characters long, become the tombstone. One ``user_erased`` event (its
        ``user_id`` and ``enrollment_id`` the tombstone) goes into the change feed, and each
        seat their enrollments held goes to its program's waitlist. Returns what was done.

        SQLite keeps removed bytes in free pages and in its write-ahead log until they are
        reused: call ``compact()`` afterwards to rewrite them away.

        Raises ``PermissionDeniedError`` for any actor but an admin, ``NotFoundError`` for a
        user that does not exist, ``ValidationError`` for an invalid id.

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="ada", email="ada@example.com", display_name="Ada Lovelace"))
        >>> _ = store.create_program(enrollkit.Program(id="c", kind="course", title="C", state="active"))
        >>> e = store.enroll("ada", "c")
        >>> erased = store.erase_user("ada")
        >>> erased.tombstone.startswith("erased_"), erased.enrollments, erased.events
        (True, 1, 1)
        >>> [(ev.action, ev.user_id == erased.tombstone, ev.reason) for ev in store.history(e.id)]
        [('enrolled', True, None)]
        >>> try:
        ...     store.get_user("ada")
        ... except enrollkit.NotFoundError:
        ...     print("gone")
        gone
        """
        return self._native.erase_user(actor, user_id)

    # -- programs ------------------------------------------------------------------------

    def create_program(self, program: Union[Program, Mapping[str, Any]]) -> Program:
        """Creates a program with its steps (``ConflictError`` if the id exists)."""
        return self._native.create_program(program)

    def update_program(self, program: Union[Program, Mapping[str, Any]]) -> Program:
        """Replaces a program's settings; steps may change only while it has no enrollments."""
        return self._native.update_program(program)

    def get_program(self, id: str) -> Program:
        """The program with its steps."""
        return self._native.get_program(id)

    def list_programs(
        self,
        *,
        kind: Optional[Union[Kind, str]] = None,
        state: Optional[Union[ProgramState, str]] = None,
        after: Optional[str] = None,
        limit: int = 100,
    ) -> List[Program]:
        """Programs ordered by id, optionally of one kind and state."""
        return self._native.list_programs(kind, state, after, limit)

    # -- enrolling -----------------------------------------------------------------------

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
        override_prerequisites: Optional[str] = None,
        actor: str = ADMIN,
    ) -> Enrollment:
        """Enrolls a user (by ``user_id``, or ``email=``/``external_id=`` with ``user_id=None``).

        The program's policies apply (``Program.policy``): the enrollment's ``deadline_at``
        follows from its deadline; when every seat of its capacity is taken, the enrollment
        joins its waitlist (status ``waitlisted``, see ``waitlist``) or, without one, is refused;
        ``override_prerequisites`` (admins only) enrolls a user who has not completed its
        prerequisites, giving the reason, which the ``enrolled`` event of the history keeps. A
        partner user (one with ``User.partnerships``) enrolls in a certification with
        ``partnership_id`` one of them.

        Raises ``AlreadyEnrolledError`` (with ``existing_id``) while the user has an open
        enrollment in the program, or a completed one without ``allow_reenroll=True``;
        ``ProgramNotActiveError`` unless the program is active; ``EnrollmentClosedError``
        (``opens_at``, ``closed_at``) outside the program's enrollment window;
        ``PrerequisitesNotMetError`` (``missing``) when the user has not completed every
        prerequisite; ``ProgramFullError`` (``capacity``) when the program is full and has no
        waitlist; ``PermissionDeniedError`` when a learner enrolls someone else, the program
        does not allow self-enrollment, or anyone but an admin overrides prerequisites;
        ``ValidationError`` (``field`` ``partnership_id``) when a partner user's certification
        enrollment names none of their partnerships.

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="u1"))
        >>> _ = store.create_program(enrollkit.Program(id="intro", kind="course", title="Intro", state="active"))
        >>> _ = store.create_program(enrollkit.Program(id="adv", kind="course", title="Advanced", state="active",
        ...     policy=enrollkit.Policy(prerequisites=["intro"])))
        >>> try:
        ...     store.enroll("u1", "adv")
        ... except enrollkit.PrerequisitesNotMetError as err:
        ...     err.missing
        ['intro']
        >>> store.enroll("u1", "adv", override_prerequisites="transfer credit").status
        'active'
        """
        return self._native.enroll(actor, user_id, program_id, email, external_id, id, trigger, added_by_user_id,
                                   added_by_program_id, partnership_id, timezone, start_at, allow_reenroll, batch,
                                   override_prerequisites)

    def enroll_many(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        mode: Union[BatchMode, str] = BatchMode.ALL_OR_NOTHING,
        actor: str = ADMIN,
    ) -> List[EnrollOutcome]:
        """Enrolls a batch in one transaction, with one outcome per request.

        Each request is a mapping with the keyword arguments of ``enroll`` (``user_id`` or
        ``email`` or ``external_id``, ``program_id``, ..., ``override_prerequisites``). In ``ALL_OR_NOTHING`` mode a failed
        row rolls everything back (the others report ``not_applied``, including a row already
        enrolled by an earlier row of the batch).
        """
        return self._native.enroll_many(actor, requests, mode)

    # -- one enrollment ------------------------------------------------------------------

    def get_enrollment(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """The enrollment with this id."""
        return self._native.get_enrollment(actor, id)

    def set_progress(self, id: str, percent: float, *, actor: str = ADMIN) -> Enrollment:
        """Sets the progress (0-100) of a course or certification without steps; 100 completes
        a course."""
        return self._native.set_progress(actor, id, percent)

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
        return self._native.add_progress(actor, id, delta)

    def _transition(self, id: str, command: str, actor: str) -> Enrollment:
        return self._native.transition(actor, id, command)

    def start(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Starts a ``new`` (scheduled track or certification) enrollment now."""
        return self._transition(id, "start", actor)

    def drop(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Drops a course enrollment (``active`` → ``dropped``)."""
        return self._transition(id, "drop", actor)

    def reactivate(self, id: str, *, actor: str = ADMIN) -> Enrollment:
        """Reactivates a dropped course enrollment (``ProgramFullError`` when the program's
        seats are all taken: a dropped enrollment gave its seat up)."""
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
        return self._native.fail(actor, id, reason, message)

    def start_step(self, id: str, step_id: str, *, actor: str = ADMIN) -> Enrollment:
        """Marks work on a step as started."""
        return self._native.start_step(actor, id, step_id)

    def deliver_step(self, id: str, step_id: str, destination_type: Optional[str] = None, *,
                     actor: str = ADMIN) -> Enrollment:
        """Marks a step delivered (to ``destination_type``: ``user``, ``channel``, ...)."""
        return self._native.deliver_step(actor, id, step_id, destination_type)

    def complete_step(self, id: str, step_id: str, result: Optional[Mapping[str, Any]] = None, *,
                      actor: str = ADMIN) -> Enrollment:
        """Marks a step completed, with an optional result: a JSON object, e.g. survey answers.

        The result is a ``dict`` (or other mapping) with ``str`` keys whose values are ``None``,
        ``bool``, ``int`` (64-bit), finite ``float``, ``str``, lists, tuples and such mappings,
        nested at most 127 levels deep, at most 64 KiB as JSON. Anything else (another type, a
        deeper or larger value, a cycle) is a ``ValidationError`` naming the field ``result``.
        """
        return self._native.complete_step(actor, id, step_id, result)

    def fail_step(self, id: str, step_id: str, reason: str, message: Optional[str] = None, *,
                  actor: str = ADMIN) -> Enrollment:
        """Marks a step failed with a reason code (it may be retried)."""
        return self._native.fail_step(actor, id, step_id, reason, message)

    def skip_step(self, id: str, step_id: str, *, actor: str = ADMIN) -> Enrollment:
        """Marks a step skipped."""
        return self._native.skip_step(actor, id, step_id)

    def submit_attempt(self, id: str, score: float, *, actor: str = ADMIN) -> Tuple[Enrollment, Attempt]:
        """Records an assessment attempt (score 0-100); returns the enrollment and the attempt."""
        return self._native.submit_attempt(actor, id, score)

    def assign_mentor(self, id: str, mentor_id: Optional[str], *, actor: str = ADMIN) -> Enrollment:
        """Assigns a mentor (a known user), or removes it with ``None``."""
        return self._native.assign_mentor(actor, id, mentor_id)

    def set_next_step_at(self, id: str, at: Optional[Time], *, actor: str = ADMIN) -> Enrollment:
        """Sets (or clears with ``None``) when the next step is scheduled."""
        return self._native.set_next_step_at(actor, id, at)

    def start_due(self, *, limit: int = 100, actor: str = "system") -> List[str]:
        """Starts scheduled enrollments whose start time has come; returns their ids."""
        return self._native.start_due(actor, limit)

    def expire_due(self, *, limit: int = 100, actor: str = "system") -> List[str]:
        """Ends up to ``limit`` (1-1000) open enrollments whose deadline (``deadline_at``, from
        the program's ``Policy.deadline``) has passed by the store's clock, soonest deadline
        first; returns their ids. A course enrollment becomes ``expired``; a certification or
        track one ``failed`` with ``FailureReason.DEADLINE_PASSED``. A dropped course waits for
        its reactivation; a waitlisted enrollment expires too. One history event each
        (``expire``). Call it from your scheduler, as ``start_due``. Admin or system only
        (``PermissionDeniedError``).

        >>> import enrollkit
        >>> store = Store.in_memory(manual_clock=True)
        >>> store.set_time("2026-03-01T00:00:00Z")
        >>> _ = store.upsert_user(enrollkit.User(id="u1"))
        >>> _ = store.create_program(enrollkit.Program(id="c", kind="course", title="C", state="active",
        ...     policy=enrollkit.Policy(deadline=enrollkit.Deadline(after_days=30))))
        >>> e = store.enroll("u1", "c")
        >>> e.deadline_at.isoformat()
        '2026-03-31T00:00:00+00:00'
        >>> store.expire_due()
        []
        >>> store.set_time(e.deadline_at)
        >>> store.expire_due() == [e.id], store.get_enrollment(e.id).status
        (True, 'expired')
        """
        return self._native.expire_due(actor, limit)

    def waitlist(self, program_id: str, *, limit: int = 100, actor: str = ADMIN) -> List[Enrollment]:
        """The waitlist of a program with a capacity and ``Policy.waitlist``: its
        ``waitlisted`` enrollments in order, first come, first served (the first takes the next
        seat that frees: when an enrollment ends, is dropped or deleted, or the capacity grows,
        in the same transaction, with a ``promote`` event), at most ``limit`` (1-1000). Admin
        or system only (``PermissionDeniedError``); ``NotFoundError`` for a program that does
        not exist.

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_users([enrollkit.User(id=u) for u in ("u1", "u2", "u3")])
        >>> _ = store.create_program(enrollkit.Program(id="c", kind="course", title="C", state="active",
        ...     policy=enrollkit.Policy(capacity=1, waitlist=True)))
        >>> [store.enroll(u, "c").status for u in ("u1", "u2", "u3")]
        ['active', 'waitlisted', 'waitlisted']
        >>> [e.user_id for e in store.waitlist("c")]
        ['u2', 'u3']
        """
        return self._native.waitlist(actor, program_id, limit)

    def waitlist_position(self, id: str, *, actor: str = ADMIN) -> Optional[int]:
        """The place (from 1) of the enrollment in its program's waitlist, or ``None`` when it
        is not ``waitlisted``. A learner may ask about their own enrollment."""
        return self._native.waitlist_position(actor, id)

    # -- the due-work queue and work anniversaries ---------------------------------------

    def claim_due(self, worker: str, limit: int = 100, lease: Lease = 60.0, *,
                  program_id: Optional[str] = None) -> List[Claim]:
        """Claims for ``worker`` up to ``limit`` (1-1000) enrollments whose next step is due
        (``next_step_at`` at or before now), oldest first, for ``lease``. With ``program_id``,
        only that program's work (a worker that runs one program's steps); a program that does
        not exist raises ``NotFoundError``.

        Each claimed enrollment becomes ``processing`` (``active_batch``: ``processing_batch``)
        with ``claimed_by`` and ``lease_until``, and its history records the claim; one whose
        previous lease ended is taken over. Claims are atomic: workers claiming at once (threads,
        processes) never get the same step. The worker then runs each ``Claim.step_id`` and ends
        the claim before the lease ends, with ``complete_claim`` or ``release_claim`` (or keeps
        it longer with ``renew_claim``). A claim whose ``step_id`` is ``None`` is work the host
        scheduled with ``set_next_step_at`` and no step of the program left to run:
        ``complete_claim`` with ``DELIVER``, ``COMPLETE`` or ``SKIP`` ends it and clears
        ``next_step_at``.

        ``worker`` is an id of your choosing (1-128 bytes, like a user id). ``lease`` is a
        ``datetime.timedelta`` or a number of seconds (as ``time.sleep`` and this store's
        ``busy_timeout`` take), from 1 ms to a day; anything else is a ``ValidationError``
        (``field`` ``lease``).

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="u1"))
        >>> _ = store.create_program(enrollkit.Program(id="t", kind="track", title="T", state="active",
        ...     steps=[enrollkit.Step("hello", "message", "Hello", False),
        ...            enrollkit.Step("tip", "message", "Tip", False, {"after": "previous_step", "delay": 1,
        ...                                                         "unit": "days"})]))
        >>> e = store.enroll("u1", "t")
        >>> [(c.enrollment.status, c.enrollment.claimed_by, c.step_id) for c in store.claim_due("w1", 10, 30)]
        [('processing', 'w1', 'hello')]
        >>> store.complete_claim("w1", e.id, "deliver").status
        'active'
        >>> store.claim_due("w1", program_id="t")  # tip is a day away
        []
        """
        return self._native.claim_due(worker, program_id, limit, _lease_ms(lease))

    def due(self, *, program_id: Optional[str] = None, until: Optional[Time] = None, limit: int = 100,
            actor: str = ADMIN) -> List[Claim]:
        """The scheduled work, without claiming it: the running enrollments of ``program_id``
        (or of every program) whose next step time (``next_step_at``) is at or before ``until``
        (an aware ``datetime`` or an RFC 3339 string; ``None``: at any time), soonest first, at
        most ``limit`` (1-1000). Each is a ``Claim``, the enrollment with the step that runs
        next, whether a worker holds it (``claimed_by``, ``lease_until``) or not: what
        ``claim_due`` takes, in the order it takes it. For admins and the system; a learner gets
        ``PermissionDeniedError``, a program that does not exist ``NotFoundError``.

        >>> import datetime, enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="u1"))
        >>> _ = store.create_program(enrollkit.Program(id="t", kind="track", title="T", state="active",
        ...     steps=[enrollkit.Step("hello", "message", "Hello", False),
        ...            enrollkit.Step("tip", "message", "Tip", False, {"after": "previous_step", "delay": 1,
        ...                                                         "unit": "days"})]))
        >>> e = store.enroll("u1", "t")
        >>> [(c.enrollment.id == e.id, c.enrollment.claimed_by, c.step_id) for c in store.due(program_id="t")]
        [(True, None, 'hello')]
        >>> _ = store.complete_step(e.id, "hello")
        >>> store.due(until=store.now())  # tip is a day away
        []
        >>> [c.step_id for c in store.due(until=store.now() + datetime.timedelta(days=2))]
        ['tip']
        """
        return self._native.due(actor, program_id, until, limit)

    def renew_claim(self, worker: str, enrollment_id: str, lease: Lease = 60.0) -> Enrollment:
        """Extends ``worker``'s claim on the enrollment to ``lease`` from now (a
        ``datetime.timedelta`` or a number of seconds, 1 ms to a day, as ``claim_due`` takes
        it): a worker whose step runs longer than it expected keeps it from being taken over.
        The history records the new lease. Raises ``ConflictError``, changing nothing, when
        ``worker`` no longer holds the claim (renew before the lease ends); ``ValidationError``
        (``field`` ``lease``) for a lease out of range.

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user(enrollkit.User(id="u1"))
        >>> _ = store.create_program(enrollkit.Program(id="t", kind="track", title="T", state="active",
        ...     steps=[enrollkit.Step("hello", "message", "Hello", False,
        ...                           {"after": "start", "delay": 0, "unit": "minutes"})]))
        >>> e = store.enroll("u1", "t")
        >>> [c] = store.claim_due("w1", 1, 30)
        >>> renewed = store.renew_claim("w1", e.id, 300)
        >>> (renewed.claimed_by, renewed.lease_until > c.enrollment.lease_until)
        ('w1', True)
        """
        return self._native.renew_claim(worker, enrollment_id, _lease_ms(lease))

    def complete_claim(
        self,
        worker: str,
        enrollment_id: str,
        change: Union[StepChange, str],
        *,
        destination_type: Optional[str] = None,
        result: Optional[Mapping[str, Any]] = None,
        reason: Optional[str] = None,
        message: Optional[str] = None,
    ) -> Enrollment:
        """Ends ``worker``'s claim on the enrollment after running its due step: ``change``
        (``StepChange.DELIVER``, ``COMPLETE``, ``FAIL`` or ``SKIP``) is applied to the step the
        claim named, with that change's options as ``deliver_step``, ``complete_step`` and
        ``fail_step`` take them (``destination_type``; ``result``; ``reason``, required, and
        ``message``). The enrollment returns to ``active`` (or ``active_batch``, or is
        ``delivered``/``completed`` by the step) and its next step's time follows from the
        schedule: one transaction, one history event.

        A claim with no step to run (``Claim.step_id`` ``None``: work the host scheduled with
        ``set_next_step_at``) ends with ``DELIVER``, ``COMPLETE`` or ``SKIP``: the enrollment
        returns to ``active`` with ``next_step_at`` cleared, no step changed; ``FAIL`` has no step
        to record the failure on (``ValidationError``; give the claim back with
        ``release_claim``).

        Raises ``ConflictError``, changing nothing, when ``worker`` no longer holds the claim
        (its lease ended, or another worker took it over); ``ValidationError`` for
        ``StepChange.START``, which settles no step, or for ``FAIL`` when no step is pending;
        ``TypeError`` for an option that does not belong to ``change``.
        """
        name = _change_name(change, destination_type, result, reason, message)
        return self._native.complete_claim(worker, enrollment_id, name, destination_type, result, reason, message)

    def complete_claims(
        self,
        worker: str,
        enrollment_ids: Iterable[str],
        change: Union[StepChange, str],
        *,
        destination_type: Optional[str] = None,
        result: Optional[Mapping[str, Any]] = None,
        reason: Optional[str] = None,
        message: Optional[str] = None,
    ) -> List[Union[Enrollment, EnrollkitError]]:
        """``complete_claim`` for several of ``worker``'s claims at once, each with the same
        ``change`` and options, in one transaction (a worker that ran a batch of steps commits
        once). One item per id, in order: the enrollment, or the exception that refused that
        id (``ConflictError``, ``NotFoundError``, ``ValidationError``), which changed nothing
        for it and did not stop the others. Only a storage failure raises.

        >>> import enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_users([enrollkit.User(id="u1"), enrollkit.User(id="u2")])
        >>> _ = store.create_program(enrollkit.Program(id="t", kind="track", title="T", state="active",
        ...     steps=[enrollkit.Step("hello", "message", "Hello", False,
        ...                           {"after": "start", "delay": 0, "unit": "minutes"})]))
        >>> ids = [store.enroll(u, "t").id for u in ("u1", "u2")]
        >>> _ = store.claim_due("w1", 10)
        >>> [type(r).__name__ for r in store.complete_claims("w1", ids + ["enr_nope"], "deliver")]
        ['Enrollment', 'Enrollment', 'NotFoundError']
        """
        name = _change_name(change, destination_type, result, reason, message)
        return self._native.complete_claims(worker, list(enrollment_ids), name, destination_type, result, reason,
                                            message)

    def release_claim(self, worker: str, enrollment_id: str) -> Enrollment:
        """Gives ``worker``'s claim back without running the step: the enrollment returns to
        ``active`` (or ``active_batch``), its step still due, for any worker to claim. Raises
        ``ConflictError``, changing nothing, when ``worker`` no longer holds the claim."""
        return self._native.release_claim(worker, enrollment_id)

    def enroll_anniversaries(self, program_id: str, on_date: Union[date, str], *,
                             actor: str = ADMIN) -> List[EnrollOutcome]:
        """Enrolls in ``program_id``, with trigger ``WORK_ANNIVERSARY``, every user whose hire
        date (``User.hire_date``) comes round on ``on_date`` (a ``datetime.date`` or
        ``"YYYY-MM-DD"``): a year or more later, the 29th of February on the 28th in other years.
        One outcome per such user, by user id, as ``enroll_many`` reports them, each naming its
        user (``EnrollOutcome.user_id``).

        In a track the enrollment starts at the beginning of that day in the user's time zone
        (a scheduled start, run by ``start_due``, while that is ahead); other programs start at
        once. Running it again for the same date enrolls nobody twice: those users report
        ``already_enrolled``, whatever became of the first enrollment. Admin or system only.

        >>> import datetime, enrollkit
        >>> store = Store.in_memory()
        >>> _ = store.upsert_user({"id": "u1", "hire_date": "2020-03-10"})
        >>> _ = store.create_program(enrollkit.Program(id="c", kind="course", title="C", state="active"))
        >>> [(o.user_id, o.outcome, o.enrollment.trigger.value)
        ...  for o in store.enroll_anniversaries("c", datetime.date(2026, 3, 10)) if o.enrollment]
        [('u1', 'created', 'work_anniversary')]
        >>> [(o.user_id, o.outcome) for o in store.enroll_anniversaries("c", "2026-03-10")]
        [('u1', 'already_enrolled')]
        """
        if isinstance(on_date, datetime) or not isinstance(on_date, (date, str)):
            raise TypeError(f"on_date must be a datetime.date or a 'YYYY-MM-DD' str, not {type(on_date).__name__}")
        day = on_date if isinstance(on_date, str) else on_date.isoformat()
        return self._native.enroll_anniversaries(actor, program_id, day)

    def delete_enrollment(self, id: str, *, actor: str = ADMIN) -> None:
        """Deletes the enrollment with its steps and attempts (admin only); history stays."""
        self._native.delete_enrollment(actor, id)

    # -- reading -------------------------------------------------------------------------

    def step_progress(self, id: str, *, actor: str = ADMIN) -> List[StepProgress]:
        """Progress of every step of the enrollment's program, in step order."""
        return self._native.step_progress(actor, id)

    def attempts(self, id: str, *, actor: str = ADMIN) -> List[Attempt]:
        """The enrollment's assessment attempts, oldest first."""
        return self._native.attempts(actor, id)

    def history(self, id: str, *, actor: str = ADMIN) -> List[Event]:
        """The enrollment's history, oldest first (kept after deletion)."""
        return self._native.history(actor, id)

    def status_at(self, id: str, at: Time, *, actor: str = ADMIN) -> Optional[str]:
        """The enrollment's status at instant ``at``, or ``None`` when it did not exist then."""
        return self._native.status_at(actor, id, at)

    def events_after(self, after: int = 0, *, limit: int = 100, actor: str = ADMIN) -> List[Event]:
        """The change feed: events with a sequence number above ``after``, oldest first."""
        return self._native.events_after(actor, after, limit)

    def lineage(self, user_id: str, program_id: str, *, actor: str = ADMIN) -> List[Enrollment]:
        """Every enrollment of the user in the program, oldest first."""
        return self._native.lineage(actor, user_id, program_id)

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
        return self._native.list_page(actor, page, per_page, user_id, program_id, status, trigger, enrolled_from,
                                      enrolled_to, completed_from, completed_to, order, starting_after)

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
        return self._native.report(actor, program_id)

    def render(self, id: str, view: Union[View, str], *, actor: str = ADMIN) -> Dict[str, Any]:
        """The enrollment in a reference API's JSON shape (``View.TRACK``, ``CERTIFICATION``,
        ``COURSE``), as a dict."""
        return self._native.render(actor, id, view)
