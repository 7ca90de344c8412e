//! Requests from Python objects: users and program specs (records, or mappings in their JSON
//! form), enroll requests (keyword arguments, or mappings of them in `enroll_many`) and
//! listings. Mappings are read as the core reads the same document in JSON (`User::from_json`,
//! `ProgramSpec::from_json`): the same fields, required and optional alike, and a refusal is
//! the same `validation` error (field `user` or `program`) whatever surface sent the document.

use enrollkit::{
    Anchor, Deadline, DelayUnit, EnrollRequest, Error, Kind, ListQuery, LocalTime, Order,
    Pagination, Policy, ProgramSpec, ProgramState, StepSchedule, Timestamp, Trigger, User, UserRef,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};

use crate::convert::{self, invalid, type_name, Refusal};
use crate::records;

/// The field names of a document, and their interned Python strings: the keys of a mapping
/// written in Python source are interned, so a key is usually found by identity, without
/// reading its text.
pub(crate) struct Names {
    names: &'static [&'static str],
    interned: PyOnceLock<Vec<Py<PyString>>>,
}

impl Names {
    const fn new(names: &'static [&'static str]) -> Names {
        Names {
            names,
            interned: PyOnceLock::new(),
        }
    }

    /// The field `key` names, or its text when it names none.
    fn find(&self, key: &Bound<'_, PyString>) -> Result<Result<&'static str, String>, Refusal> {
        let py = key.py();
        let interned = self.interned.get_or_init(py, || {
            self.names
                .iter()
                .map(|n| PyString::intern(py, n).unbind())
                .collect()
        });
        if let Some(i) = interned.iter().position(|n| key.is(n)) {
            return Ok(Ok(self.names[i]));
        }
        let text = key.to_cow()?;
        Ok(match self.names.iter().find(|n| **n == text) {
            Some(name) => Ok(name),
            None => Err(text.into_owned()),
        })
    }
}

/// The text of a key [`Names::find`] returned.
fn key_text<'a>(key: &'a Result<&'static str, String>) -> &'a str {
    match key {
        Ok(name) => name,
        Err(text) => text,
    }
}

/// How [`each_field`] reads a `dict`.
#[derive(Clone, Copy, PartialEq)]
enum Reading {
    /// In place: for callbacks that run no Python code before they return `Ok`.
    InPlace,
    /// From a snapshot of its items: for callbacks that may run Python code (a nested
    /// mapping's `items()`), which could change the dict while it is read.
    Snapshot,
}

/// Calls `f` with each entry of the mapping `value`: the field its key names (or the key's text
/// when it names none of `names`) and the value. `what` names the mapping in the `validation`
/// error when it is not one or a key is not a `str`.
fn each_field<'py>(
    value: &Bound<'py, PyAny>,
    what: &'static str,
    names: &Names,
    reading: Reading,
    mut f: impl FnMut(Result<&'static str, String>, Bound<'py, PyAny>) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    let key = |k: &Bound<'py, PyAny>| match k.cast::<PyString>() {
        Ok(s) => names.find(s),
        Err(_) => Err(invalid(
            what,
            format!("keys must be str, not {}", type_name(k)),
        )),
    };
    if let Ok(dict) = value.cast::<PyDict>() {
        if reading == Reading::InPlace {
            for (k, v) in dict.iter() {
                f(key(&k)?, v)?;
            }
        } else {
            for item in dict.items().iter() {
                let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract()?;
                f(key(&k)?, v)?;
            }
        }
        return Ok(());
    }
    if value.cast::<PyMapping>().is_err() {
        return Err(invalid(
            what,
            format!("expected a mapping, not {}", type_name(value)),
        ));
    }
    for item in value.call_method0("items")?.try_iter()? {
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        f(key(&k)?, v)?;
    }
    Ok(())
}

/// A document's fields as the core's JSON reader takes them: `what` names the document in
/// errors (`user`, `program`), as the core's `validation` errors of a malformed document do.
struct Doc {
    what: &'static str,
}

impl Doc {
    fn wrong(&self, field: &str, expected: &str, value: &Bound<'_, PyAny>) -> Refusal {
        invalid(
            self.what,
            format!("{field}: expected {expected}, not {}", type_name(value)),
        )
    }

