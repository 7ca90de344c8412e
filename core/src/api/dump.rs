//! Export and import of a whole database as JSON Lines, CSV export of enrollments, and online
//! backups.
//!
//! The export format (`enrollkit-export`, version 2; version 1 is still read) is one JSON object
//! per line:
//!
//! 1. `{"type": "header", "format": "enrollkit-export", "version": 2, "schema_version": N}`
//! 2. every user: `{"type": "user", ...}` (the fields of [`User`], then `created_at` and
//!    `updated_at`), by id;
//! 3. every program: `{"type": "program", ...}` (the fields of [`Program`]), by id;
//! 4. every enrollment: `{"type": "enrollment", ...}` (the canonical JSON of [`Enrollment`]
//!    plus `step_progress` (touched steps only) and `attempts`), in creation order;
//! 5. every history event: `{"type": "event", ...}` (the fields of [`Event`]), by sequence.
//!
//! Export streams from one read snapshot; import streams line by line in one transaction.
//! Importing an export into an empty database and exporting again gives the same bytes.
//! Imported records are checked as strictly as the operations that create them: ids, names,
//! vocabularies, references, and that every enrollment's counters, progress and attempts agree
//! with its steps and attempts.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::ops::BatchMode;
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{
    enrollment_fields, event_fields, Actor, Attempt, Enrollment, Event, FailureReason, Kind,
    Program, ProgramSpec, Status, StepProgress, Trigger, User, Wire,
};
use crate::domain::time::Timestamp;
use crate::domain::validate;
use crate::error::{Error, Failure, Result};
use crate::sqlite::SCHEMA_VERSION;
use crate::storage::{self, EnrollmentKey, Records, Refused, UserTimes, WriteMode};

/// The `format` of the export header.
pub const EXPORT_FORMAT: &str = "enrollkit-export";
/// The export format version this build writes. It reads this one and every earlier one:
/// version 1 lacked users' `created_at` and `updated_at`.
pub const EXPORT_VERSION: u64 = 2;

/// How many records of each type an export wrote or an import read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecordCounts {
    /// Users.
    pub users: u64,
    /// Programs.
    pub programs: u64,
    /// Enrollments.
    pub enrollments: u64,
    /// History events.
    pub events: u64,
}

/// A refused line of an import (or row of a roster: the line it starts on).
#[derive(Debug)]
pub struct ImportError {
    /// 1-based line number in the input.
    pub line: u64,
    /// Why the line was refused.
    pub error: Error,
}

/// The outcome of [`Store::import_jsonl`] and [`Store::enroll_csv`].
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Records written (all zero when nothing was committed).
    pub imported: RecordCounts,
    /// Refused lines, in input order.
    pub errors: Vec<ImportError>,
    /// Whether anything was committed: false when a line failed in
    /// [`BatchMode::AllOrNothing`].
    pub committed: bool,
}

impl serde::Serialize for ImportReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|e| json!({"line": e.line, "error": e.error.details()}))
            .collect();
        json!({"imported": self.imported, "errors": errors, "committed": self.committed})
            .serialize(s)
    }
}

/// Progress of a long export or import: records done and input bytes consumed (0 on export).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

fn write_line(out: &mut dyn Write, kind: &str, value: Value) -> Result<()> {
    let mut object = Map::new();
    object.insert("type".into(), Value::String(kind.into()));
    if let Value::Object(fields) = value {
        object.extend(fields);
    }
    // Writing a JSON value fails only when the output does.
    serde_json::to_writer(&mut *out, &Value::Object(object)).map_err(|e| unwritable(e.into()))?;
    out.write_all(b"\n").map_err(unwritable)
}

