//! Conversions between Python values and the core's: times, enum members, numbers, counts,
//! JSON values (step results, rendered views, error details) and errors.
//!
//! Every Python value a caller can pass is either converted or refused with a typed error: the
//! `enrollkit` exception of a core error (mostly `ValidationError`) for a bad value, `TypeError`
//! for an argument of the wrong type. Nothing here recurses without a bound: JSON values are
//! nested at most [`MAX_JSON_DEPTH`] containers deep, checked before each level is entered.

use enrollkit::{
    Anchor, DelayUnit, Error, ErrorCode, FailureReason, Kind, ProgramState, StepStatus, Timestamp,
    Trigger,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    IntoPyDict, PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple, PyType,
};
use serde_json::{Map, Number, Value};

/// The deepest nesting of JSON containers (objects and arrays) a value may have: serde_json's
/// recursion limit, so that every value enrollkit stores can be read back (the core parses
/// stored results with it) and the C ABI, the CLI and Python accept the same documents.
pub(crate) const MAX_JSON_DEPTH: usize = 127;

/// Why an input was refused, before it is raised: a core error (raised as its `enrollkit`
/// exception), a wrong type (`TypeError`), or an exception Python code raised while it was read
/// (a mapping's `items()`, a number's `__float__`), passed on as it is.
pub(crate) enum Refusal {
    /// A bad value.
    Invalid(Error),
    /// An argument or field of the wrong type; the text of the `TypeError`.
    Type(String),
    /// Raised by Python code.
    Python(PyErr),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Invalid(e)
    }
}

impl From<PyErr> for Refusal {
    fn from(e: PyErr) -> Self {
        Refusal::Python(e)
    }
}

impl Refusal {
    /// The refusal of row `row` (0-based) of a batch: its message starts with `row N: `, as the
    /// core's row errors do.
    pub(crate) fn in_row(self, row: usize) -> Refusal {
        match self {
            Refusal::Invalid(Error::Validation { field, message }) => {
                Refusal::Invalid(Error::Validation {
                    field,
                    message: format!("row {row}: {message}"),
                })
            }
            Refusal::Type(message) => Refusal::Type(format!("row {row}: {message}")),
            other => other,
        }
    }

    /// The exception to raise.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Refusal::Invalid(e) => raise(py, &e),
            Refusal::Type(message) => PyTypeError::new_err(message),
            Refusal::Python(e) => e,
        }
    }
}

/// A `validation` error of `field`.
pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::Invalid(Error::Validation {
        field,
        message: message.into(),
    })
}

/// The name of `value`'s type, for messages.
pub(crate) fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

// -- errors ------------------------------------------------------------------------------------

/// The exception class of `enrollkit.exceptions` for a core error code. Exhaustive: a new core
/// code does not compile until it has its class (and `tests/python` checks that each class
/// exists with that code).
pub(crate) fn exception_class(code: ErrorCode) -> &'static str {
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
        ErrorCode::EnrollmentClosed => "EnrollmentClosedError",
        ErrorCode::PrerequisitesNotMet => "PrerequisitesNotMetError",
        ErrorCode::ProgramFull => "ProgramFullError",
    }
}

/// The exception classes, in the order of [`ErrorCode::ALL`].
static EXCEPTIONS: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// The `enrollkit.exceptions` instance for `e`: `cls(message, details)`, `details` the error's
/// fields as a dict.
pub(crate) fn exception<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyAny>> {
    let classes = EXCEPTIONS.get_or_try_init(py, || -> PyResult<_> {
        let module = py.import("enrollkit.exceptions")?;
        ErrorCode::ALL
            .into_iter()
            .map(|code| {
                Ok(module
                    .getattr(exception_class(code))?
                    .cast_into::<PyType>()?
                    .unbind())
            })
            .collect()
    })?;
    let index = ErrorCode::ALL
        .into_iter()
        .position(|c| c == e.code())
        .unwrap_or(ErrorCode::ALL.len() - 1);
    let details = json_to_py(py, &e.details())?;
    classes[index].bind(py).call1((e.to_string(), details))
}

