//! Whole-database checks: SQLite's own integrity check plus enrollkit's invariants.

use rusqlite::Connection;

use crate::api::Store;
use crate::domain::model::{percent, Kind, Status, StepStatus};
use crate::error::Result;
use crate::sqlite::db;

impl Store {
    /// Checks the whole database and returns every violation found, as readable lines (empty
    /// when all is well):
    ///
    /// * `PRAGMA integrity_check` and `PRAGMA foreign_key_check` report nothing;
    /// * every enrollment's step counters equal the counts recomputed from its step progress,
    ///   and its derived progress (courses and certifications with steps) matches them;
    /// * its attempt count and best score equal those recomputed from its attempts;
    /// * at most one open enrollment exists per user and program;
    /// * replaying its history ends in its current status, and its kind matches its program's.
    pub fn check_invariants(&self) -> Result<Vec<String>> {
        self.db.read(check)
    }
}

fn check(c: &Connection) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let integrity: Vec<String> = c
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
    let fk: i64 = c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if fk > 0 {
        out.push(format!(
            "foreign_key_check: {fk} rows reference missing parents"
        ));
    }

    // Open statuses from the engine's own definition, not the schema's copy of it.
    let open: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.code().to_string())
        .collect();
    let mut dup = c.prepare(&format!(
        "SELECT user_id, program_id, count(*) FROM enrollments
         WHERE status IN ({}) GROUP BY user_id, program_id HAVING count(*) > 1",
        open.join(", ")
    ))?;
    for row in dup.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })? {
        let (u, p, n) = row?;
        out.push(format!("user {u} has {n} open enrollments in program {p}"));
    }

    let sql = format!(
        "SELECT {}, p.kind,
            (SELECT count(*) FROM step_progress s WHERE s.enrollment_rid = e.rid AND s.status IN (?1, ?2)),
            (SELECT count(*) FROM step_progress s WHERE s.enrollment_rid = e.rid AND s.status = ?2),
            (SELECT count(*) FROM step_progress s WHERE s.enrollment_rid = e.rid AND s.status = ?3),
            (SELECT count(*) FROM attempts a WHERE a.enrollment_rid = e.rid),
            (SELECT max(score) FROM attempts a WHERE a.enrollment_rid = e.rid),
            (SELECT to_status FROM events v WHERE v.enrollment_id = e.id ORDER BY seq DESC LIMIT 1)
         FROM enrollments e JOIN programs p ON p.id = e.program_id",
        db::ENROLLMENT_COLUMNS
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(
        [
            db::step_status_code(StepStatus::Delivered),
            db::step_status_code(StepStatus::Completed),
            db::step_status_code(StepStatus::Skipped),
        ],
        |r| {
            let (_, e) = db::enrollment_from_row(r)?;
            Ok((
                e,
                r.get::<_, String>(36)?,
                r.get::<_, u32>(37)?,
                r.get::<_, u32>(38)?,
                r.get::<_, u32>(39)?,
                r.get::<_, u32>(40)?,
                r.get::<_, Option<f64>>(41)?,
                r.get::<_, Option<String>>(42)?,
            ))
        },
    )?;
    for row in rows {
        let (e, kind, delivered, completed, skipped, attempts, best, last) = row?;
        let id = &e.id;
        if kind != e.kind.as_str() {
            out.push(format!("{id}: kind {} but program is a {kind}", e.kind));
        }
        if (e.steps_delivered, e.steps_completed, e.steps_skipped)
            != (delivered, completed, skipped)
        {
            out.push(format!(
                "{id}: counters delivered/completed/skipped {}/{}/{} but steps say {delivered}/{completed}/{skipped}",
                e.steps_delivered, e.steps_completed, e.steps_skipped
            ));
        }
        let derived = e.kind != Kind::Track && e.steps_total > 0;
        if derived
            && e.status != Status::Completed
            && e.progress_percent != percent(completed + skipped, e.steps_total)
        {
            out.push(format!(
                "{id}: progress {} does not follow its steps",
                e.progress_percent
            ));
        }
        if e.attempts != attempts || e.best_score != best {
            out.push(format!(
                "{id}: attempts {} best {:?} but attempt rows say {attempts} best {best:?}",
                e.attempts, e.best_score
            ));
        }
        if last.as_deref() != Some(e.status_name()) {
            out.push(format!(
                "{id}: status {} but history ends in {last:?}",
                e.status_name()
            ));
        }
    }
    Ok(out)
}
