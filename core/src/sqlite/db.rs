//! Row-level SQL for SQLite: reading and writing users, programs, enrollments, step progress,
//! attempts and events. No rules live here; [`crate::lifecycle`] decides, this module stores.

use std::sync::LazyLock;

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Row};

use crate::domain::model::{
    enrollment_fields, Actor, Assessment, Attempt, Enrollment, Event, FailureReason, Kind, Prior,
    Program, ProgramSpec, ProgramState, Status, Step, StepProgress, StepStatus, Trigger, User,
    UserRef,
};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

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

fn ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::millis)
}

fn bad_row(what: &str, value: impl std::fmt::Display) -> rusqlite::Error {
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

fn kind_from_code(code: i64) -> rusqlite::Result<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| kind_code(*k) == code)
        .ok_or_else(|| bad_row("kind", code))
}

fn status_from_code(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or_else(|| bad_row("status", code))
}

pub(crate) fn step_status_code(s: StepStatus) -> i64 {
    StepStatus::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64
}

fn step_status_from_code(code: i64) -> rusqlite::Result<StepStatus> {
    usize::try_from(code)
        .ok()
        .and_then(|i| StepStatus::ALL.get(i).copied())
        .ok_or_else(|| bad_row("step status", code))
}

fn parse_col<T>(text: String, parse: fn(&str) -> Result<T>) -> rusqlite::Result<T> {
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

// ---------------------------------------------------------------------------------------------
// Users

/// The user columns `user_from_row` reads, as a macro so that statements can be `concat!`ed
/// at compile time instead of formatted on every call.
macro_rules! user_columns {
    () => {
        "id, email, display_name, external_id, department, location, manager_id, groups_json, \
         timezone"
    };
}

/// `SELECT <user columns> FROM users WHERE `.
macro_rules! select_user {
    () => {
        concat!("SELECT ", user_columns!(), " FROM users WHERE ")
    };
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let groups: String = r.get(7)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        external_id: r.get(3)?,
        department: r.get(4)?,
        location: r.get(5)?,
        manager_id: r.get(6)?,
        groups: serde_json::from_str(&groups).map_err(|_| bad_row("groups", &groups))?,
        timezone: r.get(8)?,
    })
}

/// The column list of a user row, shared by the user INSERTs.
macro_rules! user_into {
    () => {
        "INSERT INTO users (id, email, display_name, external_id, department, location, \
         manager_id, groups_json, timezone, created_at, updated_at) VALUES "
    };
}

/// [`user_into`] one user, bound with [`user_values`].
macro_rules! insert_user {
    () => {
        concat!(
            user_into!(),
            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        )
    };
}

/// When a user row was created and last changed. A new user has one time for both; an import
/// keeps the times its export carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserTimes {
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl UserTimes {
    /// A user created (or changed) at `now`.
    pub(crate) fn at(now: Timestamp) -> UserTimes {
        UserTimes {
            created_at: now,
            updated_at: now,
        }
    }
}

/// The values of a new user row in [`user_into`]'s order: `groups` is `u.groups` as JSON.
fn user_values<'a>(u: &'a User, groups: &'a str, times: UserTimes) -> [ValueRef<'a>; USER_PARAMS] {
    [
        str_value(&u.id),
        opt_str_value(&u.email),
        opt_str_value(&u.display_name),
        opt_str_value(&u.external_id),
        opt_str_value(&u.department),
        opt_str_value(&u.location),
        opt_str_value(&u.manager_id),
        str_value(groups),
        opt_str_value(&u.timezone),
        ValueRef::Integer(times.created_at.millis()),
        ValueRef::Integer(times.updated_at.millis()),
    ]
}

/// Creates or (with `replace`) replaces a user. Without `replace`, an existing id is a
/// conflict. An email or external id that belongs to another user is a conflict.
pub(crate) fn upsert_user(
    held: &mut Held<'_>,
    user: &User,
    times: UserTimes,
    replace: bool,
) -> Result<()> {
    let groups = serde_json::to_string(&user.groups)?;
    let mut clash = |field: &str, sql: &'static str, value: &Option<String>| -> Result<()> {
        let Some(v) = value else { return Ok(()) };
        let other: Option<String> = held
            .stmt(sql)?
            .query_row(params![v, user.id], |r| r.get(0))
            .optional()?;
        match other {
            Some(other) => Err(Error::Conflict(format!(
                "{field} {v:?} already belongs to user {other}"
            ))),
            None => Ok(()),
        }
    };
    clash(
        "email",
        "SELECT id FROM users WHERE email COLLATE NOCASE = ?1 AND id <> ?2",
        &user.email,
    )?;
    clash(
        "external_id",
        "SELECT id FROM users WHERE external_id = ?1 AND id <> ?2",
        &user.external_id,
    )?;
    let sql = if replace {
        concat!(
            insert_user!(),
            " ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             display_name = excluded.display_name, external_id = excluded.external_id, \
             department = excluded.department, location = excluded.location, \
             manager_id = excluded.manager_id, groups_json = excluded.groups_json, \
             timezone = excluded.timezone, updated_at = excluded.updated_at"
        )
    } else {
        concat!(insert_user!(), " ON CONFLICT (id) DO NOTHING")
    };
    let changed = held.stmt(sql)?.execute(rusqlite::params_from_iter(
        user_values(user, &groups, times).map(ToSqlOutput::Borrowed),
    ))?;
    if changed == 0 {
        return Err(Error::Conflict(format!("user {} already exists", user.id)));
    }
    Ok(())
}

/// How many values [`user_values`] gives a user.
const USER_PARAMS: usize = 11;

/// [`user_into`] for [`ROWS_PER_INSERT`] users, a plain `INSERT` as [`EVENT_RAW_ROWS`].
static INSERT_USER_ROWS: LazyLock<String> =
    LazyLock::new(|| values_insert(user_into!(), USER_PARAMS, ROWS_PER_INSERT));

/// Inserts [`ROWS_PER_INSERT`] new users (imports) with one statement: all of them, or (an
/// error: an id, email or external id taken, also by another of them) none. The caller then
/// writes them one by one with [`upsert_user`], which names the conflict.
pub(crate) fn insert_users(held: &mut Held<'_>, users: &[(&User, UserTimes)]) -> Result<()> {
    debug_assert_eq!(users.len(), ROWS_PER_INSERT);
    let groups = users
        .iter()
        .map(|(u, _)| serde_json::to_string(&u.groups))
        .collect::<serde_json::Result<Vec<_>>>()?;
    let stmt = held.stmt(INSERT_USER_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, ((u, times), groups)) in users.iter().zip(&groups).enumerate() {
            bind_values(stmt, row * USER_PARAMS, user_values(u, groups, *times))?;
        }
        Ok(())
    })
}

