//! `enrollkit._enrollkit`: the native half of the Python package.
//!
//! It only translates: Python strings and numbers (and JSON text for records) in, Python
//! dicts and lists out (`topy`: what `json.loads` would build from the JSON, with aware
//! `datetime`s for the records' times), core errors to the exception classes of
//! `enrollkit.exceptions`. The pure-Python package wraps it in typed objects. Every database
//! call runs with the GIL released, so Python threads sharing one `Store` run concurrently.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use enrollkit::{
    BatchMode, Command, EnrollRequest, Error, ErrorCode, Failure, FailureReason, Kind, ListQuery,
    ManualClock, OpenOptions, ProgramSpec, ProgramState, StepChange, Timestamp, User, UserRef,
    View,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::Serialize;

mod topy;

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

/// The exception class of `enrollkit.exceptions` for a core error code. Exhaustive: a new core
/// code does not compile until it has its class (and `tests/python` checks that each class
/// exists with that code).
fn exception_class(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "NotFoundError",
        ErrorCode::AlreadyEnrolled => "AlreadyEnrolledError",
        ErrorCode::InvalidTransition => "InvalidTransitionError",
        ErrorCode::PermissionDenied => "PermissionDeniedError",
        ErrorCode::Validation => "ValidationError",
        ErrorCode::Conflict => "ConflictError",
        ErrorCode::ProgramNotActive => "ProgramNotActiveError",
        ErrorCode::AttemptLimitReached => "AttemptLimitReachedError",
        ErrorCode::Busy => "BusyError",
        ErrorCode::SchemaTooNew => "SchemaTooNewError",
        ErrorCode::Corrupt => "CorruptError",
        ErrorCode::Storage => "StorageError",
    }
}

/// Raises the `enrollkit.exceptions` class for `e`, constructed as `cls(message, details_json)`.
fn raise(py: Python<'_>, e: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("enrollkit.exceptions")?;
        let cls = module.getattr(exception_class(e.code()))?;
        let instance = cls.call1((e.to_string(), e.details().to_string()))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|err| err)
}

/// The native store. Thread-safe; `close()` releases the database, after which every call
/// raises `StorageError`.
#[pyclass(frozen, module = "enrollkit._enrollkit")]
struct Store {
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

    /// [`Store::run`], then the result as Python objects (what `json.loads` would make of its
    /// JSON form).
    fn call<T: Serialize + Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&enrollkit::Store) -> Result<T, Error> + Send,
    ) -> PyResult<Py<PyAny>> {
        let value = self.run(py, f)?;
        Ok(topy::to_py(py, &value)?.unbind())
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
}

#[pymethods]
impl Store {
    #[new]
    #[pyo3(signature = (path=None, durability_full=false, busy_timeout_ms=5000, create=true, manual_clock=false, read_only=false))]
    fn new(
        py: Python<'_>,
        path: Option<String>,
        durability_full: bool,
        busy_timeout_ms: u64,
        create: bool,
        manual_clock: bool,
        read_only: bool,
    ) -> PyResult<Self> {
        let mut options = OpenOptions::new()
            .create(create)
            .read_only(read_only)
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

    fn now(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |s| Ok(s.now().to_string()))
    }

    fn set_time(&self, py: Python<'_>, rfc3339: &str) -> PyResult<()> {
        let at = Timestamp::parse(rfc3339).map_err(|e| raise(py, &e))?;
        self.manual_clock(py)?.set(at);
        Ok(())
    }

