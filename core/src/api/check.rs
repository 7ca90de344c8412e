//! Whole-database checks: SQLite's own integrity checks, then every enrollment against the
//! domain's invariants (the same ones import checks) and its history.

use std::collections::HashMap;

use crate::api::Store;
use crate::domain::invariants;
use crate::domain::model::Program;
use crate::error::Result;
use crate::sqlite::db;

impl Store {
    /// Checks the whole database and returns every violation found, as readable lines (empty
    /// when all is well):
    ///
    /// * `PRAGMA integrity_check` and `PRAGMA foreign_key_check` report nothing;
    /// * at most one open enrollment exists per user and program;
    /// * every enrollment keeps the invariants an import checks: its kind and step count are
    ///   its program's, its step counters equal the counts of its step progress rows (of known
    ///   steps, each once), its derived progress (courses and certifications with steps)
    ///   follows them, its attempts are numbered from 1 and its attempt count and best score
    ///   are theirs, `resume_status` is set exactly while paused;
    /// * replaying its history ends in its current status.
    pub fn check_invariants(&self) -> Result<Vec<String>> {
        self.db.read(|c| {
            let mut out = db::integrity_problems(c)?;
            for (u, p, n) in db::duplicate_open_enrollments(c)? {
                out.push(format!("user {u} has {n} open enrollments in program {p}"));
            }
            let mut programs: HashMap<String, Program> = HashMap::new();
            db::for_each_enrollment_with_records(c, |e, steps, attempts, last| {
                if !programs.contains_key(&e.program_id) {
                    programs.insert(e.program_id.clone(), db::get_program(c, &e.program_id)?);
                }
                let program = &programs[&e.program_id];
                for v in invariants::violations(program, &e, &steps, &attempts) {
                    out.push(format!("{}: {v}", e.id));
                }
                if last.as_deref() != Some(e.status_name()) {
                    out.push(format!(
                        "{}: status {} but history ends in {last:?}",
                        e.id,
                        e.status_name()
                    ));
                }
                Ok(())
            })?;
            Ok(out)
        })
    }
}
