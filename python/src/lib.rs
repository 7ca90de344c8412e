//! `enrollkit._enrollkit`: the native half of the Python package.
//!
//! It holds the records `enrollkit` returns (`records`: `User`, `Program`, `Enrollment`, ...,
//! built from the core's structs, each field converted when it is read) and the store
//! (`store`), which takes Python values directly: strings, numbers, datetimes, enum members,
//! records and mappings (`requests`, `convert`), with no JSON text in either direction. Core
//! errors become the exception classes of `enrollkit.exceptions`. Every database call runs
//! with the GIL released, so Python threads sharing one `Store` run concurrently. The
//! pure-Python package (`enrollkit/_store.py`) gives the store its keyword arguments and
//! documentation.

use enrollkit::ErrorCode;
use pyo3::prelude::*;
use pyo3::types::PyDict;

mod convert;
mod records;
mod requests;
mod store;

/// `(code, exception class name)` of every core error code, for the Python layer's checks.
#[pyfunction]
fn error_codes() -> Vec<(&'static str, &'static str)> {
    ErrorCode::ALL
        .into_iter()
        .map(|c| (c.as_str(), convert::exception_class(c)))
        .collect()
}

/// `value` (an aware `datetime` or an RFC 3339 string) as enrollkit's canonical text,
/// `2026-01-15T10:30:00.000Z`; `None` stays `None`. A naive `datetime` or malformed text is a
/// `ValidationError`, any other type a `TypeError`.
#[pyfunction]
fn format_time(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    convert::timestamp(value, "timestamp")
        .map(|t| Some(t.to_string()))
        .map_err(|e| e.into_pyerr(value.py()))
}

/// `text` (RFC 3339) as an aware UTC `datetime`, truncated to the millisecond as enrollkit
/// stores times; `None` stays `None`. Malformed text is a `ValidationError`.
#[pyfunction]
fn parse_time<'py>(py: Python<'py>, text: Option<&str>) -> PyResult<Option<Bound<'py, PyAny>>> {
    text.map(|t| {
        let at = enrollkit::Timestamp::parse(t).map_err(|e| convert::raise(py, &e))?;
        convert::datetime(py, at)
    })
    .transpose()
}

/// `{class name: attribute names}` of every record, in the order of its canonical JSON form,
/// for the tests that compare the records with their stubs and their `to_dict()`.
#[pyfunction]
fn _record_attributes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    for (name, attrs) in records::attributes() {
        out.set_item(name, attrs.to_vec())?;
    }
    Ok(out)
}

/// `{enum class name: values}` of the core's enums that records return as `str` enum members,
/// for the test that compares them with `enrollkit._types`.
#[pyfunction]
fn _enum_values(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    use convert::PyEnum;
    fn values<E: PyEnum>() -> Vec<&'static str> {
        E::all().iter().map(|v| v.name()).collect()
    }
    let out = PyDict::new(py);
    out.set_item(enrollkit::Kind::CLASS, values::<enrollkit::Kind>())?;
    out.set_item(
        enrollkit::ProgramState::CLASS,
        values::<enrollkit::ProgramState>(),
    )?;
    out.set_item(enrollkit::Trigger::CLASS, values::<enrollkit::Trigger>())?;
    out.set_item(
        enrollkit::FailureReason::CLASS,
        values::<enrollkit::FailureReason>(),
    )?;
    out.set_item(
        enrollkit::StepStatus::CLASS,
        values::<enrollkit::StepStatus>(),
    )?;
    out.set_item(enrollkit::Anchor::CLASS, values::<enrollkit::Anchor>())?;
    out.set_item(
        enrollkit::DelayUnit::CLASS,
        values::<enrollkit::DelayUnit>(),
    )?;
    Ok(out)
}

/// The native module.
#[pymodule]
fn _enrollkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::Store>()?;
    records::register(m)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(format_time, m)?)?;
    m.add_function(wrap_pyfunction!(parse_time, m)?)?;
    m.add_function(wrap_pyfunction!(_record_attributes, m)?)?;
    m.add_function(wrap_pyfunction!(_enum_values, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_JSON_DEPTH", convert::MAX_JSON_DEPTH)?;
    Ok(())
}
