//! The native store: `enrollkit.Store` (`python/enrollkit/_store.py`) calls it with its
//! arguments as the caller gave them. Each method converts them (`convert`, `requests`), runs
//! the core operation with the GIL released, and returns the records of `records`.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use enrollkit::{
    Actor, BatchMode, Command, Error, Failure, FailureReason, Kind, ManualClock, OpenOptions,
    ProgramState, StepChange, UserRef, View,
};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::convert::{self, json_to_py, raise, Refusal};
use crate::records::{
    Attempt, Claim, EnrollOutcome, Enrollment, Erasure, Event, Page, Program, ProgramReport,
    StepProgress, User,
};
use crate::requests::{self, EnrollArgs, ListArgs};

/// The file `path`, opened for reading, buffered.
fn open_file(path: &str) -> Result<std::io::BufReader<std::fs::File>, Error> {
    std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .map_err(|e| Error::Storage(Failure::caused_by(format!("cannot open {path}: {e}"), e)))
}

/// The file `path`, created or truncated, buffered.
fn create_file(path: &str) -> Result<std::io::BufWriter<std::fs::File>, Error> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| Error::Storage(Failure::caused_by(format!("cannot create {path}: {e}"), e)))
}

/// Raises a refusal.
fn check<T>(py: Python<'_>, r: Result<T, Refusal>) -> PyResult<T> {
    r.map_err(|e| e.into_pyerr(py))
}

/// The actor of its label (`admin`, `system`, `learner:<user id>`).
fn actor(py: Python<'_>, label: &str) -> PyResult<Actor> {
    Actor::parse(label).map_err(|e| raise(py, &e))
}

/// A core parse (of an enum name, a mode), raised as its error.
fn parsed<T>(py: Python<'_>, r: Result<T, Error>) -> PyResult<T> {
    r.map_err(|e| raise(py, &e))
}

/// The native store. Thread-safe; `close()` releases the database, after which every call
/// raises `StorageError`.
#[pyclass(frozen, module = "enrollkit._enrollkit")]
pub(crate) struct Store {
    inner: RwLock<Option<Arc<enrollkit::Store>>>,
    clock: Option<Arc<ManualClock>>,
}

impl Store {
    /// Runs `f` on the core store with the GIL released; maps errors to exceptions.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&enrollkit::Store) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let store = self
            .inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| raise(py, &Error::Storage("the store is closed".into())))?;
        py.detach(|| f(&store)).map_err(|e| raise(py, &e))
    }

    /// [`Store::run`] of an operation that returns an enrollment.
    fn enrollment(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&enrollkit::Store) -> Result<enrollkit::Enrollment, Error> + Send,
    ) -> PyResult<Enrollment> {
        Ok(Enrollment {
            inner: self.run(py, f)?,
        })
    }

    fn manual_clock(&self, py: Python<'_>) -> PyResult<&ManualClock> {
        self.clock.as_deref().ok_or_else(|| {
            raise(
                py,
                &Error::Validation {
                    field: "clock",
                    message: "the store was not opened with manual_clock=True".into(),
                },
            )
        })
    }

    fn step(
        &self,
        py: Python<'_>,
        actor_label: &str,
        id: &str,
        step_id: &str,
        change: StepChange,
    ) -> PyResult<Enrollment> {
        let a = actor(py, actor_label)?;
        self.enrollment(py, |s| s.update_step(&a, id, step_id, &change))
    }
}

