//! Enrollment policies that act over time (issue #25): deadlines, ended by
//! [`Store::expire_due`]. The policies checked when enrolling (windows, prerequisites, partner
//! users) live in [`crate::domain::lifecycle::enroll`].

use crate::api::ops::{check_limit, store_change};
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::Actor;
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
}