pub(crate) fn find_user(conn: &Connection, by: &UserRef) -> Result<User> {
    find_user_held(&mut Held::new(conn), by)
}

/// `(SQL, value, entity)` that find the user `$by` (a [`UserRef`]) with `$select`, a SELECT
/// ending in `WHERE `.
macro_rules! user_lookup {
    ($select:expr, $by:expr) => {
        match $by {
            UserRef::Id(v) => (concat!($select, "id = ?1"), v, "user"),
            UserRef::Email(v) => (
                concat!($select, "email COLLATE NOCASE = ?1"),
                v,
                "user with email",
            ),
            UserRef::ExternalId(v) => (
                concat!($select, "external_id = ?1"),
                v,
                "user with external id",
            ),
        }
    };
}

/// Runs a [`user_lookup!`]: the row as `row` reads it, or `not_found`.
fn find_user_by<T>(
    held: &mut Held<'_>,
    (sql, value, entity): (&'static str, &String, &'static str),
    row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<T> {
    held.stmt(sql)?
        .query_row([value], row)
        .optional()?
        .ok_or_else(|| Error::not_found(entity, value.clone()))
}

pub(crate) fn find_user_held(held: &mut Held<'_>, by: &UserRef) -> Result<User> {
    find_user_by(held, user_lookup!(select_user!(), by), user_from_row)
}

/// The user `by` refers to, with only the fields an enrollment takes from its user (`id` and
/// `timezone`, as read by [`crate::lifecycle::enroll`]); the others are left empty. Bulk
/// enrolls look up one user per row, and the full row would parse its groups from JSON for
/// nothing.
pub(crate) fn find_enrolling_user(held: &mut Held<'_>, by: &UserRef) -> Result<User> {
    let lookup = user_lookup!("SELECT id, timezone FROM users WHERE ", by);
    find_user_by(held, lookup, |r| {
        Ok(User {
            id: r.get(0)?,
            timezone: r.get(1)?,
            ..User::default()
        })
    })
}

/// [`list_users`] with each user's times (exports).
pub(crate) fn list_users_with_times(
    conn: &Connection,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<(User, UserTimes)>> {
    let sql = concat!(
        "SELECT ",
        user_columns!(),
        ", created_at, updated_at FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], |r| {
        let times = UserTimes {
            created_at: Timestamp::from_millis(r.get(9)?),
            updated_at: Timestamp::from_millis(r.get(10)?),
        };
        Ok((user_from_row(r)?, times))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_users(conn: &Connection, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
    let sql = concat!(select_user!(), "id > ?1 ORDER BY id LIMIT ?2");
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], user_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// ---------------------------------------------------------------------------------------------
// Programs

const PROGRAM_COLUMNS: &str = "id, kind, title, description, state, self_enrollment, \
                               passing_score, max_attempts, created_at, updated_at";

fn program_from_row(r: &Row<'_>) -> rusqlite::Result<Program> {
    let passing: Option<f64> = r.get(6)?;
    let max_attempts: Option<u32> = r.get(7)?;
    Ok(Program {
        spec: ProgramSpec {
            id: r.get(0)?,
            kind: parse_col(r.get(1)?, Kind::parse)?,
            title: r.get(2)?,
            description: r.get(3)?,
            state: parse_col(r.get(4)?, ProgramState::parse)?,
            self_enrollment: r.get(5)?,
            steps: Vec::new(),
            assessment: passing.map(|passing_score| Assessment {
                passing_score,
                max_attempts,
            }),
        },
        created_at: Timestamp::from_millis(r.get(8)?),
        updated_at: Timestamp::from_millis(r.get(9)?),
    })
}

fn load_steps_of(conn: &Connection, program: &mut Program) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT step_id, step_type, title, learner_completable FROM program_steps
         WHERE program_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([&program.spec.id], |r| {
        Ok(Step {
            id: r.get(0)?,
            step_type: r.get(1)?,
            title: r.get(2)?,
            learner_completable: r.get(3)?,
        })
    })?;
    program.spec.steps = rows.collect::<rusqlite::Result<_>>()?;
    Ok(())
}

pub(crate) fn get_program(conn: &Connection, id: &str) -> Result<Program> {
    let sql = format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = ?1");
    let mut program = conn
        .prepare_cached(&sql)?
        .query_row([id], program_from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("program", id))?;
    load_steps_of(conn, &mut program)?;
    Ok(program)
}

pub(crate) fn list_programs(
    conn: &Connection,
    kind: Option<Kind>,
    state: Option<ProgramState>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Program>> {
    let sql = format!(
        "SELECT {PROGRAM_COLUMNS} FROM programs
         WHERE id > ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3)
         ORDER BY id LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            after.unwrap_or(""),
            kind.map(Kind::as_str),
            state.map(ProgramState::as_str),
            limit
        ],
        program_from_row,
    )?;
    let mut programs: Vec<Program> = rows.collect::<rusqlite::Result<_>>()?;
    for p in &mut programs {
        load_steps_of(conn, p)?;
    }
    Ok(programs)
}

pub(crate) fn write_program(
    conn: &Connection,
    spec: &ProgramSpec,
    now: Timestamp,
    replace_steps: bool,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO programs (id, kind, title, description, state, self_enrollment,
                               passing_score, max_attempts, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
         ON CONFLICT (id) DO UPDATE SET
            title = excluded.title, description = excluded.description, state = excluded.state,
            self_enrollment = excluded.self_enrollment, passing_score = excluded.passing_score,
            max_attempts = excluded.max_attempts, updated_at = excluded.updated_at",
    )?
    .execute(params![
        spec.id,
        spec.kind.as_str(),
        spec.title,
        spec.description,
        spec.state.as_str(),
        spec.self_enrollment,
        spec.assessment.map(|a| a.passing_score),
        spec.assessment.and_then(|a| a.max_attempts),
        now.millis()
    ])?;
    if replace_steps {
        conn.prepare_cached("DELETE FROM program_steps WHERE program_id = ?1")?
            .execute([&spec.id])?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO program_steps (program_id, step_id, position, step_type, title,
                                        learner_completable)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (i, s) in spec.steps.iter().enumerate() {
            insert.execute(params![
                spec.id,
                s.id,
                i as i64 + 1,
                s.step_type,
                s.title,
                s.learner_completable
            ])?;
        }
    }
    Ok(())
}

/// Sets a program's stored times (imports keep the exported ones).
pub(crate) fn set_program_times(
    conn: &Connection,
    id: &str,
    created: Timestamp,
    updated: Timestamp,
) -> Result<()> {
    conn.prepare_cached("UPDATE programs SET created_at = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, created.millis(), updated.millis()])?;
    Ok(())
}

pub(crate) fn program_has_enrollments(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM enrollments WHERE program_id = ?1 LIMIT 1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

// ---------------------------------------------------------------------------------------------
// Enrollments

/// [`ENROLLMENT_COLUMNS`] as a macro, for statements `concat!`ed at compile time.
///
/// `e.*` is `rid` then [`STORED_COLUMNS`] (the table's column order, which a test checks):
/// a short SQL text matters, because rusqlite's statement cache hashes the whole text twice
/// per use.
macro_rules! enrollment_columns {
    () => {
        "e.*, (SELECT count(*) FROM program_steps s WHERE s.program_id = e.program_id)"
    };
}

/// Columns of `enrollments` in the order `enrollment_from_row` reads them, qualified with `e.`,
/// followed by the program's step count.
pub(crate) const ENROLLMENT_COLUMNS: &str = enrollment_columns!();

/// Reads a row selected with [`ENROLLMENT_COLUMNS`]: `(rid, enrollment)`.
pub(crate) fn enrollment_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, Enrollment)> {
    let (rid, mut e) = stored_enrollment_from_row(r)?;
    // After `rid` and the stored columns.
    e.steps_total = r.get(STORED_COLUMNS.len() + 1)?;
    Ok((rid, e))
}

/// The stored columns of `enrollments` (alias `e`), as [`stored_enrollment_from_row`] reads
/// them: [`ENROLLMENT_COLUMNS`] without the program's step count.
pub(crate) const ENROLLMENT_STORED_COLUMNS: &str = "e.*";

fn str_value(s: &str) -> ValueRef<'_> {
    ValueRef::Text(s.as_bytes())
}

fn opt_str_value(s: &Option<String>) -> ValueRef<'_> {
    s.as_deref().map_or(ValueRef::Null, str_value)
}

/// How a field of [`Enrollment`] is stored in its column, and read back.
trait Stored: Sized {
    /// The value to bind, borrowed from the field.
    fn value(&self) -> ValueRef<'_>;
    /// The field from column `i` of `r`.
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self>;
}

/// [`Stored`] for types that rusqlite reads itself: `|v| value` makes the value to bind.
macro_rules! stored_as {
    ($($ty:ty => |$v:ident| $value:expr;)*) => {$(
        impl Stored for $ty {
            fn value(&self) -> ValueRef<'_> {
                let $v = self;
                $value
            }
            fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
                r.get(i)
            }
        }
    )*};
}
stored_as! {
    String => |v| str_value(v);
    Option<String> => |v| opt_str_value(v);
    u32 => |v| ValueRef::Integer((*v).into());
    f64 => |v| ValueRef::Real(*v);
    Option<f64> => |v| v.map_or(ValueRef::Null, ValueRef::Real);
    Option<bool> => |v| v.map_or(ValueRef::Null, |b| ValueRef::Integer(b.into()));
}

