//! Row-level SQL for SQLite, one module per table (users, programs, enrollments, steps and
//! attempts, events) plus what checks and reports read. No rules live here:
//! [`crate::lifecycle`] decides, this module stores.

use std::sync::LazyLock;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Row};

use crate::domain::model::{
    enrollment_fields, Assessment, Attempt, Enrollment, Event, FailureReason, Kind, Prior, Program,
    ProgramSpec, ProgramState, Status, Step, StepProgress, StepStatus, Trigger, User, UserRef,
};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::storage::{NewEvent, Refused, StatusTotals, UserTimes};

// Macros are textual: the modules that define some (`users`, `enrollments`) come first.
#[macro_use]
mod users;
#[macro_use]
mod enrollments;
mod checks;
mod events;
mod programs;
mod reports;
mod steps;
#[cfg(test)]
mod tests;

pub(crate) use checks::*;
pub(crate) use enrollments::*;
pub(crate) use events::*;
pub(crate) use programs::*;
pub(crate) use reports::*;
pub(crate) use steps::*;
pub(crate) use users::*;

/// Statements taken from the connection's statement cache once and kept for reuse, for loops
/// that run the same few statements for every row (bulk enrollment, imports): rusqlite's
/// cache copies and hashes a statement's SQL text when it is taken and hashes it again when
/// it is given back, once per row for work that needs none. Single operations use a fresh
/// `Held`, which costs what the cache costs.
pub(crate) struct Held<'c> {
    conn: &'c Connection,
    stmts: Vec<(&'static str, CachedStatement<'c>)>,
}

impl<'c> Held<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Held<'c> {
        Held {
            conn,
            stmts: Vec::new(),
        }
    }

    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// The prepared statement for `sql`, taken from the cache on first use.
    fn stmt(&mut self, sql: &'static str) -> Result<&mut CachedStatement<'c>> {
        let i = match self.stmts.iter().position(|(s, _)| *s == sql) {
            Some(i) => i,
            None => {
                self.stmts.push((sql, self.conn.prepare_cached(sql)?));
                self.stmts.len() - 1
            }
        };
        Ok(&mut self.stmts[i].1)
    }
}

pub(crate) fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_millis)
}

pub(super) fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::millis)
}

pub(super) fn bad_row(what: &str, value: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("stored {what} {value} is not valid").into(),
    )
}

pub(crate) fn kind_code(kind: Kind) -> i64 {
    match kind {
        Kind::Course => 0,
        Kind::Certification => 1,
        Kind::Track => 2,
    }
}

pub(super) fn kind_from_code(code: i64) -> rusqlite::Result<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| kind_code(*k) == code)
        .ok_or_else(|| bad_row("kind", code))
}

pub(super) fn status_from_code(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or_else(|| bad_row("status", code))
}

pub(crate) fn step_status_code(s: StepStatus) -> i64 {
    StepStatus::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64
}

pub(super) fn step_status_from_code(code: i64) -> rusqlite::Result<StepStatus> {
    usize::try_from(code)
        .ok()
        .and_then(|i| StepStatus::ALL.get(i).copied())
        .ok_or_else(|| bad_row("step status", code))
}

pub(super) fn parse_col<T>(text: String, parse: fn(&str) -> Result<T>) -> rusqlite::Result<T> {
    parse(&text).map_err(|_| bad_row("value", text))
}

/// Runs `f` inside a savepoint (batches and imports refuse one row without losing the others):
/// released on success, rolled back on error.
pub(crate) fn savepoint<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let run = |sql: &str| -> Result<()> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    };
    run("SAVEPOINT row")?;
    match f() {
        Ok(v) => {
            run("RELEASE row")?;
            Ok(v)
        }
        Err(e) => {
            run("ROLLBACK TO row")?;
            run("RELEASE row")?;
            Err(e)
        }
    }
}

/// A text value borrowed from `s`.
pub(super) fn str_value(s: &str) -> ValueRef<'_> {
    ValueRef::Text(s.as_bytes())
}

/// An optional text value borrowed from `s`: NULL when absent.
pub(super) fn opt_str_value(s: &Option<String>) -> ValueRef<'_> {
    s.as_deref().map_or(ValueRef::Null, str_value)
}

/// `into` followed by `rows` tuples of `params` placeholders.
pub(super) fn values_insert(into: &str, params: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; params].join(","));
    format!("{into}{}", vec![tuple; rows].join(","))
}

/// Binds `values` to parameters `offset + 1` onwards of a statement whose parameters are all
/// NULL (one that [`run_cleared`] runs, or one fresh from the statement cache): NULL values
/// are not bound again.
pub(super) fn bind_values<'v>(
    stmt: &mut CachedStatement<'_>,
    offset: usize,
    values: impl IntoIterator<Item = ValueRef<'v>>,
) -> rusqlite::Result<()> {
    for (i, value) in values.into_iter().enumerate() {
        if value != ValueRef::Null {
            stmt.raw_bind_parameter(offset + i + 1, ToSqlOutput::Borrowed(value))?;
        }
    }
    Ok(())
}

/// Binds `stmt`'s parameters with `bind` and runs it, then sets every parameter back to NULL,
/// whether binding or running failed or not. Its parameters are then all NULL whenever `bind`
/// starts (a statement from rusqlite's cache is cleared as well), so `bind` leaves NULL values
/// unbound ([`bind_values`]): most of a typical row's optional values are NULL. Clearing
/// right away also frees SQLite's copies of the bound text while they are the latest
/// allocations, which malloc frees for less than when each parameter is bound again.
pub(super) fn run_cleared<'c>(
    stmt: &mut CachedStatement<'c>,
    bind: impl FnOnce(&mut CachedStatement<'c>) -> rusqlite::Result<()>,
) -> Result<()> {
    let done = bind(stmt).and_then(|()| stmt.raw_execute());
    stmt.clear_bindings();
    done?;
    Ok(())
}
