//! The program report: how a program's enrollments are doing, computed by aggregate queries in
//! one read snapshot (no per-enrollment calls), so it costs the same whether the caller is Rust,
//! C, Python or the CLI.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::Store;
use crate::domain::model::{Actor, Kind, Program, Status, StepStatus};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::storage::StatusTotals;

/// A program's report. Its first fields are the track reference's report summary, named as
/// there; the rest break it down in the program's own terms.
///
/// The summary's buckets cover every enrollment once: `active` is every open enrollment that is
/// not paused (new, enrolled, processing, delivered and waitlisted ones included), `completed`
/// and `paused` are those statuses, `failed` counts failed and expired enrollments (ended
/// unfinished by the rules), and `canceled` counts canceled tracks and dropped courses alike
/// (enrollments their learner or an admin ended). `by_status` tells them apart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgramReport {
    /// The program.
    pub program_id: String,
    /// Its kind, which names the statuses of `by_status`.
    pub kind: Kind,
    /// Every current enrollment in the program (deleted ones are not counted).
    pub total_enrollees: u64,
    /// Open enrollments that are not paused.
    pub active: u64,
    /// Completed enrollments.
    pub completed: u64,
    /// Failed enrollments, and expired courses.
    pub failed: u64,
    /// Paused enrollments.
    pub paused: u64,
    /// Canceled (tracks) and dropped (courses) enrollments.
    pub canceled: u64,
    /// Mean completion over every enrollment, in percent (0–100): completed steps over steps
    /// for a track, progress for a course or certification; 0 without enrollments.
    pub average_completion_rate: f64,
    /// Mean seconds from start (or, never started, enrollment) to completion over completed
    /// enrollments; `None` when none completed.
    pub average_time_to_complete: Option<f64>,
    /// Enrollments per status, in the program's vocabulary (statuses nobody has are absent).
    pub by_status: BTreeMap<&'static str, u64>,
    /// One entry per step, in the program's order.
    pub steps: Vec<StepFunnel>,
}

/// One step's line of the completion funnel: how many enrollments reached each stage of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepFunnel {
    /// The step.
    pub step_id: String,
    /// 1-based position in the program.
    pub position: u32,
    /// Enrollments that have the step delivered, completed included.
    pub delivered: u64,
    /// Enrollments that completed the step.
    pub completed: u64,
    /// Enrollments that skipped the step.
    pub skipped: u64,
    /// Enrollments whose step failed.
    pub failed: u64,
}

impl ProgramReport {
    /// Builds the report from the storage's per-status totals and per-step counts.
    fn build(
        program: &Program,
        totals: &[StatusTotals],
        step_counts: &[(String, StepStatus, u64)],
    ) -> ProgramReport {
        let mut report = ProgramReport {
            program_id: program.id.clone(),
            kind: program.kind,
            total_enrollees: 0,
            active: 0,
            completed: 0,
            failed: 0,
            paused: 0,
            canceled: 0,
            average_completion_rate: 0.0,
            average_time_to_complete: None,
            by_status: BTreeMap::new(),
            steps: program
                .steps
                .iter()
                .zip(1..)
                .map(|(s, position)| StepFunnel {
                    step_id: s.id.clone(),
                    position,
                    delivered: 0,
                    completed: 0,
                    skipped: 0,
                    failed: 0,
                })
                .collect(),
        };
        let (mut completion, mut completed_ms, mut timed) = (0.0, 0i128, 0u64);
        for t in totals {
            report.total_enrollees += t.count;
            *report
                .by_status
                .entry(t.status.label(program.kind))
                .or_default() += t.count;
            let bucket = match t.status {
                Status::Completed => &mut report.completed,
                Status::Failed | Status::Expired => &mut report.failed,
                Status::Paused => &mut report.paused,
                Status::Canceled | Status::Dropped => &mut report.canceled,
                Status::New
                | Status::Active
                | Status::Processing
                | Status::ActiveBatch
                | Status::ProcessingBatch
                | Status::Delivered
                | Status::Waitlisted => &mut report.active,
            };
            *bucket += t.count;
            completion += match (program.kind, program.steps.len()) {
                (Kind::Track, 0) => 0.0,
                (Kind::Track, steps) => 100.0 * t.steps_completed as f64 / steps as f64,
                _ => t.progress,
            };
            completed_ms += t.completion_ms;
            timed += t.completed;
        }
        if report.total_enrollees > 0 {
            report.average_completion_rate = completion / report.total_enrollees as f64;
        }
        if timed > 0 {
            report.average_time_to_complete = Some(completed_ms as f64 / timed as f64 / 1000.0);
        }
        for (step_id, status, count) in step_counts {
            let Some(line) = report.steps.iter_mut().find(|l| l.step_id == *step_id) else {
                continue;
            };
            match status {
                StepStatus::Delivered => line.delivered += count,
                StepStatus::Completed => {
                    line.delivered += count;
                    line.completed += count;
                }
                StepStatus::Skipped => line.skipped += count,
                StepStatus::Failed => line.failed += count,
                StepStatus::Pending => {}
            }
        }
        report
    }
}

impl Store {
    /// The report of program `program_id`: the track reference's summary (`total_enrollees`,
    /// `active`, `completed`, `failed`, `paused`, `canceled`, `average_completion_rate`,
    /// `average_time_to_complete` in seconds), the counts per status in the program's
    /// vocabulary, and the step funnel. Read in one snapshot by aggregate queries. Admins and
    /// the system may read it; a learner may not (`permission_denied`: it covers other people).
    ///
    /// ```
    /// use enrollkit::{Actor, EnrollRequest, ProgramSpec, Store, User};
    /// let store = Store::open_in_memory()?;
    /// store.create_program(&ProgramSpec::course("crs", "Course"))?;
    /// for u in ["a", "b"] {
    ///     store.upsert_user(&User { id: u.into(), ..User::default() })?;
    ///     let e = store.enroll(&Actor::Admin, &EnrollRequest::new(u, "crs"))?;
    ///     store.set_progress(&Actor::Admin, &e.id, if u == "a" { 100.0 } else { 50.0 })?;
    /// }
    /// let report = store.report(&Actor::Admin, "crs")?;
    /// assert_eq!((report.total_enrollees, report.completed, report.active), (2, 1, 1));
    /// assert_eq!(report.average_completion_rate, 75.0);
    /// assert_eq!(report.by_status["completed"], 1);
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn report(&self, actor: &Actor, program_id: &str) -> Result<ProgramReport> {
        validate::id("program_id", program_id)?;
        if let Actor::Learner(me) = actor {
            return Err(Error::PermissionDenied(format!(
                "learner {me} cannot read a program's report"
            )));
        }
        self.read(|tx| {
            let program = tx.program(program_id)?;
            let totals = tx.status_totals(program_id)?;
            let steps = tx.step_counts(program_id)?;
            Ok(ProgramReport::build(&program, &totals, &steps))
        })
    }
}