impl Stored for Kind {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Integer(kind_code(*self))
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        kind_from_code(r.get(i)?)
    }
}

impl Stored for Status {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Integer(self.code())
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        status_from_code(r.get(i)?)
    }
}

impl Stored for Option<Status> {
    fn value(&self) -> ValueRef<'_> {
        self.map_or(ValueRef::Null, |s| ValueRef::Integer(s.code()))
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        r.get::<_, Option<i64>>(i)?
            .map(status_from_code)
            .transpose()
    }
}

impl Stored for Trigger {
    fn value(&self) -> ValueRef<'_> {
        str_value(self.as_str())
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        parse_col(r.get(i)?, Trigger::parse)
    }
}

impl Stored for Option<FailureReason> {
    fn value(&self) -> ValueRef<'_> {
        self.map_or(ValueRef::Null, |v| str_value(v.as_str()))
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        r.get::<_, Option<String>>(i)?
            .map(|t| parse_col(t, FailureReason::parse))
            .transpose()
    }
}

impl Stored for Timestamp {
    fn value(&self) -> ValueRef<'_> {
        ValueRef::Integer(self.millis())
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Timestamp::from_millis(r.get(i)?))
    }
}

impl Stored for Option<Timestamp> {
    fn value(&self) -> ValueRef<'_> {
        self.map_or(ValueRef::Null, |t| ValueRef::Integer(t.millis()))
    }
    fn read(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(ts(r.get(i)?))
    }
}

/// `$value`, once per stored column `$column` (the table's entries without a column have none).
macro_rules! with_column {
    ($column:literal, $value:expr) => {
        $value
    };
}

/// `true` for a column without a default: one that `lifecycle::enroll` sets.
macro_rules! set_by_enroll {
    () => {
        true
    };
    ($default:expr) => {
        false
    };
}

/// The value of field `$name` for [`stored_enrollment_from_row`]: the next column for a stored
/// field, the default for one that is not stored (`steps_total`, which the program gives).
macro_rules! read_field {
    ($r:ident, $i:ident, $column:literal) => {{
        $i += 1;
        Stored::read($r, $i)?
    }};
    ($r:ident, $i:ident) => {
        Default::default()
    };
}

