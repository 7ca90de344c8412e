//! One PostgreSQL transaction as the storage boundary's `Read` and `Write`, and the row
//! mapping of every table. Enrollment columns follow from `enrollment_fields!`.
//!
//! A statement that fails aborts a PostgreSQL transaction, so nothing here relies on a
//! statement failing to learn something: inserts that a uniqueness rule may refuse say so with
//! `ON CONFLICT DO NOTHING` and a look-up, and `all_or_nothing` is a savepoint.

use std::path::Path;
use std::sync::Arc;

use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};
use postgres::{Row, Statement};

use crate::domain::model::{
    enrollment_fields, user_fields, Assessment, Attempt, Enrollment, Event, FailureReason, Kind,
    Prior, Program, ProgramSpec, ProgramState, Status, Step, StepProgress, StepStatus, Trigger,
    User, UserRef,
};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::storage::{
    EnrollmentKey, Listing, NewEvent, ProgramCache, Read, Records, Refused, StatusTotals,
    UserTimes, WorkParam, WorkQuery, Write,
};

/// The transaction lock every transaction that appends events holds until it ends. Sequence
/// numbers are taken when a row is inserted, before its transaction commits: without the
/// lock, a reader of the feed could see number 12 committed while 11 is still to come, move
/// its cursor past 11 and never see it. With it, the transactions that append events commit
/// one after the other in the order they took their numbers, so the feed never skips. The
/// price is that event-appending writes serialize on it (from their first event to their
/// commit); reads are not affected.
const EVENTS_LOCK: i64 = 0x656e_726f_6c6c_0002;

/// A value bound to a statement parameter: what every column holds.
#[derive(Debug, PartialEq)]
enum Param<'a> {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(&'a str),
    /// Text the parameter owns (a statement sent later than its values were borrowed).
    String(String),
}

impl Param<'_> {
    /// The same value, owning its text.
    fn into_owned(self) -> Param<'static> {
        match self {
            Param::Null => Param::Null,
            Param::Int(v) => Param::Int(v),
            Param::Real(v) => Param::Real(v),
            Param::Bool(v) => Param::Bool(v),
            Param::Text(v) => Param::String(v.to_owned()),
            Param::String(v) => Param::String(v),
        }
    }
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => v.to_sql(ty, out),
            Param::Real(v) => v.to_sql(ty, out),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::String(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn text(s: &str) -> Param<'_> {
    Param::Text(s)
}

fn opt_text(s: &Option<String>) -> Param<'_> {
    s.as_deref().map_or(Param::Null, Param::Text)
}

fn millis(t: Option<Timestamp>) -> Param<'static> {
    t.map_or(Param::Null, |t| Param::Int(t.millis()))
}

/// `values` as the parameter list `query` takes.
fn refs<'p>(values: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// A stored value that is not valid: the database was changed outside enrollkit.
fn bad(what: &str, value: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("stored {what} {value} is not valid").into())
}

/// How a field of [`Enrollment`] is stored in its column, and read back.
trait Column: Sized {
    /// The column's SQL type.
    const SQL_TYPE: &'static str;
    fn param(&self) -> Param<'_>;
    fn read(row: &Row, i: usize) -> Result<Self>;
}

macro_rules! column_as {
    ($($ty:ty as $sql:literal: |$v:ident| $param:expr, |$r:ident, $i:ident| $read:expr;)*) => {$(
        impl Column for $ty {
            const SQL_TYPE: &'static str = $sql;
            fn param(&self) -> Param<'_> {
                let $v = self;
                $param
            }
            fn read($r: &Row, $i: usize) -> Result<Self> {
                $read
            }
        }
    )*};
}

column_as! {
    String as "text": |v| text(v), |r, i| Ok(r.try_get(i)?);
    Option<String> as "text": |v| opt_text(v), |r, i| Ok(r.try_get(i)?);
    u32 as "int8": |v| Param::Int((*v).into()),
        |r, i| { let v: i64 = r.try_get(i)?; u32::try_from(v).map_err(|_| bad("count", v)) };
    f64 as "float8": |v| Param::Real(*v), |r, i| Ok(r.try_get(i)?);
    Option<f64> as "float8": |v| v.map_or(Param::Null, Param::Real), |r, i| Ok(r.try_get(i)?);
    Option<bool> as "bool": |v| v.map_or(Param::Null, Param::Bool), |r, i| Ok(r.try_get(i)?);
    Kind as "int8": |v| Param::Int(v.code()),
        |r, i| { let c: i64 = r.try_get(i)?; Kind::from_code(c).ok_or_else(|| bad("kind", c)) };
    Status as "int8": |v| Param::Int(v.code()), |r, i| status(r.try_get(i)?);
    Option<Status> as "int8": |v| v.map_or(Param::Null, |s| Param::Int(s.code())),
        |r, i| r.try_get::<_, Option<i64>>(i)?.map(status).transpose();
    Trigger as "text": |v| text(v.as_str()),
        |r, i| { let t: String = r.try_get(i)?; Trigger::parse(&t).map_err(|_| bad("trigger", t)) };
    Option<FailureReason> as "text": |v| v.map_or(Param::Null, |f| text(f.as_str())),
        |r, i| r.try_get::<_, Option<String>>(i)?
            .map(|t| FailureReason::parse(&t).map_err(|_| bad("failure reason", t)))
            .transpose();
    Timestamp as "int8": |v| Param::Int(v.millis()), |r, i| Ok(Timestamp::from_millis(r.try_get(i)?));
    Option<Timestamp> as "int8": |v| millis(*v),
        |r, i| Ok(r.try_get::<_, Option<i64>>(i)?.map(Timestamp::from_millis));
}

fn status(code: i64) -> Result<Status> {
    Status::from_code(code).ok_or_else(|| bad("status", code))
}

fn step_status(code: i64) -> Result<StepStatus> {
    StepStatus::from_code(code).ok_or_else(|| bad("step status", code))
}

/// `$value` once per stored column.
macro_rules! with_column {
    ($column:literal, $value:expr) => {
        $value
    };
}

/// The next column for a stored field, the default for one that is not stored.
macro_rules! read_field {
    ($r:ident, $i:ident, $column:literal) => {{
        $i += 1;
        Column::read($r, $i)?
    }};
    ($r:ident, $i:ident) => {
        Default::default()
    };
}

/// The stored columns of `enrollments` (all but `rid`), their values and the row reader, from
/// [`enrollment_fields`].
macro_rules! declare_enrollment_columns {
    ($($(#[$meta:meta])* $name:ident : $ty:ty
        $(=> $column:literal $(default $default:expr)?)?
        $(, then $($derived:ident),+)?;)*) => {
        /// The stored columns of `enrollments`, all but `rid`.
        const STORED_COLUMNS: [&str; [$($($column,)?)*].len()] = [$($($column,)?)*];

        /// The SQL type of each of [`STORED_COLUMNS`].
        const STORED_TYPES: [&str; STORED_COLUMNS.len()] =
            [$($(with_column!($column, <$ty as Column>::SQL_TYPE),)?)*];

        /// The values of every stored column of `e`, in [`STORED_COLUMNS`] order.
        fn enrollment_values(e: &Enrollment) -> [Param<'_>; STORED_COLUMNS.len()] {
            [$($(with_column!($column, Column::param(&e.$name)),)?)*]
        }

        /// Reads `rid` then [`STORED_COLUMNS`] from `r`, with `steps_total` 0.
        fn stored_enrollment(r: &Row) -> Result<(i64, Enrollment)> {
            let mut i = 0;
            let rid: i64 = r.try_get(i)?;
            let e = Enrollment {
                $($name: read_field!(r, i $(, $column)?),)*
            };
            Ok((rid, e))
        }
    };
}
enrollment_fields!(declare_enrollment_columns);

/// `rid`, the stored columns and the program's step count of `enrollments e`.
fn enrollment_select() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
        format!(
            "SELECT e.rid, {}, (SELECT count(*) FROM program_steps s \
             WHERE s.program_id = e.program_id) FROM enrollments e ",
            columns.join(", ")
        )
    })
}

/// Reads a row of [`enrollment_select`].
fn enrollment(r: &Row) -> Result<(i64, Enrollment)> {
    let (rid, mut e) = stored_enrollment(r)?;
    let steps: i64 = r.try_get(STORED_COLUMNS.len() + 1)?;
    e.steps_total = u32::try_from(steps).map_err(|_| bad("step count", steps))?;
    Ok((rid, e))
}