/// The error of an export that its output refused.
fn unwritable(e: std::io::Error) -> Error {
    Error::Storage(Failure::caused_by(
        format!("cannot write the export: {e}"),
        e,
    ))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    Ok(serde_json::to_value(v)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u64,
    schema_version: i64,
}

/// Declares the enrollment line's record from [`enrollment_fields`]: the canonical JSON of
/// [`Enrollment`] (the derived percents accepted and ignored) with the enrollment's step
/// progress and attempt records, and its conversion into the three.
macro_rules! declare_enrollment_record {
    ($($(#[$meta:meta])* $name:ident : $ty:ty
        $(=> $column:literal $(default $default:expr)?)?
        $(, then $($derived:ident),+)?;)*) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct EnrollmentRecord {
            #[serde(rename = "type")]
            _type: serde::de::IgnoredAny,
            $(
                $name: <$ty as Wire>::In,
                $($(#[allow(dead_code)] $derived: serde::de::IgnoredAny,)+)?
            )*
            #[serde(default)]
            step_progress: Vec<StepProgress>,
            #[serde(default)]
            attempt_records: Vec<Attempt>,
        }

        impl EnrollmentRecord {
            /// The enrollment in the vocabulary of its kind.
            fn enrollment(
                self,
            ) -> Result<(Enrollment, Vec<StepProgress>, Vec<Attempt>)> {
                let kind = self.kind;
                let e = Enrollment {
                    $($name: Wire::from_wire(self.$name, kind)?,)*
                };
                Ok((e, self.step_progress, self.attempt_records))
            }
        }
    };
}
enrollment_fields!(declare_enrollment_record);

/// Declares the event line's record from [`event_fields`]: the fields of [`Event`] after the
/// line's `type`, and its conversion into the event.
macro_rules! declare_event_record {
    ($(#[$meta:meta])* $record:ident {
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct EventRecord {
            #[serde(rename = "type")]
            _type: serde::de::IgnoredAny,
            $($name: $ty,)*
        }

        impl EventRecord {
            fn into_event(self) -> Event {
                Event {
                    $($name: self.$name,)*
                }
            }
        }
    };
}
event_fields!(declare_event_record);

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::validation(field, message)
}

fn parse_record<T: serde::de::DeserializeOwned>(what: &'static str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| invalid(what, e.to_string()))
}

impl EnrollmentRecord {
    fn into_parts(self) -> Result<(Enrollment, Vec<StepProgress>, Vec<Attempt>)> {
        let (mut enrollment, step_progress, attempts) = self.enrollment()?;
        // Ids in UUID form are kept in their `enr_` form, as `enroll` keeps them.
        enrollment.id = validate::enrollment_id("enrollment_id", &enrollment.id)?.into_owned();
        if let Some(previous) = &enrollment.previous_id {
            let previous = validate::enrollment_id("previous_id", previous)?.into_owned();
            enrollment.previous_id = Some(previous);
        }
        Ok((enrollment, step_progress, attempts))
    }
}

/// Import state carried from line to line.
struct Importer {
    /// Stamps imported users whose lines carry no times (format version 1).
    now: Timestamp,
    programs: HashMap<String, Arc<Program>>,
    counts: RecordCounts,
    saw_header: bool,
    /// Whether the database had no history events before the import.
    history_was_empty: bool,
}

/// One import line, parsed and checked as far as it can be without the database: the reader
/// thread's work, which overlaps the writer's (Store::import_jsonl).
enum Parsed {
    Header,
    /// A user, with the times its line carries.
    User(Box<(User, Option<UserTimes>)>),
    Program {
        spec: ProgramSpec,
        created_at: Timestamp,
        updated_at: Timestamp,
    },
    Enrollment(Box<(Enrollment, Vec<StepProgress>, Vec<Attempt>)>),
    Event(Event),
}

impl Parsed {
    fn user(&self) -> Option<&(User, Option<UserTimes>)> {
        match self {
            Parsed::User(user) => Some(user),
            _ => None,
        }
    }

    fn enrollment(&self) -> Option<&Enrollment> {
        match self {
            Parsed::Enrollment(parts) => Some(&parts.0),
            _ => None,
        }
    }

    fn event(&self) -> Option<&Event> {
        match self {
            Parsed::Event(ev) => Some(ev),
            _ => None,
        }
    }
}

/// Reads a line's type, then the line itself. An error in the type (or a line that is not
/// JSON) is the outer error; an error in the rest is the inner one, which the writer reports
/// only after checking that the header came first (`Importer::apply`).
fn parse_line(text: &str) -> Result<(String, Result<Parsed>)> {
    // The type first (the rest is skipped unparsed); the numerous user, enrollment and event
    // lines are then read straight into their records, the others through a JSON value.
    #[derive(Deserialize)]
    struct Tag {
        #[serde(rename = "type")]
        kind: String,
    }
    // As written by export; anything else takes the long way.
    const FAST: [&str; 3] = ["user", "enrollment", "event"];
    let fast = FAST.into_iter().find(|k| {
        text.strip_prefix("{\"type\":\"")
            .and_then(|t| t.strip_prefix(k))
            .is_some_and(|t| t.starts_with("\","))
    });
    let kind = match fast {
        Some(k) => k.to_owned(),
        None => {
            serde_json::from_str::<Tag>(text)
                .map_err(|e| invalid("line", format!("not an object with a \"type\": {e}")))?
                .kind
        }
    };
    // Enrollment and event records have a "type" field: they are always read from the text.
    let mut value = Value::Null;
    if fast.is_none() && !matches!(kind.as_str(), "enrollment" | "event") {
        value = untyped_value(text)?;
    }
    let parsed = match kind.as_str() {
        "header" => parse_header(value),
        "user" => parse_user(text, fast.is_some(), value),
        "program" => parse_program(value),
        "enrollment" => serde_json::from_str::<EnrollmentRecord>(text)
            .map_err(|e| invalid("enrollment", e.to_string()))
            .and_then(EnrollmentRecord::into_parts)
            .map(|parts| Parsed::Enrollment(Box::new(parts))),
        "event" => parse_event(text),
        other => Err(invalid("type", format!("unknown record type {other:?}"))),
    };
    Ok((kind, parsed))
}

/// A line as a JSON value without its `"type"` field.
fn untyped_value(text: &str) -> Result<Value> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| invalid("line", format!("malformed JSON: {e}")))?;
    if let Some(o) = value.as_object_mut() {
        o.remove("type");
    }
    Ok(value)
}

/// Takes field `name` out of `value` (an object), if it has it.
fn take_field(value: &mut Value, name: &str) -> Option<Value> {
    value.as_object_mut().and_then(|o| o.remove(name))
}

fn parse_header(value: Value) -> Result<Parsed> {
    let h: Header = parse_record("header", value)?;
    if h.format != EXPORT_FORMAT || !(1..=EXPORT_VERSION).contains(&h.version) {
        return Err(invalid(
            "header",
            format!(
                "format {} version {} is not {EXPORT_FORMAT} version 1 to {EXPORT_VERSION}",
                h.format, h.version
            ),
        ));
    }
    if h.schema_version > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: h.schema_version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(Parsed::Header)
}

/// The end of a user line as export writes it: `,"created_at":"<time>","updated_at":"<time>"}`
/// with times of [`EXPORTED_TIME_LEN`] characters; returns the two times' text and where the
/// tail starts.
fn exported_user_times(text: &str) -> Option<(&str, &str, usize)> {
    const CREATED: &str = ",\"created_at\":\"";
    const UPDATED: &str = "\",\"updated_at\":\"";
    const END: &str = "\"}";
    let len = CREATED.len() + UPDATED.len() + END.len() + 2 * EXPORTED_TIME_LEN;
    let start = text.len().checked_sub(len)?;
    let tail = text.get(start..)?;
    let created = tail.strip_prefix(CREATED)?;
    let (created, rest) = (
        created.get(..EXPORTED_TIME_LEN)?,
        created.get(EXPORTED_TIME_LEN..)?,
    );
    let updated = rest.strip_prefix(UPDATED)?;
    let (updated, rest) = (
        updated.get(..EXPORTED_TIME_LEN)?,
        updated.get(EXPORTED_TIME_LEN..)?,
    );
    (rest == END).then_some((created, updated, start))
}

/// Characters of a time as export writes it (`2026-01-15T10:00:00.000Z`).
const EXPORTED_TIME_LEN: usize = 24;

/// A user line; `fast` when it starts as export writes it, else `value` holds it. Its
/// `created_at` and `updated_at` are optional: exports of format version 1 have none, and the
/// import then stamps the user with its own time.
fn parse_user(text: &str, fast: bool, mut value: Value) -> Result<Parsed> {
    let times = |created: Option<Timestamp>, updated: Option<Timestamp>| match (created, updated) {
        (Some(created_at), Some(updated_at)) => Ok(Some(UserTimes {
            created_at,
            updated_at,
        })),
        (None, None) => Ok(None),
        _ => Err(invalid(
            "user",
            "created_at and updated_at come together or not at all",
        )),
    };
    let tail = fast.then(|| exported_user_times(text)).flatten();
    // Times written another way than export's take the JSON value's way.
    let direct = fast
        && (tail.is_some()
            || !(text.contains("\"created_at\"") || text.contains("\"updated_at\"")));
    let (user, times): (User, _) = if direct {
        // `User` has neither a "type" field nor the times: blank them out (same length, so that
        // error positions stay right) rather than go through a JSON value.
        let mut line = text.to_owned();
        let end = "{\"type\":\"user\",".len();
        line.replace_range(1..end, &" ".repeat(end - 1));
        let mut given = None;
        if let Some((created, updated, tail)) = tail {
            let parse = |field: &'static str, text: &str| {
                Timestamp::parse(text).map_err(|e| invalid(field, e.to_string()))
            };
            given = times(
                Some(parse("created_at", created)?),
                Some(parse("updated_at", updated)?),
            )?;
            line.replace_range(tail..text.len() - 1, &" ".repeat(text.len() - 1 - tail));
        }
        let user = serde_json::from_str(&line).map_err(|e| invalid("user", e.to_string()))?;
        (user, given)
    } else {
        if value.is_null() {
            value = untyped_value(text)?;
        }
        let mut time = |name: &'static str| -> Result<Option<Timestamp>> {
            match take_field(&mut value, name) {
                Some(v) => parse_record(name, v),
                None => Ok(None),
            }
        };
        let (created, updated) = (time("created_at")?, time("updated_at")?);
        (parse_record("user", value)?, times(created, updated)?)
    };
    validate::user(&user)?;
    Ok(Parsed::User(Box::new((user, times))))
}