/// The stored columns of `enrollments` (all but `rid`), their values, the row reader and which
/// of them a new enrollment sets, all from [`enrollment_fields`].
macro_rules! declare_enrollment_columns {
    ($($(#[$meta:meta])* $name:ident : $ty:ty
        $(=> $column:literal $(default $default:expr)?)?
        $(, then $($derived:ident),+)?;)*) => {
        /// The stored columns of `enrollments` (all but `rid`), in [`enrollment_values`] order,
        /// which is the table's (a test checks it).
        const STORED_COLUMNS: [&str; [$($($column,)?)*].len()] = [$($($column,)?)*];

        /// The [`Enrollment`] field each of [`STORED_COLUMNS`] stores.
        #[cfg(test)]
        const STORED_FIELDS: [&str; STORED_COLUMNS.len()] =
            [$($(with_column!($column, stringify!($name)),)?)*];

        /// Whether each of [`STORED_COLUMNS`] is one that a new enrollment sets (the others
        /// start at their defaults, which are the schema's: a test checks it).
        const SET_BY_ENROLL: [bool; STORED_COLUMNS.len()] =
            [$($(set_by_enroll!($($default)?),)?)*];

        /// The values of every stored column of `e`, in [`STORED_COLUMNS`] order, borrowed
        /// from `e`.
        fn enrollment_values(e: &Enrollment) -> [ValueRef<'_>; STORED_COLUMNS.len()] {
            [$($(with_column!($column, Stored::value(&e.$name)),)?)*]
        }

        /// Reads a row selected with `e.*`: `(rid, enrollment)` with `steps_total` 0.
        pub(crate) fn stored_enrollment_from_row(
            r: &Row<'_>,
        ) -> rusqlite::Result<(i64, Enrollment)> {
            let mut i = 0;
            let rid = r.get(i)?;
            let e = Enrollment {
                $($name: read_field!(r, i $(, $column)?),)*
            };
            Ok((rid, e))
        }
    };
}
enrollment_fields!(declare_enrollment_columns);

/// The indexes in [`STORED_COLUMNS`] of the columns a new enrollment sets.
const FRESH_COLUMNS: [usize; fresh_count()] = {
    let mut out = [0; fresh_count()];
    let (mut i, mut j) = (0, 0);
    while i < SET_BY_ENROLL.len() {
        if SET_BY_ENROLL[i] {
            out[j] = i;
            j += 1;
        }
        i += 1;
    }
    out
};

const fn fresh_count() -> usize {
    let (mut i, mut n) = (0, 0);
    while i < SET_BY_ENROLL.len() {
        if SET_BY_ENROLL[i] {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The start of [`insert_enrollment`]'s statement for an enrollment whose other columns hold
/// their defaults (a new one): the [`FRESH_COLUMNS`] only, so a new row binds 16 values
/// instead of 34.
static INSERT_FRESH_INTO: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<&str> = FRESH_COLUMNS.iter().map(|&i| STORED_COLUMNS[i]).collect();
    format!("INSERT INTO enrollments ({}) VALUES ", columns.join(", "))
});

/// `INSERT INTO` [`INSERT_FRESH_INTO`] one fresh enrollment.
static INSERT_FRESH: LazyLock<String> =
    LazyLock::new(|| values_insert(&INSERT_FRESH_INTO, FRESH_COLUMNS.len(), 1));

/// How many rows [`insert_new_enrollments`] writes with one statement per table. Per row,
/// a statement costs SQLite more than its values: opening a cursor on the table and each
/// index, closing them, and the halt; several rows share that. Sixteen did best among the
/// sizes measured (`bench/README.md`, "Settings and their measurements").
pub(crate) const ROWS_PER_INSERT: usize = 16;

/// [`INSERT_FRESH`] for [`ROWS_PER_INSERT`] enrollments, `OR FAIL`: an `INSERT` of several
/// rows that may abort must copy every page it changes into a statement journal first, to
/// back out the rows before the failing one. `OR FAIL`
/// keeps those rows instead, so SQLite needs no journal; the caller fails the whole
/// transaction when the statement fails.
static INSERT_FRESH_ROWS: LazyLock<String> = LazyLock::new(|| {
    values_insert(
        &INSERT_FRESH_INTO.replacen("INSERT", "INSERT OR FAIL", 1),
        FRESH_COLUMNS.len(),
        ROWS_PER_INSERT,
    )
});

/// The columns [`insert_event`] binds, in its order.
const EVENT_INTO: &str = "INSERT INTO events (enrollment_id, user_id, program_id, action, \
     from_status, to_status, actor, reason, at) VALUES ";

/// [`EVENT_INTO`] for [`ROWS_PER_INSERT`] events, `OR FAIL` as [`INSERT_FRESH_ROWS`].
static EVENT_ROWS: LazyLock<String> = LazyLock::new(|| {
    values_insert(
        &EVENT_INTO.replacen("INSERT", "INSERT OR FAIL", 1),
        EVENT_PARAMS,
        ROWS_PER_INSERT,
    )
});

/// How many values an event binds.
const EVENT_PARAMS: usize = 9;

/// `into` followed by `rows` tuples of `params` placeholders.
fn values_insert(into: &str, params: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; params].join(","));
    format!("{into}{}", vec![tuple; rows].join(","))
}

/// Inserts a new enrollment and returns its rid. A clash on the one-open index becomes
/// `already_enrolled`, a clash on the id becomes `conflict`.
pub(crate) fn insert_enrollment(
    held: &mut Held<'_>,
    e: &Enrollment,
) -> Result<Result<i64, Refused>> {
    let values = enrollment_values(e);
    let result = if e.is_untouched() {
        let fresh = FRESH_COLUMNS.map(|i| ToSqlOutput::Borrowed(values[i]));
        held.stmt(INSERT_FRESH.as_str())?
            .execute(rusqlite::params_from_iter(fresh))
    } else {
        let all = values.map(ToSqlOutput::Borrowed);
        held.stmt(INSERT_ENROLLMENT.as_str())?
            .execute(rusqlite::params_from_iter(all))
    };
    let conn = held.conn();
    match result {
        Ok(_) => Ok(Ok(conn.last_insert_rowid())),
        Err(err) if is_unique_violation(&err, "enrollments.id") => Ok(Err(Refused::IdTaken)),
        Err(err) if is_unique_violation(&err, "enrollments.user_id") => {
            match open_enrollment(conn, &e.user_id, &e.program_id)? {
                Some(p) => Ok(Err(Refused::OpenEnrollment(p))),
                None => Err(err.into()),
            }
        }
        Err(err) if is_constraint(&err, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
            Ok(Err(Refused::MissingParent))
        }
        Err(err) => Err(err.into()),
    }
}

/// Why the database refused a new row, for the API to name in its own terms.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Refused {
    /// Another row (current or deleted) has the id.
    IdTaken,
    /// The user has this open enrollment in the program (the one-open-enrollment index).
    OpenEnrollment(Prior),
    /// A row it refers to (the user, the program) does not exist.
    MissingParent,
}

fn is_constraint(err: &rusqlite::Error, extended_code: std::ffi::c_int) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == extended_code)
}

fn is_unique_violation(err: &rusqlite::Error, column: &str) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, Some(msg))
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE && msg.contains(column))
}

/// Stores `after` over enrollment `rid`, whose stored state is `before`. Only the columns that
/// changed are written, so SQLite leaves the indexes of unchanged columns (and their pages)
/// alone: a progress update dirties one table page instead of every index.
pub(crate) fn update_enrollment(
    conn: &Connection,
    rid: i64,
    before: &Enrollment,
    after: &Enrollment,
) -> Result<()> {
    let old = enrollment_values(before);
    let mut sql = String::with_capacity(128);
    let mut values = Vec::with_capacity(8);
    for ((column, new), old) in STORED_COLUMNS.iter().zip(enrollment_values(after)).zip(old) {
        if new != old {
            values.push(ToSqlOutput::Borrowed(new));
            sql.push_str(if values.len() == 1 {
                "UPDATE enrollments SET "
            } else {
                ", "
            });
            sql.push_str(column);
            sql.push_str(" = ?");
        }
    }
    if values.is_empty() {
        return Ok(());
    }
    values.push(ToSqlOutput::Owned(SqlValue::Integer(rid)));
    sql.push_str(" WHERE rid = ?");
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

/// The enrollment with this id as writes read it, `(rid, enrollment)`: without the program's
/// step count (`steps_total` is 0), which they take from the program they load anyway.
pub(crate) fn get_stored_enrollment(conn: &Connection, id: &str) -> Result<(i64, Enrollment)> {
    conn.prepare_cached("SELECT * FROM enrollments WHERE id = ?1")?
        .query_row([id], stored_enrollment_from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("enrollment", id))
}

/// `program_version` as transaction `conn` sees it: whether cached programs are current
/// ([`Store::program_at`](crate::Store)).
pub(crate) fn program_version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT version FROM program_version")?
        .query_row([], |r| r.get(0))?)
}