/// `e` as the exception to raise.
pub(crate) fn raise(py: Python<'_>, e: &Error) -> PyErr {
    match exception(py, e) {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

// -- times -------------------------------------------------------------------------------------

/// `datetime.datetime`, `datetime.timezone.utc`, the Unix epoch as an aware datetime and
/// `timedelta(milliseconds=1)`.
struct DateTimes {
    class: Py<PyType>,
    utc: Py<PyAny>,
    epoch: Py<PyAny>,
    millisecond: Py<PyAny>,
}

static DATETIMES: PyOnceLock<DateTimes> = PyOnceLock::new();

fn datetimes(py: Python<'_>) -> PyResult<&DateTimes> {
    DATETIMES.get_or_try_init(py, || {
        let module = py.import("datetime")?;
        let class = module.getattr("datetime")?.cast_into::<PyType>()?;
        let utc = module.getattr("timezone")?.getattr("utc")?;
        let epoch = class.call1((1970, 1, 1, 0, 0, 0, 0, &utc))?;
        let millisecond = module
            .getattr("timedelta")?
            .call((), Some(&[("milliseconds", 1)].into_py_dict(py)?))?;
        Ok(DateTimes {
            class: class.unbind(),
            utc: utc.unbind(),
            epoch: epoch.unbind(),
            millisecond: millisecond.unbind(),
        })
    })
}

/// `t` as an aware UTC `datetime`.
pub(crate) fn datetime(py: Python<'_>, t: Timestamp) -> PyResult<Bound<'_, PyAny>> {
    use chrono::{Datelike, Timelike};
    let d = datetimes(py)?;
    let at = t.to_datetime();
    d.class.bind(py).call1((
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.timestamp_subsec_millis() * 1000,
        d.utc.bind(py),
    ))
}

/// The instant of `value`: an aware `datetime` (truncated to the millisecond) or an RFC 3339
/// string. A naive `datetime` is a `validation` error of `field`; any other type a `TypeError`.
pub(crate) fn timestamp(
    value: &Bound<'_, PyAny>,
    field: &'static str,
) -> Result<Timestamp, Refusal> {
    let py = value.py();
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Timestamp::parse(&text.to_cow()?)?);
    }
    let d = datetimes(py)?;
    if !value.is_instance(d.class.bind(py))? {
        return Err(Refusal::Type(format!(
            "{field} must be a datetime or an RFC 3339 string, not {}",
            type_name(value)
        )));
    }
    if value.call_method0("utcoffset")?.is_none() {
        return Err(invalid(
            field,
            "naive datetime; give a timezone (e.g. timezone.utc)",
        ));
    }
    let since_epoch = value.sub(d.epoch.bind(py))?;
    let millis: i64 = since_epoch.floor_div(d.millisecond.bind(py))?.extract()?;
    let at = Timestamp::from_millis(millis);
    if at.millis() != millis {
        // An offset moved a time of year 1 or 9999 out of the years enrollkit stores.
        return Err(invalid(field, "year outside 1-9999 in UTC"));
    }
    Ok(at)
}

/// An optional [`timestamp`]: `None` stays `None`.
pub(crate) fn opt_timestamp(
    value: Option<&Bound<'_, PyAny>>,
    field: &'static str,
) -> Result<Option<Timestamp>, Refusal> {
    match value {
        Some(v) if !v.is_none() => timestamp(v, field).map(Some),
        _ => Ok(None),
    }
}

// -- enums -------------------------------------------------------------------------------------

/// A core enum whose values are the members of a `str` enum of `enrollkit._types`.
pub(crate) trait PyEnum: Copy + PartialEq + 'static {
    /// The Python class's name in `enrollkit._types`.
    const CLASS: &'static str;
    /// Every value, in declaration order.
    fn all() -> &'static [Self];
    /// The wire name, which is the member's value.
    fn name(self) -> &'static str;
    /// The cache of the members, in the order of [`PyEnum::all`].
    fn members() -> &'static PyOnceLock<Vec<Py<PyAny>>>;
    /// Parses a wire name (a `validation` error on unknown names).
    fn parse(text: &str) -> Result<Self, Error>;
}