fn parse_program(mut value: Value) -> Result<Parsed> {
    let mut time = |name: &'static str| -> Result<Timestamp> {
        parse_record(name, take_field(&mut value, name).unwrap_or(Value::Null))
    };
    let (created_at, updated_at) = (time("created_at")?, time("updated_at")?);
    let spec: ProgramSpec = parse_record("program", value)?;
    validate::program(&spec)?;
    Ok(Parsed::Program {
        spec,
        created_at,
        updated_at,
    })
}

fn parse_event(text: &str) -> Result<Parsed> {
    let r: EventRecord = serde_json::from_str(text).map_err(|e| invalid("event", e.to_string()))?;
    let mut event = r.into_event();
    if event.seq < 1 {
        return Err(invalid("seq", "sequence numbers start at 1"));
    }
    event.enrollment_id =
        validate::enrollment_id("enrollment_id", &event.enrollment_id)?.into_owned();
    validate::id("user_id", &event.user_id)?;
    validate::id("program_id", &event.program_id)?;
    validate::code("action", &event.action)?;
    Actor::parse(&event.actor)?;
    Ok(Parsed::Event(event))
}

/// A line as the reader thread hands it to the writer.
struct ReadLine {
    /// 1-based line number.
    number: u64,
    /// Bytes read up to the end of this line.
    bytes: u64,
    /// `None` for a blank line.
    record: Option<Result<(String, Result<Parsed>)>>,
}