    fn advance_time(&self, py: Python<'_>, millis: i64) -> PyResult<()> {
        self.manual_clock(py)?.advance_millis(millis);
        Ok(())
    }

    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.stats())
    }

    fn check(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.check_invariants())
    }

    fn upsert_user(&self, py: Python<'_>, user_json: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.upsert_user(&User::from_json(user_json)?))
    }

    fn upsert_users(&self, py: Python<'_>, users_json: &str) -> PyResult<u64> {
        self.run(py, |s| s.upsert_users(&User::many_from_json(users_json)?))
    }

    fn find_user(&self, py: Python<'_>, by: &str, value: String) -> PyResult<Py<PyAny>> {
        let r = match by {
            "id" => UserRef::Id(value),
            "email" => UserRef::Email(value),
            "external_id" => UserRef::ExternalId(value),
            other => return Err(PyValueError::new_err(format!("unknown lookup {other:?}"))),
        };
        self.call(py, |s| s.find_user(&r))
    }

    #[pyo3(signature = (after, limit))]
    fn list_users(&self, py: Python<'_>, after: Option<&str>, limit: u32) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.list_users(after, limit))
    }

    fn create_program(&self, py: Python<'_>, spec_json: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.create_program(&ProgramSpec::from_json(spec_json)?)
        })
    }

    fn update_program(&self, py: Python<'_>, spec_json: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.update_program(&ProgramSpec::from_json(spec_json)?)
        })
    }

    fn get_program(&self, py: Python<'_>, id: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.get_program(id))
    }

    #[pyo3(signature = (kind, state, after, limit))]
    fn list_programs(
        &self,
        py: Python<'_>,
        kind: Option<&str>,
        state: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let kind = kind.map(Kind::parse).transpose()?;
            let state = state.map(ProgramState::parse).transpose()?;
            s.list_programs(kind, state, after, limit)
        })
    }

    fn enroll(&self, py: Python<'_>, actor: &str, request_json: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let a = enrollkit::Actor::parse(actor)?;
            s.enroll(&a, &EnrollRequest::from_json(request_json)?)
        })
    }

    fn enroll_many(
        &self,
        py: Python<'_>,
        actor: &str,
        requests_json: &str,
        mode: &str,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let a = enrollkit::Actor::parse(actor)?;
            let rows = EnrollRequest::many_from_json(requests_json)?;
            s.enroll_many(&a, &rows, BatchMode::parse(mode)?)
        })
    }

    fn get_enrollment(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.get_enrollment(&enrollkit::Actor::parse(actor)?, id)
        })
    }

    fn set_progress(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        percent: f64,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.set_progress(&enrollkit::Actor::parse(actor)?, id, percent)
        })
    }

    fn add_progress(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        delta: f64,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.add_progress(&enrollkit::Actor::parse(actor)?, id, delta)
        })
    }

    fn transition(&self, py: Python<'_>, actor: &str, id: &str, cmd: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let a = enrollkit::Actor::parse(actor)?;
            s.transition(&a, id, &Command::from_action(cmd)?)
        })
    }

    #[pyo3(signature = (actor, id, reason, message))]
    fn fail(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        reason: &str,
        message: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let a = enrollkit::Actor::parse(actor)?;
            s.fail(&a, id, FailureReason::parse(reason)?, message)
        })
    }

    /// `change` is start, deliver, complete, fail or skip; `detail` is the destination type
    /// (deliver), the result JSON (complete) or the reason code (fail); `message` the failure
    /// message.
    #[pyo3(signature = (actor, id, step_id, change, detail, message))]
    #[allow(clippy::too_many_arguments)]
    fn update_step(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        step_id: &str,
        change: &str,
        detail: Option<&str>,
        message: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let a = enrollkit::Actor::parse(actor)?;
            let change = match change {
                "start" => StepChange::Start,
                "deliver" => StepChange::Deliver {
                    destination_type: detail.map(Into::into),
                },
                "complete" => StepChange::Complete {
                    result: detail.map(enrollkit::parse_result).transpose()?,
                },
                "fail" => StepChange::Fail {
                    reason: detail.unwrap_or_default().to_owned(),
                    message: message.map(Into::into),
                },
                "skip" => StepChange::Skip,
                other => {
                    return Err(Error::Validation {
                        field: "change",
                        message: format!("{other:?} is not a step change"),
                    })
                }
            };
            s.update_step(&a, id, step_id, &change)
        })
    }

    fn submit_attempt(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        score: f64,
    ) -> PyResult<Py<PyAny>> {
        /// `{"enrollment": ..., "attempt": ...}`.
        #[derive(Serialize)]
        struct Submitted {
            enrollment: enrollkit::Enrollment,
            attempt: enrollkit::Attempt,
        }
        self.call(py, |s| {
            let (enrollment, attempt) =
                s.submit_attempt(&enrollkit::Actor::parse(actor)?, id, score)?;
            Ok(Submitted {
                enrollment,
                attempt,
            })
        })
    }

    #[pyo3(signature = (actor, id, mentor_id))]
    fn assign_mentor(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        mentor_id: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.assign_mentor(&enrollkit::Actor::parse(actor)?, id, mentor_id)
        })
    }

    #[pyo3(signature = (actor, id, at))]
    fn set_next_step_at(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        at: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let at = at.map(Timestamp::parse).transpose()?;
            s.set_next_step_at(&enrollkit::Actor::parse(actor)?, id, at)
        })
    }

    fn start_due(&self, py: Python<'_>, actor: &str, limit: u32) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.start_due(&enrollkit::Actor::parse(actor)?, limit))
    }

    fn delete_enrollment(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<()> {
        self.run(py, |s| {
            s.delete_enrollment(&enrollkit::Actor::parse(actor)?, id)
        })
    }

    fn step_progress(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.step_progress(&enrollkit::Actor::parse(actor)?, id)
        })
    }

    fn attempts(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.attempts(&enrollkit::Actor::parse(actor)?, id))
    }

    fn history(&self, py: Python<'_>, actor: &str, id: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.history(&enrollkit::Actor::parse(actor)?, id))
    }

    fn status_at(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        at: &str,
    ) -> PyResult<Option<String>> {
        self.run(py, |s| {
            let at = Timestamp::parse(at)?;
            s.status_at(&enrollkit::Actor::parse(actor)?, id, at)
        })
    }

    fn events_after(
        &self,
        py: Python<'_>,
        actor: &str,
        after: i64,
        limit: u32,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.events_after(&enrollkit::Actor::parse(actor)?, after, limit)
        })
    }

    fn lineage(
        &self,
        py: Python<'_>,
        actor: &str,
        user_id: &str,
        program_id: &str,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.lineage(&enrollkit::Actor::parse(actor)?, user_id, program_id)
        })
    }

    fn list_enrollments(
        &self,
        py: Python<'_>,
        actor: &str,
        query_json: &str,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.list_enrollments(
                &enrollkit::Actor::parse(actor)?,
                &ListQuery::from_json(query_json)?,
            )
        })
    }

    fn export(&self, py: Python<'_>, path: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| s.export_jsonl(&mut create_file(path)?, None))
    }

    fn import_file(&self, py: Python<'_>, path: &str, mode: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let mode = BatchMode::parse(mode)?;
            s.import_jsonl(&mut open_file(path)?, mode, None)
        })
    }

    fn enroll_csv(
        &self,
        py: Python<'_>,
        actor: &str,
        path: &str,
        mode: &str,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            let actor = enrollkit::Actor::parse(actor)?;
            let mode = BatchMode::parse(mode)?;
            s.enroll_csv(&actor, &mut open_file(path)?, mode, None)
        })
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

    fn report(&self, py: Python<'_>, actor: &str, program_id: &str) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.report(&enrollkit::Actor::parse(actor)?, program_id)
        })
    }

    fn render(
        &self,
        py: Python<'_>,
        actor: &str,
        id: &str,
        view_name: &str,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |s| {
            s.render(
                &enrollkit::Actor::parse(actor)?,
                id,
                View::parse(view_name)?,
            )
        })
    }
}

/// `(code, exception class name)` of every core error code, for the Python layer's checks.
#[pyfunction]
fn error_codes() -> Vec<(&'static str, &'static str)> {
    ErrorCode::ALL
        .into_iter()
        .map(|c| (c.as_str(), exception_class(c)))
        .collect()
}

/// `(label, object, JSON text)` cases of the conversion to Python objects, for the tests
/// (`tests/python/test_api.py`): each object must equal `json.loads` of its text.
#[pyfunction]
fn _topy_cases(py: Python<'_>) -> PyResult<Vec<(String, Bound<'_, PyAny>, String)>> {
    topy::cases(py)
}

/// The native module.
#[pymodule]
fn _enrollkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(_topy_cases, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