macro_rules! py_enum {
    ($($ty:ident),*) => {$(
        impl PyEnum for $ty {
            const CLASS: &'static str = stringify!($ty);
            fn all() -> &'static [Self] {
                $ty::ALL
            }
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn members() -> &'static PyOnceLock<Vec<Py<PyAny>>> {
                static MEMBERS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
                &MEMBERS
            }
            fn parse(text: &str) -> Result<Self, Error> {
                $ty::parse(text)
            }
        }
    )*};
}
py_enum!(
    Kind,
    ProgramState,
    Trigger,
    FailureReason,
    StepStatus,
    Anchor,
    DelayUnit
);

/// The Python enum member of `value` (`Kind.COURSE` for `Kind::Course`).
pub(crate) fn member<E: PyEnum>(py: Python<'_>, value: E) -> PyResult<Bound<'_, PyAny>> {
    let members = E::members().get_or_try_init(py, || -> PyResult<_> {
        let class = py.import("enrollkit._types")?.getattr(E::CLASS)?;
        E::all()
            .iter()
            .map(|v| Ok(class.call1((v.name(),))?.unbind()))
            .collect()
    })?;
    let index = E::all().iter().position(|v| *v == value).unwrap_or(0);
    Ok(members[index].bind(py).clone())
}

/// The core value of a `str` enum member or its plain string; an unknown name is the core's
/// `validation` error, anything but a string a `TypeError`.
pub(crate) fn enum_value<E: PyEnum>(value: &Bound<'_, PyAny>, field: &str) -> Result<E, Refusal> {
    Ok(E::parse(&string(value, field)?)?)
}

// -- scalars -----------------------------------------------------------------------------------

/// A `str` argument (a `str` enum member is one); anything else is a `TypeError`.
pub(crate) fn string(value: &Bound<'_, PyAny>, field: &str) -> Result<String, Refusal> {
    match value.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(Refusal::Type(format!(
            "{field} must be a str, not {}",
            type_name(value)
        ))),
    }
}

/// A number argument: an `int` or `float` (not a `bool`) or any `numbers.Real`, as a float.
/// Other types are a `TypeError`; an `int` too large for a float is a `validation` error.
pub(crate) fn number(value: &Bound<'_, PyAny>, field: &'static str) -> Result<f64, Refusal> {
    if let Ok(f) = value.cast_exact::<PyFloat>() {
        return Ok(f.value());
    }
    let py = value.py();
    let real = if value.is_instance_of::<PyBool>() {
        false
    } else {
        value.is_instance_of::<PyInt>()
            || value.is_instance_of::<PyFloat>()
            || value.is_instance(real_class(py)?)?
    };
    if !real {
        return Err(Refusal::Type(format!(
            "{field} must be a number, not {}",
            type_name(value)
        )));
    }
    match value.extract::<f64>() {
        Ok(f) => Ok(f),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(py) => {
            Err(invalid(field, "the number is too large"))
        }
        Err(e) => Err(Refusal::Python(e)),
    }
}

/// `numbers.Real`.
fn real_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static REAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    REAL.import(py, "numbers", "Real").map(|t| t.as_any())
}

/// An `int` argument (not a `bool`); other types are a `TypeError`, values outside `range` a
/// `validation` error of `field`.
pub(crate) fn integer(
    value: &Bound<'_, PyAny>,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Refusal> {
    if !value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(Refusal::Type(format!(
            "{field} must be an int, not {}",
            type_name(value)
        )));
    }
    match value.extract::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(invalid(field, format!("{value} is out of range"))),
    }
}

/// A count argument (`limit`, `page`, `per_page`): an `int` from 0 to 2**32 - 1.
pub(crate) fn count(value: &Bound<'_, PyAny>, field: &'static str) -> Result<u32, Refusal> {
    integer(value, field, 0..=i64::from(u32::MAX)).map(|n| n as u32)
}

// -- JSON values -------------------------------------------------------------------------------

/// `value` as the Python objects `json.loads` builds (dicts keep their key order).
pub(crate) fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    json_to_py_at(py, value, 0)
}

