//! The aggregates of a program report.

use super::*;

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
