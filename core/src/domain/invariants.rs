//! The invariants every stored enrollment keeps, declared once: import checks each restored
//! enrollment against them before writing it ([`crate::lifecycle::check_restored`]), and
//! [`Store::check_invariants`](crate::Store::check_invariants) checks every stored one.

use crate::domain::lifecycle::count_step_in;
use crate::domain::model::{percent, Attempt, Enrollment, Kind, Program, Status, StepProgress};

/// One broken invariant: the field at fault (for a `validation` error) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// `enrollment` for the record as a whole, `step_id` for a step row.
    pub(crate) field: &'static str,
    /// What is wrong, for people.
    pub(crate) message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every invariant that enrollment `e` of `program`, with its step progress rows and its
/// attempts (numbered from 1), breaks; empty when it keeps them all.
pub(crate) fn violations(
    program: &Program,
    e: &Enrollment,
    steps: &[StepProgress],
    attempts: &[Attempt],
) -> Vec<Violation> {
    let record = |message: String| Violation {
        field: "enrollment",
        message,
    };
    // The enrollment against its program first: when they disagree, its step rows look
    // unknown for that reason. Then the step rows, then the rest.
    let mut out = Vec::new();
    if e.kind != program.kind {
        out.push(record(format!(
            "kind {} but program {} is a {}",
            e.kind, program.id, program.kind
        )));
    }
    if e.steps_total as usize != program.steps.len() {
        out.push(record(format!(
            "steps_total {} but the program has {} steps",
            e.steps_total,
            program.steps.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut counted = (0, 0, 0);
    for p in steps {
        if !program.steps.iter().any(|s| s.id == p.step_id) || !seen.insert(p.step_id.as_str()) {
            out.push(Violation {
                field: "step_id",
                message: format!(
                    "step {:?} is unknown or repeated in program {}",
                    p.step_id, program.id
                ),
            });
        }
        count_step_in(&mut counted, p.status, 1);
    }
    let mut bad = |message: String| out.push(record(message));
    if e.attempt_number == 0 {
        bad("attempt_number starts at 1".into());
    }
    if (e.status == Status::Paused) != e.resume_status.is_some() {
        bad("resume_status is set exactly while paused".into());
    }
    if e.paused_at.is_some() && e.status != Status::Paused {
        bad("paused_at is set only while paused".into());
    }
    let processing = matches!(e.status, Status::Processing | Status::ProcessingBatch);
    if e.claimed_by.is_some() != e.lease_until.is_some() || (e.claimed_by.is_some() && !processing)
    {
        bad("claimed_by and lease_until are set together, only while processing".into());
    }
    if counted != (e.steps_delivered, e.steps_completed, e.steps_skipped) {
        bad(format!(
            "step counters delivered/completed/skipped {}/{}/{} disagree with step_progress {}/{}/{}",
            e.steps_delivered, e.steps_completed, e.steps_skipped, counted.0, counted.1, counted.2
        ));
    }
    if e.kind != Kind::Track
        && e.steps_total > 0
        && e.status != Status::Completed
        && e.progress_percent != percent(e.steps_completed + e.steps_skipped, e.steps_total)
    {
        bad(format!(
            "progress {} disagrees with the steps",
            e.progress_percent
        ));
    }
    if attempts
        .iter()
        .enumerate()
        .any(|(i, a)| a.number as usize != i + 1)
    {
        bad("attempts are numbered 1, 2, 3, ...".into());
    }
    let best = attempts
        .iter()
        .map(|a| a.score)
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
    if e.attempts as usize != attempts.len() || e.best_score != best {
        bad(format!(
            "attempts {} and best_score {:?} disagree with the attempt records ({} best {best:?})",
            e.attempts,
            e.best_score,
            attempts.len()
        ));
    }
    out
}