    fn string(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<String, Refusal> {
        match value.cast::<PyString>() {
            Ok(s) => Ok(s.to_cow()?.into_owned()),
            Err(_) => Err(self.wrong(field, "a str", value)),
        }
    }

    fn opt_string(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<Option<String>, Refusal> {
        if value.is_none() {
            return Ok(None);
        }
        self.string(field, value).map(Some)
    }

    fn boolean(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<bool, Refusal> {
        match value.cast::<PyBool>() {
            Ok(b) => Ok(b.is_true()),
            Err(_) => Err(self.wrong(field, "a bool", value)),
        }
    }

    fn number(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<f64, Refusal> {
        if value.is_instance_of::<PyBool>() {
            return Err(self.wrong(field, "a number", value));
        }
        if let Ok(f) = value.cast::<PyFloat>() {
            return Ok(f.value());
        }
        if value.is_instance_of::<PyInt>() {
            return value
                .extract::<f64>()
                .map_err(|_| invalid(self.what, format!("{field}: the number is too large")));
        }
        Err(self.wrong(field, "a number", value))
    }

    fn opt_u32(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<Option<u32>, Refusal> {
        if value.is_none() {
            return Ok(None);
        }
        self.u32(field, value).map(Some)
    }

    fn u32(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<u32, Refusal> {
        if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
            return Err(self.wrong(field, "an int", value));
        }
        value
            .extract::<u32>()
            .map_err(|_| invalid(self.what, format!("{field}: {value} is out of range")))
    }

    /// An instant: RFC 3339 text, as in the core's JSON, or an aware `datetime`.
    fn time(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<Timestamp, Refusal> {
        convert::timestamp(value, "time").map_err(|e| match e {
            Refusal::Type(_) => self.wrong(field, "an RFC 3339 str or an aware datetime", value),
            Refusal::Invalid(Error::Validation { message, .. }) => {
                invalid(self.what, format!("{field}: {message}"))
            }
            other => other,
        })
    }

    fn opt_time(
        &self,
        field: &str,
        value: &Bound<'_, PyAny>,
    ) -> Result<Option<Timestamp>, Refusal> {
        if value.is_none() {
            return Ok(None);
        }
        self.time(field, value).map(Some)
    }

    fn strings(&self, field: &str, value: &Bound<'_, PyAny>) -> Result<Vec<String>, Refusal> {
        self.list(field, value)?
            .iter()
            .map(|v| self.string(field, v))
            .collect()
    }

    /// A list or tuple's items.
    fn list<'py>(
        &self,
        field: &str,
        value: &Bound<'py, PyAny>,
    ) -> Result<Vec<Bound<'py, PyAny>>, Refusal> {
        if let Ok(list) = value.cast::<PyList>() {
            return Ok(list.iter().collect());
        }
        if let Ok(tuple) = value.cast::<PyTuple>() {
            return Ok(tuple.iter().collect());
        }
        Err(self.wrong(field, "a list", value))
    }

    fn enumerated<E: convert::PyEnum>(
        &self,
        field: &str,
        value: &Bound<'_, PyAny>,
    ) -> Result<E, Refusal> {
        let name = self.string(field, value)?;
        E::parse(&name).map_err(|_| {
            invalid(
                self.what,
                format!(
                    "{field}: unknown value {name:?}; expected one of: {}",
                    E::all()
                        .iter()
                        .map(|v| v.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    fn unknown(&self, field: &str, known: &Names) -> Refusal {
        invalid(
            self.what,
            format!(
                "unknown field {field:?}; expected one of: {}",
                known.names.join(", ")
            ),
        )
    }

    fn missing(&self, field: &str) -> Refusal {
        invalid(self.what, format!("missing field {field:?}"))
    }
}

static USER_FIELDS: Names = Names::new(&[
    "id",
    "email",
    "display_name",
    "external_id",
    "department",
    "location",
    "manager_id",
    "groups",
    "timezone",
    "hire_date",
    "partnerships",
]);

/// A user from a `User` record or a mapping of its fields (`id` required).
pub(crate) fn user(value: &Bound<'_, PyAny>) -> Result<User, Refusal> {
    if let Ok(record) = value.cast::<records::User>() {
        return Ok(record.get().inner.clone());
    }
    let doc = Doc { what: "user" };
    let mut id = None;
    let mut user = User::default();
    each_field(value, "user", &USER_FIELDS, Reading::InPlace, |field, v| {
        match field {
            Ok(f @ "id") => id = Some(doc.string(f, &v)?),
            Ok(f @ "email") => user.email = doc.opt_string(f, &v)?,
            Ok(f @ "display_name") => user.display_name = doc.opt_string(f, &v)?,
            Ok(f @ "external_id") => user.external_id = doc.opt_string(f, &v)?,
            Ok(f @ "department") => user.department = doc.opt_string(f, &v)?,
            Ok(f @ "location") => user.location = doc.opt_string(f, &v)?,
            Ok(f @ "manager_id") => user.manager_id = doc.opt_string(f, &v)?,
            Ok(f @ "groups") => user.groups = doc.strings(f, &v)?,
            Ok(f @ "timezone") => user.timezone = doc.opt_string(f, &v)?,
            Ok(f @ "hire_date") => user.hire_date = doc.opt_string(f, &v)?,
            Ok(f @ "partnerships") => user.partnerships = doc.strings(f, &v)?,
            other => return Err(doc.unknown(key_text(&other), &USER_FIELDS)),
        }
        Ok(())
    })?;
    user.id = id.ok_or_else(|| doc.missing("id"))?;
    Ok(user)
}

/// Users from an iterable of records or mappings; a refused one names its row (0-based).
pub(crate) fn users(value: &Bound<'_, PyAny>) -> Result<Vec<User>, Refusal> {
    let iter = value.try_iter().map_err(|_| {
        Refusal::Type(format!(
            "users must be an iterable, not {}",
            type_name(value)
        ))
    })?;
    let mut out = Vec::with_capacity(value.len().unwrap_or(0));
    for (row, item) in iter.enumerate() {
        out.push(user(&item?).map_err(|e| e.in_row(row))?);
    }
    Ok(out)
}

static PROGRAM_FIELDS: Names = Names::new(&[
    "id",
    "kind",
    "title",
    "description",
    "state",
    "self_enrollment",
    "steps",
    "assessment",
    "policy",
]);
static STEP_FIELDS: Names = Names::new(&[
    "id",
    "step_type",
    "title",
    "learner_completable",
    "schedule",
]);
static SCHEDULE_FIELDS: Names = Names::new(&["after", "delay", "unit", "at"]);
static ASSESSMENT_FIELDS: Names = Names::new(&["passing_score", "max_attempts"]);
static POLICY_FIELDS: Names = Names::new(&[
    "enroll_opens_at",
    "enroll_closes_at",
    "deadline",
    "capacity",
    "waitlist",
    "prerequisites",
]);
static DEADLINE_FIELDS: Names = Names::new(&["at", "after_days"]);

/// A program spec from a `Program` record (its `created_at` and `updated_at` are ignored) or a
/// mapping of the spec's fields (`id`, `kind`, `title`, `state` required; steps, the
/// assessment and the policy as records or mappings).
pub(crate) fn program(value: &Bound<'_, PyAny>) -> Result<ProgramSpec, Refusal> {
    if let Ok(record) = value.cast::<records::Program>() {
        return Ok(record.get().spec.clone());
    }
    let doc = Doc { what: "program" };
    let (mut id, mut kind, mut title, mut state) = (None, None, None, None);
    let mut spec = ProgramSpec::course("", "");
    spec.self_enrollment = false;
    each_field(
        value,
        "program",
        &PROGRAM_FIELDS,
        Reading::Snapshot,
        |field, v| {
            match field {
                Ok(f @ "id") => id = Some(doc.string(f, &v)?),
                Ok(f @ "kind") => kind = Some(doc.enumerated::<Kind>(f, &v)?),
                Ok(f @ "title") => title = Some(doc.string(f, &v)?),
                Ok(f @ "description") => spec.description = doc.opt_string(f, &v)?,
                Ok(f @ "state") => state = Some(doc.enumerated::<ProgramState>(f, &v)?),
                Ok(f @ "self_enrollment") => spec.self_enrollment = doc.boolean(f, &v)?,
                Ok(f @ "steps") => {
                    spec.steps = doc
                        .list(f, &v)?
                        .iter()
                        .map(|s| step(&doc, s))
                        .collect::<Result<_, _>>()?
                }
                Ok("assessment") => spec.assessment = assessment(&doc, &v)?,
                Ok("policy") => spec.policy = policy(&doc, &v)?,
                other => return Err(doc.unknown(key_text(&other), &PROGRAM_FIELDS)),
            }
            Ok(())
        },
    )?;
    spec.id = id.ok_or_else(|| doc.missing("id"))?;
    spec.kind = kind.ok_or_else(|| doc.missing("kind"))?;
    spec.title = title.ok_or_else(|| doc.missing("title"))?;
    spec.state = state.ok_or_else(|| doc.missing("state"))?;
    Ok(spec)
}

fn step(doc: &Doc, value: &Bound<'_, PyAny>) -> Result<enrollkit::Step, Refusal> {
    if let Ok(record) = value.cast::<records::Step>() {
        return Ok(record.get().inner.clone());
    }
    let (mut id, mut step_type, mut title, mut completable) = (None, None, None, None);
    let mut schedule = None;
    // From a snapshot: reading a schedule mapping can run Python code.
    each_field(
        value,
        doc.what,
        &STEP_FIELDS,
        Reading::Snapshot,
        |field, v| {
            match field {
                Ok(f @ "id") => id = Some(doc.string(f, &v)?),
                Ok(f @ "step_type") => step_type = Some(doc.string(f, &v)?),
                Ok(f @ "title") => title = Some(doc.string(f, &v)?),
                Ok(f @ "learner_completable") => completable = Some(doc.boolean(f, &v)?),
                Ok("schedule") => schedule = step_schedule(doc, &v)?,
                other => return Err(doc.unknown(key_text(&other), &STEP_FIELDS)),
            }
            Ok(())
        },
    )?;
    Ok(enrollkit::Step {
        id: id.ok_or_else(|| doc.missing("id"))?,
        step_type: step_type.ok_or_else(|| doc.missing("step_type"))?,
        title: title.ok_or_else(|| doc.missing("title"))?,
        learner_completable: completable.ok_or_else(|| doc.missing("learner_completable"))?,
        schedule,
    })
}

/// A step's schedule: `None`, a `StepSchedule` record or a mapping of its fields (`after`,
/// `delay`, `unit` required; `at` as `HH:MM` text). As in the core's JSON reader, a malformed
/// one is a `validation` error of the document; the rules between fields (a time of day only
/// with days, the longest delay) are checked when the program is stored.
fn step_schedule(doc: &Doc, value: &Bound<'_, PyAny>) -> Result<Option<StepSchedule>, Refusal> {
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(record) = value.cast::<records::StepSchedule>() {
        return Ok(Some(record.get().inner));
    }
    let (mut after, mut delay, mut unit, mut at) = (None, None, None, None);
    each_field(
        value,
        doc.what,
        &SCHEDULE_FIELDS,
        Reading::InPlace,
        |field, v| {
            match field {
                Ok("after") => after = Some(doc.enumerated::<Anchor>("schedule.after", &v)?),
                Ok("delay") => delay = Some(doc.u32("schedule.delay", &v)?),
                Ok("unit") => unit = Some(doc.enumerated::<DelayUnit>("schedule.unit", &v)?),
                Ok("at") => {
                    at = match doc.opt_string("schedule.at", &v)? {
                        Some(text) => Some(LocalTime::parse(&text).map_err(|_| {
                            invalid(
                                doc.what,
                                format!("schedule.at: {text:?} is not a time of day like 09:00"),
                            )
                        })?),
                        None => None,
                    }
                }
                other => return Err(doc.unknown(key_text(&other), &SCHEDULE_FIELDS)),
            }
            Ok(())
        },
    )?;
    Ok(Some(StepSchedule {
        after: after.ok_or_else(|| doc.missing("after"))?,
        delay: delay.ok_or_else(|| doc.missing("delay"))?,
        unit: unit.ok_or_else(|| doc.missing("unit"))?,
        at,
    }))
}

fn assessment(
    doc: &Doc,
    value: &Bound<'_, PyAny>,
) -> Result<Option<enrollkit::Assessment>, Refusal> {
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(record) = value.cast::<records::Assessment>() {
        return Ok(Some(record.get().inner));
    }
    let (mut passing_score, mut max_attempts) = (None, None);
    each_field(
        value,
        doc.what,
        &ASSESSMENT_FIELDS,
        Reading::InPlace,
        |field, v| {
            match field {
                Ok(f @ "passing_score") => passing_score = Some(doc.number(f, &v)?),
                Ok(f @ "max_attempts") => max_attempts = doc.opt_u32(f, &v)?,
                other => return Err(doc.unknown(key_text(&other), &ASSESSMENT_FIELDS)),
            }
            Ok(())
        },
    )?;
    Ok(Some(enrollkit::Assessment {
        passing_score: passing_score.ok_or_else(|| doc.missing("passing_score"))?,
        max_attempts,
    }))
}

/// A program's policy: a `Policy` record or a mapping of its fields, every one optional (times
/// as RFC 3339 text or aware datetimes, the deadline as a `Deadline` record or a mapping of
/// exactly one of `at` and `after_days`). As in the core's JSON reader, `None` is not a policy
/// (leave the key out) and a malformed one is a `validation` error of the document; the rules
/// between fields (a window that closes after it opens, a waitlist with a capacity, ...) are
/// checked when the program is stored, as the prerequisites' existence is.
fn policy(doc: &Doc, value: &Bound<'_, PyAny>) -> Result<Policy, Refusal> {
    if let Ok(record) = value.cast::<records::Policy>() {
        return Ok(record.get().inner.clone());
    }
    if value.is_none() {
        return Err(doc.wrong("policy", "a mapping (leave it out for none)", value));
    }
    let mut policy = Policy::default();
    // From a snapshot: reading a datetime or the deadline's mapping can run Python code.
    each_field(
        value,
        doc.what,
        &POLICY_FIELDS,
        Reading::Snapshot,
        |field, v| {
            match field {
                Ok("enroll_opens_at") => {
                    policy.enroll_opens_at = doc.opt_time("policy.enroll_opens_at", &v)?
                }
                Ok("enroll_closes_at") => {
                    policy.enroll_closes_at = doc.opt_time("policy.enroll_closes_at", &v)?
                }
                Ok("deadline") => policy.deadline = deadline(doc, &v)?,
                Ok("capacity") => policy.capacity = doc.opt_u32("policy.capacity", &v)?,
                Ok("waitlist") => policy.waitlist = doc.boolean("policy.waitlist", &v)?,
                Ok("prerequisites") => {
                    policy.prerequisites = doc.strings("policy.prerequisites", &v)?
                }
                other => return Err(doc.unknown(key_text(&other), &POLICY_FIELDS)),
            }
            Ok(())
        },
    )?;
    Ok(policy)
}

/// A policy's deadline: `None`, a `Deadline` record or a mapping of exactly one of `at` and
/// `after_days` (`{"after_days": 90}`, as in the core's JSON).
fn deadline(doc: &Doc, value: &Bound<'_, PyAny>) -> Result<Option<Deadline>, Refusal> {
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(record) = value.cast::<records::Deadline>() {
        return Ok(Some(record.get().inner));
    }
    let one = || {
        invalid(
            doc.what,
            "policy.deadline: give exactly one of at, after_days",
        )
    };
    let mut found = None;
    each_field(
        value,
        doc.what,
        &DEADLINE_FIELDS,
        Reading::Snapshot,
        |field, v| {
            let d = match field {
                Ok("at") => Deadline::At(doc.time("policy.deadline.at", &v)?),
                Ok("after_days") => Deadline::AfterDays(doc.u32("policy.deadline.after_days", &v)?),
                other => return Err(doc.unknown(key_text(&other), &DEADLINE_FIELDS)),
            };
            match found.replace(d) {
                Some(_) => Err(one()),
                None => Ok(()),
            }
        },
    )?;
    found.ok_or_else(one).map(Some)
}

/// The arguments of `Store.enroll`, as Python objects (`None` when absent).
#[derive(Default)]
pub(crate) struct EnrollArgs<'py> {
    /// `user_id`.
    pub(crate) user_id: Option<Bound<'py, PyAny>>,
    /// `program_id`.
    pub(crate) program_id: Option<Bound<'py, PyAny>>,
    /// `email`.
    pub(crate) email: Option<Bound<'py, PyAny>>,
    /// `external_id`.
    pub(crate) external_id: Option<Bound<'py, PyAny>>,
    /// `id`.
    pub(crate) id: Option<Bound<'py, PyAny>>,
    /// `trigger`.
    pub(crate) trigger: Option<Bound<'py, PyAny>>,
    /// `added_by_user_id`.
    pub(crate) added_by_user_id: Option<Bound<'py, PyAny>>,
    /// `added_by_program_id`.
    pub(crate) added_by_program_id: Option<Bound<'py, PyAny>>,
    /// `partnership_id`.
    pub(crate) partnership_id: Option<Bound<'py, PyAny>>,
    /// `timezone`.
    pub(crate) timezone: Option<Bound<'py, PyAny>>,
    /// `start_at`.
    pub(crate) start_at: Option<Bound<'py, PyAny>>,
    /// `allow_reenroll` (any truthy value).
    pub(crate) allow_reenroll: Option<Bound<'py, PyAny>>,
    /// `batch` (any truthy value).
    pub(crate) batch: Option<Bound<'py, PyAny>>,
    /// `override_prerequisites` (the admin's reason).
    pub(crate) override_prerequisites: Option<Bound<'py, PyAny>>,
}

static ENROLL_FIELDS: Names = Names::new(&[
    "user_id",
    "email",
    "external_id",
    "program_id",
    "id",
    "trigger",
    "added_by_user_id",
    "added_by_program_id",
    "partnership_id",
    "timezone",
    "start_at",
    "allow_reenroll",
    "batch",
    "override_prerequisites",
]);

/// An optional string argument: `None` is absent, anything but a `str` a `TypeError`.
fn opt_arg(value: &Option<Bound<'_, PyAny>>, field: &str) -> Result<Option<String>, Refusal> {
    match value {
        Some(v) if !v.is_none() => convert::string(v, field).map(Some),
        _ => Ok(None),
    }
}

fn truthy(value: &Option<Bound<'_, PyAny>>) -> Result<bool, Refusal> {
    match value {
        Some(v) => Ok(v.is_truthy()?),
        None => Ok(false),
    }
}

impl<'py> EnrollArgs<'py> {
    /// The arguments of one row of `enroll_many`: a mapping of `enroll`'s keyword arguments.
    /// An unknown key is a `TypeError`, as an unknown keyword argument of `enroll` is.
    pub(crate) fn of_row(row: &Bound<'py, PyAny>) -> Result<Self, Refusal> {
        let mut args = EnrollArgs::default();
        let read = each_field(
            row,
            "request",
            &ENROLL_FIELDS,
            Reading::InPlace,
            |field, v| {
                let slot = match field {
                    Ok("user_id") => &mut args.user_id,
                    Ok("program_id") => &mut args.program_id,
                    Ok("email") => &mut args.email,
                    Ok("external_id") => &mut args.external_id,
                    Ok("id") => &mut args.id,
                    Ok("trigger") => &mut args.trigger,
                    Ok("added_by_user_id") => &mut args.added_by_user_id,
                    Ok("added_by_program_id") => &mut args.added_by_program_id,
                    Ok("partnership_id") => &mut args.partnership_id,
                    Ok("timezone") => &mut args.timezone,
                    Ok("start_at") => &mut args.start_at,
                    Ok("allow_reenroll") => &mut args.allow_reenroll,
                    Ok("batch") => &mut args.batch,
                    Ok("override_prerequisites") => &mut args.override_prerequisites,
                    other => {
                        return Err(Refusal::Type(format!(
                            "unexpected key {:?}; expected: {}",
                            key_text(&other),
                            ENROLL_FIELDS.names.join(", ")
                        )))
                    }
                };
                *slot = Some(v);
                Ok(())
            },
        );
        match read {
            Ok(()) => {}
            Err(Refusal::Invalid(_)) => {
                return Err(Refusal::Type(format!(
                    "a request must be a mapping with str keys, not {}",
                    type_name(row)
                )))
            }
            Err(other) => return Err(other),
        }
        Ok(args)
    }

    /// The core request: exactly one of `user_id`, `email`, `external_id`; `trigger` a
    /// `Trigger` or its value; `start_at` an aware `datetime` or RFC 3339 text.
    pub(crate) fn request(&self) -> Result<EnrollRequest, Refusal> {
        let program_id = match &self.program_id {
            Some(p) => convert::string(p, "program_id")?,
            None => return Err(Refusal::Type("missing program_id".into())),
        };
        let user = match (
            opt_arg(&self.user_id, "user_id")?,
            opt_arg(&self.email, "email")?,
            opt_arg(&self.external_id, "external_id")?,
        ) {
            (Some(v), None, None) => UserRef::Id(v),
            (None, Some(v), None) => UserRef::Email(v),
            (None, None, Some(v)) => UserRef::ExternalId(v),
            _ => {
                return Err(invalid(
                    "user",
                    "give exactly one of user_id, email, external_id",
                ))
            }
        };
        let mut req = EnrollRequest::for_user(user, program_id);
        req.id = opt_arg(&self.id, "id")?;
        req.trigger = match &self.trigger {
            Some(t) if !t.is_none() => Some(convert::enum_value::<Trigger>(t, "trigger")?),
            _ => None,
        };
        req.added_by_user_id = opt_arg(&self.added_by_user_id, "added_by_user_id")?;
        req.added_by_program_id = opt_arg(&self.added_by_program_id, "added_by_program_id")?;
        req.partnership_id = opt_arg(&self.partnership_id, "partnership_id")?;
        req.timezone = opt_arg(&self.timezone, "timezone")?;
        req.start_at = convert::opt_timestamp(self.start_at.as_ref(), "start_at")?;
        req.allow_reenroll = truthy(&self.allow_reenroll)?;
        req.batch = truthy(&self.batch)?;
        req.override_prerequisites =
            opt_arg(&self.override_prerequisites, "override_prerequisites")?;
        Ok(req)
    }
}

/// Requests from an iterable of mappings (`enroll_many`); a refused one names its row.
pub(crate) fn enroll_rows(value: &Bound<'_, PyAny>) -> Result<Vec<EnrollRequest>, Refusal> {
    let iter = value.try_iter().map_err(|_| {
        Refusal::Type(format!(
            "requests must be an iterable of mappings, not {}",
            type_name(value)
        ))
    })?;
    let mut out = Vec::with_capacity(value.len().unwrap_or(0));
    for (row, item) in iter.enumerate() {
        let item = item?;
        let req = EnrollArgs::of_row(&item).and_then(|a| a.request());
        out.push(req.map_err(|e| e.in_row(row))?);
    }
    Ok(out)
}

/// The filters and pagination of `Store.list_page`, as Python objects.
pub(crate) struct ListArgs<'a, 'py> {
    /// `page` (ignored with `starting_after`).
    pub(crate) page: &'a Bound<'py, PyAny>,
    /// `per_page`.
    pub(crate) per_page: &'a Bound<'py, PyAny>,
    /// `user_id`.
    pub(crate) user_id: Option<String>,
    /// `program_id`.
    pub(crate) program_id: Option<String>,
    /// `status`.
    pub(crate) status: Option<String>,
    /// `trigger`.
    pub(crate) trigger: Option<&'a Bound<'py, PyAny>>,
    /// `enrolled_from`.
    pub(crate) enrolled_from: Option<&'a Bound<'py, PyAny>>,
    /// `enrolled_to`.
    pub(crate) enrolled_to: Option<&'a Bound<'py, PyAny>>,
    /// `completed_from`.
    pub(crate) completed_from: Option<&'a Bound<'py, PyAny>>,
    /// `completed_to`.
    pub(crate) completed_to: Option<&'a Bound<'py, PyAny>>,
    /// `order`.
    pub(crate) order: &'a Bound<'py, PyAny>,
    /// `starting_after`.
    pub(crate) starting_after: Option<String>,
}

impl ListArgs<'_, '_> {
    /// The core query, as `ListQuery::from_json` reads the same filters.
    pub(crate) fn query(self) -> Result<ListQuery, Refusal> {
        let trigger = match self.trigger {
            Some(t) if !t.is_none() => Some(convert::enum_value::<Trigger>(t, "trigger")?),
            _ => None,
        };
        let order = match convert::string(self.order, "order")?.as_str() {
            "oldest_first" => Order::OldestFirst,
            "newest_first" => Order::NewestFirst,
            other => {
                return Err(invalid(
                    "order",
                    format!("{other:?}: expected oldest_first or newest_first"),
                ))
            }
        };
        let per_page = convert::count(self.per_page, "per_page")?;
        let pagination = match self.starting_after {
            Some(after) => Pagination::Cursor {
                starting_after: Some(after),
                limit: per_page,
            },
            None => Pagination::Page {
                page: convert::count(self.page, "page")?,
                per_page,
            },
        };
        Ok(ListQuery {
            user_id: self.user_id,
            program_id: self.program_id,
            status: self.status,
            trigger,
            enrolled_from: convert::opt_timestamp(self.enrolled_from, "enrolled_from")?,
            enrolled_to: convert::opt_timestamp(self.enrolled_to, "enrolled_to")?,
            completed_from: convert::opt_timestamp(self.completed_from, "completed_from")?,
            completed_to: convert::opt_timestamp(self.completed_to, "completed_to")?,
            order,
            pagination,
        })
    }
}
