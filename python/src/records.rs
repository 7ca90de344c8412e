//! The records `enrollkit` returns, as native classes: each holds the core's struct and converts
//! a field to Python only when it is read (times to aware UTC `datetime`s, enums to the members
//! of the `str` enums of `enrollkit._types`). A page of enrollments costs one small object per
//! row instead of a dict of 37 converted values.
//!
//! Every record is immutable and has `==`, `repr()`, `to_dict()` (its canonical JSON form, the
//! core's own serialization), `from_dict()` (the reverse: unknown keys are skipped, times may be
//! strings or datetimes) and pickling through them. All but `EnrollOutcome` and `Page` hash.
//! `Claim` (the due-work queue's) holds an `Enrollment` and the step to run; `Erasure` reports
//! what `Store.erase_user` did.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use enrollkit::{Anchor, DelayUnit, Error, Kind, LocalTime, Status, Timestamp};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use serde_json::Value;

use crate::convert::{self, json_to_py, member, Refusal};

/// An instant that becomes an aware UTC `datetime` when it reaches Python.
pub(crate) struct Time(pub(crate) Timestamp);

impl<'py> IntoPyObject<'py> for Time {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::datetime(py, self.0)
    }
}

/// A core enum value that becomes its Python `str` enum member when it reaches Python.
pub(crate) struct Member<E>(pub(crate) E);

impl<'py, E: convert::PyEnum> IntoPyObject<'py> for Member<E> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        member(py, self.0)
    }
}

/// Raises a refusal (constructors and `from_dict`).
fn check<T>(py: Python<'_>, r: Result<T, Refusal>) -> PyResult<T> {
    r.map_err(|e| e.into_pyerr(py))
}

/// A required time argument.
fn time_arg(value: &Bound<'_, PyAny>, field: &'static str) -> PyResult<Timestamp> {
    check(value.py(), convert::timestamp(value, field))
}

/// An optional time argument.
fn opt_time_arg(
    value: Option<&Bound<'_, PyAny>>,
    field: &'static str,
) -> PyResult<Option<Timestamp>> {
    match value {
        Some(v) => check(v.py(), convert::opt_timestamp(Some(v), field)),
        None => Ok(None),
    }
}

/// A required enum argument (a member or its value).
fn enum_arg<E: convert::PyEnum>(value: &Bound<'_, PyAny>, field: &str) -> PyResult<E> {
    check(value.py(), convert::enum_value(value, field))
}

/// An `int` argument within `range`.
fn int_arg(
    value: &Bound<'_, PyAny>,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
) -> PyResult<i64> {
    check(value.py(), convert::integer(value, field, range))
}

/// A count argument (0 to 2**32 - 1).
fn u32_arg(value: &Bound<'_, PyAny>, field: &'static str) -> PyResult<u32> {
    int_arg(value, field, 0..=i64::from(u32::MAX)).map(|n| n as u32)
}

/// A total (0 to 2**63 - 1).
fn u64_arg(value: &Bound<'_, PyAny>, field: &'static str) -> PyResult<u64> {
    int_arg(value, field, 0..=i64::MAX).map(|n| n as u64)
}

/// A number argument.
fn f64_arg(value: &Bound<'_, PyAny>, field: &'static str) -> PyResult<f64> {
    check(value.py(), convert::number(value, field))
}

/// An optional number argument.
fn opt_f64_arg(value: Option<&Bound<'_, PyAny>>, field: &'static str) -> PyResult<Option<f64>> {
    match value {
        Some(v) if !v.is_none() => f64_arg(v, field).map(Some),
        _ => Ok(None),
    }
}

/// A status name in `kind`'s vocabulary.
fn status_arg(py: Python<'_>, kind: Kind, name: &str) -> PyResult<Status> {
    Status::parse(kind, name).map_err(|e| convert::raise(py, &e))
}

/// `Name(field=repr, ...)` of every attribute in `attrs`, as a dataclass shows itself.
fn repr(record: &Bound<'_, PyAny>, name: &str, attrs: &[&str]) -> PyResult<String> {
    let mut out = format!("{name}(");
    for (i, attr) in attrs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(attr);
        out.push('=');
        out.push_str(&record.getattr(*attr)?.repr()?.to_cow()?);
    }
    out.push(')');
    Ok(out)
}

/// The keyword arguments of a record's constructor from `data` (a mapping): the keys in
/// `fields`, each through `nested` (which builds nested records from their dicts). Other keys
/// are skipped: they are fields of a newer enrollkit.
fn from_dict<'py>(
    cls: &Bound<'py, PyType>,
    data: &Bound<'py, PyAny>,
    fields: &[&str],
    nested: fn(&str, Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let dict = match data.cast::<PyDict>() {
        Ok(d) => d.clone(),
        Err(_) => {
            let d = PyDict::new(py);
            d.update(data.cast::<pyo3::types::PyMapping>()?)?;
            d
        }
    };
    let kwargs = PyDict::new(py);
    for field in fields {
        if let Some(value) = dict.get_item(*field)? {
            kwargs.set_item(*field, nested(field, value)?)?;
        }
    }
    cls.call((), Some(&kwargs))
}

/// No nested records.
fn flat<'py>(_: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(value)
}

/// A list of `T` from a list of records or their dicts.
fn records_from_dicts<'py, T: pyo3::PyTypeInfo>(
    value: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    let cls = py.get_type::<T>();
    let mut items = Vec::new();
    for item in value.try_iter()? {
        items.push(record_from_dict(&cls, item?)?);
    }
    Ok(pyo3::types::PyList::new(py, items)?.into_any())
}

/// A `T` from the record or its dict (`None` stays `None`).
fn record_from_dict<'py>(
    cls: &Bound<'py, PyType>,
    value: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if value.is_none() || value.is_instance(cls)? {
        return Ok(value);
    }
    cls.call_method1("from_dict", (value,))
}

/// The serde_json value of a core record.
fn value_of<T: serde::Serialize>(py: Python<'_>, record: &T) -> PyResult<Value> {
    serde_json::to_value(record).map_err(|e| {
        convert::raise(
            py,
            &Error::Storage(enrollkit::Failure::caused_by("cannot write the record", e)),
        )
    })
}

/// Declares a record's Python methods: its own (`$items`) and the shared ones, `__repr__` (of
/// the attributes `$attrs`), `to_dict`, `from_dict` (the constructor's keyword arguments
/// `$fields`, nested records built by `$nested`) and `__reduce__`. The record has a
/// `fn value(&self, py) -> PyResult<Value>`, its canonical JSON form.
macro_rules! record {
    ($ty:ident, attrs: [$($attr:literal),* $(,)?], fields: [$($field:literal),* $(,)?],
     nested: $nested:expr, { $($items:tt)* }) => {
        impl $ty {
            /// Every attribute, in the order of the canonical JSON form.
            pub(crate) const ATTRS: &'static [&'static str] = &[$($attr),*];
            /// The constructor's keyword arguments.
            const FIELDS: &'static [&'static str] = &[$($field),*];
        }

        #[pymethods]
        impl $ty {
            $($items)*

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr(slf.as_any(), stringify!($ty), Self::ATTRS)
            }

            /// The record in its canonical JSON form (what `json.loads` makes of the core's
            /// JSON): times as RFC 3339 strings, enums as their values.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                json_to_py(py, &self.value(py)?)
            }

            /// The record of its canonical JSON form (as `to_dict` returns it; times may also
            /// be datetimes). Keys that are not fields of this record are skipped; a missing
            /// required field is a `TypeError`.
            #[classmethod]
            fn from_dict<'py>(
                cls: &Bound<'py, PyType>,
                data: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                from_dict(cls, data, Self::FIELDS, $nested)
            }

            /// Pickles the record as its `to_dict()`, rebuilt by `from_dict`.
            fn __reduce__<'py>(
                slf: &Bound<'py, Self>,
            ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
                let py = slf.py();
                let rebuild = slf.get_type().getattr("from_dict")?;
                let state = slf.get().to_dict(py)?;
                Ok((rebuild, PyTuple::new(py, [state])?))
            }
        }
    };
}

// -- User --------------------------------------------------------------------------------------

/// A person who can be enrolled; callers bring their own ids.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct User {
    pub(crate) inner: enrollkit::User,
}

impl Hash for User {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.id.hash(h);
    }
}

