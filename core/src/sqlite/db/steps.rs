//! Step progress and assessment attempts of an enrollment.

use super::*;

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
