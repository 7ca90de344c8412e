//! The due-work queue: workers of the host claim the enrollments whose next step is due, run
//! the step, and end their claim; a claim is a lease, so a worker that dies leaves its work to
//! the others once the lease ends.
//!
//! Claims are atomic: [`Store::claim_due`] takes rows in one write transaction (SQLite: its
//! one writer; PostgreSQL: `FOR UPDATE SKIP LOCKED`, so workers claiming at once take
//! different rows without waiting for each other), and a worker's later calls check that its
//! claim still holds ([`lifecycle::check_claim`]), so two workers never hold one step.

use std::time::Duration;

use crate::api::ops::{check_limit, store_change, MAX_LIMIT};
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{Actor, Enrollment, Program, StepChange};
use crate::domain::schedule;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::storage::{EnrollmentKey, Write};

/// The longest lease a claim may have: a day. A worker that needs longer releases and claims
/// again.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 3600);

/// An enrollment with the step the queue runs next: as [`Store::claim_due`] claimed it
/// (`processing` or `processing_batch`, `claimed_by` the worker, `lease_until` the lease's end),
/// or as [`Store::due`] lists it (claimed or not). As JSON: `{"enrollment": {...}, "step_id":
/// ...}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Claim {
    /// The enrollment.
    pub enrollment: Enrollment,
    /// The step to run: the first pending step of the program (`None` if it has none, as when
    /// the host scheduled work of its own with `set_next_step_at`).
    pub step_id: Option<String>,
}

/// Refuses a lease outside 1 ms to [`MAX_LEASE`]; returns it in milliseconds.
fn lease_ms(lease: Duration) -> Result<i64> {
    if lease.is_zero() || lease > MAX_LEASE {
        return Err(Error::validation(
            "lease",
            format!("{lease:?} is not between 1 ms and {MAX_LEASE:?}"),
        ));
    }
    Ok(lease.as_millis().max(1) as i64)
}

/// Refuses a completion that does not settle a step (`StepChange::Start`) or names no worker.
fn check_completion(worker: &str, change: &StepChange) -> Result<()> {
    validate::id("worker_id", worker)?;
    if matches!(change, StepChange::Start) {
        return Err(Error::validation(
            "change",
            "a claim ends with a step delivered, completed, skipped or failed, not started",
        ));
    }
    Ok(())
}

/// Applies `change` to the pending step of `e`, claimed by `worker` (checked first), writes the
/// step and ends the claim; the enrollment itself is the caller's to write. Returns the
/// history event's reason. Nothing is written when it refuses.
fn finish_claimed(
    tx: &mut dyn Write,
    worker: &str,
    key: EnrollmentKey,
    program: &Program,
    e: &mut Enrollment,
    change: &StepChange,
) -> Result<String> {
    let now = tx.now();
    lifecycle::check_claim(e, worker, now)?;
    let mut steps = tx.step_progress(key)?;
    let Some((step, _)) = schedule::first_pending(program, &steps) else {
        // Work the host scheduled (`set_next_step_at`) with no step of the program left to
        // run: the worker did it, so the claim ends and the time is cleared, or the same work
        // would be due again at once. A failure has no step to record it on.
        if let StepChange::Fail { .. } = change {
            return Err(Error::validation(
                "change",
                format!(
                    "enrollment {} has no pending step to fail: release the claim, or end it \
                     with deliver",
                    e.id
                ),
            ));
        }
        lifecycle::end_claim(program, e, &steps, true, now);
        return Ok(format!("worker={worker} step=none"));
    };
    let step_id = step.id.clone();
    let i = lifecycle::apply_step(
        &Actor::System,
        program,
        e,
        &mut steps,
        &step_id,
        change,
        now,
    )?;
    tx.write_step_progress(key, &steps[i])?;
    lifecycle::end_claim(program, e, &steps, true, now);
    Ok(format!("step={step_id} worker={worker}"))
}