/// The main database's pager data version (`SQLITE_FCNTL_DATA_VERSION`): it changes with
/// every commit, this connection's own as well as another connection's (seen when `conn`
/// starts its next transaction). A file control, so reading it runs no statement, unlike
/// `PRAGMA data_version` (which also ignores this connection's own commits).
pub(crate) fn data_version(conn: &Connection) -> Result<u32> {
    let mut version = 0;
    conn.file_control(
        Some(rusqlite::MAIN_DB),
        rusqlite::FileControl::DataVersion(&mut version),
    )?;
    Ok(version)
}

pub(crate) fn get_enrollment(conn: &Connection, id: &str) -> Result<(i64, Enrollment)> {
    let sql = concat!(
        "SELECT ",
        enrollment_columns!(),
        " FROM enrollments e WHERE e.id = ?1"
    );
    conn.prepare_cached(sql)?
        .query_row([id], enrollment_from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("enrollment", id))
}

fn prior_from_row(r: &Row<'_>) -> rusqlite::Result<Prior> {
    Ok(Prior {
        id: r.get(0)?,
        status: status_from_code(r.get(1)?)?,
        attempt_number: r.get(2)?,
    })
}

/// Which statuses are open, as SQL: the condition of the partial index `enrollments_one_open`
/// (schema 0002), which [`OPEN_ENROLLMENT`] repeats. A test checks it against
/// [`Status::is_open`] for every status and finds it in both places.
#[cfg(test)]
const OPEN_CONDITION: &str = "status < 7 OR status = 9";

/// The user's open enrollment in a program. Its condition must be the index's exactly, so
/// SQLite uses the index (a test checks it does).
const OPEN_ENROLLMENT: &str = "SELECT id, status, attempt_number FROM enrollments
     WHERE user_id = ?1 AND program_id = ?2 AND (status < 7 OR status = 9)";

pub(crate) fn open_enrollment(
    conn: &Connection,
    user: &str,
    program: &str,
) -> Result<Option<Prior>> {
    Ok(conn
        .prepare_cached(OPEN_ENROLLMENT)?
        .query_row([user, program], prior_from_row)
        .optional()?)
}

/// A user's enrollments in a program, newest first. `+program_id` keeps the planner on the
/// user's (few) enrollments (the user index, then a filter) instead of walking the program's
/// (many) backwards for the ORDER BY.
const PRIOR_ENROLLMENTS: &str = "SELECT id, status, attempt_number FROM enrollments
     WHERE user_id = ?1 AND +program_id = ?2 ORDER BY rid DESC";

/// The user's open enrollment in a program and their latest one there, in one query: the
/// rows are read newest first until an open one (at most one exists) or the end.
pub(crate) fn prior_enrollments(
    held: &mut Held<'_>,
    user: &str,
    program: &str,
) -> Result<(Option<Prior>, Option<Prior>)> {
    let mut rows = held
        .stmt(PRIOR_ENROLLMENTS)?
        .query_map([user, program], prior_from_row)?;
    let latest = rows.next().transpose()?;
    if latest.as_ref().is_some_and(|p| p.status.is_open()) {
        return Ok((latest.clone(), latest));
    }
    for row in rows {
        let prior = row?;
        if prior.status.is_open() {
            return Ok((Some(prior), latest));
        }
    }
    Ok((None, latest))
}

pub(crate) fn lineage(conn: &Connection, user: &str, program: &str) -> Result<Vec<Enrollment>> {
    let sql = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments e
         WHERE e.user_id = ?1 AND +e.program_id = ?2 ORDER BY e.rid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user, program], enrollment_from_row)?;
    Ok(rows
        .map(|r| r.map(|(_, e)| e))
        .collect::<rusqlite::Result<_>>()?)
}

/// Whether `id` names an enrollment now or in history (a deleted one): ids are never reused, so
/// a history always belongs to one enrollment.
pub(crate) fn enrollment_id_used(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM enrollments WHERE id = ?1)
                 OR EXISTS (SELECT 1 FROM events WHERE enrollment_id = ?1)",
        )?
        .query_row([id], |r| r.get(0))?)
}

/// Calls `f` with every enrollment in creation order, streaming (nothing is collected).
pub(crate) fn for_each_enrollment(
    conn: &Connection,
    mut f: impl FnMut(i64, &Enrollment) -> Result<()>,
) -> Result<()> {
    let sql = format!("SELECT {ENROLLMENT_COLUMNS} FROM enrollments e ORDER BY e.rid");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (rid, e) = enrollment_from_row(row)?;
        f(rid, &e)?;
    }
    Ok(())
}

/// Whether history events name `id` (a deleted enrollment's id stays taken).
pub(crate) fn enrollment_id_in_history(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE enrollment_id = ?1)")?
        .query_row([id], |r| r.get(0))?)
}

pub(crate) fn delete_enrollment(conn: &Connection, rid: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM enrollments WHERE rid = ?1")?
        .execute([rid])?;
    Ok(())
}