impl User {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(User,
    attrs: ["id", "email", "display_name", "external_id", "department", "location", "manager_id",
            "groups", "timezone", "hire_date", "partnerships"],
    fields: ["id", "email", "display_name", "external_id", "department", "location",
             "manager_id", "groups", "timezone", "hire_date", "partnerships"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (id, email=None, display_name=None, external_id=None, department=None,
                        location=None, manager_id=None, groups=Vec::new(), timezone=None,
                        hire_date=None, partnerships=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: String,
        email: Option<String>,
        display_name: Option<String>,
        external_id: Option<String>,
        department: Option<String>,
        location: Option<String>,
        manager_id: Option<String>,
        groups: Vec<String>,
        timezone: Option<String>,
        hire_date: Option<String>,
        partnerships: Vec<String>,
    ) -> Self {
        User {
            inner: enrollkit::User {
                id,
                email,
                display_name,
                external_id,
                department,
                location,
                manager_id,
                groups,
                timezone,
                hire_date,
                partnerships,
            },
        }
    }

    /// The caller's id for the user.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// Email address; unique (case-insensitive) among users when present.
    #[getter]
    fn email(&self) -> Option<&str> {
        self.inner.email.as_deref()
    }

    /// Display name.
    #[getter]
    fn display_name(&self) -> Option<&str> {
        self.inner.display_name.as_deref()
    }

    /// External chat id (the track reference's `slack_user_id`); unique when present.
    #[getter]
    fn external_id(&self) -> Option<&str> {
        self.inner.external_id.as_deref()
    }

    /// Department or group.
    #[getter]
    fn department(&self) -> Option<&str> {
        self.inner.department.as_deref()
    }

    /// Work location.
    #[getter]
    fn location(&self) -> Option<&str> {
        self.inner.location.as_deref()
    }

    /// The manager's user id.
    #[getter]
    fn manager_id(&self) -> Option<&str> {
        self.inner.manager_id.as_deref()
    }

    /// Groups the user belongs to (a new list on each read).
    #[getter]
    fn groups(&self) -> Vec<&str> {
        self.inner.groups.iter().map(String::as_str).collect()
    }

    /// IANA timezone name; new enrollments inherit it.
    #[getter]
    fn timezone(&self) -> Option<&str> {
        self.inner.timezone.as_deref()
    }

    /// The day the user was hired, `YYYY-MM-DD` (work anniversaries).
    #[getter]
    fn hire_date(&self) -> Option<&str> {
        self.inner.hire_date.as_deref()
    }

    /// The partnerships the user belongs to (ids): a partner user's certification enrollments
    /// name one of them.
    #[getter]
    fn partnerships(&self) -> Vec<String> {
        self.inner.partnerships.clone()
    }
});

// -- StepSchedule, Step, Assessment ------------------------------------------------------------

/// When a track's step runs: `delay` `unit`s after `after` (the enrollment's start, or the
/// step before it), at the local time of day `at` (`"HH:MM"`, days and business days only) in
/// the enrollee's time zone.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq, Hash)]
pub(crate) struct StepSchedule {
    pub(crate) inner: enrollkit::StepSchedule,
}

impl StepSchedule {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(StepSchedule,
    attrs: ["after", "delay", "unit", "at"],
    fields: ["after", "delay", "unit", "at"],
    nested: flat, {
    /// Checks the schedule as the store does: an unknown anchor or unit, a time of day that is
    /// not `HH:MM` (00:00-23:59), a delay above the longest one or a time of day with minutes
    /// or hours is a `ValidationError`.
    #[new]
    #[pyo3(signature = (after, delay, unit, at=None))]
    fn new(
        py: Python<'_>,
        after: &Bound<'_, PyAny>,
        delay: &Bound<'_, PyAny>,
        unit: &Bound<'_, PyAny>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let at = match at {
            Some(v) if !v.is_none() => {
                let text = check(py, convert::string(v, "at"))?;
                Some(LocalTime::parse(&text).map_err(|e| convert::raise(py, &e))?)
            }
            _ => None,
        };
        let inner = enrollkit::StepSchedule {
            after: enum_arg(after, "after")?,
            delay: u32_arg(delay, "schedule.delay")?,
            unit: enum_arg(unit, "unit")?,
            at,
        };
        inner.validate().map_err(|e| convert::raise(py, &e))?;
        Ok(StepSchedule { inner })
    }

    /// What the delay counts from (an `Anchor`): the enrollment's start or the step before.
    #[getter]
    fn after(&self) -> Member<Anchor> {
        Member(self.inner.after)
    }

    /// How many units.
    #[getter]
    fn delay(&self) -> u32 {
        self.inner.delay
    }

    /// The unit (a `DelayUnit`): minutes and hours are elapsed time; days and business days
    /// count in the enrollee's time zone.
    #[getter]
    fn unit(&self) -> Member<DelayUnit> {
        Member(self.inner.unit)
    }

    /// The local time of day the step runs at, `"HH:MM"`; `None` keeps the anchor's.
    #[getter]
    fn at(&self) -> Option<String> {
        self.inner.at.map(|t| t.to_string())
    }
});

/// A step's schedule argument: `None`, a `StepSchedule` or a mapping of its fields (read by
/// `StepSchedule.from_dict`).
fn schedule_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<enrollkit::StepSchedule>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let py = value.py();
    if let Ok(record) = value.cast::<StepSchedule>() {
        return Ok(Some(record.get().inner));
    }
    if value.cast::<pyo3::types::PyMapping>().is_err() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "schedule must be a StepSchedule, a mapping or None, not {}",
            convert::type_name(value)
        )));
    }
    let record = record_from_dict(&py.get_type::<StepSchedule>(), value.clone())?;
    Ok(Some(record.cast::<StepSchedule>()?.get().inner))
}

/// One step of a program; `learner_completable` says whether the learner can complete it, and
/// `schedule` (tracks) when it runs.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Step {
    pub(crate) inner: enrollkit::Step,
}

impl Hash for Step {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.id.hash(h);
    }
}

impl Step {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Step,
    attrs: ["id", "step_type", "title", "learner_completable", "schedule"],
    fields: ["id", "step_type", "title", "learner_completable", "schedule"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (id, step_type, title, learner_completable=true, schedule=None))]
    fn new(
        id: String,
        step_type: String,
        title: String,
        learner_completable: bool,
        schedule: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Step {
            inner: enrollkit::Step {
                id,
                step_type,
                title,
                learner_completable,
                schedule: schedule_arg(schedule)?,
            },
        })
    }

    /// Step id, unique within the program.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// Free-form type: `module`, `lesson`, `message`, `survey`, `quiz`, `task`, ...
    #[getter]
    fn step_type(&self) -> &str {
        &self.inner.step_type
    }

    /// Title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.title
    }

    /// Whether the learner can complete it (a survey) or it is only delivered (a message).
    #[getter]
    fn learner_completable(&self) -> bool {
        self.inner.learner_completable
    }

    /// When the step runs (tracks), or `None`. `to_dict()` leaves the key out when `None`, as
    /// the core's JSON does.
    #[getter]
    fn schedule(&self) -> Option<StepSchedule> {
        self.inner.schedule.map(|inner| StepSchedule { inner })
    }
});

/// Assessment rules: a passing score (0-100) and an optional attempt limit.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Assessment {
    pub(crate) inner: enrollkit::Assessment,
}

impl Hash for Assessment {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // 0.0 and -0.0 are equal: hash them alike.
        let score = self.inner.passing_score;
        (if score == 0.0 { 0.0f64 } else { score })
            .to_bits()
            .hash(h);
        self.inner.max_attempts.hash(h);
    }
}

impl Assessment {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Assessment,
    attrs: ["passing_score", "max_attempts"],
    fields: ["passing_score", "max_attempts"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (passing_score, max_attempts=None))]
    fn new(passing_score: &Bound<'_, PyAny>, max_attempts: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let max_attempts = match max_attempts {
            Some(m) if !m.is_none() => Some(u32_arg(m, "max_attempts")?),
            _ => None,
        };
        Ok(Assessment {
            inner: enrollkit::Assessment {
                passing_score: f64_arg(passing_score, "passing_score")?,
                max_attempts,
            },
        })
    }

    /// Minimum score (0-100) that passes.
    #[getter]
    fn passing_score(&self) -> f64 {
        self.inner.passing_score
    }

    /// Maximum number of attempts; `None` for unlimited.
    #[getter]
    fn max_attempts(&self) -> Option<u32> {
        self.inner.max_attempts
    }
});

// -- Deadline, Policy --------------------------------------------------------------------------

/// When each enrollment of a program must be finished by: a fixed instant, the same for every
/// enrollment (`at`), or a number of days of 24 hours after enrollment (`after_days`, 1 to
/// 36500). Exactly one is set; the other is `None`, and `to_dict()` leaves it out, as the core's
/// JSON does (`{"at": ...}` or `{"after_days": 90}`).
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Deadline {
    pub(crate) inner: enrollkit::Deadline,
}

impl Hash for Deadline {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self.inner {
            enrollkit::Deadline::At(at) => (0u8, at).hash(h),
            enrollkit::Deadline::AfterDays(days) => (1u8, days).hash(h),
        }
    }
}