/// `INSERT INTO enrollments (<stored columns>) SELECT $1, ..., $n` for an enrollment whose
/// user and program exist, skipping one that a uniqueness rule refuses. The user is locked
/// as [`Write::enrolling_user`] locks one (the table has no foreign keys).
fn enrollment_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let params: Vec<String> = (1..=STORED_COLUMNS.len())
            .map(|i| format!("${i}"))
            .collect();
        let user = 1 + STORED_COLUMNS
            .iter()
            .position(|c| *c == "user_id")
            .unwrap_or(0);
        let program = 1 + STORED_COLUMNS
            .iter()
            .position(|c| *c == "program_id")
            .unwrap_or(0);
        format!(
            "INSERT INTO enrollments ({}) SELECT {} \
             WHERE EXISTS (SELECT 1 FROM users WHERE id = ${user} FOR KEY SHARE) \
             AND EXISTS (SELECT 1 FROM programs WHERE id = ${program}) \
             ON CONFLICT DO NOTHING RETURNING rid",
            STORED_COLUMNS.join(", "),
            params.join(", ")
        )
    })
}

/// A user field's value to bind: a `Column`, or JSON text for a field stored `as json`.
macro_rules! user_value {
    ($v:expr) => {
        Column::param($v)
    };
    ($v:expr, json) => {
        Param::String(serde_json::to_string($v)?)
    };
}

/// A user field read from column `$i` of `$r`, as [`user_value`] stores it.
macro_rules! user_read {
    ($r:ident, $i:expr) => {
        Column::read($r, $i)?
    };
    ($r:ident, $i:expr, json) => {{
        let text: String = $r.try_get($i)?;
        serde_json::from_str(&text).map_err(|_| bad("JSON", &text))?
    }};
}

/// The SQL type of a user field's column.
macro_rules! user_type {
    ($ty:ty) => {
        <$ty as Column>::SQL_TYPE
    };
    ($ty:ty, json) => {
        "text"
    };
}

/// The columns of `users`, their types, values and row reader, from [`user_fields`]: the
/// field columns, then the times.
macro_rules! declare_user_columns {
    ($(#[$meta:meta])* $record:ident {
        $($(#[$fmeta:meta])* $name:ident : $ty:ty => $column:literal $(as $how:ident)?;)*
    }) => {
        /// The columns a user is written with: its fields', then `created_at`, `updated_at`.
        const USER_INSERT_COLUMNS: [&str; [$($column,)*].len() + 2] =
            [$($column,)* "created_at", "updated_at"];

        /// The SQL type of each of [`USER_INSERT_COLUMNS`].
        const USER_INSERT_TYPES: [&str; USER_INSERT_COLUMNS.len()] =
            [$(user_type!($ty $(, $how)?),)* "int8", "int8"];

        /// The values of `user` written at `times`, in [`USER_INSERT_COLUMNS`] order.
        fn user_values(user: &User, times: UserTimes) -> Result<[Param<'_>; USER_INSERT_COLUMNS.len()]> {
            Ok([
                $(user_value!(&user.$name $(, $how)?),)*
                Param::Int(times.created_at.millis()),
                Param::Int(times.updated_at.millis()),
            ])
        }

        /// Reads a user from the first columns of `r`, selected with [`user_columns`].
        fn user(r: &Row) -> Result<User> {
            let mut i = 0;
            Ok(User {
                $($name: {
                    i += 1;
                    user_read!(r, i - 1 $(, $how)?)
                },)*
            })
        }
    };
}
user_fields!(declare_user_columns);

/// How many of [`USER_INSERT_COLUMNS`] a user's fields are (the times follow).
const USER_FIELD_COUNT: usize = USER_INSERT_COLUMNS.len() - 2;

/// The columns of a user's fields, for `SELECT`.
fn user_columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| USER_INSERT_COLUMNS[..USER_FIELD_COUNT].join(", "))
}

/// What an insert of users that may exist does with one that does: every field replaced,
/// `updated_at` too, the creation time kept.
fn user_replace() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let sets: Vec<String> = USER_INSERT_COLUMNS[1..]
            .iter()
            .filter(|c| **c != "created_at")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!("ON CONFLICT (id) DO UPDATE SET {}", sets.join(", "))
    })
}

const PROGRAM_COLUMNS: &str = "id, kind, title, description, state, self_enrollment, \
                               passing_score, max_attempts, created_at, updated_at, policy_json";

fn program(r: &Row) -> Result<Program> {
    let kind: String = r.try_get(1)?;
    let state: String = r.try_get(4)?;
    let passing: Option<f64> = r.try_get(6)?;
    let max_attempts: Option<i64> = r.try_get(7)?;
    let max_attempts = max_attempts
        .map(|m| u32::try_from(m).map_err(|_| bad("max_attempts", m)))
        .transpose()?;
    let policy: Option<String> = r.try_get(10)?;
    let policy = match policy {
        Some(json) => serde_json::from_str(&json).map_err(|_| bad("policy", &json))?,
        None => crate::Policy::default(),
    };
    Ok(Program {
        spec: ProgramSpec {
            id: r.try_get(0)?,
            kind: Kind::parse(&kind).map_err(|_| bad("kind", &kind))?,
            title: r.try_get(2)?,
            description: r.try_get(3)?,
            state: ProgramState::parse(&state).map_err(|_| bad("state", &state))?,
            self_enrollment: r.try_get(5)?,
            steps: Vec::new(),
            assessment: passing.map(|passing_score| Assessment {
                passing_score,
                max_attempts,
            }),
            policy,
        },
        created_at: Timestamp::from_millis(r.try_get(8)?),
        updated_at: Timestamp::from_millis(r.try_get(9)?),
    })
}

const EVENT_COLUMNS: &str =
    "seq, enrollment_id, user_id, program_id, action, from_status, to_status, actor, reason, at";

fn event(r: &Row) -> Result<Event> {
    Ok(Event {
        seq: r.try_get(0)?,
        enrollment_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        program_id: r.try_get(3)?,
        action: r.try_get(4)?,
        from_status: r.try_get(5)?,
        to_status: r.try_get(6)?,
        actor: r.try_get(7)?,
        reason: r.try_get(8)?,
        at: Timestamp::from_millis(r.try_get(9)?),
    })
}

/// Reads `id, status, attempt_number` from column `first` on.
fn prior(r: &Row, first: usize) -> Result<Prior> {
    let number: i64 = r.try_get(first + 2)?;
    Ok(Prior {
        id: r.try_get(first)?,
        status: status(r.try_get(first + 1)?)?,
        attempt_number: u32::try_from(number).map_err(|_| bad("attempt number", number))?,
    })
}

/// `email` compared as SQLite's `COLLATE NOCASE` does (ASCII letters only), as the unique
/// index `users_email` does.
const FOLDED_EMAIL: &str =
    "translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";

/// How many new enrollments (and their events) one statement inserts: a statement costs a
/// round trip to the server, most of a row's cost.
const BATCH_ROWS: usize = 64;

/// The columns of a new event, all but `seq`, which the sequence gives.
const EVENT_INSERT_COLUMNS: [&str; 9] = [
    "enrollment_id",
    "user_id",
    "program_id",
    "action",
    "from_status",
    "to_status",
    "actor",
    "reason",
    "at",
];

/// The SQL type of each of [`EVENT_INSERT_COLUMNS`].
const EVENT_INSERT_TYPES: [&str; EVENT_INSERT_COLUMNS.len()] = [
    "text", "text", "text", "text", "text", "text", "text", "text", "int8",
];

/// The values of event `ev` of enrollment `e` in [`EVENT_INSERT_COLUMNS`] order; `actor` is
/// its actor's label.
fn new_event_values<'a>(
    e: &'a Enrollment,
    ev: &'a NewEvent<'_>,
    actor: &'a str,
) -> [Param<'a>; EVENT_INSERT_COLUMNS.len()] {
    let label = |s: Option<Status>| s.and_then(|s| s.name(e.kind)).map_or(Param::Null, text);
    [
        text(&e.id),
        text(&e.user_id),
        text(&e.program_id),
        text(ev.action),
        label(ev.from),
        label(ev.to),
        text(actor),
        opt_text(&ev.reason),
        Param::Int(ev.at.millis()),
    ]
}

/// `INSERT INTO table (columns) VALUES ($1, ...), ...` for `rows` rows.
fn values_insert(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns.len() + c + 1));
        }
        sql.push(')');
    }
    sql
}

/// `INSERT INTO table (columns) SELECT * FROM unnest($1::type[], ...)`: any number of rows,
/// one array of values per column. One short statement whatever the row count, where a
/// multi-row `VALUES` list has a parameter per value for the server to parse, bind and plan.
fn unnest_insert(table: &str, columns: &[&str], types: &[&str]) -> String {
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("${}::{ty}[]", i + 1))
        .collect();
    format!(
        "INSERT INTO {table} ({}) SELECT * FROM unnest({})",
        columns.join(", "),
        arrays.join(", ")
    )
}