pub(crate) fn due_enrollments(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM enrollments WHERE status = 0 AND start_at IS NOT NULL AND start_at <= ?1
         ORDER BY start_at, rid LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now.millis(), limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// ---------------------------------------------------------------------------------------------
// Step progress and attempts

pub(crate) fn load_step_progress(conn: &Connection, rid: i64) -> Result<Vec<StepProgress>> {
    let mut stmt = conn.prepare_cached(
        "SELECT step_id, status, started_at, delivered_at, completed_at, failed_at, skipped_at,
                failure_reason, failure_message, destination_type, result_json
         FROM step_progress WHERE enrollment_rid = ?1",
    )?;
    let rows = stmt.query_map([rid], |r| {
        let result: Option<String> = r.get(10)?;
        Ok(StepProgress {
            step_id: r.get(0)?,
            status: step_status_from_code(r.get(1)?)?,
            started_at: ts(r.get(2)?),
            delivered_at: ts(r.get(3)?),
            completed_at: ts(r.get(4)?),
            failed_at: ts(r.get(5)?),
            skipped_at: ts(r.get(6)?),
            failure_reason: r.get(7)?,
            failure_message: r.get(8)?,
            destination_type: r.get(9)?,
            result: result
                .map(|t| serde_json::from_str(&t).map_err(|_| bad_row("result", &t)))
                .transpose()?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn write_step_progress(conn: &Connection, rid: i64, p: &StepProgress) -> Result<()> {
    let result = p.result.as_ref().map(serde_json::to_string).transpose()?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO step_progress
            (enrollment_rid, step_id, status, started_at, delivered_at, completed_at, failed_at,
             skipped_at, failure_reason, failure_message, destination_type, result_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        rid,
        p.step_id,
        step_status_code(p.status),
        ms(p.started_at),
        ms(p.delivered_at),
        ms(p.completed_at),
        ms(p.failed_at),
        ms(p.skipped_at),
        p.failure_reason,
        p.failure_message,
        p.destination_type,
        result
    ])?;
    Ok(())
}

pub(crate) fn insert_attempt(conn: &Connection, rid: i64, a: &Attempt) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO attempts (enrollment_rid, number, score, passed, submitted_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        rid,
        a.number,
        a.score,
        a.passed,
        a.submitted_at.millis()
    ])?;
    Ok(())
}

pub(crate) fn load_attempts(conn: &Connection, rid: i64) -> Result<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, score, passed, submitted_at FROM attempts
         WHERE enrollment_rid = ?1 ORDER BY number",
    )?;
    let rows = stmt.query_map([rid], |r| {
        Ok(Attempt {
            number: r.get(0)?,
            score: r.get(1)?,
            passed: r.get(2)?,
            submitted_at: Timestamp::from_millis(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// ---------------------------------------------------------------------------------------------
// Events

/// What an event records besides the enrollment it belongs to.
pub(crate) struct EventRecord<'a> {
    pub action: &'a str,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub actor: &'a Actor,
    pub reason: Option<String>,
    pub at: Timestamp,
}

pub(crate) fn insert_event(held: &mut Held<'_>, e: &Enrollment, ev: EventRecord<'_>) -> Result<()> {
    let stmt = held.stmt(EVENT.as_str())?;
    run_cleared(stmt, |stmt| bind_event(stmt, 0, e, &ev))
}

/// [`insert_event`] for a transaction that writes one event: straight from the statement
/// cache, which hands the statement out and takes it back with every parameter NULL (so
/// [`bind_values`] may skip NULLs, and [`run_cleared`] is not needed).
pub(crate) fn insert_one_event(
    conn: &Connection,
    e: &Enrollment,
    ev: EventRecord<'_>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(EVENT.as_str())?;
    bind_event(&mut stmt, 0, e, &ev)?;
    stmt.raw_execute()?;
    Ok(())
}

/// `INSERT INTO` [`EVENT_INTO`] one event.
static EVENT: LazyLock<String> = LazyLock::new(|| values_insert(EVENT_INTO, EVENT_PARAMS, 1));

/// Binds `ev`, an event of `e`, to parameters `offset + 1` to `offset + EVENT_PARAMS`.
fn bind_event(
    stmt: &mut CachedStatement<'_>,
    offset: usize,
    e: &Enrollment,
    ev: &EventRecord<'_>,
) -> rusqlite::Result<()> {
    let status = |s: Option<Status>| s.map_or(ValueRef::Null, |s| str_value(s.label(e.kind)));
    let actor = ev.actor.label_text();
    let values = [
        str_value(&e.id),
        str_value(&e.user_id),
        str_value(&e.program_id),
        str_value(ev.action),
        status(ev.from),
        status(ev.to),
        str_value(&actor),
        opt_str_value(&ev.reason),
        ValueRef::Integer(ev.at.millis()),
    ];
    bind_values(stmt, offset, values)
}

/// Binds `values` to parameters `offset + 1` onwards of a statement whose parameters are all
/// NULL (one that [`run_cleared`] runs, or one fresh from the statement cache): NULL values
/// are not bound again.
fn bind_values<'v>(
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

/// Whether [`insert_new_enrollments`] can store `e`: a new enrollment, whose columns outside
/// [`FRESH_COLUMNS`] hold their defaults.
pub(crate) fn is_new_enrollment(e: &Enrollment) -> bool {
    e.is_untouched()
}

/// Inserts [`ROWS_PER_INSERT`] enrollments, each [`is_new_enrollment`], then the event
/// `event` gives each, with one statement per table. A failure is the caller's transaction's:
/// the rows before the one SQLite refused stay written (`OR FAIL`, see [`INSERT_FRESH_ROWS`]).
pub(crate) fn insert_new_enrollments<'e>(
    held: &mut Held<'_>,
    es: &[Enrollment],
    event: impl Fn(&Enrollment) -> EventRecord<'e>,
) -> Result<()> {
    debug_assert_eq!(es.len(), ROWS_PER_INSERT);
    let stmt = held.stmt(INSERT_FRESH_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, e) in es.iter().enumerate() {
            let values = enrollment_values(e);
            debug_assert!(e.is_untouched(), "{} is not new", e.id);
            let fresh = FRESH_COLUMNS.map(|column| values[column]);
            bind_values(stmt, row * FRESH_COLUMNS.len(), fresh)?;
        }
        Ok(())
    })?;
    let stmt = held.stmt(EVENT_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, e) in es.iter().enumerate() {
            bind_event(stmt, row * EVENT_PARAMS, e, &event(e))?;
        }
        Ok(())
    })
}

/// Inserts an event with its own sequence number (imports).
pub(crate) fn insert_event_raw(held: &mut Held<'_>, ev: &Event) -> Result<()> {
    let stmt = held.stmt(EVENT_RAW.as_str())?;
    run_cleared(stmt, |stmt| bind_event_raw(stmt, 0, ev))
}

/// The columns [`insert_event_raw`] binds, in its order: an event's own, `seq` included.
const EVENT_RAW_INTO: &str = "INSERT INTO events (seq, enrollment_id, user_id, program_id, \
     action, from_status, to_status, actor, reason, at) VALUES ";

/// How many values [`insert_event_raw`] binds.
const EVENT_RAW_PARAMS: usize = 10;

/// `INSERT INTO` [`EVENT_RAW_INTO`] one event.
static EVENT_RAW: LazyLock<String> =
    LazyLock::new(|| values_insert(EVENT_RAW_INTO, EVENT_RAW_PARAMS, 1));

/// [`EVENT_RAW_INTO`] for [`ROWS_PER_INSERT`] events. A plain `INSERT`: a refused row rolls
/// the whole statement back (SQLite keeps a statement journal: the rows of an import go to the
/// ends of the table and its unique index, so a statement journals a few pages. During
/// imports temporary data is in files, so those journals are files too once past SQLite's
/// 64 KiB; that measured no slower than keeping them in memory).
static EVENT_RAW_ROWS: LazyLock<String> =
    LazyLock::new(|| values_insert(EVENT_RAW_INTO, EVENT_RAW_PARAMS, ROWS_PER_INSERT));

/// Binds `ev` to parameters `offset + 1` to `offset + EVENT_RAW_PARAMS`.
fn bind_event_raw(
    stmt: &mut CachedStatement<'_>,
    offset: usize,
    ev: &Event,
) -> rusqlite::Result<()> {
    let values = [
        ValueRef::Integer(ev.seq),
        str_value(&ev.enrollment_id),
        str_value(&ev.user_id),
        str_value(&ev.program_id),
        str_value(&ev.action),
        opt_str_value(&ev.from_status),
        opt_str_value(&ev.to_status),
        str_value(&ev.actor),
        opt_str_value(&ev.reason),
        ValueRef::Integer(ev.at.millis()),
    ];
    bind_values(stmt, offset, values)
}

/// Inserts [`ROWS_PER_INSERT`] events with their own sequence numbers (imports) with one
/// statement: all of them, or (an error) none.
pub(crate) fn insert_events_raw(held: &mut Held<'_>, events: &[&Event]) -> Result<()> {
    debug_assert_eq!(events.len(), ROWS_PER_INSERT);
    let stmt = held.stmt(EVENT_RAW_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, ev) in events.iter().enumerate() {
            bind_event_raw(stmt, row * EVENT_RAW_PARAMS, ev)?;
        }
        Ok(())
    })
}