/// Lines per message from the reader thread: one hand-over (and wake-up) per line cost more
/// than the parsing it overlapped.
const LINES_PER_BATCH: usize = 512;

/// The reader thread: reads and parses lines and sends them to `out` in batches, until the end
/// of the input, a read error (sent as the last message) or the writer hanging up. The writer
/// sends the records it is done with back through `done`, so that they are freed by the
/// thread that allocated them: memory freed by another thread goes through the allocator's
/// slow cross-thread path.
fn read_lines(
    input: &mut (dyn BufRead + Send),
    out: &SyncSender<Result<Vec<ReadLine>>>,
    done: &Receiver<Vec<(String, Parsed)>>,
) {
    let (mut number, mut bytes) = (0u64, 0u64);
    let mut buf = String::new();
    let mut batch = Vec::with_capacity(LINES_PER_BATCH);
    loop {
        buf.clear();
        let n = match input.read_line(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let error = Error::Storage(Failure::caused_by(
                    format!("cannot read the import at line {}: {e}", number + 1),
                    e,
                ));
                let _ = out.send(Ok(batch)).and_then(|()| out.send(Err(error)));
                return;
            }
        };
        if n > 0 {
            number += 1;
            bytes += n as u64;
            let text = buf.trim_end_matches(['\n', '\r']);
            let record = (!text.trim().is_empty()).then(|| parse_line(text));
            batch.push(ReadLine {
                number,
                bytes,
                record,
            });
        }
        if n == 0 || batch.len() == LINES_PER_BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(LINES_PER_BATCH));
            if out.send(Ok(full)).is_err() || n == 0 {
                return;
            }
            while let Ok(used) = done.try_recv() {
                drop(used);
            }
        }
    }
}

impl Importer {
    /// The times a user line carries, or the import's time for both.
    fn times(&self, given: Option<UserTimes>) -> UserTimes {
        given.unwrap_or(UserTimes::at(self.now))
    }