impl Deadline {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Deadline,
    attrs: ["at", "after_days"],
    fields: ["at", "after_days"],
    nested: flat, {
    /// Checks the deadline as the store does: neither or both of `at` and `after_days`, or a
    /// number of days outside 1-36500, is a `ValidationError` (field `deadline`).
    #[new]
    #[pyo3(signature = (*, at=None, after_days=None))]
    fn new(
        py: Python<'_>,
        at: Option<&Bound<'_, PyAny>>,
        after_days: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let at = opt_time_arg(at, "at")?;
        let after_days = match after_days {
            Some(d) if !d.is_none() => Some(u32_arg(d, "deadline")?),
            _ => None,
        };
        let inner = match (at, after_days) {
            (Some(at), None) => enrollkit::Deadline::At(at),
            (None, Some(days)) => enrollkit::Deadline::AfterDays(days),
            _ => {
                return Err(convert::raise(
                    py,
                    &Error::Validation {
                        field: "deadline",
                        message: "give exactly one of at, after_days".into(),
                    },
                ))
            }
        };
        let alone = enrollkit::Policy {
            deadline: Some(inner),
            ..enrollkit::Policy::default()
        };
        alone.validate("").map_err(|e| convert::raise(py, &e))?;
        Ok(Deadline { inner })
    }

    /// The instant every enrollment must be finished by; `None` for a relative deadline.
    #[getter]
    fn at(&self) -> Option<Time> {
        match self.inner {
            enrollkit::Deadline::At(at) => Some(Time(at)),
            enrollkit::Deadline::AfterDays(_) => None,
        }
    }

    /// How many days (of 24 hours) after enrolling each enrollment must be finished; `None`
    /// for a fixed deadline.
    #[getter]
    fn after_days(&self) -> Option<u32> {
        match self.inner {
            enrollkit::Deadline::At(_) => None,
            enrollkit::Deadline::AfterDays(days) => Some(days),
        }
    }
});

/// A record argument given as the record, a mapping of its fields (read by `T.from_dict`) or
/// `None`; `what` names the argument and `class` the record in the `TypeError` of anything else.
fn record_arg<'py, T: pyo3::PyClass + pyo3::PyTypeInfo>(
    value: Option<&Bound<'py, PyAny>>,
    what: &str,
    class: &str,
) -> PyResult<Option<Bound<'py, T>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(record) = value.cast::<T>() {
        return Ok(Some(record.clone()));
    }
    if value.cast::<pyo3::types::PyMapping>().is_err() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{what} must be a {class}, a mapping or None, not {}",
            convert::type_name(value)
        )));
    }
    let record = record_from_dict(&value.py().get_type::<T>(), value.clone())?;
    Ok(Some(record.cast_into::<T>()?))
}

/// A program's enrollment policies, each optional: a window for enrolling
/// (`enroll_opens_at`, `enroll_closes_at`: `EnrollmentClosedError` outside it), a `deadline`
/// for each enrollment (`Store.expire_due` ends those past it), a `capacity` in seats with a
/// first-come, first-served `waitlist`, and `prerequisites`, the programs a user must have
/// completed first (`PrerequisitesNotMetError`; an admin may override them, giving a reason).
/// `Policy()` sets none: a program with it behaves as one without policies, and its
/// `Program.policy` is `None`. `to_dict()` gives every field, as the core's JSON does.
///
/// >>> from enrollkit import Deadline, Policy
/// >>> p = Policy(enroll_closes_at="2026-09-01T00:00:00Z", deadline=Deadline(after_days=90),
/// ...            capacity=30, waitlist=True, prerequisites=["crs_intro"])
/// >>> p.deadline.after_days, p.enroll_closes_at.isoformat()
/// (90, '2026-09-01T00:00:00+00:00')
/// >>> Policy.from_dict(p.to_dict()) == p
/// True
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Policy {
    pub(crate) inner: enrollkit::Policy,
}

impl Hash for Policy {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let p = &self.inner;
        (p.enroll_opens_at, p.enroll_closes_at).hash(h);
        p.deadline.map(|inner| Deadline { inner }).hash(h);
        (p.capacity, p.waitlist, &p.prerequisites).hash(h);
    }
}

impl Policy {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Policy,
    attrs: ["enroll_opens_at", "enroll_closes_at", "deadline", "capacity", "waitlist",
            "prerequisites"],
    fields: ["enroll_opens_at", "enroll_closes_at", "deadline", "capacity", "waitlist",
             "prerequisites"],
    nested: flat, {
    /// Checks the policy as the store does, raising `ValidationError` naming the field: a
    /// window that closes before it opens, a deadline of 0 or more than 36500 days, a capacity
    /// of 0, a waitlist without a capacity, more than 100 prerequisites, one that is not a
    /// valid id or appears twice. Whether the prerequisites exist, and that a program does not
    /// require itself, is checked when the program is stored.
    #[new]
    #[pyo3(signature = (*, enroll_opens_at=None, enroll_closes_at=None, deadline=None,
                        capacity=None, waitlist=false, prerequisites=Vec::new()))]
    fn new(
        py: Python<'_>,
        enroll_opens_at: Option<&Bound<'_, PyAny>>,
        enroll_closes_at: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
        capacity: Option<&Bound<'_, PyAny>>,
        waitlist: bool,
        prerequisites: Vec<String>,
    ) -> PyResult<Self> {
        let capacity = match capacity {
            Some(c) if !c.is_none() => Some(u32_arg(c, "capacity")?),
            _ => None,
        };
        let inner = enrollkit::Policy {
            enroll_opens_at: opt_time_arg(enroll_opens_at, "enroll_opens_at")?,
            enroll_closes_at: opt_time_arg(enroll_closes_at, "enroll_closes_at")?,
            deadline: record_arg::<Deadline>(deadline, "deadline", "Deadline")?
                .map(|d| d.get().inner),
            capacity,
            waitlist,
            prerequisites,
        };
        inner.validate("").map_err(|e| convert::raise(py, &e))?;
        Ok(Policy { inner })
    }

    /// Enrolling is refused (`EnrollmentClosedError`) before this instant.
    #[getter]
    fn enroll_opens_at(&self) -> Option<Time> {
        self.inner.enroll_opens_at.map(Time)
    }

    /// Enrolling is refused (`EnrollmentClosedError`) at and after this instant.
    #[getter]
    fn enroll_closes_at(&self) -> Option<Time> {
        self.inner.enroll_closes_at.map(Time)
    }

    /// When each enrollment must be finished by (a `Deadline`): it sets
    /// `Enrollment.deadline_at`, and `Store.expire_due` ends the open enrollments past it.
    #[getter]
    fn deadline(&self) -> Option<Deadline> {
        self.inner.deadline.map(|inner| Deadline { inner })
    }

    /// How many open enrollments the program holds at most (seats); `None` for no limit.
    #[getter]
    fn capacity(&self) -> Option<u32> {
        self.inner.capacity
    }

    /// Whether enrolling into a full program joins a first-come, first-served waitlist rather
    /// than being refused (`ProgramFullError`). Needs a capacity.
    #[getter]
    fn waitlist(&self) -> bool {
        self.inner.waitlist
    }

    /// The programs (ids) a user must have completed, every one, before enrolling (a new list
    /// on each read).
    #[getter]
    fn prerequisites(&self) -> Vec<String> {
        self.inner.prerequisites.clone()
    }
});

// -- Program -----------------------------------------------------------------------------------

/// A course, certification or track. `created_at`/`updated_at` are set by the store (`None` in
/// a program built to be created).
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Program {
    pub(crate) spec: enrollkit::ProgramSpec,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
}

impl Hash for Program {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.spec.id.hash(h);
    }
}

impl From<enrollkit::Program> for Program {
    fn from(p: enrollkit::Program) -> Self {
        Program {
            spec: p.spec,
            created_at: Some(p.created_at),
            updated_at: Some(p.updated_at),
        }
    }
}

impl Program {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        let mut value = value_of(py, &self.spec)?;
        if let Value::Object(map) = &mut value {
            let time =
                |t: Option<Timestamp>| t.map_or(Value::Null, |t| Value::String(t.to_string()));
            map.insert("created_at".into(), time(self.created_at));
            map.insert("updated_at".into(), time(self.updated_at));
        }
        Ok(value)
    }
}

fn program_nested<'py>(name: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match name {
        "steps" => records_from_dicts::<Step>(value),
        "assessment" => {
            let cls = value.py().get_type::<Assessment>();
            record_from_dict(&cls, value)
        }
        _ => Ok(value),
    }
}

