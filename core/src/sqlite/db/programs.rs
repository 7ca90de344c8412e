//! Programs and their steps.
//!
//! Unlike users, step progress, attempts and events, a program's columns are written out here
//! rather than generated from a field table: its fields do not map one to one onto columns
//! (`steps` are rows of `program_steps`, `assessment` is two nullable columns, the times are
//! [`Program`]'s around a flattened [`ProgramSpec`], and replacing a program keeps its `kind`),
//! and only [`program_from_row`] and [`write_program`] name them, with `program_columns!`.
//! Tests fail when the schema's columns drift from it.

use super::*;

/// The columns of `programs`, in the table's order (which a test checks) and the order
/// [`program_from_row`] reads them, as a macro so that statements are `concat!`ed at compile
/// time.
macro_rules! program_columns {
    () => {
        "id, kind, title, description, state, self_enrollment, passing_score, max_attempts, \
         created_at, updated_at, policy_json"
    };
}

/// [`program_columns`] as one value, for tests.
#[cfg(test)]
pub(super) const PROGRAM_COLUMNS: &str = program_columns!();

/// The columns of `program_steps`, in the table's order (which a test checks): a step row as
/// [`write_program`] writes it.
macro_rules! program_step_columns {
    () => {
        "program_id, step_id, position, step_type, title, learner_completable, schedule_json"
    };
}

/// [`program_step_columns`] as one value, for tests.
#[cfg(test)]
pub(super) const PROGRAM_STEP_COLUMNS: &str = program_step_columns!();

/// Reads a row selected with `program_columns!`, without its steps ([`load_steps_of`]).
pub(super) fn program_from_row(r: &Row<'_>) -> rusqlite::Result<Program> {
    let passing: Option<f64> = r.get(6)?;
    let max_attempts: Option<u32> = r.get(7)?;
    let policy: Option<String> = r.get(10)?;
    let policy = match policy {
        Some(json) => {
            serde_json::from_str::<crate::Policy>(&json).map_err(|_| bad_row("policy", json))?
        }
        None => crate::Policy::default(),
    };
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
            policy,
        },
        created_at: Timestamp::from_millis(r.get(8)?),
        updated_at: Timestamp::from_millis(r.get(9)?),
    })
}

/// Sets `program`'s steps from its `program_steps` rows, in their order.
pub(super) fn load_steps_of(conn: &Connection, program: &mut Program) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT step_id, step_type, title, learner_completable, schedule_json FROM program_steps
         WHERE program_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([&program.spec.id], |r| {
        let schedule: Option<String> = r.get(4)?;
        Ok(Step {
            id: r.get(0)?,
            step_type: r.get(1)?,
            title: r.get(2)?,
            learner_completable: r.get(3)?,
            schedule: schedule
                .map(|json| serde_json::from_str(&json).map_err(|_| bad_row("schedule", json)))
                .transpose()?,
        })
    })?;
    program.spec.steps = rows.collect::<rusqlite::Result<_>>()?;
    Ok(())
}

pub(crate) fn get_program(conn: &Connection, id: &str) -> Result<Program> {
    let sql = concat!(
        "SELECT ",
        program_columns!(),
        " FROM programs WHERE id = ?1"
    );
    let mut program = conn
        .prepare_cached(sql)?
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
    let sql = concat!(
        "SELECT ",
        program_columns!(),
        " FROM programs
         WHERE id > ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3)
         ORDER BY id LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(sql)?;
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
    // A new program is created and changed now; replacing one keeps its id, kind (fixed once
    // created) and creation time.
    conn.prepare_cached(concat!(
        "INSERT INTO programs (",
        program_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET
            title = excluded.title, description = excluded.description, state = excluded.state,
            self_enrollment = excluded.self_enrollment, passing_score = excluded.passing_score,
            max_attempts = excluded.max_attempts, updated_at = excluded.updated_at,
            policy_json = excluded.policy_json"
    ))?
    .execute(params![
        spec.id,
        spec.kind.as_str(),
        spec.title,
        spec.description,
        spec.state.as_str(),
        spec.self_enrollment,
        spec.assessment.map(|a| a.passing_score),
        spec.assessment.and_then(|a| a.max_attempts),
        now.millis(),
        crate::storage::policy_json(&spec.policy)?,
    ])?;
    if replace_steps {
        conn.prepare_cached("DELETE FROM program_steps WHERE program_id = ?1")?
            .execute([&spec.id])?;
        let mut insert = conn.prepare_cached(concat!(
            "INSERT INTO program_steps (",
            program_step_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))?;
        for (i, s) in spec.steps.iter().enumerate() {
            let schedule = s.schedule.as_ref().map(serde_json::to_string).transpose()?;
            insert.execute(params![
                spec.id,
                s.id,
                i as i64 + 1,
                s.step_type,
                s.title,
                s.learner_completable,
                schedule
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