/// Every stored column of an enrollment: all but `rid`, which SQLite assigns (the next one).
static INSERT_ENROLLMENT_INTO: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO enrollments ({}) VALUES ",
        STORED_COLUMNS.join(", ")
    )
});

/// `INSERT INTO` [`INSERT_ENROLLMENT_INTO`] one enrollment ([`insert_enrollment`]).
static INSERT_ENROLLMENT: LazyLock<String> =
    LazyLock::new(|| values_insert(&INSERT_ENROLLMENT_INTO, STORED_COLUMNS.len(), 1));

/// [`INSERT_ENROLLMENT_INTO`] for [`ROWS_PER_INSERT`] enrollments, a plain `INSERT` as
/// [`EVENT_RAW_ROWS`].
static INSERT_ENROLLMENT_ROWS: LazyLock<String> = LazyLock::new(|| {
    values_insert(
        &INSERT_ENROLLMENT_INTO,
        STORED_COLUMNS.len(),
        ROWS_PER_INSERT,
    )
});

/// Inserts [`ROWS_PER_INSERT`] enrollments as they are (imports) with one statement: all of
/// them, or (an error) none.
pub(crate) fn insert_enrollments(held: &mut Held<'_>, es: &[&Enrollment]) -> Result<()> {
    debug_assert_eq!(es.len(), ROWS_PER_INSERT);
    let stmt = held.stmt(INSERT_ENROLLMENT_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, e) in es.iter().enumerate() {
            bind_values(stmt, row * STORED_COLUMNS.len(), enrollment_values(e))?;
        }
        Ok(())
    })
}

/// Binds `stmt`'s parameters with `bind` and runs it, then sets every parameter back to NULL,
/// whether binding or running failed or not. Its parameters are then all NULL whenever `bind`
/// starts (a statement from rusqlite's cache is cleared as well), so `bind` leaves NULL values
/// unbound ([`bind_values`]): most of a typical row's optional values are NULL. Clearing
/// right away also frees SQLite's copies of the bound text while they are the latest
/// allocations, which malloc frees for less than when each parameter is bound again.
fn run_cleared<'c>(
    stmt: &mut CachedStatement<'c>,
    bind: impl FnOnce(&mut CachedStatement<'c>) -> rusqlite::Result<()>,
) -> Result<()> {
    let done = bind(stmt).and_then(|()| stmt.raw_execute());
    stmt.clear_bindings();
    done?;
    Ok(())
}

const EVENT_COLUMNS: &str =
    "seq, enrollment_id, user_id, program_id, action, from_status, to_status, actor, reason, at";

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        enrollment_id: r.get(1)?,
        user_id: r.get(2)?,
        program_id: r.get(3)?,
        action: r.get(4)?,
        from_status: r.get(5)?,
        to_status: r.get(6)?,
        actor: r.get(7)?,
        reason: r.get(8)?,
        at: Timestamp::from_millis(r.get(9)?),
    })
}

pub(crate) fn history(conn: &Connection, enrollment_id: &str) -> Result<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE enrollment_id = ?1 ORDER BY seq");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([enrollment_id], event_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn events_after(
    conn: &Connection,
    after: i64,
    user: Option<&str>,
    limit: u32,
) -> Result<Vec<Event>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 AND (?2 IS NULL OR user_id = ?2)
         ORDER BY seq LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![after, user, limit], event_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// How many rows `table` (one of enrollkit's own, never caller input) holds.
pub(crate) fn count_rows(conn: &Connection, table: &'static str) -> Result<u64> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(n as u64)
}

/// What SQLite's own checks find wrong with the file: `PRAGMA integrity_check` lines other than
/// `ok`, and rows whose foreign key points nowhere.
pub(crate) fn integrity_problems(conn: &Connection) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if integrity != ["ok"] {
        out.extend(
            integrity
                .into_iter()
                .map(|l| format!("integrity_check: {l}")),
        );
    }
    let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if fk > 0 {
        out.push(format!(
            "foreign_key_check: {fk} rows reference missing parents"
        ));
    }
    Ok(out)
}