record!(Program,
    attrs: ["id", "kind", "title", "description", "state", "self_enrollment", "steps",
            "assessment", "policy", "created_at", "updated_at"],
    fields: ["id", "kind", "title", "state", "description", "self_enrollment", "steps",
             "assessment", "created_at", "updated_at", "policy"],
    nested: program_nested, {
    /// `policy` is a `Policy`, a mapping of its fields (read by `Policy.from_dict`) or `None`.
    #[new]
    #[pyo3(signature = (id, kind, title, state, description=None, self_enrollment=false,
                        steps=Vec::new(), assessment=None, created_at=None, updated_at=None,
                        policy=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: String,
        kind: &Bound<'_, PyAny>,
        title: String,
        state: &Bound<'_, PyAny>,
        description: Option<String>,
        self_enrollment: bool,
        steps: Vec<Bound<'_, Step>>,
        assessment: Option<Bound<'_, Assessment>>,
        created_at: Option<&Bound<'_, PyAny>>,
        updated_at: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Program {
            spec: enrollkit::ProgramSpec {
                id,
                kind: enum_arg(kind, "kind")?,
                title,
                description,
                state: enum_arg(state, "state")?,
                self_enrollment,
                steps: steps.iter().map(|s| s.get().inner.clone()).collect(),
                assessment: assessment.map(|a| a.get().inner),
                policy: record_arg::<Policy>(policy, "policy", "Policy")?
                    .map(|p| p.get().inner.clone())
                    .unwrap_or_default(),
            },
            created_at: opt_time_arg(created_at, "created_at")?,
            updated_at: opt_time_arg(updated_at, "updated_at")?,
        })
    }

    /// The caller's id for the program.
    #[getter]
    fn id(&self) -> &str {
        &self.spec.id
    }

    /// Kind (a `Kind`); fixed once created.
    #[getter]
    fn kind(&self) -> Member<Kind> {
        Member(self.spec.kind)
    }

    /// Title.
    #[getter]
    fn title(&self) -> &str {
        &self.spec.title
    }

    /// Description.
    #[getter]
    fn description(&self) -> Option<&str> {
        self.spec.description.as_deref()
    }

    /// Publication state (a `ProgramState`).
    #[getter]
    fn state(&self) -> Member<enrollkit::ProgramState> {
        Member(self.spec.state)
    }

    /// Whether learners may enroll themselves (only while the program is active).
    #[getter]
    fn self_enrollment(&self) -> bool {
        self.spec.self_enrollment
    }

    /// The steps, in order (a new list on each read).
    #[getter]
    fn steps(&self) -> Vec<Step> {
        self.spec
            .steps
            .iter()
            .map(|s| Step { inner: s.clone() })
            .collect()
    }

    /// Assessment rules, if the program has an assessment.
    #[getter]
    fn assessment(&self) -> Option<Assessment> {
        self.spec.assessment.map(|inner| Assessment { inner })
    }

    /// Enrollment policies (a `Policy`: windows, deadline, capacity, prerequisites), or `None`
    /// when the program has none (an empty `Policy()` given reads back as `None`). `to_dict()`
    /// leaves the key out then, as the core's JSON does.
    #[getter]
    fn policy(&self) -> Option<Policy> {
        (!self.spec.policy.is_empty()).then(|| Policy {
            inner: self.spec.policy.clone(),
        })
    }

    /// When it was created (`None` before the store created it).
    #[getter]
    fn created_at(&self) -> Option<Time> {
        self.created_at.map(Time)
    }

    /// When it was last changed (`None` before the store created it).
    #[getter]
    fn updated_at(&self) -> Option<Time> {
        self.updated_at.map(Time)
    }

    /// The fields a store accepts to create or update the program: `to_dict()` without
    /// `created_at` and `updated_at`.
    fn spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &value_of(py, &self.spec)?)
    }
});

// -- Enrollment --------------------------------------------------------------------------------

/// One user's attempt at one program. `status` is in the program's vocabulary
/// (`active`/`completed`/`dropped` for courses, `enrolled`/`in_progress`/... for
/// certifications, `new`/`active`/`delivered`/... for tracks).
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Enrollment {
    pub(crate) inner: enrollkit::Enrollment,
}

impl Hash for Enrollment {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.id.hash(h);
        self.inner.updated_at.hash(h);
    }
}

impl Enrollment {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Enrollment,
    attrs: ["id", "user_id", "program_id", "kind", "status", "resume_status", "trigger",
            "added_by_user_id", "added_by_program_id", "partnership_id", "mentor_id",
            "mentor_assigned_at", "timezone", "enrolled_at", "start_at", "started_at",
            "delivered_at", "completed_at", "failed_at", "dropped_at", "canceled_at",
            "failure_reason", "failure_message", "next_step_at", "steps_delivered",
            "steps_completed", "steps_skipped", "steps_total", "delivery_percent",
            "completion_percent", "progress_percent", "attempts", "best_score", "passed",
            "previous_id", "attempt_number", "updated_at", "paused_at", "claimed_by",
            "lease_until", "deadline_at"],
    fields: ["id", "user_id", "program_id", "kind", "status", "trigger", "enrolled_at",
             "updated_at", "resume_status", "added_by_user_id", "added_by_program_id",
             "partnership_id", "mentor_id", "mentor_assigned_at", "timezone", "start_at",
             "started_at", "delivered_at", "completed_at", "failed_at", "dropped_at",
             "canceled_at", "failure_reason", "failure_message", "next_step_at",
             "steps_delivered", "steps_completed", "steps_skipped", "steps_total",
             "progress_percent", "attempts", "best_score", "passed", "previous_id",
             "attempt_number", "paused_at", "claimed_by", "lease_until", "deadline_at"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (id, user_id, program_id, kind, status, trigger, enrolled_at, updated_at,
                        resume_status=None, added_by_user_id=None, added_by_program_id=None,
                        partnership_id=None, mentor_id=None, mentor_assigned_at=None,
                        timezone=None, start_at=None, started_at=None, delivered_at=None,
                        completed_at=None, failed_at=None, dropped_at=None, canceled_at=None,
                        failure_reason=None, failure_message=None, next_step_at=None,
                        steps_delivered=None, steps_completed=None, steps_skipped=None,
                        steps_total=None, progress_percent=None, attempts=None,
                        best_score=None, passed=None, previous_id=None, attempt_number=None,
                        paused_at=None, claimed_by=None, lease_until=None, deadline_at=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: String,
        user_id: String,
        program_id: String,
        kind: &Bound<'_, PyAny>,
        status: &str,
        trigger: &Bound<'_, PyAny>,
        enrolled_at: &Bound<'_, PyAny>,
        updated_at: &Bound<'_, PyAny>,
        resume_status: Option<&str>,
        added_by_user_id: Option<String>,
        added_by_program_id: Option<String>,
        partnership_id: Option<String>,
        mentor_id: Option<String>,
        mentor_assigned_at: Option<&Bound<'_, PyAny>>,
        timezone: Option<String>,
        start_at: Option<&Bound<'_, PyAny>>,
        started_at: Option<&Bound<'_, PyAny>>,
        delivered_at: Option<&Bound<'_, PyAny>>,
        completed_at: Option<&Bound<'_, PyAny>>,
        failed_at: Option<&Bound<'_, PyAny>>,
        dropped_at: Option<&Bound<'_, PyAny>>,
        canceled_at: Option<&Bound<'_, PyAny>>,
        failure_reason: Option<&Bound<'_, PyAny>>,
        failure_message: Option<String>,
        next_step_at: Option<&Bound<'_, PyAny>>,
        steps_delivered: Option<&Bound<'_, PyAny>>,
        steps_completed: Option<&Bound<'_, PyAny>>,
        steps_skipped: Option<&Bound<'_, PyAny>>,
        steps_total: Option<&Bound<'_, PyAny>>,
        progress_percent: Option<&Bound<'_, PyAny>>,
        attempts: Option<&Bound<'_, PyAny>>,
        best_score: Option<&Bound<'_, PyAny>>,
        passed: Option<bool>,
        previous_id: Option<String>,
        attempt_number: Option<&Bound<'_, PyAny>>,
        paused_at: Option<&Bound<'_, PyAny>>,
        claimed_by: Option<String>,
        lease_until: Option<&Bound<'_, PyAny>>,
        deadline_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let kind: Kind = enum_arg(kind, "kind")?;
        let count = |v: Option<&Bound<'_, PyAny>>, field, default| match v {
            Some(v) => u32_arg(v, field),
            None => Ok(default),
        };
        let failure_reason = match failure_reason {
            Some(r) if !r.is_none() => Some(enum_arg(r, "failure_reason")?),
            _ => None,
        };
        Ok(Enrollment {
            inner: enrollkit::Enrollment {
                id,
                user_id,
                program_id,
                kind,
                status: status_arg(py, kind, status)?,
                resume_status: resume_status.map(|s| status_arg(py, kind, s)).transpose()?,
                trigger: enum_arg(trigger, "trigger")?,
                added_by_user_id,
                added_by_program_id,
                partnership_id,
                mentor_id,
                mentor_assigned_at: opt_time_arg(mentor_assigned_at, "mentor_assigned_at")?,
                timezone,
                enrolled_at: time_arg(enrolled_at, "enrolled_at")?,
                start_at: opt_time_arg(start_at, "start_at")?,
                started_at: opt_time_arg(started_at, "started_at")?,
                delivered_at: opt_time_arg(delivered_at, "delivered_at")?,
                completed_at: opt_time_arg(completed_at, "completed_at")?,
                failed_at: opt_time_arg(failed_at, "failed_at")?,
                dropped_at: opt_time_arg(dropped_at, "dropped_at")?,
                canceled_at: opt_time_arg(canceled_at, "canceled_at")?,
                failure_reason,
                failure_message,
                next_step_at: opt_time_arg(next_step_at, "next_step_at")?,
                steps_delivered: count(steps_delivered, "steps_delivered", 0)?,
                steps_completed: count(steps_completed, "steps_completed", 0)?,
                steps_skipped: count(steps_skipped, "steps_skipped", 0)?,
                steps_total: count(steps_total, "steps_total", 0)?,
                progress_percent: opt_f64_arg(progress_percent, "progress_percent")?.unwrap_or(0.0),
                attempts: count(attempts, "attempts", 0)?,
                best_score: opt_f64_arg(best_score, "best_score")?,
                passed,
                previous_id,
                attempt_number: count(attempt_number, "attempt_number", 1)?,
                updated_at: time_arg(updated_at, "updated_at")?,
                paused_at: opt_time_arg(paused_at, "paused_at")?,
                claimed_by,
                lease_until: opt_time_arg(lease_until, "lease_until")?,
                deadline_at: opt_time_arg(deadline_at, "deadline_at")?,
            },
        })
    }