/// `rows` as one array per column, for [`unnest_insert`].
fn by_column<'a, const N: usize>(
    rows: impl Iterator<Item = [Param<'a>; N]>,
) -> Vec<Vec<Param<'a>>> {
    let mut columns: Vec<Vec<Param<'a>>> = (0..N).map(|_| Vec::new()).collect();
    for row in rows {
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    columns
}

/// Whether `err` is a batch refused by its rows rather than a failure of the database: a
/// unique index refused a row, or the batch names one row twice.
fn refused_batch(err: &Error) -> bool {
    use postgres::error::SqlState;
    matches!(
        super::sql_state(err),
        Some(&SqlState::UNIQUE_VIOLATION | &SqlState::CARDINALITY_VIOLATION)
    )
}

/// The statements of `Read::scheduled_work` and `Write::claimable`. Workers claiming at once
/// each take rows the others have not locked (`SKIP LOCKED`); a row another worker claimed and
/// committed since the statement's snapshot is checked again against the condition once
/// locked, and left out. They walk `enrollments_due` or `enrollments_due_program` (a test
/// checks the plans).
static WORK_SQL: crate::storage::WorkSql = crate::storage::WorkSql::new(
    || {
        let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
        format!("e.rid, {}", columns.join(", "))
    },
    |n| format!("${n}"),
    " FOR UPDATE SKIP LOCKED",
);

/// One transaction, begun by [`super::Database::transaction`] (which also read the program
/// version in the same round trip as its `BEGIN`); dropped open, it rolls back.
pub(super) struct Tx<'c> {
    client: &'c mut postgres::Client,
    /// Whether the transaction is still open.
    open: bool,
    /// The connection's prepared statements, by their text.
    statements: &'c mut HashMap<String, Statement>,
    now: Timestamp,
    discard: bool,
    /// Whether this transaction holds [`EVENTS_LOCK`].
    appending: bool,
    /// The store's programs, kept between transactions.
    programs: &'c ProgramCache,
    /// `program_version` as this transaction saw it when it began.
    program_version: i64,
    /// Whether this transaction wrote a program: it then reads programs from the database,
    /// never from the cache (see [`ProgramCache`]).
    programs_changed: bool,
    /// What [`Write::read_ahead`] fetched, until a write makes it stale: users by id (`None`:
    /// no such user) ...
    ahead_users: HashMap<String, Option<User>>,
    /// ... and the enrollments of `(user id, program id)` pairs, newest first, each answered
    /// once.
    ahead_priors: HashMap<(String, String), Vec<Prior>>,
    /// Savepoints open (`all_or_nothing` nests).
    savepoints: usize,
    /// An enrollment update not sent yet: `SET` clauses numbered from `$1`, and their values
    /// with the row's `rid` last. It goes with the event the change appends (one statement,
    /// one round trip less a change), or before any other statement.
    pending_update: Option<(String, Vec<Param<'static>>)>,
}