    /// Checks one parsed line of type `kind` and writes it, or leaves it to the caller to
    /// write with others ([`Applied::Waiting`]). Every check comes before the first write; a
    /// line that writes several rows does so in a savepoint, so a refused line leaves nothing.
    fn apply(
        &mut self,
        tx: &mut dyn storage::Write,
        kind: &str,
        parsed: Result<&Parsed>,
    ) -> Result<Applied> {
        if !self.saw_header && kind != "header" {
            return Err(invalid(
                "header",
                "the first line must be the export header",
            ));
        }
        if kind == "header" && self.saw_header {
            return Err(invalid("header", "a second header"));
        }
        let parsed = parsed?;
        match parsed {
            Parsed::Header => self.saw_header = true,
            Parsed::User(_) => {
                // Everything about a user is checked by the write: a user whose id, email or
                // external id is taken fails its statement, and is then refused on its own.
                self.counts.users += 1;
                return Ok(Applied::Waiting);
            }
            Parsed::Program {
                spec,
                created_at,
                updated_at,
            } => {
                let (created_at, updated_at) = (*created_at, *updated_at);
                if tx.program(&spec.id).is_ok() {
                    return Err(Error::Conflict(format!(
                        "program {} already exists",
                        spec.id
                    )));
                }
                tx.all_or_nothing(&mut |tx| {
                    tx.write_program(spec, created_at, true)?;
                    tx.set_program_times(&spec.id, created_at, updated_at)
                })?;
                let program = tx.program(&spec.id)?;
                self.programs.insert(spec.id.clone(), program);
                self.counts.programs += 1;
            }
            Parsed::Enrollment(parts) => {
                let (e, steps, attempts) = &**parts;
                let program = match self.programs.get(&e.program_id) {
                    Some(p) => p,
                    None => {
                        let p = tx.program(&e.program_id)?;
                        self.programs.entry(e.program_id.clone()).or_insert(p)
                    }
                };
                lifecycle::check_restored(program, e, steps, attempts)?;
                // A current enrollment with this id fails the insert (unique index); a deleted
                // one is only in the history (which, in an import into a database without
                // history, only earlier event lines can have filled).
                let history = !self.history_was_empty || self.counts.events > 0;
                if history {
                    // (An enrollment after event lines, which export never writes: the look-up
                    // restores the history's indexes first.)
                    if tx.enrollment_id_in_history(&e.id)? {
                        return Err(Error::Conflict(format!("enrollment id {} is taken", e.id)));
                    }
                }
                if can_wait(parsed) {
                    self.counts.enrollments += 1;
                    return Ok(Applied::Waiting);
                }
                // Several records, all or nothing, so that a refused line leaves none behind.
                tx.all_or_nothing(&mut |tx| {
                    let key = write_enrollment(tx, e)?;
                    for s in steps {
                        tx.write_step_progress(key, s)?;
                    }
                    for a in attempts {
                        tx.insert_attempt(key, a)?;
                    }
                    Ok(())
                })?;
                self.counts.enrollments += 1;
            }
            Parsed::Event(_) => {
                // Export writes every enrollment line before the first event line: the
                // enrollment indexes can be restored now, while the reader thread is busy with
                // the event lines, rather than at the end, when it has nothing to do. (Any
                // later enrollment line is then indexed as it is written.)
                tx.restore_indexes(Records::Enrollments)?;
                self.counts.events += 1;
                return Ok(Applied::Waiting);
            }
        }
        Ok(Applied::Written)
    }

    /// Writes the `waiting` lines, [`storage::Write::batch_rows`] at once when there are that many,
    /// and moves them to `used`. A batch that is refused writes none of its records; they are
    /// then written one by one, and each refused line is added to `errors` (and no longer
    /// counted). Only a storage failure ends the import.
    fn write_waiting(
        &mut self,
        tx: &mut dyn storage::Write,
        waiting: &mut Vec<Waiting>,
        used: &mut Vec<(String, Parsed)>,
        errors: &mut Vec<ImportError>,
    ) -> Result<()> {
        let batch = tx.batch_rows();
        let together = if let Some(es) = full(waiting, batch, Parsed::enrollment) {
            tx.insert_enrollments(&es)?
        } else if let Some(events) = full(waiting, batch, Parsed::event) {
            tx.insert_events(&events)?
        } else if let Some(users) = full(waiting, batch, Parsed::user) {
            let rows: Vec<_> = users.iter().map(|(u, t)| (u, self.times(*t))).collect();
            tx.insert_users(&rows)?
        } else {
            false
        };
        if !together {
            for w in waiting.iter() {
                let written = match &w.parsed {
                    Parsed::Enrollment(parts) => write_enrollment(tx, &parts.0).map(drop),
                    Parsed::Event(ev) => write_event(tx, ev),
                    Parsed::User(user) => tx.upsert_user(&user.0, self.times(user.1), false),
                    _ => Ok(()),
                };
                match written {
                    Ok(()) => {}
                    Err(e) if e.is_storage() => return Err(e),
                    Err(error) => {
                        match w.parsed {
                            Parsed::Enrollment(_) => self.counts.enrollments -= 1,
                            Parsed::User(_) => self.counts.users -= 1,
                            _ => self.counts.events -= 1,
                        }
                        errors.push(ImportError {
                            line: w.line,
                            error,
                        });
                    }
                }
            }
        }
        used.extend(waiting.drain(..).map(|w| (w.kind, w.parsed)));
        Ok(())
    }
}