    /// Enrollment id (`enr_` and 26 sortable characters unless the caller chose one).
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// The user.
    #[getter]
    fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// The program.
    #[getter]
    fn program_id(&self) -> &str {
        &self.inner.program_id
    }

    /// The program's kind (a `Kind`).
    #[getter]
    fn kind(&self) -> Member<Kind> {
        Member(self.inner.kind)
    }

    /// Current status, in the program's vocabulary.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status_name()
    }

    /// While paused: the status `resume` returns to.
    #[getter]
    fn resume_status(&self) -> Option<&'static str> {
        self.inner.resume_status.map(|s| s.label(self.inner.kind))
    }

    /// How it was created (a `Trigger`).
    #[getter]
    fn trigger(&self) -> Member<enrollkit::Trigger> {
        Member(self.inner.trigger)
    }

    /// Who enrolled the user by hand.
    #[getter]
    fn added_by_user_id(&self) -> Option<&str> {
        self.inner.added_by_user_id.as_deref()
    }

    /// Which program (workflow) enrolled the user.
    #[getter]
    fn added_by_program_id(&self) -> Option<&str> {
        self.inner.added_by_program_id.as_deref()
    }

    /// Partnership context.
    #[getter]
    fn partnership_id(&self) -> Option<&str> {
        self.inner.partnership_id.as_deref()
    }

    /// Assigned mentor.
    #[getter]
    fn mentor_id(&self) -> Option<&str> {
        self.inner.mentor_id.as_deref()
    }

    /// When the mentor was assigned.
    #[getter]
    fn mentor_assigned_at(&self) -> Option<Time> {
        self.inner.mentor_assigned_at.map(Time)
    }

    /// Timezone the enrollment runs in.
    #[getter]
    fn timezone(&self) -> Option<&str> {
        self.inner.timezone.as_deref()
    }

    /// When it was created.
    #[getter]
    fn enrolled_at(&self) -> Time {
        Time(self.inner.enrolled_at)
    }

    /// Scheduled start (tracks).
    #[getter]
    fn start_at(&self) -> Option<Time> {
        self.inner.start_at.map(Time)
    }

    /// When it started.
    #[getter]
    fn started_at(&self) -> Option<Time> {
        self.inner.started_at.map(Time)
    }

    /// When every step was delivered (tracks).
    #[getter]
    fn delivered_at(&self) -> Option<Time> {
        self.inner.delivered_at.map(Time)
    }

    /// When it completed.
    #[getter]
    fn completed_at(&self) -> Option<Time> {
        self.inner.completed_at.map(Time)
    }

    /// When it failed.
    #[getter]
    fn failed_at(&self) -> Option<Time> {
        self.inner.failed_at.map(Time)
    }

    /// When it was last dropped (courses).
    #[getter]
    fn dropped_at(&self) -> Option<Time> {
        self.inner.dropped_at.map(Time)
    }

    /// When it was canceled (tracks).
    #[getter]
    fn canceled_at(&self) -> Option<Time> {
        self.inner.canceled_at.map(Time)
    }

    /// Why it failed (a `FailureReason`).
    #[getter]
    fn failure_reason(&self) -> Option<Member<enrollkit::FailureReason>> {
        self.inner.failure_reason.map(Member)
    }

    /// Human-readable failure message.
    #[getter]
    fn failure_message(&self) -> Option<&str> {
        self.inner.failure_message.as_deref()
    }

    /// When the host's next step is scheduled.
    #[getter]
    fn next_step_at(&self) -> Option<Time> {
        self.inner.next_step_at.map(Time)
    }

    /// Steps delivered or completed.
    #[getter]
    fn steps_delivered(&self) -> u32 {
        self.inner.steps_delivered
    }

    /// Steps completed.
    #[getter]
    fn steps_completed(&self) -> u32 {
        self.inner.steps_completed
    }

    /// Steps skipped.
    #[getter]
    fn steps_skipped(&self) -> u32 {
        self.inner.steps_skipped
    }

    /// Steps in the program.
    #[getter]
    fn steps_total(&self) -> u32 {
        self.inner.steps_total
    }

    /// `steps_delivered / steps_total` in percent (0 without steps).
    #[getter]
    fn delivery_percent(&self) -> f64 {
        self.inner.delivery_percent()
    }

    /// `steps_completed / steps_total` in percent (0 without steps).
    #[getter]
    fn completion_percent(&self) -> f64 {
        self.inner.completion_percent()
    }

    /// Progress 0-100.
    #[getter]
    fn progress_percent(&self) -> f64 {
        self.inner.progress_percent
    }

    /// Number of assessment attempts.
    #[getter]
    fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Best assessment score, `None` before the first attempt.
    #[getter]
    fn best_score(&self) -> Option<f64> {
        self.inner.best_score
    }

    /// Whether an attempt reached the passing score.
    #[getter]
    fn passed(&self) -> Option<bool> {
        self.inner.passed
    }

    /// The enrollment this one follows in the user's lineage in the program.
    #[getter]
    fn previous_id(&self) -> Option<&str> {
        self.inner.previous_id.as_deref()
    }

    /// 1 for the user's first enrollment in the program, then 2, 3, ...
    #[getter]
    fn attempt_number(&self) -> u32 {
        self.inner.attempt_number
    }

    /// Last change.
    #[getter]
    fn updated_at(&self) -> Time {
        Time(self.inner.updated_at)
    }

    /// While paused: when (tracks). `resume` shifts the next scheduled step by the time spent
    /// paused.
    #[getter]
    fn paused_at(&self) -> Option<Time> {
        self.inner.paused_at.map(Time)
    }

    /// The worker that claimed the enrollment's due step (`Store.claim_due`), while it holds
    /// the claim.
    #[getter]
    fn claimed_by(&self) -> Option<&str> {
        self.inner.claimed_by.as_deref()
    }

    /// Until when the claim holds: after it, another worker may claim the step.
    #[getter]
    fn lease_until(&self) -> Option<Time> {
        self.inner.lease_until.map(Time)
    }

    /// When it must be finished by (the program's deadline policy); `Store.expire_due` ends
    /// it after that.
    #[getter]
    fn deadline_at(&self) -> Option<Time> {
        self.inner.deadline_at.map(Time)
    }
});

// -- StepProgress, Attempt, Event --------------------------------------------------------------

/// Progress of one step of one enrollment; `result` is the step's JSON result.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct StepProgress {
    pub(crate) inner: enrollkit::StepProgress,
}

impl Hash for StepProgress {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.step_id.hash(h);
        self.inner.status.hash(h);
    }
}

impl StepProgress {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(StepProgress,
    attrs: ["step_id", "status", "started_at", "delivered_at", "completed_at", "failed_at",
            "skipped_at", "failure_reason", "failure_message", "destination_type", "result"],
    fields: ["step_id", "status", "started_at", "delivered_at", "completed_at", "failed_at",
             "skipped_at", "failure_reason", "failure_message", "destination_type", "result"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (step_id, status, started_at=None, delivered_at=None, completed_at=None,
                        failed_at=None, skipped_at=None, failure_reason=None,
                        failure_message=None, destination_type=None, result=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        step_id: String,
        status: &Bound<'_, PyAny>,
        started_at: Option<&Bound<'_, PyAny>>,
        delivered_at: Option<&Bound<'_, PyAny>>,
        completed_at: Option<&Bound<'_, PyAny>>,
        failed_at: Option<&Bound<'_, PyAny>>,
        skipped_at: Option<&Bound<'_, PyAny>>,
        failure_reason: Option<String>,
        failure_message: Option<String>,
        destination_type: Option<String>,
        result: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let result = match result {
            Some(r) if !r.is_none() => Some(check(
                py,
                convert::py_to_json(r, "result", enrollkit::validate::MAX_RESULT_BYTES),
            )?),
            _ => None,
        };
        Ok(StepProgress {
            inner: enrollkit::StepProgress {
                step_id,
                status: enum_arg(status, "status")?,
                started_at: opt_time_arg(started_at, "started_at")?,
                delivered_at: opt_time_arg(delivered_at, "delivered_at")?,
                completed_at: opt_time_arg(completed_at, "completed_at")?,
                failed_at: opt_time_arg(failed_at, "failed_at")?,
                skipped_at: opt_time_arg(skipped_at, "skipped_at")?,
                failure_reason,
                failure_message,
                destination_type,
                result,
            },
        })
    }

    /// The step.
    #[getter]
    fn step_id(&self) -> &str {
        &self.inner.step_id
    }

    /// Status (a `StepStatus`).
    #[getter]
    fn status(&self) -> Member<enrollkit::StepStatus> {
        Member(self.inner.status)
    }

    /// When work on the step began.
    #[getter]
    fn started_at(&self) -> Option<Time> {
        self.inner.started_at.map(Time)
    }

    /// When it was delivered.
    #[getter]
    fn delivered_at(&self) -> Option<Time> {
        self.inner.delivered_at.map(Time)
    }

    /// When it was completed.
    #[getter]
    fn completed_at(&self) -> Option<Time> {
        self.inner.completed_at.map(Time)
    }

    /// When it last failed.
    #[getter]
    fn failed_at(&self) -> Option<Time> {
        self.inner.failed_at.map(Time)
    }

    /// When it was skipped.
    #[getter]
    fn skipped_at(&self) -> Option<Time> {
        self.inner.skipped_at.map(Time)
    }

    /// Failure reason code.
    #[getter]
    fn failure_reason(&self) -> Option<&str> {
        self.inner.failure_reason.as_deref()
    }

    /// Failure message.
    #[getter]
    fn failure_message(&self) -> Option<&str> {
        self.inner.failure_message.as_deref()
    }

    /// Where it was delivered (`user`, `channel`, `manager`, ...).
    #[getter]
    fn destination_type(&self) -> Option<&str> {
        self.inner.destination_type.as_deref()
    }

    /// The step's result (e.g. survey answers) as `json.loads` builds it, a new dict on each
    /// read; `None` without one.
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.result {
            Some(v) => json_to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    }
});

/// One scored assessment submission.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Attempt {
    pub(crate) inner: enrollkit::Attempt,
}

