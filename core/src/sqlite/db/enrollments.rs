//! Enrollments: their columns, generated from `enrollment_fields!`, inserts and updates,
//! look-ups, the open-enrollment rule's index, lineage.

use super::*;

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

/// How a field of [`Enrollment`] is stored in its column, and read back.
pub(super) trait Stored: Sized {
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
        pub(super) const STORED_COLUMNS: [&str; [$($($column,)?)*].len()] = [$($($column,)?)*];

        /// The [`Enrollment`] field each of [`STORED_COLUMNS`] stores.
        #[cfg(test)]
        pub(super) const STORED_FIELDS: [&str; STORED_COLUMNS.len()] =
            [$($(with_column!($column, stringify!($name)),)?)*];

        /// Whether each of [`STORED_COLUMNS`] is one that a new enrollment sets (the others
        /// start at their defaults, which are the schema's: a test checks it).
        pub(super) const SET_BY_ENROLL: [bool; STORED_COLUMNS.len()] =
            [$($(set_by_enroll!($($default)?),)?)*];

        /// The values of every stored column of `e`, in [`STORED_COLUMNS`] order, borrowed
        /// from `e`.
        pub(super) fn enrollment_values(e: &Enrollment) -> [ValueRef<'_>; STORED_COLUMNS.len()] {
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
pub(super) const FRESH_COLUMNS: [usize; fresh_count()] = {
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

pub(super) const fn fresh_count() -> usize {
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
pub(super) static INSERT_FRESH_INTO: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<&str> = FRESH_COLUMNS.iter().map(|&i| STORED_COLUMNS[i]).collect();
    format!("INSERT INTO enrollments ({}) VALUES ", columns.join(", "))
});

/// `INSERT INTO` [`INSERT_FRESH_INTO`] one fresh enrollment.
pub(super) static INSERT_FRESH: LazyLock<String> =
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
pub(super) static INSERT_FRESH_ROWS: LazyLock<String> = LazyLock::new(|| {
    values_insert(
        &INSERT_FRESH_INTO.replacen("INSERT", "INSERT OR FAIL", 1),
        FRESH_COLUMNS.len(),
        ROWS_PER_INSERT,
    )
});

/// Inserts [`ROWS_PER_INSERT`] enrollments, each untouched (`Enrollment::is_untouched`: its
/// columns outside [`FRESH_COLUMNS`] hold their defaults), then the event
/// `event` gives each, with one statement per table. A failure is the caller's transaction's:
/// the rows before the one SQLite refused stay written (`OR FAIL`, see [`INSERT_FRESH_ROWS`]).
pub(crate) fn insert_new_enrollments<'e>(
    held: &mut Held<'_>,
    es: &[Enrollment],
    event: impl Fn(&Enrollment) -> NewEvent<'e>,
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

/// Every stored column of an enrollment: all but `rid`, which SQLite assigns (the next one).
pub(super) static INSERT_ENROLLMENT_INTO: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO enrollments ({}) VALUES ",
        STORED_COLUMNS.join(", ")
    )
});

/// `INSERT INTO` [`INSERT_ENROLLMENT_INTO`] one enrollment ([`insert_enrollment`]).
pub(super) static INSERT_ENROLLMENT: LazyLock<String> =
    LazyLock::new(|| values_insert(&INSERT_ENROLLMENT_INTO, STORED_COLUMNS.len(), 1));

/// [`INSERT_ENROLLMENT_INTO`] for [`ROWS_PER_INSERT`] enrollments, a plain `INSERT` as
/// [`EVENT_RAW_ROWS`].
pub(super) static INSERT_ENROLLMENT_ROWS: LazyLock<String> = LazyLock::new(|| {
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

/// Inserts a new enrollment and returns its rid, or what refused it: an id in use, the user's
/// open enrollment in the program (the one-open index), a missing user or program.
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

pub(super) fn is_constraint(err: &rusqlite::Error, extended_code: std::ffi::c_int) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == extended_code)
}