fn json_to_py_at<'py>(py: Python<'py>, value: &Value, depth: usize) -> PyResult<Bound<'py, PyAny>> {
    // Values come from the core, which reads JSON with serde_json's recursion limit; the
    // bound only makes sure this never recurses without one.
    if depth > MAX_JSON_DEPTH + 1 {
        return Err(raise(
            py,
            &Error::Storage(
                format!("a JSON value nested more than {MAX_JSON_DEPTH} levels deep").into(),
            ),
        ));
    }
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py_at(py, item, depth + 1)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py_at(py, v, depth + 1)?)?;
            }
            dict.into_any()
        }
    })
}

/// A lower bound of the bytes of a value's JSON text: conversion stops once it exceeds the
/// largest result the core accepts (which measures the exact size).
struct Budget {
    field: &'static str,
    bytes: usize,
    max: usize,
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), Refusal> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max {
            return Err(invalid(
                self.field,
                format!("more than {} bytes of JSON", self.max),
            ));
        }
        Ok(())
    }
}

/// A Python value as a JSON value, for `field`: `None`, `bool`, `int` (64-bit), finite `float`,
/// `str`, `list` and `tuple`, and `dict` (or any mapping) with `str` keys, nested at most
/// [`MAX_JSON_DEPTH`] deep and at most `max_bytes` of JSON. Anything else is a `validation`
/// error of `field` (never a `RecursionError`: the depth is checked before each level is
/// entered, so a value nested a million levels deep is refused after 127).
pub(crate) fn py_to_json(
    value: &Bound<'_, PyAny>,
    field: &'static str,
    max_bytes: usize,
) -> Result<Value, Refusal> {
    let mut budget = Budget {
        field,
        bytes: 0,
        max: max_bytes,
    };
    py_to_json_at(value, 0, &mut budget)
}

fn py_to_json_at(
    value: &Bound<'_, PyAny>,
    depth: usize,
    budget: &mut Budget,
) -> Result<Value, Refusal> {
    let field = budget.field;
    if value.is_none() {
        budget.spend(4)?;
        return Ok(Value::Null);
    }
    if let Ok(s) = value.cast::<PyString>() {
        let s = s.to_cow()?.into_owned();
        budget.spend(s.len() + 2)?;
        return Ok(Value::String(s));
    }
    if let Ok(b) = value.cast::<PyBool>() {
        budget.spend(4)?;
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        budget.spend(1)?;
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid(
            field,
            format!("the integer {value} does not fit in 64 bits"),
        ));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        budget.spend(1)?;
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| invalid(field, format!("{} is not a JSON number", f.value())));
    }
    let container = value.is_instance_of::<PyDict>()
        || value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>()
        || value.cast::<PyMapping>().is_ok();
    if !container {
        return Err(invalid(
            field,
            format!("a {} is not a JSON value", type_name(value)),
        ));
    }
    if depth >= MAX_JSON_DEPTH {
        return Err(invalid(
            field,
            format!("nested more than {MAX_JSON_DEPTH} levels deep"),
        ));
    }
    budget.spend(2)?;
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = Map::with_capacity(dict.len());
        // A snapshot of the items: converting a value can run Python code (a mapping's
        // `items()`), which may change this dict while it is read.
        for item in dict.items().iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            let key = json_key(&k, field)?;
            budget.spend(key.len() + 3)?;
            map.insert(key, py_to_json_at(&v, depth + 1, budget)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = value.cast::<PyList>() {
        let mut items = Vec::with_capacity(list.len());
        for item in list.iter() {
            items.push(py_to_json_at(&item, depth + 1, budget)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        let mut items = Vec::with_capacity(tuple.len());
        for item in tuple.iter() {
            items.push(py_to_json_at(&item, depth + 1, budget)?);
        }
        return Ok(Value::Array(items));
    }
    let mut map = Map::new();
    for item in value.call_method0("items")?.try_iter()? {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        let key = json_key(&k, field)?;
        budget.spend(key.len() + 3)?;
        map.insert(key, py_to_json_at(&v, depth + 1, budget)?);
    }
    Ok(Value::Object(map))
}

fn json_key(key: &Bound<'_, PyAny>, field: &'static str) -> Result<String, Refusal> {
    match key.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(invalid(
            field,
            format!("object keys must be str, not {}", type_name(key)),
        )),
    }
}