impl Hash for Attempt {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.number.hash(h);
        self.inner.submitted_at.hash(h);
    }
}

impl Attempt {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Attempt,
    attrs: ["number", "score", "passed", "submitted_at"],
    fields: ["number", "score", "submitted_at", "passed"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (number, score, submitted_at, passed=None))]
    fn new(
        number: &Bound<'_, PyAny>,
        score: &Bound<'_, PyAny>,
        submitted_at: &Bound<'_, PyAny>,
        passed: Option<bool>,
    ) -> PyResult<Self> {
        Ok(Attempt {
            inner: enrollkit::Attempt {
                number: u32_arg(number, "number")?,
                score: f64_arg(score, "score")?,
                passed,
                submitted_at: time_arg(submitted_at, "submitted_at")?,
            },
        })
    }

    /// 1-based attempt number.
    #[getter]
    fn number(&self) -> u32 {
        self.inner.number
    }

    /// Score 0-100.
    #[getter]
    fn score(&self) -> f64 {
        self.inner.score
    }

    /// Whether it reached the passing score (`None` when the program has none).
    #[getter]
    fn passed(&self) -> Option<bool> {
        self.inner.passed
    }

    /// When it was submitted.
    #[getter]
    fn submitted_at(&self) -> Time {
        Time(self.inner.submitted_at)
    }
});

/// One history entry (also the change feed): `from_status` → `to_status` by `actor`.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) inner: enrollkit::Event,
}

impl Hash for Event {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.seq.hash(h);
    }
}

impl Event {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Event,
    attrs: ["seq", "enrollment_id", "user_id", "program_id", "action", "from_status",
            "to_status", "actor", "reason", "at"],
    fields: ["seq", "enrollment_id", "user_id", "program_id", "action", "actor", "at",
             "from_status", "to_status", "reason"],
    nested: flat, {
    #[new]
    #[pyo3(signature = (seq, enrollment_id, user_id, program_id, action, actor, at,
                        from_status=None, to_status=None, reason=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        seq: &Bound<'_, PyAny>,
        enrollment_id: String,
        user_id: String,
        program_id: String,
        action: String,
        actor: String,
        at: &Bound<'_, PyAny>,
        from_status: Option<String>,
        to_status: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Self> {
        Ok(Event {
            inner: enrollkit::Event {
                seq: int_arg(seq, "seq", i64::MIN..=i64::MAX)?,
                enrollment_id,
                user_id,
                program_id,
                action,
                from_status,
                to_status,
                actor,
                reason,
                at: time_arg(at, "at")?,
            },
        })
    }

    /// Sequence number: strictly increasing across the database, never reused.
    #[getter]
    fn seq(&self) -> i64 {
        self.inner.seq
    }

    /// The enrollment.
    #[getter]
    fn enrollment_id(&self) -> &str {
        &self.inner.enrollment_id
    }

    /// Its user.
    #[getter]
    fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// Its program.
    #[getter]
    fn program_id(&self) -> &str {
        &self.inner.program_id
    }

    /// What happened: `enrolled`, `progress`, `complete_step`, `attempt`, `drop`, ...
    #[getter]
    fn action(&self) -> &str {
        &self.inner.action
    }

    /// Status before, in the program's vocabulary (`None` for `enrolled`).
    #[getter(from_status)]
    fn status_before(&self) -> Option<&str> {
        self.inner.from_status.as_deref()
    }

    /// Status after, in the program's vocabulary (`None` for `deleted`).
    #[getter]
    fn to_status(&self) -> Option<&str> {
        self.inner.to_status.as_deref()
    }

    /// Who did it: `admin`, `system` or `learner:<user id>`.
    #[getter]
    fn actor(&self) -> &str {
        &self.inner.actor
    }

    /// Free-form reason or detail (failure reason, step id, score, ...).
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref()
    }

    /// When.
    #[getter]
    fn at(&self) -> Time {
        Time(self.inner.at)
    }
});

// -- the program report ------------------------------------------------------------------------

/// One step's line of a program report's funnel: how many enrollments have the step
/// `delivered` (completed included), `completed`, `skipped` and `failed`.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct StepFunnel {
    pub(crate) inner: enrollkit::StepFunnel,
}

impl Hash for StepFunnel {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.step_id.hash(h);
        self.inner.position.hash(h);
    }
}

impl StepFunnel {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(StepFunnel,
    attrs: ["step_id", "position", "delivered", "completed", "skipped", "failed"],
    fields: ["step_id", "position", "delivered", "completed", "skipped", "failed"],
    nested: flat, {
    #[new]
    fn new(
        step_id: String,
        position: &Bound<'_, PyAny>,
        delivered: &Bound<'_, PyAny>,
        completed: &Bound<'_, PyAny>,
        skipped: &Bound<'_, PyAny>,
        failed: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(StepFunnel {
            inner: enrollkit::StepFunnel {
                step_id,
                position: u32_arg(position, "position")?,
                delivered: u64_arg(delivered, "delivered")?,
                completed: u64_arg(completed, "completed")?,
                skipped: u64_arg(skipped, "skipped")?,
                failed: u64_arg(failed, "failed")?,
            },
        })
    }

    /// The step.
    #[getter]
    fn step_id(&self) -> &str {
        &self.inner.step_id
    }

    /// 1-based position in the program.
    #[getter]
    fn position(&self) -> u32 {
        self.inner.position
    }

    /// Enrollments that have the step delivered, completed included.
    #[getter]
    fn delivered(&self) -> u64 {
        self.inner.delivered
    }

    /// Enrollments that completed the step.
    #[getter]
    fn completed(&self) -> u64 {
        self.inner.completed
    }

    /// Enrollments that skipped the step.
    #[getter]
    fn skipped(&self) -> u64 {
        self.inner.skipped
    }

    /// Enrollments whose step failed.
    #[getter]
    fn failed(&self) -> u64 {
        self.inner.failed
    }
});

/// A program's report (`Store.report`). The summary fields are the track reference's:
/// `active` counts open enrollments that are not paused, `canceled` canceled tracks and dropped
/// courses; `average_completion_rate` is in percent (0-100) and `average_time_to_complete` in
/// seconds (`None` when nobody completed). `by_status` counts enrollments per status in the
/// program's vocabulary; `steps` is the funnel.
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct ProgramReport {
    pub(crate) inner: enrollkit::ProgramReport,
}

impl Hash for ProgramReport {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.inner.program_id.hash(h);
        self.inner.total_enrollees.hash(h);
    }
}

impl ProgramReport {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

fn report_nested<'py>(name: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match name {
        "steps" => records_from_dicts::<StepFunnel>(value),
        _ => Ok(value),
    }
}

