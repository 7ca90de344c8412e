//! Step progress and assessment attempts of an enrollment: their columns, values and row
//! readers generated from `step_progress_fields!` and `attempt_fields!`.

use super::*;

step_progress_fields!(stored_record);
attempt_fields!(stored_record);

/// The columns of `step_progress` after `enrollment_rid`, in the order [`StepProgress`] reads
/// them (the table's, which a test checks).
macro_rules! step_progress_columns {
    () => {
        step_progress_fields!(column_list)
    };
}

/// The columns of `attempts` after `enrollment_rid`, in the order [`Attempt`] reads them (the
/// table's, which a test checks).
macro_rules! attempt_columns {
    () => {
        attempt_fields!(column_list)
    };
}

pub(crate) fn load_step_progress(conn: &Connection, rid: i64) -> Result<Vec<StepProgress>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        step_progress_columns!(),
        " FROM step_progress WHERE enrollment_rid = ?1"
    ))?;
    let rows = stmt.query_map([rid], |r| StepProgress::read(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn write_step_progress(conn: &Connection, rid: i64, p: &StepProgress) -> Result<()> {
    let values = p.values()?;
    conn.prepare_cached(concat!(
        "INSERT OR REPLACE INTO step_progress (enrollment_rid, ",
        step_progress_columns!(),
        ") VALUES (?, ",
        step_progress_fields!(column_params),
        ")"
    ))?
    .execute(rusqlite::params_from_iter(
        std::iter::once(ToSqlOutput::from(rid)).chain(values),
    ))?;
    Ok(())
}

pub(crate) fn insert_attempt(conn: &Connection, rid: i64, a: &Attempt) -> Result<()> {
    let values = a.values()?;
    conn.prepare_cached(concat!(
        "INSERT INTO attempts (enrollment_rid, ",
        attempt_columns!(),
        ") VALUES (?, ",
        attempt_fields!(column_params),
        ")"
    ))?
    .execute(rusqlite::params_from_iter(
        std::iter::once(ToSqlOutput::from(rid)).chain(values),
    ))?;
    Ok(())
}

pub(crate) fn load_attempts(conn: &Connection, rid: i64) -> Result<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        attempt_columns!(),
        " FROM attempts WHERE enrollment_rid = ?1 ORDER BY number"
    ))?;
    let rows = stmt.query_map([rid], |r| Attempt::read(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