pub(super) fn is_unique_violation(err: &rusqlite::Error, column: &str) -> bool {
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
/// (`Database::program_at`).
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

pub(super) fn prior_from_row(r: &Row<'_>) -> rusqlite::Result<Prior> {
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
pub(super) const OPEN_CONDITION: &str = "status < 7 OR status = 9 OR status = 11";

/// The user's open enrollment in a program. Its condition must be the index's exactly, so
/// SQLite uses the index (a test checks it does).
pub(super) const OPEN_ENROLLMENT: &str = "SELECT id, status, attempt_number FROM enrollments
     WHERE user_id = ?1 AND program_id = ?2 AND (status < 7 OR status = 9 OR status = 11)";

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
pub(super) const PRIOR_ENROLLMENTS: &str = "SELECT id, status, attempt_number FROM enrollments
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

/// The statements of [`scheduled_work`] (SQLite parameters `?1`, `?2`, ...).
pub(super) static WORK_SQL: crate::storage::WorkSql = crate::storage::WorkSql::new(
    || ENROLLMENT_STORED_COLUMNS.to_owned(),
    |n| format!("?{n}"),
    "",
);

/// Scheduled work of `q` ([`crate::storage::Read::scheduled_work`], or with `q.claimable`,
/// [`crate::storage::Write::claimable`] at `time`, which SQLite's one writer runs, so the rows
/// stay as read until it commits), with its row ids.
pub(crate) fn scheduled_work(
    conn: &Connection,
    q: crate::storage::WorkQuery,
    time: Timestamp,
    program: Option<&str>,
    limit: u32,
) -> Result<Vec<(i64, Enrollment)>> {
    use crate::storage::WorkParam;
    let (sql, order) = WORK_SQL.get(q);
    let mut stmt = conn.prepare_cached(sql)?;
    let values: Vec<rusqlite::types::Value> = order
        .iter()
        .map(|p| match p {
            WorkParam::Time => time.millis().into(),
            WorkParam::Program => program.unwrap_or_default().to_owned().into(),
            WorkParam::Limit => i64::from(limit).into(),
        })
        .collect();
    let rows = stmt.query_map(
        rusqlite::params_from_iter(values),
        stored_enrollment_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`crate::storage::Write::completed_programs`], from the user's enrollments
/// (`enrollments_user`).
pub(crate) fn completed_programs(
    conn: &Connection,
    user_id: &str,
    programs: &[String],
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT program_id FROM enrollments WHERE user_id = ?1 AND status = ?2
         AND program_id IN (SELECT value FROM json_each(?3))",
    )?;
    let programs = serde_json::to_string(programs)?;
    let rows = stmt.query_map(params![user_id, Status::Completed.code(), programs], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The query of [`expirable`]: `?1` now, `?2` the limit. It walks `enrollments_deadline` (a
/// test checks its plan).
pub(super) static EXPIRABLE: LazyLock<String> =
    LazyLock::new(|| crate::storage::expirable_sql(ENROLLMENT_STORED_COLUMNS, "?1", "?2"));

/// [`crate::storage::Write::expirable`]: SQLite's one writer runs it, so the rows stay as read
/// until it commits.
pub(crate) fn expirable(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<(i64, Enrollment)>> {
    let mut stmt = conn.prepare_cached(&EXPIRABLE)?;
    let rows = stmt.query_map(params![now.millis(), limit], stored_enrollment_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`crate::storage::Read::seats_taken`], from `enrollments_program_status`.
pub(crate) fn seats_taken(conn: &Connection, program_id: &str) -> Result<u64> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT count(*) FROM enrollments WHERE program_id = ?1 AND {}",
            crate::storage::SEAT_CONDITION
        )
    });
    let n: i64 = conn
        .prepare_cached(&SQL)?
        .query_row([program_id], |r| r.get(0))?;
    Ok(n as u64)
}

/// [`crate::storage::Read::waitlist`], in `enrollments_program_status` order.
pub(crate) fn waitlist(
    conn: &Connection,
    program_id: &str,
    limit: u32,
) -> Result<Vec<(i64, Enrollment)>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {ENROLLMENT_STORED_COLUMNS} FROM enrollments e WHERE program_id = ?1 \
             AND status = ?2 ORDER BY rid LIMIT ?3"
        )
    });
    let mut stmt = conn.prepare_cached(&SQL)?;
    let rows = stmt.query_map(
        params![program_id, Status::Waitlisted.code(), limit],
        stored_enrollment_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`crate::storage::Read::waitlist_position`].
pub(crate) fn waitlist_position(conn: &Connection, program_id: &str, rid: i64) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM enrollments WHERE program_id = ?1 AND status = ?2 AND rid <= ?3",
        )?
        .query_row(params![program_id, Status::Waitlisted.code(), rid], |r| {
            r.get(0)
        })?;
    Ok(n as u64)
}

/// Ids of scheduled enrollments due to start at `now`, oldest schedule first.
pub(crate) fn scheduled_starts(
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