record!(ProgramReport,
    attrs: ["program_id", "kind", "total_enrollees", "active", "completed", "failed", "paused",
            "canceled", "average_completion_rate", "average_time_to_complete", "by_status",
            "steps"],
    fields: ["program_id", "kind", "total_enrollees", "active", "completed", "failed", "paused",
             "canceled", "average_completion_rate", "average_time_to_complete", "by_status",
             "steps"],
    nested: report_nested, {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        program_id: String,
        kind: &Bound<'_, PyAny>,
        total_enrollees: &Bound<'_, PyAny>,
        active: &Bound<'_, PyAny>,
        completed: &Bound<'_, PyAny>,
        failed: &Bound<'_, PyAny>,
        paused: &Bound<'_, PyAny>,
        canceled: &Bound<'_, PyAny>,
        average_completion_rate: &Bound<'_, PyAny>,
        average_time_to_complete: Option<&Bound<'_, PyAny>>,
        by_status: BTreeMap<String, Bound<'_, PyAny>>,
        steps: Vec<Bound<'_, StepFunnel>>,
    ) -> PyResult<Self> {
        let kind: Kind = enum_arg(kind, "kind")?;
        let mut counts = BTreeMap::new();
        for (name, count) in &by_status {
            let status = status_arg(py, kind, name)?;
            counts.insert(status.label(kind), u64_arg(count, "by_status")?);
        }
        Ok(ProgramReport {
            inner: enrollkit::ProgramReport {
                program_id,
                kind,
                total_enrollees: u64_arg(total_enrollees, "total_enrollees")?,
                active: u64_arg(active, "active")?,
                completed: u64_arg(completed, "completed")?,
                failed: u64_arg(failed, "failed")?,
                paused: u64_arg(paused, "paused")?,
                canceled: u64_arg(canceled, "canceled")?,
                average_completion_rate: f64_arg(average_completion_rate, "average_completion_rate")?,
                average_time_to_complete: opt_f64_arg(average_time_to_complete, "average_time_to_complete")?,
                by_status: counts,
                steps: steps.iter().map(|s| s.get().inner.clone()).collect(),
            },
        })
    }

    /// The program.
    #[getter]
    fn program_id(&self) -> &str {
        &self.inner.program_id
    }

    /// Its kind (a `Kind`), which names the statuses of `by_status`.
    #[getter]
    fn kind(&self) -> Member<Kind> {
        Member(self.inner.kind)
    }

    /// Every current enrollment in the program.
    #[getter]
    fn total_enrollees(&self) -> u64 {
        self.inner.total_enrollees
    }

    /// Open enrollments that are not paused.
    #[getter]
    fn active(&self) -> u64 {
        self.inner.active
    }

    /// Completed enrollments.
    #[getter]
    fn completed(&self) -> u64 {
        self.inner.completed
    }

    /// Failed enrollments.
    #[getter]
    fn failed(&self) -> u64 {
        self.inner.failed
    }

    /// Paused enrollments.
    #[getter]
    fn paused(&self) -> u64 {
        self.inner.paused
    }

    /// Canceled (tracks) and dropped (courses) enrollments.
    #[getter]
    fn canceled(&self) -> u64 {
        self.inner.canceled
    }

    /// Mean completion over every enrollment, in percent (0-100).
    #[getter]
    fn average_completion_rate(&self) -> f64 {
        self.inner.average_completion_rate
    }

    /// Mean seconds from start to completion over completed enrollments; `None` when none
    /// completed.
    #[getter]
    fn average_time_to_complete(&self) -> Option<f64> {
        self.inner.average_time_to_complete
    }

    /// Enrollments per status, in the program's vocabulary (a new dict on each read).
    #[getter]
    fn by_status(&self) -> BTreeMap<&'static str, u64> {
        self.inner.by_status.clone()
    }

    /// One funnel line per step, in the program's order (a new list on each read).
    #[getter]
    fn steps(&self) -> Vec<StepFunnel> {
        self.inner
            .steps
            .iter()
            .map(|s| StepFunnel { inner: s.clone() })
            .collect()
    }
});

// -- EnrollOutcome and Page ----------------------------------------------------------------------

/// The result of one row of `Store.enroll_many` or one user of `Store.enroll_anniversaries`:
/// `outcome` is `created`, `already_enrolled`, `failed` or `not_applied`; `enrollment` is set
/// when created, `existing_id` when already enrolled, `error` (an `EnrollkitError`) when failed,
/// `user_id` by `enroll_anniversaries` (the user whose anniversary it is).
#[pyclass(frozen, module = "enrollkit")]
pub(crate) struct EnrollOutcome {
    outcome: String,
    enrollment: Option<Py<Enrollment>>,
    existing_id: Option<String>,
    error: Option<Py<PyAny>>,
    user_id: Option<String>,
}

impl EnrollOutcome {
    /// The record of a core outcome of `user_id` (`enroll_anniversaries`) or of a row
    /// (`enroll_many`, `None`).
    pub(crate) fn of(
        py: Python<'_>,
        outcome: enrollkit::EnrollOutcome,
        user_id: Option<String>,
    ) -> PyResult<Self> {
        let kind = outcome.kind().to_owned();
        let (enrollment, existing_id, error) = match outcome {
            enrollkit::EnrollOutcome::Created(e) => {
                (Some(Py::new(py, Enrollment { inner: *e })?), None, None)
            }
            enrollkit::EnrollOutcome::AlreadyEnrolled { existing_id } => {
                (None, Some(existing_id), None)
            }
            enrollkit::EnrollOutcome::Failed(e) => {
                (None, None, Some(convert::exception(py, &e)?.unbind()))
            }
            _ => (None, None, None),
        };
        Ok(EnrollOutcome {
            outcome: kind,
            enrollment,
            existing_id,
            error,
            user_id,
        })
    }

    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        let mut map = serde_json::Map::new();
        map.insert("outcome".into(), Value::String(self.outcome.clone()));
        if let Some(e) = &self.enrollment {
            map.insert("enrollment".into(), e.get().value(py)?);
        }
        if let Some(id) = &self.existing_id {
            map.insert("existing_id".into(), Value::String(id.clone()));
        }
        if let Some(err) = &self.error {
            let details = err.bind(py).getattr("details")?;
            map.insert(
                "error".into(),
                check(py, convert::py_to_json(&details, "error", usize::MAX))?,
            );
        }
        // Last, where the core's JSON of an anniversary outcome (`UserOutcome`) adds it.
        if let Some(id) = &self.user_id {
            map.insert("user_id".into(), Value::String(id.clone()));
        }
        Ok(Value::Object(map))
    }
}

fn outcome_nested<'py>(name: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    match name {
        "enrollment" => record_from_dict(&py.get_type::<Enrollment>(), value),
        "error" if !value.is_none() && value.cast::<PyDict>().is_ok() => {
            let errors = py.import("enrollkit.exceptions")?.getattr("ERRORS")?;
            let base = py
                .import("enrollkit.exceptions")?
                .getattr("EnrollkitError")?;
            let code = value.get_item("code").ok();
            let cls = match code {
                Some(code) => errors.call_method1("get", (code, &base))?,
                None => base,
            };
            let message = value
                .cast::<PyDict>()?
                .get_item("message")?
                .unwrap_or_else(|| pyo3::types::PyString::new(py, "").into_any());
            cls.call1((message, value))
        }
        _ => Ok(value),
    }
}

record!(EnrollOutcome,
    attrs: ["outcome", "enrollment", "existing_id", "error", "user_id"],
    fields: ["outcome", "enrollment", "existing_id", "error", "user_id"],
    nested: outcome_nested, {
    #[new]
    #[pyo3(signature = (outcome, enrollment=None, existing_id=None, error=None, user_id=None))]
    fn new(
        py: Python<'_>,
        outcome: String,
        enrollment: Option<Py<Enrollment>>,
        existing_id: Option<String>,
        error: Option<Bound<'_, PyAny>>,
        user_id: Option<String>,
    ) -> PyResult<Self> {
        let error = match error {
            Some(e) if !e.is_none() => {
                let base = py.import("enrollkit.exceptions")?.getattr("EnrollkitError")?;
                if !e.is_instance(&base)? {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "error must be an EnrollkitError, not {}",
                        convert::type_name(&e)
                    )));
                }
                Some(e.unbind())
            }
            _ => None,
        };
        Ok(EnrollOutcome {
            outcome,
            enrollment,
            existing_id,
            error,
            user_id,
        })
    }

    /// `created`, `already_enrolled`, `failed` or `not_applied`.
    #[getter]
    fn outcome(&self) -> &str {
        &self.outcome
    }

    /// The new enrollment (`created`).
    #[getter]
    fn enrollment(&self, py: Python<'_>) -> Option<Py<Enrollment>> {
        self.enrollment.as_ref().map(|e| e.clone_ref(py))
    }

    /// The enrollment that blocks a new one (`already_enrolled`).
    #[getter]
    fn existing_id(&self) -> Option<&str> {
        self.existing_id.as_deref()
    }

    /// Why the row was refused (`failed`): the exception the row would have raised alone.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }

    /// The user whose anniversary it is (`Store.enroll_anniversaries`); `None` for the rows of
    /// `Store.enroll_many`.
    #[getter]
    fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// Equal when the outcome, enrollment, existing id, user id and the error's class and
    /// details are.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<EnrollOutcome>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let same_enrollment = match (&self.enrollment, &other.enrollment) {
            (Some(a), Some(b)) => a.get() == b.get(),
            (None, None) => true,
            _ => false,
        };
        let same_error = match (&self.error, &other.error) {
            (Some(a), Some(b)) => {
                let (a, b) = (a.bind(py), b.bind(py));
                a.get_type().is(b.get_type()) && a.getattr("details")?.eq(b.getattr("details")?)?
            }
            (None, None) => true,
            _ => false,
        };
        let equal = self.outcome == other.outcome
            && self.existing_id == other.existing_id
            && self.user_id == other.user_id
            && same_enrollment
            && same_error;
        Ok(pyo3::types::PyBool::new(py, equal).to_owned().into_any().unbind())
    }
});

