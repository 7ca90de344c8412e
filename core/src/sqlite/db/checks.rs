//! What `Store::check_invariants` reads: SQLite's own checks and every enrollment with its
//! rows.

use super::*;

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

/// Calls `each` with every enrollment, its step progress rows, its attempts and (with
/// `last_status`, else `None`) the status its last history event ends in, in creation order.
pub(crate) fn for_each_enrollment_with_records(
    conn: &Connection,
    last_status: bool,
    mut each: impl FnMut(Enrollment, Vec<StepProgress>, Vec<Attempt>, Option<String>) -> Result<()>,
) -> Result<()> {
    let last = match last_status {
        true => {
            "(SELECT to_status FROM events v WHERE v.enrollment_id = e.id \
                 ORDER BY seq DESC LIMIT 1)"
        }
        false => "NULL",
    };
    let sql = format!("SELECT {ENROLLMENT_COLUMNS}, {last} FROM enrollments e ORDER BY e.rid");
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
