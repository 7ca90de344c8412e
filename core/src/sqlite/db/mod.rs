//! Row-level SQL for SQLite, one module per table (users, programs, enrollments, steps and
//! attempts, events) plus what checks and reports read. No rules live here:
//! [`crate::lifecycle`] decides, this module stores.

use std::sync::LazyLock;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Row};

use crate::domain::model::{
    attempt_fields, enrollment_fields, event_fields, step_progress_fields, user_fields, Assessment,
    Attempt, Enrollment, Event, FailureReason, Kind, Prior, Program, ProgramSpec, ProgramState,
    Status, Step, StepProgress, StepStatus, Trigger, User, UserRef,
};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::storage::{NewEvent, Refused, StatusTotals, UserTimes};

/// The [`Column`] a field table's `as` names (nothing: [`Plain`]).
macro_rules! column_type {
    () => {
        Plain
    };
    (millis) => {
        Millis
    };
    (code) => {
        Code
    };
    (json) => {
        Json
    };
}

/// [`StoredRecord`] for a record, from its field table: `user_fields!(stored_record)`.
macro_rules! stored_record {
    ($(#[$meta:meta])* $record:ident {
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        impl StoredRecord for $record {
            const COLUMNS: &'static [&'static str] = &[$($column),*];
            #[cfg(test)]
            const FIELDS: &'static [&'static str] = &[$(stringify!($name)),*];
            type Values<'a> = [ToSqlOutput<'a>; [$($column),*].len()];

            fn values(&self) -> rusqlite::Result<Self::Values<'_>> {
                Ok([$(<column_type!($($how)?) as Column<$ty>>::value(&self.$name)?,)*])
            }

            fn read(r: &Row<'_>, first: usize) -> rusqlite::Result<$record> {
                let mut i = first;
                let mut next = || {
                    i += 1;
                    i - 1
                };
                Ok($record {
                    $($name: <column_type!($($how)?) as Column<$ty>>::read(
                        r,
                        next(),
                        stringify!($name),
                    )?,)*
                })
            }
        }
    };
}