impl<'c> Tx<'c> {
    /// The transaction `client` has begun, which saw `program_version`.
    pub(super) fn new(
        client: &'c mut postgres::Client,
        statements: &'c mut HashMap<String, Statement>,
        programs: &'c ProgramCache,
        program_version: i64,
        now: Timestamp,
    ) -> Tx<'c> {
        Tx {
            client,
            open: true,
            statements,
            now,
            discard: false,
            appending: false,
            programs,
            program_version,
            programs_changed: false,
            ahead_users: HashMap::new(),
            ahead_priors: HashMap::new(),
            savepoints: 0,
            pending_update: None,
        }
    }

    pub(super) fn discarded(&self) -> bool {
        self.discard
    }

    /// Commits (or with `commit` false rolls back) the transaction.
    pub(super) fn finish(mut self, commit: bool) -> Result<()> {
        if commit {
            self.flush()?;
        }
        self.open = false;
        self.client
            .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })?;
        Ok(())
    }

    /// Sends the pending enrollment update, if any.
    fn flush(&mut self) -> Result<()> {
        if let Some((sets, values)) = self.pending_update.take() {
            let sql = format!(
                "UPDATE enrollments SET {sets} WHERE rid = ${}",
                values.len()
            );
            self.run(&sql, &values)?;
        }
        Ok(())
    }

    /// `sql` prepared on this connection: once, the first time the connection runs it.
    /// Every statement goes through here, after the pending update ([`Tx::flush`]).
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        self.flush()?;
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.client.prepare(sql)?;
        if self.statements.len() >= super::MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    /// The program's waitlisted enrollments in order, at most `limit`, locked (`FOR UPDATE`)
    /// when `lock`.
    fn waitlist_rows(
        &mut self,
        program_id: &str,
        limit: u32,
        lock: bool,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        static SQL: [std::sync::OnceLock<String>; 2] =
            [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
        let sql = SQL[usize::from(lock)].get_or_init(|| {
            let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
            format!(
                "SELECT e.rid, {} FROM enrollments e WHERE program_id = $1 AND status = $2 \
                 ORDER BY rid LIMIT $3{}",
                columns.join(", "),
                if lock { " FOR UPDATE" } else { "" }
            )
        });
        let rows = self.rows(
            sql,
            &[
                text(program_id),
                Param::Int(Status::Waitlisted.code()),
                Param::Int(limit.into()),
            ],
        )?;
        rows.iter()
            .map(|r| stored_enrollment(r).map(|(rid, e)| (EnrollmentKey(rid), e)))
            .collect()
    }

    /// The rows of [`WORK_SQL`]'s statement for `q`.
    fn scheduled_work_of(
        &mut self,
        q: WorkQuery,
        time: Timestamp,
        program: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        let (sql, order) = WORK_SQL.get(q);
        let values: Vec<Param<'_>> = order
            .iter()
            .map(|p| match p {
                WorkParam::Time => Param::Int(time.millis()),
                WorkParam::Program => Param::Text(program.unwrap_or_default()),
                WorkParam::Limit => Param::Int(limit.into()),
            })
            .collect();
        let rows = self.rows(sql, &values)?;
        rows.iter()
            .map(|r| stored_enrollment(r).map(|(rid, e)| (EnrollmentKey(rid), e)))
            .collect()
    }

    fn rows(&mut self, sql: &str, values: &[Param<'_>]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.client.query(&statement, &refs(values))?)
    }

    fn row(&mut self, sql: &str, values: &[Param<'_>]) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        Ok(self.client.query_opt(&statement, &refs(values))?)
    }

    fn run(&mut self, sql: &str, values: &[Param<'_>]) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, &refs(values))?)
    }

    /// Runs `sql` with one array parameter per entry of `columns`.
    fn run_arrays(&mut self, sql: &str, columns: &[Vec<Param<'_>>]) -> Result<u64> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        Ok(self.client.execute(&statement, &params)?)
    }

    fn flag(&mut self, sql: &str, values: &[Param<'_>]) -> Result<bool> {
        let statement = self.statement(sql)?;
        let row = self.client.query_one(&statement, &refs(values))?;
        Ok(row.try_get(0)?)
    }

    /// Takes [`EVENTS_LOCK`] before this transaction's first event.
    fn lock_events(&mut self) -> Result<()> {
        if !self.appending {
            self.run(
                "SELECT pg_advisory_xact_lock($1)",
                &[Param::Int(EVENTS_LOCK)],
            )?;
            self.appending = true;
        }
        Ok(())
    }

    /// The user named by `by`, locked against deletion until the transaction ends when
    /// `lock` is set (writes only).
    fn find_user(&mut self, by: &UserRef, lock: bool) -> Result<User> {
        let (clause, value, entity) = match by {
            UserRef::Id(v) => ("id = $1".to_owned(), v, "user"),
            UserRef::Email(v) => (
                format!(
                    "{FOLDED_EMAIL} = translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
                     'abcdefghijklmnopqrstuvwxyz')"
                ),
                v,
                "user with email",
            ),
            UserRef::ExternalId(v) => ("external_id = $1".to_owned(), v, "user with external id"),
        };
        // The enrollments table has no foreign key to users (a check per inserted row would
        // double the cost of a bulk enrollment): the user is locked instead, so that it
        // cannot be deleted before the enrollment commits.
        let lock = if lock { " FOR KEY SHARE" } else { "" };
        let sql = format!("SELECT {} FROM users WHERE {clause}{lock}", user_columns());
        match self.row(&sql, &[text(value)])? {
            Some(r) => user(&r),
            None => Err(Error::not_found(entity, value.clone())),
        }
    }

    /// Forgets what [`Write::read_ahead`] fetched: a write that may change users or existing
    /// enrollments makes it stale.
    fn stale(&mut self) {
        self.ahead_users.clear();
        self.ahead_priors.clear();
    }

    /// Program `id` with its steps, from the database.
    fn load_program(&mut self, id: &str) -> Result<Program> {
        let sql = format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = $1");
        let Some(r) = self.row(&sql, &[text(id)])? else {
            return Err(Error::not_found("program", id));
        };
        let mut p = program(&r)?;
        self.steps_of(&mut p)?;
        Ok(p)
    }

    fn steps_of(&mut self, program: &mut Program) -> Result<()> {
        let rows = self.rows(
            "SELECT step_id, step_type, title, learner_completable, schedule_json \
             FROM program_steps WHERE program_id = $1 ORDER BY position",
            &[text(&program.spec.id)],
        )?;
        program.spec.steps = rows
            .iter()
            .map(|r| {
                let schedule: Option<String> = r.try_get(4)?;
                Ok(Step {
                    id: r.try_get(0)?,
                    step_type: r.try_get(1)?,
                    title: r.try_get(2)?,
                    learner_completable: r.try_get(3)?,
                    schedule: schedule
                        .map(|json| serde_json::from_str(&json).map_err(|_| bad("schedule", json)))
                        .transpose()?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn open_enrollment(&mut self, user_id: &str, program_id: &str) -> Result<Option<Prior>> {
        self.row(
            "SELECT id, status, attempt_number FROM enrollments \
             WHERE user_id = $1 AND program_id = $2 AND (status < 7 OR status = 9 OR status = 11)",
            &[text(user_id), text(program_id)],
        )?
        .as_ref()
        .map(|r| prior(r, 0))
        .transpose()
    }

    fn insert_user(&mut self, user: &User, times: UserTimes, replace: bool) -> Result<u64> {
        let values = user_values(user, times)?;
        if replace {
            static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let sql = SQL.get_or_init(|| {
                let insert = values_insert("users", &USER_INSERT_COLUMNS, 1);
                format!("{insert} {}", user_replace())
            });
            self.run(sql, &values)
        } else {
            static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let sql = SQL.get_or_init(|| {
                let insert = values_insert("users", &USER_INSERT_COLUMNS, 1);
                format!("{insert} ON CONFLICT (id) DO NOTHING")
            });
            self.run(sql, &values)
        }
    }

    /// Refuses `user` (`conflict`) when its email or external id belongs to another user.
    fn check_unique_values(&mut self, user: &User) -> Result<()> {
        let checks = [
            (
                "email",
                format!(
                    "SELECT id FROM users WHERE {FOLDED_EMAIL} = {} AND id <> $2",
                    "translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
                ),
                &user.email,
            ),
            (
                "external_id",
                "SELECT id FROM users WHERE external_id = $1 AND id <> $2".to_owned(),
                &user.external_id,
            ),
        ];
        for (field, sql, value) in checks {
            let Some(v) = value else { continue };
            if let Some(other) = self.row(&sql, &[text(v), text(&user.id)])? {
                let other: String = other.try_get(0)?;
                return Err(Error::Conflict(format!(
                    "{field} {v:?} already belongs to user {other}"
                )));
            }
        }
        Ok(())
    }

    fn insert_event_row(&mut self, e: &Enrollment, ev: &NewEvent<'_>) -> Result<()> {
        let actor = ev.actor.label_text();
        let values = new_event_values(e, ev, &actor);
        let pending = self.pending_update.take();
        // The change's update, when it waits, goes in the same statement (a data-modifying
        // WITH runs whether or not the INSERT reads it), and the transaction's first event
        // takes [`EVENTS_LOCK`] in it too: the row, and so its number, comes after the lock.
        let first = pending.as_ref().map_or(0, |(_, values)| values.len());
        let params: Vec<String> = (first + 1..=first + EVENT_INSERT_COLUMNS.len())
            .map(|i| format!("${i}"))
            .collect();
        let mut sql = String::new();
        if let Some((sets, values)) = &pending {
            sql.push_str(&format!(
                "WITH changed AS (UPDATE enrollments SET {sets} WHERE rid = ${}) ",
                values.len()
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO events ({}) SELECT {}",
            EVENT_INSERT_COLUMNS.join(", "),
            params.join(", ")
        ));
        if !self.appending {
            sql.push_str(&format!(
                " FROM (SELECT pg_advisory_xact_lock({EVENTS_LOCK})) l"
            ));
        }
        let mut all: Vec<Param<'_>> = pending.map_or_else(Vec::new, |(_, v)| v);
        all.extend(values);
        self.run(&sql, &all)?;
        self.appending = true;
        Ok(())
    }

    /// Inserts an imported event with its own sequence number; `false` when the number is
    /// taken (nothing written).
    fn insert_event_as_is(&mut self, ev: &Event) -> Result<bool> {
        self.lock_events()?;
        let inserted = self.run(
            "INSERT INTO events (seq, enrollment_id, user_id, program_id, action, from_status, \
             to_status, actor, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (seq) DO NOTHING",
            &[
                Param::Int(ev.seq),
                text(&ev.enrollment_id),
                text(&ev.user_id),
                text(&ev.program_id),
                text(&ev.action),
                opt_text(&ev.from_status),
                opt_text(&ev.to_status),
                text(&ev.actor),
                opt_text(&ev.reason),
                Param::Int(ev.at.millis()),
            ],
        )?;
        Ok(inserted > 0)
    }

    /// Moves the event sequence past the numbers imported so far: new events must be numbered
    /// after them.
    fn number_after_imported(&mut self) -> Result<()> {
        self.run(
            "SELECT setval(pg_get_serial_sequence('events', 'seq'), \
             (SELECT max(seq) FROM events))",
            &[],
        )?;
        Ok(())
    }

    /// Runs `body` in a savepoint: kept when it returns `true`, undone when it returns
    /// `false` (a batch refused) or fails.
    fn batch(&mut self, body: &mut dyn FnMut(&mut Self) -> Result<bool>) -> Result<bool> {
        self.flush()?;
        self.savepoints += 1;
        let name = format!("batch_{}", self.savepoints);
        self.client.batch_execute(&format!("SAVEPOINT {name}"))?;
        let outcome = body(self);
        self.savepoints -= 1;
        let end = match outcome {
            Ok(true) => format!("RELEASE SAVEPOINT {name}"),
            _ => format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
        };
        self.client.batch_execute(&end)?;
        outcome
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // A failed rollback leaves nothing to undo: the server ends the transaction with
            // the connection, which the pool then drops (`has_broken`).
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

impl Read for Tx<'_> {
    fn user(&mut self, by: &UserRef) -> Result<User> {
        self.find_user(by, false)
    }

    fn users_hired_on(&mut self, month_days: &[&str]) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE substr(hire_date, 6) = ANY($1) ORDER BY id",
            user_columns()
        );
        let statement = self.statement(&sql)?;
        let rows = self.client.query(&statement, &[&month_days])?;
        rows.iter().map(user).collect()
    }

    fn users(&mut self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users WHERE id > $1 ORDER BY id LIMIT $2",
            user_columns()
        );
        let rows = self.rows(&sql, &[text(after.unwrap_or("")), Param::Int(limit.into())])?;
        rows.iter().map(user).collect()
    }

    fn users_with_times(
        &mut self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(User, UserTimes)>> {
        let sql = format!(
            "SELECT {}, created_at, updated_at FROM users WHERE id > $1 \
             ORDER BY id LIMIT $2",
            user_columns()
        );
        let rows = self.rows(&sql, &[text(after.unwrap_or("")), Param::Int(limit.into())])?;
        rows.iter()
            .map(|r| {
                let times = UserTimes {
                    created_at: Timestamp::from_millis(r.try_get(USER_FIELD_COUNT)?),
                    updated_at: Timestamp::from_millis(r.try_get(USER_FIELD_COUNT + 1)?),
                };
                Ok((user(r)?, times))
            })
            .collect()
    }

    fn program(&mut self, id: &str) -> Result<Arc<Program>> {
        if self.programs_changed {
            return self.load_program(id).map(Arc::new);
        }
        let programs = self.programs;
        programs.get(self.program_version, id, || self.load_program(id))
    }

    fn programs(
        &mut self,
        kind: Option<Kind>,
        state: Option<ProgramState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Program>> {
        let sql = format!(
            "SELECT {PROGRAM_COLUMNS} FROM programs WHERE id > $1 \
             AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR state = $3) \
             ORDER BY id LIMIT $4"
        );
        let rows = self.rows(
            &sql,
            &[
                text(after.unwrap_or("")),
                kind.map_or(Param::Null, |k| text(k.as_str())),
                state.map_or(Param::Null, |s| text(s.as_str())),
                Param::Int(limit.into()),
            ],
        )?;
        let mut programs: Vec<Program> = rows.iter().map(program).collect::<Result<_>>()?;
        for p in &mut programs {
            self.steps_of(p)?;
        }
        Ok(programs)
    }

    fn enrollment(&mut self, id: &str) -> Result<(EnrollmentKey, Enrollment)> {
        let sql = format!("{}WHERE e.id = $1", enrollment_select());
        match self.row(&sql, &[text(id)])? {
            Some(r) => enrollment(&r).map(|(rid, e)| (EnrollmentKey(rid), e)),
            None => Err(Error::not_found("enrollment", id)),
        }
    }

    fn step_progress(&mut self, key: EnrollmentKey) -> Result<Vec<StepProgress>> {
        let rows = self.rows(
            "SELECT step_id, status, started_at, delivered_at, completed_at, failed_at, \
             skipped_at, failure_reason, failure_message, destination_type, result_json \
             FROM step_progress WHERE enrollment_rid = $1",
            &[Param::Int(key.0)],
        )?;
        rows.iter()
            .map(|r| {
                let t = |i: usize| -> Result<Option<Timestamp>> {
                    Ok(r.try_get::<_, Option<i64>>(i)?.map(Timestamp::from_millis))
                };
                let result: Option<String> = r.try_get(10)?;
                Ok(StepProgress {
                    step_id: r.try_get(0)?,
                    status: step_status(r.try_get(1)?)?,
                    started_at: t(2)?,
                    delivered_at: t(3)?,
                    completed_at: t(4)?,
                    failed_at: t(5)?,
                    skipped_at: t(6)?,
                    failure_reason: r.try_get(7)?,
                    failure_message: r.try_get(8)?,
                    destination_type: r.try_get(9)?,
                    result: result
                        .map(|t| serde_json::from_str(&t).map_err(|_| bad("result", &t)))
                        .transpose()?,
                })
            })
            .collect()
    }

    fn attempts(&mut self, key: EnrollmentKey) -> Result<Vec<Attempt>> {
        let rows = self.rows(
            "SELECT number, score, passed, submitted_at FROM attempts \
             WHERE enrollment_rid = $1 ORDER BY number",
            &[Param::Int(key.0)],
        )?;
        rows.iter()
            .map(|r| {
                let number: i64 = r.try_get(0)?;
                Ok(Attempt {
                    number: u32::try_from(number).map_err(|_| bad("attempt", number))?,
                    score: r.try_get(1)?,
                    passed: r.try_get(2)?,
                    submitted_at: Timestamp::from_millis(r.try_get(3)?),
                })
            })
            .collect()
    }

    fn lineage(&mut self, user_id: &str, program_id: &str) -> Result<Vec<Enrollment>> {
        let sql = format!(
            "{}WHERE e.user_id = $1 AND e.program_id = $2 ORDER BY e.rid",
            enrollment_select()
        );
        let rows = self.rows(&sql, &[text(user_id), text(program_id)])?;
        rows.iter().map(|r| enrollment(r).map(|(_, e)| e)).collect()
    }

    fn enrollments(&mut self, l: &Listing<'_>) -> Result<Vec<Enrollment>> {
        let mut w = Where::default();
        if let Some(user) = l.user_id {
            w.add("e.user_id = ?", text(user));
        }
        if let Some(program) = l.program {
            w.add("e.program_id = ?", text(&program.id));
        }
        if let Some(pairs) = &l.statuses {
            // A name means one canonical status in every vocabulary that has it, so status
            // and kind are filtered separately.
            let codes: Vec<String> = pairs.iter().map(|(_, s)| s.code().to_string()).collect();
            w.clauses
                .push(format!("e.status IN ({})", codes.join(", ")));
            if l.program.is_none() {
                let kinds: Vec<String> = pairs.iter().map(|(k, _)| k.code().to_string()).collect();
                w.clauses.push(format!("e.kind IN ({})", kinds.join(", ")));
            }
        }
        if let Some(t) = l.trigger {
            w.add("e.trigger = ?", text(t.as_str()));
        }
        let bounds = [
            ("e.enrolled_at >= ?", l.enrolled.0),
            ("e.enrolled_at < ?", l.enrolled.1),
            ("e.completed_at >= ?", l.completed.0),
            ("e.completed_at < ?", l.completed.1),
        ];
        for (clause, t) in bounds {
            if let Some(t) = t {
                w.add(clause, Param::Int(t.millis()));
            }
        }
        let (cmp, dir) = if l.newest_first {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(EnrollmentKey(rid)) = l.after {
            w.add(&format!("e.rid {cmp} ?"), Param::Int(rid));
        }
        let filter = match w.clauses.is_empty() {
            true => String::new(),
            false => format!("WHERE {}", w.clauses.join(" AND ")),
        };
        let mut values = w.values;
        values.push(Param::Int(i64::from(l.limit) + 1));
        values.push(Param::Int(i64::try_from(l.offset).unwrap_or(i64::MAX)));
        let n = values.len();
        let page = format!(
            "FROM enrollments e {filter} ORDER BY e.rid {dir} LIMIT ${} OFFSET ${}",
            n - 1,
            n
        );
        let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
        if let Some(program) = l.program {
            // The program's step count is known: no count per row.
            let sql = format!("SELECT e.rid, {} {page}", columns.join(", "));
            let rows = self.rows(&sql, &values)?;
            return rows
                .iter()
                .map(|r| {
                    let (_, mut e) = stored_enrollment(r)?;
                    e.steps_total = program.steps.len() as u32;
                    Ok(e)
                })
                .collect();
        }
        // Each row's program step count, counted for the page's rows only: PostgreSQL computes
        // a select list for the rows an OFFSET skips as well.
        let sql = format!(
            "SELECT e.rid, {}, (SELECT count(*) FROM program_steps s \
             WHERE s.program_id = e.program_id) FROM (SELECT * {page}) e ORDER BY e.rid {dir}",
            columns.join(", ")
        );
        let rows = self.rows(&sql, &values)?;
        rows.iter().map(|r| enrollment(r).map(|(_, e)| e)).collect()
    }

    fn for_each_enrollment(
        &mut self,
        each: &mut dyn FnMut(&Enrollment) -> Result<()>,
    ) -> Result<()> {
        self.for_each_enrollment_with_records(false, &mut |e, _, _, _| each(&e))
    }

    fn for_each_enrollment_with_records(
        &mut self,
        last_status: bool,
        each: &mut dyn FnMut(
            Enrollment,
            Vec<StepProgress>,
            Vec<Attempt>,
            Option<String>,
        ) -> Result<()>,
    ) -> Result<()> {
        // Pages by rid, so that memory stays bounded whatever the number of enrollments.
        let mut after = 0i64;
        loop {
            let sql = format!(
                "{}WHERE e.rid > $1 ORDER BY e.rid LIMIT 1000",
                enrollment_select()
            );
            let rows = self.rows(&sql, &[Param::Int(after)])?;
            if rows.is_empty() {
                return Ok(());
            }
            for r in &rows {
                let (rid, e) = enrollment(r)?;
                after = rid;
                let key = EnrollmentKey(rid);
                let steps = self.step_progress(key)?;
                let attempts = self.attempts(key)?;
                let last = match last_status {
                    true => self
                        .row(
                            "SELECT to_status FROM events WHERE enrollment_id = $1 \
                             ORDER BY seq DESC LIMIT 1",
                            &[text(&e.id)],
                        )?
                        .map(|r| r.try_get::<_, Option<String>>(0))
                        .transpose()?
                        .flatten(),
                    false => None,
                };
                each(e, steps, attempts, last)?;
            }
        }
    }

    fn scheduled_work(
        &mut self,
        program: Option<&str>,
        until: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        let (q, time) = WorkQuery::listing(program, until);
        self.scheduled_work_of(q, time, program, limit)
    }

    fn seats_taken(&mut self, program_id: &str) -> Result<u64> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            format!(
                "SELECT count(*) FROM enrollments WHERE program_id = $1 AND {}",
                crate::storage::SEAT_CONDITION
            )
        });
        let rows = self.rows(sql, &[text(program_id)])?;
        let n: i64 = rows[0].try_get(0)?;
        Ok(n as u64)
    }

    fn waitlist(
        &mut self,
        program_id: &str,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        self.waitlist_rows(program_id, limit, false)
    }

    fn waitlist_position(&mut self, program_id: &str, key: EnrollmentKey) -> Result<u64> {
        let rows = self.rows(
            "SELECT count(*) FROM enrollments WHERE program_id = $1 AND status = $2 \
             AND rid <= $3",
            &[
                text(program_id),
                Param::Int(Status::Waitlisted.code()),
                Param::Int(key.0),
            ],
        )?;
        let n: i64 = rows[0].try_get(0)?;
        Ok(n as u64)
    }

    fn scheduled_starts(&mut self, now: Timestamp, limit: u32) -> Result<Vec<String>> {
        let rows = self.rows(
            "SELECT id FROM enrollments WHERE status = 0 AND start_at IS NOT NULL \
             AND start_at <= $1 ORDER BY start_at, rid LIMIT $2",
            &[Param::Int(now.millis()), Param::Int(limit.into())],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn history(&mut self, enrollment_id: &str) -> Result<Vec<Event>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE enrollment_id = $1 ORDER BY seq");
        let rows = self.rows(&sql, &[text(enrollment_id)])?;
        rows.iter().map(event).collect()
    }

    fn events_after(&mut self, after: i64, user: Option<&str>, limit: u32) -> Result<Vec<Event>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 \
             AND ($2::text IS NULL OR user_id = $2) ORDER BY seq LIMIT $3"
        );
        let rows = self.rows(
            &sql,
            &[
                Param::Int(after),
                user.map_or(Param::Null, text),
                Param::Int(limit.into()),
            ],
        )?;
        rows.iter().map(event).collect()
    }

    fn status_totals(&mut self, program_id: &str) -> Result<Vec<StatusTotals>> {
        let rows = self.rows(
            "SELECT status, count(*), coalesce(sum(progress), 0)::float8, \
             coalesce(sum(steps_completed), 0)::float8, count(completed_at), \
             coalesce(sum(completed_at - coalesce(started_at, enrolled_at)) \
                 FILTER (WHERE completed_at IS NOT NULL), 0)::float8 \
             FROM enrollments WHERE program_id = $1 GROUP BY status",
            &[text(program_id)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StatusTotals {
                    status: status(r.try_get(0)?)?,
                    count: r.try_get::<_, i64>(1)? as u64,
                    progress: r.try_get(2)?,
                    steps_completed: r.try_get::<_, f64>(3)? as u64,
                    completed: r.try_get::<_, i64>(4)? as u64,
                    completion_ms: r.try_get::<_, f64>(5)? as i128,
                })
            })
            .collect()
    }

    fn step_counts(&mut self, program_id: &str) -> Result<Vec<(String, StepStatus, u64)>> {
        let rows = self.rows(
            "SELECT p.step_id, p.status, count(*) FROM enrollments e \
             JOIN step_progress p ON p.enrollment_rid = e.rid \
             WHERE e.program_id = $1 GROUP BY p.step_id, p.status",
            &[text(program_id)],
        )?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    step_status(r.try_get(1)?)?,
                    r.try_get::<_, i64>(2)? as u64,
                ))
            })
            .collect()
    }

    fn count(&mut self, records: Records) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", records.table());
        let n: i64 = self.client.query_one(&sql, &[])?.try_get(0)?;
        Ok(n as u64)
    }

    fn has_any(&mut self, records: Records) -> Result<bool> {
        self.flag(
            &format!("SELECT EXISTS (SELECT 1 FROM {})", records.table()),
            &[],
        )
    }

    fn storage_problems(&mut self) -> Result<Vec<String>> {
        // PostgreSQL checks its own pages and enforces the foreign keys on every write: there
        // is nothing of the kind of SQLite's integrity_check to run.
        Ok(Vec::new())
    }

    fn duplicate_open_enrollments(&mut self) -> Result<Vec<(String, String, i64)>> {
        let open: Vec<String> = Status::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.code().to_string())
            .collect();
        let sql = format!(
            "SELECT user_id, program_id, count(*) FROM enrollments WHERE status IN ({}) \
             GROUP BY user_id, program_id HAVING count(*) > 1",
            open.join(", ")
        );
        let rows = self.rows(&sql, &[])?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    fn copy_to(&mut self, dest: &Path) -> Result<()> {
        Err(Error::validation(
            "backup",
            format!(
                "cannot copy a PostgreSQL database to {}: use pg_dump, or export",
                dest.display()
            ),
        ))
    }
}

/// A WHERE clause under construction: `?` in each added clause becomes the next numbered
/// parameter.
#[derive(Default)]
struct Where<'a> {
    clauses: Vec<String>,
    values: Vec<Param<'a>>,
}