/// What [`Importer::apply`] did with a line.
enum Applied {
    /// Wrote it (or it writes nothing).
    Written,
    /// Checked it: a user, an enrollment without steps or attempts, or an event, to be
    /// written with others of its kind ([`Importer::write_waiting`]).
    Waiting,
}

/// Whether a line of this record can wait to be written ([`Applied::Waiting`]).
fn can_wait(parsed: &Parsed) -> bool {
    match parsed {
        Parsed::Enrollment(parts) => parts.1.is_empty() && parts.2.is_empty(),
        Parsed::Event(_) | Parsed::User(_) => true,
        _ => false,
    }
}

/// The records of `waiting` that `pick` picks, when there are `batch` and it picks each of
/// them (they are all of its kind); else `None`.
fn full<'a, T>(
    waiting: &'a [Waiting],
    batch: usize,
    pick: impl Fn(&'a Parsed) -> Option<&'a T>,
) -> Option<Vec<&'a T>> {
    if waiting.len() != batch {
        return None;
    }
    waiting.iter().map(|w| pick(&w.parsed)).collect()
}

/// A checked line that waits to be written ([`Applied::Waiting`]).
struct Waiting {
    line: u64,
    kind: String,
    parsed: Parsed,
}

/// Inserts an imported enrollment; an unknown user is `not_found`.
fn write_enrollment(tx: &mut dyn storage::Write, e: &Enrollment) -> Result<EnrollmentKey> {
    crate::api::ops::inserted(e, tx.insert_enrollment(e)?)
}

/// Inserts an imported event; a sequence number in use is a `conflict`.
fn write_event(tx: &mut dyn storage::Write, ev: &Event) -> Result<()> {
    match tx.insert_event(ev)? {
        Ok(()) => Ok(()),
        Err(Refused::IdTaken) => Err(Error::Conflict(format!("event {} already exists", ev.seq))),
        Err(other) => Err(Error::Conflict(format!(
            "event {} was refused: {other:?}",
            ev.seq
        ))),
    }
}

impl Store {
    /// Writes the whole database to `out` in the export format (see the module docs), from one
    /// consistent snapshot. `progress` (if any) is called with the records written so far.
    pub fn export_jsonl(
        &self,
        out: &mut dyn Write,
        mut progress: Option<Progress<'_>>,
    ) -> Result<RecordCounts> {
        self.read(|tx| {
            let mut counts = RecordCounts::default();
            let mut tick = |counts: &RecordCounts| {
                let n = counts.users + counts.programs + counts.enrollments + counts.events;
                if n % 10_000 == 0 {
                    if let Some(p) = progress.as_mut() {
                        p(n, 0);
                    }
                }
            };
            write_line(
                out,
                "header",
                json!({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "schema_version": SCHEMA_VERSION}),
            )?;
            let users = |after: Option<&str>| tx.users_with_times(after, 1000);
            for_each_by_id(users, |(u, _)| &u.id, |(u, times)| {
                let mut value = to_value(u)?;
                if let Value::Object(fields) = &mut value {
                    fields.insert("created_at".into(), to_value(&times.created_at)?);
                    fields.insert("updated_at".into(), to_value(&times.updated_at)?);
                }
                write_line(out, "user", value)?;
                counts.users += 1;
                tick(&counts);
                Ok(())
            })?;
            let programs = |after: Option<&str>| tx.programs(None, None, after, 1000);
            for_each_by_id(programs, |p| &p.id, |p| {
                write_line(out, "program", to_value(p)?)?;
                counts.programs += 1;
                tick(&counts);
                Ok(())
            })?;
            tx.for_each_enrollment_with_records(false, &mut |e, mut steps, attempts, _| {
                let mut value = to_value(&e)?;
                steps.sort_by(|a, b| a.step_id.cmp(&b.step_id));
                if let Value::Object(o) = &mut value {
                    o.insert("step_progress".into(), to_value(&steps)?);
                    o.insert("attempt_records".into(), to_value(&attempts)?);
                }
                write_line(out, "enrollment", value)?;
                counts.enrollments += 1;
                tick(&counts);
                Ok(())
            })?;
            let mut after = 0;
            loop {
                let events = tx.events_after(after, None, 1000)?;
                let Some(last) = events.last() else { break };
                after = last.seq;
                for ev in &events {
                    write_line(out, "event", to_value(ev)?)?;
                    counts.events += 1;
                    tick(&counts);
                }
            }
            out.flush().map_err(unwritable)?;
            Ok(counts)
        })
    }