// -- Claim ---------------------------------------------------------------------------------------

/// An enrollment with the step the queue runs next: one claim of `Store.claim_due` (the
/// enrollment as claimed, `processing` or `processing_batch`, with `claimed_by` and
/// `lease_until`) or one item of `Store.due` (claimed or not). `step_id` is the id of the step to
/// run, or `None` when the program has no step pending (work the host scheduled with
/// `set_next_step_at`: end such a claim with `complete_claim`, which clears `next_step_at`, or
/// give it back with `release_claim`).
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq, Hash)]
pub(crate) struct Claim {
    enrollment: Enrollment,
    step_id: Option<String>,
}

impl Claim {
    /// The record of a core claim.
    pub(crate) fn of(claim: enrollkit::Claim) -> Claim {
        Claim {
            enrollment: Enrollment {
                inner: claim.enrollment,
            },
            step_id: claim.step_id,
        }
    }

    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        let mut map = serde_json::Map::new();
        map.insert("enrollment".into(), self.enrollment.value(py)?);
        map.insert(
            "step_id".into(),
            self.step_id.clone().map_or(Value::Null, Value::String),
        );
        Ok(Value::Object(map))
    }
}

fn claim_nested<'py>(name: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match name {
        "enrollment" => record_from_dict(&value.py().get_type::<Enrollment>(), value),
        _ => Ok(value),
    }
}

record!(Claim,
    attrs: ["enrollment", "step_id"],
    fields: ["enrollment", "step_id"],
    nested: claim_nested, {
    #[new]
    #[pyo3(signature = (enrollment, step_id=None))]
    fn new(enrollment: Bound<'_, Enrollment>, step_id: Option<String>) -> Self {
        Claim {
            enrollment: enrollment.get().clone(),
            step_id,
        }
    }

    /// The enrollment: as claimed by `claim_due`, `processing` (or `processing_batch`),
    /// `claimed_by` the worker, `lease_until` the end of the lease; as `due` read it, claimed
    /// or not.
    #[getter]
    fn enrollment(&self) -> Enrollment {
        self.enrollment.clone()
    }

    /// The step to run: the program's first pending step; `None` when it has none.
    #[getter]
    fn step_id(&self) -> Option<&str> {
        self.step_id.as_deref()
    }
});

// -- Erasure -------------------------------------------------------------------------------------

/// What `Store.erase_user` did: `tombstone` is the id that stands for the erased person in the
/// history from now on (`erased_` and 26 random characters: it says nothing about them),
/// `enrollments` how many of their enrollments were deleted (with their step progress and
/// attempts), `events` how many history events were scrubbed.
///
/// >>> from enrollkit import Erasure
/// >>> e = Erasure("erased_01JH5Z8K6Q0000000000000000", enrollments=2, events=5)
/// >>> e.to_dict()
/// {'tombstone': 'erased_01JH5Z8K6Q0000000000000000', 'enrollments': 2, 'events': 5}
/// >>> Erasure.from_dict(e.to_dict()) == e
/// True
#[pyclass(frozen, eq, hash, module = "enrollkit")]
#[derive(Clone, PartialEq)]
pub(crate) struct Erasure {
    pub(crate) inner: enrollkit::Erasure,
}

impl Hash for Erasure {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let e = &self.inner;
        (&e.tombstone, e.enrollments, e.events).hash(h);
    }
}

impl Erasure {
    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        value_of(py, &self.inner)
    }
}

record!(Erasure,
    attrs: ["tombstone", "enrollments", "events"],
    fields: ["tombstone", "enrollments", "events"],
    nested: flat, {
    #[new]
    fn new(
        tombstone: String,
        enrollments: &Bound<'_, PyAny>,
        events: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(Erasure {
            inner: enrollkit::Erasure {
                tombstone,
                enrollments: u64_arg(enrollments, "enrollments")?,
                events: u64_arg(events, "events")?,
            },
        })
    }

    /// The id that names the erased person in the history from now on: their events'
    /// `user_id`, and the `user_id` and `enrollment_id` of the one `user_erased` event.
    #[getter]
    fn tombstone(&self) -> &str {
        &self.inner.tombstone
    }

    /// Enrollments deleted (with their step progress and attempts).
    #[getter]
    fn enrollments(&self) -> u64 {
        self.inner.enrollments
    }

    /// History events scrubbed: they name the tombstone instead of the person and lost their
    /// reasons.
    #[getter]
    fn events(&self) -> u64 {
        self.inner.events
    }
});

/// One page of enrollments; pass `next_cursor` as `starting_after` for the next.
#[pyclass(frozen, module = "enrollkit")]
pub(crate) struct Page {
    items: Vec<Py<Enrollment>>,
    has_more: bool,
    next_cursor: Option<String>,
}

impl Page {
    /// The record of a core page.
    pub(crate) fn of(py: Python<'_>, page: enrollkit::EnrollmentPage) -> PyResult<Self> {
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|inner| Py::new(py, Enrollment { inner }))
                .collect::<PyResult<_>>()?,
            has_more: page.has_more,
            next_cursor: page.next_cursor,
        })
    }

    fn value(&self, py: Python<'_>) -> PyResult<Value> {
        let items = self
            .items
            .iter()
            .map(|e| e.get().value(py))
            .collect::<PyResult<Vec<_>>>()?;
        let mut map = serde_json::Map::new();
        map.insert("items".into(), Value::Array(items));
        map.insert("has_more".into(), Value::Bool(self.has_more));
        map.insert(
            "next_cursor".into(),
            self.next_cursor.clone().map_or(Value::Null, Value::String),
        );
        Ok(Value::Object(map))
    }
}

fn page_nested<'py>(name: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match name {
        "items" => records_from_dicts::<Enrollment>(value),
        _ => Ok(value),
    }
}

record!(Page,
    attrs: ["items", "has_more", "next_cursor"],
    fields: ["items", "has_more", "next_cursor"],
    nested: page_nested, {
    #[new]
    #[pyo3(signature = (items, has_more, next_cursor=None))]
    fn new(items: Vec<Py<Enrollment>>, has_more: bool, next_cursor: Option<String>) -> Self {
        Page {
            items,
            has_more,
            next_cursor,
        }
    }

    /// The enrollments on this page (a new list of the same records on each read).
    #[getter]
    fn items(&self, py: Python<'_>) -> Vec<Py<Enrollment>> {
        self.items.iter().map(|e| e.clone_ref(py)).collect()
    }

    /// Whether more rows follow.
    #[getter]
    fn has_more(&self) -> bool {
        self.has_more
    }

    /// Pass as `starting_after` to get the next page (`None` at the end).
    #[getter]
    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    /// Equal when the items, `has_more` and `next_cursor` are.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<Page>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.has_more == other.has_more
            && self.next_cursor == other.next_cursor
            && self.items.len() == other.items.len()
            && self.items.iter().zip(&other.items).all(|(a, b)| a.get() == b.get());
        Ok(pyo3::types::PyBool::new(py, equal).to_owned().into_any().unbind())
    }
});

/// Registers the record classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<User>()?;
    m.add_class::<StepSchedule>()?;
    m.add_class::<Step>()?;
    m.add_class::<Assessment>()?;
    m.add_class::<Deadline>()?;
    m.add_class::<Policy>()?;
    m.add_class::<Program>()?;
    m.add_class::<Enrollment>()?;
    m.add_class::<StepProgress>()?;
    m.add_class::<Attempt>()?;
    m.add_class::<Event>()?;
    m.add_class::<StepFunnel>()?;
    m.add_class::<ProgramReport>()?;
    m.add_class::<EnrollOutcome>()?;
    m.add_class::<Claim>()?;
    m.add_class::<Erasure>()?;
    m.add_class::<Page>()?;
    Ok(())
}

/// `(class name, attributes)` of every record, for the tests that compare them with the stubs
/// and with `to_dict()`.
pub(crate) fn attributes() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("User", User::ATTRS),
        ("StepSchedule", StepSchedule::ATTRS),
        ("Step", Step::ATTRS),
        ("Assessment", Assessment::ATTRS),
        ("Deadline", Deadline::ATTRS),
        ("Policy", Policy::ATTRS),
        ("Program", Program::ATTRS),
        ("Enrollment", Enrollment::ATTRS),
        ("StepProgress", StepProgress::ATTRS),
        ("Attempt", Attempt::ATTRS),
        ("Event", Event::ATTRS),
        ("StepFunnel", StepFunnel::ATTRS),
        ("ProgramReport", ProgramReport::ATTRS),
        ("EnrollOutcome", EnrollOutcome::ATTRS),
        ("Claim", Claim::ATTRS),
        ("Erasure", Erasure::ATTRS),
        ("Page", Page::ATTRS),
    ]
}
