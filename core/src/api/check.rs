//! Whole-database checks: SQLite's own integrity checks, then every enrollment against the
//! domain's invariants (the same ones import checks) and its history.

use std::collections::HashMap;

use crate::api::Store;
use crate::domain::invariants;
use crate::domain::model::Program;
use crate::error::{Error, Result};
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
            let mut programs: HashMap<String, Option<Program>> = HashMap::new();
            db::for_each_enrollment_with_records(c, |e, steps, attempts, last| {
                if !programs.contains_key(&e.program_id) {
                    let program = match db::get_program(c, &e.program_id) {
                        Ok(p) => Some(p),
                        Err(Error::NotFound { .. }) => None,
                        Err(other) => return Err(other),
                    };
                    programs.insert(e.program_id.clone(), program);
                }
                match &programs[&e.program_id] {
                    Some(program) => {
                        for v in invariants::violations(program, &e, &steps, &attempts) {
                            out.push(format!("{}: {v}", e.id));
                        }
                    }
                    None => out.push(format!("{}: program {} is missing", e.id, e.program_id)),
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