/// `(user, program, count)` of every user with more than one open enrollment in a program,
/// open as the engine defines it ([`Status::is_open`]), not as the schema's index does.
pub(crate) fn duplicate_open_enrollments(conn: &Connection) -> Result<Vec<(String, String, i64)>> {
    let open: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.code().to_string())
        .collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT user_id, program_id, count(*) FROM enrollments
         WHERE status IN ({}) GROUP BY user_id, program_id HAVING count(*) > 1",
        open.join(", ")
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Calls `each` with every enrollment (`steps_total` as stored), its step progress rows, its
/// attempts and the status its last history event ends in, in creation order.
pub(crate) fn for_each_enrollment_with_records(
    conn: &Connection,
    mut each: impl FnMut(Enrollment, Vec<StepProgress>, Vec<Attempt>, Option<String>) -> Result<()>,
) -> Result<()> {
    let sql = format!(
        "SELECT {}, (SELECT to_status FROM events v WHERE v.enrollment_id = e.id
                     ORDER BY seq DESC LIMIT 1)
         FROM enrollments e ORDER BY e.rid",
        ENROLLMENT_COLUMNS
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (rid, e) = enrollment_from_row(r)?;
        // After `rid`, the stored columns and the step count.
        let last: Option<String> = r.get(STORED_COLUMNS.len() + 2)?;
        each(
            e,
            load_step_progress(conn, rid)?,
            load_attempts(conn, rid)?,
            last,
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reports

/// What a program's enrollments of one status add up to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StatusTotals {
    pub(crate) status: Status,
    pub(crate) count: u64,
    /// Sum of `progress` (percent).
    pub(crate) progress: f64,
    /// Sum of `steps_completed`.
    pub(crate) steps_completed: u64,
    /// How many have a completion time.
    pub(crate) completed: u64,
    /// Sum over those of the milliseconds from start (or enrollment) to completion.
    pub(crate) completion_ms: i128,
}

/// Per-status totals of a program's enrollments (through `enrollments_program_status`).
pub(crate) fn status_totals(conn: &Connection, program_id: &str) -> Result<Vec<StatusTotals>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*), total(progress), total(steps_completed), count(completed_at), \
                total(completed_at - coalesce(started_at, enrolled_at)) \
         FROM enrollments WHERE program_id = ?1 GROUP BY status",
    )?;
    let rows = stmt.query_map([program_id], |r| {
        Ok(StatusTotals {
            status: status_from_code(r.get(0)?)?,
            count: r.get::<_, i64>(1)? as u64,
            progress: r.get(2)?,
            steps_completed: r.get::<_, f64>(3)? as u64,
            completed: r.get::<_, i64>(4)? as u64,
            completion_ms: r.get::<_, f64>(5)? as i128,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `(step id, step status, enrollments)` of a program's step progress rows.
pub(crate) fn step_counts(
    conn: &Connection,
    program_id: &str,
) -> Result<Vec<(String, StepStatus, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.step_id, p.status, count(*) \
         FROM enrollments e JOIN step_progress p ON p.enrollment_rid = e.rid \
         WHERE e.program_id = ?1 GROUP BY p.step_id, p.status",
    )?;
    let rows = stmt.query_map([program_id], |r| {
        Ok((
            r.get(0)?,
            step_status_from_code(r.get(1)?)?,
            r.get::<_, i64>(2)? as u64,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SELECT e.*` and `INSERT INTO enrollments VALUES (NULL, ...)` rely on it.
    #[test]
    fn the_enrollments_columns_are_rid_then_the_stored_columns() {
        let conn = Connection::open_in_memory().unwrap();
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('enrollments')")
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut expected = vec!["rid"];
        expected.extend(STORED_COLUMNS);
        assert_eq!(names, expected);
    }

    /// `enrollments_view` shows every field of the canonical record that is stored, under
    /// its record name: a new column needs the view too (a new migration recreates it).
    #[test]
    fn the_enrollments_view_shows_every_stored_field() {
        let conn = Connection::open_in_memory().unwrap();
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('enrollments_view')")
            .unwrap();
        let mut shown: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        shown.sort();
        let mut stored: Vec<String> = STORED_FIELDS.iter().map(|f| f.to_string()).collect();
        stored.sort();
        assert_eq!(shown, stored);
    }

    #[test]
    fn per_user_lookups_use_the_user_index() {
        let conn = Connection::open_in_memory().unwrap();
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map(["u", "p"], |r| r.get::<_, String>(3))
                .unwrap();
            rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
        };
        let priors = plan(PRIOR_ENROLLMENTS);
        assert!(priors.contains("enrollments_user "), "{priors}");
        let open = plan(OPEN_ENROLLMENT);
        assert!(open.contains("enrollments_one_open"), "{open}");
    }

    #[test]
    fn the_open_condition_matches_status_is_open() {
        let conn = Connection::open_in_memory().unwrap();
        for status in Status::ALL {
            let open: bool = conn
                .query_row(
                    &format!("SELECT {OPEN_CONDITION} FROM (SELECT ?1 AS status)"),
                    [status.code()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(open, status.is_open(), "{status:?}");
        }
        assert!(OPEN_ENROLLMENT.contains(&format!("({OPEN_CONDITION})")));
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        let index: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'enrollments_one_open'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            index.ends_with(&format!("WHERE {OPEN_CONDITION}")),
            "{index}"
        );
    }

    #[test]
    fn a_fresh_insert_stores_what_the_full_one_does() {
        // The defaults of enrollment_fields are the schema's: a row inserted with only the
        // fresh columns reads back as an untouched enrollment, whose values are those bound.
        let conn = Connection::open_in_memory().unwrap();
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        let values: Vec<rusqlite::types::Value> = FRESH_COLUMNS
            .iter()
            .map(|&i| match STORED_COLUMNS[i] {
                "kind" | "status" | "enrolled_at" | "updated_at" | "attempt_number" => 1.into(),
                "trigger" => "user_join".to_owned().into(),
                "start_at" | "started_at" => rusqlite::types::Value::Null,
                column => column.to_owned().into(),
            })
            .collect();
        conn.execute(INSERT_FRESH.as_str(), rusqlite::params_from_iter(&values))
            .unwrap();
        let (_, e) = conn
            .query_row("SELECT * FROM enrollments", [], stored_enrollment_from_row)
            .unwrap();
        assert!(e.is_untouched(), "{e:?}");
        let read = enrollment_values(&e);
        for (&i, bound) in FRESH_COLUMNS.iter().zip(&values) {
            assert_eq!(read[i], ValueRef::from(bound), "{}", STORED_COLUMNS[i]);
        }
    }

    #[test]
    fn new_enrollments_are_fresh_and_changed_ones_are_not() {
        use crate::domain::lifecycle::{apply, enroll, Command, Prior};
        use crate::EnrollRequest;
        let now = Timestamp::from_millis(1_000);
        let user = User {
            id: "u".into(),
            timezone: Some("Europe/Paris".into()),
            ..User::default()
        };
        let latest = Prior {
            id: "e0".into(),
            status: Status::Completed,
            attempt_number: 1,
        };
        for kind in [Kind::Course, Kind::Certification, Kind::Track] {
            let program = Program {
                spec: ProgramSpec {
                    kind,
                    // An active track needs a step; the others progress by percent.
                    steps: if kind == Kind::Track {
                        vec![Step {
                            id: "s".into(),
                            step_type: "message".into(),
                            title: "S".into(),
                            learner_completable: false,
                        }]
                    } else {
                        Vec::new()
                    },
                    ..ProgramSpec::course("p", "P")
                },
                created_at: now,
                updated_at: now,
            };
            let track = kind == Kind::Track;
            let req = EnrollRequest {
                added_by_user_id: Some("a".into()),
                added_by_program_id: Some("q".into()),
                partnership_id: Some("x".into()),
                start_at: track.then_some(Timestamp::from_millis(5_000)),
                allow_reenroll: true,
                ..EnrollRequest::new("u", "p")
            };
            let mut e = enroll(
                &Actor::Admin,
                &program,
                &user,
                &req,
                "e1".into(),
                None,
                Some(&latest),
                now,
            )
            .unwrap();
            assert!(e.is_untouched(), "{e:?}");
            let cmd = match kind {
                Kind::Track => Command::Cancel,
                _ => Command::Progress(10.0),
            };
            apply(&Actor::Admin, &program, &mut e, &[], &cmd, now).unwrap();
            assert!(!e.is_untouched(), "{e:?}");
        }
    }
}