impl<'a> Where<'a> {
    fn add(&mut self, clause: &str, value: Param<'a>) {
        self.values.push(value);
        self.clauses
            .push(clause.replace('?', &format!("${}", self.values.len())));
    }
}

impl Write for Tx<'_> {
    fn enrolling_user(&mut self, by: &UserRef) -> Result<User> {
        if let UserRef::Id(id) = by {
            match self.ahead_users.get(id) {
                Some(Some(user)) => return Ok(user.clone()),
                Some(None) => return Err(Error::not_found("user", id.clone())),
                None => {}
            }
        }
        self.find_user(by, true)
    }

    fn now(&self) -> Timestamp {
        self.now
    }

    fn discard(&mut self) {
        self.discard = true;
    }

    fn upsert_user(&mut self, user: &User, times: UserTimes, replace: bool) -> Result<()> {
        self.stale();
        self.check_unique_values(user)?;
        if self.insert_user(user, times, replace)? == 0 {
            return Err(Error::Conflict(format!("user {} already exists", user.id)));
        }
        Ok(())
    }

    fn replace_users(&mut self, users: &[&User], times: UserTimes) -> Result<bool> {
        self.stale();
        // One statement in a savepoint. An email or external id of another user, or an id
        // twice in the batch, fails it: the batch is then refused and written one by one,
        // which says which user and why.
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            let insert = unnest_insert("users", &USER_INSERT_COLUMNS, &USER_INSERT_TYPES);
            format!("{insert} {}", user_replace())
        });
        let rows: Vec<_> = users
            .iter()
            .map(|u| user_values(u, times))
            .collect::<Result<_>>()?;
        let columns = by_column(rows.into_iter());
        self.batch(&mut |tx| match tx.run_arrays(sql, &columns) {
            Ok(_) => Ok(true),
            Err(e) if refused_batch(&e) => Ok(false),
            Err(e) => Err(e),
        })
    }

    fn insert_users(&mut self, users: &[(&User, UserTimes)]) -> Result<bool> {
        self.stale();
        // One at a time in a savepoint: a refused one (a value taken, also by an earlier one of
        // the batch) undoes the others.
        self.batch(&mut |tx| {
            for (user, times) in users {
                match tx.check_unique_values(user) {
                    Ok(()) => {}
                    Err(Error::Conflict(_)) => return Ok(false),
                    Err(other) => return Err(other),
                }
                if tx.insert_user(user, *times, false)? == 0 {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn write_program(
        &mut self,
        spec: &ProgramSpec,
        now: Timestamp,
        steps_changed: bool,
    ) -> Result<()> {
        self.programs_changed = true;
        self.run(
            "INSERT INTO programs (id, kind, title, description, state, self_enrollment, \
             passing_score, max_attempts, created_at, updated_at, policy_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
             description = excluded.description, state = excluded.state, \
             self_enrollment = excluded.self_enrollment, \
             passing_score = excluded.passing_score, max_attempts = excluded.max_attempts, \
             updated_at = excluded.updated_at, policy_json = excluded.policy_json",
            &[
                text(&spec.id),
                text(spec.kind.as_str()),
                text(&spec.title),
                opt_text(&spec.description),
                text(spec.state.as_str()),
                Param::Bool(spec.self_enrollment),
                spec.assessment
                    .map_or(Param::Null, |a| Param::Real(a.passing_score)),
                spec.assessment
                    .and_then(|a| a.max_attempts)
                    .map_or(Param::Null, |m| Param::Int(m.into())),
                Param::Int(now.millis()),
                crate::storage::policy_json(&spec.policy)?.map_or(Param::Null, Param::String),
            ],
        )?;
        if steps_changed {
            self.run(
                "DELETE FROM program_steps WHERE program_id = $1",
                &[text(&spec.id)],
            )?;
            for (i, step) in spec.steps.iter().enumerate() {
                let schedule = step
                    .schedule
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()?;
                self.run(
                    "INSERT INTO program_steps (program_id, step_id, position, step_type, \
                     title, learner_completable, schedule_json) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        text(&spec.id),
                        text(&step.id),
                        Param::Int(i as i64 + 1),
                        text(&step.step_type),
                        text(&step.title),
                        Param::Bool(step.learner_completable),
                        opt_text(&schedule),
                    ],
                )?;
            }
        }
        Ok(())
    }

    fn set_program_times(
        &mut self,
        id: &str,
        created: Timestamp,
        updated: Timestamp,
    ) -> Result<()> {
        self.programs_changed = true;
        self.run(
            "UPDATE programs SET created_at = $2, updated_at = $3 WHERE id = $1",
            &[
                text(id),
                Param::Int(created.millis()),
                Param::Int(updated.millis()),
            ],
        )?;
        Ok(())
    }

    fn enrollment_for_update(&mut self, id: &str) -> Result<(EnrollmentKey, Enrollment)> {
        // Every change of an enrollment runs it: its text is built once.
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
            format!(
                "SELECT e.rid, {} FROM enrollments e WHERE e.id = $1 FOR UPDATE",
                columns.join(", ")
            )
        });
        match self.row(sql, &[text(id)])? {
            Some(r) => stored_enrollment(&r).map(|(rid, e)| (EnrollmentKey(rid), e)),
            None => Err(Error::not_found("enrollment", id)),
        }
    }

    fn program_has_enrollments(&mut self, id: &str) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM enrollments WHERE program_id = $1)",
            &[text(id)],
        )
    }

    fn read_ahead(&mut self, rows: &[(&str, &str)]) -> Result<()> {
        let mut ids: Vec<&str> = rows.iter().map(|(u, _)| *u).collect();
        ids.sort_unstable();
        ids.dedup();
        let (users, programs): (Vec<&str>, Vec<&str>) = rows.iter().copied().unzip();
        // Locked as `enrolling_user` locks one.
        let sql = format!(
            "SELECT {} FROM users WHERE id = ANY($1) FOR KEY SHARE",
            user_columns()
        );
        let statement = self.statement(&sql)?;
        let found = self.client.query(&statement, &[&ids])?;
        self.ahead_users = ids.iter().map(|id| (id.to_string(), None)).collect();
        for r in &found {
            let u = user(r)?;
            self.ahead_users.insert(u.id.clone(), Some(u));
        }
        let statement = self.statement(
            "SELECT e.user_id, e.program_id, e.id, e.status, e.attempt_number \
             FROM enrollments e JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) \
             AS w (user_id, program_id) \
             ON e.user_id = w.user_id AND e.program_id = w.program_id ORDER BY e.rid DESC",
        )?;
        let found = self.client.query(&statement, &[&users, &programs])?;
        self.ahead_priors = rows
            .iter()
            .map(|(u, p)| ((u.to_string(), p.to_string()), Vec::new()))
            .collect();
        for r in &found {
            let pair: (String, String) = (r.try_get(0)?, r.try_get(1)?);
            self.ahead_priors
                .entry(pair)
                .or_default()
                .push(prior(r, 2)?);
        }
        Ok(())
    }

    fn prior_enrollments(
        &mut self,
        user_id: &str,
        program_id: &str,
    ) -> Result<(Option<Prior>, Option<Prior>)> {
        let key = (user_id.to_owned(), program_id.to_owned());
        let priors = match self.ahead_priors.remove(&key) {
            Some(priors) => priors,
            None => {
                let rows = self.rows(
                    "SELECT id, status, attempt_number FROM enrollments \
                     WHERE user_id = $1 AND program_id = $2 ORDER BY rid DESC",
                    &[text(user_id), text(program_id)],
                )?;
                rows.iter().map(|r| prior(r, 0)).collect::<Result<_>>()?
            }
        };
        let open = priors.iter().find(|p| p.status.is_open()).cloned();
        Ok((open, priors.into_iter().next()))
    }

    fn expirable(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
            let columns = format!("e.rid, {}", columns.join(", "));
            format!(
                "{} FOR UPDATE SKIP LOCKED",
                crate::storage::expirable_sql(&columns, "$1", "$2")
            )
        });
        let rows = self.rows(sql, &[Param::Int(now.millis()), Param::Int(limit.into())])?;
        rows.iter()
            .map(|r| stored_enrollment(r).map(|(rid, e)| (EnrollmentKey(rid), e)))
            .collect()
    }

    fn waitlist_head(
        &mut self,
        program_id: &str,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        // A row that stopped waiting meanwhile (canceled, deleted) is checked again once
        // locked and left out.
        self.waitlist_rows(program_id, limit, true)
    }

    fn delete_user_with_enrollments(&mut self, user_id: &str) -> Result<Vec<Enrollment>> {
        self.stale();
        // The user's row first: an enrollment of the user locks it (KEY SHARE), so none can
        // commit once this holds it.
        let locked = self.rows(
            "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
            &[text(user_id)],
        )?;
        if locked.is_empty() {
            return Err(Error::not_found("user", user_id));
        }
        let columns: Vec<String> = STORED_COLUMNS.iter().map(|c| format!("e.{c}")).collect();
        let sql = format!(
            "DELETE FROM enrollments e WHERE user_id = $1 RETURNING e.rid, {}",
            columns.join(", ")
        );
        let rows = self.rows(&sql, &[text(user_id)])?;
        let mut enrollments = rows
            .iter()
            .map(stored_enrollment)
            .collect::<Result<Vec<_>>>()?;
        enrollments.sort_by_key(|(rid, _)| *rid);
        self.run("DELETE FROM users WHERE id = $1", &[text(user_id)])?;
        Ok(enrollments.into_iter().map(|(_, e)| e).collect())
    }

    fn scrub_events(&mut self, user_id: &str, tombstone: &str) -> Result<u64> {
        let changed = self.run(
            "UPDATE events SET user_id = $2, reason = NULL, actor = CASE \
             WHEN actor = 'learner:' || $1 THEN 'learner:' || $2 ELSE actor END \
             WHERE user_id = $1",
            &[text(user_id), text(tombstone)],
        )?;
        Ok(changed
            + self.run(
                "UPDATE events SET actor = 'learner:' || $2 WHERE actor = 'learner:' || $1",
                &[text(user_id), text(tombstone)],
            )?)
    }

    fn clear_user_references(
        &mut self,
        user_id: &str,
        tombstone: &str,
        needles: &[&str],
    ) -> Result<()> {
        self.stale();
        for sql in [
            "UPDATE users SET manager_id = NULL WHERE manager_id = $1",
            "UPDATE enrollments SET mentor_id = NULL, mentor_assigned_at = NULL \
             WHERE mentor_id = $1",
            "UPDATE enrollments SET added_by_user_id = NULL WHERE added_by_user_id = $1",
        ] {
            self.run(sql, &[text(user_id)])?;
        }
        for needle in needles.iter().filter(|n| !n.is_empty()) {
            for (table, column) in crate::storage::FREE_TEXT {
                let sql = format!(
                    "UPDATE {table} SET {column} = replace({column}, $1, $2) \
                     WHERE strpos({column}, $1) > 0"
                );
                self.run(&sql, &[text(needle), text(tombstone)])?;
            }
        }
        Ok(())
    }

    fn lock_program(&mut self, program_id: &str) -> Result<()> {
        self.run(
            "SELECT 1 FROM programs WHERE id = $1 FOR UPDATE",
            &[text(program_id)],
        )?;
        Ok(())
    }

    fn completed_programs(&mut self, user_id: &str, programs: &[String]) -> Result<Vec<String>> {
        let rows = self.rows(
            "SELECT DISTINCT program_id FROM enrollments WHERE user_id = $1 AND status = $2 \
             AND program_id IN (SELECT jsonb_array_elements_text($3::text::jsonb))",
            &[
                text(user_id),
                Param::Int(Status::Completed.code()),
                Param::String(serde_json::to_string(programs)?),
            ],
        )?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    fn enrollment_id_used(&mut self, id: &str) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM enrollments WHERE id = $1) \
             OR EXISTS (SELECT 1 FROM events WHERE enrollment_id = $1)",
            &[text(id)],
        )
    }

    fn enrollment_id_in_history(&mut self, id: &str) -> Result<bool> {
        self.flag(
            "SELECT EXISTS (SELECT 1 FROM events WHERE enrollment_id = $1)",
            &[text(id)],
        )
    }

    fn insert_enrollment(
        &mut self,
        e: &Enrollment,
    ) -> Result<std::result::Result<EnrollmentKey, Refused>> {
        self.ahead_priors
            .remove(&(e.user_id.clone(), e.program_id.clone()));
        let values = enrollment_values(e);
        if let Some(r) = self.row(enrollment_insert(), &values)? {
            return Ok(Ok(EnrollmentKey(r.try_get(0)?)));
        }
        // Refused: say by which rule.
        if self.flag(
            "SELECT EXISTS (SELECT 1 FROM enrollments WHERE id = $1)",
            &[text(&e.id)],
        )? {
            return Ok(Err(Refused::IdTaken));
        }
        if let Some(open) = self.open_enrollment(&e.user_id, &e.program_id)? {
            return Ok(Err(Refused::OpenEnrollment(open)));
        }
        Ok(Err(Refused::MissingParent))
    }

    fn batch_rows(&self) -> usize {
        BATCH_ROWS
    }

    fn insert_new_enrollments<'e>(
        &mut self,
        es: &[Enrollment],
        event: &dyn Fn(&Enrollment) -> NewEvent<'e>,
    ) -> Result<()> {
        // Two statements for the batch, one per table: a round trip per statement is most of
        // a row's cost. Every rule was checked by the caller; a refusal here fails the
        // transaction.
        for e in es {
            self.ahead_priors
                .remove(&(e.user_id.clone(), e.program_id.clone()));
        }
        static ENROLLMENTS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static EVENTS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = ENROLLMENTS
            .get_or_init(|| unnest_insert("enrollments", &STORED_COLUMNS, &STORED_TYPES));
        let columns = by_column(es.iter().map(enrollment_values));
        self.run_arrays(sql, &columns)?;
        self.lock_events()?;
        let events: Vec<NewEvent<'e>> = es.iter().map(event).collect();
        let actors: Vec<_> = events.iter().map(|ev| ev.actor.label_text()).collect();
        let rows = es
            .iter()
            .zip(&events)
            .zip(&actors)
            .map(|((e, ev), actor)| new_event_values(e, ev, actor));
        let sql = EVENTS
            .get_or_init(|| unnest_insert("events", &EVENT_INSERT_COLUMNS, &EVENT_INSERT_TYPES));
        self.run_arrays(sql, &by_column(rows))?;
        Ok(())
    }

    fn insert_enrollments(&mut self, es: &[&Enrollment]) -> Result<bool> {
        self.stale();
        self.batch(&mut |tx| {
            for e in es {
                if tx.insert_enrollment(e)?.is_err() {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn claimable(
        &mut self,
        now: Timestamp,
        program: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        self.scheduled_work_of(WorkQuery::claiming(program), now, program, limit)
    }

    fn update_enrollment(
        &mut self,
        key: EnrollmentKey,
        before: &Enrollment,
        after: &Enrollment,
    ) -> Result<()> {
        self.stale();
        let old = enrollment_values(before);
        let new = enrollment_values(after);
        self.flush()?;
        let mut sets = Vec::new();
        let mut values = Vec::new();
        for ((column, new), old) in STORED_COLUMNS.iter().zip(new).zip(old) {
            if new != old {
                values.push(new.into_owned());
                sets.push(format!("{column} = ${}", values.len()));
            }
        }
        if values.is_empty() {
            return Ok(());
        }
        values.push(Param::Int(key.0));
        self.pending_update = Some((sets.join(", "), values));
        Ok(())
    }

    fn delete_enrollment(&mut self, key: EnrollmentKey) -> Result<()> {
        self.stale();
        self.run(
            "DELETE FROM enrollments WHERE rid = $1",
            &[Param::Int(key.0)],
        )?;
        Ok(())
    }

    fn write_step_progress(&mut self, key: EnrollmentKey, p: &StepProgress) -> Result<()> {
        let result = p.result.as_ref().map(serde_json::to_string).transpose()?;
        self.run(
            "INSERT INTO step_progress (enrollment_rid, step_id, status, started_at, \
             delivered_at, completed_at, failed_at, skipped_at, failure_reason, \
             failure_message, destination_type, result_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (enrollment_rid, step_id) DO UPDATE SET status = excluded.status, \
             started_at = excluded.started_at, delivered_at = excluded.delivered_at, \
             completed_at = excluded.completed_at, failed_at = excluded.failed_at, \
             skipped_at = excluded.skipped_at, failure_reason = excluded.failure_reason, \
             failure_message = excluded.failure_message, \
             destination_type = excluded.destination_type, result_json = excluded.result_json",
            &[
                Param::Int(key.0),
                text(&p.step_id),
                Param::Int(p.status.code()),
                millis(p.started_at),
                millis(p.delivered_at),
                millis(p.completed_at),
                millis(p.failed_at),
                millis(p.skipped_at),
                opt_text(&p.failure_reason),
                opt_text(&p.failure_message),
                opt_text(&p.destination_type),
                opt_text(&result),
            ],
        )?;
        Ok(())
    }

    fn insert_attempt(&mut self, key: EnrollmentKey, a: &Attempt) -> Result<()> {
        self.run(
            "INSERT INTO attempts (enrollment_rid, number, score, passed, submitted_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                Param::Int(key.0),
                Param::Int(a.number.into()),
                Param::Real(a.score),
                a.passed.map_or(Param::Null, Param::Bool),
                Param::Int(a.submitted_at.millis()),
            ],
        )?;
        Ok(())
    }

    fn append_event(&mut self, e: &Enrollment, event: NewEvent<'_>) -> Result<()> {
        self.insert_event_row(e, &event)
    }

    fn insert_event(&mut self, ev: &Event) -> Result<std::result::Result<(), Refused>> {
        if !self.insert_event_as_is(ev)? {
            return Ok(Err(Refused::IdTaken));
        }
        self.number_after_imported()?;
        Ok(Ok(()))
    }

    fn insert_events(&mut self, events: &[&Event]) -> Result<bool> {
        self.batch(&mut |tx| {
            for ev in events {
                if !tx.insert_event_as_is(ev)? {
                    return Ok(false);
                }
            }
            tx.number_after_imported()?;
            Ok(true)
        })
    }

    fn all_or_nothing(&mut self, body: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()> {
        self.batch(&mut |tx| body(tx).map(|()| true)).map(drop)
    }

    fn defer_indexes(&mut self) -> Result<()> {
        // PostgreSQL maintains its indexes through a load at a cost that does not call for
        // rebuilding them afterwards.
        Ok(())
    }

    fn restore_indexes(&mut self, _: Records) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// The due-work queue's queries are served by `enrollments_due` (or with a program,
    /// `enrollments_due_program`), in its order. Needs the
    /// test server (`scripts/pg run`), as the integration tests do.
    #[test]
    fn the_due_work_queue_walks_its_index_in_order() {
        let Ok(base) = std::env::var("ENROLLKIT_TEST_POSTGRES") else {
            assert_eq!(
                std::env::var("ENROLLKIT_SKIP_POSTGRES").as_deref(),
                Ok("1"),
                "run under scripts/pg run, or set ENROLLKIT_SKIP_POSTGRES=1"
            );
            eprintln!("SKIPPED: the PostgreSQL plan check (ENROLLKIT_SKIP_POSTGRES=1)");
            return;
        };
        let name = format!("t_plan_{}", std::process::id());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        let kept: Vec<&str> = base
            .split_whitespace()
            .filter(|kv| !kv.starts_with("dbname="))
            .collect();
        let location = format!("{} dbname={name}", kept.join(" "));
        drop(crate::Store::open(&location).unwrap());
        let mut client = postgres::Client::connect(&location, postgres::NoTls).unwrap();
        // An empty table's statistics make any plan cheap: take away the plans that do not
        // read an index in order, so that the check is whether one can.
        client
            .batch_execute(
                "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off",
            )
            .unwrap();
        let mut plans = Vec::new();
        for i in 0..8 {
            let q = crate::storage::WorkQuery {
                claimable: i & 1 != 0,
                until: i & 2 != 0,
                program: i & 4 != 0,
            };
            let (mut sql, order) = super::WORK_SQL.get(q).clone();
            for (n, p) in order.iter().enumerate().rev() {
                let value = match p {
                    crate::storage::WorkParam::Time => "1000",
                    crate::storage::WorkParam::Program => "'p'",
                    crate::storage::WorkParam::Limit => "10",
                };
                sql = sql.replace(&format!("${}", n + 1), value);
            }
            let plan: Vec<String> = client
                .query(&format!("EXPLAIN {sql}"), &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            plans.push((q.program, plan.join("\n")));
        }
        drop(client);
        admin
            .batch_execute(&format!("DROP DATABASE {name}"))
            .unwrap();
        for (by_program, plan) in plans {
            let index = if by_program {
                "enrollments_due_program"
            } else {
                "enrollments_due"
            };
            assert!(
                plan.split_whitespace().any(|word| word == index),
                "{index}: {plan}"
            );
            assert!(!plan.contains("Sort"), "no sort: {plan}");
        }
    }
}