impl Store {
    /// Claims for `worker` up to `limit` (1–1000) enrollments whose next step is due
    /// (`next_step_at` at or before now), oldest first, for `lease`: each `active` one becomes
    /// `processing` (`active_batch`: `processing_batch`), with `claimed_by` and `lease_until`,
    /// and its history records the claim. An enrollment under a lease that has ended is taken
    /// over by the new worker. The worker then runs each step and calls
    /// [`Store::complete_claim`] or [`Store::release_claim`] before the lease ends.
    ///
    /// With `program_id`, only that program's work is claimed (a worker that runs one program's
    /// steps); the program must exist (`not_found`).
    ///
    /// `worker` is an id (as user ids: 1 to 128 bytes, no control characters, no spaces at
    /// either end); `lease` is between 1 ms and [`MAX_LEASE`] (`validation` otherwise).
    pub fn claim_due(
        &self,
        worker: &str,
        program_id: Option<&str>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claim>> {
        check_limit(limit)?;
        validate::id("worker_id", worker)?;
        if let Some(p) = program_id {
            validate::id("program_id", p)?;
        }
        let lease_ms = lease_ms(lease)?;
        let mut claims = Vec::new();
        self.write(|tx| {
            claims.clear();
            let now = tx.now();
            if let Some(p) = program_id {
                tx.program(p)?;
            }
            let lease_until = crate::Timestamp::from_millis(now.millis() + lease_ms);
            for (key, before) in tx.claimable(now, program_id, limit)? {
                let program = tx.program(&before.program_id)?;
                let steps = tx.step_progress(key)?;
                let mut e = before.clone();
                e.steps_total = program.steps.len() as u32;
                let held_by = e.claimed_by.clone();
                let step_id = lifecycle::claim(&program, &mut e, &steps, worker, lease_until, now)?;
                let reason = match held_by {
                    Some(other) => {
                        format!("worker={worker} lease_until={lease_until} after={other}")
                    }
                    None => format!("worker={worker} lease_until={lease_until}"),
                };
                store_change(
                    tx,
                    key,
                    &before,
                    &mut e,
                    "claim",
                    &Actor::System,
                    Some(reason),
                    now,
                )?;
                claims.push(Claim {
                    enrollment: e,
                    step_id,
                });
            }
            Ok(())
        })?;
        Ok(claims)
    }

    /// Ends `worker`'s claim on enrollment `id` after running its due step: `change` (deliver,
    /// complete, skip or fail) is applied to the step [`Store::claim_due`] named, the
    /// enrollment returns to `active` (or `active_batch`; or is `delivered` or `completed` by
    /// that step) and its next step's time follows from the schedule. One transaction, one
    /// history event. A claim with no step (work the host scheduled with `set_next_step_at`
    /// when none is pending) ends with deliver, complete or skip, which clears `next_step_at`.
    ///
    /// Refused with `conflict`, changing nothing, when `worker` no longer holds the claim (its
    /// lease ended, or another worker took it over); `validation` for `StepChange::Start`,
    /// which does not settle a step, and for a failure of a claim with no step.
    pub fn complete_claim(
        &self,
        worker: &str,
        id: &str,
        change: &StepChange,
    ) -> Result<Enrollment> {
        check_completion(worker, change)?;
        let (e, ()) = self.modify(
            id,
            &Actor::System,
            change.action(),
            |tx, key, program, e| {
                let reason = finish_claimed(tx, worker, key, program, e, change)?;
                Ok(((), Some(reason)))
            },
        )?;
        Ok(e)
    }

    /// [`Store::complete_claim`] for several of `worker`'s claims at once, in one transaction
    /// (a worker that ran a batch of steps: one commit instead of one each). One result per
    /// item, in order; an item refused (`conflict`, `not_found`, `validation`) changes nothing
    /// and does not stop the others. Only a storage failure fails the whole call.
    pub fn complete_claims(
        &self,
        worker: &str,
        items: &[(String, StepChange)],
    ) -> Result<Vec<Result<Enrollment>>> {
        validate::id("worker_id", worker)?;
        if items.len() > MAX_LIMIT as usize {
            return Err(Error::validation(
                "items",
                format!("more than {MAX_LIMIT} claims at once"),
            ));
        }
        let mut results = Vec::new();
        self.write(|tx| {
            results.clear();
            let now = tx.now();
            for (id, change) in items {
                let done = (|| -> Result<Enrollment> {
                    check_completion(worker, change)?;
                    let id = validate::enrollment_id("enrollment_id", id)?;
                    let (key, before) = tx.enrollment_for_update(&id)?;
                    let program = tx.program(&before.program_id)?;
                    let mut e = before.clone();
                    e.steps_total = program.steps.len() as u32;
                    let reason = finish_claimed(tx, worker, key, &program, &mut e, change)?;
                    let (action, reason) = (change.action(), Some(reason));
                    store_change(
                        tx,
                        key,
                        &before,
                        &mut e,
                        action,
                        &Actor::System,
                        reason,
                        now,
                    )?;
                    Ok(e)
                })();
                match done {
                    Err(e) if e.is_storage() => return Err(e),
                    other => results.push(other),
                }
            }
            Ok(())
        })?;
        Ok(results)
    }

    /// The scheduled work of `program_id` (or of every program): the running enrollments with a
    /// next step time at or before `until` (or at any time), soonest first, at most `limit`
    /// (1–1000), each with the step that runs next, claimed by a worker or not. It reads what
    /// [`Store::claim_due`] takes, in the order it takes it, from the same index. Admin or
    /// system only; `not_found` for a program that does not exist.
    pub fn due(
        &self,
        actor: &Actor,
        program_id: Option<&str>,
        until: Option<crate::Timestamp>,
        limit: u32,
    ) -> Result<Vec<Claim>> {
        check_limit(limit)?;
        lifecycle::authorize(actor, "", false, "list scheduled work")?;
        if let Some(p) = program_id {
            validate::id("program_id", p)?;
        }
        let mut due = Vec::new();
        self.read(|tx| {
            due.clear();
            if let Some(p) = program_id {
                tx.program(p)?;
            }
            for (key, mut e) in tx.scheduled_work(program_id, until, limit)? {
                let program = tx.program(&e.program_id)?;
                let steps = tx.step_progress(key)?;
                e.steps_total = program.steps.len() as u32;
                let step_id = schedule::first_pending(&program, &steps).map(|(s, _)| s.id.clone());
                due.push(Claim {
                    enrollment: e,
                    step_id,
                });
            }
            Ok(())
        })?;
        Ok(due)
    }

    /// Extends `worker`'s claim on enrollment `id` to `lease` from now (1 ms to
    /// [`MAX_LEASE`]): a worker whose step runs longer than it expected keeps it from being
    /// taken over. The history records the new lease. Refused with `conflict`, changing
    /// nothing, when `worker` no longer holds the claim (renew before the lease ends).
    pub fn renew_claim(&self, worker: &str, id: &str, lease: Duration) -> Result<Enrollment> {
        validate::id("worker_id", worker)?;
        let lease_ms = lease_ms(lease)?;
        let (e, ()) = self.modify(id, &Actor::System, "renew", |tx, _, _, e| {
            let now = tx.now();
            lifecycle::check_claim(e, worker, now)?;
            let until = crate::Timestamp::from_millis(now.millis() + lease_ms);
            e.lease_until = Some(until);
            Ok(((), Some(format!("worker={worker} lease_until={until}"))))
        })?;
        Ok(e)
    }

    /// Gives `worker`'s claim on enrollment `id` back without running the step: the
    /// enrollment returns to `active` (or `active_batch`), its step still due, for any worker
    /// to claim. Refused with `conflict`, changing nothing, when `worker` no longer holds it.
    pub fn release_claim(&self, worker: &str, id: &str) -> Result<Enrollment> {
        validate::id("worker_id", worker)?;
        let (e, ()) = self.modify(id, &Actor::System, "release", |tx, key, program, e| {
            let now = tx.now();
            lifecycle::check_claim(e, worker, now)?;
            let steps = tx.step_progress(key)?;
            lifecycle::end_claim(program, e, &steps, false, now);
            Ok(((), Some(format!("worker={worker}"))))
        })?;
        Ok(e)
    }
}
