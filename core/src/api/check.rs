//! Whole-database checks: SQLite's own integrity checks, then every enrollment against the
//! domain's invariants (the same ones import checks) and its history.

use std::collections::HashMap;

use crate::api::Store;
use crate::domain::invariants;
use crate::domain::model::Program;
use crate::error::Result;

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
        self.read(|tx| {
            let mut out = tx.storage_problems()?;
            for (u, p, n) in tx.duplicate_open_enrollments()? {
                out.push(format!("user {u} has {n} open enrollments in program {p}"));
            }
            // Programs are read up front: the scan below holds the transaction.
            let mut programs: HashMap<String, Program> = HashMap::new();
            let mut after: Option<String> = None;
            loop {
                let page = tx.programs(None, None, after.as_deref(), 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                programs.extend(page.into_iter().map(|p| (p.id.clone(), p)));
            }
            tx.for_each_enrollment_with_records(true, &mut |e, steps, attempts, last| {
                match programs.get(&e.program_id) {
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