#[pymethods]
impl Store {
    #[new]
    #[pyo3(signature = (path=None, durability_full=false, busy_timeout_ms=5000, create=true, manual_clock=false, read_only=false, owner_only=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: Option<String>,
        durability_full: bool,
        busy_timeout_ms: u64,
        create: bool,
        manual_clock: bool,
        read_only: bool,
        owner_only: bool,
    ) -> PyResult<Self> {
        let mut options = OpenOptions::new()
            .create(create)
            .read_only(read_only)
            .owner_only(owner_only)
            .busy_timeout(Duration::from_millis(busy_timeout_ms));
        if durability_full {
            options = options.durability(enrollkit::Durability::Full);
        }
        let clock = manual_clock.then(|| {
            Arc::new(ManualClock::new(enrollkit::Clock::now(
                &enrollkit::SystemClock,
            )))
        });
        if let Some(c) = &clock {
            options = options.clock(c.clone());
        }
        let store = py
            .detach(|| match path {
                Some(p) => options.open(p),
                None => options.open_in_memory(),
            })
            .map_err(|e| raise(py, &e))?;
        Ok(Store {
            inner: RwLock::new(Some(Arc::new(store))),
            clock,
        })
    }

    fn close(&self) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn closed(&self) -> bool {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    fn path(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.run(py, |s| {
            Ok(s.path().map(|p| p.to_string_lossy().into_owned()))
        })
    }

    fn schema_version(&self, py: Python<'_>) -> PyResult<i64> {
        self.run(py, |s| s.schema_version())
    }

    fn now<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let now = self.run(py, |s| Ok(s.now()))?;
        convert::datetime(py, now)
    }

    fn set_time(&self, py: Python<'_>, at: &Bound<'_, PyAny>) -> PyResult<()> {
        let at = check(py, convert::timestamp(at, "at"))?;
        self.manual_clock(py)?.set(at);
        Ok(())
    }

    fn advance_time(&self, py: Python<'_>, millis: i64) -> PyResult<()> {
        self.manual_clock(py)?.advance_millis(millis);
        Ok(())
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let counts = self.run(py, |s| s.stats())?;
        json_to_py(py, &serde_json::json!(counts))
    }

    fn check(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.run(py, |s| s.check_invariants())
    }

    // -- users -------------------------------------------------------------------------------

    fn upsert_user(&self, py: Python<'_>, user: &Bound<'_, PyAny>) -> PyResult<User> {
        let user = check(py, requests::user(user))?;
        Ok(User {
            inner: self.run(py, |s| s.upsert_user(&user))?,
        })
    }

    fn upsert_users(&self, py: Python<'_>, users: &Bound<'_, PyAny>) -> PyResult<u64> {
        let users = check(py, requests::users(users))?;
        self.run(py, |s| s.upsert_users(&users))
    }

    fn find_user(&self, py: Python<'_>, by: &str, value: String) -> PyResult<User> {
        let r = match by {
            "id" => UserRef::Id(value),
            "email" => UserRef::Email(value),
            "external_id" => UserRef::ExternalId(value),
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "unknown lookup {other:?}"
                )))
            }
        };
        Ok(User {
            inner: self.run(py, |s| s.find_user(&r))?,
        })
    }

    #[pyo3(signature = (after, limit))]
    fn list_users(
        &self,
        py: Python<'_>,
        after: Option<&str>,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<User>> {
        let limit = check(py, convert::count(limit, "limit"))?;
        let users = self.run(py, |s| s.list_users(after, limit))?;
        Ok(users.into_iter().map(|inner| User { inner }).collect())
    }

    fn erase_user(&self, py: Python<'_>, actor: &str, user_id: &str) -> PyResult<Erasure> {
        let a = self::actor(py, actor)?;
        Ok(Erasure {
            inner: self.run(py, |s| s.erase_user(&a, user_id))?,
        })
    }

    // -- programs ----------------------------------------------------------------------------

    fn create_program(&self, py: Python<'_>, program: &Bound<'_, PyAny>) -> PyResult<Program> {
        let spec = check(py, requests::program(program))?;
        Ok(self.run(py, |s| s.create_program(&spec))?.into())
    }

    fn update_program(&self, py: Python<'_>, program: &Bound<'_, PyAny>) -> PyResult<Program> {
        let spec = check(py, requests::program(program))?;
        Ok(self.run(py, |s| s.update_program(&spec))?.into())
    }

    fn get_program(&self, py: Python<'_>, id: &str) -> PyResult<Program> {
        Ok(self.run(py, |s| s.get_program(id))?.into())
    }

    #[pyo3(signature = (kind, state, after, limit))]
    fn list_programs(
        &self,
        py: Python<'_>,
        kind: Option<&str>,
        state: Option<&str>,
        after: Option<&str>,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Program>> {
        let kind = parsed(py, kind.map(Kind::parse).transpose())?;
        let state = parsed(py, state.map(ProgramState::parse).transpose())?;
        let limit = check(py, convert::count(limit, "limit"))?;
        let programs = self.run(py, |s| s.list_programs(kind, state, after, limit))?;
        Ok(programs.into_iter().map(Program::from).collect())
    }

    // -- enrolling ---------------------------------------------------------------------------

    #[pyo3(signature = (actor, user_id, program_id, email, external_id, id, trigger,
                        added_by_user_id, added_by_program_id, partnership_id, timezone,
                        start_at, allow_reenroll, batch, override_prerequisites))]
    #[allow(clippy::too_many_arguments)]
    fn enroll<'py>(
        &self,
        py: Python<'py>,
        actor: &str,
        user_id: Bound<'py, PyAny>,
        program_id: Bound<'py, PyAny>,
        email: Bound<'py, PyAny>,
        external_id: Bound<'py, PyAny>,
        id: Bound<'py, PyAny>,
        trigger: Bound<'py, PyAny>,
        added_by_user_id: Bound<'py, PyAny>,
        added_by_program_id: Bound<'py, PyAny>,
        partnership_id: Bound<'py, PyAny>,
        timezone: Bound<'py, PyAny>,
        start_at: Bound<'py, PyAny>,
        allow_reenroll: Bound<'py, PyAny>,
        batch: Bound<'py, PyAny>,
        override_prerequisites: Bound<'py, PyAny>,
    ) -> PyResult<Enrollment> {
        let args = EnrollArgs {
            user_id: Some(user_id),
            program_id: Some(program_id),
            email: Some(email),
            external_id: Some(external_id),
            id: Some(id),
            trigger: Some(trigger),
            added_by_user_id: Some(added_by_user_id),
            added_by_program_id: Some(added_by_program_id),
            partnership_id: Some(partnership_id),
            timezone: Some(timezone),
            start_at: Some(start_at),
            allow_reenroll: Some(allow_reenroll),
            batch: Some(batch),
            override_prerequisites: Some(override_prerequisites),
        };
        let a = self::actor(py, actor)?;
        let req = check(py, args.request())?;
        self.enrollment(py, |s| s.enroll(&a, &req))
    }

    fn enroll_many(
        &self,
        py: Python<'_>,
        actor: &str,
        requests: &Bound<'_, PyAny>,
        mode: &str,
    ) -> PyResult<Vec<EnrollOutcome>> {
        let a = self::actor(py, actor)?;
        let mode = parsed(py, BatchMode::parse(mode))?;
        let rows = check(py, requests::enroll_rows(requests))?;
        let outcomes = self.run(py, |s| s.enroll_many(&a, &rows, mode))?;
        outcomes
            .into_iter()
            .map(|o| EnrollOutcome::of(py, o, None))
            .collect()
    }

    // -- one enrollment ----------------------------------------------------------------------

    fn get_enrollment(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Enrollment> {
        let a = self::actor(py, actor)?;
        self.enrollment(py, |s| s.get_enrollment(&a, id))
    }

    fn set_progress(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        percent: &Bound<'_, PyAny>,
    ) -> PyResult<Enrollment> {
        let percent = check(py, convert::number(percent, "percent"))?;
        let a = self::actor(py, actor)?;
        self.enrollment(py, |s| s.set_progress(&a, id, percent))
    }

    fn add_progress(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        delta: &Bound<'_, PyAny>,
    ) -> PyResult<Enrollment> {
        let delta = check(py, convert::number(delta, "delta"))?;
        let a = self::actor(py, actor)?;
        self.enrollment(py, |s| s.add_progress(&a, id, delta))
    }

    fn transition(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        command: &str,
    ) -> PyResult<Enrollment> {
        let a = self::actor(py, actor)?;
        let command = parsed(py, Command::from_action(command))?;
        self.enrollment(py, |s| s.transition(&a, id, &command))
    }

    #[pyo3(signature = (actor, id, reason, message))]
    fn fail(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        reason: &str,
        message: Option<&str>,
    ) -> PyResult<Enrollment> {
        let a = self::actor(py, actor)?;
        let reason = parsed(py, FailureReason::parse(reason))?;
        self.enrollment(py, |s| s.fail(&a, id, reason, message))
    }

    fn start_step(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        step_id: &str,
    ) -> PyResult<Enrollment> {
        self.step(py, actor, id, step_id, StepChange::Start)
    }

    #[pyo3(signature = (actor, id, step_id, destination_type))]
    fn deliver_step(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        step_id: &str,
        destination_type: Option<String>,
    ) -> PyResult<Enrollment> {
        self.step(
            py,
            actor,
            id,
            step_id,
            StepChange::Deliver { destination_type },
        )
    }

    #[pyo3(signature = (actor, id, step_id, result))]
    fn complete_step(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        step_id: &str,
        result: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Enrollment> {
        let result = match result {
            Some(r) if !r.is_none() => Some(check(
                py,
                convert::py_to_json(r, "result", enrollkit::validate::MAX_RESULT_BYTES),
            )?),
            _ => None,
        };
        self.step(py, actor, id, step_id, StepChange::Complete { result })
    }

    #[pyo3(signature = (actor, id, step_id, reason, message))]
    fn fail_step(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        step_id: &str,
        reason: String,
        message: Option<String>,
    ) -> PyResult<Enrollment> {
        self.step(py, actor, id, step_id, StepChange::Fail { reason, message })
    }

    fn skip_step(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        step_id: &str,
    ) -> PyResult<Enrollment> {
        self.step(py, actor, id, step_id, StepChange::Skip)
    }

    fn submit_attempt<'py>(
        &self,
        py: Python<'py>,
        actor: &str,
        id: &str,
        score: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let score = check(py, convert::number(score, "score"))?;
        let a = self::actor(py, actor)?;
        let (enrollment, attempt) = self.run(py, |s| s.submit_attempt(&a, id, score))?;
        PyTuple::new(
            py,
            [
                Bound::new(py, Enrollment { inner: enrollment })?.into_any(),
                Bound::new(py, Attempt { inner: attempt })?.into_any(),
            ],
        )
    }

    #[pyo3(signature = (actor, id, mentor_id))]
    fn assign_mentor(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        mentor_id: Option<&str>,
    ) -> PyResult<Enrollment> {
        let a = self::actor(py, actor)?;
        self.enrollment(py, |s| s.assign_mentor(&a, id, mentor_id))
    }

    #[pyo3(signature = (actor, id, at))]
    fn set_next_step_at(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Enrollment> {
        let at = check(py, convert::opt_timestamp(at, "at"))?;
        let a = self::actor(py, actor)?;
        self.enrollment(py, |s| s.set_next_step_at(&a, id, at))
    }

    fn start_due(
        &self,
        py: Python<'_>,
        actor: &str,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<String>> {
        let limit = check(py, convert::count(limit, "limit"))?;
        let a = self::actor(py, actor)?;
        self.run(py, |s| s.start_due(&a, limit))
    }

    fn expire_due(
        &self,
        py: Python<'_>,
        actor: &str,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<String>> {
        let limit = check(py, convert::count(limit, "limit"))?;
        let a = self::actor(py, actor)?;
        self.run(py, |s| s.expire_due(&a, limit))
    }

    fn waitlist(
        &self,
        py: Python<'_>,
        actor: &str,
        program_id: &str,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Enrollment>> {
        let limit = check(py, convert::count(limit, "limit"))?;
        let a = self::actor(py, actor)?;
        let rows = self.run(py, |s| s.waitlist(&a, program_id, limit))?;
        Ok(rows.into_iter().map(|inner| Enrollment { inner }).collect())
    }

    fn waitlist_position(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Option<u32>> {
        let a = self::actor(py, actor)?;
        self.run(py, |s| s.waitlist_position(&a, id))
    }

    // -- the due-work queue and work anniversaries -------------------------------------------

    /// Claims due work for `worker`: of `program_id`, or of every program with `None`.
    #[pyo3(signature = (worker, program_id, limit, lease_ms))]
    fn claim_due(
        &self,
        py: Python<'_>,
        worker: &str,
        program_id: Option<&str>,
        limit: &Bound<'_, PyAny>,
        lease_ms: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Claim>> {
        let limit = check(py, convert::count(limit, "limit"))?;
        let lease = check(py, lease(lease_ms))?;
        let claims = self.run(py, |s| s.claim_due(worker, program_id, limit, lease))?;
        Ok(claims.into_iter().map(Claim::of).collect())
    }

    /// The scheduled work of `program_id` (or of every program) due at or before `until` (or
    /// at any time), soonest first, claimed or not.
    #[pyo3(signature = (actor, program_id, until, limit))]
    fn due(
        &self,
        py: Python<'_>,
        actor: &str,
        program_id: Option<&str>,
        until: Option<&Bound<'_, PyAny>>,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Claim>> {
        let until = check(py, convert::opt_timestamp(until, "until"))?;
        let limit = check(py, convert::count(limit, "limit"))?;
        let a = self::actor(py, actor)?;
        let due = self.run(py, |s| s.due(&a, program_id, until, limit))?;
        Ok(due.into_iter().map(Claim::of).collect())
    }

    /// Extends `worker`'s claim on `id` to `lease_ms` from now.
    fn renew_claim(
        &self,
        py: Python<'_>,
        worker: &str,
        id: &str,
        lease_ms: &Bound<'_, PyAny>,
    ) -> PyResult<Enrollment> {
        let lease = check(py, lease(lease_ms))?;
        self.enrollment(py, |s| s.renew_claim(worker, id, lease))
    }

    /// Ends `worker`'s claim with `change` (`deliver`, `complete`, `fail`, `skip`; `start`,
    /// which the core refuses) and the options of that change.
    #[pyo3(signature = (worker, id, change, destination_type, result, reason, message))]
    #[allow(clippy::too_many_arguments)]
    fn complete_claim(
        &self,
        py: Python<'_>,
        worker: &str,
        id: &str,
        change: &str,
        destination_type: Option<String>,
        result: Option<&Bound<'_, PyAny>>,
        reason: Option<String>,
        message: Option<String>,
    ) -> PyResult<Enrollment> {
        let change = step_change(py, change, destination_type, result, reason, message)?;
        self.enrollment(py, |s| s.complete_claim(worker, id, &change))
    }

    /// Ends several of `worker`'s claims with the same `change`, in one transaction: one item
    /// per id, the enrollment or the exception that refused it (nothing changed for that id).
    #[pyo3(signature = (worker, ids, change, destination_type, result, reason, message))]
    #[allow(clippy::too_many_arguments)]
    fn complete_claims(
        &self,
        py: Python<'_>,
        worker: &str,
        ids: Vec<String>,
        change: &str,
        destination_type: Option<String>,
        result: Option<&Bound<'_, PyAny>>,
        reason: Option<String>,
        message: Option<String>,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let change = step_change(py, change, destination_type, result, reason, message)?;
        let items: Vec<(String, StepChange)> =
            ids.into_iter().map(|id| (id, change.clone())).collect();
        let results = self.run(py, |s| s.complete_claims(worker, &items))?;
        results
            .into_iter()
            .map(|r| match r {
                Ok(inner) => Ok(Py::new(py, Enrollment { inner })?.into_any()),
                Err(e) => Ok(convert::exception(py, &e)?.unbind()),
            })
            .collect()
    }

    fn release_claim(&self, py: Python<'_>, worker: &str, id: &str) -> PyResult<Enrollment> {
        self.enrollment(py, |s| s.release_claim(worker, id))
    }

    fn enroll_anniversaries(
        &self,
        py: Python<'_>,
        actor: &str,
        program_id: &str,
        on_date: &str,
    ) -> PyResult<Vec<EnrollOutcome>> {
        let a = self::actor(py, actor)?;
        let outcomes = self.run(py, |s| s.enroll_anniversaries(&a, program_id, on_date))?;
        outcomes
            .into_iter()
            .map(|o| EnrollOutcome::of(py, o.outcome, Some(o.user_id)))
            .collect()
    }

    fn delete_enrollment(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<()> {
        let a = self::actor(py, actor)?;
        self.run(py, |s| s.delete_enrollment(&a, id))
    }

    // -- reading -----------------------------------------------------------------------------

    fn step_progress(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Vec<StepProgress>> {
        let a = self::actor(py, actor)?;
        let steps = self.run(py, |s| s.step_progress(&a, id))?;
        Ok(steps
            .into_iter()
            .map(|inner| StepProgress { inner })
            .collect())
    }

    fn attempts(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Vec<Attempt>> {
        let a = self::actor(py, actor)?;
        let attempts = self.run(py, |s| s.attempts(&a, id))?;
        Ok(attempts
            .into_iter()
            .map(|inner| Attempt { inner })
            .collect())
    }

    fn history(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Vec<Event>> {
        let a = self::actor(py, actor)?;
        let events = self.run(py, |s| s.history(&a, id))?;
        Ok(events.into_iter().map(|inner| Event { inner }).collect())
    }

    fn status_at(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        at: &Bound<'_, PyAny>,
    ) -> PyResult<Option<String>> {
        let at = check(py, convert::timestamp(at, "at"))?;
        let a = self::actor(py, actor)?;
        self.run(py, |s| s.status_at(&a, id, at))
    }

    fn events_after(
        &self,
        py: Python<'_>,
        actor: &str,
        after: &Bound<'_, PyAny>,
        limit: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Event>> {
        let after = check(py, convert::integer(after, "after", i64::MIN..=i64::MAX))?;
        let limit = check(py, convert::count(limit, "limit"))?;
        let a = self::actor(py, actor)?;
        let events = self.run(py, |s| s.events_after(&a, after, limit))?;
        Ok(events.into_iter().map(|inner| Event { inner }).collect())
    }

    fn lineage(
        &self,
        py: Python<'_>,
        actor: &str,
        user_id: &str,
        program_id: &str,
    ) -> PyResult<Vec<Enrollment>> {
        let a = self::actor(py, actor)?;
        let enrollments = self.run(py, |s| s.lineage(&a, user_id, program_id))?;
        Ok(enrollments
            .into_iter()
            .map(|inner| Enrollment { inner })
            .collect())
    }

    #[pyo3(signature = (actor, page, per_page, user_id, program_id, status, trigger,
                        enrolled_from, enrolled_to, completed_from, completed_to, order,
                        starting_after))]
    #[allow(clippy::too_many_arguments)]
    fn list_page(
        &self,
        py: Python<'_>,
        actor: &str,
        page: &Bound<'_, PyAny>,
        per_page: &Bound<'_, PyAny>,
        user_id: Option<String>,
        program_id: Option<String>,
        status: Option<String>,
        trigger: Option<&Bound<'_, PyAny>>,
        enrolled_from: Option<&Bound<'_, PyAny>>,
        enrolled_to: Option<&Bound<'_, PyAny>>,
        completed_from: Option<&Bound<'_, PyAny>>,
        completed_to: Option<&Bound<'_, PyAny>>,
        order: &Bound<'_, PyAny>,
        starting_after: Option<String>,
    ) -> PyResult<Page> {
        let query = ListArgs {
            page,
            per_page,
            user_id,
            program_id,
            status,
            trigger,
            enrolled_from,
            enrolled_to,
            completed_from,
            completed_to,
            order,
            starting_after,
        };
        let query = check(py, query.query())?;
        let a = self::actor(py, actor)?;
        let page = self.run(py, |s| s.list_enrollments(&a, &query))?;
        Page::of(py, page)
    }

    fn report(&self, py: Python<'_>, actor: &str, program_id: &str) -> PyResult<ProgramReport> {
        let a = self::actor(py, actor)?;
        Ok(ProgramReport {
            inner: self.run(py, |s| s.report(&a, program_id))?,
        })
    }

    fn render<'py>(
        &self,
        py: Python<'py>,
        actor: &str,
        id: &str,
        view: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = self::actor(py, actor)?;
        let view = parsed(py, View::parse(view))?;
        let value = self.run(py, |s| s.render(&a, id, view))?;
        json_to_py(py, &value)
    }

    // -- files -------------------------------------------------------------------------------

    fn export<'py>(&self, py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyAny>> {
        let counts = self.run(py, |s| s.export_jsonl(&mut create_file(path)?, None))?;
        json_to_py(py, &serde_json::json!(counts))
    }

    fn import_file<'py>(
        &self,
        py: Python<'py>,
        path: &str,
        mode: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mode = parsed(py, BatchMode::parse(mode))?;
        let report = self.run(py, |s| s.import_jsonl(&mut open_file(path)?, mode, None))?;
        json_to_py(py, &serde_json::json!(report))
    }

    fn enroll_csv<'py>(
        &self,
        py: Python<'py>,
        actor: &str,
        path: &str,
        mode: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = self::actor(py, actor)?;
        let mode = parsed(py, BatchMode::parse(mode))?;
        let report = self.run(py, |s| s.enroll_csv(&a, &mut open_file(path)?, mode, None))?;
        json_to_py(py, &serde_json::json!(report))
    }

    #[pyo3(signature = (path, program_id))]
    fn export_csv(&self, py: Python<'_>, path: &str, program_id: Option<&str>) -> PyResult<u64> {
        self.run(py, |s| {
            s.export_enrollments_csv(&mut create_file(path)?, program_id)
        })
    }

    fn backup(&self, py: Python<'_>, dest: &str) -> PyResult<()> {
        self.run(py, |s| s.backup(std::path::Path::new(dest)))
    }

    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.compact())
    }
}

/// A lease given in whole milliseconds (`enrollkit.Store` converts a `timedelta` or seconds);
/// the core checks its range.
fn lease(lease_ms: &Bound<'_, PyAny>) -> Result<Duration, Refusal> {
    let ms = convert::integer(lease_ms, "lease", 0..=i64::MAX)?;
    Ok(Duration::from_millis(ms as u64))
}

/// The step change named `change` with its options (`deliver`: `destination_type`;
/// `complete`: `result`; `fail`: `reason`, `message`), for the claim calls.
fn step_change(
    py: Python<'_>,
    change: &str,
    destination_type: Option<String>,
    result: Option<&Bound<'_, PyAny>>,
    reason: Option<String>,
    message: Option<String>,
) -> PyResult<StepChange> {
    Ok(match change {
        "start" => StepChange::Start,
        "deliver" => StepChange::Deliver { destination_type },
        "complete" => StepChange::Complete {
            result: match result {
                Some(r) if !r.is_none() => Some(check(
                    py,
                    convert::py_to_json(r, "result", enrollkit::validate::MAX_RESULT_BYTES),
                )?),
                _ => None,
            },
        },
        "fail" => StepChange::Fail {
            reason: reason.unwrap_or_default(),
            message,
        },
        "skip" => StepChange::Skip,
        other => {
            return Err(raise(
                py,
                &Error::Validation {
                    field: "change",
                    message: format!(
                        "{other:?} is not a step change (deliver, complete, fail, skip)"
                    ),
                },
            ))
        }
    })
}
