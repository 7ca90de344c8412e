//! Enrollment policies that act over time or across enrollments (issue #25): deadlines, ended
//! by [`Store::expire_due`], and the waitlist of a program with a capacity
//! ([`Store::waitlist`], [`Store::waitlist_position`]; seats are filled by
//! `ops::fill_seats` when they free). The policies checked when enrolling (windows,
//! prerequisites, partner users, capacity) live in [`crate::domain::lifecycle::enroll`].

use crate::api::ops::{check_limit, store_change};
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{Actor, Enrollment, Status};
use crate::domain::validate;
use crate::error::Result;

impl Store {
    /// Ends up to `limit` (1–1000) enrollments whose deadline (`deadline_at`, from the
    /// program's deadline policy) has passed by the store's clock, soonest deadline first: a
    /// course enrollment becomes `expired`; a certification or track one `failed` with reason
    /// `deadline_passed`. Open enrollments only (a dropped course waits for its reactivation;
    /// a waitlisted one expires too). One history event each (`expire`, reason
    /// `deadline=...`); returns their ids. Hosts call it from their scheduler, as
    /// [`Store::start_due`]. Admin or system only.
    pub fn expire_due(&self, actor: &Actor, limit: u32) -> Result<Vec<String>> {
        check_limit(limit)?;
        lifecycle::authorize(actor, "", false, "expire enrollments")?;
        let mut expired = Vec::new();
        self.write(|tx| {
            expired.clear();
            let now = tx.now();
            for (key, before) in tx.expirable(now, limit)? {
                let program = tx.program(&before.program_id)?;
                let steps = tx.step_progress(key)?;
                let mut e = before.clone();
                e.steps_total = program.steps.len() as u32;
                lifecycle::expire(&program, &mut e, &steps, now)?;
                let reason = before.deadline_at.map(|d| format!("deadline={d}"));
                store_change(tx, key, &before, &mut e, "expire", actor, reason, now)?;
                expired.push(e.id);
            }
            Ok(())
        })?;
        Ok(expired)
    }

    /// The program's waitlist: its `waitlisted` enrollments in order (first come, first
    /// served: the first is promoted into the next seat that frees), at most `limit` (1–1000).
    /// Admin or system only; `not_found` for a program that does not exist.
    pub fn waitlist(&self, actor: &Actor, program_id: &str, limit: u32) -> Result<Vec<Enrollment>> {
        check_limit(limit)?;
        lifecycle::authorize(actor, "", false, "read a waitlist")?;
        validate::id("program_id", program_id)?;
        self.read(|tx| {
            let program = tx.program(program_id)?;
            let rows = tx.waitlist(program_id, limit)?;
            Ok(rows
                .into_iter()
                .map(|(_, mut e)| {
                    e.steps_total = program.steps.len() as u32;
                    e
                })
                .collect())
        })
    }

    /// The place (from 1) of enrollment `id` in its program's waitlist, or `None` when it is
    /// not waitlisted. A learner may ask about their own enrollment.
    pub fn waitlist_position(&self, actor: &Actor, id: &str) -> Result<Option<u32>> {
        let id = validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let (key, e) = tx.enrollment(&id)?;
            lifecycle::authorize_read(actor, &e.user_id)?;
            if e.status != Status::Waitlisted {
                return Ok(None);
            }
            let place = tx.waitlist_position(&e.program_id, key)?;
            Ok(Some(u32::try_from(place).unwrap_or(u32::MAX)))
        })
    }
}