    /// Imports an export (see the module docs) line by line in one transaction.
    ///
    /// Every line is checked as strictly as the operation that would create it; a refused line
    /// is reported with its line number. In [`BatchMode::AllOrNothing`] (the default) any
    /// refused line rolls everything back (`committed` is false); in
    /// [`BatchMode::BestEffort`] refused lines are skipped. Records must not clash with
    /// existing ones (`conflict`). Only storage failures and unreadable input fail the call.
    ///
    /// An import into an empty database file (no users, programs, enrollments nor events) that
    /// no other connection has open takes the file for itself until it ends: it writes through
    /// a rollback journal instead of the WAL, faster for large files, and other
    /// connections (other processes, and this store's own reads from other threads) wait for
    /// it up to their busy timeout instead of reading the empty database. Any other import
    /// leaves the database readable by others throughout.
    pub fn import_jsonl(
        &self,
        input: &mut (dyn BufRead + Send),
        mode: BatchMode,
        mut progress: Option<Progress<'_>>,
    ) -> Result<ImportReport> {
        let empty = self.read(|tx| {
            for records in Records::ALL {
                if tx.has_any(records)? {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        // A refused import rolls the transaction back (no import-wide all-or-nothing section:
        // SQLite makes nested savepoints cost time proportional to everything written before
        // them).
        let mut input = Some(input);
        self.write_as(WriteMode::Load { into_empty: empty }, |tx| {
            // The input is read as it is written: it cannot be read again.
            let input = input.take().ok_or_else(|| {
                Error::Busy("the import was read by a transaction that failed".into())
            })?;
            let mut importer = Importer {
                now: tx.now(),
                programs: HashMap::new(),
                counts: RecordCounts::default(),
                saw_header: false,
                history_was_empty: !tx.has_any(Records::Events)?,
            };
            tx.defer_indexes()?;
            let mut errors = Vec::new();
            let (mut line, mut bytes) = (0u64, 0u64);
            // A reader thread reads and parses lines while this one writes them: parsing is a
            // large share of an import's work, and it needs no database.
            std::thread::scope(|scope| -> Result<()> {
                let (sender, batches) = std::sync::mpsc::sync_channel(4);
                let (give_back, done) = std::sync::mpsc::sync_channel(4);
                let reader = scope.spawn(move || read_lines(input, &sender, &done));
                let written = (|| {
                    // User, enrollment and event lines wait to be written several to a
                    // statement; they are written before the next line is applied when they
                    // are that many, or when it is of another kind (or an enrollment with
                    // steps or attempts), and at the end.
                    let mut waiting: Vec<Waiting> = Vec::with_capacity(tx.batch_rows());
                    // Returning early drops `batches`, which stops the reader.
                    for batch in batches {
                        let mut used = Vec::with_capacity(LINES_PER_BATCH);
                        for read in batch? {
                            (line, bytes) = (read.number, read.bytes);
                            let outcome = match read.record {
                                None => Ok(()),
                                Some(Err(e)) => Err(e),
                                Some(Ok((kind, Err(e)))) => {
                                    importer.apply(tx, &kind, Err(e)).map(drop)
                                }
                                Some(Ok((kind, Ok(parsed)))) => {
                                    let write_first = waiting.len() == tx.batch_rows()
                                        || waiting
                                            .first()
                                            .is_some_and(|w| w.kind != kind || !can_wait(&parsed));
                                    if write_first {
                                        importer.write_waiting(
                                            tx,
                                            &mut waiting,
                                            &mut used,
                                            &mut errors,
                                        )?;
                                    }
                                    match importer.apply(tx, &kind, Ok(&parsed)) {
                                        Ok(Applied::Waiting) => {
                                            waiting.push(Waiting { line, kind, parsed });
                                            Ok(())
                                        }
                                        applied => {
                                            used.push((kind, parsed));
                                            applied.map(drop)
                                        }
                                    }
                                }
                            };
                            match outcome {
                                Ok(()) => {}
                                Err(e) if e.is_storage() => return Err(e),
                                Err(error) => errors.push(ImportError { line, error }),
                            }
                            if line % 10_000 == 0 {
                                if let Some(p) = progress.as_mut() {
                                    p(line, bytes);
                                }
                            }
                        }
                        // Full means the reader is behind on freeing: free them here.
                        let _ = give_back.try_send(used);
                    }
                    importer.write_waiting(tx, &mut waiting, &mut Vec::new(), &mut errors)
                })();
                // The scope only waits for `read_lines` to return; joining also waits for the
                // thread's exit (its thread-local destructors), so nothing it allocated is
                // still live when the import returns. A reader panic is re-raised here.
                if let Err(panic) = reader.join() {
                    std::panic::resume_unwind(panic);
                }
                written
            })?;
            // Lines that waited report their refusals late.
            errors.sort_by_key(|e| e.line);
            if !importer.saw_header && errors.is_empty() && line > 0 {
                errors.push(ImportError {
                    line: 1,
                    error: invalid("header", "no export header"),
                });
            }
            if let Some(p) = progress.as_mut() {
                p(line, bytes);
            }
            let committed = errors.is_empty() || mode == BatchMode::BestEffort;
            if !committed {
                tx.discard();
            }
            let imported = if committed {
                importer.counts
            } else {
                RecordCounts::default()
            };
            Ok(ImportReport {
                imported,
                errors,
                committed,
            })
        })
    }

    /// How many users, programs, enrollments and history events the database holds.
    pub fn stats(&self) -> Result<RecordCounts> {
        self.read(|tx| {
            Ok(RecordCounts {
                users: tx.count(Records::Users)?,
                programs: tx.count(Records::Programs)?,
                enrollments: tx.count(Records::Enrollments)?,
                events: tx.count(Records::Events)?,
            })
        })
    }

    /// Writes every enrollment (optionally of one program) as CSV: a header row, then one row
    /// per enrollment with its main fields, statuses in the program's vocabulary.
    pub fn export_enrollments_csv(
        &self,
        out: &mut dyn Write,
        program_id: Option<&str>,
    ) -> Result<u64> {
        const COLUMNS: [&str; 16] = [
            "id",
            "user_id",
            "program_id",
            "kind",
            "status",
            "trigger",
            "enrolled_at",
            "started_at",
            "completed_at",
            "failed_at",
            "progress_percent",
            "steps_delivered",
            "steps_completed",
            "steps_total",
            "best_score",
            "passed",
        ];
        self.read(|tx| {
            let fail = |e: std::io::Error| {
                Error::Storage(Failure::caused_by(format!("cannot write the CSV: {e}"), e))
            };
            writeln!(out, "{}", COLUMNS.join(",")).map_err(fail)?;
            let mut rows = 0;
            tx.for_each_enrollment(&mut |e| {
                if program_id.is_some_and(|p| p != e.program_id) {
                    return Ok(());
                }
                let t = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
                let cells = [
                    e.id.clone(),
                    e.user_id.clone(),
                    e.program_id.clone(),
                    e.kind.to_string(),
                    e.status_name().to_owned(),
                    e.trigger.to_string(),
                    e.enrolled_at.to_string(),
                    t(e.started_at),
                    t(e.completed_at),
                    t(e.failed_at),
                    e.progress_percent.to_string(),
                    e.steps_delivered.to_string(),
                    e.steps_completed.to_string(),
                    e.steps_total.to_string(),
                    e.best_score.map(|s| s.to_string()).unwrap_or_default(),
                    e.passed.map(|p| p.to_string()).unwrap_or_default(),
                ];
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                writeln!(out, "{}", line.join(",")).map_err(fail)?;
                rows += 1;
                Ok(())
            })?;
            out.flush().map_err(fail)?;
            Ok(rows)
        })
    }

    /// Rewrites the database so that nothing deleted or overwritten is left in it (after
    /// [`Store::erase_user`], say): SQLite checkpoints the WAL, leaving it empty, rebuilds the
    /// file (`VACUUM`, which needs free disk space about the file's size and holds the writer
    /// meanwhile) and checkpoints again; PostgreSQL vacuums the tables. `busy` when another
    /// connection keeps the WAL from being emptied.
    pub fn compact(&self) -> Result<()> {
        self.backend().compact()
    }

    /// Copies the database to a new file `dest` with SQLite's backup API, from one consistent
    /// snapshot, while other connections and processes go on writing. `dest` must not exist
    /// (`conflict`).
    pub fn backup(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(Error::Conflict(format!(
                "{} already exists",
                dest.display()
            )));
        }
        self.read(|tx| tx.copy_to(dest))
    }
}

/// A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Calls `each` for every record, in id order: `page(after)` returns the next records after the
/// id `after` (from the start when `None`), none at the end.
fn for_each_by_id<T>(
    mut page: impl FnMut(Option<&str>) -> Result<Vec<T>>,
    id: impl Fn(&T) -> &String,
    mut each: impl FnMut(&T) -> Result<()>,
) -> Result<()> {
    let mut after: Option<String> = None;
    loop {
        let records = page(after.as_deref())?;
        let Some(last) = records.last() else {
            return Ok(());
        };
        after = Some(id(last).clone());
        records.iter().try_for_each(&mut each)?;
    }
}