/// A record's columns from its field table, as one literal for `concat!`:
/// `concat!("SELECT ", user_fields!(column_list), " FROM users")`.
macro_rules! column_list {
    ($(#[$meta:meta])* $record:ident {
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        comma_separated!($($column),*)
    };
}

/// [`column_list`] without the first column (the key, which an event's INSERT leaves to
/// SQLite).
macro_rules! column_list_after_key {
    ($(#[$meta:meta])* $record:ident {
        $(#[$kmeta:meta])* $key:ident : $kty:ty => $kcolumn:literal $(as $khow:ident)?;
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        comma_separated!($($column),*)
    };
}

/// One `?` per column of a record's field table, as one literal for `concat!`: `?, ?, ?`.
macro_rules! column_params {
    ($(#[$meta:meta])* $record:ident {
        $(#[$kmeta:meta])* $key:ident : $kty:ty => $kcolumn:literal $(as $khow:ident)?;
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        concat!("?" $(, replace_column!($column, ", ?"))*)
    };
}

/// `column = excluded.column, ` for every column of a record's field table but the first (the
/// key), as one literal for an upsert's `DO UPDATE SET` (which then names its own columns).
macro_rules! set_excluded_after_key {
    ($(#[$meta:meta])* $record:ident {
        $(#[$kmeta:meta])* $key:ident : $kty:ty => $kcolumn:literal $(as $khow:ident)?;
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        concat!($($column, " = excluded.", $column, ", "),*)
    };
}

/// Literals joined with `, `, as one literal.
macro_rules! comma_separated {
    ($first:literal $(, $rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}

/// `$text`, once per `$column`.
macro_rules! replace_column {
    ($column:literal, $text:literal) => {
        $text
    };
}

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

    /// The prepared statement for `sql`, taken from the cache on first use. A statement's
    /// text is one `'static` string, so it is found by its address first: comparing the text
    /// itself would read all of it (hundreds of bytes) for every row.
    fn stmt(&mut self, sql: &'static str) -> Result<&mut CachedStatement<'c>> {
        let same = |s: &&str| std::ptr::eq(*s, sql) || *s == sql;
        let i = match self.stmts.iter().position(|(s, _)| same(s)) {
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

pub(super) fn bad_row(what: &str, value: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("stored {what} {value} is not valid").into(),
    )
}

pub(crate) fn kind_code(kind: Kind) -> i64 {
    kind.code()
}

pub(super) fn kind_from_code(code: i64) -> rusqlite::Result<Kind> {
    Kind::from_code(code).ok_or_else(|| bad_row("kind", code))
}

pub(super) fn status_from_code(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or_else(|| bad_row("status", code))
}

pub(crate) fn step_status_code(s: StepStatus) -> i64 {
    s.code()
}

pub(super) fn step_status_from_code(code: i64) -> rusqlite::Result<StepStatus> {
    StepStatus::from_code(code).ok_or_else(|| bad_row("step status", code))
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
    bind_outputs(stmt, offset, values.into_iter().map(ToSqlOutput::Borrowed))
}

/// [`bind_values`] for values that may be owned ([`StoredRecord::values`]).
pub(super) fn bind_outputs<'v>(
    stmt: &mut CachedStatement<'_>,
    offset: usize,
    values: impl IntoIterator<Item = ToSqlOutput<'v>>,
) -> rusqlite::Result<()> {
    for (i, value) in values.into_iter().enumerate() {
        let null = matches!(
            value,
            ToSqlOutput::Borrowed(ValueRef::Null) | ToSqlOutput::Owned(SqlValue::Null)
        );
        if !null {
            stmt.raw_bind_parameter(offset + i + 1, value)?;
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

/// A record stored one per row, whose columns, values and reader `stored_record!` generates
/// from its field table (`user_fields!` and the others in `domain::model`).
pub(super) trait StoredRecord: Sized {
    /// Its columns, in the order of its fields (and of [`StoredRecord::values`]).
    const COLUMNS: &'static [&'static str];
    /// The fields' names, one per column.
    #[cfg(test)]
    const FIELDS: &'static [&'static str];
    /// The values of its columns: one per column, in [`StoredRecord::COLUMNS`] order.
    type Values<'a>: IntoIterator<Item = ToSqlOutput<'a>>
    where
        Self: 'a;
    /// The values to bind, borrowed from the record where they can be (a JSON column's text
    /// is made here).
    fn values(&self) -> rusqlite::Result<Self::Values<'_>>;
    /// The record from the row's columns `first` onwards, in [`StoredRecord::COLUMNS`] order.
    fn read(r: &Row<'_>, first: usize) -> rusqlite::Result<Self>;
}

/// How a column stores a value of type `T`: what a field table names after `as` (nothing for
/// [`Plain`]), implemented for every type it is given.
pub(super) trait Column<T> {
    /// The value to bind for `v`.
    fn value(v: &T) -> rusqlite::Result<ToSqlOutput<'_>>;
    /// The value of column `i` of `r`; `field` names it when the stored value is not valid.
    fn read(r: &Row<'_>, i: usize, field: &str) -> rusqlite::Result<T>;
}

/// As rusqlite stores the type: text, integers, reals, a bool as 0 or 1, `None` as NULL.
pub(super) struct Plain;

impl<T: rusqlite::ToSql + rusqlite::types::FromSql> Column<T> for Plain {
    fn value(v: &T) -> rusqlite::Result<ToSqlOutput<'_>> {
        v.to_sql()
    }
    fn read(r: &Row<'_>, i: usize, _: &str) -> rusqlite::Result<T> {
        r.get(i)
    }
}

/// `as millis`: a time as epoch milliseconds (the schema's only form of time).
pub(super) struct Millis;

impl Column<Timestamp> for Millis {
    fn value(v: &Timestamp) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Integer(v.millis())))
    }
    fn read(r: &Row<'_>, i: usize, _: &str) -> rusqlite::Result<Timestamp> {
        Ok(Timestamp::from_millis(r.get(i)?))
    }
}

impl Column<Option<Timestamp>> for Millis {
    fn value(v: &Option<Timestamp>) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(
            v.map_or(ValueRef::Null, |t| ValueRef::Integer(t.millis())),
        ))
    }
    fn read(r: &Row<'_>, i: usize, _: &str) -> rusqlite::Result<Option<Timestamp>> {
        Ok(ts(r.get(i)?))
    }
}

/// `as code`: a step status as its integer code ([`step_status_code`]).
pub(super) struct Code;

impl Column<StepStatus> for Code {
    fn value(v: &StepStatus) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Integer(step_status_code(
            *v,
        ))))
    }
    fn read(r: &Row<'_>, i: usize, _: &str) -> rusqlite::Result<StepStatus> {
        step_status_from_code(r.get(i)?)
    }
}

/// `as json`: JSON text. A list is always stored (the column is NOT NULL); an absent optional
/// value is NULL, not the text `null`.
pub(super) struct Json;

/// `value` as JSON text.
fn json_text<T: serde::Serialize>(value: &T) -> rusqlite::Result<ToSqlOutput<'static>> {
    let text = serde_json::to_string(value)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    Ok(ToSqlOutput::Owned(SqlValue::Text(text)))
}

/// The value JSON `text` holds; `field` names it when the text is not valid.
fn json_value<T: serde::de::DeserializeOwned>(text: String, field: &str) -> rusqlite::Result<T> {
    serde_json::from_str(&text).map_err(|_| bad_row(field, &text))
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Column<Vec<T>> for Json {
    fn value(v: &Vec<T>) -> rusqlite::Result<ToSqlOutput<'_>> {
        json_text(v)
    }
    fn read(r: &Row<'_>, i: usize, field: &str) -> rusqlite::Result<Vec<T>> {
        json_value(r.get(i)?, field)
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Column<Option<T>> for Json {
    fn value(v: &Option<T>) -> rusqlite::Result<ToSqlOutput<'_>> {
        match v {
            Some(v) => json_text(v),
            None => Ok(ToSqlOutput::Borrowed(ValueRef::Null)),
        }
    }
    fn read(r: &Row<'_>, i: usize, field: &str) -> rusqlite::Result<Option<T>> {
        r.get::<_, Option<String>>(i)?
            .map(|text| json_value(text, field))
            .transpose()
    }
}
